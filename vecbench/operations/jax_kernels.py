"""JAX kernels of every op (the ``jax`` and ``jax_autodiff`` backends), one ``jax.jit`` each.

Each public function enters ``jax.enable_x64(True)`` (float64 stays float64,
see :mod:`vecbench.backends.jax`) and calls its jitted graph; JAX traces and
XLA compiles that graph on the first call for each shape and dtype. The
formulas are the NumPy kernels' own, so NaN and inf propagate as in NumPy.

NaN, inf and extreme values follow each op's rule (see docs/semantics.md), as
in every backend: ``col_percent`` and ``standardize`` return, besides the
fast result, one flag per column or row that the fast path cannot do, and
only those are recomputed by the NumPy kernel's careful path. XLA on CPU
flushes subnormal numbers to zero, so calls whose inputs hold one are
computed by the op's ``numpy`` kernel (see :func:`_numpy_fallback`).

``train_epoch`` is one compiled program for the whole epoch: ``lax.scan``
over the full batches, then one step on the smaller last batch, if any, so
no step returns to Python. The ``*_autodiff`` kernels differentiate the cost
alone with ``jax.value_and_grad`` instead of using ``dz = a - y``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .broadcast import CONSTANT_RTOL, PERCENT_SAFE_MIN, STD_SAFE_MIN_VAR, col_percent_numpy, standardize_numpy


def _numpy_fallback(op: str, args: tuple[Any, ...]) -> Any:
    """The op's ``numpy`` kernel on the call's (NumPy) arguments: the rule for inputs XLA cannot take.

    :meth:`vecbench.backends.jax.JaxBackend.prepare` leaves the arguments as
    NumPy arrays when one holds a subnormal number, which XLA on CPU would
    flush to zero.
    """
    from .. import registry

    k = registry.kernel(op, "numpy")
    # The op's validate on the already validated arguments: a no-op but for a fresh ``out``.
    core_args = k.backend.prepare(k.op.validate(*args).args, k.op.has_out) if k.op.has_out else args
    return k.core(*core_args)


def _kernel(static: tuple[str, ...] = (), op: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Jit ``fn`` and call it inside the x64 context; the wrapper exposes the jit's cache size."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        jitted = jax.jit(fn, static_argnames=static)
        name = op or fn.__name__

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            if any(isinstance(a, np.ndarray) for a in args):  # subnormal input: see _numpy_fallback
                return _numpy_fallback(name, args + tuple(kwargs.values()))
            with jax.enable_x64(True):
                return jitted(*args, **kwargs)

        call._cache_size = jitted._cache_size  # type: ignore[attr-defined]  # read by JaxBackend.compile_state
        call._jitted = jitted  # type: ignore[attr-defined]  # read by JaxBackend.memory_per_call
        return call

    return wrap


# ---------------------------------------------------------------- vector ops
@_kernel()
def dot(a, b):
    return jnp.dot(a, b)


@_kernel()
def matvec(A, v):
    return A @ v


@_kernel(op="col_percent")
def _col_percent(A):
    # The NumPy kernel's fast path, A / s * 100 (100 * A overflows for |A| > 1.8e306), and the
    # columns it cannot do: a sum that is not finite or too small for 100 / s.
    # XLA turns A / s into A * (1 / s), and 1 / s is subnormal, hence flushed to 0, past 1 / tiny.
    s = A.sum(axis=0)
    bad = ~(jnp.isfinite(s) & ((s == 0) | (jnp.abs(s) >= PERCENT_SAFE_MIN)) & (jnp.abs(s) < 0.5 / jnp.finfo(A.dtype).tiny))
    return A / s * 100, bad


def col_percent(A):
    """Column percentages; the columns the fast path cannot do are recomputed by the NumPy kernel's rule."""
    r = _col_percent(A)
    if isinstance(r, np.ndarray):  # computed by numpy already (subnormal input)
        return r
    P, bad = r
    if not bool(bad.any()):  # one flag per column: the common case ends here
        return P
    P, cols = np.array(P), np.asarray(bad)
    sub = np.asarray(A)[:, cols]
    P[:, cols] = col_percent_numpy(sub, np.empty_like(sub))
    return P


@_kernel(op="standardize")
def _standardize(X):
    # As the NumPy kernel: statistics accumulated in float64, the row kept in X's dtype.
    mu = jnp.mean(X, axis=1, keepdims=True, dtype=jnp.float64)
    d = (X - mu).astype(X.dtype)
    var = jnp.mean(jnp.square(d.astype(jnp.float64)), axis=1, keepdims=True)
    sigma = jnp.sqrt(var)
    const = sigma <= CONSTANT_RTOL * jnp.abs(mu)
    bad = ~(jnp.isfinite(var[:, 0]) & (var[:, 0] >= STD_SAFE_MIN_VAR))
    return jnp.where(const, 0.0, d / jnp.where(const, 1.0, sigma)).astype(X.dtype), bad


