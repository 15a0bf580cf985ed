"""Numba kernels for :mod:`vecbench.kernels.broadcast`.

NumPy's ``100 * A / A.sum(axis=0)`` makes two full-size temporaries; these
kernels make none: one pass for the column sums (float64 accumulators), one
pass writing ``A * (100 / s)`` into ``out``. Loops follow the memory order
(rows for C order, columns for Fortran order).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._jit import JIT, PJIT, chunk_bounds, is_fortran, n_chunks, workers
from .broadcast import CONSTANT_RTOL


@numba.njit(**JIT)
def _colsum_rows(A, lo, hi, s):
    """``s += A[lo:hi].sum(axis=0)``, eight rows per sweep of ``s`` (eight memory streams)."""
    n = A.shape[1]
    i = lo
    while i + 8 <= hi:
        for j in range(n):
            s[j] += (A[i, j] + A[i + 1, j] + A[i + 2, j] + A[i + 3, j]
                     + A[i + 4, j] + A[i + 5, j] + A[i + 6, j] + A[i + 7, j])
        i += 8
    for r in range(i, hi):
        for j in range(n):
            s[j] += A[r, j]


@numba.njit(**JIT)
def _scale_rows(A, r, out, lo, hi):
    for i in range(lo, hi):
        for j in range(A.shape[1]):
            out[i, j] = A[i, j] * r[j]


@numba.njit(**JIT)
def _percent_col(A, out, j):
    s = 0.0
    for i in range(A.shape[0]):
        s += A[i, j]
    r = 100.0 / s
    for i in range(A.shape[0]):
        out[i, j] = A[i, j] * r


@numba.njit(**JIT)
def _col_percent_serial(A, out, fortran):
    m, n = A.shape
    if fortran:
        for j in range(n):
            _percent_col(A, out, j)
        return out
    s = np.zeros(n)
    _colsum_rows(A, 0, m, s)
    _scale_rows(A, 100.0 / s, out, 0, m)
    return out


@numba.njit(**PJIT)
def _col_percent_parallel(A, out, fortran, nworkers):
    m, n = A.shape
    if fortran:
        for j in numba.prange(n):
            _percent_col(A, out, j)
        return out
    chunks = min(n_chunks(m * n, 1 << 15), m)
    if chunks == 1:  # too small to pay for waking threads
        return _col_percent_serial(A, out, fortran)
    nworkers = min(nworkers, chunks)
    partial = np.zeros((chunks, n))  # one row of column sums per chunk: race-free
    for t in numba.prange(nworkers):
        c0, c1 = chunk_bounds(chunks, nworkers, t)
        for c in range(c0, c1):
            lo, hi = chunk_bounds(m, chunks, c)
            _colsum_rows(A, lo, hi, partial[c])
    r = 100.0 / partial.sum(axis=0)
    for t in numba.prange(nworkers):
        lo, hi = chunk_bounds(m, nworkers, t)
        _scale_rows(A, r, out, lo, hi)
    return out


@numba.njit(**JIT)
def _standardize_row(X, out, i):
    m = X.shape[1]
    mu = 0.0
    for j in range(m):
        mu += X[i, j]
    mu /= m
    var = 0.0
    for j in range(m):
        d = X[i, j] - mu
        var += d * d
    sigma = math.sqrt(var / m)
    if sigma <= CONSTANT_RTOL * abs(mu):
        for j in range(m):
            out[i, j] = 0.0
    else:
        inv = 1.0 / sigma
        for j in range(m):
            out[i, j] = (X[i, j] - mu) * inv


@numba.njit(**JIT)
def _standardize_serial(X, out):
    for i in range(X.shape[0]):
        _standardize_row(X, out, i)
    return out


@numba.njit(**PJIT)
def _standardize_parallel(X, out):
    for i in numba.prange(X.shape[0]):
        _standardize_row(X, out, i)
    return out


def col_percent(A, out):
    return _col_percent_serial(A, out, is_fortran(A))


def col_percent_parallel(A, out):
    return _col_percent_parallel(A, out, is_fortran(A), workers())


standardize = _standardize_serial
standardize_parallel = _standardize_parallel
