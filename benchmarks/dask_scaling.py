"""Where distribution starts to pay: strong scaling, the chunk-size sweep and the crossover size of ``dask``.

Run: ``python benchmarks/dask_scaling.py [--m 1e6] [--out dask-scaling.json] [--scheduler tcp://HOST:PORT]``
(needs ``vecbench[dask]``; minutes on a quiet machine). Every number comes from ``vb.run`` (validated,
calibrated, inputs persisted before the clock), on ``logreg_grad`` with ``n_x = 100``:

1. strong scaling: time per call at a fixed ``m`` against the workers of the embedded cluster
   (1 to the cores; with ``--scheduler`` the cluster's own workers, one point);
2. chunk sweep at that ``m`` and at ``m / 4``: time per call against examples per chunk, and the fit
   ``t = fixed x tasks + per_byte x bytes`` (``tasks`` per call as recorded, ``bytes`` read per call):
   ``fixed`` is the scheduler's overhead per task, measured;
3. crossover: ``dask`` against the best single-machine backend here (numpy, numba, numba_parallel) over
   a sweep of ``m``: the smallest ``m`` where dask's median is lower, or "never" (an honest answer on
   one machine, where the single-process backends pay no scheduler).

Prints the three tables in Markdown and writes them (with every record) as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

import vecbench as vb
from vecbench.harness import Settings
from vecbench.machine import cpu_count

OP = "logreg_grad"
N_X = 100
SINGLE = ("numpy", "numba", "numba_parallel")


def _size(m: int) -> dict[str, int]:
    return {"n_x": N_X, "m": m}


def _run(backends: list[str], sizes: list[dict[str, int]], settings: Settings, **options: Any) -> vb.Results:
    return vb.run(ops=[OP], backends=backends, sizes=sizes, settings=settings, bandwidth=False, **options)


def strong_scaling(m: int, settings: Settings, scheduler: str | None) -> list[dict[str, Any]]:
    rows = []
    workers = [None] if scheduler else list(range(1, cpu_count() + 1))
    for w in workers:
        res = _run(["dask"], [_size(m)], settings, threads=w, dask_scheduler=scheduler)
        for r in res.records:
            rows.append({"workers": r.facts.get("workers", w), "median_s": r.median_s, "status": r.status,
                         "reason": r.reason})
    return rows


def chunk_sweep(m: int, settings: Settings, scheduler: str | None) -> list[dict[str, Any]]:
    rows = []
    for chunk in sorted({max(1, m // k) for k in (1, 2, 4, 8, 16, 32, 64, 128, 256)}):
        for m_ in (m // 4, m):  # two sizes: bytes per call vary apart from tasks, so the fit can tell them apart
            res = _run(["dask"], [_size(m_)], settings, dask_chunks=chunk, dask_scheduler=scheduler)
            for r in res.records:
                rows.append({"m": m_, "chunk": chunk, "tasks": r.facts.get("tasks"), "bytes": r.bytes,
                             "median_s": r.median_s, "status": r.status})
    return rows


def fit_costs(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Least squares ``t = fixed x tasks + per_byte x bytes`` over the ok points."""
    ok = [r for r in rows if r["status"] == "ok" and r["tasks"]]
    fit: dict[str, Any] = {"fixed_s_per_task": None, "s_per_byte": None}
    if len(ok) >= 2:
        A = np.array([[r["tasks"], r["bytes"]] for r in ok], dtype=float)
        t = np.array([r["median_s"] for r in ok])
        coef, *_ = np.linalg.lstsq(A, t, rcond=None)
        fit = {"fixed_s_per_task": float(coef[0]), "s_per_byte": float(coef[1]),
               "points": len(ok), "model": "t = fixed x tasks + per_byte x bytes"}
    return fit


def crossover(ms: list[int], settings: Settings, scheduler: str | None) -> dict[str, Any]:
    available = [b for b in SINGLE if vb.backend(b).available]
    res = _run([*available, "dask"], [_size(m) for m in ms], settings, dask_scheduler=scheduler)
    table = {}
    for m in ms:
        label = vb.spec(OP).label(_size(m))
        by = {r.backend: r.median_s for r in res.records if r.label == label and r.ok}
        best = min((b for b in by if b != "dask"), key=lambda b: by[b], default=None)
        table[m] = {"dask_s": by.get("dask"), "best": best, "best_s": by.get(best) if best else None}
    wins = [m for m, row in table.items() if row["dask_s"] and row["best_s"] and row["dask_s"] < row["best_s"]]
    return {"by_m": table, "crossover_m": min(wins) if wins else "never"}


def _markdown(report: dict[str, Any]) -> str:
    lines = [f"### Strong scaling ({OP}, n_x = {N_X}, m = {report['m']:g})", "", "| workers | median |", "|---:|---:|"]
    lines += [f"| {r['workers']} | {vb.results.format_time(r['median_s'])} |" for r in report["strong_scaling"]]
    fit = report["chunk_fit"]
    lines += ["", "### Chunk sweep", "", "| m | examples per chunk | tasks | median |", "|---:|---:|---:|---:|"]
    lines += [f"| {r['m']:g} | {r['chunk']} | {r['tasks']} | {vb.results.format_time(r['median_s'])} |"
              for r in report["chunks"]]
    if fit.get("fixed_s_per_task") is not None:
        lines += ["", f"Fit `t = fixed x tasks + per_byte x bytes`: fixed = {vb.results.format_time(fit['fixed_s_per_task'])}"
                      f" per task, {fit['s_per_byte'] * 1e9:.3g} ns per byte ({1e-9 / max(fit['s_per_byte'], 1e-30):.3g} GB/s)."]
    cross = report["crossover"]
    lines += ["", "### Crossover against the best single-machine backend", "", "| m | dask | best here | its time |",
              "|---:|---:|---|---:|"]
    lines += [f"| {m:g} | {vb.results.format_time(row['dask_s'])} | {row['best']} | {vb.results.format_time(row['best_s'])} |"
              for m, row in cross["by_m"].items()]
    lines += ["", f"dask beats the best single-machine backend from m = {cross['crossover_m']}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--m", type=float, default=1e6, help="examples for the scaling and chunk sweeps (default 1e6)")
    p.add_argument("--crossover", default="1e3,1e4,1e5,1e6", help="m values of the crossover sweep")
    p.add_argument("--scheduler", default=None, help="tcp://HOST:PORT of a running scheduler (default: embedded)")
    p.add_argument("--quick", action="store_true", help="the harness's quick settings (a smoke run)")
    p.add_argument("--out", default="dask-scaling.json")
    args = p.parse_args(argv)
    if not vb.backend("dask").available:
        print(f"dask_scaling: {vb.backend('dask').install_hint}", file=sys.stderr)
        return 2
    settings = Settings.quick() if args.quick else Settings()
    m = int(args.m)
    rows = chunk_sweep(m, settings, args.scheduler)
    fit = fit_costs(rows)
    report = {"m": m, "strong_scaling": strong_scaling(m, settings, args.scheduler), "chunks": rows, "chunk_fit": fit,
              "crossover": crossover([int(float(x)) for x in args.crossover.split(",")], settings, args.scheduler)}
    print(_markdown(report))
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1, default=str)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
