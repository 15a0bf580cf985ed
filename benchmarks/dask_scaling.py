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
   a sweep of ``m``: the smallest ``m`` from which dask's median is lower, or "never" (an honest answer on
   one machine, where the single-process backends pay no scheduler).

The analysis is :mod:`vecbench.scaling`'s, the report's own: this prints its tables (Markdown) and saves
every record as one results file, which ``vecbench report dask-scaling.json`` draws (figure included).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import vecbench as vb
from vecbench.harness import Settings
from vecbench.machine import cpu_count
from vecbench.results import Results
from vecbench.scaling import scaling_lines

OP = "logreg_grad"
N_X = 100
SINGLE = ("numpy", "numba", "numba_parallel")


def _size(m: int) -> dict[str, int]:
    return {"n_x": N_X, "m": m}


def _run(backends: list[str], sizes: list[dict[str, int]], settings: Settings, **options: Any) -> Results:
    return vb.run(ops=[OP], backends=backends, sizes=sizes, settings=settings, bandwidth=False, **options)


def strong_scaling(m: int, settings: Settings, scheduler: str | None) -> list[Results]:
    """``dask`` at ``m`` on 1 to all cores' workers (with a scheduler: its own workers, one run)."""
    workers = [None] if scheduler else list(range(1, cpu_count() + 1))
    return [_run(["dask"], [_size(m)], settings, threads=w, dask_scheduler=scheduler) for w in workers]


def chunk_sweep(m: int, settings: Settings, scheduler: str | None) -> list[Results]:
    """``dask`` at ``m`` and ``m / 4`` (bytes per call vary apart from tasks, so the fit tells them apart)."""
    return [_run(["dask"], [_size(m // 4), _size(m)], settings, dask_chunks=chunk, dask_scheduler=scheduler)
            for chunk in sorted({max(1, m // k) for k in (1, 2, 4, 8, 16, 32, 64, 128, 256)})]


def crossover(ms: list[int], settings: Settings, scheduler: str | None) -> list[Results]:
    """``dask`` and the single-machine backends available here over a sweep of ``m``."""
    available = [b for b in SINGLE if vb.backend(b).available]
    return [_run([*available, "dask"], [_size(m) for m in ms], settings, dask_scheduler=scheduler)]


def _distinct(parts: list[Results]) -> Results:
    """One results file; a kernel measured twice (same op, backend, size, dtype, threads and chunk) kept once."""
    merged = Results.merge(parts)
    seen: set[Any] = set()
    records = []
    for r in merged.records:
        key = (*r.key, (r.facts or {}).get("chunk"))
        if key not in seen:
            seen.add(key)
            records.append(r)
    merged.records = records
    return merged


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--m", type=float, default=1e6, help="examples for the scaling and chunk sweeps (default 1e6)")
    p.add_argument("--crossover", default="1e3,1e4,1e5,1e6", help="m values of the crossover sweep")
    p.add_argument("--scheduler", default=None, help="tcp://HOST:PORT of a running scheduler (default: embedded)")
    p.add_argument("--quick", action="store_true", help="the harness's quick settings (a smoke run)")
    p.add_argument("--out", default="dask-scaling.json", help="the results file (vecbench report draws it)")
    args = p.parse_args(argv)
    if not vb.backend("dask").available:
        print(f"dask_scaling: {vb.backend('dask').install_hint}", file=sys.stderr)
        return 2
    settings = Settings.quick() if args.quick else Settings()
    m = int(args.m)
    parts = [*chunk_sweep(m, settings, args.scheduler), *strong_scaling(m, settings, args.scheduler),
             *crossover([int(float(x)) for x in args.crossover.split(",")], settings, args.scheduler)]
    results = _distinct(parts)
    print("\n".join(scaling_lines(results)) or "no dask record succeeded: nothing to tabulate")
    results.save(args.out)
    print(f"wrote {args.out} (vecbench report {args.out} draws it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
