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
        names = [b if vb.backend(b).available else f"{b} (unavailable)" for b in vb.backends(op)]
        table.add_row(op, s.summary, ", ".join(names), ", ".join(s.label(z) for z in s.sizes["default"]))
    console = _console()
    console.print(table)
    for b in vb.iter_backends():
        if not b.available:
            console.print(f"[yellow]{b.name}[/yellow]: unavailable; {b.install_hint}")
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
    from .registry import baseline
    from .results import baseline_medians, speedup

    vec = baseline("vectorized")
    for col in ("op", "size", "backend", "median", "IQR/med", f"vs {vec}", "GB/s", "% bw", "compile", "status"):
        table.add_column(col, justify="left" if col in ("op", "size", "backend", "status") else "right",
                         no_wrap=True)
    base_times = baseline_medians(results, vec)
    bw = results.bandwidth_gbps.get("best")
    for r in results:
        sp = speedup(r, base_times)
        speed = f"{sp:.2f}x" if sp is not None else "-"
        spread = f"{r.timing.spread:.0%}" if r.timing else "-"
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
        return _run_targets(args.threads, args.output, _console())
    sizes: Any = args.sizes or ("quick" if args.quick else "default")
    if isinstance(sizes, str) and sizes not in ("quick", "default", "large"):
        sizes = [float(x) for x in _csv(sizes)]
    ops = _csv(args.ops) if args.ops else None
    by_op = _axis_sweeps(args)
    if by_op and ops is None:
        ops = list(by_op)
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
        sizes_by_op=by_op,
    )
    return _finish_run(results, out, console)


def _axis_sweeps(args: argparse.Namespace) -> dict[str, list[dict[str, int]]]:
    """Sweeps over the ops' extra axes (``--batch-sizes``), each op's axis declared in its spec.

    The rest of the size is the op's size for ``--sizes`` when that is one
    number (e.g. ``m``), else the axis's declared base size.
    """
    import vecbench as vb

    sweeps: dict[str, list[dict[str, int]]] = {}
    for op in vb.ops():
        spec = vb.spec(op)
        for axis in spec.axes:
            values = getattr(args, _dest(axis.option), None)
            if not values:
                continue
            base = dict(axis.base)
            one = _csv(args.sizes or "")
            if len(one) == 1 and one[0] not in ("quick", "default", "large"):
                base.update({k: v for k, v in spec.size_from(int(float(one[0]))).items() if k != axis.name})
            sweeps[op] = [{**base, axis.name: axis.parse(v, base)} for v in _csv(values)]
    return sweeps


def _dest(option: str) -> str:
    return option.replace("-", "_")


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


# ---------------------------------------------------------------- targets
def _run_targets(threads: int | None, output: str | None, console: Any) -> int:
    """``vecbench run --preset targets``: measure, print ratio vs target and pass/short; 1 if a kernel failed."""
    from rich.table import Table

    from . import targets

    results = targets.measure(threads)
    if output:
        results.save(output)
    rows = targets.evaluate(results)
    bw = results.bandwidth_gbps.get("best", 0.0)
    table = Table(title=f"Performance targets (float64, threads={threads or 'all'}; "
                        f"measured bandwidth {bw:.1f} GB/s, STREAM best of copy/triad)")
    for col in ("kernel", "size", targets.BASELINE, "best numba", "speedup", "target", "GB/s", "% bw", "target",
                "verdict"):
        table.add_column(col)
    for r in rows:
        t = r["target"]
        if "speedup" not in r:
            table.add_row(t.op, r["label"], "-", "-", "-", f">= {t.min_speedup}x", "-", "-", "-", r["note"])
            continue
        share = f"{100 * r['share']:.0f}%" if r["share"] is not None else "-"
        need_bw = f">= {100 * t.min_bandwidth:.0f}%" if t.min_bandwidth else ""
        table.add_row(t.op, r["label"], f"{r['numpy_s'] * 1e3:.3f} ms", f"{r['best']} {r['best_s'] * 1e3:.3f} ms",
                      f"{r['speedup']:.2f}x", f">= {t.min_speedup}x", f"{r['gbps']:.1f}", share, need_bw,
                      "[green]pass[/green]" if r["ok"] else f"[yellow]{r['note']}[/yellow]")
    for name, wall, limit in targets.quick_walls():
        verdict = "[green]pass[/green]" if wall <= limit else "[yellow]short[/yellow]"
        table.add_row(f"vecbench {name}", "-", "-", f"{wall:.1f} s wall", "-", f"<= {limit:.0f} s",
                      "", "", "", verdict)
    console.print(table)
    if output:
        console.print(f"wrote {output}")
    return 1 if results.failures else 0


