"""Write ``reports/``: figures plus a README.md a person reads first.

Reads results files (vecbench JSON or pytest-benchmark JSON) and never times
anything (``vecbench report --run`` measures in the CLI first, then reports
from the file it wrote). It names no backend: the loop and vectorized
baselines are whichever backends play those roles.
"""

from __future__ import annotations

import glob
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import registry
from .results import Record, Results, baseline_medians, load, speedup
from .results import format_time as _fmt_time

__all__ = ["axis_table", "expand", "headline", "lecture_dot", "report_files", "write_report"]

SLIDE = {"loop_ms": 718.0, "vectorized_ms": 33.0}


def _sweeps_an_axis(r: Record) -> bool:
    return bool(set(registry.axis_names(r.op)) & set(r.size))


def headline(results: Results) -> list[dict[str, Any]]:
    """For each op, every backend at the largest size where the vectorized baseline and another backend succeeded.

    Returns rows with ``op, label, dtype, backend, status, median_s, vs_loop,
    vs_vectorized, gbps, pct_bandwidth`` (None where not measured); the loop
    and vectorized baselines are the backends that play those roles.
    """
    loop, vec = registry.baseline("loop"), registry.baseline("vectorized")
    bw = results.bandwidth_gbps.get("best")
    rows: list[dict[str, Any]] = []
    for op in dict.fromkeys(r.op for r in results if not _sweeps_an_axis(r)):  # axis sweeps: own table
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
        base_loop, base_vec = baseline_medians(group.values(), loop), baseline_medians(group.values(), vec)
        lp = group[loop] if loop in group and group[loop].ok else None
        vc = group[vec]
        for backend, r in group.items():
            ok = r.ok and bool(r.median_s)
            gbps = r.gbps
            rows.append({
                "op": op, "label": label, "dtype": dtype, "backend": backend, "status": r.status,
                "reason": r.reason, "median_s": r.median_s,
                "ci_s": _interval(r) if ok else None,
                "vs_loop": speedup(r, base_loop), "vs_loop_ci": _speedup(lp, r) if lp and ok else None,
                "vs_vectorized": speedup(r, base_vec), "vs_vectorized_ci": _speedup(vc, r) if ok else None,
                "untrusted": ok and (_untrusted(r) or (lp is not None and _untrusted(lp)) or _untrusted(vc)),
                "gbps": gbps, "pct_bandwidth": 100 * gbps / bw if bw and gbps else None,
            })
    return rows


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
    return out


def axis_table(results: Results, op: str) -> list[str]:
    """Markdown rows: time per call of ``op`` per backend at each value of its extra axis
    (time per epoch by batch size), and the fastest compiled backend's lead over the vectorized one."""
    recs = [r for r in results if r.op == op and r.ok and r.dtype == "float64" and _sweeps_an_axis(r)]
    if not recs:
        return []
    axis = next(a for a in registry.spec(op).axes if a.name in recs[0].size)
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


def _x(v: float | None, digits: int = 3) -> str:
    return f"{v:.{digits}g}x" if v is not None else "-"


def _interval(r: Record) -> tuple[float, float, float]:
    from .plotting import interval

    return interval(r)


def _speedup(base: Record, r: Record) -> tuple[float, float] | None:
    from .plotting import speedup_interval

    try:
        lo, _, hi = speedup_interval(base, r)
    except ValueError:
        return None
    return lo, hi


def _untrusted(r: Record) -> bool:
    return r.is_contended or r.noisy


def _x_ci(v: float | None, ci: tuple[float, float] | None) -> str:
    """``12.3x (11.9-12.8)``: a speedup with its approximate 95% interval."""
    if v is None:
        return "-"
    return f"{_x(v)} ({ci[0]:.3g}-{ci[1]:.3g})" if ci else _x(v)


