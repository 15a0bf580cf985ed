"""The results schema: plain records, JSON in and out, atomic writes.

A results file is::

    {"schema": 2, "vecbench": "0.1.0", "created": "2026-11-25T22:00:00+00:00", "source": "vecbench",
     "machine": {...}, "bandwidth_gbps": {...}, "settings": {...},
     "interrupted": false, "results": [Record, ...]}

(every field: docs/results.md; schema 1 files are still read). The records themselves and what is
read off them (speedups, intervals) are :mod:`vecbench.records`.

This module also reads pytest-benchmark JSON (``--benchmark-save`` /
``--benchmark-json``) into the same records: the benchmark suite stores the
vecbench fields in each benchmark's ``extra_info``; benchmarks of any other
suite are read by :mod:`vecbench.foreign`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .foreign import machine_from_schema1, read_pytest_benchmark
from .records import (  # noqa: F401  (re-exported: the records of a results file)
    NOISY_SPREAD,
    STATUSES,
    Record,
    RecordSet,
    Timing,
    baseline_medians,
    format_speedup,
    format_time,
    interval,
    speedup,
    speedup_interval,
    stats,
    untrusted,
)

__all__ = ["Record", "Results", "SCHEMA", "Timing", "baseline_medians", "speedup", "format_time", "stats",
           "write_json_atomic", "check_writable", "load", "phases_line"]

SCHEMA = 2
# Schema 1 kept backend facts at the top of the machine block; 2 groups them
# under "backends" (one entry per backend, whatever it reports). Records are alike.
READABLE_SCHEMAS = (1, 2)
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
    # Compute roof of the roofline (vecbench.bandwidth.measure_peak_gflops); empty in older files.
    peak_gflops: dict[str, float] = field(default_factory=dict)
    # Cold JIT compile per kernel, in a fresh cache ({"op/backend": seconds}; vecbench.coldstart).
    cold_compile_s: dict[str, float] = field(default_factory=dict)
    # Where the run's wall time went, in order: {"start (worker process, thread pools)": s, "sweep: numpy": s,
    # "interleaved rounds": s, "cold compiles": s, ...} (vecbench.harness; the CLI adds its own phases).
    phases_s: dict[str, float] = field(default_factory=dict)
    # Your own computations measured here (vecbench.own): {op: {reference, rtol, atol, kernels: {name: {source,
    # jit, measured_in}}}}; their kernels are named by you, and each op's speedups are over its reference.
    own_ops: dict[str, Any] = field(default_factory=dict)
    # Interleaved rounds (vecbench.rounds): the backends of one op and size timed in alternation, one entry per
    # (op, label, dtype): {"op", "label", "dtype", "backends": [...], "rounds_s": [[s per call, one per backend]...],
    # "contended": bool}; speedups with intervals come from these paired rounds where they exist.
    paired: list[dict[str, Any]] = field(default_factory=list)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def failures(self) -> list[Record]:
        return [r for r in self.records if r.status == "failed"]

    def baseline_of(self, op: str) -> str | None:
        """The backend ``op``'s speedups are over: a computation's reference kernel (or its first), else the
        loop backend (None when the registry has none)."""
        own = self.own_ops.get(op)
        if isinstance(own, dict):
            kernels = list(own.get("kernels") or [])
            ref = own.get("reference")
            return ref if ref in kernels else (kernels[0] if kernels else None)
        from .registry import baseline

        try:
            return baseline("loop")
        except KeyError:
            return None

    def to_pandas(self) -> Any:
        """One row per record (``op, backend, n, label, status, median_s, ..., speedup``): a pandas DataFrame.

        ``speedup`` is over the op's baseline (``baseline`` column): the
        reference kernel of your own computation, the loop backend for vecbench's ops.
        Needs pandas: ``pip install 'vecbench[pandas]'``.
        """
        from .display import to_pandas

        return to_pandas(self)

    def _repr_html_(self) -> str:
        from .display import html_table

        return html_table(self)

    def plot(self, ops: Sequence[str] | None = None) -> Any:
        """Time per call and speedup over each op's baseline vs size, one row of two panels per op.

        Returns a matplotlib Figure (shown inline when it is the last value of a Jupyter cell;
        ``fig.savefig("out.png")`` elsewhere).
        """
        from .display import plot

        return plot(self, ops)

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
            "peak_gflops": self.peak_gflops,
            "cold_compile_s": self.cold_compile_s,
            **({"phases_s": self.phases_s} if self.phases_s else {}),
            "own_ops": self.own_ops,
            **({"paired": self.paired} if self.paired else {}),
            "results": [r.to_dict() for r in self.records],
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write JSON atomically (temp file + rename): never a truncated file."""
        return write_json_atomic(path, self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Results:
        if d.get("schema") not in READABLE_SCHEMAS:
            raise ValueError(f"results: unsupported schema {d.get('schema')!r}; expected one of {READABLE_SCHEMAS}")
        machine = dict(d.get("machine") or {})
        if d.get("schema") == 1:
            machine = machine_from_schema1(machine)
        return cls(
            records=[_record_from(i, r) for i, r in enumerate(d.get("results", []))],
            machine=machine,
            bandwidth_gbps=d.get("bandwidth_gbps", {}),
            settings=d.get("settings", {}),
            created=d.get("created", ""),
            vecbench=d.get("vecbench", ""),
            interrupted=bool(d.get("interrupted", False)),
            source=d.get("source", "vecbench"),
            training=d.get("training", {}),
            peak_gflops=dict(d.get("peak_gflops") or {}),
            cold_compile_s=dict(d.get("cold_compile_s") or {}),
            phases_s={str(k): float(v) for k, v in (d.get("phases_s") or {}).items()},
            own_ops=dict(d.get("own_ops") or {}),
            paired=[dict(p) for p in (d.get("paired") or []) if isinstance(p, dict)],
        )

    @classmethod
    def merge(cls, parts: Iterable[Results]) -> Results:
        """One Results from several files (machine and bandwidth of the first)."""
        parts = list(parts)
        if not parts:
            raise ValueError("results: nothing to merge")
        merged = dataclasses.replace(parts[0], records=[r for p in parts for r in p.records],
                                     bandwidth_gbps=dict(parts[0].bandwidth_gbps), training=dict(parts[0].training),
                                     peak_gflops=dict(parts[0].peak_gflops), cold_compile_s=dict(parts[0].cold_compile_s),
                                     phases_s=dict(parts[0].phases_s),
                                     own_ops=dict(parts[0].own_ops), paired=list(parts[0].paired))
        for p in parts[1:]:
            merged.paired += p.paired
            for k, v in p.own_ops.items():
                merged.own_ops.setdefault(k, v)
            for k, v in p.peak_gflops.items():
                merged.peak_gflops.setdefault(k, v)
            for key, s in p.cold_compile_s.items():
                merged.cold_compile_s.setdefault(key, s)
            for key, s in p.phases_s.items():  # the parts ran one after another: their phases add up
                merged.phases_s[key] = merged.phases_s.get(key, 0.0) + s
            for k, v in p.bandwidth_gbps.items():
                merged.bandwidth_gbps.setdefault(k, v)
            for k, v in p.training.items():
                merged.training.setdefault(k, v)
        return merged


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_writable(path: str | os.PathLike[str]) -> Path:
    """``ValueError`` (one line) unless ``path`` can be written as a regular file by :func:`write_json_atomic`.

    Never replaced: anything at ``path`` that is not a regular file (a
    directory, a device such as ``/dev/null``, a FIFO, a socket); a parent that
    is not a folder or not writable is refused too. Called before a run
    measures anything, so a bad path costs nothing.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise ValueError(f"{path}: cannot use this path: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise ValueError(f"{path} is {_kind(mode)}; give the path of a regular file (it is never replaced)")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the nearest existing ancestor: the folders below it get created
    if not folder.is_dir():
        raise ValueError(f"{path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{path}: no permission to write in {folder}")
    return path


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` via a temp file in the same folder and ``os.replace``.

    Refuses (``ValueError``) to replace anything that is not a regular file.
    """
    path = check_writable(path)
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
        check_writable(path)  # still not a directory or device (it may have changed while we wrote)
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


def _record_from(i: int, d: Any) -> Record:
    """Record ``i`` of a file; a malformed one is a ``ValueError`` that says which and why."""
    try:
        return Record.from_dict(d)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        who = " ".join(str(d.get(k, "?")) for k in ("op", "backend", "label", "dtype")) if isinstance(d, dict) else ""
        what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"record {i} ({who}): {what}") from None


