"""Write ``reports/``: figures plus a README.md a person reads first.

Reads results files (vecbench JSON or pytest-benchmark JSON) and never times
anything (``vecbench report --run`` measures in the CLI first, then reports
from the file it wrote). It names no backend: the loop and vectorized
baselines are whichever backends play those roles.
"""

from __future__ import annotations

import dataclasses
import glob
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import registry
from .crossover import crossover_lines, crossovers
from .foreign import is_foreign
from .records import NOISY_SPREAD, NOISY_WARNING, sweeps_an_axis
from .results import Record, Results, Timing, baseline_medians, format_speedup, interval, load, speedup, speedup_interval, untrusted
from .results import format_time as _fmt_time
from .rounds import paired_entry, paired_speedup

__all__ = ["Part", "axis_table", "beside_reference", "break_even", "expand", "headline", "lecture_dot", "reference",
           "report_files", "split", "write_report"]

SLIDE = {"loop_ms": 718.0, "vectorized_ms": 33.0}


# The mark every number derived from an untrusted record carries, wherever it appears.
CONTENDED_MARK = "⚠ contended"
NOISY_MARK = "⚠ noisy"
# A banner at the top when at least this share of a run's measurements stayed contended or noisy.
BANNER_SHARE = 0.25
FIX_COMMAND = "vecbench report --run --wait-quiet 60"


def mark(*recs: Record | None) -> str:
    """" ⚠ contended" / " ⚠ noisy" when any of ``recs`` (the records a number is derived from) is, else ""."""
    got = [r for r in recs if r is not None and r.ok]
    words = ([CONTENDED_MARK] if any(r.is_contended for r in got) else []) + \
        ([NOISY_MARK] if any(r.noisy and not r.is_contended for r in got) else [])
    return (" " + ", ".join(words)) if words else ""


def bandwidth_mark(results: Results) -> str:
    """The mark of a number derived from the bandwidth probe: " ⚠ probe contended" and/or "partly cache"."""
    from .bandwidth import contended

    bw = results.bandwidth_gbps
    words = (["⚠ probe contended"] if contended(bw) else []) + (["⚠ probe partly in cache"] if bw.get("memory") == 0.0
                                                              else [])
    return (" " + ", ".join(words)) if words else ""


def headline(results: Results) -> list[dict[str, Any]]:
    """For each op, every backend at the largest size where the vectorized baseline and another backend succeeded.

    Returns rows with ``op, label, dtype, backend, status, median_s, vs_loop,
    vs_vectorized, gbps, pct_bandwidth`` (None where not measured); the loop
    and vectorized baselines are the backends that play those roles.
    """
    loop, vec = registry.baseline("loop"), registry.baseline("vectorized")
    bw = results.bandwidth_gbps.get("best")
    rows: list[dict[str, Any]] = []
    # Axis sweeps have a table of their own; so have your computations (own_lines: over their reference).
    for op in dict.fromkeys(r.op for r in results if not sweeps_an_axis(r) and r.op not in results.own_ops):
        recs = [r for r in results if r.op == op]
        dtype = "float64" if any(r.dtype == "float64" for r in recs) else recs[0].dtype
        recs = [r for r in recs if r.dtype == dtype]
        by_label: dict[str, dict[str, Record]] = {}
        for r in recs:
            by_label.setdefault(r.label, {})[r.backend] = r
        common = [lab for lab, bs in by_label.items()
                  if vec in bs and bs[vec].ok and sum(r.ok for r in bs.values()) >= 2]
        if not common:
            continue
        label = max(common, key=lambda lab: by_label[lab][vec].elements)
        group = by_label[label]
        base_vec = baseline_medians(group.values(), vec)
        lp = group[loop] if loop in group and group[loop].ok else None
        vc = group[vec]
        for backend, r in group.items():
            paired_loop: tuple[float, float, float] | None = None
            ok = r.ok and bool(r.median_s)
            gbps = r.gbps
            loop_at: str = label
            lp_r: Record | None = lp
            r_at: Record | None = r
            if lp is None and ok and backend != loop:  # the loop was skipped here: its largest size instead
                loop_at, lp_r, r_at = _largest_loop_pair(by_label, loop, backend)
            if ok and lp_r is not None and r_at is not None and backend != loop:
                paired = paired_speedup(results, loop, backend, op, loop_at, dtype)
                if paired:  # interleaved rounds: the speedup and its interval from paired rounds
                    paired_loop = paired
            rows.append({
                "op": op, "label": label, "dtype": dtype, "backend": backend, "status": r.status,
                "reason": r.reason, "median_s": r.median_s,
                "ci_s": interval(r) if ok else None,
                "vs_loop": (lp_r.timing.median_s / r_at.timing.median_s if lp_r and lp_r.timing and r_at and r_at.timing
                            else None),
                "vs_loop_ci": _speedup(lp_r, r_at) if lp_r and r_at and ok else None,
                "vs_loop_label": loop_at if lp_r is not None else None,
                "vs_vectorized": speedup(r, base_vec), "vs_vectorized_ci": _speedup(vc, r) if ok else None,
                "untrusted": ok and (untrusted(r) or (lp is not None and untrusted(lp)) or untrusted(vc)),
                "mark": mark(r, *([lp] if lp is not None else []), vc) if ok else "",
                "gbps": gbps, "pct_bandwidth": 100 * gbps / bw if bw and gbps else None,
                "paired": False,
            })
            row = rows[-1]
            if paired_loop:
                row.update(vs_loop=paired_loop[1], vs_loop_ci=(paired_loop[0], paired_loop[2]), paired=True)
            paired_vec = paired_speedup(results, vec, backend, op, label, dtype) if ok and backend != vec else None
            if paired_vec:
                row.update(vs_vectorized=paired_vec[1], vs_vectorized_ci=(paired_vec[0], paired_vec[2]), paired=True)
            entry = paired_entry(results, op, label, dtype) if row["paired"] else None
            if entry and entry.get("contended") and CONTENDED_MARK not in row["mark"]:
                # rounds on a busy machine: pairing cancels a drift, not a thread's wait for a time slice
                row.update(mark=(row["mark"] + ", " if row["mark"] else " ") + CONTENDED_MARK, untrusted=True)
    return rows


def _largest_loop_pair(by_label: dict[str, dict[str, Record]], loop: str,
                       backend: str) -> tuple[str, Record | None, Record | None]:
    """(label, loop record, ``backend``'s record) at the largest size where both succeeded; (label, None, None) if none."""
    both = [lab for lab, bs in by_label.items() if loop in bs and bs[loop].ok and backend in bs and bs[backend].ok]
    if not both:
        return "", None, None
    lab = max(both, key=lambda lab: by_label[lab][loop].elements)
    return lab, by_label[lab][loop], by_label[lab][backend]


