"""Numba kernels for :mod:`vecbench.kernels.matvec`.

Loops follow the matrix's memory order: for a C-ordered ``A`` each ``u_i`` is
a contiguous row dot product; for a Fortran-ordered ``A``, ``u`` accumulates
contiguous columns scaled by ``v_j`` (axpy). Other layouts take the row path
with strided access (correct, slower).
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import JIT, PJIT, chunk_bounds, is_fortran, n_chunks


@numba.njit(**JIT)
def _rows(A, v, out, lo, hi):
    k = A.shape[1]
    for i in range(lo, hi):
        acc = 0.0
        for j in range(k):
            acc += A[i, j] * v[j]
        out[i] = acc


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
def _serial(A, v, out, fortran):
    if fortran:
        _cols(A, v, out, 0, A.shape[0])
    else:
        _rows(A, v, out, 0, A.shape[0])
    return out


@numba.njit(**PJIT)
def _parallel(A, v, out, fortran):
    n, k = A.shape
    # Each chunk owns a block of rows of u: writes never overlap.
    chunks = n_chunks(n * k, 1 << 16)
    chunks = min(chunks, n)
    for c in numba.prange(chunks):
        lo, hi = chunk_bounds(n, chunks, c)
        if fortran:
            _cols(A, v, out, lo, hi)
        else:
            _rows(A, v, out, lo, hi)
    return out


def matvec(A, v, out):
    return _serial(A, v, out, is_fortran(A))


def matvec_parallel(A, v, out):
    return _parallel(A, v, out, is_fortran(A))
