"""Hand-written CUDA kernels (Numba ``@cuda.jit``): the compiled loop, on the GPU (the ``numba_cuda`` backend).

The host functions at the bottom take device arrays (copied there, untimed,
by :class:`vecbench.backends.numba_cuda.NumbaCudaBackend`) and launch
kernels; they return device arrays, or a :class:`DeviceScalar` for a number,
without waiting: the backend's ``sync`` (``cuda.synchronize()``) ends every
timed call.

Reductions (``dot``, the row sums of ``matvec`` and of the gradient
``dw = X dz / m``, the means ``db`` and ``J``, the row statistics of
``standardize``) are tree reductions in shared memory: each thread first
accumulates a grid-stride slice of the terms, then the block's ``THREADS``
partial sums are halved ``log2(THREADS)`` times with a barrier per level;
one partial per block goes to global memory and a second, one-block launch
sums those. Warp shuffles would save the last five barriers, but Numba's CUDA
simulator (in which CI runs these kernels, ``NUMBA_ENABLE_CUDASIM=1``) has
no shuffles, and the barriers cost nothing next to the grid-stride loop of a
memory-bound kernel. No atomics: the sum order is fixed, so results repeat
bit for bit.

Accumulation is in float64 for float32 inputs too (as the CPU Numba kernels
do); data stay in the input dtype, so float32 halves the memory traffic.

NaN, inf and extreme values: the kernels compute the fast formulas in IEEE
arithmetic (no fast-math); the rule of each op is kept exactly as by the
other backends: a non-finite ``dot``/logistic result is recomputed by the
op's careful path on the host (its ``Call.post``, shared by every backend),
and ``col_percent``/``standardize`` count, per column or row, what the fast
path cannot do (one integer copied back inside the timed call); only when
that count is not zero (never on benchmark inputs) the input comes back to
the host and the NumPy kernel, whose careful path applies the rule,
computes the call.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import config, cuda, float64

from .broadcast import CONSTANT_RTOL, PERCENT_SAFE_MIN, STD_SAFE_MIN_VAR, col_percent_numpy, standardize_numpy

__all__ = ["DeviceScalar", "THREADS", "col_percent", "dot", "logreg_cost", "logreg_grad", "logreg_step", "matvec",
           "mlp_step", "sigmoid", "standardize", "train_epoch"]

# Threads per block: a power of two (the tree halves it). The simulator runs every thread as a Python
# thread, so it gets blocks of 32: the same code, five levels of the tree instead of eight.
_SIM = bool(getattr(config, "ENABLE_CUDASIM", 0))
THREADS = 32 if _SIM else 256
# Blocks at most; a grid-stride loop covers the rest: enough to fill any current GPU (4 in the simulator,
# so its small test sizes still run the grid-stride loops and the two-pass reductions).
MAX_BLOCKS = 4 if _SIM else 1024


class DeviceScalar:
    """A number still on the device (a one-element array); the backend copies it back, untimed."""

    def __init__(self, array: Any) -> None:
        self.array = array

    def to_host(self) -> float:
        return float(self.array.copy_to_host()[0])


def _blocks(n: int) -> int:
    return max(1, min(MAX_BLOCKS, (n + THREADS - 1) // THREADS))


# ---------------------------------------------------------------- device helpers
@cuda.jit(device=True)
def _block_sum(sh, tid, value):
    """Sum of ``value`` over the block's threads (every thread gets it): a shared-memory tree."""
    sh[tid] = value
    cuda.syncthreads()
    s = THREADS // 2
    while s > 0:
        if tid < s:
            sh[tid] += sh[tid + s]
        cuda.syncthreads()
        s //= 2
    total = sh[0]
    cuda.syncthreads()  # sh may be reused by the caller's next reduction
    return total


@cuda.jit(device=True)
def _sigmoid1(z):
    e = math.exp(-abs(z))
    return (1.0 if z >= 0 else e) / (1.0 + e)


@cuda.jit(device=True)
def _softplus1(z):
    # max(z, 0) + log1p(exp(-|z|)): never overflows; NaN stays NaN.
    return (z if z > 0 else 0.0) + math.log1p(math.exp(-abs(z)))