def lecture_dot(results: Results) -> dict[str, Any] | None:
    """The lecture's experiment (n = 1e6, loop vs np.dot) if the results hold it."""
    def find(backend: str) -> Record | None:
        hits = [r for r in results if r.op == "dot" and r.backend == backend and r.size == {"n": 10**6}
                and r.dtype == "float64" and r.ok]
        return hits[0] if hits else None

    loop, vec = find(registry.baseline("loop")), find(registry.baseline("vectorized"))
    if not (loop and vec and loop.timing and vec.timing):
        return None
    out: dict[str, Any] = {"loop_ms": loop.timing.median_s * 1e3, "vectorized_ms": vec.timing.median_s * 1e3,
                           "speedup": loop.timing.median_s / vec.timing.median_s,
                           "loop_backend": loop.backend, "vectorized_backend": vec.backend}
    best = [r for r in results if r.op == "dot" and r.size == {"n": 10**6} and r.timing and r.dtype == "float64"]
    fastest = min(best, key=lambda r: r.timing.median_s if r.timing else math.inf)
    out.update(fastest_backend=fastest.backend, fastest_ms=(fastest.median_s or 0.0) * 1e3)
    for key, r in (("loop", loop), ("vectorized", vec), ("fastest", fastest)):
        lo, _, hi = interval(r)
        out[f"{key}_ci"] = (lo * 1e3, hi * 1e3)
        out[f"{key}_untrusted"] = untrusted(r)
    paired = paired_speedup(results, loop.backend, vec.backend, "dot", loop.label, "float64")
    if paired:
        out["speedup"] = paired[1]
    out["speedup_ci"] = (paired[0], paired[2]) if paired else _speedup(loop, vec)
    out["paired"] = paired is not None
    out["mark"] = mark(loop, vec, fastest)
    out["untrusted"] = bool(out["mark"])
    return out


def axis_table(results: Results, op: str) -> list[str]:
    """Markdown rows: time per call of ``op`` per backend at each value of its extra axis
    (time per epoch by batch size), and the fastest compiled backend's lead over the vectorized one."""
    spec = registry.spec(op)
    recs = [r for r in results if r.op == op and r.ok and r.dtype == "float64" and sweeps_an_axis(r)
            and set(spec.size_keys) <= set(r.size)]
    if not recs:
        return []
    axis = next(a for a in spec.axes if a.name in recs[0].size)
    vec = registry.baseline("vectorized")
    compiled = [b for b in registry.by_role("compiled")]
    backends = list(dict.fromkeys(r.backend for r in recs))
    by = {(r.size[axis.name], r.backend): r.timing.median_s for r in recs if r.timing}
    size = recs[0].size
    rest = ", ".join(f"{k} = {v}" for k, v in size.items() if k != axis.name)
    lines = [f"`{op}`: time per call ({rest}) by {axis.label}; the last column is "
             f"the fastest compiled backend's speedup over `{vec}`.", "",
             f"| {axis.name} | " + " | ".join(backends) + f" | compiled vs {vec} |",
             "|---:|" + "---:|" * len(backends) + "---:|"]
    for value in sorted({v for v, _ in by}):
        cells = [_fmt_time(by.get((value, b))) for b in backends]
        fast = [by[value, b] for b in compiled if (value, b) in by]
        ratio = _x(by[value, vec] / min(fast)) if fast and (value, vec) in by else "-"
        label = f"{value} (full)" if value == size.get("m") else str(value)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")
    return lines


_x = format_speedup


def _speedup(base: Record, r: Record) -> tuple[float, float] | None:
    try:
        lo, _, hi = speedup_interval(base, r)
    except ValueError:
        return None
    return lo, hi


def _x_ci(v: float | None, ci: tuple[float, float] | None) -> str:
    """``12.3x (11.9-12.8)``: a speedup with its approximate 95% interval."""
    if v is None:
        return "-"
    return f"{_x(v)} ({ci[0]:.3g}-{ci[1]:.3g})" if ci else _x(v)


def details(summary: str, lines: Sequence[str]) -> list[str]:
    """Markdown lines folded in a ``<details>`` block (GitHub renders it; :mod:`vecbench.html` too)."""
    return ["<details>", f"<summary>{summary}</summary>", "", *lines, "", "</details>", ""]


def care_lines(results: Results) -> list[str]:
    """Markdown: what was re-measured, kernels whose threads waited for time slices, and the measurements
    still taken on a contended machine or with a noisy spread (folded, with their count)."""
    from .remeasure import remeasured, spoiled, timeslice_waits

    bad = [r for r in results if r.ok and untrusted(r)]
    redone = remeasured(results.records)
    if not bad and not redone:
        return []
    lines: list[str] = []
    if redone:
        fixed = sum(not spoiled(r) for r in redone)
        lines += [f"{len(redone)} contended or noisy measurement(s) were measured again after the sweep, each after "
                  f"waiting for the machine to go quiet; the best-trusted attempt was kept: {fixed} are now trusted, "
                  f"{len(redone) - fixed} stayed contended or noisy (every attempt is in the results file).", ""]
    waits = timeslice_waits(results.records)
    if waits:
        lines += ["Kernels whose threads waited for CPU time slices (time flat across sizes under load):", ""]
        lines += [f"- {w.text}" for w in waits] + [""]
    if bad:
        lines.append(f"{len(bad)} measurement(s) were timed while other processes were busy (contended) or spread "
                     f"widely (noisy: IQR above {NOISY_SPREAD:.0%} of the median). They are drawn hollow in the figures and every "
                     f"number derived from them is marked {CONTENDED_MARK} or {NOISY_MARK}; their times are likely "
                     f"too slow. Rerun on a quiet machine: `{FIX_COMMAND}`.")
        lines.append("")
        table = ["| op | backend | size | dtype | median | 95% interval | attempts | why |",
                 "|---|---|---|---|---:|---|---:|---|"]
        for r in sorted(bad, key=lambda r: (r.op, r.backend, r.elements)):
            lo, med, hi = interval(r)
            why = "; ".join(w for w in r.warnings if w.startswith(("contended", NOISY_WARNING)))
            table.append(f"| {r.op} | {r.backend} | {r.label} | {r.dtype} | {_fmt_time(med)} | "
                         f"{_fmt_time(lo)} - {_fmt_time(hi)} | {len(r.attempts) or 1} | {why} |")
        lines += details(f"{len(bad)} measurement(s) to treat with care", table)
    return lines


def banner_lines(results: Results) -> list[str]:
    """One banner when much of a run stayed contended or noisy (or its bandwidth probe was contended),
    with the one command that fixes it; no lines otherwise."""
    from .bandwidth import contended

    ok = [r for r in results if r.ok]
    bad = [r for r in ok if untrusted(r)]
    much = ok and len(bad) >= BANNER_SHARE * len(ok)
    probe = contended(results.bandwidth_gbps)
    if not (much or probe):
        return []
    what = []
    if much:
        what.append(f"**{len(bad)} of {len(ok)} measurements stayed contended or noisy** (other processes took the CPU "
                    "while they were timed, even after re-measuring)")
    if probe:
        what.append("**the memory-bandwidth probe was contended** (its GB/s and every \"% of bandwidth\" are too low)")
    return [f"> ⚠ {' and '.join(what)}: numbers marked {CONTENDED_MARK} or {NOISY_MARK} are likely too slow. "
            f"Close other programs and run `{FIX_COMMAND}`.", ""]


