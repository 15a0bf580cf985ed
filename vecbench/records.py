"""One measurement as data (:class:`Record`, :class:`Timing`) and what is read off records.

The speedup, the interval of a median, what counts as untrusted, how a time and a ratio are
written: defined once here and imported by every module that shows them. :class:`RecordSet`
is what the figures and the notebook views need of a set of records (a
:class:`vecbench.results.Results` is one), so they depend on this module, never on the
results files module that offers them as methods.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Protocol

import numpy as np

from .stats import CONFIDENCE, median_ci, median_ci_from_summary, ratio_ci

__all__ = ["NOISY_SPREAD", "NOISY_WARNING", "STATUSES", "UNAVAILABLE_LABEL", "UNTRUSTED_PREDICTION", "Record", "RecordSet", "Timing",
           "baseline_medians", "format_speedup", "format_time", "interval", "skipped_on_a_busy_machine", "speedup", "sweeps_an_axis",
           "speedup_interval", "stats", "untrusted"]

# IQR/median above this is flagged as a noisy measurement.
NOISY_SPREAD = 0.10
# The warning a noisy record carries starts with this word (what Record.noisy reads back).
NOISY_WARNING = "noisy"
# The size label of the record kept for a kernel whose backend is unavailable (it has no size).
UNAVAILABLE_LABEL = "-"
# Said in a skip reason when only contended or noisy sizes were there to predict from: compare
# counts such a skip as inconclusive (the machine was busy), not as a lost kernel.
UNTRUSTED_PREDICTION = "from contended or noisy points only"


STATUSES = ("ok", "failed", "skipped")


@dataclass(frozen=True)
class Timing:
    """What a successful measurement found; times are seconds per call.

    ``samples_s`` are the per-call times of each sample (``loops_per_sample``
    calls each); ``min_s``, ``median_s`` and ``iqr_s`` summarize them.
    ``first_call_s`` is the warm-up call, ``compile_time_s`` its excess over a
    steady call for backends that compile (None for the others) and
    ``from_cache`` whether a disk cache served the compile (None: unknown).
    ``ci_low_s``/``ci_high_s`` bound the median with 95% confidence
    (:func:`vecbench.stats.median_ci`: order statistics, distribution-free;
    None with too few samples or in files written before intervals existed).
    ``transfer_in_s``/``transfer_out_s`` are the untimed copies of the inputs
    to where the kernel runs (a device) and of its result back, as the backend
    measured them (:meth:`vecbench.backends.Backend.transfer_times`; None for
    backends whose data stays in host memory).
    """

    samples_s: tuple[float, ...]
    loops_per_sample: int
    min_s: float
    median_s: float
    iqr_s: float
    first_call_s: float | None = None
    compile_time_s: float | None = None
    from_cache: bool | None = None
    ci_low_s: float | None = None
    ci_high_s: float | None = None
    transfer_in_s: float | None = None
    transfer_out_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples_s", tuple(float(x) for x in self.samples_s))
        for name in ("min_s", "median_s", "iqr_s"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"timing: {name} must be a finite number >= 0; got {v!r}")
        if self.median_s <= 0:
            raise ValueError(f"timing: median_s must be > 0; got {self.median_s!r}")

    @classmethod
    def from_samples(cls, samples_s: Iterable[float], loops: int, **extra: Any) -> Timing:
        """A timing from per-call samples: min, median, IQR and the median's 95% interval computed here."""
        samples = tuple(float(x) for x in samples_s)
        if not samples:
            raise ValueError("timing: no samples")
        s = stats(samples)
        ci = median_ci(samples)
        if ci is not None:
            extra = {"ci_low_s": ci[0], "ci_high_s": ci[1], **extra}
        return cls(samples, int(loops), s["min"], s["median"], s["iqr"], **extra)  # type: ignore[arg-type]

    @property
    def spread(self) -> float:
        """IQR as a fraction of the median."""
        return self.iqr_s / self.median_s


