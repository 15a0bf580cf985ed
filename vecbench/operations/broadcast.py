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

from .._checks import as_array, as_out, common_float
from ..registry import Call, OpSpec, register

# A feature whose standard deviation is at most this fraction of its |mean|
# (exactly zero for an all-zero row) is constant up to rounding: it is
# mapped to all zeros instead of being divided by ~0.
CONSTANT_RTOL = 1e-10


def validate_col_percent(A: Any, out: np.ndarray | None = None) -> Call:
    """Column percentages ``100 * A / A.sum(axis=0)``.

    Parameters
    ----------
    A : array_like, shape (m, n)
    out : ndarray, shape (m, n), optional

    Returns
    -------
    ndarray, shape (m, n)
        Each column sums to 100. A column that sums to 0 gives ``inf``/``nan``
        (IEEE division, as NumPy does, without a warning).
    """
    (A,) = common_float(as_array("col_percent", "A", A, 2))
    return Call((A, as_out("col_percent", out, A.shape, A.dtype)))


def validate_standardize(X: Any, out: np.ndarray | None = None) -> Call:
    """Standardize each feature (row) of ``X`` over the m examples (columns).

    ``out[i, j] = (X[i, j] - mu_i) / sigma_i`` with ``mu_i`` the row mean and
    ``sigma_i`` the population standard deviation (``ddof=0``), both
    broadcast across the row.

    Zero-variance rule: a feature whose ``sigma_i <= 1e-10 * |mu_i|`` (a
    constant row, up to rounding) has no scale to divide by; its output row
    is all zeros.

    Parameters
    ----------
    X : array_like, shape (n_x, m)
    out : ndarray, shape (n_x, m), optional

    Returns
    -------
    ndarray, shape (n_x, m)
    """
    (X,) = common_float(as_array("standardize", "X", X, 2))
    return Call((X, as_out("standardize", out, X.shape, X.dtype)))


def col_percent_reference(A: np.ndarray) -> np.ndarray:
    A = A.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100 * A / A.sum(axis=0)


def standardize_reference(X: np.ndarray) -> np.ndarray:
    X = X.astype(np.float64)
    mu = X.mean(axis=1, keepdims=True)
    sigma = X.std(axis=1, keepdims=True)
    const = sigma <= CONSTANT_RTOL * np.abs(mu)
    return np.where(const, 0.0, (X - mu) / np.where(const, 1.0, sigma))


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


def col_percent_python(A: list[list[float]]) -> list[list[float]]:
    m, n = len(A), len(A[0])
    sums = [0.0] * n
    for i in range(m):
        for j in range(n):
            sums[j] += A[i][j]
    return [[_ieee_div(100.0 * A[i][j], sums[j]) for j in range(n)] for i in range(m)]


def col_percent_numpy(A: np.ndarray, out: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        np.multiply(A, 100, out=out)
        return np.divide(out, A.sum(axis=0), out=out)


def standardize_python(X: list[list[float]]) -> list[list[float]]:
    result = []
    for row in X:
        m = len(row)
        mu = 0.0
        for x in row:
            mu += x
        mu /= m
        var = 0.0
        for x in row:
            var += (x - mu) * (x - mu)
        sigma = math.sqrt(var / m)
        if sigma <= CONSTANT_RTOL * abs(mu):
            result.append([0.0] * m)
        else:
            result.append([(x - mu) / sigma for x in row])
    return result


def standardize_numpy(X: np.ndarray, out: np.ndarray) -> np.ndarray:
    mu = X.mean(axis=1, keepdims=True, dtype=np.float64)
    np.subtract(X, mu, out=out)
    sigma = np.sqrt(np.mean(np.square(out, dtype=np.float64), axis=1, keepdims=True))
    const = sigma <= CONSTANT_RTOL * np.abs(mu)
    np.divide(out, np.where(const, 1.0, sigma), out=out)
    out[const[:, 0]] = 0.0
    return out


def _matrix(n: int) -> dict[str, int]:
    return {"m": n, "n": n}


def _features(n_x: int, m: int) -> dict[str, int]:
    return {"n_x": n_x, "m": m}


COL_PERCENT = OpSpec(
    name="col_percent",
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

register(COL_PERCENT)
register(STANDARDIZE)
