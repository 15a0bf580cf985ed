"""One training epoch of logistic regression by mini-batch gradient descent.

The lecture's three flavours are one algorithm with different batch sizes:
``batch = m`` is batch gradient descent (BGD), ``batch = 1`` stochastic (SGD),
anything between mini-batch (MBGD, typically 32, 64, 128...). For each batch
``B`` of the shuffled examples (the last one may be smaller)::

    dz = sigmoid(w^T X_B + b) - y_B
    w <- w - lr * X_B dz / |B|
    b <- b - lr * mean(dz)

The order of examples is the permutation ``perm``, drawn outside the kernel
from a seeded generator, so every backend follows the same trajectory. What
vectorization buys depends on the batch size: at ``batch = 1`` each step is a
handful of flops and NumPy's per-call overhead dominates, while a compiled
epoch loop pays none of it.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from .._checks import _numeric, as_vector, check_positive
from ..opspec import Axis, Call, OpSpec
from ._logistic import loss_terms, sigmoid
from .logreg import check_model, loop, make_model, plain_grad_reference


def _check_batch(op: str, batch_size: Any, m: int) -> int:
    if isinstance(batch_size, str) and batch_size == "full":
        return m
    if isinstance(batch_size, (bool, np.bool_)):
        # True would silently mean 1 (SGD): a bool is never a batch size.
        raise TypeError(f"{op}: batch_size must be an int or 'full'; got bool {batch_size!r}")
    try:
        b = operator.index(batch_size)
    except TypeError:
        raise TypeError(f"{op}: batch_size must be an int or 'full'; got {type(batch_size).__name__}") from None
    if not 1 <= b <= m:
        raise ValueError(f"{op}: batch_size must be in [1, m={m}]; got {b}")
    return b


def _check_perm(op: str, perm: Any, m: int) -> np.ndarray:
    if perm is None:
        return np.arange(m, dtype=np.int64)
    p = _numeric(op, "perm", perm)
    if p.dtype.kind not in "iu":
        raise TypeError(f"{op}: perm must be an integer array; got dtype {p.dtype}")
    p = as_vector(op, "perm", p).astype(np.int64, copy=False)
    if p.shape != (m,):
        raise ValueError(f"{op}: perm must be a permutation of range(m={m}); got shape {p.shape}")
    outside = p[(p < 0) | (p >= m)]
    if outside.size:
        raise ValueError(f"{op}: perm must be a permutation of range(m={m}); got index {int(outside[0])}, "
                         f"outside [0, {m - 1}]")
    counts = np.bincount(p, minlength=m)
    if (counts > 1).any():
        i = int(np.argmax(counts > 1))
        raise ValueError(f"{op}: perm must be a permutation of range(m={m}); got index {i} "
                         f"{int(counts[i])} times (and index {int(np.argmin(counts))} never)")
    return p


def validate(w: Any, b: Any, X: Any, y: Any, lr: Any, batch_size: Any, perm: Any = None) -> Call:
    """One epoch of mini-batch gradient descent over the examples in ``perm`` order.

    Parameters
    ----------
    w : array_like, shape (n_x,)
    b : float
    X : array_like, shape (n_x, m)
        One example per column.
    y : array_like, shape (m,)
        Labels in ``[0, 1]`` (0/1, or probabilities); NaN and values
        outside are refused.
    lr : float
        Learning rate, ``> 0``.
    batch_size : int or "full"
        Examples per step, ``1 <= batch_size <= m`` (1: SGD, m or "full": BGD).
    perm : array_like of int, shape (m,), optional
        Order of the examples (a permutation of ``range(m)``); default: as given.

    Returns
    -------
    w : ndarray, shape (n_x,)
        A new array (never ``w`` itself).
    b : float
    step_costs : ndarray, shape (ceil(m / batch_size),)
        The cost of each step's batch, before that step's update.

    Notes
    -----
    NaN, inf and extreme values: each step is the IEEE float64 evaluation of
    the update above, with the same per-example formulas as ``logreg_grad``
    (``softplus(z) - y z``, ``sigmoid(+-inf) = 1, 0``), in every backend and
    without warnings. A NaN in ``X`` or ``w`` therefore turns every later
    ``w``, ``b`` and step cost NaN; the epoch does not stop on its own. The
    mean gradient is formed before it is multiplied by ``lr``, so a huge
    ``lr`` overflows only where ``lr * mean`` itself does. :func:`vecbench.train` refuses non-finite data up front and stops
    with an error at the first epoch whose weights or cost are not finite.
    Unlike ``logreg_grad``, a step whose ``z = w . x + b`` overflows float64
    is not recomputed exactly (``z`` is then ``+-inf``; where partial sums
    overflow and cancel, backends may differ on that step).
    """
    op = "train_epoch"
    w, b, X, y = check_model(op, w, b, X, y)
    outside = y[~((y >= 0) & (y <= 1))]
    if outside.size:
        # Labels far outside [0, 1] make dz = a - y huge, and the step's sums
        # then overflow differently in each summation order.
        raise ValueError(f"{op}: y must hold labels (or probabilities) in [0, 1]; got {outside.size} value(s) "
                         f"outside, such as {outside[0]}")
    m = X.shape[1]
    return Call((w, b, X, y, check_positive(op, "lr", lr), _check_batch(op, batch_size, m), _check_perm(op, perm, m)),
                post=lambda r: (r[0], float(r[1]), r[2]))


def reference(w, b, X, y, lr, batch_size, perm=None):
    """The epoch from the float64 gradient reference, one step per batch (independent of every backend).

    Each step uses the plain formulas, not the logistic ops' scaled recomputation: the rule of this op
    (see ``validate``) does not recompute a step whose partial sums overflow.
    """
    w = np.asarray(w, np.float64).ravel()
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64).ravel()
    b = float(b)
    m = X.shape[1]
    perm = np.arange(m) if perm is None else np.asarray(perm)
    batch = m if batch_size == "full" else int(batch_size)
    costs = []
    for start in range(0, m, batch):
        idx = perm[start:start + batch]
        dw, db, J = plain_grad_reference(w, b, X[:, idx], y[idx])
        with np.errstate(all="ignore"):
            w, b = w - lr * dw, b - lr * db
        costs.append(J)
    return w, b, np.asarray(costs)


def make_inputs(size, dtype, rng):
    w, b, X, y = make_model({"n_x": size["n_x"], "m": size["m"]}, dtype, rng)
    batch = min(size["batch"], size["m"])
    # Example-major (Fortran) order, as vecbench.train stores X: a step reads
    # whole examples, and one example is then one contiguous run of memory.
    return w, b, np.asfortranarray(X), y, 0.1, batch, rng.permutation(size["m"])


def train_epoch_python(w, b, X, y, lr, batch, perm):
    w = list(w)
    costs = []
    for start in range(0, len(y), batch):
        # One step is the lecture's per-example loop over the batch (means, then lr: lr * sum could overflow).
        dw, db, J = loop(w, b, X, y, True, perm[start:start + batch])
        w = [wi - lr * d for wi, d in zip(w, dw)]
        b -= lr * db
        costs.append(J)
    return w, b, costs


def train_epoch_numpy(w, b, X, y, lr, batch, perm):
    with np.errstate(all="ignore"):  # NaN/inf follow the op's rule, never a warning
        return _epoch_numpy(w, b, X, y, lr, batch, perm)


def _epoch_numpy(w, b, X, y, lr, batch, perm):
    m = X.shape[1]
    w = w.copy()
    costs = np.empty(math.ceil(m / batch))
    for k, start in enumerate(range(0, m, batch)):
        idx = perm[start:start + batch]
        Xb, yb = X[:, idx], y[idx]  # the gather is part of every step's cost
        z = w @ Xb + b
        costs[k] = np.mean(loss_terms(z, yb))
        dz = sigmoid(z) - yb
        w -= lr * ((Xb @ dz) / len(idx))  # the mean first: lr * sum could overflow
        b -= lr * dz.mean()
    return w, b, costs


def _batch(n_x: int, m: int, batch: int) -> dict[str, int]:
    return {"n_x": n_x, "m": m, "batch": batch}


BATCHES = (1, 8, 32, 128, 1024)
M_DEFAULT = 20_000


def parse_batch(text: str, base: Any) -> int:
    """One ``--batch-sizes`` value: ``full`` (= m) or a whole number in [1, m]."""
    m = int(base["m"])
    if text.strip().lower() == "full":
        return m
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--batch-sizes: a whole number in [1, m={m}] or 'full'; got {text!r}") from None
    if not math.isfinite(value) or value != int(value) or not 1 <= value <= m:
        raise ValueError(f"--batch-sizes: a whole number in [1, m={m}] or 'full'; got {text!r}")
    return int(value)


BATCH_AXIS = Axis(
    name="batch",
    label="batch size (examples per gradient step)",
    option="batch-sizes",
    help="batch sizes to sweep, e.g. 1,8,32,128,1024,full (n_x=30; m from --sizes if one number, else 20000)",
    base={"n_x": 30, "m": M_DEFAULT},
    parse=parse_batch,
    steps=lambda s: math.ceil(s["m"] / max(1, s["batch"])),
)

SPEC = OpSpec(
    name="train_epoch",
    order=50,
    summary="one epoch of mini-batch GD: per batch, w -= lr X_B dz / |B|, b -= lr mean(dz)",
    validate=validate,
    reference=reference,
    make_inputs=make_inputs,
    sizes={
        "test": [_batch(1, 1, 1), _batch(3, 7, 2), _batch(5, 33, 33), _batch(30, 5000, 64), _batch(8, 4096, 4096)],
        "quick": [_batch(30, 500, b) for b in (1, 32, 500)],
        "default": [_batch(30, M_DEFAULT, b) for b in (*BATCHES, M_DEFAULT)],
        "large": [_batch(30, 10**5, b) for b in (*BATCHES, 10**5)],
    },
    nbytes=lambda s, item: (s["n_x"] * s["m"] + 2 * s["m"]) * item,
    flops=lambda s: (4 * s["n_x"] + 10) * s["m"],
    size_of=lambda m: _batch(30, m, 32),
    tolerance={"float64": (1e-9, 1e-12), "float32": (2e-3, 1e-4)},
    axes=(BATCH_AXIS,),
)

# Found by vecbench.operations.discover(); the registry registers them (this module never imports it).
SPECS = (SPEC,)

# Which function runs each op in each built-in backend ("module:attr", imported on first use,
# so listing the ops imports no framework). A backend without an entry does not have the op.
KERNELS = {
    "train_epoch": {
        "python": "vecbench.operations.train:train_epoch_python",
        "numpy": "vecbench.operations.train:train_epoch_numpy",
        "numba": "vecbench.operations.train_numba:train_epoch",
        "numba_parallel": "vecbench.operations.train_numba:train_epoch_parallel",
        "jax": "vecbench.operations.jax_kernels:train_epoch",
        "torch": "vecbench.operations.torch_kernels:train_epoch",
        "torch_compile": "vecbench.operations.torch_compile_kernels:train_epoch",
        "jax_autodiff": "vecbench.operations.jax_kernels:train_epoch_autodiff",
        "torch_autodiff": "vecbench.operations.torch_kernels:train_epoch_autodiff",
        "dask": "vecbench.operations.dask_kernels:train_epoch",
        "cupy": "vecbench.operations.xp_kernels:train_epoch",
        "torch_cuda": "vecbench.operations.torch_kernels:train_epoch",
        "jax_gpu": "vecbench.operations.jax_kernels:train_epoch",
        "numba_cuda": "vecbench.operations.numba_cuda_kernels:train_epoch",
    },
}
