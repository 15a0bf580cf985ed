"""Broadcasting examples: column percentages and feature standardization.

The lecture's broadcasting example is a nutrition table ``A`` (rows: carbs,
protein, fat; columns: foods) where ``100 * A / A.sum(axis=0)`` gives the
share of calories from each nutrient per food: the ``(1, n)`` row of column
sums is broadcast down the ``(m, n)`` matrix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import as_array, as_out, common_float, copy_back, scratch_out
from ..opspec import Call, OpSpec

# A feature whose standard deviation is at most this fraction of its |mean|
# (exactly zero for an all-zero row) is constant up to rounding: it is
# mapped to all zeros instead of being divided by ~0. Both sides scale with
# the data (X -> cX multiplies both by |c|), so whether a row is constant
# does not depend on its units: [1e-300, 1e-300] and [1e300, 1e300] are
# constant, [1e-300, 2e-300] is not.
CONSTANT_RTOL = 1e-10

# col_percent's fast path is ``A * (100 / s)``. A column sum ``s`` that is
# NaN/inf, or finite with ``0 < |s| < PERCENT_SAFE_MIN`` (``100 / s`` would
# overflow), takes the careful path instead (see _percent_careful), in every
# backend alike. An exact zero sum stays on the fast path: ``100 / 0`` is
# the defined ``inf`` (``nan`` for a zero entry).
PERCENT_SAFE_MIN = 1e-300

# standardize's fast path (float64 sums of x and (x - mu)^2) is exact to
# rounding unless those sums overflow or the squares underflow: rows whose
# variance is not finite or below STD_SAFE_MIN_VAR (an exact 0 included:
# [1e-200, 2e-200] squares to 0) take the careful path, which first divides
# the row by its largest |x|.
STD_SAFE_MIN_VAR = 1e-280


def validate_col_percent(A: Any, out: np.ndarray | None = None) -> Call:
    """Column percentages ``100 * A / A.sum(axis=0)``.

    Parameters
    ----------
    A : array_like, shape (m, n)
    out : ndarray, shape (m, n), optional

    Returns
    -------
    ndarray, shape (m, n)
        Each column sums to 100.

    Notes
    -----
    NaN, inf and extreme values, the same in every backend and the reference
    (no warning is ever emitted):

    - a column holding NaN, or both ``+inf`` and ``-inf``, is all NaN;
    - a column holding ``+inf`` (or ``-inf``) has sum ``+inf`` (``-inf``):
      its finite entries give 0 (signed), its infinite ones NaN;
    - a column that sums to exactly 0 gives ``+-inf`` (NaN for a 0 entry),
      IEEE division as in ``100 * A / A.sum(axis=0)``;
    - otherwise the result is the exact percentage, correctly scaled: a
      column of ``[1e307, 1e307]``, ``[1e308, 1e308]`` or ``[1e-310, 1e-310]``
      gives 50 each. A sum that overflows or a reciprocal that would is
      recomputed after dividing the column by its largest ``|a|``.

    ``out`` may be ``A`` itself or overlap it: the result is then computed
    into scratch memory and copied into ``out`` (same answer as without ``out``).
    """
    (A,) = common_float(as_array("col_percent", "A", A, 2))
    out = as_out("col_percent", out, A.shape, A.dtype)
    scratch = scratch_out(out, A)
    return Call((A, scratch), post=copy_back(scratch, out))


def validate_standardize(X: Any, out: np.ndarray | None = None) -> Call:
    """Standardize each feature (row) of ``X`` over the m examples (columns).

    ``out[i, j] = (X[i, j] - mu_i) / sigma_i`` with ``mu_i`` the row mean and
    ``sigma_i`` the population standard deviation (``ddof=0``), both
    broadcast across the row.

    Zero-variance rule: a feature whose ``sigma_i <= 1e-10 * |mu_i|`` (a
    constant row, up to rounding) has no scale to divide by; its output row
    is all zeros. The rule is scale-free (``X -> cX`` scales both sides), so
    ``[1e-300, 1e-300]`` and ``[5e-324, 5e-324]`` are constant rows and
    ``[1e-300, 2e-300]`` is not (it gives ``[-1, 1]``).

    Parameters
    ----------
    X : array_like, shape (n_x, m)
    out : ndarray, shape (n_x, m), optional
        May be ``X`` itself or overlap it (computed into scratch, then copied).

    Returns
    -------
    ndarray, shape (n_x, m)

    Notes
    -----
    NaN, inf and extreme values, the same in every backend and the reference
    (no warning is ever emitted): a row holding NaN or an infinity is all
    NaN (its mean or spread is undefined). Every finite row gets its exact
    standardized values, whatever its scale: a row whose sums would overflow
    (``|x|`` near 1e308, squares past 1e154) or whose variance underflows
    (``|x|`` below ~1e-140, subnormals) is first divided by its largest
    ``|x|``, which changes nothing mathematically.
    """
    (X,) = common_float(as_array("standardize", "X", X, 2))
    out = as_out("standardize", out, X.shape, X.dtype)
    scratch = scratch_out(out, X)
    return Call((X, scratch), post=copy_back(scratch, out))


def _percent_careful(A: np.ndarray) -> np.ndarray:
    """Column percentages of float64 ``A`` by the rule of :func:`validate_col_percent`, scaled.

    Each column is divided by its largest finite ``|a|`` before it is
    summed, so no sum overflows and no reciprocal is taken of a tiny sum.
    Used by the reference for every column and by the NumPy backend for the
    columns its fast path cannot do.
    """
    with np.errstate(all="ignore"):
        finite = np.isfinite(A)
        nan = np.isnan(A).any(axis=0)
        pinf = np.isposinf(A).any(axis=0)
        ninf = np.isneginf(A).any(axis=0)
        mx = np.where(finite, np.abs(A), 0.0).max(axis=0)
        scaled = A / np.where(mx > 0, mx, 1.0)
        P = scaled / scaled.sum(axis=0) * 100.0
        infcol = (pinf != ninf) & ~nan
        P[:, infcol] = A[:, infcol] * np.where(pinf, 0.0, -0.0)[infcol]
        P[:, nan | (pinf & ninf)] = np.nan
    return P


def _percent_needs_care(s: np.ndarray) -> np.ndarray:
    """Columns whose sum ``s`` the fast path ``A * (100 / s)`` cannot take (see PERCENT_SAFE_MIN)."""
    return ~(np.isfinite(s) & ((s == 0) | (np.abs(s) >= PERCENT_SAFE_MIN)))


def col_percent_reference(A: np.ndarray) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    return col_percent_numpy(A, np.empty_like(A))


def _standardize_careful(X: np.ndarray) -> np.ndarray:
    """Standardize float64 rows by the rule of :func:`validate_standardize`, each row scaled by its max ``|x|``.

    Standardizing is scale-free, so dividing a row by its largest ``|x|``
    first changes nothing but keeps every sum and square in range.
    """
    with np.errstate(all="ignore"):
        finite = np.isfinite(X).all(axis=1, keepdims=True)
        mx = np.abs(X).max(axis=1, keepdims=True)
        Xs = X / np.where(finite & (mx > 0), mx, 1.0)
        mu = Xs.mean(axis=1, keepdims=True)
        sigma = np.sqrt(np.mean(np.square(Xs - mu), axis=1, keepdims=True))
        const = sigma <= CONSTANT_RTOL * np.abs(mu)
        Z = np.where(const, 0.0, (Xs - mu) / np.where(const, 1.0, sigma))
        return np.where(finite, Z, np.nan)


def _standardize_needs_care(var: np.ndarray) -> np.ndarray:
    """Rows whose fast-path variance is not trustworthy (see STD_SAFE_MIN_VAR)."""
    return ~(np.isfinite(var) & (var >= STD_SAFE_MIN_VAR))


def standardize_reference(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return standardize_numpy(X, np.empty_like(X))


def make_matrix(size, dtype, rng):
    # Positive entries like the nutrition table (grams of a nutrient).
    return ((rng.random((size["m"], size["n"])) * 100 + 1).astype(dtype),)


def make_features(size, dtype, rng):
    n_x, m = size["n_x"], size["m"]
    scale = rng.uniform(0.5, 50.0, size=(n_x, 1))
    shift = rng.uniform(-100.0, 100.0, size=(n_x, 1))
    return ((rng.standard_normal((n_x, m)) * scale + shift).astype(dtype),)


def _ieee_div(x: float, y: float) -> float:
    # Python raises on division by zero; the other backends follow IEEE.
    if y != 0.0:
        return x / y
    if x == 0.0 or math.isnan(x):
        return math.nan
    return math.copysign(math.inf, x) * math.copysign(1.0, y)


def _percent_column_python(col: list[float]) -> list[float]:
    """:func:`_percent_careful` for one column, in pure Python."""
    if any(math.isnan(a) for a in col) or (math.inf in col and -math.inf in col):
        return [math.nan] * len(col)
    if math.inf in col or -math.inf in col:
        r = 0.0 if math.inf in col else -0.0
        return [a * r for a in col]
    mx = max(abs(a) for a in col) or 1.0
    scaled = [a / mx for a in col]
    s = 0.0
    for a in scaled:
        s += a
    return [_ieee_div(a, s) * 100.0 for a in scaled]


def col_percent_python(A: list[list[float]]) -> list[list[float]]:
    m, n = len(A), len(A[0])
    sums = [0.0] * n
    for i in range(m):
        for j in range(n):
            sums[j] += A[i][j]
    r = [_ieee_div(100.0, s) for s in sums]
    P = [[A[i][j] * r[j] for j in range(n)] for i in range(m)]
    for j, s in enumerate(sums):
        if not (math.isfinite(s) and (s == 0.0 or abs(s) >= PERCENT_SAFE_MIN)):
            for i, p in enumerate(_percent_column_python([A[i][j] for i in range(m)])):
                P[i][j] = p
    return P


def col_percent_numpy(A: np.ndarray, out: np.ndarray) -> np.ndarray:
    # The lecture's 100 * A / A.sum(axis=0), divided first: 100 * A overflows for |A| > 1.8e306.
    with np.errstate(all="ignore"):
        s = A.sum(axis=0)
        np.divide(A, s, out=out)
        np.multiply(out, 100.0, out=out)
        bad = _percent_needs_care(s)
        if bad.any():
            out[:, bad] = _percent_careful(A[:, bad].astype(np.float64))
    return out


def _standardize_row_python(row: list[float]) -> list[float] | None:
    """The fast path in float64 sums, or ``None`` when the row needs the careful path."""
    m = len(row)
    mu = 0.0
    for x in row:
        mu += x
    mu /= m
    var = 0.0
    for x in row:
        var += (x - mu) * (x - mu)
    var /= m
    if not (math.isfinite(var) and var >= STD_SAFE_MIN_VAR):
        return None
    sigma = math.sqrt(var)
    if sigma <= CONSTANT_RTOL * abs(mu):
        return [0.0] * m
    return [(x - mu) / sigma for x in row]


def standardize_python(X: list[list[float]]) -> list[list[float]]:
    result = []
    for row in X:
        z = _standardize_row_python(row)
        if z is None:  # overflow/underflow or non-finite: the same row, scaled by its max |x|
            if not all(math.isfinite(x) for x in row):
                z = [math.nan] * len(row)
            else:
                mx = max(abs(x) for x in row) or 1.0
                z = _standardize_row_python([x / mx for x in row])
                if z is None:  # variance still 0 after scaling: a constant row
                    z = [0.0] * len(row)
        result.append(z)
    return result


def standardize_numpy(X: np.ndarray, out: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        mu = X.mean(axis=1, keepdims=True, dtype=np.float64)
        np.subtract(X, mu, out=out)
        var = np.mean(np.square(out, dtype=np.float64), axis=1, keepdims=True)
        sigma = np.sqrt(var)
        const = sigma <= CONSTANT_RTOL * np.abs(mu)
        np.divide(out, np.where(const, 1.0, sigma), out=out)
        out[const[:, 0]] = 0.0
        bad = _standardize_needs_care(var[:, 0])
        if bad.any():
            out[bad] = _standardize_careful(X[bad].astype(np.float64))
    return out


def _matrix(n: int) -> dict[str, int]:
    return {"m": n, "n": n}


def _features(n_x: int, m: int) -> dict[str, int]:
    return {"n_x": n_x, "m": m}


COL_PERCENT = OpSpec(
    name="col_percent",
    order=30,
    summary="P = 100 * A / A.sum(axis=0)  (column percentages, broadcast (1,n) over (m,n))",
    validate=validate_col_percent,
    reference=col_percent_reference,
    make_inputs=make_matrix,
    sizes={
        "quick": [_matrix(30), _matrix(300)],
        "default": [_matrix(n) for n in (30, 100, 300, 1000, 3000)],
        "large": [_matrix(n) for n in (30, 100, 300, 1000, 3000, 10000)],
    },
    nbytes=lambda s, item: 2 * s["m"] * s["n"] * item,
    flops=lambda s: 3 * s["m"] * s["n"],
    has_out=True,
    size_of=_matrix,
)

STANDARDIZE = OpSpec(
    name="standardize",
    order=31,
    summary="X_ij <- (X_ij - mean_j X_ij) / std_j X_ij  (per feature row, broadcast (n_x,1))",
    validate=validate_standardize,
    reference=standardize_reference,
    make_inputs=make_features,
    sizes={
        "quick": [_features(10, 1000), _features(30, 10**5)],
        "default": [_features(30, m) for m in (10**3, 10**4, 10**5, 10**6)],
        "large": [_features(30, m) for m in (10**3, 10**4, 10**5, 10**6, 10**7)],
    },
    nbytes=lambda s, item: 2 * s["n_x"] * s["m"] * item,
    flops=lambda s: 5 * s["n_x"] * s["m"],
    has_out=True,
    # Outputs near 0 carry the absolute error of the mean (a sum over m
    # values): an absolute tolerance, not only a relative one.
    tolerance={"float64": (1e-9, 1e-9), "float32": (2e-4, 1e-4)},
    size_of=lambda m: _features(30, m),
)

# Found by vecbench.operations.discover(); the registry registers them (this module never imports it).
SPECS = (COL_PERCENT, STANDARDIZE,)

# Which function runs each op in each built-in backend ("module:attr", imported on first use,
# so listing the ops imports no framework). A backend without an entry does not have the op.
KERNELS = {
    "col_percent": {
        "python": "vecbench.operations.broadcast:col_percent_python",
        "numpy": "vecbench.operations.broadcast:col_percent_numpy",
        "numba": "vecbench.operations.broadcast_numba:col_percent",
        "numba_parallel": "vecbench.operations.broadcast_numba:col_percent_parallel",
        "jax": "vecbench.operations.jax_kernels:col_percent",
        "torch": "vecbench.operations.torch_kernels:col_percent",
        "torch_compile": "vecbench.operations.torch_compile_kernels:col_percent",
        "dask": "vecbench.operations.dask_kernels:col_percent",
        "cupy": "vecbench.operations.xp_kernels:col_percent",
        "torch_cuda": "vecbench.operations.torch_kernels:col_percent",
        "jax_gpu": "vecbench.operations.jax_kernels:col_percent",
        "numba_cuda": "vecbench.operations.numba_cuda_kernels:col_percent",
    },
    "standardize": {
        "python": "vecbench.operations.broadcast:standardize_python",
        "numpy": "vecbench.operations.broadcast:standardize_numpy",
        "numba": "vecbench.operations.broadcast_numba:standardize",
        "numba_parallel": "vecbench.operations.broadcast_numba:standardize_parallel",
        "jax": "vecbench.operations.jax_kernels:standardize",
        "torch": "vecbench.operations.torch_kernels:standardize",
        "torch_compile": "vecbench.operations.torch_compile_kernels:standardize",
        "dask": "vecbench.operations.dask_kernels:standardize",
        "cupy": "vecbench.operations.xp_kernels:standardize",
        "torch_cuda": "vecbench.operations.torch_kernels:standardize",
        "jax_gpu": "vecbench.operations.jax_kernels:standardize",
        "numba_cuda": "vecbench.operations.numba_cuda_kernels:standardize",
    },
}
