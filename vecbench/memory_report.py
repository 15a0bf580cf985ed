"""The report's "memory per call" section: what each backend's call allocates beyond its output.

Reads the ``memory`` entry of each record (:mod:`vecbench.memory`) and writes markdown lines:
a sentence per op at its largest size ("numpy: 3 temporaries of n floats; numba: none"), a
table with one row per op and size and the backends side by side, and why a backend has
no figure. Records without the entry (files written before it existed) are left out; a
file with none gives no section.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .memory import NONE_BYTES, temporaries
from .records import Record

__all__ = ["memory_cell", "memory_lines", "memory_rows"]

# The methods a results file may name, as the section explains them.
_METHODS = {
    "tracemalloc": "tracemalloc (Python objects and NumPy arrays)",
    "tracemalloc+nrt": "tracemalloc (Numba's runtime allocates through CPython's allocator) + NRT's allocation count",
    "nrt": "Numba's runtime counters (allocations, no bytes)",
    "torch.profiler": "the PyTorch profiler's memory events",
    "xla.memory_analysis": "XLA's buffer assignment (`memory_analysis()`: planned at compile time, not observed)",
}


def _bytes(n: float) -> str:
    for unit, f in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= f:
            return f"{n / f:.3g} {unit}"
    return f"{int(n)} B"


def _count(t: float) -> str:
    return f"{t:.0f}" if t >= 9.95 else f"{t:.2g}"


def memory_cell(r: Record, words: bool = False) -> str:
    """One record's memory per call: ``"3 x n (24 MB)"``, ``"none"``, ``"5 allocations"`` or ``"-"``.

    With ``words``: ``"3 temporaries of n floats"`` (the sentence form).
    """
    m = r.memory
    peak, allocs = m.get("peak_bytes"), m.get("allocations")
    if peak is None:
        if allocs is None:
            return "-"
        return f"{allocs} allocation{'s' if allocs != 1 else ''}"
    if peak < NONE_BYTES:
        return "none"
    t = temporaries(m, np.dtype(r.dtype).itemsize)
    unit = m.get("unit") or "n"
    if t is None:
        return _bytes(peak)
    if words:
        return f"{_count(t)} temporar{'y' if _count(t) == '1' else 'ies'} of {unit} floats ({_bytes(peak)})"
    return f"{_count(t)} x {unit} ({_bytes(peak)})"


def _measured(results: Iterable[Record]) -> list[Record]:
    return [r for r in results if r.memory and r.status == "ok"]


def memory_rows(results: Iterable[Record]) -> list[dict[str, Any]]:
    """One row per (op, size, dtype) with a memory figure: ``op``, ``label``, ``dtype``, ``unit`` and
    ``cells`` (``{backend: memory_cell}``), in the order the records came (the run's order)."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in _measured(results):
        row = rows.setdefault((r.op, r.label, r.dtype), {"op": r.op, "label": r.label, "dtype": r.dtype,
                                                         "unit": r.memory.get("unit", ""), "cells": {},
                                                         "elements": r.elements})
        row["cells"][r.backend] = memory_cell(r)
    return sorted(rows.values(), key=lambda row: (_first(rows, row["op"]), row["dtype"], row["elements"]))


def _first(rows: Mapping[tuple[str, str, str], Any], op: str) -> int:
    return next(i for i, key in enumerate(rows) if key[0] == op)


def _sentences(recs: list[Record]) -> list[str]:
    """Per op, at its largest measured size: each backend's figure in words."""
    out = []
    for op in dict.fromkeys(r.op for r in recs):
        mine = [r for r in recs if r.op == op]
        top = max(mine, key=lambda r: (r.elements, r.dtype == "float64"))
        at = [r for r in mine if r.label == top.label and r.dtype == top.dtype]
        parts = [f"{r.backend}: {memory_cell(r, words=True)}" for r in at if memory_cell(r) != "-"]
        if parts:
            out.append(f"- `{op}` at {top.label} ({top.dtype}): " + "; ".join(parts) + ".")
    return out


def memory_lines(results: Iterable[Record]) -> list[str]:
    """The report's "memory per call" section, without its heading (markdown lines; none when no record
    carries a figure)."""
    recs = _measured(results)
    if not recs:
        return []
    backends = list(dict.fromkeys(r.backend for r in recs))
    methods: dict[str, list[str]] = {}
    for r in recs:
        m = r.memory.get("method")
        if m and r.backend not in methods.setdefault(m, []):
            methods[m].append(r.backend)
    out = ["What one call allocates beyond its output (its peak temporary memory), in arrays of the op's unit "
           "(`n` for the vector ops, `m` examples for logistic regression) of the record's dtype; "
           "\"none\" is under 1 kB. Measured once per record in an extra call after the timed samples, never "
           "inside one. How: " + "; ".join(f"{', '.join(bs)}: {_METHODS.get(m, m)}" for m, bs in methods.items())
           + ".", ""]
    out += _sentences(recs) + [""]
    out += ["| op | size | dtype | " + " | ".join(backends) + " |", "|---|---|---|" + "---:|" * len(backends)]
    for row in memory_rows(recs):
        cells = " | ".join(row["cells"].get(b, "") for b in backends)
        out.append(f"| {row['op']} | {row['label']} | {row['dtype']} | {cells} |")
    reasons = dict.fromkeys((r.backend, r.memory["reason"]) for r in recs
                            if r.memory.get("reason") and r.memory.get("peak_bytes") is None)
    if reasons:
        out += ["", "Where a figure is missing or is a count:", ""]
        out += [f"- `{b}`: {why}" for b, why in reasons]
    return out + [""]
