"""Dot product ``c = w . x = sum_i w_i x_i``.

The lecture's first vectorization example: for n = 10**6, the loop
``for i in range(n): c += a[i]*b[i]`` took ~718 ms and ``np.dot(a, b)`` ~33 ms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_vector, common_float
from ..registry import Call, OpSpec, register


def validate(a: Any, b: Any) -> Call:
    """Dot product ``sum_i a_i b_i`` of two vectors of equal length.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Real vectors; ``(1, n)`` rows and ``(n, 1)`` columns are accepted.

    Returns
    -------
    float
    """
    a = as_vector("dot", "a", a)
    b = as_vector("dot", "b", b)
    if a.shape != b.shape:
        raise ValueError(
            f"dot: a has shape {a.shape} but b has shape {b.shape}; need len(a) == len(b)"
        )
    return Call(common_float(a, b), post=float)


def reference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a.astype(np.float64).ravel(), b.astype(np.float64).ravel()))


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
    return np.dot(a, b)


SPEC = OpSpec(
    name="dot",
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

register(SPEC)
