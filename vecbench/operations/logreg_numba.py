"""Numba kernels for :mod:`vecbench.operations.logreg`: one fused pass over X.

NumPy's gradient reads ``X`` twice (``w @ X`` and ``X @ dz``) and makes
temporaries of size m. Here ``X`` is read from memory once, one block of
examples at a time, while the block is still in cache.

For a C-ordered ``X`` (features contiguous along examples) each block's rows
are streamed from memory into ``z`` and copied into a packed buffer ``P``
that stays in L2; the block's ``a``, cost and ``dz`` follow. Its
contribution to ``dw`` (a second read, from ``P``) is software-pipelined into
the next block's pass: each row group reads the old rows of ``P`` for ``dw``
and overwrites them with the new rows of ``X`` in the same loop. A core can
only keep so many reads in flight, so the memory stream stalls whenever a
core computes without loading from memory; folding the ``dw`` work into the
streaming loop keeps the stream going (measured at n_x = 100, m = 1e6 on
the 2-core reference machine: 37 -> 35 ms).

For a Fortran-ordered ``X`` (one example contiguous) each example is
finished in one go.

The parallel kernel gives each chunk of examples its own ``dw`` row, so no
two threads write the same memory; chunks are summed in a fixed order at the
end (results do not depend on the thread count).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._jit import JIT, PJIT, chunk_bounds, dot_rows8, is_fortran, n_chunks, workers
from ._vmath import exp_nonpos, log1p_unit

# The packed block of X (n_x x block) stays in a 2 MiB L2 next to the streams
# being read. 768 examples at n_x = 100 (measured: 39 ms vs 41-42 ms for 1024
# and larger blocks, no better below).
L2_BLOCK_BYTES = 600 * 1024
# Rows of the packed block are padded by one cache line: with a stride of
# exactly 8 KiB all eight rows written together share their low 12 address
# bits, and loads of X that match them stall on false store dependencies
# (4K aliasing). Measured: 39 -> 36.5 ms at n_x = 100, m = 1e6.
P_PAD = 8
# Blocks per parallel chunk for large inputs: a chunk's first block and its
# last dw are not overlapped (1 in 32 blocks: ~3% of them at m = 1e6).
PIPELINE_BLOCKS = 32


SIGMOID_BLOCK = 512


@numba.njit(**JIT)
def _sigmoid_range(z, out, lo, hi):
    """``out[lo:hi] = sigmoid(z[lo:hi])`` in blocks, with the vectorizable exp."""
    t = np.empty(SIGMOID_BLOCK)
    e = np.empty(SIGMOID_BLOCK)
    bits = np.empty(SIGMOID_BLOCK, dtype=np.int64)
    for start in range(lo, hi, SIGMOID_BLOCK):
        nb = min(SIGMOID_BLOCK, hi - start)
        zb = z[start:start + nb]  # views: contiguous loads (see _z_rows8)
        ob = out[start:start + nb]
        for j in range(nb):
            t[j] = -abs(zb[j])
        exp_nonpos(t[:nb], e[:nb], bits[:nb])
        for j in range(nb):
            ob[j] = (1.0 if zb[j] >= 0.0 else e[j]) / (1.0 + e[j])


@numba.njit(**JIT)
def sigmoid(z, out):
    _sigmoid_range(z, out, 0, z.shape[0])
    return out


@numba.njit(**PJIT)
def _sigmoid_parallel(z, out, nworkers):
    n = z.shape[0]
    for t in numba.prange(nworkers):
        lo, hi = chunk_bounds(n, nworkers, t)
        _sigmoid_range(z, out, lo, hi)
    return out


def sigmoid_parallel(z, out):
    if z.shape[0] < 1 << 13:  # too small to pay for waking threads
        return sigmoid(z, out)
    return _sigmoid_parallel(z, out, workers())


@numba.njit(**JIT)
def _loss_and_dz(z, y):
    """Per-example cost term and ``dz = a - y`` sharing one ``exp(-|z|)``."""
    e = math.exp(-abs(z))
    loss = max(z, 0.0) + math.log1p(e) - y * z
    a = (1.0 if z >= 0.0 else e) / (1.0 + e)
    return loss, a - y


@numba.njit(**JIT)
def _z_rows8(w, X, z, P, i, start, nb, pack):
    """``z += w[i:i+8] @ X[i:i+8, start:start+nb]``, copying the block into ``P`` if ``pack``.

    Eight rows are streamed together: eight concurrent streams keep enough
    memory requests in flight to read X at full bandwidth (one row at a time
    reaches about half of it). The copy in ``P`` is what the gradient pass
    reads back: a small buffer reused for every block stays in L1/L2, while
    the block of X itself tends to be found only in the last-level cache.
    """
    w0, w1, w2, w3 = w[i], w[i + 1], w[i + 2], w[i + 3]
    w4, w5, w6, w7 = w[i + 4], w[i + 5], w[i + 6], w[i + 7]
    # Row views: the index j is provably >= 0, so loads stay contiguous
    # (X[i, start + j] would need a negative-index check per element).
    r0, r1, r2, r3 = X[i, start:start + nb], X[i + 1, start:start + nb], X[i + 2, start:start + nb], X[i + 3, start:start + nb]
    r4, r5, r6, r7 = X[i + 4, start:start + nb], X[i + 5, start:start + nb], X[i + 6, start:start + nb], X[i + 7, start:start + nb]
    for j in range(nb):
        x0, x1, x2, x3 = r0[j], r1[j], r2[j], r3[j]
        x4, x5, x6, x7 = r4[j], r5[j], r6[j], r7[j]
        if pack:
            P[i, j], P[i + 1, j], P[i + 2, j], P[i + 3, j] = x0, x1, x2, x3
            P[i + 4, j], P[i + 5, j], P[i + 6, j], P[i + 7, j] = x4, x5, x6, x7
        z[j] += w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3 + w4 * x4 + w5 * x5 + w6 * x6 + w7 * x7


@numba.njit(**JIT)
def _add8(dw, i, sums):
    """``dw[i:i+8] += sums`` (eight row sums of a block)."""
    for k in range(8):
        dw[i + k] += sums[k]


@numba.njit(**JIT)
def _dw_rows8(P, dz, dw, i, nb):
    """``dw[i:i+8] += P[i:i+8, :nb] @ dz[:nb]``."""
    _add8(dw, i, dot_rows8(P, i, dz, nb))


@numba.njit(**JIT)
def loss_and_dz_block(z, y, t, e, bits):
    """Cost and ``db`` sums over a block; ``z`` is overwritten with ``dz = a - y``.

    ``y`` holds the block's labels aligned with ``z``; ``t``, ``e`` (float) and
    ``bits`` (int64) are scratch of the same length. The same arithmetic as
    :func:`_loss_and_dz`, with the vectorizable ``exp``/``log1p`` of
    :mod:`._vmath`: this loop runs in SIMD lanes.
    """
    nb = z.shape[0]
    for j in range(nb):
        t[j] = -abs(z[j])
    exp_nonpos(t, e, bits)
    cost = 0.0
    dbs = 0.0
    for j in range(nb):
        zj = z[j]
        ej = e[j]
        yj = y[j]
        a = (1.0 if zj >= 0.0 else ej) / (1.0 + ej)
        cost += max(zj, 0.0) + log1p_unit(ej) - yj * zj
        dbs += a - yj
        z[j] = a - yj
    return cost, dbs


@numba.njit(**JIT)
def _zdw_rows8(w, X, z, P, i, start, nb, dz, dw):
    """Rows ``i:i+8`` of two blocks in one loop (the software pipeline).

    ``dw[i:i+8] += P[i:i+8, :nb] @ dz`` for the previous block held in ``P``,
    then ``P[i:i+8, :nb] = X[i:i+8, start:start+nb]`` and ``z += w[i:i+8] @``
    those rows, as :func:`_z_rows8` does. Each element of ``P`` is read before
    it is overwritten in the same iteration, so the loop vectorizes, and the
    loads from ``P`` (L2) ride along with the stream from memory.
    Both blocks must have ``nb`` examples.
    """
    w0, w1, w2, w3 = w[i], w[i + 1], w[i + 2], w[i + 3]
    w4, w5, w6, w7 = w[i + 4], w[i + 5], w[i + 6], w[i + 7]
    r0, r1, r2, r3 = X[i, start:start + nb], X[i + 1, start:start + nb], X[i + 2, start:start + nb], X[i + 3, start:start + nb]
    r4, r5, r6, r7 = X[i + 4, start:start + nb], X[i + 5, start:start + nb], X[i + 6, start:start + nb], X[i + 7, start:start + nb]
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    for j in range(nb):
        d = dz[j]
        a0 += P[i, j] * d
        a1 += P[i + 1, j] * d
        a2 += P[i + 2, j] * d
        a3 += P[i + 3, j] * d
        a4 += P[i + 4, j] * d
        a5 += P[i + 5, j] * d
        a6 += P[i + 6, j] * d
        a7 += P[i + 7, j] * d
        x0, x1, x2, x3 = r0[j], r1[j], r2[j], r3[j]
        x4, x5, x6, x7 = r4[j], r5[j], r6[j], r7[j]
        P[i, j], P[i + 1, j], P[i + 2, j], P[i + 3, j] = x0, x1, x2, x3
        P[i + 4, j], P[i + 5, j], P[i + 6, j], P[i + 7, j] = x4, x5, x6, x7
        z[j] += w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3 + w4 * x4 + w5 * x5 + w6 * x6 + w7 * x7
    _add8(dw, i, (a0, a1, a2, a3, a4, a5, a6, a7))


@numba.njit(**JIT)
def _zdw_rows4(w, X, z, P, i, start, nb, dz, dw):
    """:func:`_zdw_rows8` for four rows (the remainder of ``n_x = 8k + 4..7``).

    Four streams instead of one row at a time: measured 35.6 -> 35.0 ms at
    n_x = 100, m = 1e6.
    """
    w0, w1, w2, w3 = w[i], w[i + 1], w[i + 2], w[i + 3]
    r0, r1, r2, r3 = X[i, start:start + nb], X[i + 1, start:start + nb], X[i + 2, start:start + nb], X[i + 3, start:start + nb]
    a0 = a1 = a2 = a3 = 0.0
    for j in range(nb):
        d = dz[j]
        a0 += P[i, j] * d
        a1 += P[i + 1, j] * d
        a2 += P[i + 2, j] * d
        a3 += P[i + 3, j] * d
        x0, x1, x2, x3 = r0[j], r1[j], r2[j], r3[j]
        P[i, j], P[i + 1, j], P[i + 2, j], P[i + 3, j] = x0, x1, x2, x3
        z[j] += w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3
    dw[i] += a0
    dw[i + 1] += a1
    dw[i + 2] += a2
    dw[i + 3] += a3


@numba.njit(**JIT)
def _zdw_row(w, X, z, P, i, start, nb, dz, dw):
    """:func:`_zdw_rows8` for one row."""
    wi = w[i]
    row = X[i, start:start + nb]
    acc = 0.0
    for j in range(nb):
        acc += P[i, j] * dz[j]
        x = row[j]
        P[i, j] = x
        z[j] += wi * x
    dw[i] += acc


@numba.njit(**JIT)
def _z_block(w, b, X, z, P, start, nb, pack):
    """``z = b + w @ X[:, start:start+nb]``, copying the block into ``P`` if ``pack``."""
    n_x = X.shape[0]
    n8 = n_x - n_x % 8
    for j in range(nb):
        z[j] = b
    for i in range(0, n8, 8):
        _z_rows8(w, X, z, P, i, start, nb, pack)
    for i in range(n8, n_x):
        wi = w[i]
        row = X[i, start:start + nb]
        for j in range(nb):
            x = row[j]
            if pack:
                P[i, j] = x
            z[j] += wi * x


@numba.njit(**JIT)
def _zdw_block(w, b, X, z, P, start, nb, dz, dw):
    """:func:`_z_block` (packing) fused with :func:`_dw_block` of the block held in ``P``."""
    n_x = X.shape[0]
    n8 = n_x - n_x % 8
    n4 = n8 + 4 if n_x - n8 >= 4 else n8
    for j in range(nb):
        z[j] = b
    for i in range(0, n8, 8):
        _zdw_rows8(w, X, z, P, i, start, nb, dz, dw)
    if n4 > n8:
        _zdw_rows4(w, X, z, P, n8, start, nb, dz, dw)
    for i in range(n4, n_x):
        _zdw_row(w, X, z, P, i, start, nb, dz, dw)


@numba.njit(**JIT)
def _dw_block(P, dz, dw, nb):
    """``dw += P[:, :nb] @ dz`` for the block held in ``P`` (ends a pipeline)."""
    n_x = dw.shape[0]
    n8 = n_x - n_x % 8
    for i in range(0, n8, 8):
        _dw_rows8(P, dz, dw, i, nb)
    for i in range(n8, n_x):
        acc = 0.0
        for j in range(nb):
            acc += P[i, j] * dz[j]
        dw[i] += acc


@numba.njit(**JIT)
def _range_c(w, b, X, y, lo, hi, dw, grad, Z, P, S, bits):
    """Sums over examples ``[lo, hi)`` of a row-major X, one cache-sized block at a time.

    ``Z`` holds two blocks: ``z`` of the block being read and ``dz`` of the
    previous one, whose ``dw`` is still due (its rows are in ``P``).
    """
    block = Z.shape[1]
    cost = 0.0
    dbs = 0.0
    cur = 0
    due = 0  # examples of the previous block whose dw is still due
    for start in range(lo, hi, block):
        nb = min(block, hi - start)
        z = Z[cur, :nb]
        dz = Z[1 - cur, :due]
        if due == nb:
            _zdw_block(w, b, X, z, P, start, nb, dz, dw)
        else:  # first block, or a short last block: P must be emptied first
            if due:
                _dw_block(P, dz, dw, due)
            _z_block(w, b, X, z, P, start, nb, grad)
        c, d = loss_and_dz_block(z, y[start:start + nb], S[0, :nb], S[1, :nb], bits[:nb])  # z now holds dz
        cost += c
        dbs += d
        if grad:
            due = nb
            cur = 1 - cur
    if due:
        _dw_block(P, Z[1 - cur, :due], dw, due)
    return cost, dbs


@numba.njit(**JIT)
def _range_f(w, b, X, y, lo, hi, dw, grad):
    """Same as :func:`_range_c` for a column-major X: one example at a time."""
    n_x = X.shape[0]
    cost = 0.0
    dbs = 0.0
    for j in range(lo, hi):
        z = b
        for i in range(n_x):
            z += w[i] * X[i, j]
        loss, dz = _loss_and_dz(z, y[j])
        cost += loss
        dbs += dz
        if grad:
            for i in range(n_x):
                dw[i] += X[i, j] * dz
    return cost, dbs


@numba.njit(**JIT)
def _range(w, b, X, y, lo, hi, dw, grad, fortran, Z, P, S, bits):
    if fortran:
        return _range_f(w, b, X, y, lo, hi, dw, grad)
    return _range_c(w, b, X, y, lo, hi, dw, grad, Z, P, S, bits)


def _block(X: np.ndarray) -> int:
    # P (n_x x block) plus z must sit in L2 next to the streams being read.
    return int(min(2048, max(16, L2_BLOCK_BYTES // (X.shape[0] * 8))))


@numba.njit(**JIT)
def _serial(w, b, X, y, grad, fortran, block):
    n_x, m = X.shape
    dw = np.zeros(n_x)
    Z = np.empty((2, block))
    P = np.empty((n_x, block + P_PAD))
    S = np.empty((2, block))
    bits = np.empty(block, dtype=np.int64)
    cost, dbs = _range(w, b, X, y, 0, m, dw, grad, fortran, Z, P, S, bits)
    return dw / m, dbs / m, cost / m


@numba.njit(**PJIT)
def _parallel(w, b, X, y, grad, fortran, block, nworkers):
    n_x, m = X.shape
    # Chunks are whole blocks (results still independent of the thread
    # count): no short, slow blocks where one chunk ends and the next begins.
    # Each chunk is one software pipeline whose first block is read without
    # and whose last dw is computed without overlap, so large inputs get
    # long chunks (PIPELINE_BLOCKS); small ones still get up to 16 chunks.
    nblk = (m + block - 1) // block
    chunks = min(n_chunks(n_x * m, 1 << 16), max(min(nblk, 16), nblk // PIPELINE_BLOCKS))
    dws = np.zeros((chunks, n_x))
    costs = np.zeros(chunks)
    dbs = np.zeros(chunks)
    nworkers = min(nworkers, chunks)
    for t in numba.prange(nworkers):
        # Scratch per worker, not per chunk: nothing is allocated in the loop.
        Z = np.empty((2, block))
        P = np.empty((n_x, block + P_PAD))
        S = np.empty((2, block))
        bits = np.empty(block, dtype=np.int64)
        c0, c1 = chunk_bounds(chunks, nworkers, t)
        for c in range(c0, c1):
            first, last = chunk_bounds(nblk, chunks, c)  # block numbers (b is the bias)
            lo, hi = first * block, min(last * block, m)
            costs[c], dbs[c] = _range(w, b, X, y, lo, hi, dws[c], grad, fortran, Z, P, S, bits)
    return dws.sum(axis=0) / m, dbs.sum() / m, costs.sum() / m


def _run(parallel, w, b, X, y, grad):
    args = (w, b, X, y, grad, is_fortran(X), _block(X))
    dw, db, J = _parallel(*args, workers()) if parallel else _serial(*args)
    with np.errstate(over="ignore"):  # beyond float32's range: inf, silently, as in compiled code
        return dw.astype(X.dtype, copy=False), db, J


def cost(w, b, X, y):
    return _run(False, w, b, X, y, False)[2]


def cost_parallel(w, b, X, y):
    return _run(True, w, b, X, y, False)[2]


def grad(w, b, X, y):
    return _run(False, w, b, X, y, True)


def grad_parallel(w, b, X, y):
    return _run(True, w, b, X, y, True)


def _update(w, b, lr, dw, db, J):
    with np.errstate(all="ignore"):  # inf/NaN follow the op's rule, never a warning
        return w - lr * dw, b - lr * db, J


def step(w, b, X, y, lr):
    return _update(w, b, lr, *grad(w, b, X, y))


def step_parallel(w, b, X, y, lr):
    return _update(w, b, lr, *grad_parallel(w, b, X, y))
