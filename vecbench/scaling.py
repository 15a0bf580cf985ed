"""Scaling over workers, computed from results (never measures anything): strong and weak scaling tables and figure.

A *scaling record* is an ok record whose backend reported how many workers
computed it (the record fact ``workers``, as a cluster backend stores it: see
:meth:`vecbench.backends.Backend.record_facts`); every other ok record is a
single-process one. Per op, dtype and backend with scaling records:

- **strong scaling**: one size, two or more worker counts. Speedup
  ``S(w) = t(w0) / t(w)`` and efficiency ``E(w) = S(w) w0 / w`` against the
  fewest workers measured ``w0`` (1 when measured); the single-process
  backends' medians at that size are drawn beside it, each at its fastest
  thread count, as what distribution has to beat on this machine;
- **weak scaling**: the work per worker fixed (the record's flops, else its
  bytes, over its workers, equal within 1%), the size growing with the
  workers: efficiency ``E(w) = t(w0) / t(w)`` (1 is perfect).

Where one worker count was measured at several chunk sizes (a chunk sweep),
the fastest is kept and its chunk shown. Two more tables, where the records allow:

- **cost per task and per byte** (:func:`task_costs`): over the records of one
  worker count that carry ``tasks`` per call (a chunk sweep at two or more
  sizes), the least-squares fit ``t = fixed x tasks + per_byte x bytes``:
  ``fixed`` is the scheduler's overhead per task, measured;
- **where distribution pays** (:func:`beats_one_process`): over the sizes both
  measured, the smallest from which the scaled backend (at its fastest worker
  count) beats the fastest single-process backend at that size and every
  larger one; "never" is an honest answer on one machine.

Medians are compared as they are;
the records' 95% intervals are drawn as error bars. Matplotlib is imported
only by the drawing functions.

Results files from several runs (``vecbench run --threads 1``, ``--threads 2``...)
merge into one report: ``vecbench report a.json b.json``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .records import Record, format_time

__all__ = ["ScalingPoint", "ScalingSeries", "TaskCost", "Beats", "scaling_series", "scaling_rows", "task_costs",
           "beats_one_process", "scaling_lines"]

WEAK_TOLERANCE = 0.01  # work per worker equal within this share counts as fixed


@dataclass(frozen=True)
class ScalingPoint:
    """One worker count of a series: the fastest record measured with it."""

    workers: int
    label: str
    median_s: float
    ci: tuple[float, float] | None
    chunk: int | None
    speedup: float
    efficiency: float


@dataclass(frozen=True)
class ScalingSeries:
    """Time against workers for one op, dtype and backend, at one size (strong) or one work per worker (weak)."""

    kind: str  # "strong" or "weak"
    op: str
    dtype: str
    backend: str
    size: str  # the size's label (strong) or the work per worker (weak)
    points: tuple[ScalingPoint, ...]
    references: tuple[tuple[str, int, float], ...] = ()  # (backend, threads, median_s) in one process, same size


def _workers(r: Record) -> int | None:
    w = r.facts.get("workers") if r.facts else None
    return int(w) if isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 1 else None


def _ci(r: Record) -> tuple[float, float] | None:
    t = r.timing
    if t is None or t.ci_low_s is None or t.ci_high_s is None:
        return None
    return (t.ci_low_s, t.ci_high_s)


def _fastest(recs: Iterable[Record]) -> dict[int, Record]:
    """The fastest record per worker count."""
    best: dict[int, Record] = {}
    for r in recs:
        w = _workers(r)
        if w is not None and r.median_s and (w not in best or r.median_s < (best[w].median_s or math.inf)):
            best[w] = r
    return dict(sorted(best.items()))


def _points(best: dict[int, Record], weak: bool) -> tuple[ScalingPoint, ...]:
    w0, r0 = next(iter(best.items()))
    t0 = r0.median_s or math.nan
    out = []
    for w, r in best.items():
        t = r.median_s or math.nan
        speedup = t0 / t
        chunk = r.facts.get("chunk")
        out.append(ScalingPoint(w, r.label, t, _ci(r), int(chunk) if isinstance(chunk, (int, float)) else None,
                                speedup, speedup if weak else speedup * w0 / w))
    return tuple(out)


def _references(recs: Sequence[Record]) -> tuple[tuple[str, int, float], ...]:
    """Each single-process backend at its fastest thread count, fastest first."""
    best: dict[str, Record] = {}
    for r in recs:
        if r.median_s and (r.backend not in best or r.median_s < (best[r.backend].median_s or math.inf)):
            best[r.backend] = r
    return tuple(sorted(((b, r.threads, r.median_s or math.nan) for b, r in best.items()), key=lambda x: x[2]))


def _work(r: Record) -> float:
    return float(r.flops or r.bytes or math.prod(r.size.values()) or 1)


def _weak_groups(recs: list[Record]) -> list[list[Record]]:
    """Records with equal work per worker (within :data:`WEAK_TOLERANCE`), over 2+ worker counts and sizes."""
    per = sorted(recs, key=lambda r: _work(r) / (_workers(r) or 1))
    groups: list[list[Record]] = []
    for r in per:
        x = _work(r) / (_workers(r) or 1)
        if groups and x <= _work(groups[-1][0]) / (_workers(groups[-1][0]) or 1) * (1 + WEAK_TOLERANCE):
            groups[-1].append(r)
        else:
            groups.append([r])
    return [g for g in groups if len({_workers(r) for r in g}) >= 2 and len({r.label for r in g}) >= 2]


def scaling_series(results: Iterable[Record]) -> list[ScalingSeries]:
    """Every strong and weak scaling series in ``results`` (``[]`` when no backend reported workers)."""
    ok = [r for r in results if r.ok and r.median_s]
    scaled: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    single: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    for r in ok:
        if _workers(r) is not None:
            scaled[(r.op, r.dtype, r.backend)].append(r)
        else:
            single[(r.op, r.dtype, r.label)].append(r)
    out: list[ScalingSeries] = []
    for (op, dtype, backend), recs in scaled.items():
        by_label: dict[str, list[Record]] = defaultdict(list)
        for r in recs:
            by_label[r.label].append(r)
        for label, same in by_label.items():
            best = _fastest(same)
            if len(best) >= 2:
                out.append(ScalingSeries("strong", op, dtype, backend, label, _points(best, weak=False),
                                         _references(single.get((op, dtype, label), []))))
        for group in _weak_groups(recs):
            best = _fastest(group)
            r0 = next(iter(best.values()))
            per = _work(r0) / (_workers(r0) or 1)
            unit = "flops" if r0.flops else "bytes" if r0.bytes else "elements"
            out.append(ScalingSeries("weak", op, dtype, backend, f"{per:.3g} {unit} per worker",
                                     _points(best, weak=True)))
    return out


def scaling_rows(results: Iterable[Record]) -> list[dict[str, Any]]:
    """One plain row per series and worker count (for tables, pandas, JSON)."""
    return [{"kind": s.kind, "op": s.op, "dtype": s.dtype, "backend": s.backend, "size": s.size, "workers": p.workers,
             "label": p.label, "median_s": p.median_s, "speedup": p.speedup, "efficiency": p.efficiency,
             "chunk": p.chunk} for s in scaling_series(results) for p in s.points]


@dataclass(frozen=True)
class TaskCost:
    """``t = fixed_s_per_task x tasks + s_per_byte x bytes`` fitted over one backend's records at one worker count."""

    op: str
    dtype: str
    backend: str
    workers: int
    points: int
    fixed_s_per_task: float
    s_per_byte: float


