"""Matrix-vector product ``u = A v``, ``u_i = sum_j A_ij v_j``.

The lecture's non-vectorized version is two nested loops,
``u[i] = u[i] + A[i][j] * v[j]``; the vectorized one is ``np.dot(A, v)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_array, as_out, as_vector, common_float, copy_back, scratch_out
from ..opspec import Call, OpSpec
from .dot import careful_dot_rows, overflow_possible


def validate(A: Any, v: Any, out: np.ndarray | None = None) -> Call:
    """Matrix-vector product ``u = A v``.

    Parameters
    ----------
    A : array_like, shape (n, k)
    v : array_like, shape (k,)
        ``(1, k)`` and ``(k, 1)`` are accepted.
    out : ndarray, shape (n,), optional
        Where to write ``u``; must have the result's dtype.

    Returns
    -------
    ndarray, shape (n,)

    Notes
    -----
    Each ``u_i`` follows the rule of :func:`vecbench.operations.dot.validate`
    (NaN, inf, and exact sums despite overflowing partial sums), the same in
    every backend, without warnings. ``out`` may be ``v`` or overlap ``A``
    or ``v``: ``u`` is then computed into scratch and copied into ``out``.
    """
    A = as_array("matvec", "A", A, 2)
    v = as_vector("matvec", "v", v)
    if A.shape[1] != v.shape[0]:
        raise ValueError(
            f"matvec: A has shape {A.shape} but v has shape {v.shape}; need A.shape[1] == v.shape[0]"
        )
    A, v = common_float(A, v)
    out = as_out("matvec", out, (A.shape[0],), A.dtype)
    scratch = scratch_out(out, A, v)
    finish = copy_back(scratch, out)

    def post(r: Any) -> np.ndarray:
        bad = ~np.isfinite(scratch)
        if bad.any():  # an overflowing partial sum, inf or NaN: the careful rule
            rows = [i for i in np.flatnonzero(bad) if overflow_possible(A.dtype, A.shape[1], A[i], v)]
            if rows:
                scratch[rows] = careful_dot_rows(A[rows], v)
        return finish(r)

    return Call((A, v, scratch), post=post)


def reference(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    A, v = np.asarray(A, np.float64), np.asarray(v, np.float64).ravel()
    with np.errstate(all="ignore"):
        u = A @ v
    bad = ~np.isfinite(u)
    if bad.any():
        u[bad] = careful_dot_rows(A[bad], v)
    return u


def make_inputs(size, dtype, rng):
    n, k = size["n"], size["k"]
    return rng.random((n, k)).astype(dtype), rng.random(k).astype(dtype)


def matvec_python(A: list[list[float]], v: list[float]) -> list[float]:
    n, k = len(A), len(v)
    u = [0.0] * n
    for i in range(n):
        for j in range(k):
            u[i] = u[i] + A[i][j] * v[j]
    return u


def matvec_numpy(A: np.ndarray, v: np.ndarray, out: np.ndarray) -> np.ndarray:
    # matmul (unlike dot) accepts any out layout.
    with np.errstate(all="ignore"):  # overflow/NaN follow the op's rule, never a warning
        return np.matmul(A, v, out=out)


def _sq(n: int) -> dict[str, int]:
    return {"n": n, "k": n}


SPEC = OpSpec(
    name="matvec",
    order=20,
    summary="u = A v, u_i = sum_j A_ij v_j",
    validate=validate,
    reference=reference,
    make_inputs=make_inputs,
    sizes={
        "quick": [_sq(100), _sq(1000)],
        "default": [_sq(n) for n in (100, 300, 1000, 2000, 4000)],
        "large": [_sq(n) for n in (100, 300, 1000, 2000, 4000, 8000)],
    },
    nbytes=lambda s, item: (s["n"] * s["k"] + s["k"] + s["n"]) * item,
    flops=lambda s: 2 * s["n"] * s["k"],
    has_out=True,
    size_of=_sq,
)

# Found by vecbench.operations.discover(); the registry registers them (this module never imports it).
SPECS = (SPEC,)

# Which function runs each op in each built-in backend ("module:attr", imported on first use,
# so listing the ops imports no framework). A backend without an entry does not have the op.
KERNELS = {
    "matvec": {
        "python": "vecbench.operations.matvec:matvec_python",
        "numpy": "vecbench.operations.matvec:matvec_numpy",
        "numba": "vecbench.operations.matvec_numba:matvec",
        "numba_parallel": "vecbench.operations.matvec_numba:matvec_parallel",
        "jax": "vecbench.operations.jax_kernels:matvec",
        "torch": "vecbench.operations.torch_kernels:matvec",
        "torch_compile": "vecbench.operations.torch_compile_kernels:matvec",
        "dask": "vecbench.operations.dask_kernels:matvec",
        "cupy": "vecbench.operations.xp_kernels:matvec",
        "torch_cuda": "vecbench.operations.torch_kernels:matvec",
        "jax_gpu": "vecbench.operations.jax_kernels:matvec",
        "numba_cuda": "vecbench.operations.numba_cuda_kernels:matvec",
    },
}
