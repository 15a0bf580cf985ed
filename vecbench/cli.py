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
import contextlib
import datetime as _dt
import math
import re
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .results import format_time as _fmt_time

__all__ = ["build_parser", "main"]

PRESETS = ("quick", "default", "large")


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _console() -> Any:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # logs and CI: wide enough for the results table
        console = Console(width=140)
    return console


# ---------------------------------------------------------------- option types
# Each parses one option's text or raises ArgumentTypeError with "what is allowed; got 'X'";
# the parser turns that into "vecbench <cmd>: error: --option: ..." and exit 2, before any work.
class _UsageError(Exception):
    """A bad command line: one line for the user, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # type: ignore[override]
        # "argument -o/--output: ..." -> "--output: ..."
        message = re.sub(r"^argument (?:\S+/)?(\S+): ", r"\1: ", message)
        raise _UsageError(f"{self.prog}: error: {message}")


def _bad(what: str, text: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{what}; got {text!r}")


def whole(lo: int, hi: int | Callable[[], int] | None = None, unit: str = "") -> Callable[[str], int]:
    """Type: a whole number in ``[lo, hi]`` (``1e3`` allowed)."""
    def parse(text: str) -> int:
        top = hi() if callable(hi) else hi
        span = f"from {lo} to {top}" if top is not None else f">= {lo}"
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        if not (math.isfinite(x) and x == int(x) and x >= lo and (top is None or x <= top)):
            raise _bad(f"a whole number {span}{unit}", text)
        return int(x)
    return parse


def positive(hi: float | None = None, unit: str = " seconds") -> Callable[[str], float]:
    """Type: a finite number > 0 (and <= ``hi``)."""
    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        if not (math.isfinite(x) and x > 0 and (hi is None or x <= hi)):
            raise _bad(f"a number > 0{f' and <= {hi:g}' if hi else ''}{unit}", text)
        return x
    return parse


def names(known: Callable[[], Sequence[str]], aliases: dict[str, list[str]] | None = None
          ) -> Callable[[str], list[str]]:
    """Type: a comma-separated, non-empty list of known names."""
    def parse(text: str) -> list[str]:
        allowed = list(known())
        items = _csv(text)
        bad = [i for i in items if i not in allowed and i not in (aliases or {})]
        if not items or bad:
            shown = ", ".join([*allowed, *(aliases or {})])
            raise _bad(f"one or more of {shown} (comma-separated)", text)
        out: list[str] = []
        for i in items:
            out += (aliases or {}).get(i, [i])
        return list(dict.fromkeys(out))
    return parse


def sizes_arg(text: str) -> str | list[str]:
    """Type: a preset name or comma-separated whole numbers >= 1 (``1e3,1e5``)."""
    if text.strip() in PRESETS:
        return text.strip()
    items = _csv(text)
    try:
        for i in items:
            whole(1)(i)
    except argparse.ArgumentTypeError:
        items = []
    if not items:
        raise _bad(f"{', '.join(PRESETS)}, or whole numbers >= 1 such as 1e3,1e5 (comma-separated)", text)
    return items


def batches_arg(text: str) -> list[int | str]:
    """Type: comma-separated batch sizes, whole numbers >= 1 or ``full``."""
    items = _csv(text)
    out: list[int | str] = []
    for i in items:
        try:
            out.append(i if i == "full" else whole(1)(i))
        except argparse.ArgumentTypeError:
            out = []
            break
    if not out:
        raise _bad("whole numbers >= 1 or full (comma-separated), e.g. 1,32,full", text)
    return out


def _ops() -> list[str]:
    import vecbench as vb

    return vb.ops()


def _backends() -> list[str]:
    import vecbench as vb

    return vb.backends()


def _cores() -> int:
    from .machine import cpu_count

    return cpu_count()


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
# Options that define what a run measures: with --resume, they come from the journal.
RUN_OPTIONS = ("ops", "backends", "sizes", "quick", "dtype", "threads", "repeats", "min_time", "budget", "seed",
               "no_bandwidth", "batch_sizes")


def _settings(args: argparse.Namespace) -> Any:
    from .harness import Settings

    base = Settings.quick() if args.quick else Settings()
    return Settings(
        min_sample_s=args.min_time if args.min_time is not None else base.min_sample_s,
        repeats=args.repeats if args.repeats is not None else base.repeats,
        budget_s=args.budget if args.budget is not None else base.budget_s,
        seed=args.seed if args.seed is not None else base.seed,
    )


def _default_output() -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"vecbench-{stamp}.json"


def _run_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """What ``harness.run`` measures, from the command line; ``ValueError`` for combinations."""
    from .registry import kernels

    sizes: Any = args.sizes or ("quick" if args.quick else "default")
    ops = args.ops
    if args.batch_sizes:
        from .kernels.train import M_DEFAULT

        one = isinstance(sizes, list) and len(sizes) == 1
        m = int(float(sizes[0])) if one else M_DEFAULT
        where = "from --sizes" if one else "the default; set it with one number in --sizes"
        too_big = [b for b in args.batch_sizes if b != "full" and b > m]
        if too_big:
            raise ValueError(f"--batch-sizes: each must be from 1 to m = {m} ({where}) or full; got {too_big[0]}")
        if ops is not None and "train_epoch" not in ops:
            raise ValueError(f"--batch-sizes: sweeps train_epoch, so --ops must include it; got {','.join(ops)}")
        ops = ops or ["train_epoch"]
        batches = list(dict.fromkeys(m if b == "full" else int(b) for b in args.batch_sizes))
        sizes = {"train_epoch": [{"n_x": 30, "m": m, "batch": b} for b in batches], "*": sizes}
    if not kernels(ops, args.backends):
        raise ValueError(f"--backends: none of {args.backends} has a kernel for ops {ops}; see 'vecbench list'")
    return {"ops": ops, "backends": args.backends, "sizes": sizes, "dtypes": args.dtype or ["float64"],
            "threads": args.threads, "settings": _settings(args), "bandwidth": not args.no_bandwidth}


def _resume_kwargs(request: dict[str, Any]) -> dict[str, Any]:
    """``harness.run`` arguments stored in a journal's header."""
    import dataclasses

    from .harness import Settings

    known = {f.name for f in dataclasses.fields(Settings)}
    kwargs = dict(request)
    kwargs["settings"] = Settings(**{k: v for k, v in request["settings"].items() if k in known})
    return kwargs


