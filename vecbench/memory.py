"""Memory per call: the bytes one kernel call allocates beyond its output (its peak temporary memory).

What vectorization costs in memory: a NumPy expression writes a temporary array per
operation (``exp(-abs(z))``, ``1 + e``, the quotient), where a compiled loop keeps each
value in a register. The worker measures it with one extra call after the timed samples
(:func:`vecbench.measuring.measure`), never inside one; how depends on the backend,
which implements :meth:`vecbench.backends.Backend.memory_per_call` with the helpers here:

- :func:`traced`: ``tracemalloc``, which sees every allocation made through Python's
  allocators: Python objects, NumPy's array data (NumPy reports it to tracemalloc) and
  Numba's runtime (NRT allocates through CPython's raw allocator);
- :func:`from_events`: a framework's own list of allocations and frees, in order (the
  PyTorch profiler's memory events on the CPU);
- :func:`not_measured`: a reason, where nothing reliable is exposed.

Definition: with the live bytes at the start taken as zero, ``peak_bytes`` is the highest
count reached during the call minus what is still held when it returns (its output), so an
output written into ``out=`` costs nothing and a returned array is not a temporary.
``temporaries`` expresses it in arrays of the op's unit (:func:`unit_elements`: ``n`` for
``sigmoid``, ``m`` for the logistic-regression ops): ``numpy sigmoid: 3 temporaries of n floats``.

The dict stored in a record (``Record.memory``; ``{}``: not measured, e.g. older files)::

    {"method": "tracemalloc" | "torch.profiler" | "nrt" | ..., "peak_bytes": int or None,
     "output_bytes": int or None, "allocations": int or None, "unit": "m", "unit_elements": int,
     "reason": ""}

This module names no backend and imports nothing of vecbench.
"""

from __future__ import annotations

import math
import os
import tracemalloc
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["NONE_BYTES", "available_bytes", "from_events", "not_measured", "temporaries", "traced", "unit_elements", "unit_name"]

# Below this many bytes a call "allocates nothing": what is left is Python bookkeeping (a tuple
# of results, a float object), not an array.
NONE_BYTES = 1024


def not_measured(reason: str, method: str = "") -> dict[str, Any]:
    """The memory entry of a backend that cannot measure it here: ``reason`` says why."""
    return {"method": method, "peak_bytes": None, "output_bytes": None, "allocations": None, "reason": reason}


def traced(call: Callable[[], Any]) -> dict[str, Any]:
    """Peak temporary bytes of ``call()`` under :mod:`tracemalloc` (started and stopped here).

    Only allocations through Python's allocators are seen (Python objects, NumPy arrays,
    Numba's NRT); a library with its own allocator reads as nothing, so a backend uses this
    only where its data lives there. A trace already running (``python -X tracemalloc``) is
    kept running; only its peak is reset.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        result = call()
        held, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        if not was_tracing:
            tracemalloc.stop()
    output = max(0, held - start)
    return {"method": "tracemalloc", "peak_bytes": max(0, peak - start - output), "output_bytes": output,
            "allocations": None, "reason": ""}


def from_events(deltas: Iterable[int], method: str) -> dict[str, Any]:
    """Peak temporary bytes from a call's allocations (+bytes) and frees (-bytes), in the order they happened.

    Frees of memory allocated before the call count too (they can only lower the level),
    so the peak is measured from the level at the start.
    """
    level = peak = allocations = 0
    for d in deltas:
        level += int(d)
        peak = max(peak, level)
        allocations += d > 0
    output = max(0, level)
    return {"method": method, "peak_bytes": peak - output, "output_bytes": output, "allocations": allocations,
            "reason": ""}


# ---------------------------------------------------------------- the unit temporaries are counted in
def unit_keys(size: Mapping[str, int], keys: Sequence[str], axes: Sequence[str] = ()) -> tuple[str, ...]:
    """The size keys whose product is one temporary: ``keys`` (the op's ``temporary_unit``) or every key but the axes."""
    chosen = tuple(keys) or tuple(k for k in size if k not in axes)
    missing = [k for k in chosen if k not in size]
    if missing:
        raise ValueError(f"temporary unit {list(chosen)}: keys {missing} are not in the size {dict(size)}")
    return chosen


def unit_elements(size: Mapping[str, int], keys: Sequence[str], axes: Sequence[str] = ()) -> int:
    """Elements of one temporary array of the op at ``size`` (see :func:`unit_keys`)."""
    return math.prod(int(size[k]) for k in unit_keys(size, keys, axes))


def unit_name(size: Mapping[str, int], keys: Sequence[str], axes: Sequence[str] = ()) -> str:
    """The unit as written in a report: ``"n"``, ``"m"``, ``"N x H"``."""
    return " x ".join(unit_keys(size, keys, axes))


def temporaries(memory: Mapping[str, Any], itemsize: int) -> float | None:
    """``peak_bytes`` in temporaries of the unit (``peak_bytes / (unit_elements * itemsize)``); None if unknown."""
    peak, n = memory.get("peak_bytes"), memory.get("unit_elements")
    if peak is None or not n or itemsize <= 0:
        return None
    return float(peak) / (int(n) * itemsize)


def available_bytes() -> int:
    """Memory this process may still take: the memory available now (MemAvailable), capped by its address-space limit.

    Under ``RLIMIT_AS`` (``ulimit -v``, ``resource.setrlimit``) what counts is the limit less the address
    space already mapped (``/proc/self/statm``): a process given 2 GB on a 64 GB machine has 2 GB, not 64.
    """
    try:  # MemAvailable: free pages plus the page cache the kernel would drop (a test writing GBs fills it)
        import psutil

        free = int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001  no psutil figure on this system: the free pages alone
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            free = 1 << 62
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft == resource.RLIM_INFINITY:
            return free
        with open("/proc/self/statm") as f:
            mapped = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError, AttributeError):  # no rlimit or no /proc: the physical figure
        return free
    return max(0, min(free, soft - mapped))
