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
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Record", "Results", "SCHEMA", "format_time", "stats", "write_json_atomic", "check_writable", "load"]

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
        self.set_rates()
        spread = (self.iqr_s or 0.0) / self.median_s if self.median_s else 0.0
        if spread > NOISY_SPREAD and len(samples_s) >= 3:
            self.warnings.append(f"noisy: IQR is {spread:.0%} of the median")

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


# ---------------------------------------------------------------- loading any file
_STATUSES = ("ok", "failed", "skipped")
_TIMES = ("min_s", "median_s", "iqr_s", "first_call_s", "compile_time_s", "gbps", "gflops")


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


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
    need("status", lambda v: v in _STATUSES, f"one of {list(_STATUSES)}")
    need("reason", lambda v: isinstance(v, str), "a string", "")
    need("samples_s", lambda v: isinstance(v, list) and all(_number(x) for x in v), "a list of numbers", [])
    for name in ("loops_per_sample", "bytes", "flops"):
        need(name, lambda v: _number(v) and v == int(v) and v >= 0, "a whole number >= 0", 0)
    for name in _TIMES:
        need(name, lambda v: v is None or _number(v), "a number or null", None)
    need("from_cache", lambda v: v is None or isinstance(v, bool), "true, false or null", None)
    need("warnings", lambda v: isinstance(v, list) and all(isinstance(w, str) for w in v), "a list of strings", [])
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


def _check_results(d: dict[str, Any]) -> dict[str, Any]:
    if d.get("schema") != SCHEMA:
        raise ValueError(f"unsupported schema {d.get('schema')!r}; expected {SCHEMA} (a vecbench results file)")
    if not isinstance(d.get("results"), list):
        raise ValueError(  # noqa: TRY004  every problem of a file is a ValueError naming it
            f"'results' must be a list of records; got {type(d.get('results')).__name__}")
    for name in ("machine", "settings", "training"):
        if not isinstance(d.get(name, {}), dict):
            raise ValueError(f"{name!r} must be an object; got {d[name]!r}")  # noqa: TRY004
    bw = d.get("bandwidth_gbps", {})
    if not (isinstance(bw, dict) and all(_number(v) and math.isfinite(v) for v in bw.values())):
        raise ValueError(f"'bandwidth_gbps' must be an object of numbers; got {bw!r}")
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
            res = _from_pytest_benchmark(d)
            d2 = _check_results({"schema": SCHEMA, "results": [dataclasses.asdict(r) for r in res.records]})
            return dataclasses.replace(res, records=[Record.from_dict(r) for r in d2["results"]])
        return Results.from_dict(_check_results(d))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        msg = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"{p}: {msg}") from None
