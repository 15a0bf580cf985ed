"""Training logistic regression with batch, mini-batch and stochastic gradient descent.

>>> import vecbench as vb
>>> X, y = vb.datasets.make_classification(n_features=30, m=10_000, seed=0)
>>> model = vb.train(X, y, batch_size=64, epochs=5, lr=0.1, backend="numba", seed=0)
>>> model.accuracy(X, y) > 0.7
True

Each epoch visits the examples in a fresh seeded permutation, drawn here (one
``rng.permutation(m)`` per epoch) and handed to the backend's
``train_epoch`` kernel, so every backend follows the same trajectory; the
epoch itself (batching, gathering, updates) runs in the backend: pure Python,
NumPy per batch, or entirely compiled with Numba.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._checks import (
    as_array,
    as_scalar,
    as_vector,
    check_count,
    check_finite,
    check_positive,
)
from .operations.logreg import check_model
from .operations.train import _check_batch
from .opspec import Call
from .registry import Kernel, kernel

__all__ = ["Model", "train", "convergence_histories"]


@dataclass
class Model:
    """A trained logistic-regression model and how it got there.

    Attributes
    ----------
    w : ndarray, shape (n_x,)
    b : float
    history : list of float
        Cost on the whole training set before training and after each epoch.
    epoch_times_s : list of float
        Wall time of each epoch (the backend's epoch kernel only).
    step_costs : list of ndarray
        Per epoch, the cost of each step's batch before its update (only with
        ``record_steps=True``).
    """

    w: np.ndarray
    b: float
    backend: str
    batch_size: int
    lr: float
    history: list[float] = field(default_factory=list)
    epoch_times_s: list[float] = field(default_factory=list)
    step_costs: list[np.ndarray] = field(default_factory=list)

    def predict_proba(self, X: Any) -> np.ndarray:
        """``sigmoid(w^T X + b)`` for ``X`` of shape ``(n_x, m)``."""
        X = as_array("predict", "X", X, 2)
        if X.shape[0] != self.w.shape[0]:
            raise ValueError(f"predict: X has shape {X.shape} but the model has n_x = {self.w.shape[0]} features; "
                             "need X.shape[0] == n_x")
        with np.errstate(all="ignore"):  # z = +-inf is fine: sigmoid maps it to 1 or 0
            z = self.w @ X + self.b
        return kernel("sigmoid", "numpy")(z)

    def predict(self, X: Any) -> np.ndarray:
        """0/1 labels: 1 where ``sigmoid(z) >= 0.5`` (the lecture's rule)."""
        return (self.predict_proba(X) >= 0.5).astype(np.int64)

    def accuracy(self, X: Any, y: Any) -> float:
        """Fraction of examples whose predicted label equals ``y``."""
        y = np.asarray(y).reshape(-1)
        return float(np.mean(self.predict(X) == y))


def _check_labels(y: np.ndarray) -> None:
    bad = np.unique(y[(y != 0) & (y != 1)])
    if bad.size:
        raise ValueError(f"train: y must hold only 0 and 1 labels; got other values such as {bad[:5].tolist()}")


def _timed(core: Callable[..., Any], core_args: tuple[Any, ...]) -> tuple[Any, float]:
    """One epoch, timed: the backend's epoch kernel only (validation stays outside the clock)."""
    t0 = time.perf_counter()
    raw = core(*core_args)
    return raw, time.perf_counter() - t0


def _first_epoch(epoch: Kernel, core: Callable[..., Any], core_args: tuple[Any, ...]) -> tuple[Any, float]:
    """The first epoch, timed without JIT compilation.

    A JIT backend says whether the call compiled (or loaded from its disk
    cache), as it does for the harness; only then is the epoch run a second
    time, from the same inputs (kernels never modify them, so the result is
    the same), and that run is timed. An already compiled kernel costs one
    epoch, not a warm-up epoch plus the epoch.
    """
    backend = epoch.backend
    before = backend.compile_state(epoch) if backend.jit else None
    raw, seconds = _timed(core, core_args)
    if backend.jit and backend.compiled(epoch, before, backend.compile_state(epoch), core_args)[0]:
        raw, seconds = _timed(core, core_args)
    return raw, seconds


def _rebind(epoch: Kernel, call: Call, w: np.ndarray, b: float, perm: np.ndarray) -> tuple[tuple[Any, ...], Call]:
    """The next epoch's arguments from the first epoch's validated ones: new ``w``, ``b`` and ``perm`` only.

    What validation would return for them (``w`` in the validated dtype, ``b``
    a float, ``perm`` an int64 permutation from ``rng.permutation``), without
    re-checking ``X`` and ``y`` every epoch; the backend still prepares them.
    """
    args = (np.asarray(w, dtype=call.args[0].dtype), float(b), *call.args[2:6], perm)
    return epoch.backend.prepare_op(epoch.op.name, args, epoch.op.has_out), Call(args, post=call.post)


def _history_cost(epoch: Kernel, Xf: np.ndarray) -> Callable[[np.ndarray, float, np.ndarray, np.ndarray], float]:
    """The whole-set cost recorded in ``Model.history`` (validated inputs, so no validation here).

    A ``train_epoch`` kernel module may offer ``dataset_cost(w, b, X, y)`` for
    example-major float64 ``X`` (the compiled backends do: NumPy's cost is
    ~a quarter of an SGD epoch there); otherwise, and whenever that cost is not
    finite (the divergence message then shows NumPy's value), NumPy's
    ``logreg_cost``.
    """
    numpy_cost = kernel("logreg_cost", "numpy")
    fast = getattr(importlib.import_module(epoch.module), "dataset_cost", None)
    if fast is None or Xf.dtype != np.float64:
        return numpy_cost

    def cost(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray) -> float:
        J = float(fast(w, b, X, y))
        return J if math.isfinite(J) else numpy_cost(w, b, X, y)

    return cost


def train(X: Any, y: Any, batch_size: int | str = 32, epochs: int = 10, lr: float = 0.1,
          backend: str = "numpy", seed: int = 0, record_steps: bool = False,
          w0: Any = None, b0: float = 0.0) -> Model:
    """Fit ``w, b`` by mini-batch gradient descent on the cross-entropy cost.

    Parameters
    ----------
    X : array_like, shape (n_x, m)
        One example per column.
    y : array_like, shape (m,)
        0/1 labels.
    batch_size : int or "full"
        1 for stochastic GD, ``m`` or ``"full"`` for batch GD, else mini-batch.
    epochs : int
        Passes over the data, ``>= 1``.
    lr : float
        Learning rate, ``> 0``.
    backend : str
        ``python``, ``numpy``, ``numba`` or ``numba_parallel``.
    seed : int
        Seed of the shuffling (the same for every backend).
    record_steps : bool
        Keep every step's batch cost in ``Model.step_costs``.
    w0, b0 : optional
        Starting point (default zeros).

    Returns
    -------
    Model

    Raises
    ------
    ValueError, TypeError
        Bad arguments, NaN or inf in ``X``, ``y`` or ``w0``, labels other
        than 0/1; all before the first step.
    FloatingPointError
        Training diverged: at the end of an epoch the weights, the bias or
        the cost on the whole training set are not finite (e.g. ``lr=1e303``).
        Every backend stops at the same epoch with the same message (the
        epoch kernels follow one IEEE rule; the check is made here).

    Notes
    -----
    On linearly separable data (e.g. all 30 breast-cancer features) the
    unregularized cost has no minimum: it keeps decreasing as ``|w|`` grows,
    so ``w`` grows without bound with more epochs while the cost tends to 0.
    """
    epochs = check_count("train", "epochs", epochs, 1)
    seed = check_count("train", "seed", seed, 0)
    lr = check_positive("train", "lr", lr)
    X = check_finite("train", "X", as_array("train", "X", X, 2))
    w0 = np.zeros(X.shape[0]) if w0 is None else check_finite("train", "w0", as_vector("train", "w0", w0))
    b0 = as_scalar("train", "b0", b0)
    y = check_finite("train", "y", as_vector("train", "y", y))
    w, b, X, y = check_model("train", w0, b0, X, y)
    _check_labels(y)
    batch = _check_batch("train", batch_size, X.shape[1])
    epoch = kernel("train_epoch", backend)
    # SGD reads one example (a column) at a time: store X example-major once.
    Xf = np.asfortranarray(X)
    cost = _history_cost(epoch, Xf)
    rng = np.random.default_rng(seed)
    model = Model(w=np.array(w, dtype=np.float64), b=b, backend=backend, batch_size=batch, lr=lr)
    model.history.append(cost(model.w, model.b, Xf, y))
    perm = rng.permutation(X.shape[1])
    # Validated once (the same checks and messages as a direct kernel call);
    # later epochs only swap in w, b and a fresh permutation (valid by construction).
    core, core_args, call = epoch.bind(model.w, model.b, Xf, y, lr, batch, perm)
    for k in range(1, epochs + 1):
        if k > 1:
            perm = rng.permutation(X.shape[1])
            core_args, call = _rebind(epoch, call, model.w, model.b, perm)
        raw, seconds = _first_epoch(epoch, core, core_args) if k == 1 else _timed(core, core_args)
        model.epoch_times_s.append(seconds)
        w_new, b_new, steps = epoch.finish(raw, call)
        w_new = np.asarray(w_new, dtype=np.float64)
        J = cost(w_new, b_new, Xf, y) if np.isfinite(w_new).all() and np.isfinite(b_new) else math.nan
        if not math.isfinite(J):
            raise FloatingPointError(
                f"train: diverged in epoch {k} of {epochs} (backend {backend}, batch_size {batch}, lr={lr:g}): "
                f"the weights or the cost are no longer finite (cost {J}, max |w| {np.abs(w_new).max():g}, "
                f"b {b_new:g}); try a smaller lr or standardize X")
        model.w, model.b = w_new, b_new
        model.history.append(J)
        if record_steps:
            model.step_costs.append(np.asarray(steps))
    return model


def convergence_histories(backend: str = "numba", n_features: int = 30, m: int = 20_000, epochs: int = 15,
                          lr: float = 0.1, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Cost per epoch and cumulative wall time for BGD, MBGD (64) and SGD on the same data."""
    from .datasets import make_classification

    X, y = make_classification(n_features, m, seed=seed)
    runs: dict[str, int | str] = {"BGD (batch = m)": "full", "MBGD (batch = 64)": 64, "SGD (batch = 1)": 1}
    out = {}
    for name, batch in runs.items():
        model = train(X, y, batch_size=batch, epochs=epochs, lr=lr, backend=backend, seed=seed)
        out[name] = {"cost": [float(c) for c in model.history],
                     "time_s": [0.0, *np.cumsum(model.epoch_times_s).tolist()],
                     "batch_size": model.batch_size, "backend": backend, "lr": lr, "m": m, "n_x": n_features}
    return out
