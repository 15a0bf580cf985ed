"""Logistic regression, vectorized over the m training examples.

Conventions (the lecture's): ``X`` has shape ``(n_x, m)``, one example per
column; ``w`` has ``n_x`` entries and ``y`` has ``m`` labels. Vectors are 1-D
``(n,)``; the lecture's ``(n_x, 1)`` column ``w`` and ``(1, m)`` row ``Y`` are
accepted too. Array results are 1-D.

Forward and backward pass::

    Z  = w^T X + b                 (1, m)
    A  = sigmoid(Z)
    J  = -mean(Y log A + (1 - Y) log(1 - A))
    dZ = A - Y
    dw = X dZ^T / m                (n_x,)
    db = mean(dZ)

The cost is evaluated as ``mean(softplus(Z) - Y * Z)`` with
``softplus(z) = max(z, 0) + log1p(exp(-|z|))``: the same value, but it never
takes ``log(0)`` or overflows ``exp``, so it stays finite for ``|z|`` up to
1e4 and beyond. Labels are taken as given (``0 <= y <= 1`` in the lecture;
:func:`vecbench.train` checks they are 0/1).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import _nonempty, _numeric, as_array, as_out, as_scalar, as_vector, check_positive, common_float
from ..opspec import Call, OpSpec
from ._logistic import loss_and_sigmoid1, loss_terms, sigmoid, sigmoid1
from .dot import careful_dot_rows


# ---------------------------------------------------------------- validation
def validate_sigmoid(z: Any, out: np.ndarray | None = None) -> Call:
    """Logistic function ``sigmoid(z) = 1 / (1 + exp(-z))``, elementwise.

    Computed without overflow for any finite ``z`` (``exp`` of ``-|z|`` only).
    ``sigmoid(+inf) = 1``, ``sigmoid(-inf) = 0``, ``sigmoid(nan) = nan``, in
    every backend and without warnings.

    Parameters
    ----------
    z : array_like, any shape, or a number
    out : ndarray, optional
        Same shape as ``z`` and of the result's dtype. May be ``z`` itself or
        overlap it: the result is then computed into scratch and copied.

    Returns
    -------
    ndarray of z's shape (a float if ``z`` is a number)
    """
    z = _nonempty("sigmoid", "z", _numeric("sigmoid", "z", z))
    (z,) = common_float(z)
    shape = z.shape
    out = as_out("sigmoid", out, shape, z.dtype)
    flat = z.reshape(-1)
    direct = (out.ndim <= 1 or out.flags.c_contiguous) and not np.may_share_memory(out, z)
    # A view when possible (the core writes straight into out), else scratch.
    out_flat = out.reshape(-1) if direct else np.empty(flat.shape, dtype=z.dtype)

    def post(r: np.ndarray) -> Any:
        if not direct:
            out[...] = out_flat.reshape(shape)
        return float(out.reshape(-1)[0]) if z.ndim == 0 else out

    return Call((flat, out_flat), post=post)


def check_model(op: str, w: Any, b: Any, X: Any, y: Any) -> tuple[Any, ...]:
    """Validate ``(w, b, X, y)``; return them as one float dtype (``b`` a float)."""
    X = as_array(op, "X", X, 2)
    w = as_vector(op, "w", w)
    y = as_vector(op, "y", y)
    if w.shape[0] != X.shape[0]:
        raise ValueError(
            f"{op}: w has shape {w.shape} but X has shape {X.shape}; "
            "need len(w) == X.shape[0] (n_x features, one per row)"
        )
    if y.shape[0] != X.shape[1]:
        raise ValueError(
            f"{op}: y has shape {y.shape} but X has shape {X.shape}; "
            "need len(y) == X.shape[1] (m examples, one per column)"
        )
    b = as_scalar(op, "b", b)
    w, X, y = common_float(w, X, y)
    return w, b, X, y


_MODEL_NOTES = """
    Notes
    -----
    NaN, inf and extreme values, the same in every backend and the reference
    (no warnings): ``z_j = w . x_j + b`` follows the rule of ``dot`` (NaN,
    infinities, and the exact value even where float64 partial sums
    overflow); every other quantity is the IEEE value of the formulas above
    at that ``z`` (``softplus(z) - y z`` with ``softplus(z) = max(z, 0) +
    log1p(exp(-|z|))``, ``sigmoid(+-inf) = 1, 0``). So a NaN anywhere in
    ``X``, ``w`` or ``y`` makes the cost and the whole gradient NaN, and an
    infinite ``z`` makes its example's loss ``inf`` or NaN (``inf - inf``).
    Means and the sums in ``dw`` are exact where representable: a fast
    result that is not finite is recomputed by the careful, scaled path
    (``logreg._careful``), which every backend and the reference share.
