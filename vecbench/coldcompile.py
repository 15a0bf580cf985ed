"""Cold compile times: each JIT kernel's first call in a fresh process with empty caches.

A results file records ``compile_time_s`` for the run it came from, which on
a second run is only a load from the on-disk cache (milliseconds). What an
engineer deciding whether a compiled kernel is worth it needs is the cold
compile (seconds): here each JIT kernel is called once in a new Python
process whose compile caches are empty (:meth:`Backend.fresh_cache_env`), at
the op's smallest quick size, and the first call's excess over a steady call
is reported. One process per kernel, so helpers compiled for one kernel do not
hide another's cost. Those processes run as many at a time as this process may
use cores: a compile is one thread (LLVM's, XLA's), so two compiles on two
cores do not slow each other, and the pass (two minutes of Numba on two cores,
one at a time) takes half as long.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence

from .registry import Kernel

__all__ = ["measure_cold_compile", "key"]


def key(op: str, backend: str) -> str:
    """How a cold compile time is keyed in ``Results.cold_compile_s``."""
    return f"{op}/{backend}"


def measure_cold_compile(kernels: Sequence[Kernel], timeout_s: float = 300.0,
                         say: Callable[[str], None] | None = None, parallel: int | None = None) -> dict[str, float]:
    """``{"op/backend": seconds}`` for every JIT kernel in ``kernels`` that could be measured.

    ``parallel`` child processes run at a time (default: the cores this process may use).
    A kernel whose child process fails or times out is left out (and ``say``
    is told why); nothing here raises for a kernel's fault. The result is in
    ``kernels``' order, whatever order the children finished in.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .machine import cpu_count

    todo = [k for k in kernels if k.backend.jit and k.available]
    with ThreadPoolExecutor(max_workers=max(1, min(parallel or cpu_count(), len(todo) or 1))) as pool:
        times = list(pool.map(lambda k: _cold(k, timeout_s, say), todo))
    return {key(k.op.name, k.backend.name): t for k, t in zip(todo, times) if t is not None}


def _cold(k: Kernel, timeout_s: float, say: Callable[[str], None] | None) -> float | None:
    """One kernel's cold compile in its own process and fresh cache; None (``say`` told why) when it failed."""
    what = f"cold compile of {k.op.name} {k.backend.name}"
    if say:
        say(f"{what} in a fresh cache")
    with tempfile.TemporaryDirectory(prefix="vecbench-cold-") as cache:
        env = dict(os.environ, **k.backend.fresh_cache_env(cache))
        try:
            done = subprocess.run([sys.executable, "-m", "vecbench.coldcompile", k.op.name, k.backend.name],
                                  env=env, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            if say:
                say(f"{what}: timed out after {timeout_s:g} s")
            return None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        if say:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            say(f"{what} failed: {tail}")
        return None
    return float(json.loads(lines[-1])["cold_compile_s"])


def _child(op: str, backend: str) -> dict[str, float]:
    """In the fresh process: the first call's excess over the fastest of a few steady calls."""
    import time

    from .harness import prepare
    from .registry import kernel, spec

    size = min(spec(op).sizes["quick"], key=lambda s: sum(s.values()))
    p = prepare(kernel(op, backend), size, "float64", 1)
    if p.reason or p.core is None or p.first_call_s is None:
        raise SystemExit(f"{op} {backend}: {p.reason or 'not measured'}")
    steady = []
    for _ in range(5):
        t0 = time.perf_counter()
        p.core(*p.args)
        steady.append(time.perf_counter() - t0)
    return {"cold_compile_s": max(0.0, p.first_call_s - min(steady)), "first_call_s": p.first_call_s}


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], sys.argv[2])))