def _prepare_output(args: argparse.Namespace) -> tuple[Path, Any]:
    """The results path and its journal (new, or loaded with --resume); every check before any work."""
    from .journal import JOURNAL_SUFFIX, Journal, journal_path
    from .results import check_writable

    if args.resume:
        given = str(args.resume)
        out = Path(given.removesuffix(JOURNAL_SUFFIX))
        if args.output and Path(args.output) != out:
            raise ValueError(f"--output: with --resume the results go to {out}; got {args.output!r}")
        journal = Journal.load(journal_path(out))
    else:
        out = Path(args.output) if args.output else _default_output()
        journal = Journal(journal_path(out))
        if journal.path.exists():
            raise ValueError(f"--output: {journal.path} holds the measurements of an interrupted run; continue it "
                             f"with 'vecbench run --resume {out}', or delete that file")
    try:
        check_writable(out)
        check_writable(journal.path)
    except ValueError as exc:
        raise ValueError(f"--output: {exc}") from None
    return out, journal


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C until the block is done (the final save is never cut in half)."""
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    except (AttributeError, ValueError):  # not the main thread, not POSIX
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


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
        spread = f"{r.iqr_s / r.median_s:.0%}" if r.median_s and r.iqr_s is not None else "-"
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
            console.print(f"[{color}]{r.status}[/{color}] {r.op} {r.backend} {r.label} {r.dtype}: {r.reason}",
                          markup=True, highlight=False)


def _finish_run(results: Any, out: Path, console: Any, journal: Any) -> int:
    if results.interrupted and not journal.records:
        journal.remove()
        console.print(f"[yellow]interrupted before anything was measured: nothing written ({out} untouched)"
                      "[/yellow]")
        return 130
    with _sigint_deferred():
        try:
            results.save(out)
        except (OSError, ValueError) as exc:
            journal.close()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            print(f"vecbench run: error: could not write {out}: {reason}; the {len(journal.records)} "
                  f"measurement(s) are safe in {journal.path}: fix the problem, then 'vecbench run --resume {out}' "
                  "writes the file", file=sys.stderr)
            return 1
        if results.interrupted:
            journal.close()  # kept: --resume measures the rest
        else:
            journal.remove()
    console.print(_results_table(results, f"vecbench results ({out})"))
    _print_reasons(results, console)
    if results.bandwidth_gbps.get("best"):
        console.print(f"measured memory bandwidth: {results.bandwidth_gbps['best']:.1f} GB/s (best of STREAM copy/triad)")
    noisy = [r for r in results if any(w.startswith("noisy") for w in r.warnings)]
    if noisy:
        console.print(f"[yellow]{len(noisy)} noisy measurement(s) (IQR > 10% of median): rerun on a quieter machine "
                      "or raise --repeats/--min-time[/yellow]")
    console.print(f"wrote {out}")
    if results.interrupted:
        console.print(f"[yellow]interrupted: the file holds what was measured so far; 'vecbench run --resume {out}' "
                      "measures the rest[/yellow]")
        return 130
    if results.failures:
        console.print(f"[red]{len(results.failures)} measurement(s) failed (listed above)[/red]")
        return 1
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .harness import run

    if args.preset == "targets":
        if args.output:
            from .results import check_writable

            check_writable(args.output)
        from .targets import run_targets

        return run_targets(threads=args.threads, console=_console(), output=args.output)
    out, journal = _prepare_output(args)
    given = [o for o in RUN_OPTIONS if getattr(args, o) not in (None, False)]
    kwargs = _resume_kwargs(journal.request) if args.resume and not given else _run_kwargs(args)
    console = _console()
    try:
        results = run(**kwargs, progress=not args.no_progress, timeout=args.timeout, journal=journal)
    except KeyboardInterrupt:  # a second Ctrl-C while the first was handled
        journal.close()
        if not journal.records:
            journal.remove()
        print(f"vecbench run: interrupted; {len(journal.records)} measurement(s) kept in {journal.path}"
              + (f": 'vecbench run --resume {out}' continues" if journal.records else ""), file=sys.stderr)
        return 130
    except BaseException:
        journal.close()
        if not args.resume and not journal.records:
            with contextlib.suppress(OSError):
                journal.path.unlink(missing_ok=True)
        raise
    return _finish_run(results, out, console, journal)


# ---------------------------------------------------------------- compare
def _unusable(res: Any) -> list[Any]:
    return [r for r in res if r.status == "failed" and r.reason.startswith("unusable measurement in the file")]


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
    # NaN, zero or missing medians never pass: load() marked them failed, with the reason.
    unusable = [(args.base, r) for r in _unusable(base)] + [(args.new, r) for r in _unusable(new)]
    for file, r in unusable:
        console.print(f"[red]not comparable[/red] {file}: {r.op} {r.backend} {r.label} {r.dtype}: {r.reason}",
                      highlight=False)
    if matched == 0:
        console.print("[red]no measurements in common: nothing compared[/red]")
        return 2
    console.print(f"{matched} compared, worst ratio {worst:.3f}, {regressions} above {args.fail_above}")
    return 1 if regressions or unusable else 0


# ---------------------------------------------------------------- report / train
def cmd_report(args: argparse.Namespace) -> int:
    from .report import report_main

    return report_main(args, _console())


def cmd_train(args: argparse.Namespace) -> int:
    from .training import train_main

    return train_main(args, _console())


# ---------------------------------------------------------------- parser
def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ops", type=names(_ops), metavar="OPS",
                   help="comma-separated ops (default: all; see 'vecbench list')")
    p.add_argument("--backends", type=names(_backends), metavar="BACKENDS",
                   help=f"comma-separated backends (default: all; choices: {', '.join(_backends())})")
    p.add_argument("--sizes", type=sizes_arg, metavar="SIZES",
                   help="quick, default, large, or whole numbers such as 1e3,1e5,1e7 (n for dot; m for logreg ops) "
                        "(default: default; quick with --quick)")
    p.add_argument("--quick", action="store_true", help="small sweep of everything, well under a minute")
    p.add_argument("--dtype", type=names(lambda: ["float64", "float32"], {"both": ["float64", "float32"]}),
                   metavar="DTYPES", help="float64, float32 or both (comma-separated) (default: float64)")
    p.add_argument("--threads", type=whole(1, _cores), metavar="N",
                   help=f"BLAS and Numba threads, 1 to {_cores()} (default: all cores)")
    p.add_argument("--repeats", type=whole(1, 100_000), metavar="N",
                   help="samples per measurement (default: 7; 3 with --quick)")
    p.add_argument("--min-time", type=positive(60.0), metavar="SECONDS",
                   help="seconds one sample lasts at least (default: 0.01; 0.005 with --quick)")
    p.add_argument("--budget", type=positive(), metavar="SECONDS",
                   help="seconds one measurement may take; sizes predicted to exceed it are skipped "
                        "(default: 5; 0.5 with --quick)")
    p.add_argument("--seed", type=whole(0, 2**63 - 1), metavar="N", help="input seed (default: 0)")
    p.add_argument("--no-bandwidth", action="store_true", help="skip the memory-bandwidth probe")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="vecbench", description="What vectorization buys, measured honestly.")
    parser.add_argument("--version", action="version", version=f"vecbench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an internal error")
    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{list,info,run,compare,report,train}")

    sub.add_parser("list", parents=[common], help="ops, backends and default sizes").set_defaults(fn=cmd_list)

    p = sub.add_parser("info", parents=[common], help="machine, BLAS and threads, measured memory bandwidth")
    p.add_argument("--no-bandwidth", action="store_true", help="skip the memory-bandwidth probe")
    p.set_defaults(fn=cmd_info)

    p = sub.add_parser("run", parents=[common], help="validate and time kernels over a size sweep")
    _add_run_options(p)
    p.add_argument("-o", "--output", metavar="FILE",
                   help="results JSON, a regular file (default: results/vecbench-<time>.json); "
                        "measurements are journaled to FILE.journal.jsonl as they finish")
    p.add_argument("--resume", metavar="FILE",
                   help="continue the interrupted run whose results file (or journal) is FILE, measuring only "
                        "what is missing, with the same settings")
    p.add_argument("--timeout", type=positive(), metavar="SECONDS",
                   help="seconds one kernel's measurement may take before it is stopped and recorded failed "
                        "(default: 60 + 4 x --budget)")
    p.add_argument("--preset", choices=["targets"], help="targets: the performance targets table, pass/short "
                   "(choices: targets; default: none)")
    p.add_argument("--batch-sizes", type=batches_arg, metavar="BATCHES",
                   help="train_epoch batch sizes, e.g. 1,8,32,128,1024,full (n_x=30; m from --sizes if one "
                        "number, else 20000)")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("compare", parents=[common], help="compare two results files; exit 1 on a regression")
    p.add_argument("base", help="results file (vecbench or pytest-benchmark JSON)")
    p.add_argument("new", help="results file (vecbench or pytest-benchmark JSON)")
    p.add_argument("--fail-above", type=positive(unit=""), default=1.10, metavar="RATIO",
                   help="ratio new/base counted as a regression, a number > 0 (default: 1.1)")
    p.add_argument("--metric", choices=["median", "min"], default="median",
                   help="statistic compared (choices: median, min; default: median)")
    p.set_defaults(fn=cmd_compare)

    p = sub.add_parser("report", parents=[common], help="figures and reports/README.md from results files")
    p.add_argument("files", nargs="*", help="vecbench or pytest-benchmark JSON files (glob patterns allowed)")
    p.add_argument("-o", "--output", default="reports", metavar="FOLDER", help="folder (default: reports)")
    p.add_argument("--run", action="store_true", help="run the default sweep first")
    p.add_argument("--baseline", type=names(_backends), default=["python"], metavar="BACKEND",
                   help=f"backend speedups are measured against (default: python; choices: {', '.join(_backends())})")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("train", parents=[common], help="train logistic regression with batch, mini-batch or "
                       "stochastic GD")
    from .training import add_train_options

    add_train_options(p)
    p.set_defaults(fn=cmd_train)
    return parser


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if args.command == "report":
        if len(args.baseline) != 1:
            raise _UsageError(f"vecbench report: error: --baseline: one backend; got {','.join(args.baseline)!r}")
        args.baseline = args.baseline[0]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vecbench`` command: every error is one line, never a traceback.

    Exit codes: 0 done, 1 a measurement failed or a regression (or an
    internal error), 2 a bad option or input file, 130 interrupted.
    """
    raw = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in raw
    command = "vecbench"
    try:
        try:
            args = _parse(raw)
        except SystemExit as exc:  # --help, --version
            return exc.code if isinstance(exc.code, int) else 0
        command = f"vecbench {args.command}"
        return int(args.fn(args) or 0)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if argv is None:  # the console script: a further Ctrl-C while exiting must not end in a traceback
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except (KeyError, ValueError, FileNotFoundError, ImportError) as exc:
        if debug:
            traceback.print_exc()
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"{command}: error: {msg}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001  a bug, still one line (the traceback with --debug)
        if debug:
            traceback.print_exc()
        print(f"{command}: error: {type(exc).__name__}: {exc} (an internal error; rerun with --debug to see where)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
