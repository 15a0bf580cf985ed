"""STREAM triad ``a = b + s * c`` in Numba, for the bandwidth probe."""

from __future__ import annotations

import numba

from ._jit import JIT, PJIT


@numba.njit(**JIT)
def triad(a, b, c, s):
    for i in range(a.shape[0]):
        a[i] = b[i] + s * c[i]


@numba.njit(**PJIT)
def triad_parallel(a, b, c, s):
    for i in numba.prange(a.shape[0]):
        a[i] = b[i] + s * c[i]
