"""Finite-difference checks: the lecture's computation-graph idea, nudge and watch.

In the lecture, ``J = 3(a + b c)`` at ``a=5, b=3, c=2`` gives ``J = 33``;
nudging ``a`` to 5.001 moves ``J`` to 33.003, so ``dJ/da = 3``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["numerical_grad", "gradcheck"]


def numerical_grad(f: Callable[..., float], args: Sequence[float] | np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences ``(f(x + h e_k) - f(x - h e_k)) / 2h`` for each scalar argument.

    Parameters
    ----------
    f : callable
        ``f(*args) -> float``.
    args : sequence of float
        The point where the gradient is taken.
    h : float
        The nudge.

    Returns
    -------
    ndarray of shape (len(args),)
    """
    x = np.asarray(args, dtype=np.float64)
    g = np.empty_like(x)
    for k in range(x.size):
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        g[k] = (f(*up) - f(*down)) / (2 * h)
    return g


def gradcheck(
    f: Callable[[np.ndarray], float],
    grad: np.ndarray,
    x: np.ndarray,
    h: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> bool:
    """Compare an analytic gradient ``grad`` of ``f`` at ``x`` with central differences.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` for a float64 array ``x``.
    grad : ndarray
        The claimed gradient, same shape as ``x``.
    x : ndarray
        The point.
    h, rtol, atol : float
        Step and tolerances of the comparison.

    Returns
    -------
    bool
        True when every component agrees within ``atol + rtol * |numerical|``.

    Raises
    ------
    ValueError
        If ``grad`` and ``x`` have different shapes.
    """
    x = np.asarray(x, dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    if grad.shape != x.shape:
        raise ValueError(f"gradcheck: grad has shape {grad.shape} but x has shape {x.shape}; need equal shapes")
    flat = x.ravel()
    num = numerical_grad(lambda *v: f(np.asarray(v).reshape(x.shape)), flat, h).reshape(x.shape)
    return bool(np.allclose(grad, num, rtol=rtol, atol=atol))