def summary_rows(results: Results) -> list[dict[str, Any]]:
    """What vectorization buys per op: the fastest backend at the op's headline size, its speedup over the loop
    and over the vectorized baseline as ``(low, value, high)`` (paired rounds where timed), and its mark."""
    loop, vec = registry.baseline("loop"), registry.baseline("vectorized")
    rows = []
    by_op: dict[str, list[dict[str, Any]]] = {}
    for h in headline(results):
        if h["status"] == "ok" and h["median_s"] and h["backend"] != loop:
            by_op.setdefault(h["op"], []).append(h)
    for op, hs in by_op.items():
        best = min(hs, key=lambda h: h["median_s"])

        def ci(v: float | None, c: tuple[float, float] | None) -> tuple[float, float, float] | None:
            return None if v is None else (c[0], v, c[1]) if c else (v, v, v)

        rows.append({"op": op, "label": best["label"], "backend": best["backend"],
                     "vs_loop": ci(best["vs_loop"], best["vs_loop_ci"]),
                     "vs_vectorized": ci(best["vs_vectorized"], best["vs_vectorized_ci"]) if best["backend"] != vec
                     else (1.0, 1.0, 1.0),
                     "untrusted": bool(best["mark"]), "mark": best["mark"], "loop": loop, "vectorized": vec})
    return rows


def _times(v: float) -> str:
    """A speedup as the lecture says it: 114, 22, 4.41."""
    return f"{v:.0f}" if v >= 10 else f"{v:.3g}"


def _lecture_lines(results: Results, figures: dict[str, str]) -> list[str]:
    loop, vec = registry.baseline("loop"), registry.baseline("vectorized")
    lec = lecture_dot(results)
    out = ["## The lecture's experiment: dot product of two 1e6 vectors", ""]
    if not lec:
        return out + [f"Not in these results (needs `dot` at n = 1e6 for both `{loop}` and `{vec}`).", ""]
    m = lec["mark"]
    ci = lec.get("speedup_ci")
    how = "median of paired rounds" if lec.get("paired") else "ratio of medians"
    doubt = (" Timed while the machine was busy, or noisy: these times are likely too slow and the speedup "
             f"unreliable (run `{FIX_COMMAND}` on a quiet machine)." if m else "")
    interval_text = f" (95% interval {ci[0]:.3g}-{ci[1]:.3g}x, {how})" if ci else ""
    out.append(f"On this machine: for-loop (`{loop}`) **{lec['loop_ms']:.1f} ms**, vectorized (`{vec}`) "
               f"**{lec['vectorized_ms']:.3f} ms**, **{_times(lec['speedup'])}x** faster{interval_text}{m}; fastest "
               f"backend: {lec['fastest_backend']}, {lec['fastest_ms']:.3f} ms. The slide: for-loop "
               f"{SLIDE['loop_ms']:.0f} ms, `np.dot` {SLIDE['vectorized_ms']:.0f} ms "
               f"(~{SLIDE['loop_ms'] / SLIDE['vectorized_ms']:.0f}x).{doubt}")
    out.append("")
    if "lecture" in figures:
        out += [f"#### {caption('lecture')}", "", f"![lecture]({figures['lecture']})", ""]
    return out


def _summary_lines(figures: dict[str, str]) -> list[str]:
    if "summary" not in figures:
        return []
    return ["## What vectorization buys, per operation", "", f"#### {caption('summary')}", "",
            f"![summary]({figures['summary']})", ""]


def _skip_lines(results: Results) -> list[str]:
    """Failures and skips, folded, with footnoted reasons; a backend that is not installed is one row."""
    bad = [r for r in results if not r.ok]
    if not bad:
        return []
    missing = {r.backend: r for r in bad if r.backend_unavailable}
    rest = [r for r in bad if not r.backend_unavailable]
    reasons = list(dict.fromkeys(r.reason for r in [*missing.values(), *rest]))
    rows = ["| op | backend | size | dtype | status | reason |", "|---|---|---|---|---|---|"]
    for b, r in missing.items():
        ops = len({x.op for x in bad if x.backend == b and x.backend_unavailable})
        rows.append(f"| ({ops} op{'s' if ops != 1 else ''}) | {b} | - | - | not installed | [^{reasons.index(r.reason) + 1}] |")
    rows += [f"| {r.op} | {r.backend} | {r.label} | {r.dtype} | {r.status} | [^{reasons.index(r.reason) + 1}] |"
             for r in rest]
    failed = sum(r.status == "failed" for r in bad)
    summary = (f"{failed} failed, {len(rest) - failed} skipped" + (f", {len(missing)} backend(s) not installed"
                                                                   if missing else ""))
    notes = [line for i, reason in enumerate(reasons, 1) for line in (f"[^{i}]: {reason or 'no reason recorded'}", "")]
    return ["## Failures and skips", "", "Skipped points are marked x on the figures' bottom edge; the reason "
            "is the footnote.", "", *details(summary, [*rows, "", *notes])]


def _machine_lines(results: Results) -> list[str]:
    try:
        return _machine_lines_of(results)
    except (TypeError, ValueError, AttributeError, KeyError):  # a hand-edited or foreign file
        return ["- machine metadata unreadable in the file"]


def _machine_lines_of(results: Results) -> list[str]:
    m = results.machine
    caches = ", ".join(f"{k} {v / 1024:.0f} KiB" if v < 1 << 20 else f"{k} {v / (1 << 20):.0f} MiB"
                       for k, v in m.get("caches", {}).items())
    bw = results.bandwidth_gbps
    lines = [
        f"- **CPU**: {m.get('cpu', '?')}, {m.get('cores', '?')} cores available; caches: {caches or 'unknown'}",
        f"- **Software**: Python {m.get('python', '?')}; {m.get('os', '')}",
    ]
    for name, facts in (m.get("backends") or {}).items():
        lines.append(f"- **{name}**: {_facts(facts)}")
    if bw.get("best"):
        from .bandwidth import describe, rates

        parts = ", ".join(f"{k} {v:.1f}" for k, v in rates(bw).items())
        lines.append(f"- **Measured memory bandwidth** (STREAM-style): **{bw['best']:.1f} GB/s**"
                     f"{bandwidth_mark(results)} best ({parts} GB/s); {describe(bw)}")
    peak = results.peak_gflops
    if peak.get("best"):
        lines.append(f"- **Measured compute peak** (NumPy's BLAS dgemm, {peak.get('n', 0):.0f} x {peak.get('n', 0):.0f}): "
                     f"**{peak['best']:.1f} GFLOP/s**")
    if m.get("env"):
        lines.append(f"- **Environment**: {', '.join(f'{k}={v}' for k, v in m['env'].items())}")
    return lines


