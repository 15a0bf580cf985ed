"""Numba kernels for :mod:`vecbench.operations.dot`."""

from __future__ import annotations

import numba
import numpy as np

from ._jit import JIT, MIN_CHUNK, PJIT, chunk_bounds, n_chunks, workers
from ._memory import prefetch

BLOCK = 64  # elements summed per inner loop: 8 cache lines of each input
PREFETCH_AHEAD = 512  # elements ahead of the loop that are requested early (4 KiB)


@numba.njit(**JIT)
def dot_range(a, b, lo, hi):
    """``sum(a[lo:hi] * b[lo:hi])`` in a float64 accumulator.

    With ``reassoc`` fastmath LLVM splits the sum into SIMD partial sums (a
    different, usually more accurate, rounding order than a sequential loop).
    """
    acc = 0.0
    for i in range(lo, hi):
        acc += a[i] * b[i]
    return acc


@numba.njit(**JIT)
def dot_range_prefetch(a, b, lo, hi):
    """:func:`dot_range` blockwise, requesting the lines ``PREFETCH_AHEAD`` elements ahead.

    With both cores streaming, the hints keep more reads in flight (measured
    on the 2-core reference machine at n = 1e7: 3.9 ms without, 3.5 ms with
    them at 4 KiB ahead; NumPy/OpenBLAS 3.7 ms); a single thread does better
    without them, so the serial kernel does not use them.
    Prefetches stay inside ``[lo, hi)``.
    """
    acc = 0.0
    i = lo
    while i + BLOCK <= hi:
        if i + PREFETCH_AHEAD + BLOCK <= hi:
            for k in range(0, BLOCK, 8):  # one hint per 64-byte line
                prefetch(a, i + PREFETCH_AHEAD + k)
                prefetch(b, i + PREFETCH_AHEAD + k)
        # Views indexed from 0: LLVM then knows no index is negative and
        # emits contiguous vector loads (a[i + k] would become gathers).
        ab = a[i:i + BLOCK]
        bb = b[i:i + BLOCK]
        s = 0.0
        for k in range(BLOCK):
            s += ab[k] * bb[k]
        acc += s
        i += BLOCK
    return acc + dot_range(a[i:hi], b[i:hi], 0, hi - i)


@numba.njit(**JIT)
def dot(a, b):
    return dot_range(a, b, 0, a.shape[0])


@numba.njit(**PJIT)
def _dot_parallel(a, b, nworkers):
    n = a.shape[0]
    chunks = n_chunks(n, MIN_CHUNK)
    if chunks == 1:  # too small to pay for waking threads
        return dot_range(a, b, 0, n)
    partial = np.empty(chunks)
    nworkers = min(nworkers, chunks)
    for t in numba.prange(nworkers):
        c0, c1 = chunk_bounds(chunks, nworkers, t)
        for c in range(c0, c1):
            lo, hi = chunk_bounds(n, chunks, c)
            partial[c] = dot_range_prefetch(a, b, lo, hi)
    return partial.sum()


# Below two chunks there is nothing to split. From there on two threads win
# (OpenMP threading layer, measured on the 2-core reference machine: n = 2**16
# 13.8 -> 9.0 us, n = 2**17 40 -> 14 us; waking the threads costs ~2 us).
PARALLEL_MIN_N = 2 * MIN_CHUNK


def dot_parallel(a, b):
    if a.shape[0] < PARALLEL_MIN_N:
        return dot(a, b)
    return _dot_parallel(a, b, workers())
