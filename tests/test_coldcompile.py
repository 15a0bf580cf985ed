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
