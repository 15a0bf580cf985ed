"""The slides' two-layer network: one SGD step on a ReLU network with a squared loss.

The lecture's chapter on computation graphs trains this network twice, once
as a static graph (TensorFlow) and once as a dynamic one (PyTorch), with
``N, D_in, H, D_out = 64, 1000, 100, 10``::

    h      = relu(x W1)                 (N, H)
    y_pred = h W2                       (N, D_out)
    loss   = sum((y_pred - y)^2)
    W1    <- W1 - lr * dloss/dW1
    W2    <- W2 - lr * dloss/dW2

The backward pass by hand (what ``loss.backward()`` and ``jax.grad`` compute)::

    g    = 2 (y_pred - y)               (N, D_out)
    dW2  = h^T g                        (H, D_out)
    dh   = g W2^T, zero where x W1 <= 0  (relu'(0) = 0, as torch.relu and jax.nn.relu)
    dW1  = x^T dh                       (D_in, H)

Rows of ``x`` are examples (the slides' layout, unlike the logistic-regression
ops' one example per column).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_array, check_positive, common_float
from ..opspec import Call, OpSpec
from .xp_kernels import mlp_step as xp_mlp_step

# The slide's network.
SLIDE = {"N": 64, "D_in": 1000, "H": 100, "D_out": 10}


def validate(x: Any, y: Any, W1: Any, W2: Any, lr: Any) -> Call:
    """One SGD step of ``loss = sum((relu(x W1) W2 - y)^2)`` on ``W1`` and ``W2``.

    Parameters
    ----------
    x : array_like, shape (N, D_in)
        One example per row.
    y : array_like, shape (N, D_out)
        Targets.
    W1 : array_like, shape (D_in, H)
    W2 : array_like, shape (H, D_out)
    lr : float
        Learning rate, ``> 0`` (the slide's is 1e-6).

    Returns
    -------
    W1_new : ndarray, shape (D_in, H)
    W2_new : ndarray, shape (H, D_out)
    loss : float
        The loss at the *old* weights.

    Notes
    -----
    NaN, inf and extreme values, the same in every backend and the reference
    (no warnings):

    - a NaN or an infinity anywhere in ``x``, ``y``, ``W1`` or ``W2`` makes
      the step undefined: ``W1_new`` and ``W2_new`` are all NaN and ``loss``
      is NaN (one NaN in ``x`` already spreads to every weight through
      ``dW2 = h^T g`` and ``dW1 = x^T dh``; the rule makes that exact and
      independent of which ``0 * inf`` products a kernel skips);
    - finite inputs whose step cannot overflow (a bound on every partial
      sum, from the inputs' largest ``|x|``, stays below half the largest
      float of the dtype) give each backend's own result, within the op's
      tolerance;
    - finite inputs whose step could overflow (huge values or ``lr``) are
      computed by the float64 reference formula (:func:`reference`, NumPy's
      summation order) in every backend and cast to the input dtype, so an
      overflowing sum gives the same ``+-inf``/NaN everywhere.

    The check reads each input once, before the timed kernel.
    """
    op = "mlp_step"
    x = as_array(op, "x", x, 2)
    y = as_array(op, "y", y, 2)
    W1 = as_array(op, "W1", W1, 2)
    W2 = as_array(op, "W2", W2, 2)
    if W1.shape[0] != x.shape[1]:
        raise ValueError(f"{op}: W1 has shape {W1.shape} but x has shape {x.shape}; "
                         "need W1.shape[0] == x.shape[1] (D_in inputs per example)")
    if W2.shape[0] != W1.shape[1]:
        raise ValueError(f"{op}: W2 has shape {W2.shape} but W1 has shape {W1.shape}; "
                         "need W2.shape[0] == W1.shape[1] (H hidden units)")
    if y.shape != (x.shape[0], W2.shape[1]):
        raise ValueError(f"{op}: y has shape {y.shape} but x has shape {x.shape} and W2 {W2.shape}; "
                         "need y.shape == (x.shape[0], W2.shape[1]) (N examples, D_out outputs)")
    x, y, W1, W2 = common_float(x, y, W1, W2)
    lr = check_positive(op, "lr", lr)
    case = _case(x, y, W1, W2, lr)

    def post(r: Any) -> tuple[np.ndarray, np.ndarray, float]:
        if case == "fast":
            return r[0], r[1], float(r[2])
        W1_new, W2_new, loss = _undefined(W1, W2) if case == "nan" else _float64_step(x, y, W1, W2, lr)
        return W1_new.astype(W1.dtype), W2_new.astype(W2.dtype), loss

    return Call((x, y, W1, W2, lr), post=post)


def _case(x: np.ndarray, y: np.ndarray, W1: np.ndarray, W2: np.ndarray, lr: float) -> str:
    """``"nan"`` (a non-finite input), ``"float64"`` (the step could overflow) or ``"fast"``."""
    with np.errstate(all="ignore"):
        ax, ay, a1, a2 = (float(np.abs(a).max()) for a in (x, y, W1, W2))
    if not all(np.isfinite(v) for v in (ax, ay, a1, a2)):  # max |x| is NaN or inf exactly then
        return "nan"
    N, D = x.shape
    H, Do = W2.shape
    # Bounds on |every partial sum| of each stage (products of maxima, times the number of terms).
    pre = D * ax * a1
    diff = H * pre * a2 + ay
    g = 2.0 * diff
    dW2 = N * pre * g
    dW1 = N * ax * (Do * g * a2)
    bounds = (pre, diff, N * Do * diff * diff, dW2, dW1, a1 + lr * dW1, a2 + lr * dW2)
    limit = float(np.finfo(x.dtype).max) / 2
    return "fast" if all(b < limit for b in bounds) else "float64"


def _undefined(W1: np.ndarray, W2: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    return np.full(W1.shape, np.nan), np.full(W2.shape, np.nan), float("nan")


# ---------------------------------------------------------------- reference
def reference(x, y, W1, W2, lr):
    """Float64 forward and manual backward pass (independent of every backend), by the rule of :func:`validate`."""
    x, y, W1, W2 = (np.asarray(a, np.float64) for a in (x, y, W1, W2))
    if not all(np.isfinite(a).all() for a in (x, y, W1, W2)):
        return _undefined(W1, W2)
    return _float64_step(x, y, W1, W2, float(lr))


def _float64_step(x, y, W1, W2, lr):
    """The step's formulas in float64, IEEE overflow and all, without warnings."""
    x, y, W1, W2 = (np.asarray(a, np.float64) for a in (x, y, W1, W2))
    with np.errstate(all="ignore"):
        return _formulas(x, y, W1, W2, lr)


def _formulas(x, y, W1, W2, lr):
    pre = x @ W1
    h = np.maximum(pre, 0.0)
    diff = h @ W2 - y
    loss = float(np.sum(diff * diff))
    g = 2.0 * diff
    dW2 = h.T @ g
    dh = np.where(pre <= 0, 0.0, g @ W2.T)  # relu'(0) = 0; a NaN stays NaN
    dW1 = x.T @ dh
    return W1 - lr * dW1, W2 - lr * dW2, loss


def make_inputs(size, dtype, rng):
    """The slide's data (``randn`` everywhere) and a learning rate that makes the step visible.

    ``lr = 1 / max |dloss/dW|`` (one significant digit) moves the largest
    weight by about 1, the scale of the ``randn`` weights: that is the slide's
    1e-6 at the slide's size, and at other sizes the step still changes the
    weights far above the tolerance, so a wrong gradient cannot hide behind an
    almost unchanged ``W``.
    """
    N, D, H, Do = size["N"], size["D_in"], size["H"], size["D_out"]
    x = rng.standard_normal((N, D))
    y = rng.standard_normal((N, Do))
    W1 = rng.standard_normal((D, H))
    W2 = rng.standard_normal((H, Do))
    g1, g2, _ = _float64_step(x, y, W1, W2, -1.0)  # W + dW: recover the gradients
    gmax = max(float(np.max(np.abs(g1 - W1))), float(np.max(np.abs(g2 - W2))), 1e-300)
    lr = float(f"{1.0 / gmax:.0e}")
    return x.astype(dtype), y.astype(dtype), W1.astype(dtype), W2.astype(dtype), lr


# ---------------------------------------------------------------- python
def mlp_step_python(x, y, W1, W2, lr):
    N, D, H, Do = len(x), len(W1), len(W2), len(W2[0])
    dW1 = [[0.0] * H for _ in range(D)]
    dW2 = [[0.0] * Do for _ in range(H)]
    loss = 0.0
    for n in range(N):
        xn = x[n]
        pre = [0.0] * H
        for d in range(D):
            xd, row = xn[d], W1[d]
            for j in range(H):
                pre[j] += xd * row[j]
        h = [0.0 if p <= 0.0 else p for p in pre]  # NaN stays NaN, as np.maximum
        g = [0.0] * Do
        for o in range(Do):
            yp = 0.0
            for j in range(H):
                yp += h[j] * W2[j][o]
            diff = yp - y[n][o]
            loss += diff * diff
            g[o] = 2.0 * diff
        for j in range(H):
            dh = 0.0
            for o in range(Do):
                dW2[j][o] += h[j] * g[o]
                dh += g[o] * W2[j][o]
            if not pre[j] <= 0.0:
                for d in range(D):
                    dW1[d][j] += xn[d] * dh
    W1_new = [[W1[d][j] - lr * dW1[d][j] for j in range(H)] for d in range(D)]
    W2_new = [[W2[j][o] - lr * dW2[j][o] for o in range(Do)] for j in range(H)]
    return W1_new, W2_new, loss


# ---------------------------------------------------------------- numpy
def mlp_step_numpy(x, y, W1, W2, lr):
    """The forward pass, then the backward pass written out (no autodiff)."""
    with np.errstate(all="ignore"):  # non-finite and overflowing steps follow the op's rule (see validate)
        return _mlp_step_numpy(x, y, W1, W2, lr)


# One formula for NumPy and the GPU's NumPy-like arrays (CuPy): xp_kernels writes it for any array module.
_mlp_step_numpy = xp_mlp_step


# ---------------------------------------------------------------- registry
def _mlp(N: int, D_in: int = 1000, H: int = 100, D_out: int = 10) -> dict[str, int]:
    return {"N": N, "D_in": D_in, "H": H, "D_out": D_out}


def _flops(s) -> int:
    N, D, H, Do = s["N"], s["D_in"], s["H"], s["D_out"]
    # forward 2NDH + 2NHDo, backward dW2 2NHDo + dh 2NHDo + dW1 2NDH, relu/mask, loss, updates
    return 4 * N * D * H + 6 * N * H * Do + 2 * N * H + 4 * N * Do + 2 * (D * H + H * Do)


SPEC = OpSpec(
    name="mlp_step",
    order=60,
    summary="h = relu(x W1); loss = sum((h W2 - y)^2); W -= lr dloss/dW  (the slides' two-layer net)",
    validate=validate,
    reference=reference,
    make_inputs=make_inputs,
    sizes={
        # Few shapes: JAX compiles once per shape.
        "test": [_mlp(1, 1, 1, 1), _mlp(5, 7, 4, 3), _mlp(33, 70, 40, 10)],
        "quick": [_mlp(8), _mlp(64)],
        "default": [_mlp(N) for N in (1, 8, 64, 512, 4096)],
        "large": [_mlp(N) for N in (1, 8, 64, 512, 4096, 32768)],
    },
    nbytes=lambda s, item: (s["N"] * (s["D_in"] + s["D_out"]) + 2 * (s["D_in"] * s["H"] + s["H"] * s["D_out"])) * item,
    flops=_flops,
    size_of=_mlp,
    # Sums over N x D_in products (~1e3 terms of size ~1e2): float32 loses more than in a dot.
    tolerance={"float64": (1e-9, 1e-9), "float32": (1e-3, 1e-3)},
    temporary_unit=("N", "D_in"),  # the input batch x, the op's main array
)

# Found by vecbench.operations.discover(); the registry registers them (this module never imports it).
SPECS = (SPEC,)

# Which function runs each op in each built-in backend ("module:attr", imported on first use,
# so listing the ops imports no framework). A backend without an entry does not have the op.
KERNELS = {
    "mlp_step": {
        "python": "vecbench.operations.mlp:mlp_step_python",
        "numpy": "vecbench.operations.mlp:mlp_step_numpy",
        "numba": "vecbench.operations.mlp_numba:mlp_step",
        "numba_parallel": "vecbench.operations.mlp_numba:mlp_step_parallel",
        "jax": "vecbench.operations.jax_kernels:mlp_step",
        "torch": "vecbench.operations.torch_kernels:mlp_step",
        "torch_compile": "vecbench.operations.torch_compile_kernels:mlp_step",
        "cupy": "vecbench.operations.xp_kernels:mlp_step",
        "torch_cuda": "vecbench.operations.torch_kernels:mlp_step",
        "jax_gpu": "vecbench.operations.jax_kernels:mlp_step",
        "numba_cuda": "vecbench.operations.numba_cuda_kernels:mlp_step",
    },
}
