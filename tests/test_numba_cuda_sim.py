"""The hand-written CUDA kernels, run in Numba's CUDA simulator on small sizes against the reference.

The simulator (``NUMBA_ENABLE_CUDASIM=1``) executes each CUDA thread as a
Python thread, block by block, with real barriers and shared memory, so the
kernels' indexing, grid-stride loops and tree reductions are checked on a
machine without a GPU. It runs in a subprocess (tests/cudasim_check.py): the
switch is read when Numba is imported, and in this process it would replace
a real device. Nothing is timed there. Skipped where Numba's CUDA target or
its simulator is not installed (numba-cuda needs its CUDA bindings even to simulate).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cudasim_check import case_ids

HERE = Path(__file__).parent


def _simulator_missing() -> str:
    code = "from numba import cuda"
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return f"Numba's CUDA simulator cannot be imported here ({last}); pip install numba (<= 0.6x) or 'numba-cuda[cu12]'"
    return ""


@pytest.fixture(scope="module")
def simulated() -> dict[str, str]:
    pytest.importorskip("numba", reason="the numba_cuda backend needs numba: pip install numba")
    why = _simulator_missing()
    if why:
        pytest.skip(why)
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1",
           "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-W", "ignore", str(HERE / "cudasim_check.py")], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {d["case"]: d["error"] for d in lines}


@pytest.mark.parametrize("case", case_ids())
def test_numba_cuda_kernel_in_the_simulator(simulated, case):
    assert case in simulated, f"{case} did not run (see tests/cudasim_check.py)"
    assert simulated[case] == "", simulated[case]