def task_costs(results: Iterable[Record]) -> list[TaskCost]:
    """The fit per op, dtype, backend and worker count, where 3+ records carry ``tasks`` and the two terms
    vary apart (several tasks per call at more than one size); a fit with a negative term is left out."""
    import numpy as np

    groups: dict[tuple[str, str, str, int], list[Record]] = defaultdict(list)
    for r in results:
        w, tasks = _workers(r), (r.facts or {}).get("tasks")
        if r.ok and r.median_s and w is not None and isinstance(tasks, int) and tasks > 0 and r.bytes > 0:
            groups[(r.op, r.dtype, r.backend, w)].append(r)
    out = []
    for (op, dtype, backend, w), recs in groups.items():
        A = np.array([[float(r.facts["tasks"]), float(r.bytes)] for r in recs])
        # Two sizes at least: at one size the bytes term is a constant, which a per-call cost would fit as well.
        if len(recs) < 3 or len({r.bytes for r in recs}) < 2 or np.linalg.matrix_rank(A / A.max(axis=0)) < 2:
            continue
        t = np.array([r.median_s or 0.0 for r in recs])
        fixed, per_byte = np.linalg.lstsq(A, t, rcond=None)[0]
        if fixed >= 0 and per_byte >= 0:
            out.append(TaskCost(op, dtype, backend, w, len(recs), float(fixed), float(per_byte)))
    return out


@dataclass(frozen=True)
class Beats:
    """Where a scaled backend beats the fastest single-process backend (``since`` None: never)."""

    op: str
    dtype: str
    backend: str
    since: str | None
    largest: str
    best_single: str
    single_s: float
    scaled_s: float
    workers: int


