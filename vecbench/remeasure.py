"""Measure again what a busy machine spoiled, and explain what it could not fix: the one policy.

A record is **spoiled** when it is ok but cannot be trusted: it was timed
while other processes took a large share of the CPU (*contended*, see
:mod:`vecbench.contention`) or its samples spread widely (*noisy*). After a
sweep, :func:`remeasure` measures each spoiled record again, waiting (bounded)
for the machine to go quiet before each attempt:

- attempts go in passes over everything still spoiled (pass 1 over all of
  them, then pass 2 over those still spoiled...), so a burst of load that
  spoils one attempt does not use up every attempt of one kernel;
- at most ``attempts`` measurements per record, the original included, and at
  most ``budget_s`` in all (the CLI gives :func:`budget_for` of the sweep's
  time: re-measuring never costs more than half the sweep again);
- the best-trusted attempt is kept (:func:`rank`: not contended, then not
  noisy, then the faster median), and every attempt is summarized in the
  kept record's ``attempts`` (median, contention, which was kept);
- an attempt that fails (a crash in a kernel that was ok before) never
  replaces an ok record; the first attempt's warm-up (``first_call_s``,
  ``compile_time_s``, ``from_cache``) stays with the kept one, since a JIT
  kernel compiles once per process.

Kernels whose threads wait for time slices are the typical victims: a BLAS
pool or a Numba/OpenMP pool of two threads on two cores, one of them taken
by another process, stalls at every barrier until the scheduler gives the
thread its next slice; the time per call becomes a whole number of scheduler
quanta (a few ms) whatever the work, so two sizes ten times apart take the
same time. :func:`timeslice_waits` finds that pattern in what remains
spoiled and says it in words.

This module imports no harness: the measuring is passed in as a function.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .results import Record, format_time, untrusted

__all__ = ["MAX_BUDGET_S", "SHARE_OF_SWEEP", "WAIT_S", "TimesliceWait", "budget_for", "rank", "remeasure",
           "remeasured", "spoil_score", "spoiled", "timeslice_waits", "worst"]

# Re-measuring may cost at most this share of the sweep's own time, and never more than MAX_BUDGET_S.
SHARE_OF_SWEEP = 0.5
MAX_BUDGET_S = 600.0
# Seconds to wait at most, before each attempt, for the machine to go quiet.
WAIT_S = 20.0
# The Linux scheduler hands out CPU time in slices of a few ms (CONFIG_HZ=250: 4 ms ticks).
QUANTUM_S = 0.004
# Flat across sizes: FLAT_WORK times the work in at most FLAT_TIME times the time.
FLAT_WORK = 4.0
FLAT_TIME = 1.5
# Below this a flat time can be a call's fixed overhead, not a stall.
STALL_ABOVE_S = 0.001


def spoiled(r: Record) -> bool:
    """Ok, but timed on a contended machine or noisy: worth measuring again."""
    return r.ok and untrusted(r)


def rank(r: Record) -> tuple[bool, bool, bool, float]:
    """Sort key of attempts, best first: ok, then not contended, then not noisy, then the faster median."""
    return (not r.ok, r.is_contended, r.noisy, r.median_s if r.median_s is not None else math.inf)


def spoil_score(r: Record) -> float:
    """How badly a record is spoiled: the larger of others' CPU share, CPU pressure and IQR / median."""
    spread = r.timing.spread if r.timing else 0.0
    return max(r.contention or 0.0, r.cpu_pressure or 0.0, spread)


def worst(records: Sequence[Record], n: int = 3) -> list[Record]:
    """The ``n`` most spoiled records, worst first."""
    return sorted((r for r in records if spoiled(r)), key=spoil_score, reverse=True)[:n]


def remeasured(records: Sequence[Record]) -> list[Record]:
    """Records measured more than once (their ``attempts`` say how each attempt went)."""
    return [r for r in records if len(r.attempts) > 1]


def budget_for(sweep_s: float) -> float:
    """Seconds re-measuring may take after a sweep that took ``sweep_s``."""
    return min(MAX_BUDGET_S, SHARE_OF_SWEEP * max(sweep_s, 0.0))


def _summary(r: Record, kept: bool) -> dict[str, Any]:
    return {"median_s": r.median_s, "status": r.status, "contention": r.contention, "contended": r.is_contended,
            "noisy": r.noisy, "kept": kept}


def _kept(history: list[Record]) -> Record:
    """The best-trusted of one record's attempts, with every attempt summarized in ``attempts``."""
    best = min(range(len(history)), key=lambda i: (rank(history[i]), i))
    rec = history[best]
    first = history[0].timing
    if best and rec.timing is not None and first is not None:
        # The compile happened in the first attempt; a later one in the same process found it compiled.
        rec = dataclasses.replace(rec, timing=dataclasses.replace(
            rec.timing, first_call_s=first.first_call_s, compile_time_s=first.compile_time_s,
            from_cache=first.from_cache))
    tried = tuple(_summary(r, i == best) for i, r in enumerate(history))
    note = (f"re-measured: attempt {best + 1} of {len(history)} kept"
            + ("" if not spoiled(rec) else ", every attempt contended or noisy"))
    return dataclasses.replace(rec, attempts=tried, warnings=(*rec.warnings, note))


