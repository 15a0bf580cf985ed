"""Each finished measurement reaches the disk at once: a JSON Lines journal next to the output.

``vecbench run -o out.json`` appends to ``out.json.journal.jsonl`` as it goes,
one line per event, each written whole, flushed and fsynced::

    {"kind": "header", "journal": 1, "vecbench": "0.1.0", "created": "...", "request": {...}}
    {"kind": "bandwidth", "bandwidth_gbps": {...}}
    {"kind": "record", "record": {...}}            one per finished measurement

A SIGKILL at any moment loses at most the measurement in progress (a torn
last line is ignored on reading and cut off before appending). ``request``
holds the run's arguments (ops, backends, sizes, dtypes, threads, settings),
so ``vecbench run --resume out.json`` measures only what is missing, with the
same settings, and refuses different ones. The journal is removed only after
the final results file was written.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from .results import Record, _jsonable

__all__ = ["JOURNAL_SUFFIX", "Journal", "journal_path"]

JOURNAL_SUFFIX = ".journal.jsonl"
FORMAT = 1


def journal_path(output: str | os.PathLike[str]) -> Path:
    """The journal of results file ``output``: ``output`` + ``.journal.jsonl``."""
    return Path(f"{os.fspath(output)}{JOURNAL_SUFFIX}")


def _canonical(x: Any) -> Any:
    """JSON form, so a request read back from a journal compares equal to a fresh one."""
    return json.loads(json.dumps(x, default=_jsonable, sort_keys=True))


class Journal:
    """An append-only journal of one run (see the module docstring).

    ``Journal(path)`` is a new one (created by :meth:`begin`);
    :meth:`load` reads an existing one to resume it.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.request: dict[str, Any] | None = None
        self.created = ""
        self.records: list[Record] = []
        self.bandwidth_gbps: dict[str, float] = {}
        self._fd: int | None = None
        self._good_bytes = 0  # length up to the last whole line

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Journal:
        """Read a journal written by an interrupted run; ``ValueError`` naming the file if unreadable."""
        j = cls(path)
        try:
            data = j.path.read_bytes()
        except IsADirectoryError:
            raise ValueError(f"{j.path}: is a directory, not a journal") from None
        except FileNotFoundError:
            raise ValueError(f"{j.path}: no journal here (nothing to resume: the run finished or never started)") \
                from None
        except OSError as exc:
            raise ValueError(f"{j.path}: cannot read the journal: {exc.strerror or exc}") from None
        pos = 0
        for n, raw in enumerate(data.splitlines(keepends=True), 1):
            if not raw.endswith(b"\n"):
                break  # torn last line: the write a kill interrupted
            try:
                entry = json.loads(raw)
                j._apply(entry, n)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise ValueError(f"{j.path}: line {n} is not a vecbench journal entry ({exc})") from None
            pos += len(raw)
        if j.request is None:
            raise ValueError(f"{j.path}: not a vecbench journal (no header line)")
        j._good_bytes = pos
        return j

    def _apply(self, entry: dict[str, Any], line: int) -> None:
        kind = entry["kind"]
        if line == 1:
            if kind != "header" or entry.get("journal") != FORMAT or not isinstance(entry.get("request"), dict):
                raise ValueError(f"expected a header of journal format {FORMAT}")
            self.request, self.created = entry["request"], str(entry.get("created", ""))
        elif kind == "record":
            self._keep(Record.from_dict(entry["record"]))
        elif kind == "bandwidth":
            self.bandwidth_gbps = dict(entry["bandwidth_gbps"])
        else:
            raise ValueError(f"unknown entry kind {kind!r}")

    # ------------------------------------------------------------ writing
    def begin(self, request: dict[str, Any], created: str, version: str) -> None:
        """Create the journal with ``request``, or check a loaded one's request and reopen it for appending.

        Raises ``ValueError`` listing the settings that differ from the interrupted run's.
        """
        request = _canonical(request)
        if self.request is None:
            # A fresh clone has no results/ folder: create the journal's folder as the final save would.
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o666)
            self._fd = fd
            self.request, self.created = request, created
            self._append({"kind": "header", "journal": FORMAT, "vecbench": version, "created": created,
                          "request": request})
            _fsync_dir(self.path.parent)
            return
        diff = [f"{k}: the run was started with {self.request.get(k)!r}, now {request.get(k)!r}"
                for k in sorted(set(request) | set(self.request)) if request.get(k) != self.request.get(k)]
        if diff:
            raise ValueError(f"resume: {self.path} was started with other settings ({'; '.join(diff)}); "
                             "resume with the same options, or none")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        os.ftruncate(fd, self._good_bytes)  # drop a torn last line before appending
        self._fd = fd

    def add_record(self, rec: Record) -> None:
        """Append one finished measurement (on disk when this returns); a later record of the same kernel
        (one measured again after the sweep, vecbench.remeasure) replaces the earlier one."""
        self._keep(rec)
        self._append({"kind": "record", "record": rec.to_dict()})

    def _keep(self, rec: Record) -> None:
        for i, old in enumerate(self.records):
            if old.key == rec.key:
                self.records[i] = rec
                return
        self.records.append(rec)

    def add_bandwidth(self, bandwidth_gbps: dict[str, float]) -> None:
        self.bandwidth_gbps = dict(bandwidth_gbps)
        self._append({"kind": "bandwidth", "bandwidth_gbps": bandwidth_gbps})

    def _append(self, entry: dict[str, Any]) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path}: journal not open (call begin first)")
        data = (json.dumps(entry, default=_jsonable) + "\n").encode()
        view = memoryview(data)
        while view:  # one line, whole
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def remove(self) -> None:
        """Delete the journal (after the results file was written)."""
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
