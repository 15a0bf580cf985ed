"""The report's ``README.md``: the analysis (:mod:`vecbench.report.analysis`) as markdown, with the figures' captions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .. import registry
from ..crossover import crossover_lines
from ..memory_report import memory_lines
from ..records import NOISY_SPREAD, NOISY_WARNING, sweeps_an_axis
from ..results import Results, format_speedup, interval, phases_line, untrusted
from ..results import format_time as _fmt_time
from ..scaling import scaling_lines
from .analysis import (
    BANNER_SHARE,
    CONTENDED_MARK,
    FIX_COMMAND,
    NOISY_MARK,
    SLIDE,
    Analysis,
    Part,
    analyse,
    autodiff_vs_derivation,
    bandwidth_mark,
    lecture_dot,
    speedup_ci,
    static_vs_dynamic,
)

_x = format_speedup


def _x_ci(v: float | None, ci: tuple[float, float] | None) -> str:
    """``12.3x (11.9-12.8)``: a speedup with its approximate 95% interval."""
    if v is None:
        return "-"
    return f"{_x(v)} ({ci[0]:.3g}-{ci[1]:.3g})" if ci else _x(v)


def details(summary: str, lines: Sequence[str]) -> list[str]:
    """Markdown lines folded in a ``<details>`` block (GitHub renders it; :mod:`vecbench.report.html` too)."""
    return ["<details>", f"<summary>{summary}</summary>", "", *lines, "", "</details>", ""]


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


def care_lines(results: Results) -> list[str]:
    """Markdown: what was re-measured, kernels whose threads waited for time slices, and the measurements
    still taken on a contended machine or with a noisy spread (folded, with their count)."""
    from ..remeasure import remeasured, spoiled, timeslice_waits

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
    from ..bandwidth import contended

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
    if lec.get("rounds_disagree"):
        lo, mid, hi, contended = lec["rounds_disagree"]
        interval_text += (f"; the interleaved rounds timed after the sweep gave {_times(mid)}x ({lo:.3g}-{hi:.3g}x)"
                          + (", with the machine busy" if contended else "")
                          + ": its speed changed between the two, so neither figure is reliable")
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
        from ..bandwidth import describe, rates

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


def _headline_lines(results: Results, rows: list[dict[str, Any]]) -> list[str]:
    loop, vec = registry.baseline("loop"), registry.baseline("vectorized")
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


def _break_even_lines(rows: list[dict[str, Any]]) -> list[str]:
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


def _reference_lines(rows: list[dict[str, Any]], ref: Results | None) -> list[str]:
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
    from ..foreign import is_foreign

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
    "scaling": "Time per call vs workers: strong scaling (one size; dotted: ideal, dashed: single-process backends) "
               "and weak scaling (work per worker fixed; flat is ideal).",
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


def _part_lines(part: Part, figures: dict[str, str], several: bool, ref: Results | None,
                analysis: Analysis) -> list[str]:
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
    head = _headline_lines(results, analysis.headline)
    if head:
        out += [f"{h} Headline: every operation at its largest common size", "", *head]
    for op in dict.fromkeys(r.op for r in results if r.ok and sweeps_an_axis(r)):
        table = axis_table(results, op)
        if table:
            axes = ", ".join(a.label for a in registry.spec(op).axes)
            out += [f"{h} `{op}`: what vectorization buys at each {axes}", "", *table, ""]
    be = _break_even_lines(analysis.break_even)
    if be:
        out += [f"{h} Decision data: when does compiling pay?", "", *be]
    # The tables after the figures, each under its heading where it has anything to say.
    sections = (("Static vs dynamic graph", static_vs_dynamic_lines(results, analysis.static_vs_dynamic)),
                ("Autodiff against the hand derivation", autodiff_lines(results, analysis.autodiff)),
                ("CPU or GPU: where the device starts to win", crossover_lines(results)),
                ("Scaling over workers", scaling_lines(results)),
                ("Memory per call", memory_lines(results)),
                ("Your machine beside the reference", _reference_lines(analysis.beside_reference, ref)),
                ("pytest-benchmark groups", foreign_lines(results)),
                ("Measurements to treat with care", care_lines(results)))
    for title, lines in sections:
        if lines:
            out += [f"{h} {title}", "", *lines]
    return out


def static_vs_dynamic_lines(results: Results, rows: list[dict[str, Any]] | None = None) -> list[str]:
    """The report's "static vs dynamic graph" section (markdown lines; none without both backends);
    ``rows``: :func:`~vecbench.report.analysis.static_vs_dynamic` of ``results`` when already computed."""
    rows = static_vs_dynamic(results) if rows is None else rows
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


def autodiff_lines(results: Results, rows: list[dict[str, Any]] | None = None) -> list[str]:
    """The report's "autodiff against the derivation" table (markdown lines; none without both kernels);
    ``rows``: :func:`~vecbench.report.analysis.autodiff_vs_derivation` of ``results`` when already computed."""
    rows = autodiff_vs_derivation(results) if rows is None else rows
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
            sp = _x_ci(ref.median_s / r.median_s, speedup_ci(ref, r)) if ref and ref.ok and ref.median_s and r.median_s else "-"
            ct = _fmt_time(max((x.compile_time_s or 0.0 for x in mine), default=0.0)) if any(
                x.compile_time_s for x in mine) else "-"
            out.append(f"| {b}{' (hollow)' if untrusted(r) else ''} | {r.label} | {_fmt_time(r.median_s)} | "
                       f"{sp if b != base else '1x'} | {f'{r.gbps:.2f}' if r.bytes and r.gbps else '-'} | "
                       f"{f'{r.gflops:.2f}' if r.flops and r.gflops else '-'} | {ct} | {where.get(b, '?')} |")
        out.append("")
    return out


def render(results: Results, figures: dict[str, str], sources: Sequence[str], baseline: str,
           left_out: dict[str, str] | None = None, parts: Sequence[Part] = (),
           ref: Results | None = None, analyses: Sequence[Analysis] | None = None) -> str:
    """The report's ``README.md``: ``figures`` (name -> file) placed with their captions, every ``parts``
    (default: ``results`` as one part) with its :class:`Analysis` (``analyses``, in the parts' order;
    computed here when not given)."""
    parts = list(parts) or [Part(results, tuple(sources))]
    analyses = list(analyses) if analyses is not None else [analyse(p.results, ref) for p in parts]
    out = ["# vecbench report", "", *banner_lines(results)]
    if results.interrupted:
        out += ["**The run was interrupted: these results are partial.**", ""]
    out += _lecture_lines(results, figures)
    out += _summary_lines(figures)
    out.append(f"Generated from {', '.join(f'`{s}`' for s in sources) or 'a fresh run'}: measured "
               f"{results.created or 'at an unknown time'} with vecbench {results.vecbench or '?'} "
               f"({results.source}). Times are per call, median of the samples; "
               "speedups are medians of per-round ratios where the backends were timed in interleaved rounds, "
               "else ratios of medians from the same run."
               + (f" The run took {phases_line(results.phases_s)}." if results.phases_s else ""))
    if len(parts) > 1:
        out.append(f"\nThe files hold {len(parts)} sets that are never drawn on one line or divided by each other "
                   "(different dtypes, machines, or the same kernels measured in two files): "
                   + "; ".join(f"**{p.title}**" for p in parts) + ".")
    out.append("")
    for part, analysis in zip(parts, analyses):
        out += _part_lines(part, figures, len(parts) > 1, ref, analysis)
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