def remeasure(
    records: Sequence[Record],
    measure_again: Callable[[Record], Record],
    attempts: int = 3,
    budget_s: float = MAX_BUDGET_S,
    wait: Callable[[float], float] | None = None,
    wait_s: float = WAIT_S,
    clock: Callable[[], float] = time.monotonic,
    on_record: Callable[[Record], None] | None = None,
) -> list[Record]:
    """``records`` with each spoiled one measured again, the best-trusted attempt kept.

    Parameters
    ----------
    records : sequence of Record
        A sweep's records, in order; only spoiled ones (:func:`spoiled`) are touched.
    measure_again : callable
        Measures the kernel of a record again and returns the new record.
    attempts : int
        Measurements per record at most, the original included (1 or less: nothing is done).
    budget_s : float
        Seconds all of it may take (waiting included); no attempt starts after.
    wait : callable, optional
        ``wait(max_s)`` waits up to ``max_s`` for a quiet machine (default:
        :func:`vecbench.contention.wait_quiet`).
    wait_s : float
        Seconds to wait at most before each attempt.
    clock : callable
        Seconds, monotonic (tests pass a fake).
    on_record : callable, optional
        Told every record that replaced an earlier one (e.g. to journal it).

    Returns
    -------
    list of Record
        Same order and length as ``records``.
    """
    if wait is None:
        from .contention import wait_quiet

        wait = wait_quiet
    out = list(records)
    history: dict[int, list[Record]] = {i: [r] for i, r in enumerate(out) if spoiled(r)}
    start = clock()
    for _ in range(max(0, attempts - 1)):
        todo = [i for i in history if spoiled(out[i])]
        for i in todo:
            left = budget_s - (clock() - start)
            if left <= 0:
                return out
            wait(min(wait_s, left))
            history[i].append(measure_again(out[i]))
            out[i] = _kept(history[i])
            if on_record is not None:
                on_record(out[i])
        if not todo:
            break
    return out


@dataclass(frozen=True)
class TimesliceWait:
    """A kernel whose time under contention stayed flat across sizes: its threads waited for time slices."""

    op: str
    backend: str
    dtype: str
    small: Record
    large: Record

    @property
    def text(self) -> str:
        """The finding in one sentence, with what to do."""
        a, b = self.small, self.large
        work = b.elements / max(a.elements, 1)
        ta, tb = a.median_s or 0.0, b.median_s or 0.0
        quanta = [t / QUANTUM_S for t in (ta, tb)]
        whole = all(q >= 0.9 and abs(q - round(q)) < 0.1 for q in quanta)
        slices = (f" (about {round(quanta[0])} and {round(quanta[1])} scheduler slices of ~{QUANTUM_S * 1e3:.0f} ms)"
                  if whole else "")
        threads = f"its {a.threads} threads" if a.threads > 1 else "it"
        return (f"{self.op} {self.backend} ({self.dtype}): {a.label} took {format_time(ta)} and {b.label} took "
                f"{format_time(tb)}{slices}, {work:.0f}x the work in {tb / ta:.1f}x the time, while other processes "
                f"were busy: {threads} waited for CPU time slices instead of computing, so both times say how "
                "busy the machine was, not how fast the kernel is. Rerun on a quiet machine.")


def timeslice_waits(records: Sequence[Record]) -> list[TimesliceWait]:
    """Kernels whose time under contention was flat across sizes (time-slice waits), one finding each.

    A pair of one kernel's sizes qualifies when the larger did at least
    :data:`FLAT_WORK` times the work in at most :data:`FLAT_TIME` times the
    time, the smaller took at least :data:`STALL_ABOVE_S`, and at least one of
    the two was timed on a contended machine.
    """
    kernels: dict[tuple[str, str, str], list[Record]] = {}
    for r in records:
        if r.ok and r.median_s and r.elements:
            kernels.setdefault((r.op, r.backend, r.dtype), []).append(r)
    found = []
    for (op, backend, dtype), recs in kernels.items():
        recs = sorted(recs, key=lambda r: r.elements)
        pairs = [(a, b) for i, a in enumerate(recs) for b in recs[i + 1:]
                 if (a.is_contended or b.is_contended) and (a.median_s or 0.0) >= STALL_ABOVE_S
                 and b.elements >= FLAT_WORK * a.elements and (b.median_s or 0.0) <= FLAT_TIME * (a.median_s or 0.0)]
        if pairs:  # the most telling pair: the most work for the least extra time
            a, b = max(pairs, key=lambda p: p[1].elements / p[0].elements / ((p[1].median_s or 1) / (p[0].median_s or 1)))
            found.append(TimesliceWait(op, backend, dtype, a, b))
    return found
