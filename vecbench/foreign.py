"""Every format besides today's results file, read into vecbench records: pytest-benchmark JSON
(vecbench's own suite, :func:`read_pytest_benchmark`, and any other suite, :func:`from_benchmark`)
and schema 1's machine block (:func:`machine_from_schema1`). :mod:`vecbench.results` calls these;
this module never imports it.

Benchmarks of any pytest-benchmark suite:

pytest-benchmark's JSON knows each benchmark's ``group``, test function
(``name`` / ``fullname``) and ``params``. vecbench draws them as scaling
plots: the group is a panel, a numeric parameter (or the numeric tail of the
name, ``test_sort[1000]``) is the x axis, and the test function, with any
non-numeric parameters, is one series. A group with no numeric parameter is
drawn as bars.

A foreign record's ``op`` is its group (or, without one, the test module),
its ``backend`` the series, its ``size`` ``{parameter: value}`` (empty when
nothing is numeric). Such ops are not in the registry, which is how the
report tells them from vecbench's own. When a benchmark's ``extra_info``
carries vecbench's fields (``bytes``, ``flops``, ``compile_time_s``,
``dtype``...), they are kept, so GB/s and GFLOP/s appear.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .records import Record, Timing
from .stats import median_ci, median_ci_from_summary

__all__ = ["from_benchmark", "is_foreign", "machine_from_schema1", "read_pytest_benchmark", "x_name"]

# The numeric tail of a benchmark's name or parameter id: test_sort[1000], test_sort[n=1e6], test_fib_30.
_TAIL = re.compile(r"(?:^|[^0-9A-Za-z.])(\d+(?:\.\d+)?(?:[eE]\+?\d+)?)\]?$")
SUMMARY_WARNING = ("summary statistics only (saved without --benchmark-save-data): "
                   "interval approximated as median +- 1.82 IQR / sqrt(rounds)")


def _whole(v: Any) -> int | None:
    """``v`` as an int when it is a finite whole number >= 0 (a bool is not a number here)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            return None
    if isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 and float(v) == int(v):
        return int(v)
    return None


def _function(bench: Mapping[str, Any]) -> str:
    """The test function's name without its parameter id: ``test_sort[1000]`` -> ``test_sort``."""
    return str(bench.get("name") or bench.get("fullname") or "benchmark").split("[", 1)[0]


def _group(bench: Mapping[str, Any]) -> str:
    """The panel: pytest-benchmark's group, else the test module (``tests/test_x.py``)."""
    group = bench.get("group")
    if group:
        return str(group)
    full = str(bench.get("fullname") or "")
    return full.split("::", 1)[0] if "::" in full else "benchmarks"


def _axis(bench: Mapping[str, Any]) -> tuple[dict[str, int], list[str]]:
    """(``{name: value}`` of the x axis or {}, the other parameters as ``name=value`` for the series label)."""
    params = bench.get("params") or {}
    rest: list[str] = []
    size: dict[str, int] = {}
    if isinstance(params, Mapping):
        for k, v in params.items():
            n = _whole(v)
            if n is not None and not size:
                size[str(k)] = n
            else:
                rest.append(f"{k}={v}")
    if not size and not params:
        m = _TAIL.search(str(bench.get("param") or bench.get("name") or ""))
        if m and (n := _whole(m.group(1))) is not None:
            size["n"] = n
    return size, rest


def x_name(records: list[Record]) -> str:
    """The x axis label of a foreign group: its parameter name (``n`` for a numeric name tail)."""
    keys = list(dict.fromkeys(k for r in records for k in r.size))
    return ", ".join(keys) or ""


def is_foreign(op: str) -> bool:
    """Whether ``op`` is a group of a foreign pytest-benchmark file (not an op of the registry)."""
    from . import registry

    return op not in registry.ops()


def _interval_of(st: Mapping[str, Any], samples: tuple[float, ...]) -> tuple[tuple[float, float] | None, tuple[str, ...]]:
    """The median's interval from the saved samples, else approximated from the summary (and the warning saying so)."""
    ci = median_ci(samples) if samples else None
    if ci is None and st.get("rounds") and st.get("median") is not None:
        return median_ci_from_summary(st["median"], st.get("iqr") or 0.0, int(st["rounds"])), (SUMMARY_WARNING,)
    return ci, ()


