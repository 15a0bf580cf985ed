"""The ``numba_parallel`` backend: Numba with ``prange``, race-free per-chunk partial sums.

It shares the Numba runtime (threads, caches, metadata) with the ``numba``
backend; only its kernels differ. Chunks depend on the problem size only, so
results do not depend on the thread count.
"""

from __future__ import annotations

from typing import ClassVar

from .numba import NumbaBackend

__all__ = ["NumbaParallelBackend"]


class NumbaParallelBackend(NumbaBackend):
    name = "numba_parallel"
    description = "Numba @njit(parallel=True) with prange, race-free per-chunk partial sums"
    style: ClassVar[dict[str, str]] = {"color": "#d62728", "marker": "v"}
    threads_allocate: ClassVar[bool] = True
