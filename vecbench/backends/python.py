"""The ``python`` backend: the lecture's for-loops over Python floats.

Arrays are converted to (nested) lists of Python floats before the clock
starts, so the timed loop touches no NumPy; results are converted back after
it stops. This is the loop baseline every speedup is measured "over".
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .base import Backend

__all__ = ["PythonBackend"]


class PythonBackend(Backend):
    name = "python"
    description = "pure Python loops over Python floats (arrays converted to lists, untimed)"
    role = "loop"
    # Pure-Python loops run at roughly 20-60 ns per flop on current CPUs; the
    # static estimate (before anything is measured) takes the slow end.
    s_per_flop = 60e-9
    style: ClassVar[dict[str, str]] = {"color": "#7f7f7f", "marker": "s"}

    def prepare(self, args: tuple[Any, ...], has_out: bool) -> tuple[Any, ...]:
        args = args[:-1] if has_out else args
        return tuple(a.tolist() if isinstance(a, np.ndarray) else a for a in args)

    def finalize(self, result: Any, args: tuple[Any, ...], has_out: bool) -> Any:
        dtype = next(a.dtype for a in args if isinstance(a, np.ndarray))
        # A float beyond float32's range becomes inf silently, as it does when a
        # compiled backend stores it: no warning from this backend only.
        with np.errstate(over="ignore"):
            if has_out:
                out = args[-1]
                out[...] = result
                return out
            if isinstance(result, tuple):
                return tuple(np.asarray(r, dtype=dtype) if isinstance(r, list) else r for r in result)
            return np.asarray(result, dtype=dtype) if isinstance(result, list) else result

    memory_cost = 7.0  # measured: tracemalloc makes the sigmoid loop ~7x slower (every float is traced)

    def memory_per_call(self, kernel: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        from ..memory import traced

        return traced(lambda: kernel.timed_core(*args))  # lists and float objects: Python's allocator, all seen by tracemalloc

    def threads(self) -> int:
        return 1

    def metadata(self) -> dict[str, Any]:
        import platform

        return {"available": True, "implementation": platform.python_implementation()}
