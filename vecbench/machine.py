"""Machine metadata stored with every results file, and thread control.

Threads are set in one place for every backend (each knows how: BLAS pools
through threadpoolctl, Numba's own pool...), so a run's ``threads`` means the
same for every backend. This module names no backend: it asks them.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["machine_info", "backends_info", "cache_sizes", "thread_limit", "cpu_count"]


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
    """Every thread pool threadpoolctl sees in this process (BLAS, OpenMP)."""
    from threadpoolctl import threadpool_info

    keep = ("user_api", "internal_api", "version", "num_threads", "architecture", "filepath")
    return [{k: lib.get(k) for k in keep} for lib in threadpool_info()]


def backends_info() -> dict[str, dict[str, Any]]:
    """What each backend reports about itself (versions, threading layer...), by name."""
    from .registry import iter_backends

    info: dict[str, dict[str, Any]] = {}
    for b in iter_backends():
        try:
            info[b.name] = b.metadata()
        except Exception as exc:  # a backend's own report must not lose the run's results
            info[b.name] = {"available": b.available, "error": f"{type(exc).__name__}: {exc}"}
    return info


def machine_info() -> dict[str, Any]:
    """CPU, caches, OS, Python, thread pools, thread env vars, and each backend's own facts."""
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
        "blas": _blas_info(),
        "backends": backends_info(),
        "env": env,
    }


@contextlib.contextmanager
def thread_limit(threads: int | None, backends: Iterable[str] | None = None) -> Iterator[int]:
    """Limit every available backend's thread pools to ``threads``; yield the count in force.

    ``backends`` restricts which backends are limited (default: all available
    ones). ``None`` keeps the defaults (all cores) and yields the largest
    count the backends report. A count above what a backend can run is capped
    by that backend; the count yielded is what actually runs, never more than
    the cores this process may use.
    """
    if threads is not None and (isinstance(threads, bool) or threads < 1):
        raise ValueError(f"threads must be >= 1; got {threads!r}")
    from .registry import iter_backends

    chosen = [b for b in iter_backends() if b.available and (backends is None or b.name in backends)]
    with contextlib.ExitStack() as stack:
        if threads is not None:
            for b in chosen:
                stack.enter_context(b.thread_limit(threads))
        counts = [n for n in (b.threads() for b in chosen) if n]
        in_force = max(counts) if counts else (threads or cpu_count())
        if threads is not None:
            in_force = min(in_force, threads)
        yield min(in_force, cpu_count()) if threads is None else in_force
