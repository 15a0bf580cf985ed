"""Numba kernels for :mod:`vecbench.operations.broadcast`.

NumPy's ``100 * A / A.sum(axis=0)`` makes two full-size temporaries; these
kernels make none: one pass for the column sums (float64 accumulators), one
pass writing ``A * (100 / s)`` into ``out``. Loops follow the memory order
(rows for C order, columns for Fortran order).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._jit import JIT, PJIT, SAFE_JIT, chunk_bounds, is_fortran, n_chunks, workers
from ._memory import aligned_offset, scale_store_stream4, store_fence
from .broadcast import CONSTANT_RTOL, PERCENT_SAFE_MIN, STD_SAFE_MIN_VAR

COLSUM_CHUNKS = 32
# Outputs at least this large are written with streaming stores. Measured on
# the reference machine (2 cores, 2 MiB L2 each): 32 MB outputs are as fast
# either way, 50 MB ones already faster streamed, 8 MB ones 7% slower.
STREAM_MIN_BYTES = 48 << 20


@numba.njit(**JIT)
def _streaming(A, out):
    # Contiguous rows only: the streaming stores take whole contiguous vectors.
    return out.size * out.itemsize >= STREAM_MIN_BYTES and A.flags.c_contiguous and out.flags.c_contiguous


@numba.njit(**JIT)
def _colsum_rows(A, lo, hi, s):
    """``s += A[lo:hi].sum(axis=0)``, up to eight rows per sweep of ``s``.

    Each sweep loads and stores ``s`` once for several rows of ``A`` (several
    memory streams); the last 1-7 rows take one more sweep, never one per row.
    """
    n = A.shape[1]
    i = lo
    while i + 8 <= hi:
        for j in range(n):
            s[j] += (((A[i, j] + A[i + 1, j]) + (A[i + 2, j] + A[i + 3, j]))
                     + ((A[i + 4, j] + A[i + 5, j]) + (A[i + 6, j] + A[i + 7, j])))
        i += 8
    if i + 4 <= hi:
        for j in range(n):
            s[j] += (A[i, j] + A[i + 1, j]) + (A[i + 2, j] + A[i + 3, j])
        i += 4
    if i + 2 <= hi:
        for j in range(n):
            s[j] += A[i, j] + A[i + 1, j]
        i += 2
    if i < hi:
        for j in range(n):
            s[j] += A[i, j]


@numba.njit(**JIT)
def _sum_ok(s):
    """Whether the fast path ``A * (100 / s)`` is exact for a column sum ``s`` (see broadcast.PERCENT_SAFE_MIN)."""
    return math.isfinite(s) and (s == 0.0 or abs(s) >= PERCENT_SAFE_MIN)


@numba.njit(**JIT)
def _reciprocal_percent(s, r):
    """``r = 100 / s``; returns the number of column sums the fast path cannot take."""
    bad = 0
    for j in range(s.size):
        bad += not _sum_ok(s[j])
        r[j] = 100.0 / s[j]
    return bad


@numba.njit(**JIT)
def _scale(o, a, r):
    for k in range(o.shape[0]):
        o[k] = a[k] * r[k]


@numba.njit(**JIT)
def _scale_rows(A, r, out, lo, hi):
    # Indexed in 2-D rather than calling _scale on each row: per-row views
    # measured ~30% slower at 300 x 300 (loop setup and alias checks per row).
    for i in range(lo, hi):
        for j in range(A.shape[1]):
            out[i, j] = A[i, j] * r[j]


@numba.njit(**JIT)
def _scale_rows_streaming(A, r, out, lo, hi):
    """:func:`_scale_rows` through non-temporal stores (C-contiguous ``A`` and ``out``).

    Streaming skips reading each output line before it is overwritten and
    leaves the caches to ``A``: for an ``out`` far larger than the caches the
    scaling pass then costs a copy (3000 x 3000 on the reference machine:
    4.2 -> 2.9 ms with two threads), but for one that would have stayed in
    cache it is slower, hence the size rule in :func:`_streaming`.
    """
    n = A.shape[1]
    for i in range(lo, hi):
        a = A[i]
        o = out[i]
        h = aligned_offset(o)
        if h < 0:  # data not even item-aligned: plain stores
            h = n
        h = min(h, n)
        _scale(o[:h], a[:h], r[:h])
        j = h
        while j + 4 <= n:
            scale_store_stream4(o, a, r, j)
            j += 4
        _scale(o[j:], a[j:], r[j:])  # views: indices from 0, no gathers
    store_fence()


@numba.njit(**JIT)
def _scale_rows_any(A, r, out, lo, hi, stream):
    if stream:
        _scale_rows_streaming(A, r, out, lo, hi)
    else:
        _scale_rows(A, r, out, lo, hi)


@numba.njit(**SAFE_JIT)
def _percent_col_careful(A, out, j):
    """Column ``j`` by the careful rule (broadcast._percent_careful): scaled by its max |a|."""
    m = A.shape[0]
    mx = 0.0
    nan = pinf = ninf = False
    for i in range(m):
        a = A[i, j]
        if math.isnan(a):
            nan = True
        elif a == np.inf:
            pinf = True
        elif a == -np.inf:
            ninf = True
        else:
            mx = max(mx, abs(a))
    if nan or (pinf and ninf):
        for i in range(m):
            out[i, j] = np.nan
    elif pinf or ninf:
        r = 0.0 if pinf else -0.0
        for i in range(m):
            out[i, j] = A[i, j] * r
    else:
        sc = mx if mx > 0.0 else 1.0
        s = 0.0
        for i in range(m):
            s += A[i, j] / sc
        for i in range(m):
            out[i, j] = A[i, j] / sc / s * 100.0


@numba.njit(**JIT)
def _fix_columns(A, out, s):
    """Redo, carefully, the columns whose sum ``s`` the fast path cannot take (rare: only
    called when :func:`_reciprocal_percent` counted some)."""
    for j in range(A.shape[1]):
        if not _sum_ok(s[j]):
            _percent_col_careful(A, out, j)


@numba.njit(**SAFE_JIT)
def _scale_col(A, out, j, r):
    # Without reassoc: with it, LLVM folds A * (100 / s) into (A * 100) / s,
    # which overflows for |A| > 1.8e306 (measured: a row of 1e308 gave inf).
    for i in range(A.shape[0]):
        out[i, j] = A[i, j] * r


@numba.njit(**JIT)
def _percent_col(A, out, j):
    s = 0.0
    for i in range(A.shape[0]):
        s += A[i, j]
    if not _sum_ok(s):
        _percent_col_careful(A, out, j)
        return
    _scale_col(A, out, j, 100.0 / s)


@numba.njit(**JIT)
def _col_percent_serial(A, out, fortran):
    m, n = A.shape
    if fortran:
        for j in range(n):
            _percent_col(A, out, j)
        return out
    s = np.zeros(n)
    _colsum_rows(A, 0, m, s)
    r = np.empty(n)
    bad = _reciprocal_percent(s, r)
    _scale_rows_any(A, r, out, 0, m, _streaming(A, out))
    if bad:
        _fix_columns(A, out, s)
    return out


@numba.njit(**PJIT)
def _col_percent_columns(A, out):
    """Fortran order: each column is contiguous, summed and scaled while in cache."""
    for j in numba.prange(A.shape[1]):
        _percent_col(A, out, j)
    return out


@numba.njit(**PJIT)
def _col_percent_rows(A, out, nworkers):
    """C order: column sums over row chunks (one partial row per chunk), then scaling by rows."""
    m, n = A.shape
    # Few chunks: the partial sums are reduced serially below, and each
    # chunk's rows are summed eight at a time.
    chunks = min(n_chunks(m * n, 1 << 15), max(1, m // 8), COLSUM_CHUNKS)
    if chunks == 1:  # too small to pay for waking threads
        return _col_percent_serial(A, out, False)
    nworkers = min(nworkers, chunks)
    partial = np.empty((chunks, n))  # one row of column sums per chunk: race-free
    for t in numba.prange(nworkers):
        c0, c1 = chunk_bounds(chunks, nworkers, t)
        for c in range(c0, c1):
            lo, hi = chunk_bounds(m, chunks, c)
            p = partial[c]
            p[:] = 0.0  # zeroed by the thread that uses it
            _colsum_rows(A, lo, hi, p)
    s = partial[0].copy()
    for c in range(1, chunks):  # in chunk order: the same sums whatever the thread count
        for j in range(n):
            s[j] += partial[c, j]
    r = np.empty(n)
    bad = _reciprocal_percent(s, r)
    stream = _streaming(A, out)
    for t in numba.prange(nworkers):
        lo, hi = chunk_bounds(m, nworkers, t)
        _scale_rows_any(A, r, out, lo, hi, stream)
    if bad:
        _fix_columns(A, out, s)
    return out


@numba.njit(**SAFE_JIT)
def _standardize_row_careful(X, out, i):
    """Row ``i`` by the careful rule (broadcast._standardize_careful): scaled by its max |x| first."""
    m = X.shape[1]
    mx = 0.0
    finite = True
    for j in range(m):
        x = X[i, j]
        finite = finite and math.isfinite(x)
        mx = max(mx, abs(x))
    if not finite:  # NaN or inf: mean or spread undefined
        for j in range(m):
            out[i, j] = np.nan
        return
    sc = mx if mx > 0.0 else 1.0
    mu = 0.0
    for j in range(m):
        mu += X[i, j] / sc
    mu /= m
    var = 0.0
    for j in range(m):
        d = X[i, j] / sc - mu
        var += d * d
    sigma = math.sqrt(var / m)
    if sigma <= CONSTANT_RTOL * abs(mu):
        for j in range(m):
            out[i, j] = 0.0
    else:
        for j in range(m):
            out[i, j] = (X[i, j] / sc - mu) / sigma


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
    var /= m
    if not (math.isfinite(var) and var >= STD_SAFE_MIN_VAR):  # overflow/underflow, NaN, inf
        _standardize_row_careful(X, out, i)
        return
    sigma = math.sqrt(var)
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
    if is_fortran(A):
        return _col_percent_columns(A, out)
    return _col_percent_rows(A, out, workers())


standardize = _standardize_serial
standardize_parallel = _standardize_parallel
