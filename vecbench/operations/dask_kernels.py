"""Kernels of the ``dask`` backend: each op's NumPy function on every chunk, partial results combined.

Arguments arrive as dask arrays already persisted on the workers, cut as
:data:`LAYOUT` says (examples for the logistic ops).
A reduction is one task per chunk (``X_c dz_c``, ``sum dz_c``, ``sum loss_c``)
and one task that adds the partials in float64; an elementwise op is one task
per chunk running the op's NumPy kernel unchanged. So every NaN/inf rule is the
numpy backend's: the chunk functions are the same code, and a non-finite
result of a reduction goes through the op's ``post`` (the careful, scaled
recomputation) exactly as NumPy's does.

``train_epoch``: batch gradient descent (``batch = m``) is one graph per epoch:
a task per chunk and one update. Mini-batch steps are sequential (step k+1
needs the weights of step k) and a batch drawn through the shuffled order
touches any chunk, so the epoch is one graph of chained steps, each a task per
chunk it touches plus one update task: correct, but every step costs at least
a scheduler round trip. The backend times epochs of at most
``MAX_EPOCH_STEPS`` steps and records the others as skipped, with the reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._logistic import loss_terms
from ._logistic import sigmoid as _sigmoid
from .broadcast import col_percent_numpy, standardize_numpy
from .dot import dot_numpy
from .matvec import matvec_numpy

__all__ = ["col_percent", "dot", "logreg_cost", "logreg_grad", "logreg_step", "matvec", "sigmoid", "standardize",
           "tasks_per_call", "train_epoch"]


# Which argument of each op is cut, and along which axis: the examples (columns of X, entries of y)
# where there are examples; rows or columns that are independent of each other otherwise (col_percent's
# columns, standardize's feature rows: each op's own NumPy function then runs unchanged on a chunk).
LAYOUT: Mapping[str, Mapping[int, int]] = {
    "dot": {0: 0, 1: 0},
    "matvec": {0: 0},
    "col_percent": {0: 1},
    "standardize": {0: 0},
    "sigmoid": {0: 0},
    "logreg_cost": {2: 1, 3: 0},
    "logreg_grad": {2: 1, 3: 0},
    "logreg_step": {2: 1, 3: 0},
    "train_epoch": {2: 1, 3: 0},
}


def _client() -> Any:
    from ..registry import backend

    return backend("dask").client()  # type: ignore[attr-defined]


def _blocks(a: Any) -> list[Any]:
    """The chunks of a dask array as Delayed objects, in order along the axis that was cut."""
    return list(a.to_delayed().ravel())


@functools.cache
def _delayed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``dask.delayed(fn)``, made once per function (wrapping tokenizes the function: milliseconds)."""
    from dask import delayed

    wrapped: Any = delayed(fn, pure=False)
    return wrapped


# ---------------------------------------------------------------- what runs on a chunk (module level: picklable)
def _dot_part(a: np.ndarray, b: np.ndarray) -> float:
    return float(dot_numpy(a, b))


def _total(parts: list[float]) -> float:
    with np.errstate(all="ignore"):
        return float(np.sum(np.asarray(parts, dtype=np.float64)))


def _mean(parts: list[float], m: int) -> float:
    return _total(parts) / m


