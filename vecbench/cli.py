"""The ``vecbench`` command line: thin wrappers around the library.

::

    vecbench list                      ops, backends, default sizes
    vecbench info                      machine, BLAS/threads, measured bandwidth
    vecbench run [--quick] [...]       measure; write a results JSON
    vecbench compare BASE NEW          per-kernel verdicts; exit 1 on a regression or a lost kernel
    vecbench report FILES -o reports/  figures + reports/README.md
    vecbench train ...                 train logistic regression, print the cost
    vecbench graph [--framework F]     the lecture's graph J = 3(a + bc): forward, backward, nudges
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
    from .registry import baseline
    from .results import baseline_medians, speedup

    vec = baseline("vectorized")
    for col in ("op", "size", "backend", "median", "95% CI", "IQR/med", f"vs {vec}", "GB/s", "% bw", "compile",
                "status"):
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


def _add_axis_options(p: argparse.ArgumentParser) -> None:
    """One option per extra size axis an op declares (``--batch-sizes`` for train_epoch)."""
    import vecbench as vb

    seen: set[str] = set()
    for op in vb.ops():
        for axis in vb.spec(op).axes:
            if axis.option not in seen:
                seen.add(axis.option)
                p.add_argument(f"--{axis.option}", dest=_dest(axis.option), help=f"{op}: {axis.help}")


# ---------------------------------------------------------------- graph
def _num(x: float) -> str:
    """A value of the lecture's graph as the slide writes it (33.003, not 33.003000000000004)."""
    return f"{round(x, 9):g}"


def cmd_graph(args: argparse.Namespace) -> int:
    from .graphs import lecture_graph

    try:
        g = lecture_graph(args.framework, h=args.h)
    except ImportError as exc:
        print(f"vecbench graph: error: {exc}", file=sys.stderr)
        return 2
    a, b, c = (_num(g.inputs[k]) for k in "abc")
    how = {"numpy": "chain rule by hand", "jax": "jax.grad of the traced graph (static)",
           "torch": "J.backward() on the graph recorded while it ran (dynamic)"}[g.framework]
    print(f"J = 3(a + bc) at a = {a}, b = {b}, c = {c}   [{g.framework}]")
    print(f"forward:   u = bc = {_num(g.u)}   v = a + u = {_num(g.v)}   J = 3v = {_num(g.J)}")
    print("backward:  " + "   ".join(f"dJ/d{k} = {_num(g.grads[k])}" for k in ("v", "u", "a", "b", "c"))
          + f"   ({how})")
    print(f"nudges (h = {_num(g.h)}): each input moved alone, the graph run forward again")
    print(f"  {'input':<6}{'from -> to':<16}{'u':>10}{'v':>10}{'J':>10}{'(J - 33)/h':>14}".replace("33", _num(g.J)))
    for n in g.nudges:
        print(f"  {n.name:<6}{_num(n.before) + ' -> ' + _num(n.after):<16}{_num(n.u):>10}{_num(n.v):>10}"
              f"{_num(n.J):>10}{round(n.slope, 6):>14g}")
    return 0


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
    p.add_argument("--baseline", help="backend the first speedup figure is measured against "
                   "(default: the loop backend, see 'vecbench list')")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("train", help="train logistic regression with batch, mini-batch or stochastic GD")
    _add_train_options(p)
    p.set_defaults(fn=cmd_train)

    p = sub.add_parser("graph", help="the lecture's computation graph J = 3(a + bc): forward, backward, nudge table")
    p.add_argument("--framework", choices=["numpy", "jax", "torch"], default="numpy",
                   help="numpy: chain rule by hand; jax: jax.grad (static graph); torch: backward() (dynamic graph)")
    p.add_argument("--h", type=float, default=1e-3, help="the nudge (default 0.001, the slide's)")
    p.set_defaults(fn=cmd_graph)
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