def from_benchmark(bench: Mapping[str, Any]) -> Record:
    """One pytest-benchmark entry (any suite) as an ``ok`` record; ``ValueError`` naming the field when malformed."""
    name = bench.get("fullname") or bench.get("name") or "?"
    st = bench.get("stats")
    if not isinstance(st, Mapping):
        raise ValueError(f"benchmark {name}: missing 'stats'")  # noqa: TRY004  a bad file: one ValueError
    info = bench.get("extra_info") or {}
    size, rest = _axis(bench)
    series = _function(bench) + (f"[{', '.join(rest)}]" if rest else "")
    samples = tuple(st.get("data") or ())
    ci, warnings = _interval_of(st, samples)
    for key in ("min", "median"):
        if not isinstance(st.get(key), (int, float)):
            raise ValueError(f"benchmark {name}: stats.{key} must be a number; got {st.get(key)!r}")
    timing = Timing(
        samples_s=samples, loops_per_sample=int(st.get("iterations") or 1),
        min_s=st["min"], median_s=st["median"], iqr_s=float(st.get("iqr") or 0.0),
        first_call_s=info.get("first_call_s"), compile_time_s=info.get("compile_time_s"),
        from_cache=info.get("from_cache"),
        ci_low_s=ci[0] if ci else None, ci_high_s=ci[1] if ci else None,
    )
    label = ", ".join(f"{k}={v}" for k, v in size.items()) or str(bench.get("param") or "")
    return Record(op=_group(bench), backend=series, size=size, label=label,
                  dtype=str(info.get("dtype") or "-"), threads=int(_whole(info.get("threads")) or 0),
                  timing=timing, bytes=int(_whole(info.get("bytes")) or 0), flops=int(_whole(info.get("flops")) or 0),
                  warnings=warnings)


def machine_from_schema1(m: dict[str, Any]) -> dict[str, Any]:
    """Schema 1's machine block (NumPy and Numba facts at the top) in schema 2's shape."""
    m = dict(m)
    backends = dict(m.get("backends") or {})
    if "numpy" in m and "numpy" not in backends:
        blas = [b for b in m.get("blas", []) if isinstance(b, dict) and b.get("user_api") == "blas"]
        # NumPy's own BLAS (its wheels bundle it under numpy.libs), not another package's that was loaded too.
        own = [b for b in blas if "numpy" in str(b.get("filepath", ""))]
        backends["numpy"] = {"available": True, "version": m.pop("numpy"), "blas": own or blas}
    if isinstance(m.get("numba"), dict) and "numba" not in backends:
        backends["numba"] = m.pop("numba")
    m["backends"] = backends
    return m


def read_pytest_benchmark(d: dict[str, Any]) -> dict[str, Any]:
    """A pytest-benchmark JSON file (vecbench's suite or any other) as the fields of a
    :class:`vecbench.results.Results`: vecbench's fields from each benchmark's ``extra_info``,
    any other benchmark through :func:`from_benchmark`."""
    records = []
    for bench in d.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if "op" not in info:  # any other suite: group -> op, test function -> series, numeric param -> size
            records.append(from_benchmark(bench))
            continue
        st = bench["stats"]
        # pytest-benchmark's own statistics (over all rounds) are kept as they are.
        samples = tuple(st.get("data") or ())
        ci, warnings = _interval_of(st, samples)
        timing = Timing(
            samples_s=samples,
            loops_per_sample=int(st.get("iterations", 1)),
            min_s=st["min"], median_s=st["median"], iqr_s=st["iqr"],
            first_call_s=info.get("first_call_s"),
            compile_time_s=info.get("compile_time_s"),
            from_cache=info.get("from_cache"),
            ci_low_s=ci[0] if ci else None, ci_high_s=ci[1] if ci else None,
        )
        records.append(Record(
            op=info["op"], backend=info["backend"], size=info["size"], label=info["label"],
            dtype=info["dtype"], threads=int(info.get("threads", 0)), timing=timing,
            bytes=int(info.get("bytes", 0)), flops=int(info.get("flops", 0)), warnings=warnings,
        ))
    own_ops = {b["extra_info"]["op"]: b["extra_info"]["own_op"] for b in d.get("benchmarks", [])
               if isinstance(b.get("extra_info"), dict) and isinstance(b["extra_info"].get("own_op"), dict)}
    machine = dict(d.get("machine_info", {}))
    vb_info = machine.get("vecbench", {})
    extras = [b.get("extra_info", {}) for b in d.get("benchmarks", [])]
    bandwidth: dict[str, float] = next((e["bandwidth_gbps"] for e in extras if "bandwidth_gbps" in e), {})
    vb_machine = dict(vb_info.get("machine", machine))
    if "backends" not in vb_machine:
        vb_machine = machine_from_schema1(vb_machine)
    # Facts known only once a kernel ran (Numba's threading layer) come per benchmark.
    for e in extras:
        for name, facts in (e.get("backend_facts") or {}).items():
            vb_machine["backends"].setdefault(name, {}).update(facts)
        if "threading_layer" in e:  # written by vecbench 0.1's suite
            vb_machine["backends"].setdefault("numba", {})["threading_layer"] = e["threading_layer"]
    return dict(
        records=records,
        machine=vb_machine,
        bandwidth_gbps=bandwidth or vb_info.get("bandwidth_gbps", {}),
        created=d.get("datetime", ""),
        vecbench=vb_info.get("version", ""),
        source="pytest-benchmark",
        own_ops=own_ops,
    )
