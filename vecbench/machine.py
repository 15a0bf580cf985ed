"""Machine metadata stored with every results file, and thread control.

Threads are set in one place for both BLAS (through threadpoolctl) and Numba,
so a run's ``threads`` means the same for every backend.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["machine_info", "cache_sizes", "thread_limit", "cpu_count"]


def cpu_count() -> int:
    """CPUs this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _parse_size(text: str) -> int:
    text = text.strip().upper()
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    return int(text.rstrip("KMG")) * mult


def cache_sizes() -> dict[str, int]:
    """Data cache sizes in bytes, per core for L1/L2 and total for L3 (Linux sysfs).

    Returns ``{}`` where sysfs is not available.
    """
    sizes: dict[str, int] = {}
    root = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(root.glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            level = (index / "level").read_text().strip()
            if kind in ("Data", "Unified"):
                sizes[f"L{level}"] = _parse_size((index / "size").read_text())
        except (OSError, ValueError):
            continue
    return sizes


def _blas_info() -> list[dict[str, Any]]:
    from threadpoolctl import threadpool_info

    keep = ("user_api", "internal_api", "version", "num_threads", "architecture", "filepath")
    return [{k: lib.get(k) for k in keep} for lib in threadpool_info()]


def _numba_info() -> dict[str, Any]:
    if importlib.util.find_spec("numba") is None:
        return {"available": False}
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        layer = f"not yet chosen (config: {numba.config.THREADING_LAYER})"
    return {
        "available": True,
        "version": numba.__version__,
        "threading_layer": layer,
        "num_threads": numba.get_num_threads(),
        "cache_dir": numba.config.CACHE_DIR or "next to the sources (__pycache__)",
    }


def machine_info() -> dict[str, Any]:
    """CPU, caches, OS, Python, NumPy/Numba versions, BLAS and its threads, thread env vars."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("OMP_", "OPENBLAS_", "MKL_", "NUMBA_NUM", "NUMBA_THREADING"))
    }
    return {
        "cpu": _cpu_model(),
        "cores": cpu_count(),
        "caches": cache_sizes(),
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "numba": _numba_info(),
        "blas": _blas_info(),
        "env": env,
    }


@contextlib.contextmanager
def thread_limit(threads: int | None) -> Iterator[int]:
    """Limit BLAS (threadpoolctl) and Numba to ``threads``; yields the count in force.

    ``None`` keeps the defaults (all cores) and yields the Numba default.
    """
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1; got {threads}")
    from threadpoolctl import threadpool_limits

    numba = sys.modules.get("numba") or (
        importlib.import_module("numba") if importlib.util.find_spec("numba") else None
    )
    before = numba.get_num_threads() if numba else None
    if threads is None:
        yield before or cpu_count()
        return
    with threadpool_limits(limits=threads):
        if numba:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        try:
            yield threads
        finally:
            if numba:
                numba.set_num_threads(before)