def _matvec_block(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    return matvec_numpy(A, v, np.empty(A.shape[0], dtype=A.dtype))


def _col_percent_block(A: np.ndarray) -> np.ndarray:
    return col_percent_numpy(A, np.empty_like(A))


def _standardize_block(X: np.ndarray) -> np.ndarray:
    return standardize_numpy(X, np.empty_like(X))


def _sigmoid_block(z: np.ndarray) -> np.ndarray:
    return _sigmoid(z, out=np.empty_like(z))


def _cost_part(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> float:
    with np.errstate(all="ignore"):
        return float(np.sum(loss_terms(w @ X + b, y), dtype=np.float64))


def _grad_part(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple[np.ndarray, float, float]:
    """This chunk's ``(X_c dz_c, sum dz_c, sum loss_c)``: numpy's grad_numpy before its division by m."""
    with np.errstate(all="ignore"):
        z = w @ X + b
        dz = _sigmoid(z, out=np.empty_like(z)) - y
        return X @ dz, float(np.sum(dz, dtype=np.float64)), float(np.sum(loss_terms(z, y), dtype=np.float64))


def _sum_parts(parts: list[tuple[np.ndarray, float, float]]) -> tuple[np.ndarray, float, float]:
    with np.errstate(all="ignore"):
        xdz = np.sum([np.asarray(p[0], dtype=np.float64) for p in parts], axis=0)
        return xdz, _total([p[1] for p in parts]), _total([p[2] for p in parts])


def _grad_total(parts: list[Any], m: int, dtype: Any) -> tuple[np.ndarray, float, float]:
    xdz, sdz, loss = _sum_parts(parts)
    with np.errstate(all="ignore"):
        return (xdz / m).astype(dtype), sdz / m, loss / m


def _step_total(parts: list[Any], m: int, w: np.ndarray, b: float, lr: float) -> tuple[np.ndarray, float, float]:
    dw, db, J = _grad_total(parts, m, w.dtype)
    with np.errstate(all="ignore"):
        return w - lr * dw, b - lr * db, J


def _epoch_part(X: np.ndarray, y: np.ndarray, local: np.ndarray, state: tuple[Any, ...]
                ) -> tuple[np.ndarray, float, float]:
    """One step's partial gradient over the batch's examples that live in this chunk."""
    return _grad_part(X[:, local], y[local], state[0], state[1])


def _epoch_step(state: tuple[Any, ...], parts: list[Any], nb: int, lr: float) -> tuple[np.ndarray, float, float]:
    """``w <- w - lr X_B dz / |B|``, ``b <- b - lr mean(dz)``; the batch's cost (before the step) beside them."""
    w, b = state[0], state[1]
    xdz, sdz, loss = _sum_parts(parts)
    with np.errstate(all="ignore"):  # the mean first, then lr (lr * sum could overflow), as train_epoch_numpy
        return w - lr * (xdz / nb).astype(w.dtype), b - lr * (sdz / nb), loss / nb


def _epoch_result(states: list[tuple[Any, ...]], w: np.ndarray, b: float) -> tuple[np.ndarray, float, np.ndarray]:
    last = states[-1] if states else (w, b)
    return last[0], float(last[1]), np.asarray([s[2] for s in states], dtype=np.float64)


# ---------------------------------------------------------------- graphs (built inside the timed call)
def _reduce(op_part: Callable[..., Any], X: Any, y: Any, *extra: Any) -> list[Any]:
    part = _delayed(op_part)
    return [part(xb, yb, *extra) for xb, yb in zip(_blocks(X), _blocks(y))]


def _graph_dot(a: Any, b: Any) -> Any:
    part = _delayed(_dot_part)
    return _delayed(_total)([part(x, y) for x, y in zip(_blocks(a), _blocks(b))])


def _graph_matvec(A: Any, v: np.ndarray) -> Any:
    return A.map_blocks(_matvec_block, v=v, drop_axis=1, dtype=A.dtype)


def _graph_col_percent(A: Any) -> Any:
    return A.map_blocks(_col_percent_block, dtype=A.dtype)


def _graph_standardize(X: Any) -> Any:
    return X.map_blocks(_standardize_block, dtype=X.dtype)


def _graph_sigmoid(z: Any) -> Any:
    return z.map_blocks(_sigmoid_block, dtype=z.dtype)


def _graph_cost(w: np.ndarray, b: float, X: Any, y: Any) -> Any:
    return _delayed(_mean)(_reduce(_cost_part, X, y, w, b), X.shape[1])


def _graph_grad(w: np.ndarray, b: float, X: Any, y: Any) -> Any:
    return _delayed(_grad_total)(_reduce(_grad_part, X, y, w, b), X.shape[1], X.dtype)


def _graph_step(w: np.ndarray, b: float, X: Any, y: Any, lr: float) -> Any:
    return _delayed(_step_total)(_reduce(_grad_part, X, y, w, b), X.shape[1], w, b, lr)


def _graph_epoch(w: np.ndarray, b: float, X: Any, y: Any, lr: float, batch: int, perm: np.ndarray) -> Any:
    xs, ys = _blocks(X), _blocks(y)
    c = X.chunks[1][0] if X.shape[1] else 1  # from_array cuts uniform chunks (the last one may be shorter)
    part, step = _delayed(_epoch_part), _delayed(_epoch_step)
    state: Any = (w.copy(), float(b))
    states = []
    for start in range(0, X.shape[1], batch):
        idx = perm[start:start + batch]
        owner = idx // c
        order = np.argsort(owner, kind="stable")
        owner, idx = owner[order], idx[order]
        cuts = np.flatnonzero(np.diff(owner)) + 1
        parts = [part(xs[int(o[0])], ys[int(o[0])], i - int(o[0]) * c, state)
                 for o, i in zip(np.split(owner, cuts), np.split(idx, cuts))]
        state = step(state, parts, len(idx), lr)
        states.append(state)
    return _delayed(_epoch_result)(states, w, float(b))


GRAPHS: dict[str, Callable[..., Any]] = {
    "dot": _graph_dot, "matvec": _graph_matvec, "col_percent": _graph_col_percent,
    "standardize": _graph_standardize, "sigmoid": _graph_sigmoid, "logreg_cost": _graph_cost,
    "logreg_grad": _graph_grad, "logreg_step": _graph_step, "train_epoch": _graph_epoch,
}


def _compute(graph: Any) -> Any:
    """Graph sent to the scheduler, computed, result gathered to this process."""
    return _client().compute(graph, sync=True)


def tasks_per_call(op: str, *args: Any) -> int:
    """Tasks one call of ``op`` submits (the graph's tasks, not counting the persisted inputs)."""
    import dask
    from dask.core import flatten

    graph = GRAPHS[op](*args)
    inputs = {k for a in args if dask.is_dask_collection(a) for k in flatten(a.__dask_keys__())}
    return len(set(dict(graph.__dask_graph__())) - inputs)


# ---------------------------------------------------------------- the kernels
def dot(a: Any, b: Any) -> float:
    return float(_compute(_graph_dot(a, b)))


def matvec(A: Any, v: np.ndarray) -> np.ndarray:
    return np.asarray(_compute(_graph_matvec(A, v)))


def col_percent(A: Any) -> np.ndarray:
    return np.asarray(_compute(_graph_col_percent(A)))


def standardize(X: Any) -> np.ndarray:
    return np.asarray(_compute(_graph_standardize(X)))


def sigmoid(z: Any) -> np.ndarray:
    return np.asarray(_compute(_graph_sigmoid(z)))


def logreg_cost(w: np.ndarray, b: float, X: Any, y: Any) -> float:
    return float(_compute(_graph_cost(w, b, X, y)))


def logreg_grad(w: np.ndarray, b: float, X: Any, y: Any) -> tuple[np.ndarray, float, float]:
    return _compute(_graph_grad(w, b, X, y))


def logreg_step(w: np.ndarray, b: float, X: Any, y: Any, lr: float) -> tuple[np.ndarray, float, float]:
    return _compute(_graph_step(w, b, X, y, lr))


def train_epoch(w: np.ndarray, b: float, X: Any, y: Any, lr: float, batch: int, perm: np.ndarray
                ) -> tuple[np.ndarray, float, np.ndarray]:
    return _compute(_graph_epoch(w, b, X, y, lr, batch, perm))