# ---------------------------------------------------------------- kernels
@cuda.jit
def _dot_partials(a, b, partial):
    sh = cuda.shared.array(THREADS, float64)
    tid = cuda.threadIdx.x
    acc = 0.0
    for i in range(cuda.grid(1), a.shape[0], cuda.gridsize(1)):
        acc += float64(a[i]) * float64(b[i])
    total = _block_sum(sh, tid, acc)
    if tid == 0:
        partial[cuda.blockIdx.x] = total


@cuda.jit
def _sum_scaled(x, divisor, out):
    """``out[0] = sum(x) / divisor`` in one block (the second pass of every reduction)."""
    sh = cuda.shared.array(THREADS, float64)
    tid = cuda.threadIdx.x
    acc = 0.0
    for i in range(tid, x.shape[0], THREADS):
        acc += x[i]
    total = _block_sum(sh, tid, acc)
    if tid == 0:
        out[0] = total / divisor


@cuda.jit
def _sum_partials(x, partial):
    sh = cuda.shared.array(THREADS, float64)
    tid = cuda.threadIdx.x
    acc = 0.0
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        acc += x[i]
    total = _block_sum(sh, tid, acc)
    if tid == 0:
        partial[cuda.blockIdx.x] = total


@cuda.jit
def _rows_dot(A, v, divisor, out):
    """``out[r] = (A[r] . v) / divisor``: one block per row (grid-stride over rows), coalesced reads."""
    sh = cuda.shared.array(THREADS, float64)
    tid = cuda.threadIdx.x
    for r in range(cuda.blockIdx.x, A.shape[0], cuda.gridDim.x):
        acc = 0.0
        for j in range(tid, A.shape[1], THREADS):
            acc += float64(A[r, j]) * float64(v[j])
        total = _block_sum(sh, tid, acc)
        if tid == 0:
            out[r] = total / divisor


@cuda.jit
def _sigmoid_kernel(z, out):
    for i in range(cuda.grid(1), z.shape[0], cuda.gridsize(1)):
        out[i] = _sigmoid1(z[i])


@cuda.jit
def _forward(w, b, X, y, dz, loss):
    """Per example ``j`` (one thread, coalesced over ``j``): ``z = w . x_j + b``, ``dz = a - y``, the loss term."""
    for j in range(cuda.grid(1), X.shape[1], cuda.gridsize(1)):
        z = b
        for i in range(X.shape[0]):
            z += float64(w[i]) * float64(X[i, j])
        yj = float64(y[j])
        dz[j] = _sigmoid1(z) - yj
        loss[j] = _softplus1(z) - yj * z


@cuda.jit
def _step_kernel(w, dw, lr, b, db, w_new, b_new):
    for i in range(cuda.grid(1), w.shape[0], cuda.gridsize(1)):
        w_new[i] = w[i] - lr * dw[i]
    if cuda.grid(1) == 0:
        b_new[0] = b - lr * db[0]


@cuda.jit
def _col_sums(A, s, bad_count):
    """Column sums (one thread per column: coalesced over columns) and the count of columns needing care."""
    for j in range(cuda.grid(1), A.shape[1], cuda.gridsize(1)):
        acc = 0.0
        for i in range(A.shape[0]):
            acc += float64(A[i, j])
        s[j] = acc
        if not (math.isfinite(acc) and (acc == 0.0 or abs(acc) >= PERCENT_SAFE_MIN)):
            cuda.atomic.add(bad_count, 0, 1)


@cuda.jit
def _percent(A, s, out):
    # The NumPy kernel's A / s * 100, in A's dtype (100 * A would overflow for |A| > 1.8e306).
    for k in range(cuda.grid(1), A.size, cuda.gridsize(1)):
        i, j = k // A.shape[1], k % A.shape[1]
        out[i, j] = A[i, j] / s[j] * 100.0


