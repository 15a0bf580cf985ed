"""The ``vecbench`` command line: thin wrappers around the library.

::

    vecbench list                      ops, backends, default sizes
    vecbench info                      machine, BLAS/threads, measured bandwidth
    vecbench run [--quick] [...]       measure; write a results JSON
    vecbench compare BASE NEW          ratios; exit 1 on a regression
    vecbench report FILES -o reports/  figures + reports/README.md
    vecbench train ...                 train logistic regression, print the cost
"""

from __future__ import annotations

import argparse
import datetime as _dt
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
    )


def _default_output() -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"vecbench-{stamp}.json"


def _results_table(results: Any, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for col in ("op", "size", "backend", "median", "IQR/med", "vs numpy", "GB/s", "% bw", "compile", "status"):
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
        table.add_row(r.op, size, r.backend, _fmt_time(r.median_s), spread, speed,
                      f"{r.gbps:.1f}" if r.gbps else "-", pct,
                      _fmt_time(r.compile_time_s) if r.compile_time_s else "-", r.status)
    return table


def _print_reasons(results: Any, console: Any) -> None:
    """Skips and failures with their reasons, below the table."""
    for r in results:
        if not r.ok:
            color = "red" if r.status == "failed" else "yellow"
            console.print(f"[{color}]{r.status}[/{color}] {r.op} {r.backend} {r.label} {r.dtype}: {r.reason}")


def _finish_run(results: Any, out: Path, console: Any) -> int:
    results.save(out)
    console.print(_results_table(results, f"vecbench results ({out})"))
    _print_reasons(results, console)
    if results.bandwidth_gbps:
        console.print(f"measured memory bandwidth: {results.bandwidth_gbps['best']:.1f} GB/s (best of STREAM copy/triad)")
    noisy = [r for r in results if any(w.startswith("noisy") for w in r.warnings)]
    if noisy:
        console.print(f"[yellow]{len(noisy)} noisy measurement(s) (IQR > 10% of median): rerun on a quieter machine "
                      "or raise --repeats/--min-time[/yellow]")
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
def cmd_compare(args: argparse.Namespace) -> int:
    from rich.table import Table

    from .results import load

    base, new = load(args.base), load(args.new)
    metric = f"{args.metric}_s"
    base_by_key = {r.key: r for r in base if r.ok}
    table = Table(title=f"{args.new} vs {args.base} ({args.metric} time, ratio = new / base)")
    for col in ("op", "backend", "size", "base", "new", "ratio", ""):
        table.add_column(col)
    worst, regressions, matched = 0.0, 0, 0
    for r in new:
        b = base_by_key.get(r.key)
        if not (r.ok and b):
            continue
        matched += 1
        ratio = getattr(r, metric) / getattr(b, metric)
        worst = max(worst, ratio)
        bad = ratio > args.fail_above
        regressions += bad
        verdict = "[red]REGRESSION[/red]" if bad else ("faster" if ratio < 1 / args.fail_above else "")
        table.add_row(r.op, r.backend, f"{r.label} {r.dtype}", _fmt_time(getattr(b, metric)),
                      _fmt_time(getattr(r, metric)), f"{ratio:.3f}", verdict)
    console = _console()
    console.print(table)
    if matched == 0:
        console.print("[red]no measurements in common: nothing compared[/red]")
        return 2
    console.print(f"{matched} compared, worst ratio {worst:.3f}, {regressions} above {args.fail_above}")
    return 1 if regressions else 0


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
    p.add_argument("--repeats", type=int, help="samples per measurement (default 7; 3 with --quick)")
    p.add_argument("--min-time", type=float, help="seconds one sample lasts at least (default 0.01)")
    p.add_argument("--budget", type=float,
                   help="seconds one measurement may take; sizes predicted to exceed it are skipped (default 5)")
    p.add_argument("--seed", type=int, default=0, help="input seed (default 0)")
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

    p = sub.add_parser("compare", help="compare two results files; exit 1 on a regression")
    p.add_argument("base")
    p.add_argument("new")
    p.add_argument("--fail-above", type=float, default=1.10, help="ratio new/base counted as a regression")
    p.add_argument("--metric", choices=["median", "min"], default="median")
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
