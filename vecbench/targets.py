"""``vecbench run --preset targets``: the performance targets, measured side by side.

Each target compares the best Numba backend with NumPy on the same inputs in
one run (a ratio of medians), and where it asks for it, the achieved
bandwidth against the bandwidth this machine measured at the start of the run.
The quick-sweep timing runs ``vecbench run --quick`` in a child process twice,
on an empty Numba cache (cold) and again (warm).
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

__all__ = ["TARGETS", "Target", "run_targets", "evaluate"]

NUMBA = ("numba", "numba_parallel")


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
QUICK_COLD_S, QUICK_WARM_S = 60.0, 20.0
TARGET_REPEATS = 15


def evaluate(results: Results, targets: list[Target] = TARGETS) -> list[dict[str, Any]]:
    """One row per target: the measured ratio and bandwidth share, and whether each is met."""
    bw = results.bandwidth_gbps.get("best")
    rows = []
    for t in targets:
        label = "x".join(str(v) for v in t.size.values())
        recs = [r for r in results if r.op == t.op and r.size == t.size and r.ok]
        numpy = next((r for r in recs if r.backend == "numpy"), None)
        cands = [r for r in recs if r.backend in t.backends]
        if numpy is None or not cands:
            rows.append({"target": t, "label": label, "ok": False, "note": "not measured (see failures)"})
            continue
        best = min(cands, key=lambda r: r.median_s)
        speedup = numpy.median_s / best.median_s
        share = best.gbps / bw if bw and best.gbps else None
        fast = speedup >= t.min_speedup
        full = t.min_bandwidth is None or (share or 0.0) >= t.min_bandwidth
        short = [name for name, met in (("speedup", fast), ("bandwidth", full)) if not met]
        rows.append({"target": t, "label": label, "best": best.backend, "speedup": speedup,
                     "numpy_s": numpy.median_s, "best_s": best.median_s, "gbps": best.gbps,
                     "share": share, "ok": not short, "note": "short: " + ", ".join(short) if short else ""})
    return rows


def _quick_wall(cache: str) -> float:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "vecbench", "run", "--quick", "--no-progress",
                        "-o", str(Path(tmp) / "quick.json")], env=env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - t0


def run_targets(threads: int | None = None, console: Any = None, output: str | None = None,
                quick: bool = True) -> int:
    """Measure every target, print ratio vs target and pass/short; 1 if a kernel failed."""
    from rich.table import Table

    # Backends are timed one after the other, not with alternating samples:
    # alternating calls between OpenBLAS's thread pool (whose workers spin for
    # a while after each call) and Numba's made the parallel kernels up to 40%
    # slower on 2 cores (tried). More samples than a sweep's 7 steady the medians.
    results = Results.merge(
        run(ops=[t.op], backends=["numpy", *t.backends], sizes=[t.size], threads=threads,
            settings=Settings(repeats=TARGET_REPEATS), bandwidth=(i == 0), progress=False)
        for i, t in enumerate(TARGETS))
    if output:
        results.save(output)
    rows = evaluate(results)
    bw = results.bandwidth_gbps.get("best", 0.0)
    table = Table(title=f"Performance targets (float64, threads={threads or 'all'}; "
                        f"measured bandwidth {bw:.1f} GB/s, STREAM best of copy/triad)")
    for col in ("kernel", "size", "numpy", "best numba", "speedup", "target", "GB/s", "% bw", "target", "verdict"):
        table.add_column(col)
    for r in rows:
        t = r["target"]
        if "speedup" not in r:
            table.add_row(t.op, r["label"], "-", "-", "-", f">= {t.min_speedup}x", "-", "-", "-", r["note"])
            continue
        share = f"{100 * r['share']:.0f}%" if r["share"] is not None else "-"
        need_bw = f">= {100 * t.min_bandwidth:.0f}%" if t.min_bandwidth else ""
        table.add_row(t.op, r["label"], f"{r['numpy_s'] * 1e3:.3f} ms", f"{r['best']} {r['best_s'] * 1e3:.3f} ms",
                      f"{r['speedup']:.2f}x", f">= {t.min_speedup}x", f"{r['gbps']:.1f}", share, need_bw,
                      "[green]pass[/green]" if r["ok"] else f"[yellow]{r['note']}[/yellow]")
    if quick:
        with tempfile.TemporaryDirectory() as cache:
            cold, warm = _quick_wall(cache), _quick_wall(cache)
        for name, wall, limit in (("run --quick, cold cache", cold, QUICK_COLD_S),
                                  ("run --quick, warm cache", warm, QUICK_WARM_S)):
            verdict = "[green]pass[/green]" if wall <= limit else "[yellow]short[/yellow]"
            table.add_row(f"vecbench {name}", "-", "-", f"{wall:.1f} s wall", "-", f"<= {limit:.0f} s",
                          "", "", "", verdict)
    console.print(table)
    if output:
        console.print(f"wrote {output}")
    return 1 if results.failures else 0
