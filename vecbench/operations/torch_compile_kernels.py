"""``torch.compile`` kernels of every op (the ``torch_compile`` backend): PyTorch's static graph.

Each kernel is the eager kernel's formula (:mod:`vecbench.operations.torch_kernels`, the same
functions, so NaN and inf propagate as there) handed to ``torch.compile(..., dynamic=False,
fullgraph=True)``: Dynamo traces it into one graph and Inductor generates and compiles C++/OpenMP
code for it (on the CPU: gcc). ``fullgraph=True`` makes a graph break an error, never a silent
return to eager Python.

One compiled graph per shape, stride, dtype and thread count
    ``dynamic=False``, as ``jax.jit`` specializes on shapes: a new shape is a new compile, and that
    compile happens in the harness's warm-up call (stored as ``compile_time_s``), never in a timed
    call, which repeats the warm-up's arguments. Each signature gets its own copy of the function's
    code object (``_compile_and_call``): Dynamo keeps its graphs, guards and recompile limit per code
    object, so a timed call checks the guards of one graph only, and a sweep over many sizes never
    reaches Dynamo's recompile limit (where it would fall back to eager Python without an error).
    A Python float would be a constant of a ``dynamic=False`` graph (Dynamo guards on its value), so
    :meth:`vecbench.backends.torch_compile.TorchCompileBackend.prepare` hands ``b`` and ``lr`` over as
    0-d tensors of the inputs' dtype (as eager PyTorch computes a Python scalar in the tensor's dtype):
    a new learning rate or bias reuses the graph. Called directly with a float, a kernel compiles per
    value. The lookup of a signature's graph, a few microseconds, is inside every timed call, as
    Dynamo's guard check is.

What does not fit in one graph
    ``col_percent`` and ``standardize`` compile the fast path, which also returns one flag per column
    or row it cannot do; the rare flagged columns are recomputed in eager code, as in ``torch``.
    ``train_epoch``'s loop over steps stays in Python (tracing it would unroll ``m / batch`` steps
    into one graph, seconds of compile per thousand steps): the *step* is compiled (the gather
    ``X[:, idx]``, the hand gradient and the update: one graph for the full batches, one for a
    smaller last batch), and the loop calls it. ``mlp_step`` compiles the whole step, the backward
    pass included, through ``torch.func.grad_and_value`` (``loss.backward()`` would break the graph).
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Callable
from typing import Any

import torch

from . import torch_kernels as eager

# PyTorch's own warnings while its compiler loads and compiles (deprecations inside ``torch.jit`` and
# the like) are not the kernel's: a caller that treats warnings as errors (the semantics tests) must not
# see them. Warnings from elsewhere (NumPy's, in the eager fix-up of ``col_percent``) still reach it.
_TORCH_WARNINGS = r"torch(\.|$)"

with warnings.catch_warnings():  # Dynamo and Inductor load with the module (resolve time), not in a first call
    warnings.filterwarnings("ignore", module=_TORCH_WARNINGS)
    import torch._dynamo  # noqa: F401
    import torch._inductor.compile_fx  # noqa: F401

__all__ = ["col_percent", "dot", "logreg_cost", "logreg_grad", "logreg_step", "matvec", "mlp_step", "sigmoid",
           "standardize", "train_epoch", "compiled_signatures"]

# (function, threads, argument signature) -> its compiled copy. Kept for the life of the process (the worker
# measures one kernel at a handful of sizes; a test session a few hundred small signatures at most).
_COMPILED: dict[tuple[Any, ...], Callable[..., Any]] = {}


def _signature(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a ``dynamic=False`` graph is specialized on: tensors' shape, strides and dtype, numbers' values."""
    sig: list[Any] = []
    for a in args:
        if isinstance(a, torch.Tensor):
            sig.append((tuple(a.shape), a.stride(), a.dtype, a.device.type))
        else:  # with dynamic=False a Python number is a constant of the graph (the backend passes tensors)
            sig.append(a)
    return tuple(sig)


def _key(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
    return fn, torch.get_num_threads(), _signature(args)


def _compile_and_call(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Compile ``fn`` for ``args``' signature by calling it (the warm-up call), and keep it."""
    # A fresh code object: Dynamo's cache (and its recompile limit) is per code object, so this
    # signature's graph is the only one its guards are checked against.
    code = fn.__code__.replace()
    fresh = types.FunctionType(code, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    c = torch.compile(fresh, dynamic=False, fullgraph=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=_TORCH_WARNINGS)
        result = c(*args)
    _COMPILED[_key(fn, args)] = c  # kept once compiled: a compile that raised is tried (and reported) again
    return result


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    c = _COMPILED.get(_key(fn, args))
    return c(*args) if c is not None else _compile_and_call(fn, args)


def compiled_signatures() -> int:
    """How many (kernel, signature) graphs this process has compiled."""
    return len(_COMPILED)


# ---------------------------------------------------------------- vector ops
def dot(a, b):
    return _call(eager.dot, a, b)


def matvec(A, v):
    return _call(eager.matvec, A, v)


def col_percent(A):
    P, bad = _call(eager.col_percent_fast, A)
    return eager.col_percent_fix(A, P, bad)


def standardize(X):
    Z, bad = _call(eager.standardize_fast, X)
    return eager.standardize_fix(X, Z, bad)


def sigmoid(z):
    return _call(eager.sigmoid, z)


# ---------------------------------------------------------------- logistic regression
def logreg_cost(w, b, X, y):
    return _call(eager.logreg_cost, w, b, X, y)


def logreg_grad(w, b, X, y):
    return _call(eager.logreg_grad, w, b, X, y)


def logreg_step(w, b, X, y, lr):
    return _call(eager.logreg_step, w, b, X, y, lr)


# ---------------------------------------------------------------- the slide's loop, its step compiled
def _train_step(w, b, X, y, idx, lr):
    dw, db, J = eager.logreg_grad(w, b, X[:, idx], y[idx])  # the gather is part of every step
    return w - lr * dw, b - lr * db, J


def train_epoch(w, b, X, y, lr, batch, perm):
    m = X.shape[1]
    costs = torch.empty(math.ceil(m / batch), dtype=torch.float64, device=X.device)
    b = torch.as_tensor(b, dtype=X.dtype, device=X.device)
    steps: dict[int, Callable[..., Any]] = {}  # batch length -> compiled step, looked up once per epoch
    for k, start in enumerate(range(0, m, batch)):
        idx = perm[start:start + batch]
        step = steps.get(len(idx))
        if step is not None:
            w, b, costs[k] = step(w, b, X, y, idx, lr)
            continue
        key = _key(_train_step, (w, b, X, y, idx, lr))
        w, b, costs[k] = _call(_train_step, w, b, X, y, idx, lr)
        steps[len(idx)] = _COMPILED[key]
    return w, b, costs


# ---------------------------------------------------------------- the slides' two-layer network
def _mlp_loss(W1, W2, x, y):
    y_pred = torch.relu(x @ W1) @ W2  # the slide's x.mm(w1).clamp(min=0).mm(w2), relu'(0) = 0
    return torch.sum(torch.square(y_pred - y))


def _mlp_step(x, y, W1, W2, lr):
    (g1, g2), loss = torch.func.grad_and_value(_mlp_loss, argnums=(0, 1))(W1, W2, x, y)
    return W1 - lr * g1, W2 - lr * g2, loss


def mlp_step(x, y, W1, W2, lr):
    return _call(_mlp_step, x, y, W1, W2, lr)
