"""Every (op, backend, size) from the registry, timed by pytest-benchmark.

The kernel is validated against the float64 NumPy reference and warmed up
(JIT compile, measured apart) before pytest-benchmark's timer starts; a
wrong kernel fails here and is never timed. ``extra_info`` carries what the
vecbench report needs (op, sizes, bytes, flops, compile time).
"""

from __future__ import annotations

import pytest

from vecbench.harness import compile_time, prepare
from vecbench.machine import thread_limit


def test_kernel(benchmark, vb_case, request):
    k, size, dtype = vb_case
    # Warm-up and timing under one thread limit: a kernel compiled for a thread count (torch_compile's
    # Inductor sizes its OpenMP loops when it compiles) is timed at that count, never recompiled in a round.
    with thread_limit(None, [k.backend.name]) as threads:
        p = prepare(k, size, dtype, threads)
        if p.reason:
            pytest.fail(f"{k.op.name}/{k.backend.name} at {k.op.label(size)} not timed: {p.reason}")
        rec = p.record
        benchmark.group = f"{k.op.name} {k.op.label(size)} {dtype}"
        benchmark(p.core, *p.args)
    stats = getattr(benchmark, "stats", None)
    steady = stats.stats.min if stats is not None else None
    benchmark.extra_info.update(
        op=rec.op, backend=rec.backend, size=dict(rec.size), label=rec.label, dtype=rec.dtype,
        threads=rec.threads, bytes=rec.bytes, flops=rec.flops, first_call_s=p.first_call_s,
        compile_time_s=compile_time(p, steady) if steady is not None else None, from_cache=p.from_cache,
    )
    if stats is not None:  # timed for real: give the report its bandwidth line and the backend's facts
        benchmark.extra_info["bandwidth_gbps"] = request.getfixturevalue("vb_bandwidth")
        benchmark.extra_info["backend_facts"] = {k.backend.name: k.backend.metadata()}
