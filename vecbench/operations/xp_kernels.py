"""The NumPy formulas of every op, written once for any NumPy-like array module (the ``cupy`` backend).

Each kernel takes its array module from its first array argument
(:func:`namespace`): ``cupy`` for CuPy arrays, where every line below runs
on the GPU, or ``numpy`` for NumPy arrays, which is how the tests check these
exact lines on a machine without a GPU. They are the NumPy kernels' formulas
(``A / s * 100``, ``X @ dz / m``, the overflow-free sigmoid and softplus);
the NumPy backend keeps its own, tuned to NumPy (``np.vdot``, ``out=``,
``np.errstate``), which other array modules do not have.

NaN, inf and extreme values: the formulas are IEEE, and each op's rule is
kept as in the other backends: a non-finite ``dot``/logistic/MLP result is
recomputed on the host by the op's careful path (its ``Call.post``), and
``col_percent``/``standardize`` flag the columns or rows the fast path
cannot do; only when one is flagged (never on benchmark inputs) the input
comes back to the host and the NumPy kernel, which applies the careful
rule, computes the call. That check is one boolean copied back inside the
timed call: the price of the rule on a device.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np

from .broadcast import CONSTANT_RTOL, PERCENT_SAFE_MIN, STD_SAFE_MIN_VAR, col_percent_numpy, standardize_numpy

__all__ = ["col_percent", "dot", "logreg_cost", "logreg_grad", "logreg_step", "matvec", "mlp_step", "namespace",
           "sigmoid", "standardize", "train_epoch"]


def namespace(a: Any) -> Any:
    """The array module of ``a`` (``numpy``, ``cupy``...): the top-level package that defines its type."""
    top = type(a).__module__.partition(".")[0]
    return np if top == "numpy" else importlib.import_module(top)


def _host(a: Any) -> np.ndarray:
    """``a`` as a NumPy array (a copy back from the device for CuPy)."""
    return a if isinstance(a, np.ndarray) else a.get()


# ---------------------------------------------------------------- vector ops
def dot(a, b):
    return namespace(a).dot(a, b)


def matvec(A, v):
    return A @ v


def col_percent(A):
    xp = namespace(A)
    s = A.sum(axis=0)
    P = A / s * 100
    bad = ~(xp.isfinite(s) & ((s == 0) | (xp.abs(s) >= PERCENT_SAFE_MIN)))
    if bool(bad.any()):  # NaN/inf or a sum too small for 100 / s: the NumPy kernel's careful rule
        host = _host(A)
        P = xp.asarray(col_percent_numpy(host, np.empty_like(host)))
    return P


def standardize(X):
    # As the NumPy kernel: statistics accumulated in float64, the row kept in X's dtype.
    xp = namespace(X)
    mu = X.mean(axis=1, keepdims=True, dtype=xp.float64)
    d = (X - mu).astype(X.dtype)
    var = xp.mean(xp.square(d.astype(xp.float64)), axis=1, keepdims=True)
    sigma = xp.sqrt(var)
    const = sigma <= CONSTANT_RTOL * xp.abs(mu)
    Z = xp.where(const, 0.0, d / xp.where(const, 1.0, sigma)).astype(X.dtype)
    bad = ~(xp.isfinite(var[:, 0]) & (var[:, 0] >= STD_SAFE_MIN_VAR))
    if bool(bad.any()):  # the variance overflowed or underflowed: the NumPy kernel's careful rule
        host = _host(X)
        Z = xp.asarray(standardize_numpy(host, np.empty_like(host)))
    return Z


def _sigmoid(xp: Any, z: Any) -> Any:
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1.0, e) / (1.0 + e)


def sigmoid(z):
    return _sigmoid(namespace(z), z)


# ---------------------------------------------------------------- logistic regression
def _forward(xp: Any, w, b, X, y):
    z = w @ X + b
    return z, xp.mean(xp.logaddexp(0.0, z) - y * z)


def logreg_cost(w, b, X, y):
    return _forward(namespace(X), w, b, X, y)[1]


def logreg_grad(w, b, X, y):
    xp = namespace(X)
    z, J = _forward(xp, w, b, X, y)
    dz = _sigmoid(xp, z) - y
    return X @ dz / X.shape[1], dz.mean(), J


def logreg_step(w, b, X, y, lr):
    dw, db, J = logreg_grad(w, b, X, y)
    return w - lr * dw, b - lr * db, J


def train_epoch(w, b, X, y, lr, batch, perm):
    """The slide's mini-batch loop: every step gathers its batch and launches its kernels from Python."""
    xp = namespace(X)
    m = X.shape[1]
    w = w.copy()
    costs = xp.empty(math.ceil(m / batch))
    for k, start in enumerate(range(0, m, batch)):
        idx = perm[start:start + batch]
        Xb, yb = X[:, idx], y[idx]
        z = w @ Xb + b
        costs[k] = xp.mean(xp.logaddexp(0.0, z) - yb * z)
        dz = _sigmoid(xp, z) - yb
        w -= lr * ((Xb @ dz) / idx.shape[0])  # the mean first: lr * sum could overflow
        b = b - lr * dz.mean()  # stays on the device: no copy back per step
    return w, b, costs


# ---------------------------------------------------------------- the slides' two-layer network
def mlp_step(x, y, W1, W2, lr):
    """The forward pass, then the backward pass written out (no autodiff), as the NumPy kernel."""
    xp = namespace(x)
    pre = x @ W1
    h = xp.maximum(pre, 0)
    diff = h @ W2 - y
    loss = xp.sum(diff * diff)
    g = 2 * diff
    dW2 = h.T @ g
    dh = g @ W2.T
    dh[pre <= 0] = 0  # pre <= 0 (not "not pre > 0"): a NaN stays NaN, as in the frameworks' relu
    dW1 = x.T @ dh
    return W1 - lr * dW1, W2 - lr * dW2, loss
