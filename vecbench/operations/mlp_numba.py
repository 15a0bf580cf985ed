"""Numba kernels for :mod:`vecbench.operations.mlp`: the forward and manual backward pass as loops.

Each stage is a loop whose iterations write disjoint rows (examples for the
forward pass and ``dh``, hidden units for ``dW2``, inputs for ``dW1``), so
the parallel kernel runs the same row functions under ``prange`` with no
race and the same result whatever the thread count. Temporaries are float64
whatever the input dtype; the per-example losses are summed in order.
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import JIT, PJIT


@numba.njit(**JIT)
def _forward_row(n, x, y, W1, W2, pre, h, g, losses):
    D, H = W1.shape
    Do = W2.shape[1]
    for j in range(H):
        pre[n, j] = 0.0
    for d in range(D):
        xd = x[n, d]
        for j in range(H):
            pre[n, j] += xd * W1[d, j]
    for j in range(H):
        p = pre[n, j]
        h[n, j] = 0.0 if p <= 0.0 else p  # a NaN stays NaN, as np.maximum
    loss = 0.0
    for o in range(Do):
        yp = 0.0
        for j in range(H):
            yp += h[n, j] * W2[j, o]
        diff = yp - y[n, o]
        loss += diff * diff
        g[n, o] = 2.0 * diff
    losses[n] = loss


@numba.njit(**JIT)
def _dW2_row(j, h, g, W2, lr, W2_new):
    N, Do = g.shape
    for o in range(Do):
        s = 0.0
        for n in range(N):
            s += h[n, j] * g[n, o]
        W2_new[j, o] = W2[j, o] - lr * s


@numba.njit(**JIT)
def _dh_row(n, g, W2, pre, dh):
    H, Do = W2.shape
    for j in range(H):
        if pre[n, j] <= 0.0:  # relu'(0) = 0
            dh[n, j] = 0.0
        else:
            s = 0.0
            for o in range(Do):
                s += g[n, o] * W2[j, o]
            dh[n, j] = s


@numba.njit(**JIT)
def _dW1_row(d, x, dh, W1, lr, W1_new, acc):
    N, H = dh.shape
    for j in range(H):
        acc[j] = 0.0
    for n in range(N):
        xd = x[n, d]
        for j in range(H):
            acc[j] += xd * dh[n, j]
    for j in range(H):
        W1_new[d, j] = W1[d, j] - lr * acc[j]


@numba.njit(**JIT)
def _scratch(x, W1, W2):
    N, H, Do = x.shape[0], W1.shape[1], W2.shape[1]
    pre, h, dh = np.empty((N, H)), np.empty((N, H)), np.empty((N, H))
    return pre, h, dh, np.empty((N, Do)), np.empty(N), np.empty_like(W1), np.empty_like(W2)


@numba.njit(**JIT)
def mlp_step(x, y, W1, W2, lr):
    pre, h, dh, g, losses, W1_new, W2_new = _scratch(x, W1, W2)
    N, (D, H) = x.shape[0], W1.shape
    for n in range(N):
        _forward_row(n, x, y, W1, W2, pre, h, g, losses)
    for j in range(H):
        _dW2_row(j, h, g, W2, lr, W2_new)
    for n in range(N):
        _dh_row(n, g, W2, pre, dh)
    acc = np.empty(H)
    for d in range(D):
        _dW1_row(d, x, dh, W1, lr, W1_new, acc)
    return W1_new, W2_new, losses.sum()


@numba.njit(**PJIT)
def mlp_step_parallel(x, y, W1, W2, lr):
    pre, h, dh, g, losses, W1_new, W2_new = _scratch(x, W1, W2)
    N, (D, H) = x.shape[0], W1.shape
    for n in numba.prange(N):
        _forward_row(n, x, y, W1, W2, pre, h, g, losses)
    for j in numba.prange(H):
        _dW2_row(j, h, g, W2, lr, W2_new)
    for n in numba.prange(N):
        _dh_row(n, g, W2, pre, dh)
    for d in numba.prange(D):
        _dW1_row(d, x, dh, W1, lr, W1_new, np.empty(H))
    s = 0.0
    for n in range(N):  # in order: the same sum as the serial kernel
        s += losses[n]
    return W1_new, W2_new, s
