"""Write ``reports/``: figures plus a README.md a person reads first.

Reads results files (vecbench JSON or pytest-benchmark JSON) and never times
anything, except with ``vecbench report --run``, which runs the default sweep
through the harness first and then reports from the file it wrote.
"""

from __future__ import annotations

import argparse
import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .results import Record, Results, load
from .results import format_time as _fmt_time

__all__ = ["headline", "lecture_dot", "write_report", "report_main"]

SLIDE = {"loop_ms": 718.0, "vectorized_ms": 33.0}


def headline(results: Results) -> list[dict[str, Any]]:
    """For each op, every backend at the largest size where numpy and another backend succeeded.

    Returns rows with ``op, label, dtype, backend, status, median_s, vs_python,
    vs_numpy, gbps, pct_bandwidth`` (None where not measured).
    """
    bw = results.bandwidth_gbps.get("best")
    rows: list[dict[str, Any]] = []
    for op in dict.fromkeys(r.op for r in results if "batch" not in r.size):  # batch sweeps: own table
        recs = [r for r in results if r.op == op]
        dtype = "float64" if any(r.dtype == "float64" for r in recs) else recs[0].dtype
        recs = [r for r in recs if r.dtype == dtype]
        by_label: dict[str, dict[str, Record]] = {}
        for r in recs:
            by_label.setdefault(r.label, {})[r.backend] = r
        common = [lab for lab, bs in by_label.items()
                  if bs.get("numpy") and bs["numpy"].ok and sum(r.ok for r in bs.values()) >= 2]
        if not common:
            continue
        label = max(common, key=lambda lab: by_label[lab]["numpy"].elements)
        group = by_label[label]
        py = group["python"] if "python" in group and group["python"].ok else None
        t_py = py.median_s if py else None
        t_np = group["numpy"].median_s
        for backend, r in group.items():
            ok = r.ok and bool(r.median_s)
            rows.append({
                "op": op, "label": label, "dtype": dtype, "backend": backend, "status": r.status,
                "reason": r.reason, "median_s": r.median_s,
                "ci_s": _interval(r) if ok else None,
                "vs_python": t_py / r.median_s if t_py and r.median_s else None,
                "vs_python_ci": _speedup(py, r) if py and ok else None,
                "vs_numpy": t_np / r.median_s if r.median_s else None,
                "vs_numpy_ci": _speedup(group["numpy"], r) if ok else None,
                "untrusted": ok and (_untrusted(r) or (py is not None and _untrusted(py))
                                     or _untrusted(group["numpy"])),
                "gbps": r.gbps, "pct_bandwidth": 100 * r.gbps / bw if bw and r.gbps else None,
            })
    return rows


def lecture_dot(results: Results) -> dict[str, float] | None:
    """The lecture's experiment (n = 1e6, loop vs np.dot) if the results hold it."""
    def find(backend: str) -> Record | None:
        hits = [r for r in results if r.op == "dot" and r.backend == backend and r.size == {"n": 10**6}
                and r.dtype == "float64" and r.ok]
        return hits[0] if hits else None

    loop, vec = find("python"), find("numpy")
    if not (loop and vec):
        return None
    out = {"loop_ms": loop.median_s * 1e3, "vectorized_ms": vec.median_s * 1e3,
           "speedup": loop.median_s / vec.median_s}
    best = [r for r in results if r.op == "dot" and r.size == {"n": 10**6} and r.ok and r.dtype == "float64"]
    fastest = min(best, key=lambda r: r.median_s)
    out.update(fastest_backend=fastest.backend, fastest_ms=fastest.median_s * 1e3)  # type: ignore[arg-type]
    return out