"""


def validate_cost(w: Any, b: Any, X: Any, y: Any) -> Call:
    """Cross-entropy cost ``J = mean(-y log a - (1 - y) log(1 - a))``, ``a = sigmoid(w^T X + b)``.

    Parameters
    ----------
    w : array_like, shape (n_x,)
    b : float
    X : array_like, shape (n_x, m)
        One example per column.
    y : array_like, shape (m,)

    Returns
    -------
    float
    """
    args = check_model("logreg_cost", w, b, X, y)

    def post(r: Any) -> float:
        r = float(r)
        if math.isfinite(r) or not _overflow_possible(args):
            return r
        return _careful(args[0], args[1], args[2], args[3], grad=False)[2]

    return Call(args, post=post)


def _overflow_possible(args: tuple[Any, ...], lr: float = 0.0) -> bool:
    """Whether the fast kernels could overflow on ``(w, b, X, y)``: a NaN/inf input, or a bound
    on ``|z|``, the cost's sum, ``X dz`` and the step reaching float range (see
    :func:`vecbench.operations.dot.overflow_possible`); else a non-finite result is a kernel bug."""
    w, b, X, y = args[:4]
    if not (np.isfinite(w).all() and np.isfinite(X).all() and np.isfinite(y).all()):
        return True
    n_x, m = X.shape
    with np.errstate(all="ignore"):
        mw, mx, my = (float(np.abs(a).max()) for a in (w, X, y))
        z = n_x * mw * mx + abs(b)  # |z| <= this
        dz = 1.0 + my  # |dz| <= this
        bound = max(m * (2 * z + 1.0) * dz, m * mx * dz, lr * mx * dz + mw, lr * dz + abs(b))
    return not bound < float(np.finfo(X.dtype).max) / 2


def _finite_result(r: tuple[Any, Any, Any]) -> bool:
    return bool(np.isfinite(r[0]).all()) and math.isfinite(r[1]) and math.isfinite(r[2])


def _grad_post(args: tuple[Any, ...], lr: float | None = None) -> Any:
    """``Call.post`` of ``logreg_grad``/``logreg_step``: the careful path for a non-finite result."""
    w, b, X = args[0], args[1], args[2]

    def post(r: tuple[Any, Any, Any]) -> tuple[np.ndarray, float, float]:
        r = (r[0], float(r[1]), float(r[2]))
        if _finite_result(r) or not _overflow_possible(args, lr or 0.0):
            return r
        dw, db, J = _careful(args[0], args[1], args[2], args[3], grad=True)
        with np.errstate(all="ignore"):
            if lr is not None:  # the step: w - lr dw, b - lr db at the careful gradient
                dw, db = w.astype(np.float64) - lr * dw, b - lr * db
            return dw.astype(X.dtype), float(db), J

    return post


def validate_grad(w: Any, b: Any, X: Any, y: Any) -> Call:
    """Gradient of the cost: ``dz = a - y``, ``dw = X dz / m``, ``db = mean(dz)``.

    Parameters
    ----------
    w : array_like, shape (n_x,)
    b : float
    X : array_like, shape (n_x, m)
    y : array_like, shape (m,)

    Returns
    -------
    dw : ndarray, shape (n_x,)
    db : float
    J : float
        The cost at ``(w, b)``, computed in the same pass.
    """
    args = check_model("logreg_grad", w, b, X, y)
    return Call(args, post=_grad_post(args))


def validate_step(w: Any, b: Any, X: Any, y: Any, lr: Any) -> Call:
    """One gradient-descent step: ``w <- w - lr * dw``, ``b <- b - lr * db``.

    Parameters
    ----------
    w : array_like, shape (n_x,)
    b : float
    X : array_like, shape (n_x, m)
    y : array_like, shape (m,)
    lr : float
        Learning rate (alpha in the lecture), ``> 0``.

    Returns
    -------
    w_new : ndarray, shape (n_x,)
        A new array (never ``w`` itself).
    b_new : float
    J : float
        The cost at the *old* ``(w, b)``.
    """
    args = check_model("logreg_step", w, b, X, y)
    lr = check_positive("logreg_step", "lr", lr)
    return Call(args + (lr,), post=_grad_post(args, lr))


for _f in (validate_cost, validate_grad, validate_step):
    _f.__doc__ = (_f.__doc__ or "").rstrip() + "\n" + _MODEL_NOTES


# ---------------------------------------------------------------- references
def sigmoid_reference(z: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return sigmoid(np.asarray(z, dtype=np.float64))


def _careful_mean(x: np.ndarray) -> float:
    """``mean(x)`` by the extended-real rule, scaled so that no partial sum overflows."""
    with np.errstate(all="ignore"):
        if np.isnan(x).any() or (np.inf in x and -np.inf in x):
            return math.nan
        if np.inf in x or -np.inf in x:
            return math.inf if np.inf in x else -math.inf
        mx = float(np.abs(x).max())
        return 0.0 if mx == 0.0 else mx * float(np.mean(x / mx))


def _careful(w, b, X, y, grad: bool = True) -> tuple[Any, float, float]:
    """``(dw, db, J)`` (``dw`` None without ``grad``) by the rule of the logistic ops, in float64.

    ``z`` by :func:`careful_dot_rows` (exact despite overflowing partial
    sums), means and ``X dz / m`` scaled: this is what every backend returns
    when its fast result is not finite, and what the reference falls back to.
    """
    w, X, y = np.asarray(w, np.float64).ravel(), np.asarray(X, np.float64), np.asarray(y, np.float64).ravel()
    m = X.shape[1]
    with np.errstate(all="ignore"):
        z = careful_dot_rows(X.T, w) + float(b)
        J = _careful_mean(loss_terms(z, y))
        if not grad:
            return None, math.nan, J
        dz = sigmoid_reference(z) - y
        return careful_dot_rows(X, dz / m), _careful_mean(dz), J


def _forward_reference(w, b, X, y):
    w, X, y = np.asarray(w, np.float64).ravel(), np.asarray(X, np.float64), np.asarray(y, np.float64).ravel()
    with np.errstate(all="ignore"):
        z = w @ X + b
        J = np.mean(loss_terms(z, y))
    return w, X, y, z, J


def cost_reference(w, b, X, y) -> float:
    J = float(_forward_reference(w, b, X, y)[-1])
    return J if math.isfinite(J) else _careful(w, b, X, y, grad=False)[2]


def plain_grad_reference(w, b, X, y) -> tuple[np.ndarray, float, float]:
    """``(dw, db, J)`` in float64 by the plain formulas (no scaled recomputation when a sum overflows)."""
    _, X_, y_, z, J = _forward_reference(w, b, X, y)
    with np.errstate(all="ignore"):
        dz = sigmoid_reference(z) - y_
        return X_ @ dz / X_.shape[1], float(dz.mean()), float(J)


def grad_reference(w, b, X, y):
    r = plain_grad_reference(w, b, X, y)
    return r if _finite_result(r) else _careful(w, b, X, y)


def step_reference(w, b, X, y, lr):
    dw, db, J = grad_reference(w, b, X, y)
    with np.errstate(all="ignore"):
        return np.asarray(w, np.float64).ravel() - lr * dw, float(b) - lr * db, J


# ---------------------------------------------------------------- inputs
def make_vector(size, dtype, rng):
    # Spans the range where a naive sigmoid would overflow.
    return ((rng.standard_normal(size["n"]) * 20).astype(dtype),)


def make_model(size, dtype, rng):
    """Seeded ``(w, b, X, y)``: labels drawn from the model itself, so the cost is realistic."""
    n_x, m = size["n_x"], size["m"]
    X = rng.standard_normal((n_x, m)).astype(dtype)
    w = (rng.standard_normal(n_x) / math.sqrt(n_x)).astype(dtype)
    b = 0.1
    p = sigmoid_reference(2.0 * (w.astype(np.float64) @ X) + b)
    y = (rng.random(m) < p).astype(dtype)
    return w, b, X, y


def make_step(size, dtype, rng):
    return make_model(size, dtype, rng) + (0.1,)


# ---------------------------------------------------------------- python
def sigmoid_python(z: list[float]) -> list[float]:
    return [sigmoid1(v) for v in z]


def loop(w, b, X, y, grad, examples=None):
    """The lecture's non-vectorized logistic regression: one example at a time.

    ``(dw, db, J)`` averaged over ``examples`` (indices of columns of ``X``;
    default all), ``dw`` left at zeros without ``grad``. One mini-batch step
    of ``train_epoch`` is this loop over the batch.
    """
    n_x = len(w)
    examples = range(len(y)) if examples is None else examples
    dw = [0.0] * n_x
    db = J = 0.0
    for j in examples:
        z = b
        for i in range(n_x):
            z += w[i] * X[i][j]
        loss, a = loss_and_sigmoid1(z, y[j])
        J += loss
        if grad:
            dz = a - y[j]
            for i in range(n_x):
                dw[i] += X[i][j] * dz
            db += dz
    nb = len(examples)
    return [d / nb for d in dw], db / nb, J / nb


def cost_python(w, b, X, y) -> float:
    return loop(w, b, X, y, grad=False)[2]


def grad_python(w, b, X, y):
    return loop(w, b, X, y, grad=True)


def step_python(w, b, X, y, lr):
    dw, db, J = loop(w, b, X, y, grad=True)
    return [w[i] - lr * dw[i] for i in range(len(w))], b - lr * db, J


# ---------------------------------------------------------------- numpy
def sigmoid_numpy(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    # No np.errstate needed (nothing here warns on NaN/inf), and none paid
    # for: entering one costs microseconds, a tenth of a call at n = 1e3.
    return sigmoid(z, out=out)


def _forward_numpy(w, b, X, y):
    z = w @ X + b
    return z, np.mean(loss_terms(z, y))


def cost_numpy(w, b, X, y):
    with np.errstate(all="ignore"):
        return _forward_numpy(w, b, X, y)[1]


def grad_numpy(w, b, X, y):
    with np.errstate(all="ignore"):
        z, J = _forward_numpy(w, b, X, y)
        dz = sigmoid_numpy(z, np.empty_like(z)) - y
        return X @ dz / X.shape[1], dz.mean(), J


def step_numpy(w, b, X, y, lr):
    dw, db, J = grad_numpy(w, b, X, y)
    with np.errstate(all="ignore"):
        return w - lr * dw, b - lr * db, J


# ---------------------------------------------------------------- registry
def _model(n_x: int, m: int) -> dict[str, int]:
    return {"n_x": n_x, "m": m}


_MODEL_SIZES = {
    # Tests: one example, odd sizes, and sizes whose many blocks and chunks
    # run the compiled kernels' pipeline (logreg_numba._range_c) with 8-, 4-
    # and 1-row groups.
    "test": [_model(1, 1), _model(7, 3), _model(3, 8), _model(501, 401), _model(13, 40_000)],
    "quick": [_model(10, 100), _model(100, 10**4)],
    "default": [_model(100, m) for m in (10**2, 10**3, 10**4, 10**5, 10**6)],
    "large": [_model(100, m) for m in (10**2, 10**3, 10**4, 10**5, 10**6, 3 * 10**6)],
}


def _model_bytes(s, item):
    # X read once dominates; w, y in and dw out are O(n_x + m).
    return (s["n_x"] * s["m"] + s["m"] + 2 * s["n_x"]) * item


SIGMOID = OpSpec(
    name="sigmoid",
    order=40,
    summary="a = 1 / (1 + exp(-z)), elementwise, overflow-free",
    validate=validate_sigmoid,
    reference=sigmoid_reference,
    make_inputs=make_vector,
    sizes={
        "quick": [{"n": 10**3}, {"n": 10**5}],
        "default": [{"n": 10**k} for k in range(3, 8)],
        "large": [{"n": 10**k} for k in range(3, 9)],
    },
    nbytes=lambda s, item: 2 * s["n"] * item,
    flops=lambda s: 4 * s["n"],
    has_out=True,
)
def _model_op(name: str, summary: str, validate: Any, reference: Any, flops: Any, order: int,
              make: Any = make_model) -> OpSpec:
    """The logistic-regression ops share inputs, sizes and byte counts."""
    return OpSpec(name=name, summary=summary, validate=validate, reference=reference, make_inputs=make,
                  sizes=_MODEL_SIZES, size_of=lambda m: _model(100, m), nbytes=_model_bytes, flops=flops,
                  temporary_unit=("m",), order=order)  # z, a, dz: one value per example


COST = _model_op("logreg_cost", "J = mean(softplus(z) - y z), z = w^T X + b", validate_cost, cost_reference,
                 flops=lambda s: (2 * s["n_x"] + 6) * s["m"], order=41)
GRAD = _model_op("logreg_grad", "dz = sigmoid(w^T X + b) - y; dw = X dz / m; db = mean(dz)", validate_grad,
                 grad_reference, flops=lambda s: (4 * s["n_x"] + 10) * s["m"], order=42)
STEP = _model_op("logreg_step", "w -= lr dw; b -= lr db (one batch gradient-descent step)", validate_step,
                 step_reference, flops=lambda s: (4 * s["n_x"] + 10) * s["m"] + 2 * s["n_x"], order=43,
                 make=make_step)

# Found by vecbench.operations.discover(); the registry registers them (this module never imports it).
SPECS = (SIGMOID, COST, GRAD, STEP,)

# Which function runs each op in each built-in backend ("module:attr", imported on first use,
# so listing the ops imports no framework). A backend without an entry does not have the op.
KERNELS = {
    "sigmoid": {
        "python": "vecbench.operations.logreg:sigmoid_python",
        "numpy": "vecbench.operations.logreg:sigmoid_numpy",
        "numba": "vecbench.operations.logreg_numba:sigmoid",
        "numba_parallel": "vecbench.operations.logreg_numba:sigmoid_parallel",
        "jax": "vecbench.operations.jax_kernels:sigmoid",
        "torch": "vecbench.operations.torch_kernels:sigmoid",
        "torch_compile": "vecbench.operations.torch_compile_kernels:sigmoid",
        "dask": "vecbench.operations.dask_kernels:sigmoid",
        "cupy": "vecbench.operations.xp_kernels:sigmoid",
        "torch_cuda": "vecbench.operations.torch_kernels:sigmoid",
        "jax_gpu": "vecbench.operations.jax_kernels:sigmoid",
        "numba_cuda": "vecbench.operations.numba_cuda_kernels:sigmoid",
    },
    "logreg_cost": {
        "python": "vecbench.operations.logreg:cost_python",
        "numpy": "vecbench.operations.logreg:cost_numpy",
        "numba": "vecbench.operations.logreg_numba:cost",
        "numba_parallel": "vecbench.operations.logreg_numba:cost_parallel",
        "jax": "vecbench.operations.jax_kernels:logreg_cost",
        "torch": "vecbench.operations.torch_kernels:logreg_cost",
        "torch_compile": "vecbench.operations.torch_compile_kernels:logreg_cost",
        "jax_autodiff": "vecbench.operations.jax_kernels:logreg_cost",
        "torch_autodiff": "vecbench.operations.torch_kernels:logreg_cost",
        "dask": "vecbench.operations.dask_kernels:logreg_cost",
        "cupy": "vecbench.operations.xp_kernels:logreg_cost",
        "torch_cuda": "vecbench.operations.torch_kernels:logreg_cost",
        "jax_gpu": "vecbench.operations.jax_kernels:logreg_cost",
        "numba_cuda": "vecbench.operations.numba_cuda_kernels:logreg_cost",
    },
    "logreg_grad": {
        "python": "vecbench.operations.logreg:grad_python",
        "numpy": "vecbench.operations.logreg:grad_numpy",
        "numba": "vecbench.operations.logreg_numba:grad",
        "numba_parallel": "vecbench.operations.logreg_numba:grad_parallel",
        "jax": "vecbench.operations.jax_kernels:logreg_grad",
        "torch": "vecbench.operations.torch_kernels:logreg_grad",
        "torch_compile": "vecbench.operations.torch_compile_kernels:logreg_grad",
        "jax_autodiff": "vecbench.operations.jax_kernels:logreg_grad_autodiff",
        "torch_autodiff": "vecbench.operations.torch_kernels:logreg_grad_autodiff",
        "dask": "vecbench.operations.dask_kernels:logreg_grad",
        "cupy": "vecbench.operations.xp_kernels:logreg_grad",
        "torch_cuda": "vecbench.operations.torch_kernels:logreg_grad",
        "jax_gpu": "vecbench.operations.jax_kernels:logreg_grad",
        "numba_cuda": "vecbench.operations.numba_cuda_kernels:logreg_grad",
    },
    "logreg_step": {
        "python": "vecbench.operations.logreg:step_python",
        "numpy": "vecbench.operations.logreg:step_numpy",
        "numba": "vecbench.operations.logreg_numba:step",
        "numba_parallel": "vecbench.operations.logreg_numba:step_parallel",
        "jax": "vecbench.operations.jax_kernels:logreg_step",
        "torch": "vecbench.operations.torch_kernels:logreg_step",
        "torch_compile": "vecbench.operations.torch_compile_kernels:logreg_step",
        "jax_autodiff": "vecbench.operations.jax_kernels:logreg_step_autodiff",
        "torch_autodiff": "vecbench.operations.torch_kernels:logreg_step_autodiff",
        "dask": "vecbench.operations.dask_kernels:logreg_step",
        "cupy": "vecbench.operations.xp_kernels:logreg_step",
        "torch_cuda": "vecbench.operations.torch_kernels:logreg_step",
        "jax_gpu": "vecbench.operations.jax_kernels:logreg_step",
        "numba_cuda": "vecbench.operations.numba_cuda_kernels:logreg_step",
    },
}