# ---------------------------------------------------------------- loading any file
_TIMES = ("min_s", "median_s", "iqr_s", "first_call_s", "compile_time_s", "gbps", "gflops", "transfer_in_s",
          "transfer_out_s")


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _memory_ok(v: Any) -> bool:
    """A record's ``memory`` entry (vecbench.memory): an object; its counts, where given, whole and >= 0."""
    counts = ("peak_bytes", "output_bytes", "allocations", "unit_elements")
    return isinstance(v, dict) and all(v.get(k) is None or (_number(v[k]) and v[k] == int(v[k]) and v[k] >= 0)
                                       for k in counts)


def _check_record(d: Any, where: str) -> dict[str, Any]:
    """A record dict with every field of the right type (``ValueError`` naming the field otherwise).

    An ``ok`` record whose median or min is missing, zero, negative or not
    finite cannot be drawn or compared: it is kept as ``failed`` with the
    reason, so nothing downstream ever divides by it or passes it.
    """
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected an object; got {type(d).__name__}")  # noqa: TRY004  a bad file: one ValueError

    def need(name: str, ok: Any, what: str, default: Any = ...) -> None:
        if name not in d:
            if default is ...:
                raise ValueError(f"{where}: missing field {name!r} ({what})")
            d[name] = default
        elif not ok(d[name]):
            raise ValueError(f"{where}.{name}: must be {what}; got {d[name]!r}")

    d = dict(d)
    for name in ("op", "backend", "label", "dtype"):
        need(name, lambda v: isinstance(v, str), "a string")
    need("size", lambda v: isinstance(v, dict) and all(isinstance(k, str) and _number(x) and x == int(x)
                                                      for k, x in v.items()), "an object of whole numbers")
    d["size"] = {k: int(v) for k, v in d["size"].items()}
    need("threads", lambda v: _number(v) and v == int(v), "a whole number", 0)
    need("status", lambda v: v in STATUSES, f"one of {list(STATUSES)}")
    need("reason", lambda v: isinstance(v, str), "a string", "")
    need("samples_s", lambda v: isinstance(v, list) and all(_number(x) for x in v), "a list of numbers", [])
    for name in ("loops_per_sample", "bytes", "flops"):
        need(name, lambda v: _number(v) and v == int(v) and v >= 0, "a whole number >= 0", 0)
    for name in _TIMES:
        need(name, lambda v: v is None or _number(v), "a number or null", None)
    need("from_cache", lambda v: v is None or isinstance(v, bool), "true, false or null", None)
    need("warnings", lambda v: isinstance(v, list) and all(isinstance(w, str) for w in v), "a list of strings", [])
    need("facts", lambda v: isinstance(v, dict), "an object", {})
    need("memory", _memory_ok, "an object whose byte counts are whole numbers >= 0 or null", {})
    if d["status"] == "ok":
        bad = [f"{n} is {d[n]!r}" for n in ("median_s", "min_s")
               if not (d[n] is not None and math.isfinite(d[n]) and d[n] > 0)]
        if bad:
            d.update(status="failed", reason=f"unusable measurement in the file: {', '.join(bad)}")
        else:
            if d["iqr_s"] is not None and not (math.isfinite(d["iqr_s"]) and d["iqr_s"] >= 0):
                d["iqr_s"] = None
            for name, count in (("gbps", d["bytes"]), ("gflops", d["flops"])):
                if d[name] is None or not math.isfinite(d[name]):
                    d[name] = count / d["median_s"] / 1e9
    return d