def standardize(X):
    """Standardized rows; rows whose variance overflowed or underflowed are recomputed by the NumPy kernel."""
    r = _standardize(X)
    if isinstance(r, np.ndarray):
        return r
    Z, bad = r
    if not bool(bad.any()):
        return Z
    Z, rows = np.array(Z), np.asarray(bad)
    sub = np.asarray(X)[rows]
    Z[rows] = standardize_numpy(sub, np.empty_like(sub))
    return Z


def _sigmoid(z):
    e = jnp.exp(-jnp.abs(z))
    return jnp.where(z >= 0, 1.0, e) / (1.0 + e)


@_kernel()
def sigmoid(z):
    return _sigmoid(z)


# ---------------------------------------------------------------- logistic regression
def _cost(w, b, X, y):
    z = w @ X + b
    return jnp.mean(jnp.logaddexp(0.0, z) - y * z)


def _grad_hand(w, b, X, y):
    """The lecture's derivation: dz = a - y, dw = X dz / m, db = mean(dz)."""
    z = w @ X + b
    J = jnp.mean(jnp.logaddexp(0.0, z) - y * z)
    dz = _sigmoid(z) - y
    return X @ dz / X.shape[1], jnp.mean(dz), J


def _cost_sum(w, b, X, y):
    z = w @ X + b
    return jnp.sum(jnp.logaddexp(0.0, z) - y * z)


def _grad_auto(w, b, X, y):
    """Reverse-mode autodiff of the cost alone, summed over the examples, then divided by m.

    The gradient of the mean would scale ``dz`` by ``1 / m`` before ``X dz``;
    the rule of the logistic ops is ``X dz / m`` (the same value, but it
    overflows alike in every backend).
    """
    m = X.shape[1]
    S, (dw, db) = jax.value_and_grad(_cost_sum, argnums=(0, 1))(w, b, X, y)
    return dw / m, db / m, S / m


@_kernel()
def logreg_cost(w, b, X, y):
    return _cost(w, b, X, y)


@_kernel()
def logreg_grad(w, b, X, y):
    return _grad_hand(w, b, X, y)


@_kernel(op="logreg_grad")
def logreg_grad_autodiff(w, b, X, y):
    return _grad_auto(w, b, X, y)


def _step(grad, w, b, X, y, lr):
    dw, db, J = grad(w, b, X, y)
    return w - lr * dw, b - lr * db, J


@_kernel()
def logreg_step(w, b, X, y, lr):
    return _step(_grad_hand, w, b, X, y, lr)


@_kernel(op="logreg_step")
def logreg_step_autodiff(w, b, X, y, lr):
    return _step(_grad_auto, w, b, X, y, lr)


# ---------------------------------------------------------------- one epoch, one program
def _epoch(grad, w, b, X, y, lr, batch, perm):
    m = X.shape[1]
    full = m // batch

    def step(carry, idx):
        w, b = carry
        dw, db, J = grad(w, b, X[:, idx], y[idx])  # the gather is part of every step
        return (w - lr * dw, (b - lr * db).astype(X.dtype)), J

    carry = (w, jnp.asarray(b, X.dtype))
    carry, costs = lax.scan(step, carry, perm[:full * batch].reshape(full, batch))
    if full * batch < m:  # the last, smaller batch: one more step of its own shape
        carry, J = step(carry, perm[full * batch:])
        costs = jnp.concatenate([costs, J[None]])
    return carry[0], carry[1], costs


@_kernel(static=("batch",), op="train_epoch")
def _train_epoch(w, b, X, y, lr, batch, perm):
    return _epoch(_grad_hand, w, b, X, y, lr, batch, perm)


@_kernel(static=("batch",), op="train_epoch")
def _train_epoch_autodiff(w, b, X, y, lr, batch, perm):
    return _epoch(_grad_auto, w, b, X, y, lr, batch, perm)


def train_epoch(w, b, X, y, lr, batch, perm):
    return _train_epoch(w, b, X, y, lr, batch=batch, perm=perm)


def train_epoch_autodiff(w, b, X, y, lr, batch, perm):
    return _train_epoch_autodiff(w, b, X, y, lr, batch=batch, perm=perm)


# The compiled programs behind the wrappers, for JaxBackend.memory_per_call (train_epoch's batch is
# resolved by name; col_percent's and standardize's host-side check of one flag per column or row is not counted).
_WRAPPED: tuple[tuple[Any, Any], ...] = ((col_percent, _col_percent), (standardize, _standardize),
                                         (train_epoch, _train_epoch), (train_epoch_autodiff, _train_epoch_autodiff))
for _wrapper, _inner in _WRAPPED:
    _wrapper._jitted = _inner._jitted


# ---------------------------------------------------------------- the slides' two-layer network
def _mlp_loss(W1, W2, x, y):
    h = jax.nn.relu(x @ W1)  # relu'(0) = 0, as the manual backward pass
    return jnp.sum(jnp.square(h @ W2 - y))


@_kernel()
def mlp_step(x, y, W1, W2, lr):
    loss, (g1, g2) = jax.value_and_grad(_mlp_loss, argnums=(0, 1))(W1, W2, x, y)
    return W1 - lr * g1, W2 - lr * g2, loss
