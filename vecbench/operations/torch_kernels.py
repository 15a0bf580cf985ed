"""Eager PyTorch kernels of every op (the ``torch`` and ``torch_autodiff`` backends).

Each line dispatches one operation at once: the dynamic graph. The formulas
are the NumPy kernels' own, so NaN and inf propagate as in NumPy. Inputs
share memory with the caller's arrays (see :mod:`vecbench.backends.torch`),
so no kernel writes into an input. The kernels run on the device their
inputs are on: ``torch_cuda`` (:mod:`vecbench.backends.torch_cuda`) calls
them with tensors on the GPU.

``train_epoch`` runs the slide's loop: every step dispatches its operations
from Python again. The ``*_autodiff`` kernels record the cost's graph and
call ``backward()`` on it instead of using ``dz = a - y``; ``mlp_step`` is
the slide's autograd step.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .broadcast import CONSTANT_RTOL, PERCENT_SAFE_MIN, STD_SAFE_MIN_VAR, col_percent_numpy, standardize_numpy


# ---------------------------------------------------------------- vector ops
def dot(a, b):
    return torch.dot(a, b)


def matvec(A, v):
    return torch.mv(A, v)


def col_percent_fast(A):
    """The NumPy kernel's fast path, ``A / s * 100``, and one flag per column it cannot do.

    (``100 * A`` overflows for ``|A| > 1.8e306``.) A flagged column has a sum that is not finite, or too
    small for ``100 / s``; :func:`col_percent_fix` recomputes those. Pure tensor code, so
    ``torch.compile`` can take it whole (:mod:`vecbench.operations.torch_compile_kernels`).
    """
    s = A.sum(dim=0)
    return A / s * 100, ~(torch.isfinite(s) & ((s == 0) | (s.abs() >= PERCENT_SAFE_MIN)))


def col_percent_fix(A, P, bad):
    """``P`` with the flagged columns recomputed by the NumPy kernel's careful rule (on a view of ``A``)."""
    if bad.any():  # one flag per column; on a GPU (torch_cuda) this flag is the one value copied back inside the call
        cols = bad.cpu().numpy()
        sub = A.cpu().numpy()[:, cols]
        P[:, bad] = torch.from_numpy(col_percent_numpy(sub, np.empty_like(sub))).to(P.device)
    return P


def col_percent(A):
    P, bad = col_percent_fast(A)
    return col_percent_fix(A, P, bad)


def standardize_fast(X):
    """The standardized rows and one flag per row whose variance overflowed or underflowed.

    As the NumPy kernel: statistics accumulated in float64, the row kept in X's dtype;
    :func:`standardize_fix` recomputes the flagged rows (scaled by their max ``|x|``).
    """
    mu = X.mean(dim=1, keepdim=True, dtype=torch.float64)
    d = (X - mu).to(X.dtype)
    var = torch.mean(torch.square(d.to(torch.float64)), dim=1, keepdim=True)
    sigma = torch.sqrt(var)
    const = sigma <= CONSTANT_RTOL * mu.abs()
    Z = torch.where(const, 0.0, d / torch.where(const, 1.0, sigma)).to(X.dtype)
    return Z, ~(torch.isfinite(var[:, 0]) & (var[:, 0] >= STD_SAFE_MIN_VAR))


def standardize_fix(X, Z, bad):
    """``Z`` with the flagged rows recomputed by the NumPy kernel."""
    if bad.any():
        rows = bad.cpu().numpy()
        sub = X.cpu().numpy()[rows]
        Z[bad] = torch.from_numpy(standardize_numpy(sub, np.empty_like(sub))).to(Z.device)
    return Z


def standardize(X):
    Z, bad = standardize_fast(X)
    return standardize_fix(X, Z, bad)


def _sigmoid(z):
    e = torch.exp(-z.abs())
    return torch.where(z >= 0, 1.0, e) / (1.0 + e)


def sigmoid(z):
    return _sigmoid(z)


# ---------------------------------------------------------------- logistic regression
def _softplus(z):
    # log(1 + e^z) without overflow; logaddexp's gradient is sigmoid(z), also at z = 0.
    return torch.logaddexp(z, z.new_zeros(()))


def _cost(w, b, X, y):
    z = w @ X + b
    return torch.mean(_softplus(z) - y * z)


def logreg_cost(w, b, X, y):
    return _cost(w, b, X, y)


def _grad_hand(w, b, X, y):
    """The lecture's derivation: dz = a - y, dw = X dz / m, db = mean(dz)."""
    z = w @ X + b
    J = torch.mean(_softplus(z) - y * z)
    dz = _sigmoid(z) - y
    return X @ dz / X.shape[1], dz.mean(), J


def _grad_auto(w, b, X, y):
    """``loss.backward()`` on the cost alone; the graph is recorded during this call."""
    w = w.detach().requires_grad_(True)  # a fresh leaf: no gradient accumulates across calls
    b = torch.as_tensor(b, dtype=X.dtype, device=X.device).detach().requires_grad_(True)
    # The summed cost, divided by m after the backward pass: the rule's X dz / m (the mean's gradient
    # would scale dz by 1 / m first, which overflows differently).
    m = X.shape[1]
    z = w @ X + b
    S = torch.sum(_softplus(z) - y * z)
    S.backward()
    return w.grad / m, b.grad / m, S.detach() / m


def logreg_grad(w, b, X, y):
    return _grad_hand(w, b, X, y)


def logreg_grad_autodiff(w, b, X, y):
    return _grad_auto(w, b, X, y)


def _step(grad, w, b, X, y, lr):
    dw, db, J = grad(w, b, X, y)
    return w - lr * dw, b - lr * db, J


def logreg_step(w, b, X, y, lr):
    return _step(_grad_hand, w, b, X, y, lr)


def logreg_step_autodiff(w, b, X, y, lr):
    return _step(_grad_auto, w, b, X, y, lr)


# ---------------------------------------------------------------- the slide's loop
def _epoch(grad, w, b, X, y, lr, batch, perm):
    m = X.shape[1]
    costs = torch.empty(math.ceil(m / batch), dtype=torch.float64, device=X.device)
    w = w.detach()
    b = torch.tensor(b, dtype=X.dtype, device=X.device)
    for k, start in enumerate(range(0, m, batch)):
        idx = perm[start:start + batch]
        dw, db, J = grad(w, b, X[:, idx], y[idx])  # the gather is part of every step
        with torch.no_grad():
            w = w - lr * dw
            b = b - lr * db
        costs[k] = J
    return w, b, costs


def train_epoch(w, b, X, y, lr, batch, perm):
    return _epoch(_grad_hand, w, b, X, y, lr, batch, perm)


def train_epoch_autodiff(w, b, X, y, lr, batch, perm):
    return _epoch(_grad_auto, w, b, X, y, lr, batch, perm)


# ---------------------------------------------------------------- the slides' two-layer network
def mlp_step(x, y, W1, W2, lr):
    W1 = W1.detach().requires_grad_(True)
    W2 = W2.detach().requires_grad_(True)
    y_pred = torch.relu(x @ W1) @ W2  # the slide's x.mm(w1).clamp(min=0).mm(w2), relu'(0) = 0
    loss = torch.sum(torch.square(y_pred - y))
    loss.backward()
    with torch.no_grad():
        return W1 - lr * W1.grad, W2 - lr * W2.grad, loss.detach()
