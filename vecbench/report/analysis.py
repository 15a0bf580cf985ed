"""The analysis behind a report, computed once: headline rows, the lecture's experiment, break-even,
the reference beside yours, static vs dynamic graphs, autodiff vs derivation, and how files are split.

Only numbers and rows here; :mod:`vecbench.report.markdown`, :mod:`vecbench.report.html` and
:mod:`vecbench.report.figures` render them. It names no backend: the loop and vectorized baselines
are whichever backends play those roles.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import registry
from ..records import sweeps_an_axis
from ..results import Record, Results, Timing, baseline_medians, interval, speedup, speedup_interval, untrusted
from ..rounds import paired_entry, paired_speedup

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
    from ..bandwidth import contended

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
                "vs_loop_ci": speedup_ci(lp_r, r_at) if lp_r and r_at and ok else None,
                "vs_loop_label": loop_at if lp_r is not None else None,
                "vs_vectorized": speedup(r, base_vec), "vs_vectorized_ci": speedup_ci(vc, r) if ok else None,
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
    medians_ci = speedup_ci(loop, vec)
    paired = paired_speedup(results, loop.backend, vec.backend, "dot", loop.label, "float64")
    entry = paired_entry(results, "dot", loop.label, "float64") if paired else None
    # The sentence shows the two medians: a rounds ratio that contradicts them (contended rounds, or an
    # interval disjoint from the medians' one: the machine's speed changed between the sweep and the rounds)
    # is shown beside them, never instead of them.
    contended = bool(entry and entry.get("contended"))
    disjoint = bool(paired and medians_ci and (paired[2] < medians_ci[0] or paired[0] > medians_ci[1]))
    out["rounds_disagree"] = (paired[0], paired[1], paired[2], contended) if paired and (contended or disjoint) \
        else None
    use_rounds = paired is not None and out["rounds_disagree"] is None
    if paired and use_rounds:
        out["speedup"] = paired[1]
    out["speedup_ci"] = (paired[0], paired[2]) if paired and use_rounds else medians_ci
    out["paired"] = use_rounds
    # Rounds that disagree with the sweep: busy rounds are contended; quiet ones saw the machine's speed drift.
    drift = " " + (CONTENDED_MARK if contended else NOISY_MARK) if out["rounds_disagree"] else ""
    out["mark"] = mark(loop, vec, fastest) or drift
    out["untrusted"] = bool(out["mark"])
    return out


def speedup_ci(base: Record, r: Record) -> tuple[float, float] | None:
    try:
        lo, _, hi = speedup_interval(base, r)
    except ValueError:
        return None
    return lo, hi


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


def break_even(results: Results, headline_rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """For each compiled kernel at its op's headline size: how many calls pay back its compile against the
    vectorized baseline (compile time / time saved per call), from the cold compile and from the cache load.

    Rows: ``op, label, backend, cold_s, cache_s, saved_s, calls_cold, calls_cache`` (calls None when the
    kernel saves nothing per call: it never pays back). ``headline_rows``: :func:`headline` of ``results``
    when already computed.
    """
    vec = registry.baseline("vectorized")
    compiled = set(registry.by_role("compiled"))
    heads = headline(results) if headline_rows is None else headline_rows
    rows = []
    for h in heads:
        if h["backend"] not in compiled or h["status"] != "ok":
            continue
        base = next((x for x in heads if x["op"] == h["op"] and x["backend"] == vec), None)
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


def reference() -> Results | None:
    """The reference machine's results, installed with the package (None if the data file is missing)."""
    from importlib import resources

    try:
        text = resources.files("vecbench").joinpath("_data/reference.json").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None
    import json

    from ..results import _check_results

    return Results.from_dict(_check_results(json.loads(text)))


def beside_reference(results: Results, ref: Results | None,
                     headline_rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The headline of ``results`` joined with the reference's by (op, backend): rows with ``op, backend,
    label, median_s, vs_vectorized`` and ``ref_label, ref_median_s, ref_vs_vectorized``. Empty when
    ``results`` is the reference itself (same creation time and machine) or there is no reference.
    ``headline_rows``: :func:`headline` of ``results`` when already computed."""
    if ref is None or (ref.created == results.created and _machine_id(ref) == _machine_id(results)):
        return []
    theirs = {(h["op"], h["backend"]): h for h in headline(ref)}
    rows = []
    for h in headline(results) if headline_rows is None else headline_rows:
        t = theirs.get((h["op"], h["backend"]))
        if t is None:
            continue
        rows.append({"op": h["op"], "backend": h["backend"], "label": h["label"], "median_s": h["median_s"],
                     "vs_vectorized": h["vs_vectorized"], "ref_label": t["label"], "ref_median_s": t["median_s"],
                     "ref_vs_vectorized": t["vs_vectorized"], "mark": h.get("mark", ""),
                     "ref_mark": t.get("mark", "")})
    return rows


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


def own_drawn(results: Results) -> list[str]:
    """Your computations (``results.own_ops``) with at least one successful measurement."""
    return [op for op in results.own_ops if any(r.op == op and r.ok for r in results)]


@dataclass(frozen=True)
class Analysis:
    """What the report says about one part of the results, computed once; the markdown and the HTML page
    render it (neither computes a number of its own)."""

    headline: list[dict[str, Any]]
    break_even: list[dict[str, Any]]
    beside_reference: list[dict[str, Any]]
    static_vs_dynamic: list[dict[str, Any]]
    autodiff: list[dict[str, Any]]


def analyse(results: Results, ref: Results | None = None) -> Analysis:
    """The :class:`Analysis` of ``results`` (``ref``: the reference machine's results, see :func:`reference`)."""
    rows = headline(results)
    return Analysis(rows, break_even(results, rows), beside_reference(results, ref, rows),
                    static_vs_dynamic(results), autodiff_vs_derivation(results))
