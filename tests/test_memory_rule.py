"""The "inputs would not fit in memory" rule asks each backend (Backend.fits): a streaming one can run what others skip."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import vecbench as vb
from vecbench import harness, registry
from vecbench.backends import Backend
from vecbench.backends.base import inputs_fit

N = 1000  # dot at n = 1000 in float64: two inputs, 16 kB


class _Streaming(Backend):
    """Holds one chunk of 100 elements at a time, whatever n (a stand-in for a backend reading chunks from disk)."""

    name = "streaming_test"
    description = "a test backend that declares it streams its inputs"
    kernels = {"dot": "vecbench.operations.dot:dot_numpy"}
    chunk = 100

    def fits(self, op: Any, size: Mapping[str, int], dtype: str, available_bytes: int) -> str:
        need = 2 * self.chunk * 8
        return "" if need <= available_bytes else f"a chunk needs {need} B; {available_bytes} B available"


@pytest.fixture
def streaming():
    try:
        yield vb.register_backend(_Streaming)
    finally:
        registry.BACKENDS.pop("streaming_test", None)
        registry._KERNELS.pop(("dot", "streaming_test"), None)


def test_default_rule_is_a_third_of_the_available_memory():
    op = vb.spec("dot")
    need = op.nbytes({"n": N}, 8)
    assert inputs_fit(op, {"n": N}, "float64", 3 * need) == ""
    assert inputs_fit(op, {"n": N}, "float64", 3 * need - 3).startswith("inputs need ~")
    assert vb.backend("numpy").fits(op, {"n": N}, "float64", 3 * need - 3) == inputs_fit(
        op, {"n": N}, "float64", 3 * need - 3)


def test_the_harness_asks_each_backend(streaming, monkeypatch):
    # Memory for the streaming backend's chunks (1.6 kB), not for the whole inputs (16 kB) the others hold.
    monkeypatch.setattr(harness, "_available_memory", lambda: 4000)
    res = vb.run(ops=["dot"], backends=["numpy", "streaming_test"], sizes=[N], bandwidth=False, isolate=False,
                 settings=harness.Settings(min_sample_s=0.0005, repeats=3, budget_s=0.5, ci_target=0, max_samples=3))
    by = {r.backend: r for r in res.records}
    assert by["numpy"].status == "skipped" and by["numpy"].reason.startswith("inputs need ~1.6e-05 GB")
    assert by["streaming_test"].ok, by["streaming_test"]
    # and its own bound is applied too
    monkeypatch.setattr(harness, "_available_memory", lambda: 1000)
    assert harness._skip_reason(vb.spec("dot"), {"n": N}, "float64", None, harness.Settings(),
                                backend=streaming) == "a chunk needs 1600 B; 1000 B available"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
def test_available_memory_is_capped_by_an_address_space_limit():
    # A process given 64 MiB more address space than it maps has about that much, whatever the machine's free RAM.
    code = ("import resource, vecbench.memory as m\n"
            "vm = next(int(l.split()[1]) << 10 for l in open('/proc/self/status') if l.startswith('VmSize'))\n"
            "resource.setrlimit(resource.RLIMIT_AS, (vm + (64 << 20), resource.getrlimit(resource.RLIMIT_AS)[1]))\n"
            "print(m.available_bytes())")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert 0 < int(p.stdout) <= 64 << 20
