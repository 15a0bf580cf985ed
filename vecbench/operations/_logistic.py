"""The numerically stable logistic function and cost term, written once for NumPy and Python floats.

``sigmoid(z) = 1 / (1 + exp(-z))`` is evaluated from ``e = exp(-|z|)`` as
``1 / (1 + e)`` for ``z >= 0`` and ``e / (1 + e)`` below, so ``exp`` never
overflows; one example's cost ``-y log a - (1 - y) log(1 - a)`` equals
``softplus(z) - y z`` with ``softplus(z) = log(1 + exp(z)) = max(z, 0) +
log1p(exp(-|z|))``, finite for any finite ``z``. NaN in gives NaN out, and
``z = +-inf`` gives ``sigmoid = 1, 0`` (the limits), in every form below.
The references, the NumPy kernels and the pure-Python kernels all use these;
the compiled backends have their own vectorized forms of the same formulas.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["loss_and_sigmoid1", "loss_terms", "sigmoid", "sigmoid1"]


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Elementwise stable sigmoid of an array (into ``out`` when given)."""
    e = np.exp(-np.abs(z))
    return np.divide(np.where(z >= 0, 1.0, e), 1.0 + e, out=out)


def loss_terms(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each example's cost ``softplus(z) - y z`` (``np.logaddexp(0, z)`` is softplus without overflow)."""
    return np.logaddexp(0.0, z) - y * z


def sigmoid1(z: float) -> float:
    """The stable sigmoid of one Python float."""
    e = math.exp(-abs(z))
    return (1.0 if z >= 0.0 else e) / (1.0 + e)


def loss_and_sigmoid1(z: float, y: float) -> tuple[float, float]:
    """One example's cost term and ``a = sigmoid(z)``, sharing one ``exp(-|z|)``."""
    e = math.exp(-abs(z))
    return max(z, 0.0) + math.log1p(e) - y * z, (1.0 if z >= 0.0 else e) / (1.0 + e)
