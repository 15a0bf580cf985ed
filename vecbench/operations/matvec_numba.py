"""Numba kernels for :mod:`vecbench.operations.matvec`.

Loops follow the matrix's memory order: for a C-ordered ``A`` each ``u_i`` is
a contiguous row dot product, eight rows at a time (``_jit.dot_rows8``); for a Fortran-ordered ``A``,
``u`` accumulates contiguous columns scaled by ``v_j`` (axpy). Other layouts
take the row path with strided access (correct, slower).
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import JIT, PJIT, chunk_bounds, dot_rows8, is_fortran, workers


@numba.njit(**JIT)
def _rows(A, v, out, lo, hi):
    k = A.shape[1]
    i = lo
    while i + 8 <= hi:
        out[i], out[i + 1], out[i + 2], out[i + 3], out[i + 4], out[i + 5], out[i + 6], out[i + 7] = (
            dot_rows8(A, i, v, k))
        i += 8
    for r in range(i, hi):
        acc = 0.0
        for j in range(k):
            acc += A[r, j] * v[j]
        out[r] = acc


@numba.njit(**JIT)
def _cols(A, v, out, lo, hi):
    # out[lo:hi] = A[lo:hi, :] @ v, walking columns (contiguous in F order);
    # a float64 accumulator block keeps float32 inputs accurate.
    acc = np.zeros(hi - lo)
    for j in range(A.shape[1]):
        vj = v[j]
        for i in range(lo, hi):
            acc[i - lo] += A[i, j] * vj
    for i in range(lo, hi):
        out[i] = acc[i - lo]


@numba.njit(**JIT)
def _part(A, v, out, lo, hi, fortran):
    if fortran:
        _cols(A, v, out, lo, hi)
    else:
        _rows(A, v, out, lo, hi)


@numba.njit(**JIT)
def _serial(A, v, out, fortran):
    _part(A, v, out, 0, A.shape[0], fortran)
    return out


@numba.njit(**PJIT)
def _parallel(A, v, out, fortran, nworkers):
    n, k = A.shape
    if n * k < 1 << 16:  # too small to pay for waking threads
        _part(A, v, out, 0, n, fortran)
        return out
    # Each worker owns a block of rows of u: writes never overlap, and every
    # u_i is summed in the same order whatever the number of threads.
    nworkers = min(nworkers, n)
    for t in numba.prange(nworkers):
        lo, hi = chunk_bounds(n, nworkers, t)
        _part(A, v, out, lo, hi, fortran)
    return out


def matvec(A, v, out):
    return _serial(A, v, out, is_fortran(A))


def matvec_parallel(A, v, out):
    return _parallel(A, v, out, is_fortran(A), workers())