def care_lines(results: Results) -> list[str]:
    """Markdown: the measurements taken on a contended machine or with a noisy spread."""
    bad = [r for r in results if r.ok and _untrusted(r)]
    if not bad:
        return []
    lines = [(f"{len(bad)} measurement(s) below were timed while other processes were busy (contended) or "
              "spread widely (noisy: IQR above 10% of the median). They are drawn hollow in the figures; "
              "their times are likely too slow. Rerun on a quiet machine (`vecbench run --wait-quiet`)."), "",
             "| op | backend | size | dtype | median | 95% interval | why |", "|---|---|---|---|---:|---|---|"]
    for r in bad:
        lo, med, hi = _interval(r)
        why = "; ".join(w for w in r.warnings if w.startswith(("contended", "noisy")))
        lines.append(f"| {r.op} | {r.backend} | {r.label} | {r.dtype} | {_fmt_time(med)} | "
                     f"{_fmt_time(lo)} - {_fmt_time(hi)} | {why} |")
    return lines + [""]


def _machine_lines(results: Results) -> list[str]:
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
    if bw:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in bw.items() if k not in ("best", "array_bytes"))
        lines.append(f"- **Measured memory bandwidth** (STREAM-style, {bw.get('array_bytes', 0) / 1e6:.0f} MB arrays): "
                     f"**{bw['best']:.1f} GB/s** best ({parts} GB/s)")
    if m.get("env"):
        lines.append(f"- **Environment**: {', '.join(f'{k}={v}' for k, v in m['env'].items())}")
    return lines


def _facts(facts: Any) -> str:
    """A backend's self-description (versions, its BLAS, threading layer...) on one line."""
    if not isinstance(facts, dict):
        return str(facts)
    if facts.get("available") is False:
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


# ---------------------------------------------------------------- static vs dynamic graph
# (static graph, dynamic graph) backend pairs: JAX's jit against eager PyTorch, hand-derived
# gradients and autodiff alike. Pairs whose backends are not in the results are left out.
GRAPH_PAIRS = (("jax", "torch"), ("jax_autodiff", "torch_autodiff"))


def break_even_steps(compile_s: float | None, static_s: float, dynamic_s: float) -> float | None:
    """Steps after which a static graph has paid for its trace + compile time.

    ``compile + n static_s <= n dynamic_s`` from ``n = compile / (dynamic_s - static_s)`` on;
    None when the static graph is not faster per step (it never pays back), 0 when nothing
    was compiled (``compile_s`` 0 or unknown).
    """
    if dynamic_s <= static_s:
        return None
    return max(0.0, compile_s or 0.0) / (dynamic_s - static_s)


def static_vs_dynamic(results: Results) -> list[dict[str, Any]]:
    """One row per (op, size, pair) measured by both backends of a :data:`GRAPH_PAIRS` pair (float64).

    Keys: ``op``, ``label``, ``static``, ``dynamic``, ``static_s`` and ``dynamic_s`` (median time per
    call: one step, or one epoch for ``train_epoch``), ``compile_s`` (the static graph's first-call
    trace + compile), ``break_even`` (see :func:`break_even_steps`).
    """
    by = {(r.op, r.label, r.backend): r for r in results if r.ok and r.dtype == "float64" and r.timing}
    rows = []
    for (op, label, static), r in by.items():
        for s, d in GRAPH_PAIRS:
            other = by.get((op, label, d))
            if s != static or other is None or r.timing is None or other.timing is None:
                continue
            rows.append({"op": op, "label": label, "static": s, "dynamic": d, "static_s": r.timing.median_s,
                         "dynamic_s": other.timing.median_s, "compile_s": r.timing.compile_time_s,
                         "break_even": break_even_steps(r.timing.compile_time_s, r.timing.median_s,
                                                        other.timing.median_s)})
    return rows