# ---------------------------------------------------------------- report
def cmd_report(args: argparse.Namespace) -> int:
    """``vecbench report``: optionally run the default sweep and the training curves, then write the report."""
    from .report import expand, report_files

    console = _console()
    folder = Path(args.output)
    files = expand(args.files)
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
    results, written = report_files(files, folder, args.baseline)
    for p in written:
        console.print(f"wrote {p}")
    for r in results.failures:
        console.print(f"[red]failed[/red] {r.op} {r.backend} {r.label} {r.dtype}: {r.reason}")
    return status


# ---------------------------------------------------------------- train
def _batch_arg(text: str) -> int | str:
    return text if text == "full" else int(text)


def _add_train_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="numpy", help="a backend with a train_epoch kernel (see 'vecbench list')")
    p.add_argument("--batch-size", type=_batch_arg, default=32, help="1 (SGD), N (mini-batch) or full (BGD)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--data", choices=["synthetic", "breast-cancer"], default="synthetic")
    p.add_argument("--features", type=int, default=30, help="synthetic data: n_x")
    p.add_argument("-m", "--examples", type=int, default=100_000, help="synthetic data: m")
    p.add_argument("--seed", type=int, default=0)


def cmd_train(args: argparse.Namespace) -> int:
    """``vecbench train``: fit and print the cost per epoch."""
    import numpy as np
    from rich.table import Table

    import vecbench as vb

    from .datasets import breast_cancer, make_classification
    from .training import train

    if args.data == "breast-cancer":
        X, y = breast_cancer("mean")
        X = vb.kernel("standardize", vb.registry.baseline("vectorized"))(X)
    else:
        X, y = make_classification(args.features, args.examples, seed=args.seed)
    model = train(X, y, batch_size=args.batch_size, epochs=args.epochs, lr=args.lr, backend=args.backend,
                  seed=args.seed)
    table = Table(title=f"{args.data} data, n_x={X.shape[0]}, m={X.shape[1]}: backend {args.backend}, "
                        f"batch {model.batch_size}, lr {args.lr}")
    for col in ("epoch", "cost J", "epoch time"):
        table.add_column(col, justify="right")
    table.add_row("0", f"{model.history[0]:.6f}", "-")
    for i, (c, t) in enumerate(zip(model.history[1:], model.epoch_times_s), 1):
        table.add_row(str(i), f"{c:.6f}", f"{t * 1e3:.2f} ms")
    console = _console()
    console.print(table)
    console.print(f"training accuracy {model.accuracy(X, y):.4f}; |w| = {np.linalg.norm(model.w):.4g}, b = {model.b:.4g}")
    return 0


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


def _add_axis_options(p: argparse.ArgumentParser) -> None:
    """One option per extra size axis an op declares (``--batch-sizes`` for train_epoch)."""
    import vecbench as vb

    seen: set[str] = set()
    for op in vb.ops():
        for axis in vb.spec(op).axes:
            if axis.option not in seen:
                seen.add(axis.option)
                p.add_argument(f"--{axis.option}", dest=_dest(axis.option), help=f"{op}: {axis.help}")


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
    _add_axis_options(p)
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
    p.add_argument("--baseline", help="backend the first speedup figure is measured against "
                   "(default: the loop backend, see 'vecbench list')")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("train", help="train logistic regression with batch, mini-batch or stochastic GD")
    _add_train_options(p)
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
