"""``vecbench run --preset targets``: the performance targets, measured side by side.

Each target compares the best Numba backend with NumPy on the same inputs in
one run (a ratio of medians), and where it asks for it, the achieved
bandwidth against the bandwidth this machine measured at the start of the run.
The quick-sweep timing runs ``vecbench run --quick`` in a child process twice,
with every backend's compile caches empty (cold: Numba's, JAX's...) and again
(warm).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .harness import Settings, run
from .results import Results

__all__ = ["TARGETS", "Target", "evaluate", "measure", "quick_walls"]

# The targets are this project's promises about its own Numba kernels against NumPy.
NUMBA = ("numba", "numba_parallel")
BASELINE = "numpy"


@dataclass(frozen=True)
class Target:
    """A kernel at one size and what the best Numba backend must reach there."""

    op: str
    size: dict[str, int]
    min_speedup: float  # best numba median vs numpy median
    min_bandwidth: float | None = None  # fraction of measured STREAM bandwidth
    backends: tuple[str, ...] = NUMBA


TARGETS = [
    Target("logreg_grad", {"n_x": 100, "m": 10**6}, 2.0, 0.70),
    Target("logreg_step", {"n_x": 100, "m": 10**6}, 2.0, 0.70),
    Target("dot", {"n": 10**7}, 0.95, 0.80),
    Target("matvec", {"n": 4000, "k": 4000}, 0.95, 0.80),
    Target("dot", {"n": 10**4}, 1.0),
    Target("col_percent", {"m": 300, "n": 300}, 5.0),
    Target("col_percent", {"m": 3000, "n": 3000}, 1.0, 0.70),
]
QUICK_COLD_S, QUICK_WARM_S = 30.0, 10.0  # issue #27: a newcomer's first contact is the cold run
TARGET_REPEATS = 15


def evaluate(results: Results, targets: list[Target] = TARGETS) -> list[dict[str, Any]]:
    """One row per target: the measured ratio and bandwidth share, and whether each is met."""
    bw = results.bandwidth_gbps.get("best")
    rows = []
    for t in targets:
        label = "x".join(str(v) for v in t.size.values())
        recs = [r for r in results if r.op == t.op and r.size == t.size and r.ok]
        base = next((r for r in recs if r.backend == BASELINE and r.timing), None)
        cands = [r for r in recs if r.backend in t.backends and r.timing]
        if base is None or base.timing is None or not cands:
            rows.append({"target": t, "label": label, "ok": False, "note": "not measured (see failures)"})
            continue
        best = min(cands, key=lambda r: r.timing.median_s if r.timing else float("inf"))
        assert best.timing is not None
        speedup = base.timing.median_s / best.timing.median_s
        share = best.gbps / bw if bw and best.gbps else None
        fast = speedup >= t.min_speedup
        full = t.min_bandwidth is None or (share or 0.0) >= t.min_bandwidth
        short = [name for name, met in (("speedup", fast), ("bandwidth", full)) if not met]
        rows.append({"target": t, "label": label, "best": best.backend, "speedup": speedup,
                     "numpy_s": base.timing.median_s, "best_s": best.timing.median_s, "gbps": best.gbps,
                     "share": share, "ok": not short, "note": "short: " + ", ".join(short) if short else ""})
    return rows


def _quick_wall(cache: str) -> float:
    from .registry import iter_backends

    env = dict(os.environ)
    for b in iter_backends():  # each backend's on-disk compile cache, empty at first
        if b.available:
            env.update(b.fresh_cache_env(os.path.join(cache, b.name)))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "vecbench", "run", "--quick", "--no-progress",
                        "-o", str(Path(tmp) / "quick.json")], env=env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - t0


def run_kwargs(threads: int | None = None, targets: list[Target] = TARGETS) -> dict[str, Any]:
    """The arguments of the one :func:`vecbench.run` that measures ``targets``.

    NumPy and every target's backends, each op at its targets' sizes (``sizes_by_op``), more
    samples than a sweep's 7 to steady the medians. Stored in a run's journal, they are what
    ``--resume`` measures the rest with.
    """
    sizes: dict[str, list[dict[str, int]]] = {}
    for t in targets:
        sizes.setdefault(t.op, []).append(dict(t.size))
    backends = list(dict.fromkeys([BASELINE, *(b for t in targets for b in t.backends)]))
    return {"ops": list(sizes), "backends": backends, "sizes_by_op": sizes, "threads": threads,
            "settings": Settings(repeats=TARGET_REPEATS), "progress": False}


def measure(threads: int | None = None, targets: list[Target] = TARGETS, output: str | os.PathLike[str] | None = None,
            resume: str | os.PathLike[str] | None = None) -> Results:
    """Measure NumPy and each target's backends at the target sizes: one run, the one run path.

    ``output``/``resume`` as for :func:`vecbench.run` (journal, atomic file, resume); none: in memory.
    """
    # Backends are timed one after the other (the run's order), not with alternating samples:
    # alternating calls between OpenBLAS's thread pool (whose workers spin for
    # a while after each call) and Numba's made the parallel kernels up to 40%
    # slower on 2 cores (tried).
    return run(**run_kwargs(threads, targets), output=output, resume=resume)


def quick_walls() -> list[tuple[str, float, float]]:
    """``(what, wall seconds, limit)`` for ``vecbench run --quick`` on cold and then warm compile caches."""
    with tempfile.TemporaryDirectory() as cache:
        cold, warm = _quick_wall(cache), _quick_wall(cache)
    return [("run --quick, cold cache", cold, QUICK_COLD_S), ("run --quick, warm cache", warm, QUICK_WARM_S)]
