"""The ``vecbench`` command line: thin wrappers around the library.

::

    vecbench list                      ops, backends, default sizes
    vecbench info                      machine, BLAS/threads, measured bandwidth
    vecbench run [--quick] [...]       measure; write a results JSON
    vecbench compare BASE NEW          per-kernel verdicts; exit 1 on a regression or a lost kernel
    vecbench report FILES -o reports/  figures + reports/README.md
    vecbench train ...                 train logistic regression, print the cost
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .results import format_time as _fmt_time

__all__ = ["main"]


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _console() -> Any:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # logs and CI: wide enough for the results table
        console = Console(width=140)
    return console


# ---------------------------------------------------------------- list / info
def cmd_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    import vecbench as vb

    table = Table(title="vecbench operations (X is (n_x, m): one example per column)")
    for col in ("op", "computes", "backends", "default sizes"):
        table.add_column(col)
    for op in vb.ops():
        s = vb.spec(op)
        names = [b if vb.BACKENDS[b].available else f"{b} (unavailable)" for b in vb.backends(op)]
        table.add_row(op, s.summary, ", ".join(names), ", ".join(s.label(z) for z in s.sizes["default"]))
    _console().print(table)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import json

    from .machine import machine_info

    info: dict[str, Any] = {"machine": machine_info()}
    if not args.no_bandwidth:
        from .bandwidth import measure_bandwidth

        info["bandwidth_gbps"] = {k: round(v, 2) for k, v in measure_bandwidth().items()}
    print(json.dumps(info, indent=2))
    return 0


# ---------------------------------------------------------------- run
def _settings(args: argparse.Namespace) -> Any:
    from .harness import Settings

    base = Settings.quick() if args.quick else Settings()
    return Settings(
        min_sample_s=args.min_time if args.min_time is not None else base.min_sample_s,
        repeats=args.repeats if args.repeats is not None else base.repeats,
        budget_s=args.budget if args.budget is not None else base.budget_s,
        seed=args.seed,
        ci_target=_ci_target(args.ci_target) if args.ci_target is not None else base.ci_target,
        max_samples=base.max_samples,
        wait_quiet_s=_wait_quiet(args.wait_quiet),
    )


def _ci_target(text: str) -> float:
    """``2%`` or ``0.02`` -> 0.02; 0 turns adaptive sampling off."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value < 1):
        raise ValueError(f"run: --ci-target takes a relative half-width such as 2% or 0.02 (0: off); got {text!r}")
    return value


def _wait_quiet(value: str | None) -> float:
    if value is None:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"run: --wait-quiet takes seconds to wait at most, such as 30; got {value!r}")
    return seconds


def _default_output() -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"vecbench-{stamp}.json"