def _paired_ok(p: Any) -> bool:
    """One entry of ``paired``: names, and rounds of positive finite times, one per backend."""
    if not (isinstance(p, dict) and all(isinstance(p.get(k), str) for k in ("op", "label", "dtype"))):
        return False
    names, rounds = p.get("backends"), p.get("rounds_s")
    return (isinstance(names, list) and all(isinstance(n, str) for n in names) and isinstance(rounds, list)
            and all(isinstance(r, list) and len(r) == len(names)
                    and all(_number(x) and math.isfinite(x) and x > 0 for x in r) for r in rounds))


def _check_results(d: dict[str, Any]) -> dict[str, Any]:
    if d.get("schema") not in READABLE_SCHEMAS:
        raise ValueError(f"unsupported schema {d.get('schema')!r}; expected one of {READABLE_SCHEMAS} "
                         "(a vecbench results file)")
    if not isinstance(d.get("results"), list):
        raise ValueError(  # noqa: TRY004  every problem of a file is a ValueError naming it
            f"'results' must be a list of records; got {type(d.get('results')).__name__}")
    for name in ("machine", "settings", "training", "own_ops"):
        if not isinstance(d.get(name, {}), dict):
            raise ValueError(f"{name!r} must be an object; got {d[name]!r}")  # noqa: TRY004
    for name in ("bandwidth_gbps", "peak_gflops", "cold_compile_s"):
        obj = d.get(name, {})
        if not (isinstance(obj, dict) and all(_number(v) and math.isfinite(v) for v in obj.values())):
            raise ValueError(f"{name!r} must be an object of numbers; got {obj!r}")
    paired = d.get("paired", [])
    if not (isinstance(paired, list) and all(_paired_ok(p) for p in paired)):
        raise ValueError("'paired' must be a list of objects with 'op', 'label', 'dtype', 'backends' (strings) and "
                         "'rounds_s' (lists of positive numbers, one per backend)")
    d = dict(d, results=[_check_record(r, f"results[{i}]") for i, r in enumerate(d["results"])])
    for name in ("created", "vecbench", "source"):
        if name in d and not isinstance(d[name], str):
            d[name] = str(d[name])
    return d