@cuda.jit
def _standardize_rows(X, out, bad_count):
    """One block per row: float64 mean and variance (two tree reductions), then the row of ``(x - mu) / sigma``."""
    sh = cuda.shared.array(THREADS, float64)
    tid = cuda.threadIdx.x
    m = X.shape[1]
    for r in range(cuda.blockIdx.x, X.shape[0], cuda.gridDim.x):
        acc = 0.0
        for j in range(tid, m, THREADS):
            acc += float64(X[r, j])
        mu = _block_sum(sh, tid, acc) / m
        acc = 0.0
        for j in range(tid, m, THREADS):
            d = float64(X[r, j]) - mu
            acc += d * d
        var = _block_sum(sh, tid, acc) / m
        sigma = math.sqrt(var)
        const = sigma <= CONSTANT_RTOL * abs(mu)
        for j in range(tid, m, THREADS):
            out[r, j] = 0.0 if const else (X[r, j] - mu) / sigma
        if tid == 0 and not (math.isfinite(var) and var >= STD_SAFE_MIN_VAR):
            cuda.atomic.add(bad_count, 0, 1)


# ---------------------------------------------------------------- host side: launches
def _reduce_partials(partial: Any, divisor: float) -> DeviceScalar:
    out = cuda.device_array(1, dtype=np.float64)
    _sum_scaled[1, THREADS](partial, divisor, out)
    return DeviceScalar(out)


def dot(a, b):
    blocks = _blocks(a.shape[0])
    partial = cuda.device_array(blocks, dtype=np.float64)
    _dot_partials[blocks, THREADS](a, b, partial)
    return _reduce_partials(partial, 1.0)


def matvec(A, v):
    out = cuda.device_array(A.shape[0], dtype=A.dtype)
    _rows_dot[max(1, min(A.shape[0], 65535)), THREADS](A, v, 1.0, out)
    return out


def sigmoid(z):
    out = cuda.device_array_like(z)
    _sigmoid_kernel[_blocks(z.shape[0]), THREADS](z, out)
    return out


def _mean(x: Any) -> DeviceScalar:
    blocks = _blocks(x.shape[0])
    partial = cuda.device_array(blocks, dtype=np.float64)
    _sum_partials[blocks, THREADS](x, partial)
    return _reduce_partials(partial, float(x.shape[0]))


def _forward_pass(w, b, X, y):
    m = X.shape[1]
    dz = cuda.device_array(m, dtype=np.float64)
    loss = cuda.device_array(m, dtype=np.float64)
    _forward[_blocks(m), THREADS](w, float(b), X, y, dz, loss)
    return dz, loss


def logreg_cost(w, b, X, y):
    _, loss = _forward_pass(w, b, X, y)
    return _mean(loss)


def _grad(w, b, X, y):
    dz, loss = _forward_pass(w, b, X, y)
    dw = cuda.device_array(X.shape[0], dtype=X.dtype)
    # dw = X dz / m: the sum first, then one division (the rule's X dz / m, never X (dz / m)).
    _rows_dot[max(1, min(X.shape[0], 65535)), THREADS](X, dz, float(X.shape[1]), dw)
    return dw, _mean(dz), _mean(loss)


def logreg_grad(w, b, X, y):
    return _grad(w, b, X, y)


def logreg_step(w, b, X, y, lr):
    dw, db, J = _grad(w, b, X, y)
    w_new = cuda.device_array_like(w)
    b_new = cuda.device_array(1, dtype=np.float64)
    _step_kernel[_blocks(w.shape[0]), THREADS](w, dw, float(lr), float(b), db.array, w_new, b_new)
    return w_new, DeviceScalar(b_new), J


def _bad(count: Any) -> bool:
    """Whether any column or row needs the careful path (one int back from the device, inside the call)."""
    return bool(count.copy_to_host()[0])


def col_percent(A):
    s = cuda.device_array(A.shape[1], dtype=np.float64)
    count = cuda.to_device(np.zeros(1, dtype=np.int32))
    _col_sums[_blocks(A.shape[1]), THREADS](A, s, count)
    out = cuda.device_array_like(A)
    _percent[_blocks(A.size), THREADS](A, s, out)
    if _bad(count):  # NaN/inf, an overflowing or tiny sum: the NumPy kernel, which applies the careful rule
        host = A.copy_to_host()
        out = cuda.to_device(col_percent_numpy(host, np.empty_like(host)))
    return out


