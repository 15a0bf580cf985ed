"""The ``numba`` backend: ``@njit(cache=True)`` kernels on one thread.

Kernels live in ``vecbench/operations/<op>_numba.py`` and are imported on
first use, so ``import vecbench`` never imports Numba. A first call compiles
each signature (or loads it from Numba's on-disk cache); the harness learns
which from the dispatchers' signature and cache-hit counters.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from typing import Any, ClassVar

from .base import Backend

__all__ = ["NumbaBackend"]

_OPS = "vecbench.operations"

# Numba dispatchers that every kernel module shares (helpers compiled once).
_SHARED = (f"{_OPS}._jit", f"{_OPS}._vmath", f"{_OPS}._memory")


class NumbaBackend(Backend):
    name = "numba"
    description = "Numba @njit(cache=True), one thread"
    requires = ("numba",)
    install = "numba"
    role = "compiled"
    jit = True
    style: ClassVar[dict[str, str]] = {"color": "#ff7f0e", "marker": "^"}
    # Whether kernels allocate inside prange bodies, in Numba's worker threads: tracemalloc takes
    # the GIL for every traced allocation, from whichever thread makes it, so there only the
    # runtime's own counts are read (no bytes), never a risk of a stalled parallel region.
    threads_allocate: ClassVar[bool] = False

    def compile_state(self, kernel: Any) -> tuple[int, int]:
        """(signatures compiled, cache hits) over the dispatchers a kernel can reach."""
        from numba.core.registry import CPUDispatcher

        modules = [kernel.module, *_SHARED]
        ds = [v for m in modules if m in sys.modules or m == kernel.module
              for v in vars(importlib.import_module(m)).values() if isinstance(v, CPUDispatcher)]
        sigs = sum(len(d.signatures) for d in ds)
        hits = sum(sum(d.stats.cache_hits.values()) for d in ds)
        return sigs, hits

    def compiled(self, kernel: Any, before: Any, after: Any, args: tuple[Any, ...]) -> tuple[bool, bool | None]:
        if before is None or after is None or after[0] <= before[0]:
            return False, None
        return True, after[1] > before[1]

    def memory_per_call(self, kernel: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        """Bytes from tracemalloc (NRT allocates through CPython's raw allocator), allocations from NRT's counters.

        NRT's statistics (``rtsys.get_allocation_stats()``) count allocations but not bytes; they are
        switched on for this call only (an atomic increment per allocation) and restored after.
        """
        from numba.core.runtime import _nrt_python, rtsys  # type: ignore[attr-defined]  # a C extension

        from ..memory import not_measured, traced

        def call() -> Any:
            return kernel.timed_core(*args)

        was_on = _nrt_python.memsys_stats_enabled()
        _nrt_python.memsys_enable_stats()
        try:
            before = rtsys.get_allocation_stats().alloc
            if self.threads_allocate:
                call()
                entry = not_measured("bytes not measured: its prange bodies allocate in Numba's worker threads, "
                                     "where tracemalloc would take the GIL; Numba's runtime counts allocations, "
                                     "not bytes", method="nrt")
            else:
                entry = dict(traced(call), method="tracemalloc+nrt")
            entry["allocations"] = rtsys.get_allocation_stats().alloc - before
        finally:
            if not was_on:
                _nrt_python.memsys_disable_stats()
        return entry

    def fresh_cache_env(self, folder: str) -> dict[str, str]:
        return {"NUMBA_CACHE_DIR": folder}

    @contextlib.contextmanager
    def thread_limit(self, threads: int) -> Iterator[None]:
        import numba

        before = numba.get_num_threads()
        numba.set_num_threads(min(threads, getattr(numba.config, "NUMBA_NUM_THREADS", threads)))
        try:
            yield
        finally:
            numba.set_num_threads(before)

    def threads(self) -> int:
        import numba

        return int(numba.get_num_threads())

    def metadata(self) -> dict[str, Any]:
        if not self.available:
            return {"available": False, "install": self.install_hint}
        import numba

        config = numba.config
        try:
            layer: str = numba.threading_layer()
        except ValueError:  # no parallel kernel has run yet
            layer = f"not yet chosen (config: {getattr(config, 'THREADING_LAYER', 'default')})"
        return {
            "available": True,
            "version": numba.__version__,
            "threading_layer": layer,
            "num_threads": numba.get_num_threads(),
            "cache_dir": getattr(config, "CACHE_DIR", "") or "next to the sources (__pycache__)",
        }