def load(path: str | os.PathLike[str]) -> Results:
    """Read a vecbench results file or a pytest-benchmark JSON file.

    Raises
    ------
    ValueError
        One line naming the file and the problem: missing, a directory, not
        JSON, not an object, a field missing or of the wrong type. ``ok``
        records whose median or min cannot be used (NaN, zero, missing) are
        loaded as ``failed`` with that reason.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{p}: is a directory, not a results file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        d = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{p}: not JSON ({exc})") from None
    if not isinstance(d, dict):
        raise ValueError(  # noqa: TRY004  every problem of a file is a ValueError naming it
            f"{p}: expected a JSON object (a vecbench results file or pytest-benchmark JSON); "
            f"got {type(d).__name__ if d is not None else 'null'}")
    try:
        if "benchmarks" in d and "machine_info" in d:
            res = Results(**read_pytest_benchmark(d))
            d2 = _check_results({"schema": SCHEMA, "results": [r.to_dict() for r in res.records]})
            return dataclasses.replace(res, records=[_record_from(i, r) for i, r in enumerate(d2["results"])])
        return Results.from_dict(_check_results(d))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        msg = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"{p}: {msg}") from None


def _duration(seconds: float) -> str:
    if seconds >= 60:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest:02d} s"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def phases_line(phases: Mapping[str, float]) -> str:
    """Where a run's wall time went, in one line (``Results.phases_s``): the sweep's share per backend in brackets.

    ``"7 min 31 s: start 3.1 s, bandwidth and compute probes 12 s, sweep 4 min 10 s (python 1 min 40 s, numba 50 s),
    interleaved rounds 1 min 50 s"``; "" when nothing was recorded (an older file, or a run in memory).
    """
    if not phases:
        return ""
    parts: list[str] = []
    sweep = {k.split(": ", 1)[1]: v for k, v in phases.items() if k.startswith("sweep: ")}
    for key, seconds in phases.items():
        if key.startswith("sweep: "):
            if sweep:  # the sweep's parts, once, where its first backend was
                inner = ", ".join(f"{b} {_duration(v)}" for b, v in sorted(sweep.items(), key=lambda kv: -kv[1]))
                parts.append(f"sweep {_duration(sum(sweep.values()) + phases.get('sweep', 0.0))} ({inner})")
                sweep = {}
        elif key != "sweep" or not any(k.startswith("sweep: ") for k in phases):
            parts.append(f"{key} {_duration(seconds)}")
    return f"{_duration(sum(phases.values()))}: " + ", ".join(parts)

