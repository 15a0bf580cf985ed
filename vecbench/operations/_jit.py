"""Shared Numba settings and helpers for the compiled backends.

Importing this module imports Numba; only the ``*_numba`` kernel modules do,
and the registry imports those lazily.

Why these options:

- ``cache=True``: compiled code is stored on disk, so a second process skips
  the compile (the harness records whether a kernel came from the cache).
- ``error_model="numpy"``: division by zero gives inf/nan like NumPy instead of
  raising ``ZeroDivisionError`` inside a kernel.
- ``fastmath={"reassoc", "contract"}``: lets LLVM reorder a sum into several
  SIMD accumulators and fuse multiply-adds. This changes rounding in the last
  bits (results are still within the stated tolerance of the float64
  reference) but keeps IEEE inf/nan semantics: ``nnan``/``ninf`` are not set.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba.np.ufunc import parallel as _pool

FASTMATH = {"reassoc", "contract"}
JIT: dict[str, Any] = dict(cache=True, error_model="numpy", fastmath=FASTMATH, nogil=True)
PJIT: dict[str, Any] = dict(JIT, parallel=True)
# For the rare careful paths that scale data to stay in range: reassociation
# could turn ``a / sc / s * 100`` back into ``a * 100 / (sc * s)``, which
# overflows exactly where the careful path is needed.
SAFE_JIT: dict[str, Any] = dict(JIT, fastmath={"contract"})

# Parallel kernels split a reduction into chunks that depend only on the
# problem size (never on the thread count), so results are bitwise
# reproducible whatever the number of threads. Each worker thread then takes
# a contiguous run of chunks: one long stream per thread, as memory likes it.
MIN_CHUNK = 1 << 15
MAX_CHUNKS = 256


@numba.njit(**JIT)
def n_chunks(n, min_chunk):
    """Number of chunks for ``n`` items, each of at least ``min_chunk``."""
    c = max(1, n // min_chunk)
    return min(c, MAX_CHUNKS)


@numba.njit(**JIT)
def chunk_bounds(n, chunks, c):
    """Half-open range ``[lo, hi)`` of chunk ``c`` of ``chunks`` over ``n`` items."""
    lo = (n * c) // chunks
    hi = (n * (c + 1)) // chunks
    return lo, hi


@numba.njit(**JIT)
def dot_rows8(A, i, v, n):
    """``A[i:i+8, :n] @ v[:n]`` as eight float64 sums.

    Eight rows read together: eight concurrent memory streams (enough requests
    in flight for full bandwidth) and one load of ``v[j]`` for all eight.
    """
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    for j in range(n):
        vj = v[j]
        a0 += A[i, j] * vj
        a1 += A[i + 1, j] * vj
        a2 += A[i + 2, j] * vj
        a3 += A[i + 3, j] * vj
        a4 += A[i + 4, j] * vj
        a5 += A[i + 5, j] * vj
        a6 += A[i + 6, j] * vj
        a7 += A[i + 7, j] * vj
    return a0, a1, a2, a3, a4, a5, a6, a7


def workers() -> int:
    """Threads a parallel kernel should use (passed in: reading it inside a
    compiled function would make Numba refuse to cache that function)."""
    # numba.get_num_threads() takes a multiprocessing lock on every call
    # (~3 us measured, a tenth of a 300 x 300 col_percent); once the thread
    # pool is up, the same count is read directly. Private names, hence the
    # fallback should a Numba release rename them.
    get = getattr(_pool, "_get_num_threads", None)
    if get is not None and getattr(_pool, "_is_initialized", False):
        return get()
    return numba.get_num_threads()


def is_fortran(a: np.ndarray) -> bool:
    """True for a Fortran-ordered (column-major) array that is not also C-ordered."""
    return a.flags.f_contiguous and not a.flags.c_contiguous


def dispatchers(module) -> list:
    """All Numba dispatchers defined in ``module`` (for compile/cache statistics)."""
    return [v for v in vars(module).values() if isinstance(v, numba.core.registry.CPUDispatcher)]


__all__ = ["JIT", "PJIT", "SAFE_JIT", "FASTMATH", "n_chunks", "chunk_bounds", "dot_rows8", "is_fortran", "dispatchers", "workers"]
