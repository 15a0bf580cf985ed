"""Write ``reports/``: figures plus a README.md a person reads first.

Reads results files (vecbench JSON or pytest-benchmark JSON) and never times
anything, except with ``vecbench report --run``, which runs the default sweep
through the harness first and then reports from the file it wrote.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import tempfile
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
        t_py = group["python"].median_s if "python" in group and group["python"].ok else None
        t_np = group["numpy"].median_s
        for backend, r in group.items():
            rows.append({
                "op": op, "label": label, "dtype": dtype, "backend": backend, "status": r.status,
                "reason": r.reason, "median_s": r.median_s,
                "vs_python": t_py / r.median_s if t_py and r.median_s else None,
                "vs_numpy": t_np / r.median_s if r.median_s else None,
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
    recs = [r for r in results if r.op == "train_epoch" and r.ok and r.dtype == "float64"
            and {"batch", "n_x", "m"} <= set(r.size)]
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


def _machine_lines(results: Results) -> list[str]:
    try:
        return _machine_lines_of(results)
    except (TypeError, ValueError, AttributeError, KeyError):  # a hand-edited or foreign file
        return ["- machine metadata unreadable in the file"]


def _machine_lines_of(results: Results) -> list[str]:
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


def _markdown(results: Results, figures: dict[str, str], sources: Sequence[str], baseline: str,
              left_out: dict[str, str] | None = None) -> str:
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
        out.append(f"| {r['op']} | {r['label']} | {r['backend']} | {_fmt_time(r['median_s'])} | "
                   f"{_x(r['vs_python'])} | {_x(r['vs_numpy'])} | {r['gbps']:.2f} | {pct} |")
    out += ["", "Bytes are the minimum traffic of one call (each input read once, each output written once), "
            "so % of bandwidth above 100 means the working set sits in cache.", ""]
    train = training_table(results)
    if train:
        out += ["## Training: what vectorization buys at each batch size", "", *train, ""]

    out += ["## Figures", ""]
    captions = {
        "time_vs_size": "Time per call vs problem size (line: median; band: min to max sample).",
        f"speedup_vs_{baseline}": f"Speedup over `{baseline}` vs problem size; the dashed line is 1x.",
        "speedup_vs_numpy": "Speedup over `numpy` vs problem size; the dashed line is 1x.",
        "bandwidth": "Achieved GB/s vs working set; black: measured STREAM bandwidth; dotted/dash-dot/dashed: L1/L2/L3 sizes.",
        "heatmap": "Geometric-mean speedup over numpy across sizes, per op and backend.",
        "compile_time": "Numba compile (or cache-load) time of the first call, timed apart from every sample.",
        "train_epoch": "Time per training epoch vs batch size.",
        "train_cost": "Cost per epoch for batch, mini-batch and stochastic gradient descent.",
    }
    for name, path in figures.items():
        out += [f"### {captions.get(name, name)}", "", f"![{name}]({path})", ""]
    if left_out:
        out += ["Figures left out (nothing to draw):", ""]
        out += [f"- `{name}`: {why}" for name, why in left_out.items()]
        out.append("")

    bad = [r for r in results if not r.ok]
    if bad:
        out += ["## Failures and skips", "", "| op | backend | size | dtype | status | reason |", "|---|---|---|---|---|---|"]
        out += [f"| {r.op} | {r.backend} | {r.label} | {r.dtype} | {r.status} | {r.reason} |" for r in bad]
        out.append("")
    out += ["## Reproduce", "", "```", "pip install -e . && vecbench report --run    # measure, then write reports/",
            "vecbench report results/*.json -o reports/  # redraw from saved files", "```", ""]
    return "\n".join(out)


def _figures(results: Results, baseline: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Which figures can be drawn (name -> drawing function) and why the others are left out."""
    from . import plotting

    todo: dict[str, Any] = {}
    left_out: dict[str, str] = {}
    curves = any(r.ok and "batch" not in r.size for r in results)
    why = "no successful measurement (other than batch-size sweeps) to draw"
    for name, draw in (("time_vs_size", plotting.fig_time), ("bandwidth", plotting.fig_bandwidth)):
        if curves:
            todo[name] = lambda draw=draw: draw(results)
        else:
            left_out[name] = why
    for base in dict.fromkeys([baseline, "numpy"]):
        name = f"speedup_vs_{base}"
        if plotting.speedups(results, base):
            todo[name] = lambda base=base: plotting.fig_speedup(results, base)
        else:
            left_out[name] = f"no size where `{base}` and another backend both succeeded"
    if any(r.ok for r in results):
        todo["heatmap"] = lambda: plotting.fig_heatmap(results)
    else:
        left_out["heatmap"] = "no successful measurement"
    if any(r.compile_time_s is not None for r in results):
        todo["compile_time"] = lambda: plotting.fig_compile(results)
    return todo, left_out


def write_report(results: Results, folder: str | Path = "reports", baseline: str = "python",
                 sources: Sequence[str] = ()) -> list[Path]:
    """Draw every figure that can be drawn and write ``folder/README.md``; return the files written.

    Everything is written to a temporary folder next to ``folder`` first and
    moved into place only when all of it succeeded, so a failure never leaves
    half a report (nor touches an earlier one).
    """
    from . import plotting

    folder = Path(folder)
    parent = folder.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent))
    try:
        names: list[str] = []
        figures: dict[str, str] = {}
        todo, left_out = _figures(results, baseline)
        try:
            todo.update(plotting.training_figures(results))
        except (TypeError, ValueError, KeyError, AttributeError, IndexError):  # hand-edited histories
            left_out["train_cost"] = "the training histories in the file are unreadable"
        for name, draw in todo.items():
            fig = draw() if callable(draw) else draw
            names += [p.name for p in plotting.save(fig, tmp, name)]
            figures[name] = f"{name}.png"
        (tmp / "README.md").write_text(_markdown(results, figures, sources, baseline, left_out))
        names.append("README.md")
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


def _expand(patterns: Sequence[str]) -> list[str]:
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


def report_main(args: argparse.Namespace, console: Any) -> int:
    """``vecbench report``: optionally run the default sweep, then write the report."""
    folder = Path(args.output)
    check_output_folder(folder)
    files = _expand(args.files)
    if not files and not args.run:
        raise ValueError("give results files (vecbench or pytest-benchmark JSON) or --run")
    loaded = [load(f) for f in files]  # every file checked before any work
    status = 0
    if args.run:
        from .harness import run

        from .training import convergence_histories

        results = run(sizes="default", progress=True)
        console.print("training BGD, MBGD and SGD for the convergence figure")
        results.training["histories"] = convergence_histories()
        path = results.save(folder / "results.json")
        console.print(f"wrote {path}")
        files, loaded = [str(path), *files], [results, *loaded]
        status = 1 if results.failures else (130 if results.interrupted else 0)
    results = Results.merge(loaded)
    if not results.records:
        raise ValueError(f"no vecbench measurements in {', '.join(files)}")
    written = write_report(results, folder, args.baseline, [_relative(f, folder) for f in files])
    for p in written:
        console.print(f"wrote {p}")
    for r in results:
        if not r.ok:
            color = "red" if r.status == "failed" else "yellow"
            console.print(f"[{color}]{r.status}[/{color}] {r.op} {r.backend} {r.label} {r.dtype}: {r.reason}")
    return status


def _relative(path: str, folder: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return path