def standardize(X):
    out = cuda.device_array_like(X)
    count = cuda.to_device(np.zeros(1, dtype=np.int32))
    _standardize_rows[max(1, min(X.shape[0], 65535)), THREADS](X, out, count)
    if _bad(count):  # overflowing or underflowing variance, NaN/inf: the NumPy kernel, which applies the careful rule
        host = X.copy_to_host()
        out = cuda.to_device(standardize_numpy(host, np.empty_like(host)))
    return out



# ---------------------------------------------------------------- train_epoch: the slide's loop, launched from the host
@cuda.jit
def _set_scalar(out, value):
    out[0] = value


@cuda.jit
def _forward_batch(w, b, X, y, perm, start, count, dz, loss):
    """As :func:`_forward`, for the batch ``perm[start:start + count]`` (the gather is part of every step)."""
    for t in range(cuda.grid(1), count, cuda.gridsize(1)):
        j = perm[start + t]
        z = b[0]
        for i in range(X.shape[0]):
            z += float64(w[i]) * float64(X[i, j])
        yj = float64(y[j])
        dz[t] = _sigmoid1(z) - yj
        loss[t] = _softplus1(z) - yj * z


@cuda.jit
def _rows_dot_batch(X, dz, perm, start, count, out):
    """``out[r] = sum_t X[r, perm[start + t]] dz[t] / count``: one block per row, tree-reduced."""
    sh = cuda.shared.array(THREADS, float64)
    tid = cuda.threadIdx.x
    for r in range(cuda.blockIdx.x, X.shape[0], cuda.gridDim.x):
        acc = 0.0
        for t in range(tid, count, THREADS):
            acc += float64(X[r, perm[start + t]]) * dz[t]
        total = _block_sum(sh, tid, acc)
        if tid == 0:
            out[r] = total / count


@cuda.jit
def _update(w, dw, lr, b, dz_partial, loss_partial, count, costs, k):
    """One block: ``db``, ``J`` from the per-block partial sums, then ``w -= lr dw``, ``b -= lr db``, ``costs[k] = J``."""
    sh = cuda.shared.array(THREADS, float64)
    tid = cuda.threadIdx.x
    acc = 0.0
    for i in range(tid, dz_partial.shape[0], THREADS):
        acc += dz_partial[i]
    db = _block_sum(sh, tid, acc) / count
    acc = 0.0
    for i in range(tid, loss_partial.shape[0], THREADS):
        acc += loss_partial[i]
    J = _block_sum(sh, tid, acc) / count
    for i in range(tid, w.shape[0], THREADS):
        w[i] = w[i] - lr * dw[i]  # the mean first, then lr: lr * sum could overflow
    if tid == 0:
        b[0] = b[0] - lr * db
        costs[k] = J


def _device_copy(a: Any) -> Any:
    out = cuda.device_array_like(a)
    out.copy_to_device(a)
    return out


def train_epoch(w, b, X, y, lr, batch, perm):
    """One epoch of mini-batch gradient descent: five launches per step, no copy back until the end."""
    n_x, m = X.shape
    w = _device_copy(w)  # never write into an input
    b_dev = cuda.device_array(1, dtype=np.float64)
    _set_scalar[1, 1](b_dev, float(b))
    steps = (m + batch - 1) // batch
    costs = cuda.device_array(steps, dtype=np.float64)
    dz = cuda.device_array(batch, dtype=np.float64)
    loss = cuda.device_array(batch, dtype=np.float64)
    dw = cuda.device_array(n_x, dtype=np.float64)
    dz_partial = cuda.device_array(_blocks(batch), dtype=np.float64)
    loss_partial = cuda.device_array(_blocks(batch), dtype=np.float64)
    rows = max(1, min(n_x, 65535))
    for k, start in enumerate(range(0, m, batch)):
        count = min(batch, m - start)
        blocks = _blocks(count)
        _forward_batch[blocks, THREADS](w, b_dev, X, y, perm, start, count, dz, loss)
        _rows_dot_batch[rows, THREADS](X, dz, perm, start, count, dw)
        _sum_partials[blocks, THREADS](dz[:count], dz_partial)
        _sum_partials[blocks, THREADS](loss[:count], loss_partial)
        _update[1, THREADS](w, dw, float(lr), b_dev, dz_partial[:blocks], loss_partial[:blocks], count, costs, k)
    return w, DeviceScalar(b_dev), costs


