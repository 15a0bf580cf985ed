"""The results schema: plain records, JSON in and out, atomic writes.

A results file is::

    {"schema": 1, "vecbench": "0.1.0", "created": "2026-11-25T22:00:00+00:00",
     "machine": {...}, "bandwidth_gbps": {...}, "settings": {...},
     "interrupted": false, "results": [Record, ...]}

This module also reads pytest-benchmark JSON (``--benchmark-save`` /
``--benchmark-json``) into the same records: the benchmark suite stores the
vecbench fields in each benchmark's ``extra_info``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .stats import median_ci, median_ci_from_summary

__all__ = ["Record", "Results", "SCHEMA", "format_time", "stats", "write_json_atomic", "load"]

SCHEMA = 1
# IQR/median above this is flagged as a noisy measurement.
NOISY_SPREAD = 0.10


@dataclass
class Record:
    """One measurement: an (op, backend, size, dtype) at one thread count.

    Times are per call, in seconds. ``status`` is ``"ok"``, ``"failed"`` (wrong
    result or an exception: ``reason`` says which) or ``"skipped"`` (``reason``
    says why, e.g. the time budget).
    """

    op: str
    backend: str
    size: dict[str, int]
    label: str
    dtype: str
    threads: int
    status: str = "ok"
    reason: str = ""
    samples_s: list[float] = field(default_factory=list)
    loops_per_sample: int = 0
    min_s: float | None = None
    median_s: float | None = None
    iqr_s: float | None = None
    first_call_s: float | None = None
    compile_time_s: float | None = None
    from_cache: bool | None = None
    bytes: int = 0
    flops: int = 0
    gbps: float | None = None
    gflops: float | None = None
    warnings: list[str] = field(default_factory=list)
    # Uncertainty and machine load (absent from older files: None there).
    ci_low_s: float | None = None  # 95% interval of median_s (stats.median_ci: order statistics)
    ci_high_s: float | None = None
    contention: float | None = None  # others' share of the machine's CPU time while timed (contention.py)
    cpu_pressure: float | None = None  # share of the window some task waited for a CPU (Linux PSI)
    loadavg: float | None = None  # 1-minute load average at the end of the measurement
    contended: bool | None = None  # contention above contention.CONTENDED_ABOVE (None: not measured)

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """Identity used to match records across files."""
        return (self.op, self.backend, self.label, self.dtype, self.threads)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def elements(self) -> int:
        """Problem size as a number of elements: the product of the size parameters
        (a batch size is how the work is cut, not how much there is)."""
        return math.prod(v for k, v in self.size.items() if k != "batch") if self.size else 0

    def set_rates(self) -> None:
        """GB/s and GFLOP/s from the byte and flop counts and the median time."""
        if self.median_s:
            self.gbps = self.bytes / self.median_s / 1e9
            self.gflops = self.flops / self.median_s / 1e9

    def set_samples(self, samples_s: list[float], loops: int) -> None:
        """Store per-call samples and derive min/median/IQR and rates."""
        self.samples_s = list(samples_s)
        self.loops_per_sample = loops
        s = stats(samples_s)
        self.min_s, self.median_s, self.iqr_s = s["min"], s["median"], s["iqr"]
        ci = median_ci(samples_s)
        self.ci_low_s, self.ci_high_s = ci if ci else (None, None)
        self.set_rates()
        spread = (self.iqr_s or 0.0) / self.median_s if self.median_s else 0.0
        if spread > NOISY_SPREAD and len(samples_s) >= 3:
            self.warnings.append(f"noisy: IQR is {spread:.0%} of the median")

    @property
    def noisy(self) -> bool:
        """IQR above NOISY_SPREAD of the median (the warning set by :meth:`set_samples`)."""
        return any(w.startswith("noisy") for w in self.warnings)

    @property
    def is_contended(self) -> bool:
        """Timed while other processes took a large share of the CPU (see vecbench.contention)."""
        return bool(self.contended) or any(w.startswith("contended") for w in self.warnings)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Record:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


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


@dataclass
class Results:
    """A run: records plus the machine and settings they were measured with."""

    records: list[Record] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    bandwidth_gbps: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    vecbench: str = ""
    interrupted: bool = False
    source: str = "vecbench"
    training: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def failures(self) -> list[Record]:
        return [r for r in self.records if r.status == "failed"]

    def select(self, **where: Any) -> list[Record]:
        """Records whose attributes equal ``where`` (e.g. ``op="dot", status="ok"``)."""
        return [r for r in self.records if all(getattr(r, k) == v for k, v in where.items())]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "vecbench": self.vecbench,
            "created": self.created,
            "source": self.source,
            "machine": self.machine,
            "bandwidth_gbps": self.bandwidth_gbps,
            "settings": self.settings,
            "interrupted": self.interrupted,
            "training": self.training,
            "results": [dataclasses.asdict(r) for r in self.records],
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write JSON atomically (temp file + rename): never a truncated file."""
        return write_json_atomic(path, self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Results:
        if d.get("schema") != SCHEMA:
            raise ValueError(f"results: unsupported schema {d.get('schema')!r}; expected {SCHEMA}")
        return cls(
            records=[Record.from_dict(r) for r in d.get("results", [])],
            machine=d.get("machine", {}),
            bandwidth_gbps=d.get("bandwidth_gbps", {}),
            settings=d.get("settings", {}),
            created=d.get("created", ""),
            vecbench=d.get("vecbench", ""),
            interrupted=bool(d.get("interrupted", False)),
            source=d.get("source", "vecbench"),
            training=d.get("training", {}),
        )

    @classmethod
    def merge(cls, parts: Iterable[Results]) -> Results:
        """One Results from several files (machine and bandwidth of the first)."""
        parts = list(parts)
        if not parts:
            raise ValueError("results: nothing to merge")
        merged = dataclasses.replace(parts[0], records=[r for p in parts for r in p.records],
                                     bandwidth_gbps=dict(parts[0].bandwidth_gbps), training=dict(parts[0].training))
        for p in parts[1:]:
            for k, v in p.bandwidth_gbps.items():
                merged.bandwidth_gbps.setdefault(k, v)
            for k, v in p.training.items():
                merged.training.setdefault(k, v)
        return merged


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` via a temp file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a results file is an ordinary file
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, default=_jsonable)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON serializable: {type(x).__name__}")


def _from_pytest_benchmark(d: dict[str, Any]) -> Results:
    records = []
    for bench in d.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if "op" not in info:
            continue  # not a vecbench benchmark
        st = bench["stats"]
        rec = Record(
            op=info["op"],
            backend=info["backend"],
            size=info["size"],
            label=info["label"],
            dtype=info["dtype"],
            threads=int(info.get("threads", 0)),
            compile_time_s=info.get("compile_time_s"),
            from_cache=info.get("from_cache"),
            bytes=int(info.get("bytes", 0)),
            flops=int(info.get("flops", 0)),
        )
        # pytest-benchmark's own statistics (over all rounds) are kept as they are.
        rec.samples_s = list(st.get("data") or [])
        rec.loops_per_sample = int(st.get("iterations", 1))
        rec.min_s, rec.median_s, rec.iqr_s = st["min"], st["median"], st["iqr"]
        ci = median_ci(rec.samples_s) if rec.samples_s else None
        if ci is None and rec.median_s is not None and st.get("rounds"):
            ci = median_ci_from_summary(rec.median_s, rec.iqr_s or 0.0, int(st["rounds"]))
            rec.warnings.append("summary statistics only (saved without --benchmark-save-data): "
                                "interval approximated as median +- 1.82 IQR / sqrt(rounds)")
        rec.ci_low_s, rec.ci_high_s = ci if ci else (None, None)
        rec.set_rates()
        records.append(rec)
    machine = dict(d.get("machine_info", {}))
    vb_info = machine.get("vecbench", {})
    extras = [b.get("extra_info", {}) for b in d.get("benchmarks", [])]
    bandwidth = next((e["bandwidth_gbps"] for e in extras if "bandwidth_gbps" in e), {})
    layer = next((e["threading_layer"] for e in extras if "threading_layer" in e), None)
    vb_machine = dict(vb_info.get("machine", machine))
    if layer and isinstance(vb_machine.get("numba"), dict):
        vb_machine["numba"] = {**vb_machine["numba"], "threading_layer": layer}
    return Results(
        records=records,
        machine=vb_machine,
        bandwidth_gbps=bandwidth or vb_info.get("bandwidth_gbps", {}),
        created=d.get("datetime", ""),
        vecbench=vb_info.get("version", ""),
        source="pytest-benchmark",
    )


def load(path: str | os.PathLike[str]) -> Results:
    """Read a vecbench results file or a pytest-benchmark JSON file."""
    with open(path) as f:
        d = json.load(f)
    if "benchmarks" in d and "machine_info" in d:
        return _from_pytest_benchmark(d)
    return Results.from_dict(d)
