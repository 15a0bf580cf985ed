"""Numba kernels for :mod:`vecbench.operations.train`: the whole epoch is compiled.

The batch loop, the gather of each batch's examples (read in place through
``perm``, never copied) and the update all run in compiled code, so a step of
batch size 1 costs a few dozen nanoseconds instead of NumPy's microseconds of
per-call overhead. ``w`` is carried in float64 whatever the input dtype.
At batch size 1 (SGD) a loop of its own updates ``w`` straight from the
example, with the same result bit for bit (:func:`_epoch_sgd`).
:func:`dataset_cost` is the whole-set cost that :func:`vecbench.train`
records after each epoch.

The parallel kernel splits each batch's examples into chunks with their own
partial gradient (race-free, reduced in a fixed order); for batches below
``PARALLEL_MIN_BATCH`` waking the threads every step costs more than it saves,
and it runs the serial epoch.
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import JIT, SAFE_JIT, chunk_bounds, n_chunks, workers
from .logreg_numba import _loss_and_dz, loss_and_dz_block

PARALLEL_MIN_BATCH = 2048
SIMD_MIN_BATCH = 4  # below this the per-example path beats the three-pass batch path


@numba.njit(**JIT)
def _accumulate_scalar(w, b, X, y, perm, lo, hi, dw):
    """One example at a time (libm exp/log1p): cheapest for tiny batches such as SGD's.

    The loop mirrors ``logreg_numba._range_f`` through ``perm``; sharing one
    per-example helper between the two made SGD epochs ~40% slower (measured),
    so the few lines stay written out here.
    """
    n_x = X.shape[0]
    J = 0.0
    db = 0.0
    for t in range(lo, hi):
        j = perm[t]
        z = b
        for i in range(n_x):
            z += w[i] * X[i, j]
        loss, dz = _loss_and_dz(z, y[j])
        J += loss
        db += dz
        for i in range(n_x):
            dw[i] += X[i, j] * dz
    return J, db


@numba.njit(**JIT)
def _accumulate_simd(w, b, X, y, perm, lo, hi, dw, S, bits):
    """Add the gradient sums of examples ``perm[lo:hi]`` to ``dw``; return (cost sum, db sum).

    Three passes over the batch: ``z`` per example, then the cost terms and
    ``dz`` for the whole batch at once (SIMD ``exp``/``log1p`` from
    :mod:`._vmath`, shared with the logistic-regression kernels), then ``dw``.
    ``S`` (4 x batch: z, labels, two temporaries) and ``bits`` are scratch.
    """
    n_x = X.shape[0]
    nb = hi - lo
    z, yb = S[0, :nb], S[3, :nb]
    for k in range(nb):
        j = perm[lo + k]
        acc = b
        for i in range(n_x):
            acc += w[i] * X[i, j]
        z[k] = acc
        yb[k] = y[j]
    J, db = loss_and_dz_block(z, yb, S[1, :nb], S[2, :nb], bits[:nb])  # z now holds dz
    for k in range(nb):
        j = perm[lo + k]
        dz = z[k]
        for i in range(n_x):
            dw[i] += X[i, j] * dz
    return J, db


COST_BLOCK = 1024  # examples per block of the whole-set cost: z, labels and scratch stay in L1/L2


@numba.njit(**JIT)
def dataset_cost(w, b, X, y):
    """Mean cost ``mean(softplus(z) - y z)``, ``z = w^T X + b``, over all examples of example-major ``X``.

    What :func:`vecbench.train` records after each epoch (its ``history``):
    the same per-example arithmetic as the epoch (``loss_and_dz_block``, SIMD
    ``exp``/``log1p``), block by block, each example read as one contiguous
    column. NumPy's ``logreg_cost`` on Fortran-ordered ``X`` spends several
    times longer (``np.logaddexp`` is scalar libm, plus temporaries).
    """
    n_x, m = X.shape
    nb_max = min(COST_BLOCK, m)
    S = np.empty((3, nb_max))
    bits = np.empty(nb_max, dtype=np.int64)
    J = 0.0
    for start in range(0, m, COST_BLOCK):
        nb = min(COST_BLOCK, m - start)
        z = S[0, :nb]
        for k in range(nb):
            j = start + k
            acc = b
            for i in range(n_x):
                acc += w[i] * X[i, j]
            z[k] = acc
        Jb, _ = loss_and_dz_block(z, y[start:start + nb], S[1, :nb], S[2, :nb], bits[:nb])
        J += Jb
    return J / m


# The epoch loops themselves are compiled without ``reassoc``: it would let
# LLVM turn ``lr * (dw / nb)`` back into ``lr * dw / nb``, which overflows
# for a huge lr where the other backends do not. Their hot loops (the
# _accumulate_* helpers) keep their own fastmath flags.
@numba.njit(**SAFE_JIT)
def _epoch(w0, b, X, y, lr, batch, perm):
    n_x, m = X.shape
    w = w0.astype(np.float64)
    dw = np.empty(n_x)
    S = np.empty((4, batch))
    bits = np.empty(batch, dtype=np.int64)
    costs = np.empty((m + batch - 1) // batch)
    k = 0
    for start in range(0, m, batch):
        nb = min(batch, m - start)
        dw[:] = 0.0
        if nb < SIMD_MIN_BATCH:
            J, db = _accumulate_scalar(w, b, X, y, perm, start, start + nb, dw)
        else:
            J, db = _accumulate_simd(w, b, X, y, perm, start, start + nb, dw, S, bits)
        for i in range(n_x):
            w[i] -= lr * (dw[i] / nb)  # the mean first: lr * sum could overflow
        b -= lr * (db / nb)
        costs[k] = J / nb
        k += 1
    return w, b, costs


@numba.njit(**JIT)
def _example(w, b, X, y, j):
    """Cost term and ``dz`` of example ``j`` (the dot as in :func:`_accumulate_scalar`, bit for bit)."""
    n_x = X.shape[0]
    z = b
    for i in range(n_x):
        z += w[i] * X[i, j]
    return _loss_and_dz(z, y[j])


@numba.njit(**SAFE_JIT)
def _epoch_sgd(w0, b, X, y, lr, perm):
    """:func:`_epoch` at batch size 1, the same result bit for bit, ~25% faster (measured, n_x = 30).

    With one example the mean of a step's gradient is the gradient itself
    (``x / 1 == x`` exactly), so the update skips the ``dw`` buffer and the
    ``n_x`` divisions by ``nb`` that sat on the dependency chain from one
    step's ``w`` to the next step's ``z``.
    """
    n_x, m = X.shape
    w = w0.astype(np.float64)
    costs = np.empty(m)
    for t in range(m):
        j = perm[t]
        loss, dz = _example(w, b, X, y, j)
        for i in range(n_x):
            w[i] -= lr * (X[i, j] * dz)
        b -= lr * dz
        costs[t] = loss
    return w, b, costs


@numba.njit(**dict(SAFE_JIT, parallel=True))
def _epoch_parallel(w0, b, X, y, lr, batch, perm, nworkers):
    n_x, m = X.shape
    w = w0.astype(np.float64)
    costs = np.empty((m + batch - 1) // batch)
    chunks = min(n_chunks(batch * n_x, 1 << 14), batch)
    dws = np.empty((chunks, n_x))
    Js = np.empty(chunks)
    dbs = np.empty(chunks)
    k = 0
    for start in range(0, m, batch):
        nb = min(batch, m - start)
        dws[:, :] = 0.0
        for c in numba.prange(chunks):
            lo, hi = chunk_bounds(nb, chunks, c)
            S = np.empty((4, hi - lo))  # per chunk: at most a few allocations per step
            bits = np.empty(hi - lo, dtype=np.int64)
            Js[c], dbs[c] = _accumulate_simd(w, b, X, y, perm, start + lo, start + hi, dws[c], S, bits)
        dw = dws.sum(axis=0)
        for i in range(n_x):
            w[i] -= lr * (dw[i] / nb)  # the mean first: lr * sum could overflow
        b -= lr * (dbs.sum() / nb)
        costs[k] = Js.sum() / nb
        k += 1
    return w, b, costs


def _finish(w, b, costs, X):
    with np.errstate(over="ignore"):  # beyond float32's range: inf, silently, as in compiled code
        return w.astype(X.dtype, copy=False), b, costs


def train_epoch(w, b, X, y, lr, batch, perm):
    if batch == 1:
        return _finish(*_epoch_sgd(w, b, X, y, lr, perm), X)
    return _finish(*_epoch(w, b, X, y, lr, batch, perm), X)


def train_epoch_parallel(w, b, X, y, lr, batch, perm):
    if batch < PARALLEL_MIN_BATCH:
        return train_epoch(w, b, X, y, lr, batch, perm)
    return _finish(*_epoch_parallel(w, b, X, y, lr, batch, perm, workers()), X)
