"""A STREAM-style memory-bandwidth probe, so reports can say "X% of this machine's bandwidth".

STREAM counts the bytes a kernel must move (copy: 2 arrays, triad
``a = b + s c``: 3 arrays) and ignores write-allocate traffic; so do we, and so
do the per-op byte counts, so the two are comparable. Arrays default to 80 MB
each, well past L2; on machines with a very large L3 pass a larger ``n``.
"""

from __future__ import annotations

import functools
import importlib.util
import time
from collections.abc import Callable

import numpy as np

__all__ = ["measure_bandwidth", "measure_peak_gflops"]


def _best(fn: Callable[[], object], repeats: int) -> float:
    fn()  # first touch / page faults / compile happen here, untimed
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn()
        best = min(best, (time.perf_counter_ns() - t0) * 1e-9)
    return best


def measure_bandwidth(n: int = 10_000_000, repeats: int = 5) -> dict[str, float]:
    """Measure copy and triad bandwidth in GB/s (1 GB = 1e9 bytes).

    Parameters
    ----------
    n : int
        Elements per float64 array.
    repeats : int
        Timed repetitions; the best is kept (STREAM's convention).

    Returns
    -------
    dict
        ``copy_numpy``, ``triad_numba`` and ``triad_numba_parallel`` (when Numba
        is installed), ``best`` (the largest) and ``array_bytes``.
    """
    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    out: dict[str, float] = {
        "copy_numpy": 2 * 8 * n / _best(lambda: np.copyto(a, b), repeats) / 1e9,
    }
    if importlib.util.find_spec("numba") is not None:
        from .operations import stream_numba

        for name, fn in (("triad_numba", stream_numba.triad), ("triad_numba_parallel", stream_numba.triad_parallel)):
            out[name] = 3 * 8 * n / _best(functools.partial(fn, a, b, c, 3.0), repeats) / 1e9
    out["best"] = max(out.values())
    out["array_bytes"] = float(8 * n)
    return out


def measure_peak_gflops(n: int = 1024, repeats: int = 3) -> dict[str, float]:
    """Measure the compute roof in GFLOP/s: NumPy's BLAS ``dgemm`` on ``n x n`` float64 matrices.

    A matrix product does ``2 n^3`` flops on ``3 n^2`` numbers, so at this size
    it is limited by arithmetic, not memory: the practical peak of the FMA
    units on the threads BLAS uses (the roofline's flat roof). It takes about
    ``repeats + 1`` products (0.1-0.5 s on a laptop core).

    Returns
    -------
    dict
        ``dgemm_numpy`` (GFLOP/s, best of ``repeats``), ``best`` and ``n``.
    """
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)), rng.random((n, n))
    c = np.empty((n, n))
    gflops = 2.0 * n**3 / _best(lambda: np.matmul(a, b, out=c), repeats) / 1e9
    return {"dgemm_numpy": gflops, "best": gflops, "n": float(n)}
