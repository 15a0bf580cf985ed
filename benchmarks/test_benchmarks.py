"""Every (op, backend, size) from the registry, timed by pytest-benchmark.

The kernel is validated against the float64 NumPy reference and warmed up
(JIT compile, measured apart) before pytest-benchmark's timer starts; a
wrong kernel fails here and is never timed. ``extra_info`` carries what the
vecbench report needs (op, sizes, bytes, flops, compile time).
"""

from __future__ import annotations

import pytest

from vecbench.harness import prepare, set_compile_time
from vecbench.machine import thread_limit


def test_kernel(benchmark, vb_case, request):
    k, size, dtype = vb_case
    with thread_limit(None) as threads:
        p = prepare(k, size, dtype, threads)
    if p.reason:
        pytest.fail(f"{k.op.name}/{k.backend.name} at {k.op.label(size)} not timed: {p.reason}")
    rec = p.record
    benchmark.group = f"{k.op.name} {k.op.label(size)} {dtype}"
    benchmark(p.core, *p.args)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        rec.min_s = stats.stats.min
        set_compile_time(p)
    benchmark.extra_info.update(
        op=rec.op, backend=rec.backend, size=rec.size, label=rec.label, dtype=rec.dtype,
        threads=rec.threads, bytes=rec.bytes, flops=rec.flops, first_call_s=rec.first_call_s,
        compile_time_s=rec.compile_time_s, from_cache=rec.from_cache,
    )
    if stats is not None:  # timed for real: give the report its bandwidth line
        benchmark.extra_info["bandwidth_gbps"] = request.getfixturevalue("vb_bandwidth")
        if k.backend.name == "numba_parallel":
            import numba

            benchmark.extra_info["threading_layer"] = numba.threading_layer()