@dataclass(frozen=True)
class Record:
    """One measurement: an (op, backend, size, dtype) at one thread count. Immutable.

    ``status`` is ``"ok"`` (then ``timing`` holds what was measured),
    ``"failed"`` (wrong result or an exception: ``reason`` says which) or
    ``"skipped"`` (``reason`` says why, e.g. the time budget); ``timing`` is
    present exactly when the status is ok. ``bytes`` and ``flops`` are the
    minimum traffic and arithmetic of one call.
    """

    op: str
    backend: str
    size: Mapping[str, int]
    label: str
    dtype: str
    threads: int
    status: str = "ok"
    reason: str = ""
    timing: Timing | None = None
    bytes: int = 0
    flops: int = 0
    warnings: tuple[str, ...] = ()
    # Machine load while the kernel was measured (None: not measured, e.g. older files).
    contention: float | None = None  # others' share of the machine's CPU time (vecbench.contention)
    cpu_pressure: float | None = None  # share of the window some task waited for a CPU (Linux PSI)
    loadavg: float | None = None  # 1-minute load average at the end of the measurement
    contended: bool | None = None  # above vecbench.contention's thresholds
    # Every measurement of this kernel at this size when it was measured more than once (vecbench.remeasure):
    # {"median_s", "contention", "contended", "noisy", "kept"} per attempt, in order; empty: measured once.
    attempts: tuple[Mapping[str, Any], ...] = ()
    # What the backend says about this measurement (Backend.record_facts): e.g. a cluster's tasks per
    # call, examples per chunk, workers. JSON values.
    facts: Mapping[str, Any] = field(default_factory=dict)
    # Memory one call allocates beyond its output, measured once outside the samples (vecbench.memory):
    # {"method", "peak_bytes", "output_bytes", "allocations", "unit", "unit_elements", "reason"}; empty: not measured.
    memory: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"record: status must be one of {STATUSES}; got {self.status!r}")
        if (self.timing is not None) != (self.status == "ok"):
            raise ValueError(f"record {self.op}/{self.backend} {self.label}: a timing is required exactly when "
                             f"the status is ok; got status {self.status!r} with "
                             f"{'a' if self.timing else 'no'} timing")
        object.__setattr__(self, "size", dict(self.size))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "attempts", tuple(dict(a) for a in self.attempts))
        object.__setattr__(self, "facts", dict(self.facts))
        object.__setattr__(self, "memory", dict(self.memory))

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """Identity used to match records across files."""
        return (self.op, self.backend, self.label, self.dtype, self.threads)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    # Read-only views of the timing (None unless the record is ok).
    @property
    def median_s(self) -> float | None:
        return self.timing.median_s if self.timing else None

    @property
    def min_s(self) -> float | None:
        return self.timing.min_s if self.timing else None

    @property
    def iqr_s(self) -> float | None:
        return self.timing.iqr_s if self.timing else None

    @property
    def samples_s(self) -> tuple[float, ...]:
        return self.timing.samples_s if self.timing else ()

    @property
    def loops_per_sample(self) -> int:
        return self.timing.loops_per_sample if self.timing else 0

    @property
    def compile_time_s(self) -> float | None:
        return self.timing.compile_time_s if self.timing else None

    @property
    def first_call_s(self) -> float | None:
        return self.timing.first_call_s if self.timing else None

    @property
    def from_cache(self) -> bool | None:
        return self.timing.from_cache if self.timing else None

    @property
    def ci_low_s(self) -> float | None:
        return self.timing.ci_low_s if self.timing else None

    @property
    def ci_high_s(self) -> float | None:
        return self.timing.ci_high_s if self.timing else None

    @property
    def transfer_in_s(self) -> float | None:
        return self.timing.transfer_in_s if self.timing else None

    @property
    def transfer_out_s(self) -> float | None:
        return self.timing.transfer_out_s if self.timing else None

    @property
    def noisy(self) -> bool:
        """IQR above NOISY_SPREAD of the median (a "noisy" warning)."""
        return any(w.startswith(NOISY_WARNING) for w in self.warnings)

    @property
    def backend_unavailable(self) -> bool:
        """The record a run keeps for a kernel whose backend is not installed here (no size; the reason says
        how to install it)."""
        return self.status == "skipped" and self.label == UNAVAILABLE_LABEL

    @property
    def is_contended(self) -> bool:
        """Timed while other processes took a large share of the CPU (see vecbench.contention)."""
        return bool(self.contended) or any(w.startswith("contended") for w in self.warnings)

    @property
    def gbps(self) -> float | None:
        """Achieved GB/s from the minimum traffic and the median time."""
        return self.bytes / self.timing.median_s / 1e9 if self.timing else None

    @property
    def gflops(self) -> float | None:
        return self.flops / self.timing.median_s / 1e9 if self.timing else None

    @property
    def elements(self) -> int:
        """Problem size as a number of elements: the product of the size parameters,
        without the op's extra axes (a batch size is how the work is cut, not how much)."""
        from .registry import axis_names

        skip = axis_names(self.op)
        return math.prod(v for k, v in self.size.items() if k not in skip) if self.size else 0

    def with_timing(self, timing: Timing, *warnings: str) -> Record:
        """This record, ok, with ``timing`` (and any warnings added)."""
        return dataclasses.replace(self, status="ok", reason="", timing=timing,
                                   warnings=(*self.warnings, *warnings))

    def with_status(self, status: str, reason: str, *warnings: str) -> Record:
        """This record as failed or skipped, with its reason."""
        return dataclasses.replace(self, status=status, reason=reason, timing=None,
                                   warnings=(*self.warnings, *warnings))

    def to_dict(self) -> dict[str, Any]:
        """The flat JSON form (schema 1 and 2 share it)."""
        t = self.timing
        return {
            "op": self.op, "backend": self.backend, "size": dict(self.size), "label": self.label,
            "dtype": self.dtype, "threads": self.threads, "status": self.status, "reason": self.reason,
            "samples_s": list(t.samples_s) if t else [],
            "loops_per_sample": t.loops_per_sample if t else 0,
            "min_s": t.min_s if t else None, "median_s": t.median_s if t else None,
            "iqr_s": t.iqr_s if t else None,
            "first_call_s": t.first_call_s if t else None,
            "compile_time_s": t.compile_time_s if t else None,
            "from_cache": t.from_cache if t else None,
            "ci_low_s": t.ci_low_s if t else None, "ci_high_s": t.ci_high_s if t else None,
            "transfer_in_s": t.transfer_in_s if t else None, "transfer_out_s": t.transfer_out_s if t else None,
            "bytes": self.bytes, "flops": self.flops, "gbps": self.gbps, "gflops": self.gflops,
            "warnings": list(self.warnings),
            "contention": self.contention, "cpu_pressure": self.cpu_pressure, "loadavg": self.loadavg,
            "contended": self.contended,
            **({"facts": dict(self.facts)} if self.facts else {}),
            **({"memory": dict(self.memory)} if self.memory else {}),
            **({"attempts": [dict(a) for a in self.attempts]} if self.attempts else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Record:
        """Read the flat JSON form; ``ValueError`` naming the field when it is malformed."""
        timing = None
        if d.get("status", "ok") == "ok":
            timing = Timing(
                samples_s=tuple(d.get("samples_s") or ()),
                loops_per_sample=int(d.get("loops_per_sample") or 0),
                min_s=d.get("min_s"),  # type: ignore[arg-type]
                median_s=d.get("median_s"),  # type: ignore[arg-type]
                iqr_s=float(d.get("iqr_s") or 0.0),
                first_call_s=d.get("first_call_s"),
                compile_time_s=d.get("compile_time_s"),
                from_cache=d.get("from_cache"),
                ci_low_s=d.get("ci_low_s"),
                ci_high_s=d.get("ci_high_s"),
                transfer_in_s=d.get("transfer_in_s"),
                transfer_out_s=d.get("transfer_out_s"),
            )
        return cls(
            op=str(d["op"]), backend=str(d["backend"]), size=dict(d.get("size") or {}),
            label=str(d.get("label", "")), dtype=str(d.get("dtype", "float64")),
            threads=int(d.get("threads") or 0), status=str(d.get("status", "ok")),
            reason=str(d.get("reason", "")), timing=timing, bytes=int(d.get("bytes") or 0),
            flops=int(d.get("flops") or 0), warnings=tuple(d.get("warnings") or ()),
            contention=d.get("contention"), cpu_pressure=d.get("cpu_pressure"), loadavg=d.get("loadavg"),
            contended=d.get("contended"),
            facts=dict(d.get("facts") or {}),
            memory=dict(d.get("memory") or {}),
            attempts=tuple(a for a in (d.get("attempts") or ()) if isinstance(a, Mapping)),
        )


def baseline_medians(records: Iterable[Record], baseline: str) -> dict[tuple[str, str, str], float]:
    """``{(op, label, dtype): median}`` of ``baseline``'s ok records: what speedups divide."""
    return {(r.op, r.label, r.dtype): r.timing.median_s for r in records if r.backend == baseline and r.timing}


def speedup(r: Record, base: Mapping[tuple[str, str, str], float]) -> float | None:
    """The one definition of a speedup: baseline median / this median, same op, size and dtype (None if either is missing)."""
    t = base.get((r.op, r.label, r.dtype))
    return t / r.timing.median_s if t and r.timing else None


# ---------------------------------------------------------------- uncertainty of what is drawn
def interval(r: Record, confidence: float = CONFIDENCE, summary: bool = False) -> tuple[float, float, float]:
    """(low, median, high): the record's interval of the median at ``confidence``, the one rule.

    From its samples (order statistics, :func:`vecbench.stats.median_ci`); else the stored 95%
    interval (``ci_low_s``/``ci_high_s``; a file saved without samples), widened or narrowed by
    the normal quantiles' ratio for another confidence; else, with ``summary``, the approximate
    interval its IQR gives over the 3 samples a run took at least (an old file; the compare gate
    asks for it); else the bare median. At 95% the first two agree: the stored interval is
    computed from the same samples.
    """
    med = r.median_s or 0.0
    ci = median_ci(r.samples_s, confidence) if r.samples_s else None
    if ci is None and r.ci_low_s is not None and r.ci_high_s is not None:
        widen = NormalDist().inv_cdf(0.5 + confidence / 2) / NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)
        ci = (med - widen * (med - r.ci_low_s), med + widen * (r.ci_high_s - med))
    if ci is None and summary:
        ci = median_ci_from_summary(med, r.iqr_s or 0.0, 3, confidence)
    return (min(ci[0], med), med, max(ci[1], med)) if ci else (med, med, med)


def speedup_interval(base: Record, r: Record) -> tuple[float, float, float]:
    """(low, speedup, high) of ``base median / r median`` (stats.ratio_ci of the two intervals)."""
    b, n = interval(base), interval(r)
    b = (max(b[0], b[1] * 1e-9), b[1], b[2])
    n = (max(n[0], n[1] * 1e-9), n[1], n[2])
    return ratio_ci(b, n)


def untrusted(r: Record) -> bool:
    """Timed on a contended machine or noisy: drawn hollow and listed in the report."""
    return r.is_contended or r.noisy


def format_speedup(v: float | None, digits: int = 3) -> str:
    """A ratio as ``12.3x`` (``digits`` significant digits), ``-`` when there is none."""
    return f"{v:.{digits}g}x" if v is not None else "-"


def format_time(s: float | None) -> str:
    """Seconds as a short readable string: ``0.00123`` -> ``"1.23 ms"``; None -> ``"-"``."""
    if s is None:
        return "-"
    for unit, f in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= f:
            return f"{s / f:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def stats(samples: Iterable[float]) -> dict[str, float | None]:
    """min, median and interquartile range of ``samples`` (None when empty)."""
    arr = np.asarray(list(samples), dtype=np.float64)
    if arr.size == 0:
        return {"min": None, "median": None, "iqr": None}
    q1, med, q3 = np.percentile(arr, [25, 50, 75])
    return {"min": float(arr.min()), "median": float(med), "iqr": float(q3 - q1)}


class RecordSet(Protocol):
    """What figures and tables read from a set of records (:class:`vecbench.results.Results` is one)."""

    records: list[Record]
    machine: dict[str, Any]
    bandwidth_gbps: dict[str, float]
    settings: dict[str, Any]
    created: str
    interrupted: bool
    training: dict[str, Any]
    peak_gflops: dict[str, float]
    cold_compile_s: dict[str, float]
    own_ops: dict[str, Any]
    paired: list[dict[str, Any]]

    def __iter__(self) -> Iterator[Record]: ...

    def __len__(self) -> int: ...

    def baseline_of(self, op: str) -> str | None: ...

    def select(self, **where: Any) -> list[Record]: ...


def skipped_on_a_busy_machine(r: Record) -> bool:
    """A size skipped by the time budget on a prediction from contended or noisy points only."""
    return r.status == "skipped" and UNTRUSTED_PREDICTION in (r.reason or "")


def sweeps_an_axis(r: Record) -> bool:
    """Whether ``r`` is a point of a sweep over one of its op's extra axes (a batch size)."""
    from .registry import axis_names

    return bool(set(axis_names(r.op)) & set(r.size))
