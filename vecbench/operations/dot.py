"""Dot product ``c = w . x = sum_i w_i x_i``.

The lecture's first vectorization example: for n = 10**6, the loop
``for i in range(n): c += a[i]*b[i]`` took ~718 ms and ``np.dot(a, b)`` ~33 ms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import as_vector, common_float
from ..opspec import Call, OpSpec


def careful_dot_rows(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``A @ v`` by the extended-real rule, with no intermediate overflow.

    The rule (every backend of ``dot`` and ``matvec``, and ``z = w^T X + b``
    in the logistic ops, follow it): a NaN in a row or in ``v``, a
    ``0 * inf`` product, or ``+inf`` and ``-inf`` products together give
    NaN; otherwise any infinite product gives that infinity; otherwise the
    sum of the finite products, computed after dividing the row and ``v`` by
    their largest ``|x|`` so that no product or partial sum overflows (the
    exact sum is returned whenever it is representable; beyond 1.8e308 it is
    ``+-inf``).

    Parameters
    ----------
    A : ndarray, shape (r, k), float64
    v : ndarray, shape (k,), float64

    Returns
    -------
    ndarray, shape (r,), float64
    """
    with np.errstate(all="ignore"):
        A = np.asarray(A, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        fa, fv = np.isfinite(A), np.isfinite(v)
        both = fa & fv
        # Products involving inf or NaN (0 elsewhere): +-inf, or NaN for 0 * inf and NaN inputs.
        odd = np.where(both, 0.0, A * v)
        nan = np.isnan(odd).any(axis=1)
        pos = (odd == np.inf).any(axis=1)
        neg = (odd == -np.inf).any(axis=1)
        ma = np.where(both, np.abs(A), 0.0).max(axis=1)
        mv = np.where(fv, np.abs(v), 0.0).max()
        ma = np.where(ma > 0, ma, 1.0)
        mv = mv if mv > 0 else 1.0
        s = np.where(both, (A / ma[:, None]) * (v / mv), 0.0).sum(axis=1)
        # Multiply by the smaller scale first: overflow only if the exact value overflows.
        small, big = np.minimum(ma, mv), np.maximum(ma, mv)
        out = s * small * big
        out = np.where(pos, np.inf, np.where(neg, -np.inf, out))
        return np.where(nan | (pos & neg), np.nan, out)


def overflow_possible(dtype: Any, n_terms: int, *arrays: np.ndarray, extra: float = 0.0) -> bool:
    """Whether a fast kernel could meet an overflow (or a NaN/inf) on these inputs.

    True when an input holds NaN/inf, or when ``n_terms * prod(max |x|) +
    extra``, a bound on every partial sum, reaches half the largest number
    of ``dtype``. Otherwise a non-finite fast result cannot come from
    overflow: it is a kernel bug, left for the harness's validation to see
    instead of being repaired by the careful path.
    """
    with np.errstate(all="ignore"):
        bound = float(n_terms)
        for a in arrays:
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                return True
            bound *= float(np.abs(a).max()) if a.size else 0.0
        return not bound + extra < float(np.finfo(dtype).max) / 2


def validate(a: Any, b: Any) -> Call:
    """Dot product ``sum_i a_i b_i`` of two vectors of equal length.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Real vectors; ``(1, n)`` rows and ``(n, 1)`` columns are accepted.

    Returns
    -------
    float

    Notes
    -----
    NaN, inf and extreme values, the same in every backend and the reference
    (no warnings): NaN in, a ``0 * inf`` product, or ``+inf`` and ``-inf``
    products together give NaN; any other infinite product gives that
    infinity; a finite result is the exact sum whenever it is representable,
    even when partial sums overflow in float64 (``[1e308, 1e308, -1e308] .
    [1, 1, 1]`` is ``1e308``): a fast result that is not finite is recomputed
    by :func:`careful_dot_rows`. Sums that cancel are subject to rounding in
    each backend's own summation order, within the op's tolerance of the
    reference relative to ``sum |a_i b_i|``.
    """
    a = as_vector("dot", "a", a)
    b = as_vector("dot", "b", b)
    if a.shape != b.shape:
        raise ValueError(
            f"dot: a has shape {a.shape} but b has shape {b.shape}; need len(a) == len(b)"
        )
    a, b = common_float(a, b)

    def post(r: Any) -> float:
        r = float(r)
        if math.isfinite(r) or not overflow_possible(a.dtype, a.shape[0], a, b):
            return r
        return float(careful_dot_rows(a.reshape(1, -1), b)[0])

    return Call((a, b), post=post)


def reference(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    with np.errstate(all="ignore"):
        r = float(np.dot(a, b))
    return r if math.isfinite(r) else float(careful_dot_rows(a.reshape(1, -1), b)[0])


def make_inputs(size, dtype, rng):
    n = size["n"]
    # Same data as the lecture: np.random.rand(n), twice.
    return rng.random(n).astype(dtype), rng.random(n).astype(dtype)


def dot_python(a: list[float], b: list[float]) -> float:
    c = 0.0
    for i in range(len(a)):
        c += a[i] * b[i]
    return c


def dot_numpy(a: np.ndarray, b: np.ndarray) -> float:
    # np.dot warns on overflow/NaN (it checks the FP flags after BLAS's ddot);
    # np.vdot calls the same ddot and does not, and costs no np.errstate
    # (measured 1.5-4 us per call, as much as the whole dot at n = 1e4).
    # vdot copies strided input, so those go through np.dot in an errstate.
    if a.flags.c_contiguous and b.flags.c_contiguous:
        return np.vdot(a, b)
    with np.errstate(all="ignore"):
        return np.dot(a, b)


SPEC = OpSpec(
    name="dot",
    order=10,
    summary="c = sum_i a_i b_i",
    validate=validate,
    reference=reference,
    make_inputs=make_inputs,
    sizes={
        "quick": [{"n": 10**3}, {"n": 10**5}],
        "default": [{"n": 10**k} for k in range(3, 8)],
        "large": [{"n": 10**k} for k in range(3, 9)],
    },
    nbytes=lambda s, item: 2 * s["n"] * item,
    flops=lambda s: 2 * s["n"],
)

# Found by vecbench.operations.discover(); the registry registers them (this module never imports it).
SPECS = (SPEC,)

# Which function runs each op in each built-in backend ("module:attr", imported on first use,
# so listing the ops imports no framework). A backend without an entry does not have the op.
KERNELS = {
    "dot": {
        "python": "vecbench.operations.dot:dot_python",
        "numpy": "vecbench.operations.dot:dot_numpy",
        "numba": "vecbench.operations.dot_numba:dot",
        "numba_parallel": "vecbench.operations.dot_numba:dot_parallel",
        "jax": "vecbench.operations.jax_kernels:dot",
        "torch": "vecbench.operations.torch_kernels:dot",
        "torch_compile": "vecbench.operations.torch_compile_kernels:dot",
        "dask": "vecbench.operations.dask_kernels:dot",
        "cupy": "vecbench.operations.xp_kernels:dot",
        "torch_cuda": "vecbench.operations.torch_kernels:dot",
        "jax_gpu": "vecbench.operations.jax_kernels:dot",
        "numba_cuda": "vecbench.operations.numba_cuda_kernels:dot",
    },
}