# ---------------------------------------------------------------- mlp_step: the slides' two-layer net, by hand
@cuda.jit(device=True)
def _relu(p):
    return 0.0 if p <= 0 else p  # NaN stays NaN, as np.maximum(pre, 0) keeps it


@cuda.jit
def _matmul(A, B, out):
    """``out = A @ B`` (float64 sums): one thread per output element, adjacent threads on adjacent columns."""
    cols = out.shape[1]
    for e in range(cuda.grid(1), out.shape[0] * cols, cuda.gridsize(1)):
        r, c = e // cols, e % cols
        acc = 0.0
        for k in range(A.shape[1]):
            acc += float64(A[r, k]) * float64(B[k, c])
        out[r, c] = acc


@cuda.jit
def _output_diff(pre, W2, y, diff):
    """``diff = relu(pre) @ W2 - y``."""
    cols = diff.shape[1]
    for e in range(cuda.grid(1), diff.shape[0] * cols, cuda.gridsize(1)):
        n, o = e // cols, e % cols
        acc = 0.0
        for j in range(pre.shape[1]):
            acc += _relu(pre[n, j]) * float64(W2[j, o])
        diff[n, o] = acc - float64(y[n, o])


@cuda.jit
def _new_w2(pre, diff, W2, lr, out):
    """``W2 - lr dW2`` with ``dW2 = relu(pre)^T (2 diff)``."""
    cols = W2.shape[1]
    for e in range(cuda.grid(1), W2.shape[0] * cols, cuda.gridsize(1)):
        j, o = e // cols, e % cols
        acc = 0.0
        for n in range(pre.shape[0]):
            acc += _relu(pre[n, j]) * (2.0 * diff[n, o])
        out[j, o] = W2[j, o] - lr * acc


@cuda.jit
def _hidden_grad(pre, diff, W2, dh):
    """``dh = (2 diff) W2^T``, zero where ``pre <= 0`` (relu' = 0 there, and at 0)."""
    cols = dh.shape[1]
    for e in range(cuda.grid(1), dh.shape[0] * cols, cuda.gridsize(1)):
        n, j = e // cols, e % cols
        if pre[n, j] <= 0:
            dh[n, j] = 0.0
        else:
            acc = 0.0
            for o in range(diff.shape[1]):
                acc += 2.0 * diff[n, o] * float64(W2[j, o])
            dh[n, j] = acc


@cuda.jit
def _new_w1(x, dh, W1, lr, out):
    """``W1 - lr dW1`` with ``dW1 = x^T dh``."""
    cols = W1.shape[1]
    for e in range(cuda.grid(1), W1.shape[0] * cols, cuda.gridsize(1)):
        d, j = e // cols, e % cols
        acc = 0.0
        for n in range(x.shape[0]):
            acc += float64(x[n, d]) * dh[n, j]
        out[d, j] = W1[d, j] - lr * acc


def mlp_step(x, y, W1, W2, lr):
    """Forward, loss and the hand-derived backward pass (as the NumPy kernel), one kernel per product."""
    N, H = x.shape[0], W1.shape[1]
    pre = cuda.device_array((N, H), dtype=np.float64)
    _matmul[_blocks(N * H), THREADS](x, W1, pre)
    diff = cuda.device_array(y.shape, dtype=np.float64)
    _output_diff[_blocks(diff.size), THREADS](pre, W2, y, diff)
    flat = diff.reshape(diff.size)
    blocks = _blocks(diff.size)
    partial = cuda.device_array(blocks, dtype=np.float64)
    _dot_partials[blocks, THREADS](flat, flat, partial)
    loss = _reduce_partials(partial, 1.0)
    W2_new = cuda.device_array_like(W2)
    _new_w2[_blocks(W2.size), THREADS](pre, diff, W2, float(lr), W2_new)
    dh = cuda.device_array((N, H), dtype=np.float64)
    _hidden_grad[_blocks(N * H), THREADS](pre, diff, W2, dh)
    W1_new = cuda.device_array_like(W1)
    _new_w1[_blocks(W1.size), THREADS](x, dh, W1, float(lr), W1_new)
    return W1_new, W2_new, loss