def training_table(results: Results) -> list[str]:
    """Markdown rows: time per epoch per backend at each batch size, and numba's lead over numpy."""
    recs = [r for r in results if r.op == "train_epoch" and r.ok and r.dtype == "float64"]
    if not recs:
        return []
    backends = list(dict.fromkeys(r.backend for r in recs))
    by = {(r.size["batch"], r.backend): r.median_s for r in recs}
    size = recs[0].size
    lines = [f"Time per epoch (n_x = {size['n_x']}, m = {size['m']}) by batch size; the last column is "
             "the fastest Numba backend's speedup over NumPy.", "",
             "| batch size | " + " | ".join(backends) + " | numba vs numpy |",
             "|---:|" + "---:|" * len(backends) + "---:|"]
    for batch in sorted({b for b, _ in by}):
        cells = [_fmt_time(by.get((batch, b))) for b in backends]
        numba = [by[batch, b] for b in ("numba", "numba_parallel") if (batch, b) in by]
        ratio = _x(by[batch, "numpy"] / min(numba)) if numba and (batch, "numpy") in by else "-"
        label = f"{batch} (full)" if batch == size["m"] else str(batch)
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
    blas = next((b for b in m.get("blas", []) if b.get("user_api") == "blas"), {})
    nb = m.get("numba", {})
    bw = results.bandwidth_gbps
    lines = [
        f"- **CPU**: {m.get('cpu', '?')}, {m.get('cores', '?')} cores available; caches: {caches or 'unknown'}",
        f"- **Software**: Python {m.get('python', '?')}, NumPy {m.get('numpy', '?')} "
        f"(BLAS: {blas.get('internal_api', '?')} {blas.get('version', '')}, {blas.get('num_threads', '?')} threads, "
        f"{blas.get('architecture', '')} kernels), Numba {nb.get('version', 'not installed')} "
        f"(threading layer {nb.get('threading_layer', '?')}, {nb.get('num_threads', '?')} threads); {m.get('os', '')}",
    ]
    if bw:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in bw.items() if k not in ("best", "array_bytes"))
        lines.append(f"- **Measured memory bandwidth** (STREAM-style, {bw.get('array_bytes', 0) / 1e6:.0f} MB arrays): "
                     f"**{bw['best']:.1f} GB/s** best ({parts} GB/s)")
    if m.get("env"):
        lines.append(f"- **Environment**: {', '.join(f'{k}={v}' for k, v in m['env'].items())}")
    return lines


