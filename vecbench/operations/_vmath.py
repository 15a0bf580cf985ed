"""Vectorizable ``exp`` and ``log1p`` for Numba loops.

Calls to libm's ``exp``/``log1p`` cannot be vectorized by LLVM (the PyPI
llvmlite has no SVML), which made the logistic kernels spend ~15 ns per
example on transcendentals while the memory system waited. These versions
are straight-line float arithmetic that LLVM turns into SIMD code:

- ``exp(x)`` for ``-708 <= x <= 0``: ``x = n ln2 + r`` with ``|r| <= ln2/2``
  (Cody-Waite split of ln2), a degree-13 Taylor polynomial for ``e^r``
  (truncation < 1e-17), and ``2^n`` assembled from its IEEE bits.
  NaN gives NaN and ``-inf`` gives 0, as libm (two branch-free selects).
- ``log1p(e)`` for ``0 <= e <= 1``: ``2 atanh(s)`` with ``s = e / (2 + e) <= 1/3``,
  an odd series to ``s^35`` (truncation < 1e-17).

Both stay within a few ulps of libm (tested). Only ``contract`` fastmath is
allowed here: reassociation would undo the careful range reduction.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

VJIT: dict[str, Any] = dict(cache=True, error_model="numpy", fastmath={"contract"}, nogil=True)

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
EXP_MIN = -708.0  # below this e^x is subnormal; it is flushed to 0 (error < 3.4e-308)


@numba.njit(**VJIT)
def _exp_poly(r):
    # e^r = sum r^k / k!, k <= 13, Horner form
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    return p * r + 1.0


@numba.njit(**VJIT)
def exp_nonpos(x, out, bits):
    """``out[j] = exp(x[j])`` for ``x[j] <= 0`` (``-inf`` -> 0, NaN -> NaN); ``bits`` is int64 scratch."""
    scale = bits.view(np.float64)
    for j in range(x.shape[0]):
        xj = x[j]
        # NaN and -inf take the clamp too, so the int conversion below always
        # sees a finite number (fptosi of NaN/inf is undefined in LLVM).
        v = xj if xj >= EXP_MIN else EXP_MIN  # noqa: FURB136 - max() would keep NaN
        n = np.floor(v * LOG2E + 0.5)
        r = (v - n * LN2_HI) - n * LN2_LO
        out[j] = _exp_poly(r)
        bits[j] = (np.int64(n) + 1023) << 52
    for j in range(x.shape[0]):
        xj = x[j]
        # Two selects, no branch (the loop stays SIMD): in range -> the
        # polynomial; below EXP_MIN (-inf included) -> 0; NaN -> NaN.
        out[j] = out[j] * scale[j] if xj >= EXP_MIN else (0.0 if xj < EXP_MIN else xj)


@numba.njit(**VJIT)
def log1p_unit(e):
    """``log(1 + e)`` for ``0 <= e <= 1``; NaN gives NaN (it propagates through the arithmetic)."""
    s = e / (2.0 + e)
    s2 = s * s
    p = 1.0 / 35.0
    p = p * s2 + 1.0 / 33.0
    p = p * s2 + 1.0 / 31.0
    p = p * s2 + 1.0 / 29.0
    p = p * s2 + 1.0 / 27.0
    p = p * s2 + 1.0 / 25.0
    p = p * s2 + 1.0 / 23.0
    p = p * s2 + 1.0 / 21.0
    p = p * s2 + 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    p = p * s2 + 1.0
    return 2.0 * s * p