def _facts(facts: Any) -> str:
    """A backend's self-description (versions, its BLAS, threading layer...) on one line."""
    if not isinstance(facts, dict):
        return str(facts)
    if facts.get("available") is False:
        if facts.get("reason"):  # installed, but cannot run here (no device)
            return f"unavailable ({facts['reason']})"
        return "not installed" + (f" ({facts['install']})" if facts.get("install") else "")
    parts = []
    for k, v in facts.items():
        if k == "available":
            continue
        if k == "blas" and isinstance(v, list):
            v = "; ".join(f"{b.get('internal_api', '?')} {b.get('version', '')}, {b.get('num_threads', '?')} threads, "
                          f"{b.get('architecture', '')} kernels" for b in v if isinstance(b, dict)) or "none found"
        parts.append(f"{k.replace('_', ' ')} {v}")
    return ", ".join(parts) or "no details"


@dataclass(frozen=True)
class Part:
    """Records that may share a figure: one dtype, one machine, and files that never measured the same kernel.

    ``suffix`` is appended to figure names (empty when the report has one
    part); ``title`` says what the part is and ``sources`` where it came from.
    """

    results: Results
    sources: tuple[str, ...]
    suffix: str = ""
    title: str = ""


def _machine_id(res: Results) -> tuple[str, str]:
    m = res.machine if isinstance(res.machine, dict) else {}
    return str(m.get("cpu", "?")), str(m.get("cores", "?"))


def split(loaded: Sequence[tuple[str, Results]]) -> list[Part]:
    """Split results files into parts drawn apart: by dtype, by machine (CPU model and cores), and by file
    where two files measured the same kernel (op, backend, size, dtype, threads), so nothing is mixed."""
    groups: dict[tuple[tuple[str, str], str], list[tuple[str, Results]]] = {}
    for src, res in loaded:
        for dtype in dict.fromkeys(r.dtype for r in res):
            groups.setdefault((_machine_id(res), dtype), []).append(
                (src, dataclasses.replace(res, records=[r for r in res if r.dtype == dtype])))
    machines = list(dict.fromkeys(mid for mid, _ in groups))
    dtypes = list(dict.fromkeys(dt for _, dt in groups))
    raw: list[tuple[tuple[str, str], str, list[tuple[str, Results]], bool]] = []
    for (mid, dtype), items in groups.items():
        seen: dict[tuple[Any, ...], str] = {}
        clash = False
        for src, res in items:
            for r in res:
                clash |= seen.setdefault(r.key, src) != src
        if clash:  # the same kernel twice: one part per file, labelled by the file
            raw += [(mid, dtype, [item], True) for item in items]
        else:
            raw.append((mid, dtype, items, False))
    if len(raw) == 1:
        mid, dtype, items, _ = raw[0]
        return [Part(Results.merge([res for _, res in items]), tuple(src for src, _ in items))]
    parts: list[Part] = []
    for mid, dtype, items, by_file in raw:
        bits, words = [], []
        if len(dtypes) > 1:
            bits.append(dtype)
            words.append(dtype)
        if len(machines) > 1:
            bits.append(f"m{machines.index(mid) + 1}")
            words.append(f"machine {machines.index(mid) + 1} ({mid[0]}, {mid[1]} cores)")
        if by_file:
            bits.append(re.sub(r"[^A-Za-z0-9]+", "-", Path(items[0][0]).stem).strip("-") or "file")
            words.append(f"from {items[0][0]} only (the same kernels are in another file)")
        suffix = "_" + "_".join(bits) if bits else f"_{len(parts) + 1}"
        parts.append(Part(Results.merge([res for _, res in items]), tuple(src for src, _ in items), suffix,
                          ", ".join(words) or f"part {len(parts) + 1}"))
    return parts