def _results_table(results: Any, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for col in ("op", "size", "backend", "median", "95% CI", "IQR/med", "vs numpy", "GB/s", "% bw", "compile",
                "status"):
        table.add_column(col, justify="left" if col in ("op", "size", "backend", "status") else "right",
                         no_wrap=True)
    numpy_time = {(r.op, r.label, r.dtype): r.median_s for r in results if r.backend == "numpy" and r.ok}
    bw = results.bandwidth_gbps.get("best")
    for r in results:
        base = numpy_time.get((r.op, r.label, r.dtype))
        speed = f"{base / r.median_s:.2f}x" if base and r.median_s else "-"
        spread = f"{r.iqr_s / r.median_s:.0%}" if r.median_s else "-"
        pct = f"{100 * r.gbps / bw:.0f}%" if bw and r.gbps else "-"
        size = r.label if r.dtype == "float64" else f"{r.label} {r.dtype}"
        ci = (f"±{max(r.median_s - r.ci_low_s, r.ci_high_s - r.median_s) / r.median_s:.1%}"
              if r.median_s and r.ci_low_s is not None and r.ci_high_s is not None else "-")
        status = r.status + (" contended" if r.ok and r.is_contended else "")
        table.add_row(r.op, size, r.backend, _fmt_time(r.median_s), ci, spread, speed,
                      f"{r.gbps:.1f}" if r.gbps else "-", pct,
                      _fmt_time(r.compile_time_s) if r.compile_time_s else "-", status)
    return table


def _print_reasons(results: Any, console: Any) -> None:
    """Skips and failures with their reasons, below the table."""
    for r in results:
        if not r.ok:
            color = "red" if r.status == "failed" else "yellow"
            console.print(f"[{color}]{r.status}[/{color}] {r.op} {r.backend} {r.label} {r.dtype}: {r.reason}")


def _print_contention(results: Any, console: Any) -> None:
    """How many records were timed while other processes were busy, or that it could not be measured."""
    from .contention import CONTENDED_ABOVE

    measured = [r for r in results if r.ok and r.contended is not None]
    contended = [r for r in measured if r.is_contended]
    if contended:
        worst = max(contended, key=lambda r: r.contention or 0.0)
        console.print(f"[yellow]{len(contended)} of {len(measured)} measurement(s) contended (other processes used "
                      f"more than {CONTENDED_ABOVE:.0%} of the CPU while they were timed; worst {worst.op} "
                      f"{worst.backend} {worst.label}: {worst.contention or 0:.0%}, load average "
                      f"{worst.loadavg or 0:.2f}): compare treats them as inconclusive; rerun on a quiet machine "
                      "or with --wait-quiet[/yellow]")
    elif any(r.ok for r in results) and not measured:
        console.print("[yellow]contention could not be measured on this system (no /proc/stat, no psutil)[/yellow]")
    imprecise = [r for r in results if any(w.startswith("imprecise") for w in r.warnings)]
    if imprecise:
        console.print(f"[yellow]{len(imprecise)} measurement(s) did not reach the --ci-target within their time "
                      "budget (their interval is wider)[/yellow]")


def _finish_run(results: Any, out: Path, console: Any) -> int:
    results.save(out)
    console.print(_results_table(results, f"vecbench results ({out})"))
    _print_reasons(results, console)
    if results.bandwidth_gbps:
        console.print(f"measured memory bandwidth: {results.bandwidth_gbps['best']:.1f} GB/s (best of STREAM copy/triad)")
    noisy = [r for r in results if r.noisy]
    if noisy:
        console.print(f"[yellow]{len(noisy)} noisy measurement(s) (IQR > 10% of median): rerun on a quieter machine "
                      "or raise --repeats/--min-time[/yellow]")
    _print_contention(results, console)
    console.print(f"wrote {out}")
    if results.interrupted:
        console.print("[yellow]interrupted: the file holds what was measured so far[/yellow]")
        return 130
    if results.failures:
        console.print(f"[red]{len(results.failures)} measurement(s) failed (listed above)[/red]")
        return 1
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .harness import run

    if args.preset == "targets":
        from .targets import run_targets

        return run_targets(threads=args.threads, console=_console(), output=args.output)
    sizes: Any = args.sizes or ("quick" if args.quick else "default")
    if isinstance(sizes, str) and sizes not in ("quick", "default", "large"):
        sizes = _csv(sizes)
    ops = _csv(args.ops) if args.ops else None
    if args.batch_sizes:
        from .kernels.train import M_DEFAULT

        m = int(float(args.sizes)) if args.sizes and args.sizes.replace("e", "").isdigit() else M_DEFAULT
        batches = [m if b == "full" else int(float(b)) for b in _csv(args.batch_sizes)]
        ops = ops or ["train_epoch"]
        sizes = {"train_epoch": [{"n_x": 30, "m": m, "batch": b} for b in batches], "*": sizes}
    out = Path(args.output) if args.output else _default_output()
    console = _console()
    results = run(
        ops=ops,
        backends=_csv(args.backends) if args.backends else None,
        sizes=sizes,
        dtypes=_csv(args.dtype),
        threads=args.threads,
        settings=_settings(args),
        bandwidth=not args.no_bandwidth,
        progress=not args.no_progress,
    )
    return _finish_run(results, out, console)


# ---------------------------------------------------------------- compare
def _ci_cell(rec: Any) -> str:
    if rec is None or rec.median_s is None:
        return "-"
    if rec.ci_low_s is None or rec.ci_high_s is None or not rec.median_s:
        return _fmt_time(rec.median_s)
    half = max(rec.median_s - rec.ci_low_s, rec.ci_high_s - rec.median_s) / rec.median_s
    return f"{_fmt_time(rec.median_s)} ±{half:.0%}"


def cmd_compare(args: argparse.Namespace) -> int:
    from rich.table import Table

    from .compare import compare, flags, parse_fail_above, summary_line
    from .results import load

    fail_above, per_op = parse_fail_above(args.fail_above)
    c = compare(load(args.base), load(args.new), fail_above, per_op, strict=args.strict)
    colors = {"slower": "red", "failed": "red", "skipped": "red", "missing": "red", "faster": "green",
              "inconclusive": "yellow", "new": "cyan"}
    table = Table(title=f"{args.new} vs {args.base} (ratio = new / base median, 95% interval; "
                        "C = contended, N = noisy)")
    for col in ("op", "backend", "size", "base", "new", "ratio [95% CI]", "p", "verdict", "flags", "note"):
        table.add_column(col, no_wrap=col != "note")
    for row in c.rows:
        if row.verdict == "not compared" and not args.all:
            continue
        op, backend, label, dtype, _ = row.key
        ratio = f"{row.ratio:.3f} [{row.ratio_low:.3f}, {row.ratio_high:.3f}]" if row.ratio else "-"
        color = colors.get(row.verdict)
        shown = f"[{color}]{row.verdict}[/{color}]" if color else row.verdict
        mark = "/".join(x for x in (flags(row.base), flags(row.new)) if x)
        table.add_row(op, backend, f"{label} {dtype}", _ci_cell(row.base), _ci_cell(row.new), ratio,
                      f"{row.p:.2g}" if row.p is not None else "-", shown, mark, row.note)
    console = _console()
    console.print(table)
    for w in c.warnings:
        console.print(f"[yellow]warning: {w}[/yellow]")
    for row in c.by_verdict("failed", "skipped", "missing"):
        op, backend, label, dtype, _ = row.key
        console.print(f"[red]lost[/red] {op} {backend} {label} {dtype}: ok in the base, {row.verdict} now"
                      + (f" ({row.note})" if row.note else ""))
    contended = sum(1 for r in c.compared if r.new is not None and r.new.is_contended)
    if contended:
        console.print(f"[yellow]{contended} record(s) of the new file were timed on a contended machine "
                      "(other processes busy): their slowdowns are inconclusive; rerun on a quiet machine or "
                      "with --wait-quiet[/yellow]")
    console.print(summary_line(c))
    return c.exit_code


# ---------------------------------------------------------------- report / train
def cmd_report(args: argparse.Namespace) -> int:
    from .report import report_main

    return report_main(args, _console())


def cmd_train(args: argparse.Namespace) -> int:
    from .training import train_main

    return train_main(args, _console())


# ---------------------------------------------------------------- parser
def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ops", help="comma-separated ops (default: all; see 'vecbench list')")
    p.add_argument("--backends", help="comma-separated backends (default: all)")
    p.add_argument("--sizes",
                   help="quick, default, large, or numbers such as 1e3,1e5,1e7 (n for dot; m for logreg ops)")
    p.add_argument("--quick", action="store_true", help="small sweep of everything, well under a minute")
    p.add_argument("--dtype", default="float64", help="float64, float32 or both (comma-separated)")
    p.add_argument("--threads", type=int, help="BLAS and Numba threads (default: all cores)")
    p.add_argument("--repeats", type=int, help="samples per measurement at least (default 7; 3 with --quick); more until --ci-target")
    p.add_argument("--min-time", type=float, help="seconds one sample lasts at least (default 0.01)")
    p.add_argument("--budget", type=float,
                   help="seconds one measurement may take; sizes predicted to exceed it are skipped (default 5)")
    p.add_argument("--seed", type=int, default=0, help="input seed (default 0)")
    p.add_argument("--ci-target", help="sample until the median's 95%% interval is within this of the median, "
                   "or the budget is spent (default 2%%; 0: exactly --repeats samples)")
    p.add_argument("--wait-quiet", nargs="?", const="30", metavar="SECONDS",
                   help="before each kernel, wait up to SECONDS (default 30) for other processes to go quiet")
    p.add_argument("--no-bandwidth", action="store_true", help="skip the memory-bandwidth probe")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vecbench", description="What vectorization buys, measured honestly.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"vecbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="ops, backends and default sizes").set_defaults(fn=cmd_list)

    p = sub.add_parser("info", help="machine, BLAS and threads, measured memory bandwidth")
    p.add_argument("--no-bandwidth", action="store_true")
    p.set_defaults(fn=cmd_info)

    p = sub.add_parser("run", help="validate and time kernels over a size sweep")
    _add_run_options(p)
    p.add_argument("-o", "--output", help="results JSON (default results/vecbench-<time>.json)")
    p.add_argument("--preset", choices=["targets"], help="targets: the performance targets table, pass/short")
    p.add_argument("--batch-sizes", help="train_epoch batch sizes, e.g. 1,8,32,128,1024,full "
                   "(n_x=30; m from --sizes if one number, else 20000)")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("compare", help="compare two results files; exit 1 on a regression or a lost kernel")
    p.add_argument("base")
    p.add_argument("new")
    p.add_argument("--fail-above", action="append", metavar="RATIO|OP=RATIO",
                   help="ratio new/base median a slowdown must be able to reach to fail the gate (default 1.10); "
                        "per op: dot=1.05; repeatable or comma-separated")
    p.add_argument("--strict", action="store_true", help="inconclusive verdicts (noisy, contended) fail the gate too")
    p.add_argument("--all", action="store_true", help="also list kernels that were not ok in the base")
    p.set_defaults(fn=cmd_compare)

    p = sub.add_parser("report", help="figures and reports/README.md from results files")
    p.add_argument("files", nargs="*", help="vecbench or pytest-benchmark JSON files")
    p.add_argument("-o", "--output", default="reports", help="folder (default reports/)")
    p.add_argument("--run", action="store_true", help="run the default sweep first")
    p.add_argument("--baseline", default="python", help="backend speedups are measured against")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("train", help="train logistic regression with batch, mini-batch or stochastic GD")
    from .training import add_train_options

    add_train_options(p)
    p.set_defaults(fn=cmd_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vecbench`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"vecbench {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
