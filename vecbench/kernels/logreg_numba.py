"""Numba kernels for :mod:`vecbench.kernels.logreg`: one fused pass over X.

NumPy's gradient reads ``X`` twice (``w @ X`` and ``X @ dz``) and makes
temporaries of size m. Here each block of examples is handled start to finish
while its columns of ``X`` are still in cache: ``z`` for the block, then
``a``, the cost and ``dz``, then the block's contribution to ``dw``. ``X`` is
read from memory once. For a C-ordered ``X`` (features contiguous along
examples) the block's rows are streamed twice from L2; for a Fortran-ordered
``X`` (one example contiguous) each example is finished in one go.

The parallel kernel gives each chunk of examples its own ``dw`` row, so no
two threads write the same memory; chunks are summed in a fixed order at the
end (results do not depend on the thread count).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._jit import JIT, PJIT, chunk_bounds, is_fortran, n_chunks

L2_BLOCK_BYTES = 1 << 19  # a block of X's columns that stays in a 1-2 MiB L2


@numba.njit(**JIT)
def _sigmoid_range(z, out, lo, hi):
    for i in range(lo, hi):
        zi = z[i]
        e = math.exp(-abs(zi))
        out[i] = (1.0 if zi >= 0.0 else e) / (1.0 + e)


@numba.njit(**JIT)
def sigmoid(z, out):
    _sigmoid_range(z, out, 0, z.shape[0])
    return out


@numba.njit(**PJIT)
def sigmoid_parallel(z, out):
    n = z.shape[0]
    chunks = n_chunks(n, 1 << 13)
    for c in numba.prange(chunks):
        lo, hi = chunk_bounds(n, chunks, c)
        _sigmoid_range(z, out, lo, hi)
    return out


@numba.njit(**JIT)
def _loss_and_dz(z, y):
    """Per-example cost term and ``dz = a - y`` sharing one ``exp(-|z|)``."""
    e = math.exp(-abs(z))
    loss = max(z, 0.0) + math.log1p(e) - y * z
    a = (1.0 if z >= 0.0 else e) / (1.0 + e)
    return loss, a - y


@numba.njit(**JIT)
def _range_c(w, b, X, y, lo, hi, dw, grad, block):
    """Cost and gradient sums over examples ``[lo, hi)`` of a row-major X, blockwise."""
    n_x = X.shape[0]
    z = np.empty(block)
    cost = 0.0
    dbs = 0.0
    for start in range(lo, hi, block):
        nb = min(block, hi - start)
        for j in range(nb):
            z[j] = b
        for i in range(n_x):
            wi = w[i]
            for j in range(nb):
                z[j] += wi * X[i, start + j]
        for j in range(nb):
            loss, dz = _loss_and_dz(z[j], y[start + j])
            cost += loss
            dbs += dz
            z[j] = dz  # reuse the buffer for dz
        if grad:
            for i in range(n_x):
                acc = 0.0
                for j in range(nb):
                    acc += X[i, start + j] * z[j]
                dw[i] += acc
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
def _range(w, b, X, y, lo, hi, dw, grad, fortran, block):
    if fortran:
        return _range_f(w, b, X, y, lo, hi, dw, grad)
    return _range_c(w, b, X, y, lo, hi, dw, grad, block)


def _block(X: np.ndarray) -> int:
    return int(min(4096, max(16, L2_BLOCK_BYTES // (X.shape[0] * X.itemsize))))


@numba.njit(**JIT)
def _serial(w, b, X, y, grad, fortran, block):
    n_x, m = X.shape
    dw = np.zeros(n_x)
    cost, dbs = _range(w, b, X, y, 0, m, dw, grad, fortran, block)
    return dw / m, dbs / m, cost / m


@numba.njit(**PJIT)
def _parallel(w, b, X, y, grad, fortran, block):
    n_x, m = X.shape
    chunks = min(n_chunks(n_x * m, 1 << 16), m)
    dws = np.zeros((chunks, n_x))
    costs = np.zeros(chunks)
    dbs = np.zeros(chunks)
    for c in numba.prange(chunks):
        lo, hi = chunk_bounds(m, chunks, c)
        costs[c], dbs[c] = _range(w, b, X, y, lo, hi, dws[c], grad, fortran, block)
    return dws.sum(axis=0) / m, dbs.sum() / m, costs.sum() / m


def _run(kernel, w, b, X, y, grad):
    dw, db, J = kernel(w, b, X, y, grad, is_fortran(X), _block(X))
    return dw.astype(X.dtype, copy=False), db, J


def cost(w, b, X, y):
    return _run(_serial, w, b, X, y, False)[2]


def cost_parallel(w, b, X, y):
    return _run(_parallel, w, b, X, y, False)[2]


def grad(w, b, X, y):
    return _run(_serial, w, b, X, y, True)


def grad_parallel(w, b, X, y):
    return _run(_parallel, w, b, X, y, True)


def step(w, b, X, y, lr):
    dw, db, J = grad(w, b, X, y)
    return w - lr * dw, b - lr * db, J


def step_parallel(w, b, X, y, lr):
    dw, db, J = grad_parallel(w, b, X, y)
    return w - lr * dw, b - lr * db, J
