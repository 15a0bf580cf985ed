"""Cold compile: a JIT kernel's first call in a fresh process with empty caches, apart from any cache load."""

from __future__ import annotations

import vecbench as vb
from vecbench.backends.numba import NumbaBackend
from vecbench.coldcompile import key, measure_cold_compile


def test_cold_compile_is_measured_in_a_fresh_cache_for_jit_kernels_only():
    said: list[str] = []
    jit = next(b for b in vb.backends("dot") if isinstance(vb.backend(b), NumbaBackend))
    got = measure_cold_compile([vb.kernel("dot", jit), vb.kernel("dot", "numpy")], say=said.append)
    assert set(got) == {key("dot", jit)}
    # A cold Numba compile takes a good fraction of a second; a cache load takes milliseconds.
    assert got[key("dot", jit)] > 0.05
    assert said == [f"cold compile of dot {jit} in a fresh cache"]


def test_a_kernel_that_cannot_be_measured_is_left_out_with_the_reason(monkeypatch):
    import subprocess

    def boom(*a, **k):
        return subprocess.CompletedProcess(a, 1, "", "Traceback...\nRuntimeError: kaput")

    monkeypatch.setattr(subprocess, "run", boom)
    said: list[str] = []
    assert measure_cold_compile([vb.kernel("sigmoid", "numba")], say=said.append) == {}
    assert said[-1] == "cold compile of sigmoid numba failed: RuntimeError: kaput"


def test_cold_compiles_run_side_by_side_and_keep_the_kernels_order(monkeypatch):
    import subprocess
    import threading
    import time

    running, most = [0], [0]
    lock = threading.Lock()

    def child(cmd, **kw):  # stands in for the child process: one JIT compile, one thread
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2 if cmd[-2] == "dot" else 0.05)  # the first kernel finishes last
        with lock:
            running[0] -= 1
        return subprocess.CompletedProcess(cmd, 0, '{"cold_compile_s": %s}' % (1.0 if cmd[-2] == "dot" else 2.0), "")

    monkeypatch.setattr(subprocess, "run", child)
    ks = [vb.kernel(op, "numba") for op in ("dot", "sigmoid", "matvec")]
    got = measure_cold_compile(ks, parallel=2)
    assert list(got) == [key(op, "numba") for op in ("dot", "sigmoid", "matvec")]
    assert got[key("dot", "numba")] == 1.0 and got[key("sigmoid", "numba")] == 2.0
    assert most[0] == 2
    most[0] = 0
    assert measure_cold_compile(ks, parallel=1) == got and most[0] == 1  # one at a time when asked
