"""The ``numpy`` backend: vectorized NumPy, no Python loop over elements.

It is also the vectorized baseline of the reports. Its threads are those of
the BLAS (and OpenMP) pools NumPy calls into, set through threadpoolctl; its
metadata names NumPy's own BLAS (other packages, SciPy say, may load a
different one into the same process).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

from .base import Backend

__all__ = ["NumpyBackend", "numpy_blas"]


def numpy_blas() -> list[dict[str, Any]]:
    """threadpoolctl's entries for the BLAS that NumPy itself links (all BLAS if none matches)."""
    import numpy as np
    from threadpoolctl import threadpool_info

    keep = ("user_api", "internal_api", "version", "num_threads", "architecture", "filepath")
    blas = [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]
    # NumPy's wheels bundle their BLAS under numpy.libs / numpy/.dylibs.
    root = str(np.__file__).rsplit("numpy", 1)[0]
    own = [lib for lib in blas if str(lib.get("filepath", "")).startswith(root + "numpy")]
    return [{k: lib.get(k) for k in keep} for lib in (own or blas)]


class NumpyBackend(Backend):
    name = "numpy"
    description = "vectorized NumPy, no Python loop over elements"
    role = "vectorized"
    style: ClassVar[dict[str, str]] = {"color": "#1f77b4", "marker": "o"}

    @contextlib.contextmanager
    def thread_limit(self, threads: int) -> Iterator[None]:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads):
            yield

    def memory_per_call(self, kernel: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        from ..memory import traced

        return traced(lambda: kernel.timed_core(*args))  # NumPy reports its array data to tracemalloc

    def threads(self) -> int | None:
        counts = [lib["num_threads"] for lib in numpy_blas() if lib.get("num_threads")]
        return max(counts) if counts else None

    def metadata(self) -> dict[str, Any]:
        import numpy as np

        return {"available": True, "version": np.__version__, "blas": numpy_blas()}
