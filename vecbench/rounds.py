"""Interleaved rounds: the backends of one op and size timed in alternation, so a slow minute hits all alike.

A machine's speed drifts by minutes even when nothing else runs (frequency
scaling, thermal limits, a neighbour on the same host): a quiet 40 s loop of
NumPy's dot of 1e7 was seen to take 3.7 to 33 ms per call. Two backends timed
one after the other then differ by the drift as much as by their code. As
asv's ``--interleave-rounds`` does, after the sweep each (op, size, dtype)
whose backends succeeded is timed again in rounds: round ``i`` takes one
sample of every backend, in an order rotated by one each round, so every
backend meets every minute of the machine. The speedup of one backend over
another is then the median of the per-round ratios, with the distribution-free
interval of that median (:func:`vecbench.stats.paired_ratio_ci`): pairing
cancels what the two shared. Each backend's own record (samples, median,
interval) stays what its sweep measured.

The rounds run in the same worker process as the sweep (its kernels are
already compiled and validated there); a crash there costs the pairing only,
never a record.

This module plans and computes; :func:`vecbench.harness.measure_rounds`
times. It imports no harness.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .results import Record, Results
from .stats import paired_ratio_ci

__all__ = ["MIN_ROUNDS", "Group", "interleave", "paired_entry", "paired_speedup", "plan"]

# Fewer rounds than this give no 95% interval of a median (stats.min_samples_for).
MIN_ROUNDS = 6


@dataclass(frozen=True)
class Group:
    """One (op, size, dtype) to time in rounds: its backends and each one's loops per sample."""

    op: str
    size: Mapping[str, int]
    label: str
    dtype: str
    backends: tuple[str, ...]
    loops: tuple[int, ...]
    rounds: int
    time_limit_s: float

    def entry(self, backends: Sequence[str], rounds_s: Sequence[Sequence[float]], contention: float | None,
              contended: bool | None) -> dict[str, Any]:
        """The ``Results.paired`` entry of what was timed."""
        return {"op": self.op, "label": self.label, "dtype": self.dtype, "backends": list(backends),
                "rounds_s": [list(r) for r in rounds_s], "contention": contention, "contended": bool(contended)}


def plan(records: Sequence[Record], rounds: int, budget_s: float) -> list[Group]:
    """Groups to time in rounds: every (op, size, dtype) with two or more ok backends.

    A round costs one sample of each backend (its loops x its median); the
    slowest backends are left out until ``MIN_ROUNDS`` rounds fit in half of
    ``budget_s`` (a pure-Python loop at the largest sizes), and a group is
    left out when fewer than two backends remain. Larger sizes come first
    (the headline's), so a tight overall budget cuts the small ones.
    """
    if rounds < MIN_ROUNDS:
        return []
    by: dict[tuple[str, str, str], list[Record]] = {}
    for r in records:
        if r.ok and r.median_s and r.loops_per_sample:
            by.setdefault((r.op, r.label, r.dtype), []).append(r)
    groups = []
    for (op, label, dtype), recs in by.items():
        recs = sorted(recs, key=lambda r: (r.median_s or 0.0) * r.loops_per_sample)
        limit = budget_s / 2
        while len(recs) >= 2 and MIN_ROUNDS * sum((r.median_s or 0.0) * r.loops_per_sample for r in recs) > limit:
            recs.pop()  # the slowest sample goes first
        if len(recs) < 2:
            continue
        groups.append(Group(op, dict(recs[0].size), label, dtype, tuple(r.backend for r in recs),
                            tuple(r.loops_per_sample for r in recs), rounds, limit))
    # The largest size of each op first: the headline's pairs are timed before a tight budget runs out.
    size = {(r.op, r.label, r.dtype): r.elements for r in records}
    return sorted(groups, key=lambda g: -size.get((g.op, g.label, g.dtype), 0))


def interleave(samplers: Sequence[Callable[[], float]], rounds: int, time_limit_s: float,
               min_rounds: int = MIN_ROUNDS, clock: Callable[[], float] = time.perf_counter) -> list[list[float]]:
    """Rounds of one sample per sampler, the order rotated by one each round.

    Returns ``rounds_s[i][j]``: sampler ``j``'s value in round ``i`` (the
    columns stay in the samplers' order). Stops after ``rounds`` rounds, or
    once ``time_limit_s`` has passed and ``min_rounds`` are done.
    """
    n = len(samplers)
    out: list[list[float]] = []
    start = clock()
    for i in range(rounds):
        if i >= min_rounds and clock() - start > time_limit_s:
            break
        row = [math.nan] * n
        for step in range(n):
            j = (i + step) % n
            row[j] = samplers[j]()
        out.append(row)
    return out


def paired_speedup(results: Results, base: str, backend: str, op: str, label: str,
                   dtype: str) -> tuple[float, float, float] | None:
    """``(low, speedup, high)`` of ``backend`` over ``base`` from interleaved rounds (base time / backend time,
    per round; the median and its 95% interval), or None where the two were not timed in the same rounds."""
    for p in results.paired:
        if (p.get("op"), p.get("label"), p.get("dtype")) != (op, label, dtype):
            continue
        names = list(p.get("backends") or ())
        if base in names and backend in names:
            i, j = names.index(base), names.index(backend)
            rows = p.get("rounds_s") or []
            return paired_ratio_ci([r[i] for r in rows], [r[j] for r in rows])
    return None


def paired_entry(results: Results, op: str, label: str, dtype: str) -> dict[str, Any] | None:
    """The ``paired`` entry of (op, label, dtype), or None."""
    return next((p for p in results.paired if (p.get("op"), p.get("label"), p.get("dtype")) == (op, label, dtype)),
                None)