def _markdown(results: Results, figures: dict[str, str], sources: Sequence[str], baseline: str) -> str:
    out = ["# vecbench report", ""]
    out.append(f"Generated from {', '.join(f'`{s}`' for s in sources) or 'a fresh run'}: measured "
               f"{results.created or 'at an unknown time'} with vecbench {results.vecbench or '?'} "
               f"({results.source}). Times are per call, median of the samples; "
               "speedups are ratios of medians from the same run.")
    if results.interrupted:
        out.append("\n**The run was interrupted: these results are partial.**")
    out += ["", "## Machine", "", *_machine_lines(results), ""]

    lec = lecture_dot(results)
    out += ["## The lecture's experiment: dot product of two 1e6 vectors", ""]
    if lec:
        out.append(f"The slide: for-loop {SLIDE['loop_ms']:.0f} ms, `np.dot` {SLIDE['vectorized_ms']:.0f} ms "
                   f"(~{SLIDE['loop_ms'] / SLIDE['vectorized_ms']:.0f}x). On this machine: for-loop "
                   f"**{lec['loop_ms']:.1f} ms**, `np.dot` **{lec['vectorized_ms']:.3f} ms**, "
                   f"**{lec['speedup']:.0f}x** faster (fastest backend: {lec['fastest_backend']}, "
                   f"{lec['fastest_ms']:.3f} ms). The slide's timing was a single `time.time()` "
                   "around one call, which includes first-call effects; here each is the median of calibrated samples.")
    else:
        out.append("Not in these results (needs `dot` at n = 1e6 for both `python` and `numpy`).")

    rows = headline(results)
    out += ["", "## Headline: every operation at its largest common size", "",
            "| op | size | backend | median time | vs python | vs numpy | GB/s | % of bandwidth |",
            "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["status"] != "ok":
            out.append(f"| {r['op']} | {r['label']} | {r['backend']} | {r['status']} | | | | |")
            continue
        pct = f"{r['pct_bandwidth']:.0f}%" if r["pct_bandwidth"] is not None else "-"
        mark = " (hollow)" if r["untrusted"] else ""
        out.append(f"| {r['op']} | {r['label']} | {r['backend']}{mark} | {_fmt_time(r['median_s'])} | "
                   f"{_x_ci(r['vs_python'], r['vs_python_ci'])} | {_x_ci(r['vs_numpy'], r['vs_numpy_ci'])} | "
                   f"{r['gbps']:.2f} | {pct} |")
    out += ["", ("Bytes are the minimum traffic of one call (each input read once, each output written once), "
                 "so % of bandwidth above 100 means the working set sits in cache. In parentheses: an approximate "
                 "95% interval of each speedup, from the two medians' intervals (distribution-free, from order "
                 "statistics) combined in quadrature on the log scale; where it includes 1x the two backends are "
                 "not told apart. (hollow): timed on a contended machine or noisy, see below."), ""]
    care = care_lines(results)
    if care:
        out += ["## Measurements to treat with care", "", *care]
    train = training_table(results)
    if train:
        out += ["## Training: what vectorization buys at each batch size", "", *train, ""]

    out += ["## Figures", ""]
    captions = {
        "time_vs_size": "Time per call vs problem size (points: median; bars: its 95% interval; hollow: "
                        "contended or noisy; x: skipped, see the footnotes).",
        f"speedup_vs_{baseline}": f"Speedup over `{baseline}` vs problem size (bars: approximate 95% interval); "
                                  "the dashed line is 1x.",
        "speedup_vs_numpy": "Speedup over `numpy` vs problem size (bars: approximate 95% interval); the dashed line is 1x.",
        "bandwidth": "Achieved GB/s vs working set; black: measured STREAM bandwidth; dotted/dash-dot/dashed: L1/L2/L3 sizes.",
        "heatmap": "Geometric-mean speedup over numpy across sizes, per op and backend.",
        "compile_time": "Numba compile (or cache-load) time of the first call, timed apart from every sample.",
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


def write_report(results: Results, folder: str | Path = "reports", baseline: str = "python",
                 sources: Sequence[str] = ()) -> list[Path]:
    """Draw every figure and write ``folder/README.md``; return the files written."""
    from . import plotting

    folder = Path(folder)
    written: list[Path] = []
    figures: dict[str, str] = {}

    def add(name: str, fig: Any) -> None:
        written.extend(plotting.save(fig, folder, name))
        figures[name] = f"{name}.png"

    add("time_vs_size", plotting.fig_time(results))
    add(f"speedup_vs_{baseline}", plotting.fig_speedup(results, baseline))
    if baseline != "numpy":
        add("speedup_vs_numpy", plotting.fig_speedup(results, "numpy"))
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


def _expand(patterns: Sequence[str]) -> list[str]:
    files: list[str] = []
    for p in patterns:
        hits = sorted(glob.glob(p, recursive=True))
        if not hits and not Path(p).exists():
            raise FileNotFoundError(f"report: no results file matches {p!r}")
        files.extend(hits or [p])
    return list(dict.fromkeys(files))


def report_main(args: argparse.Namespace, console: Any) -> int:
    """``vecbench report``: optionally run the default sweep, then write the report."""
    folder = Path(args.output)
    files = _expand(args.files)
    status = 0
    if args.run:
        from .harness import run

        from .training import convergence_histories

        results = run(sizes="default", progress=True)
        console.print("training BGD, MBGD and SGD for the convergence figure")
        results.training["histories"] = convergence_histories()
        path = results.save(folder / "results.json")
        console.print(f"wrote {path}")
        files = [str(path), *files]
        status = 1 if results.failures else (130 if results.interrupted else 0)
    if not files:
        raise ValueError("report: give results files (vecbench or pytest-benchmark JSON) or --run")
    results = Results.merge(load(f) for f in files)
    if not results.records:
        raise ValueError(f"report: no vecbench measurements in {files}")
    written = write_report(results, folder, args.baseline, [_relative(f, folder) for f in files])
    for p in written:
        console.print(f"wrote {p}")
    for r in results.failures:
        console.print(f"[red]failed[/red] {r.op} {r.backend} {r.label} {r.dtype}: {r.reason}")
    return status


def _relative(path: str, folder: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return path
