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

__all__ = ["measure_bandwidth"]


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