def beats_one_process(results: Iterable[Record]) -> list[Beats]:
    """Per op, dtype and scaled backend, over the sizes measured by both it and a single-process backend."""
    ok = [r for r in results if r.ok and r.median_s]
    scaled: dict[tuple[str, str, str], dict[str, Record]] = defaultdict(dict)
    single: dict[tuple[str, str], dict[str, Record]] = defaultdict(dict)
    for r in ok:
        into = scaled[(r.op, r.dtype, r.backend)] if _workers(r) is not None else single[(r.op, r.dtype)]
        if r.label not in into or (r.median_s or math.inf) < (into[r.label].median_s or math.inf):
            into[r.label] = r
    out = []
    for (op, dtype, backend), mine in scaled.items():
        theirs = single.get((op, dtype), {})
        labels = sorted(set(mine) & set(theirs), key=lambda lbl: mine[lbl].elements)
        if not labels:
            continue
        wins = [(mine[lbl].median_s or math.inf) < (theirs[lbl].median_s or 0.0) for lbl in labels]
        since = None
        for i in range(len(labels)):
            if all(wins[i:]):
                since = labels[i]
                break
        last = labels[-1]
        out.append(Beats(op, dtype, backend, since, last, theirs[last].backend, theirs[last].median_s or math.nan,
                         mine[last].median_s or math.nan, _workers(mine[last]) or 0))
    return out


def _cost_lines(results: Iterable[Record]) -> list[str]:
    costs = task_costs(results)
    if not costs:
        return []
    out = ["**Cost per task and per byte** (least squares `t = fixed x tasks + per_byte x bytes` over a chunk "
           "sweep: `fixed` is the scheduler's overhead per task)", "",
           "| op | dtype | backend | workers | points | fixed per task | per byte | as bandwidth |",
           "|---|---|---|--:|--:|--:|--:|--:|"]
    out += [f"| {c.op} | {c.dtype} | {c.backend} | {c.workers} | {c.points} | {format_time(c.fixed_s_per_task)} | "
            f"{c.s_per_byte * 1e9:.3g} ns | {1e-9 / c.s_per_byte if c.s_per_byte else math.inf:.3g} GB/s |"
            for c in costs]
    return [*out, ""]


def _beats_lines(results: Iterable[Record]) -> list[str]:
    rows = beats_one_process(results)
    if not rows:
        return []
    out = ["**Where distribution pays**: the smallest size from which the backend, at its fastest worker count, "
           "beats the fastest single-process backend at that size and every larger one measured.", "",
           "| op | dtype | backend | faster from | largest size | fastest single process there | single / "
           "backend (above 1x the backend wins) |", "|---|---|---|---|---|---|--:|"]
    out += [f"| {b.op} | {b.dtype} | {b.backend} | {b.since or 'never'} | {b.largest} ({b.workers} "
            f"worker{'s' if b.workers != 1 else ''}, "
            f"{format_time(b.scaled_s)}) | {b.best_single} ({format_time(b.single_s)}) | "
            f"{b.single_s / b.scaled_s:.3g}x |" for b in rows]
    return [*out, ""]


def _reference_text(s: ScalingSeries) -> str:
    if not s.references:
        return "no single-process backend measured at this size"
    best = min(p.median_s for p in s.points)
    parts = [f"`{b}` {format_time(t)} ({threads} thread{'s' if threads != 1 else ''}; `{s.backend}` at its "
             f"fastest takes {best / t:.3g}x as long)" for b, threads, t in s.references]
    return "; ".join(parts)


def scaling_lines(results: Iterable[Record]) -> list[str]:
    """The report's scaling tables (markdown lines; ``[]`` when no record carries ``workers``)."""
    results = list(results)  # read several times below
    if not any(r.ok and _workers(r) is not None for r in results):
        return []
    return [*_series_lines(results), *_cost_lines(results), *_beats_lines(results)]


def _series_lines(results: list[Record]) -> list[str]:
    series = scaling_series(results)
    if not series:
        return []
    out = ["Time per call against the workers that computed it (the record fact `workers`). Strong scaling: one "
           "size; speedup over the fewest workers measured (w0) and efficiency = speedup x w0 / workers. Weak "
           "scaling: the work per worker fixed; efficiency = t(w0) / t(workers). 1 is perfect; where a worker "
           "count was measured at several chunk sizes, the fastest is shown.", ""]
    for s in series:
        title = "Strong" if s.kind == "strong" else "Weak"
        out += [f"**{title} scaling: `{s.op}` {s.dtype}, `{s.backend}`, {s.size}**", "",
                "| workers | size | median | speedup | efficiency | examples per chunk |", "|--:|---|--:|--:|--:|--:|"]
        out += [f"| {p.workers} | {p.label} | {format_time(p.median_s)} | {p.speedup:.3g}x | {p.efficiency:.0%} | "
                f"{p.chunk if p.chunk is not None else '-'} |" for p in s.points]
        out.append("")
        if s.kind == "strong":
            out += [f"Single process at this size: {_reference_text(s)}.", ""]
    return out