def static_vs_dynamic_lines(results: Results) -> list[str]:
    """The report's "static vs dynamic graph" section (markdown lines; none without both backends)."""
    rows = static_vs_dynamic(results)
    if not rows:
        return []
    out = ["## Static vs dynamic graph", "",
           "A static graph (`jax.jit`) is traced and compiled once per shape, then runs with no Python per "
           "operation; a dynamic graph (eager PyTorch) is rebuilt, one dispatch per operation, at every call. "
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


def _markdown(results: Results, figures: dict[str, str], sources: Sequence[str], baseline: str) -> str:
    out = ["# vecbench report", ""]
    out.append(f"Generated from {', '.join(f'`{s}`' for s in sources) or 'a fresh run'}: measured "
               f"{results.created or 'at an unknown time'} with vecbench {results.vecbench or '?'} "
               f"({results.source}). Times are per call, median of the samples; "
               "speedups are ratios of medians from the same run.")
    if results.interrupted:
        out.append("\n**The run was interrupted: these results are partial.**")
    out += ["", "## Machine", "", *_machine_lines(results), ""]

    loop, vec = registry.baseline("loop"), registry.baseline("vectorized")
    lec = lecture_dot(results)
    out += ["## The lecture's experiment: dot product of two 1e6 vectors", ""]
    if lec:
        out.append(f"The slide: for-loop {SLIDE['loop_ms']:.0f} ms, `np.dot` {SLIDE['vectorized_ms']:.0f} ms "
                   f"(~{SLIDE['loop_ms'] / SLIDE['vectorized_ms']:.0f}x). On this machine: for-loop (`{loop}`) "
                   f"**{lec['loop_ms']:.1f} ms**, vectorized (`{vec}`) **{lec['vectorized_ms']:.3f} ms**, "
                   f"**{lec['speedup']:.0f}x** faster (fastest backend: {lec['fastest_backend']}, "
                   f"{lec['fastest_ms']:.3f} ms). The slide's timing was a single `time.time()` "
                   "around one call, which includes first-call effects; here each is the median of calibrated samples.")
    else:
        out.append(f"Not in these results (needs `dot` at n = 1e6 for both `{loop}` and `{vec}`).")

    rows = headline(results)
    out += ["", "## Headline: every operation at its largest common size", "",
            f"| op | size | backend | median time | vs {loop} | vs {vec} | GB/s | % of bandwidth |",
            "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["status"] != "ok":
            out.append(f"| {r['op']} | {r['label']} | {r['backend']} | {r['status']} | | | | |")
            continue
        pct = f"{r['pct_bandwidth']:.0f}%" if r["pct_bandwidth"] is not None else "-"
        mark = " (hollow)" if r["untrusted"] else ""
        out.append(f"| {r['op']} | {r['label']} | {r['backend']}{mark} | {_fmt_time(r['median_s'])} | "
                   f"{_x_ci(r['vs_loop'], r['vs_loop_ci'])} | {_x_ci(r['vs_vectorized'], r['vs_vectorized_ci'])} | "
                   f"{r['gbps']:.2f} | {pct} |")
    out += ["", ("Bytes are the minimum traffic of one call (each input read once, each output written once), "
                 "so % of bandwidth above 100 means the working set sits in cache. In parentheses: an approximate "
                 "95% interval of each speedup, from the two medians' intervals (distribution-free, from order "
                 "statistics) combined in quadrature on the log scale; where it includes 1x the two backends are "
                 "not told apart. (hollow): timed on a contended machine or noisy, see below."), ""]
    care = care_lines(results)
    if care:
        out += ["## Measurements to treat with care", "", *care]
    for op in dict.fromkeys(r.op for r in results if r.ok and _sweeps_an_axis(r)):
        table = axis_table(results, op)
        if table:
            axes = ", ".join(a.label for a in registry.spec(op).axes)
            out += [f"## `{op}`: what vectorization buys at each {axes}", "", *table, ""]

    out += static_vs_dynamic_lines(results)
    out += ["## Figures", ""]
    captions = {
        "time_vs_size": "Time per call vs problem size (points: median; bars: its 95% interval; hollow: "
                        "contended or noisy; x: skipped, see the footnotes).",
        f"speedup_vs_{baseline}": f"Speedup over `{baseline}` vs problem size (bars: approximate 95% interval); "
                                  "the dashed line is 1x.",
        f"speedup_vs_{vec}": f"Speedup over `{vec}` vs problem size (bars: approximate 95% interval); "
                             "the dashed line is 1x.",
        "bandwidth": "Achieved GB/s vs working set; black: measured STREAM bandwidth; dotted/dash-dot/dashed: L1/L2/L3 sizes.",
        "heatmap": f"Geometric-mean speedup over {vec} across sizes, per op and backend.",
        "compile_time": "JIT compile (or cache-load) time of the first call, timed apart from every sample.",
        "train_epoch": "Time per training epoch vs batch size.",
        "train_cost": "Cost per epoch for batch, mini-batch and stochastic gradient descent.",
    }
    for name, path in figures.items():
        out += [f"### {captions.get(name, name)}", "", f"![{name}]({path})", ""]

    bad = [r for r in results if not r.ok]
    if bad:
        out += ["## Failures and skips", "", "Skipped points are marked x on the figures' bottom edge; the reason "
                "is the footnote.", "", "| op | backend | size | dtype | status | reason |", "|---|---|---|---|---|---|"]
        reasons = list(dict.fromkeys(r.reason for r in bad))
        out += [f"| {r.op} | {r.backend} | {r.label} | {r.dtype} | {r.status} | [^{reasons.index(r.reason) + 1}] |"
                for r in bad]
        out.append("")
        out += [f"[^{i}]: {reason or 'no reason recorded'}" for i, reason in enumerate(reasons, 1)]
        out.append("")
    out += ["## Reproduce", "", "```", "pip install -e . && vecbench report --run    # measure, then write reports/",
            "vecbench report results/*.json -o reports/  # redraw from saved files", "```", ""]
    return "\n".join(out)


def write_report(results: Results, folder: str | Path = "reports", baseline: str | None = None,
                 sources: Sequence[str] = ()) -> list[Path]:
    """Draw every figure and write ``folder/README.md``; return the files written.

    ``baseline`` is the backend of the first speedup figure (default: the
    loop backend); a second one is drawn over the vectorized backend.
    """
    from . import plotting

    baseline = baseline or registry.baseline("loop")
    vec = registry.baseline("vectorized")
    folder = Path(folder)
    written: list[Path] = []
    figures: dict[str, str] = {}

    def add(name: str, fig: Any) -> None:
        written.extend(plotting.save(fig, folder, name))
        figures[name] = f"{name}.png"

    add("time_vs_size", plotting.fig_time(results))
    add(f"speedup_vs_{baseline}", plotting.fig_speedup(results, baseline))
    if baseline != vec:
        add(f"speedup_vs_{vec}", plotting.fig_speedup(results, vec))
    add("bandwidth", plotting.fig_bandwidth(results))
    add("heatmap", plotting.fig_heatmap(results))
    if any(r.compile_time_s is not None for r in results):
        add("compile_time", plotting.fig_compile(results))
    for name, fig in plotting.training_figures(results).items():
        add(name, fig)
    readme = folder / "README.md"
    readme.write_text(_markdown(results, figures, sources, baseline))
    written.append(readme)
    return written


def expand(patterns: Sequence[str]) -> list[str]:
    """Results files named by ``patterns`` (globs allowed, ``**`` recursive), in order, once each."""
    files: list[str] = []
    for p in patterns:
        hits = sorted(glob.glob(p, recursive=True))
        if not hits and not Path(p).exists():
            raise FileNotFoundError(f"report: no results file matches {p!r}")
        files.extend(hits or [p])
    return list(dict.fromkeys(files))


def report_files(files: Sequence[str], folder: str | Path, baseline: str | None = None) -> tuple[Results, list[Path]]:
    """Merge the results ``files`` and write their report into ``folder``; return (results, files written)."""
    if not files:
        raise ValueError("report: give results files (vecbench or pytest-benchmark JSON) or --run")
    results = Results.merge(load(f) for f in files)
    if not results.records:
        raise ValueError(f"report: no vecbench measurements in {list(files)}")
    folder = Path(folder)
    return results, write_report(results, folder, baseline, [relative(f, folder) for f in files])


def relative(path: str, folder: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return path