def _headline_lines(results: Results) -> list[str]:
    loop, vec = registry.baseline("loop"), registry.baseline("vectorized")
    rows = headline(results)
    if not rows:
        return []
    out = [f"| op | size | backend | median time | vs {loop} | vs {vec} | GB/s | % of bandwidth{bandwidth_mark(results)} |",
           "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["status"] != "ok":
            out.append(f"| {r['op']} | {r['label']} | {r['backend']} | {r['status']} | | | | |")
            continue
        pct = f"{r['pct_bandwidth']:.0f}%" if r["pct_bandwidth"] is not None else "-"
        at = f" at {r['vs_loop_label']}" if r.get("vs_loop_label") not in (None, r["label"]) else ""
        out.append(f"| {r['op']} | {r['label']} | {r['backend']}{r['mark']} | {_fmt_time(r['median_s'])} | "
                   f"{_x_ci(r['vs_loop'], r['vs_loop_ci'])}{at} | "
                   f"{_x_ci(r['vs_vectorized'], r['vs_vectorized_ci'])} | {r['gbps']:.2f} | {pct} |")
    return out + ["", ("Bytes are the minimum traffic of one call (each input read once, each output written once), "
                       "so % of bandwidth above 100 means the working set sits in cache. In parentheses: an approximate "
                       "95% interval of each speedup, from the two medians' intervals (distribution-free, from order "
                       "statistics) combined in quadrature on the log scale; where it includes 1x the two backends are "
                       f"not told apart. \"at SIZE\": `{loop}` was skipped at the headline size, so its speedup is "
                       "taken at the largest size it ran at. Speedups timed in interleaved rounds are the median of the "
                       "per-round ratios, with its distribution-free interval. "
                       f"{CONTENDED_MARK} / {NOISY_MARK}: derived from a measurement timed while other processes were "
                       "busy, or with a wide spread (drawn hollow); likely too slow, see the measurements to treat "
                       "with care."),
                  ""]


def break_even(results: Results) -> list[dict[str, Any]]:
    """For each compiled kernel at its op's headline size: how many calls pay back its compile against the
    vectorized baseline (compile time / time saved per call), from the cold compile and from the cache load.

    Rows: ``op, label, backend, cold_s, cache_s, saved_s, calls_cold, calls_cache`` (calls None when the
    kernel saves nothing per call: it never pays back).
    """
    vec = registry.baseline("vectorized")
    compiled = set(registry.by_role("compiled"))
    rows = []
    for h in headline(results):
        if h["backend"] not in compiled or h["status"] != "ok":
            continue
        base = next((x for x in headline(results) if x["op"] == h["op"] and x["backend"] == vec), None)
        rec = next((r for r in results if (r.op, r.backend, r.label, r.dtype) == (h["op"], h["backend"], h["label"],
                                                                                   h["dtype"]) and r.ok), None)
        if base is None or base["median_s"] is None or rec is None:
            continue
        saved = base["median_s"] - h["median_s"]
        cold = results.cold_compile_s.get(f"{h['op']}/{h['backend']}")
        cache = max((r.compile_time_s or 0.0 for r in results if r.op == h["op"] and r.backend == h["backend"]),
                    default=0.0) or None

        def calls(c: float | None, saved: float = saved) -> int | None:
            return math.ceil(c / saved) if c and saved > 0 else None

        rows.append({"op": h["op"], "label": h["label"], "backend": h["backend"], "cold_s": cold, "cache_s": cache,
                     "saved_s": saved, "calls_cold": calls(cold), "calls_cache": calls(cache),
                     "mark": h.get("mark", "")})
    return rows


def _break_even_lines(results: Results) -> list[str]:
    rows = break_even(results)
    if not rows:
        return []
    vec = registry.baseline("vectorized")
    out = [f"Calls after which a compiled kernel has paid for its compile against `{vec}` (compile time / time "
           "saved per call, at the headline size). \"cold\": compiled in a fresh cache directory (a first run, "
           "a new environment); \"cache\": loaded from the on-disk cache (later runs). \"never\": it is not "
           "faster per call.", "",
           "| op | size | backend | cold compile | cache load | saved per call | calls to pay back (cold) | (cache) |",
           "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        never = "never" if r["saved_s"] <= 0 else "-"
        saved = _fmt_time(r["saved_s"]) if r["saved_s"] > 0 else f"-{_fmt_time(-r['saved_s'])}"
        out.append(f"| {r['op']} | {r['label']} | {r['backend']}{r.get('mark', '')} | {_fmt_time(r['cold_s'])} | "
                   f"{_fmt_time(r['cache_s'])} | {saved} | {r['calls_cold'] if r['calls_cold'] is not None else never} | "
                   f"{r['calls_cache'] if r['calls_cache'] is not None else never} |")
    return out + [""]


def reference() -> Results | None:
    """The reference machine's results, installed with the package (None if the data file is missing)."""
    from importlib import resources

    try:
        text = resources.files("vecbench").joinpath("_data/reference.json").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None
    import json

    from .results import _check_results

    return Results.from_dict(_check_results(json.loads(text)))


def beside_reference(results: Results, ref: Results | None) -> list[dict[str, Any]]:
    """The headline of ``results`` joined with the reference's by (op, backend): rows with ``op, backend,
    label, median_s, vs_vectorized`` and ``ref_label, ref_median_s, ref_vs_vectorized``. Empty when
    ``results`` is the reference itself (same creation time and machine) or there is no reference."""
    if ref is None or (ref.created == results.created and _machine_id(ref) == _machine_id(results)):
        return []
    theirs = {(h["op"], h["backend"]): h for h in headline(ref)}
    rows = []
    for h in headline(results):
        t = theirs.get((h["op"], h["backend"]))
        if t is None:
            continue
        rows.append({"op": h["op"], "backend": h["backend"], "label": h["label"], "median_s": h["median_s"],
                     "vs_vectorized": h["vs_vectorized"], "ref_label": t["label"], "ref_median_s": t["median_s"],
                     "ref_vs_vectorized": t["vs_vectorized"], "mark": h.get("mark", ""),
                     "ref_mark": t.get("mark", "")})
    return rows


def _reference_lines(results: Results, ref: Results | None) -> list[str]:
    rows = beside_reference(results, ref)
    if not rows or ref is None:
        return []
    vec = registry.baseline("vectorized")
    m = ref.machine
    out = [f"The reference machine ({m.get('cpu', '?')}, {m.get('cores', '?')} cores, measured {ref.created}), "
           "whose results are installed with vecbench, beside yours: each op at its headline size.", "",
           f"| op | backend | your size | your time | your vs {vec} | reference size | reference time | "
           f"reference vs {vec} |", "|---|---|---|---:|---:|---|---:|---:|"]
    for r in rows:
        out.append(f"| {r['op']} | {r['backend']} | {r['label']} | {_fmt_time(r['median_s'])}{r.get('mark', '')} | "
                   f"{_x(r['vs_vectorized'])}{r.get('mark', '')} | {r['ref_label']} | "
                   f"{_fmt_time(r['ref_median_s'])}{r.get('ref_mark', '')} | {_x(r['ref_vs_vectorized'])} |")
    return out + [""]


def foreign_lines(results: Results) -> list[str]:
    """Markdown tables of pytest-benchmark groups from other suites (GB/s and GFLOP/s where extra_info had them)."""
    from .foreign import is_foreign

    recs = [r for r in results if r.ok and is_foreign(r.op) and r.op not in results.own_ops]
    if not recs:
        return []
    out = []
    for group in dict.fromkeys(r.op for r in recs):
        mine = sorted((r for r in recs if r.op == group), key=lambda r: (r.backend, r.elements))
        rates = any(r.bytes or r.flops for r in mine)
        out += [f"`{group}`:", "", "| test | parameter | median | min | 95% interval | rounds x loops" +
                (" | GB/s | GFLOP/s |" if rates else " |"), "|---|---|---:|---:|---|---:|" + ("---:|---:|" if rates else "")]
        for r in mine:
            lo, med, hi = interval(r)
            rate = (f" | {r.gbps:.3g} | {r.gflops:.3g} |" if r.bytes or r.flops else " | - | - |") if rates else " |"
            out.append(f"| {r.backend} | {r.label or '-'} | {_fmt_time(med)} | {_fmt_time(r.min_s)} | "
                       f"{_fmt_time(lo)} - {_fmt_time(hi)} | {len(r.samples_s) or '?'} x {r.loops_per_sample}{rate}")
        out.append("")
    return out


CAPTIONS = {
    "your_computations": "Your computations: time per call (left) and speedup over each computation's reference "
                         "kernel (right) vs n; bars are 95% intervals, x a skipped size.",
    "lecture": "The slide's two times beside this machine's (log scale; bars: 95% interval of the median; "
               "hatched: contended or noisy). The slide timed one call with `time.time()`, first-call effects "
               "included; here each time is the median of calibrated samples.",
    "summary": "The fastest backend of each op at its largest common size: its speedup over the loop (left) and over "
               "the vectorized baseline (right), with 95% intervals (paired rounds where timed); hollow: contended "
               "or noisy.",
    "time_vs_size": "Time per call vs problem size (points: median; bars: its 95% interval; hollow: "
                    "contended or noisy; x: skipped, see the footnotes).",
    "speedup_vs_": "Speedup over `{}` vs problem size (bars: approximate 95% interval); the dashed line is 1x.",
    "bandwidth": "Achieved GB/s vs working set; black: measured STREAM bandwidth; dotted/dash-dot/dashed: L1/L2/L3 sizes.",
    "heatmap": "Geometric-mean speedup over the vectorized backend across sizes, per op and backend.",
    "compile_time": "JIT compile (or cache-load) time of the first call, timed apart from every sample; "
                    "black ticks: cold compile in a fresh cache.",
    "roofline": "Roofline: GFLOP/s vs arithmetic intensity under the measured memory and compute roofs.",
    "benchmarks": "pytest-benchmark groups: one panel per group, one series per test function.",
    "train_epoch": "Time per training epoch vs batch size.",
    "train_cost": "Cost per epoch for batch, mini-batch and stochastic gradient descent.",
    "gpu_crossover": "CPU or GPU: time per call vs size; black: the fastest CPU backend at each size; each device "
                     "backend solid (data on the device) and dashed (copies to the device and back included).",
}


def caption(name: str, suffix: str = "") -> str:
    """The caption of figure ``name`` (its part's ``suffix`` removed)."""
    base = name[: len(name) - len(suffix)] if suffix and name.endswith(suffix) else name
    if base.startswith("speedup_vs_"):
        text = CAPTIONS["speedup_vs_"].format(base.removeprefix("speedup_vs_"))
        if base == f"speedup_vs_{registry.baseline('vectorized')}":
            text += f" `{registry.baseline('loop')}` is left out (it has its own figure)."
        return text
    return CAPTIONS.get(base, base)


TOP_FIGURES = ("lecture", "summary")


def _part_lines(part: Part, figures: dict[str, str], several: bool, ref: Results | None) -> list[str]:
    results = part.results
    out: list[str] = []
    if several:
        out += [f"## {part.title}", "", f"Data: {', '.join(f'`{s}`' for s in part.sources) or 'a fresh run'}.", ""]
    h = "###" if several else "##"
    mine = {n: p for n, p in figures.items() if n not in TOP_FIGURES and (not several or n.endswith(part.suffix))}
    if mine:  # pictures first, tables after
        out += [f"{h} Figures", ""]
        for name, path in mine.items():
            out += [f"#### {caption(name, part.suffix)}", "", f"![{name}]({path})", ""]
    head = _headline_lines(results)
    if head:
        out += [f"{h} Headline: every operation at its largest common size", "", *head]
    for op in dict.fromkeys(r.op for r in results if r.ok and sweeps_an_axis(r)):
        table = axis_table(results, op)
        if table:
            axes = ", ".join(a.label for a in registry.spec(op).axes)
            out += [f"{h} `{op}`: what vectorization buys at each {axes}", "", *table, ""]
    be = _break_even_lines(results)
    if be:
        out += [f"{h} Decision data: when does compiling pay?", "", *be]
    graphs = static_vs_dynamic_lines(results)
    if graphs:
        out += [f"{h} Static vs dynamic graph", "", *graphs]
    auto = autodiff_lines(results)
    if auto:
        out += [f"{h} Autodiff against the hand derivation", "", *auto]
    gpu = crossover_lines(results)
    if gpu:
        out += [f"{h} CPU or GPU: where the device starts to win", "", *gpu]
    side = _reference_lines(results, ref)
    if side:
        out += [f"{h} Your machine beside the reference", "", *side]
    fl = foreign_lines(results)
    if fl:
        out += [f"{h} pytest-benchmark groups", "", *fl]
    care = care_lines(results)
    if care:
        out += [f"{h} Measurements to treat with care", "", *care]
    return out


# ---------------------------------------------------------------- static vs dynamic graph
def graph_pairs() -> list[tuple[str, str]]:
    """(static graph, dynamic graph) backend pairs that compute gradients the same way (by hand or by
    autodiff), from what each backend declares (``Backend.graph``, ``Backend.gradients``)."""
    known = list(registry.iter_backends())
    return [(s.name, d.name) for s in known if s.graph == "static"
            for d in known if d.graph == "dynamic" and d.gradients == s.gradients]


def break_even_steps(compile_s: float | None, static_s: float, dynamic_s: float) -> float | None:
    """Steps after which a static graph has paid for its trace + compile time.

    ``compile + n static_s <= n dynamic_s`` from ``n = compile / (dynamic_s - static_s)`` on;
    None when the static graph is not faster per step (it never pays back), 0 when nothing
    was compiled (``compile_s`` 0 or unknown).
    """
    if dynamic_s <= static_s:
        return None
    return max(0.0, compile_s or 0.0) / (dynamic_s - static_s)


def _measured_pairs(results: Results, pairs: Sequence[tuple[str, str]]
                    ) -> Iterator[tuple[str, str, str, str, Timing, Timing]]:
    """``(op, label, first, second, first's timing, second's timing)`` for every (op, size) where both
    backends of a pair were measured in float64."""
    by = {(r.op, r.label, r.backend): r.timing for r in results if r.ok and r.dtype == "float64" and r.timing}
    for first, second in pairs:
        for (op, label, name), t1 in by.items():
            t2 = by.get((op, label, second))
            if name == first and t2 is not None:
                yield op, label, first, second, t1, t2


def static_vs_dynamic(results: Results) -> list[dict[str, Any]]:
    """One row per (op, size, pair) measured by both backends of a :func:`graph_pairs` pair (float64).

    Keys: ``op``, ``label``, ``static``, ``dynamic``, ``static_s`` and ``dynamic_s`` (median time per
    call: one step, or one epoch for ``train_epoch``), ``compile_s`` (the static graph's first-call
    trace + compile), ``break_even`` (see :func:`break_even_steps`).
    """
    return [{"op": op, "label": label, "static": s, "dynamic": d, "static_s": ts.median_s, "dynamic_s": td.median_s,
             "compile_s": ts.compile_time_s, "break_even": break_even_steps(ts.compile_time_s, ts.median_s,
                                                                            td.median_s)}
            for op, label, s, d, ts, td in _measured_pairs(results, graph_pairs())]


def static_vs_dynamic_lines(results: Results) -> list[str]:
    """The report's "static vs dynamic graph" section (markdown lines; none without both backends)."""
    rows = static_vs_dynamic(results)
    if not rows:
        return []
    out = ["A static graph (e.g. `jax.jit`) is traced and compiled once per shape, then runs with no Python per "
           "operation; a dynamic graph (e.g. eager PyTorch) is rebuilt, one dispatch per operation, at every call. "
           "Break-even: the number of calls after which the static graph's trace + compile time is paid back "
           "by its faster calls (never: it is not faster per call).", "",
           "| op | size | static | time per call | trace + compile | dynamic | time per call | break-even calls |",
           "|---|---|---|---:|---:|---|---:|---:|"]
    for r in rows:
        be = r["break_even"]
        be_text = "never" if be is None else f"{math.ceil(be):,}"
        out.append(f"| {r['op']} | {r['label']} | {r['static']} | {_fmt_time(r['static_s'])} | "
                   f"{_fmt_time(r['compile_s'])} | {r['dynamic']} | {_fmt_time(r['dynamic_s'])} | {be_text} |")
    return out + [""]


def autodiff_pairs() -> list[tuple[str, str]]:
    """(hand-derived, autodiff) backend pairs of the same framework (same ``graph``), from what each declares."""
    known = list(registry.iter_backends())
    return [(h.name, a.name) for h in known if h.graph and h.gradients == "hand"
            for a in known if a.graph == h.graph and a.gradients == "autodiff" and a.name.startswith(h.name)]


def autodiff_vs_derivation(results: Results) -> list[dict[str, Any]]:
    """One row per (op, size, pair) where a framework's autodiff kernel and its hand-derived one were both
    measured (float64): ``hand_s``, ``autodiff_s`` and ``ratio = autodiff_s / hand_s`` (what autodiff costs)."""
    return [{"op": op, "label": label, "hand": h, "autodiff": a, "hand_s": th.median_s, "autodiff_s": ta.median_s,
             "ratio": ta.median_s / th.median_s}
            for op, label, h, a, th, ta in _measured_pairs(results, autodiff_pairs())]


def autodiff_lines(results: Results) -> list[str]:
    """The report's "autodiff against the derivation" table (markdown lines; none without both kernels)."""
    rows = autodiff_vs_derivation(results)
    if not rows:
        return []
    out = ["The lecture derives the gradient by hand (`dz = a - y`, `dw = X dz / m`); a framework can instead "
           "differentiate the cost alone. Time per call of each, and what autodiff costs (ratio > 1: slower).", "",
           "| op | size | hand-derived | time per call | autodiff | time per call | autodiff / hand |",
           "|---|---|---|---:|---|---:|---:|"]
    for r in rows:
        out.append(f"| {r['op']} | {r['label']} | {r['hand']} | {_fmt_time(r['hand_s'])} | {r['autodiff']} | "
                   f"{_fmt_time(r['autodiff_s'])} | {r['ratio']:.2f}x |")
    return out + [""]


def _markdown(results: Results, figures: dict[str, str], sources: Sequence[str], baseline: str,
              left_out: dict[str, str] | None = None, parts: Sequence[Part] = (),
              ref: Results | None = None) -> str:
    parts = list(parts) or [Part(results, tuple(sources))]
    out = ["# vecbench report", "", *banner_lines(results)]
    if results.interrupted:
        out += ["**The run was interrupted: these results are partial.**", ""]
    out += _lecture_lines(results, figures)
    out += _summary_lines(figures)
    out.append(f"Generated from {', '.join(f'`{s}`' for s in sources) or 'a fresh run'}: measured "
               f"{results.created or 'at an unknown time'} with vecbench {results.vecbench or '?'} "
               f"({results.source}). Times are per call, median of the samples; "
               "speedups are medians of per-round ratios where the backends were timed in interleaved rounds, "
               "else ratios of medians from the same run.")
    if len(parts) > 1:
        out.append(f"\nThe files hold {len(parts)} sets that are never drawn on one line or divided by each other "
                   "(different dtypes, machines, or the same kernels measured in two files): "
                   + "; ".join(f"**{p.title}**" for p in parts) + ".")
    out.append("")
    for part in parts:
        out += _part_lines(part, figures, len(parts) > 1, ref)
    out += own_lines(results)
    if left_out:
        out += ["Figures left out (nothing to draw):", ""]
        out += [f"- `{name}`: {why}" for name, why in left_out.items()]
        out.append("")
    out += _skip_lines(results)
    out += ["## Machine", "", *_machine_lines(results), ""]
    out += ["## Reproduce", "", "```",
            "pip install -e . && vecbench report --run    # measure, then write vecbench-report/",
            "vecbench report results/*.json -o my-report/  # redraw from saved files", "```", ""]
    return "\n".join(out)


def own_drawn(results: Results) -> list[str]:
    """Your computations (``results.own_ops``) with at least one successful measurement."""
    return [op for op in results.own_ops if any(r.op == op and r.ok for r in results)]


def own_lines(results: Results) -> list[str]:
    """The report's "Your computations" section: per computation, each kernel at its largest measured n."""
    ops = [op for op in results.own_ops if any(r.op == op for r in results)]
    if not ops:
        return []
    out = ["## Your computations", "",
           "Measured with `vb.benchmark`, `vecbench run --from` or `vb.benchmark_tests`: each kernel was checked "
           "against the computation's reference before it was timed; speedups are over that reference.", ""]
    for op in ops:
        info = results.own_ops[op] if isinstance(results.own_ops[op], dict) else {}
        base = results.baseline_of(op)
        recs = [r for r in results if r.op == op]
        ok = [r for r in recs if r.ok]
        where = {k: (v or {}).get("measured_in", "?") for k, v in (info.get("kernels") or {}).items()}
        out += [f"### `{op}`", "", f"{info.get('summary') or op}. Reference: `{info.get('reference', base)}`; "
                f"tolerance rtol = {info.get('rtol', '?')}, atol = {info.get('atol', '?')} (in float64).", ""]
        if not ok:
            out += ["Nothing was measured successfully (see the failures below).", ""]
            continue
        by = {(r.backend, r.label): r for r in recs}
        out += [f"| kernel | n | median time | vs {base} | GB/s | GFLOP/s | compile | measured in |",
                "|---|---:|---:|---:|---:|---:|---:|---|"]
        for b in dict.fromkeys(r.backend for r in recs):
            mine = [r for r in ok if r.backend == b]
            if not mine:
                bad = next(r for r in recs if r.backend == b)
                out.append(f"| {b} | {bad.label} | {bad.status} | | | | | {where.get(b, '?')} |")
                continue
            r = max(mine, key=lambda r: r.elements)
            ref = by.get((base, r.label)) if base else None
            sp = _x_ci(ref.median_s / r.median_s, _speedup(ref, r)) if ref and ref.ok and ref.median_s and r.median_s else "-"
            ct = _fmt_time(max((x.compile_time_s or 0.0 for x in mine), default=0.0)) if any(
                x.compile_time_s for x in mine) else "-"
            out.append(f"| {b}{' (hollow)' if untrusted(r) else ''} | {r.label} | {_fmt_time(r.median_s)} | "
                       f"{sp if b != base else '1x'} | {f'{r.gbps:.2f}' if r.bytes and r.gbps else '-'} | "
                       f"{f'{r.gflops:.2f}' if r.flops and r.gflops else '-'} | {ct} | {where.get(b, '?')} |")
        out.append("")
    return out


def _figures(results: Results, baseline: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Which figures can be drawn (name -> drawing function) and why the others are left out."""
    from . import plotting

    todo: dict[str, Any] = {}
    left_out: dict[str, str] = {}
    curves = any(r.ok and not sweeps_an_axis(r) and not is_foreign(r.op) for r in results)
    own = own_drawn(results)
    why = "no successful measurement (other than sweeps over an extra axis) to draw"
    for name, draw in (("time_vs_size", plotting.fig_time), ("bandwidth", plotting.fig_bandwidth)):
        if curves:
            todo[name] = lambda draw=draw: draw(results)
        elif not plotting.foreign_groups(results) and not own:
            left_out[name] = why
    if own:  # your computations: each against its own reference kernel
        todo["your_computations"] = lambda: plotting.fig_results(results, own)
    vec, loops = registry.baseline("vectorized"), registry.by_role("loop")
    for base in dict.fromkeys([baseline, vec]):
        name = f"speedup_vs_{base}"
        # Over the vectorized baseline the loop backend is left out: its 0.01x would squash the 0.5-10x band.
        exclude = loops if base == vec != baseline else []
        if plotting.speedups(results, base):
            todo[name] = lambda base=base, exclude=exclude: plotting.fig_speedup(results, base, exclude)
        elif curves:
            left_out[name] = f"no size where `{base}` and another backend both succeeded"
    if any(r.ok and not is_foreign(r.op) for r in results):
        todo["heatmap"] = lambda: plotting.fig_heatmap(results)
    elif curves:
        left_out["heatmap"] = "no successful measurement"
    if plotting.roofline_points(results):
        todo["roofline"] = lambda: plotting.fig_roofline(results)
    if any(r.compile_time_s is not None and not is_foreign(r.op) for r in results):
        todo["compile_time"] = lambda: plotting.fig_compile(results)
    if plotting.foreign_groups(results):
        todo["benchmarks"] = lambda: plotting.fig_groups(results)
    if crossovers(results):  # only where a file holds device records (vecbench.crossover)
        from .plotting_gpu import fig_crossover

        todo["gpu_crossover"] = lambda: fig_crossover(results)
    return todo, left_out


def _sign(fig: Any, part: Part) -> None:
    """Say on the figure where its data came from (files, and the part's dtype/machine)."""
    src = ", ".join(part.sources) or "a fresh run"
    text = f"data: {src}" + (f" ({part.title})" if part.title else "")
    fig.text(0.995, 0.002, text if len(text) < 160 else text[:157] + "...", ha="right", va="bottom",
             fontsize=6, color="#666666")


def write_report(results: Results, folder: str | Path = "vecbench-report", baseline: str | None = None,
                 sources: Sequence[str] = (), parts: Sequence[Part] = (),
                 say: Callable[[str], None] | None = None) -> list[Path]:
    """Draw every figure that can be drawn and write ``folder/README.md`` and ``folder/report.html``;
    return the files written.

    ``baseline`` is the backend of the first speedup figure (default: the
    loop backend); a second one is drawn over the vectorized backend.
    ``parts`` (:func:`split`) are drawn apart, each figure named with its
    part's suffix; by default everything is one part. ``say`` is told what
    is being drawn, as it goes.
    Everything is written to a temporary folder next to ``folder`` first and
    moved into place only when all of it succeeded, so a failure never leaves
    half a report (nor touches an earlier one).
    """
    from . import html, plotting

    say = say or (lambda _text: None)
    baseline = baseline or registry.baseline("loop")
    parts = list(parts) or [Part(results, tuple(sources))]
    folder = Path(folder)
    parent = folder.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent))
    try:
        names: list[str] = []
        figures: dict[str, str] = {}
        left_out: dict[str, str] = {}
        drawn_cost = False
        top: dict[str, Callable[[], Any]] = {}
        lec = lecture_dot(results)
        if lec:
            top["lecture"] = lambda: plotting.fig_lecture(lec, SLIDE)
        rows = summary_rows(results)
        if rows:
            top["summary"] = lambda: plotting.fig_summary(rows)
        for name, draw in top.items():  # the first screen: drawn once, from everything
            say(f"drawing {name}")
            fig = draw()
            _sign(fig, Part(results, tuple(sources)))
            names += [p.name for p in plotting.save(fig, tmp, name)]
            figures[name] = f"{name}.png"
        for part in parts:
            todo, skipped = _figures(part.results, baseline)
            left_out.update({f"{k}{part.suffix}": v for k, v in skipped.items()})
            try:
                extra = plotting.training_figures(part.results)
            except (TypeError, ValueError, KeyError, AttributeError, IndexError):  # hand-edited histories
                extra = {}
                left_out["train_cost"] = "the training histories in the file are unreadable"
            if drawn_cost:  # the same histories travel with every part of a file: drawn once
                extra.pop("train_cost", None)
            drawn_cost |= "train_cost" in extra
            todo.update(extra)
            for name, draw in todo.items():
                full = f"{name}{part.suffix}"
                say(f"drawing {full}" + (f" ({part.title})" if part.title else ""))
                fig = draw() if callable(draw) else draw
                _sign(fig, part)
                names += [p.name for p in plotting.save(fig, tmp, full)]
                figures[full] = f"{full}.png"
        ref = reference()
        say("writing README.md")
        md = _markdown(results, figures, sources, baseline, left_out, parts, ref)
        (tmp / "README.md").write_text(md)
        names.append("README.md")
        say("writing report.html")
        (tmp / "report.html").write_text(html.page(results, md, {n: tmp / f"{n}.svg" for n in figures},
                                                   [headline(p.results) for p in parts]), encoding="utf-8")
        names.append("report.html")
        return _move_into_place(tmp, folder, names)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _move_into_place(tmp: Path, folder: Path, names: list[str]) -> list[Path]:
    """The finished report replaces the folder's files of the same names (other files are kept)."""
    if not folder.exists():
        os.replace(tmp, folder)  # the whole report appears at once
        return [folder / n for n in names]
    for n in names:
        os.replace(tmp / n, folder / n)
    return [folder / n for n in names]


def expand(patterns: Sequence[str]) -> list[str]:
    """Results files named by ``patterns`` (globs allowed, ``**`` recursive), in order, once each."""
    files: list[str] = []
    for p in patterns:
        hits = sorted(glob.glob(p, recursive=True))
        if not hits and not Path(p).exists():
            raise ValueError(f"no results file matches {p!r}")
        files.extend(hits or [p])
    return list(dict.fromkeys(files))


def check_output_folder(folder: Path) -> None:
    """``ValueError`` unless ``folder`` is (or can become) a folder the report can be written in."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--output: {folder} exists and is not a folder; give a folder for the report")
    parent = folder.resolve().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--output: cannot create or write the report folder {folder} (in {parent})")


def report_files(files: Sequence[str], folder: str | Path, baseline: str | None = None,
                 loaded: Sequence[Results] | None = None,
                 say: Callable[[str], None] | None = None) -> tuple[Results, list[Path]]:
    """Merge the results ``files`` and write their report into ``folder``; return (results, files written).

    ``loaded`` are those files already read (same order; read here when None), so a caller that
    checked them first does not read them twice. Every file is checked before anything is drawn.
    """
    folder = Path(folder)
    check_output_folder(folder)
    loaded = [load(f) for f in files] if loaded is None else list(loaded)
    if len(loaded) != len(files):
        raise ValueError(f"report_files: {len(files)} files but {len(loaded)} loaded results")
    named = [(relative(f, folder), r) for f, r in zip(files, loaded)]
    if not named:
        raise ValueError("give results files (vecbench or pytest-benchmark JSON) or --run")
    results = Results.merge([r for _, r in named])
    if not results.records:
        raise ValueError(f"no measurements in {', '.join(files)} (a vecbench results file, or pytest-benchmark "
                         "JSON with at least one benchmark)")
    parts = split([(name, r) for name, r in named if r.records])
    return results, write_report(results, folder, baseline, [relative(f, folder) for f in files], parts, say)


def relative(path: str, folder: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return path
