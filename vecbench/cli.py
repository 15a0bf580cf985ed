"""The ``vecbench`` command line: thin wrappers around the library.

::

    vecbench list                      ops, backends, default sizes
    vecbench info                      machine, BLAS/threads, measured bandwidth
    vecbench run [--quick] [...]       measure; write a results JSON
    vecbench run --from mykernels.py   measure your own computations (@vecbench.bench in that file)
    vecbench compare BASE NEW          ratios; exit 1 on a regression
    vecbench report FILES -o DIR       figures, DIR/README.md and DIR/report.html (default DIR: vecbench-report)
    vecbench train ...                 train logistic regression, print the cost
    vecbench graph [--framework F]     the lecture's graph J = 3(a + bc): forward, backward, nudges
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

from .results import format_time
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
    def error(self, message: str) -> Any:
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
        names = [b if vb.backend(b).available else f"{b} (unavailable)" for b in vb.backends(op)]
        table.add_row(op, s.summary, ", ".join(names), ", ".join(s.label(z) for z in s.sizes["default"]))
    console = _console()
    console.print(table)
    for b in vb.iter_backends():
        if not b.available:
            console.print(f"[yellow]{_esc(b.name)}[/yellow]: unavailable; {_esc(b.install_hint)}", highlight=False)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """``vecbench info``: the machine, each backend and the measured bandwidth as tables (``--json``: JSON)."""
    import json

    from .machine import machine_info

    info: dict[str, Any] = {"machine": machine_info()}
    if not args.no_bandwidth:
        from .bandwidth import measure_bandwidth

        info["bandwidth_gbps"] = {k: round(v, 4) for k, v in measure_bandwidth().items()}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    console = _console()
    for table in _info_tables(info):
        console.print(table)
    return 0


def _info_tables(info: dict[str, Any]) -> list[Any]:
    """``vecbench info`` for a person: the machine, one row per backend, the bandwidth probe."""
    from rich.table import Table

    m = dict(info.get("machine") or {})
    backends = m.pop("backends", {}) or {}
    machine = Table(title="machine", show_header=False)
    machine.add_column("what", style="bold")
    machine.add_column("value")
    for k, v in m.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}: {_human_bytes(b) if k == 'caches' else b}" for a, b in v.items()) or "-"
        machine.add_row(_esc(k.replace("_", " ")), _esc(_fact(v)))
    tables = [machine]
    table = Table(title="backends")
    for col in ("backend", "available", "details"):
        table.add_column(col)
    for name, facts in backends.items():
        facts = dict(facts) if isinstance(facts, dict) else {"details": facts}
        ok = facts.pop("available", None)
        hint = facts.pop("install", "")
        details = "; ".join(f"{k.replace('_', ' ')} {_fact(v)}" for k, v in facts.items()) or "-"
        table.add_row(_esc(name), "yes" if ok else "[red]no[/red]", _esc(hint if not ok and hint else details))
    tables.append(table)
    bw = info.get("bandwidth_gbps")
    if bw:
        from .bandwidth import describe, rates

        probe = Table(title="memory bandwidth (STREAM-style)")
        probe.add_column("kernel")
        probe.add_column("GB/s", justify="right")
        for k, v in rates(bw).items():
            probe.add_row(_esc(k), f"{v:.1f}")
        probe.add_row("[bold]best[/bold]", f"[bold]{bw.get('best', 0.0):.1f}[/bold]")
        probe.caption = _esc(describe(bw))
        tables.append(probe)
    return tables


def _fact(v: Any) -> str:
    """One value of the machine block on one readable line."""
    if isinstance(v, list):  # thread pools (BLAS, OpenMP) as threadpoolctl reports them
        return "; ".join(f"{b.get('internal_api', '?')} {b.get('version') or ''}, {b.get('num_threads', '?')} threads"
                         + (f", {b['architecture']} kernels" if b.get("architecture") else "")
                         if isinstance(b, dict) else str(b) for b in v) or "none"
    return " ".join(str(v).split())


def _human_bytes(v: Any) -> str:
    return f"{v / 1024:.0f} KiB" if isinstance(v, int) and v < 1 << 20 else (
        f"{v / (1 << 20):.0f} MiB" if isinstance(v, int) else str(v))


def _esc(text: str) -> str:
    """``text`` with rich markup escaped: ``pip install 'vecbench[jax]'`` prints as written."""
    from rich.markup import escape

    return escape(text)


# ---------------------------------------------------------------- run
# Options that define what a run measures: with --resume, they come from the journal.
RUN_OPTIONS = ("ops", "backends", "sizes", "quick", "dtype", "threads", "repeats", "min_time", "budget", "seed",
               "no_bandwidth", "ci_target", "wait_quiet", "no_remeasure")


def _settings(args: argparse.Namespace) -> Any:
    from .harness import Settings

    base = Settings.quick() if args.quick else Settings()
    return Settings(
        min_sample_s=args.min_time if args.min_time is not None else base.min_sample_s,
        repeats=args.repeats if args.repeats is not None else base.repeats,
        budget_s=args.budget if args.budget is not None else base.budget_s,
        seed=args.seed if args.seed is not None else base.seed,
        ci_target=args.ci_target if args.ci_target is not None else base.ci_target,
        max_samples=base.max_samples,
        wait_quiet_s=args.wait_quiet if args.wait_quiet is not None else 0.0,
        remeasure=0 if getattr(args, "no_remeasure", False) else base.remeasure,
        rounds=base.rounds,
    )


def _ci_target(text: str) -> float:
    """Type: ``2%`` or ``0.02`` -> 0.02; 0 turns adaptive sampling off."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value < 1):
        raise _bad("a relative half-width such as 2% or 0.02 (0: off)", text)
    return value


def _wait_quiet(text: str) -> float:
    """Type: seconds to wait at most for a quiet machine, >= 0."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 <= seconds <= 3600):
        raise _bad("seconds to wait at most, from 0 to 3600", text)
    return seconds


def _default_output() -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"vecbench-{stamp}.json"


def _run_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """What ``harness.run`` measures, from the command line; ``ValueError`` for combinations."""
    from .registry import kernels

    sizes: Any = args.sizes or ("quick" if args.quick else "default")
    if isinstance(sizes, list):
        sizes = [float(x) for x in sizes]
    ops = args.ops
    by_op = _axis_sweeps(args)
    if by_op:
        outside = [o for o in by_op if ops is not None and o not in ops]
        if outside:
            option = next(a.option for a in _spec(outside[0]).axes if getattr(args, _dest(a.option), None))
            raise ValueError(f"--{option}: sweeps {outside[0]}, so --ops must include it; got {','.join(ops or [])}")
        ops = ops or list(by_op)
    if not kernels(ops, args.backends):
        raise ValueError(f"--backends: none of {args.backends} has a kernel for ops {ops}; see 'vecbench list'")
    return {"ops": ops, "backends": args.backends, "sizes": sizes, "sizes_by_op": by_op or None,
            "dtypes": args.dtype or ["float64"], "threads": args.threads, "settings": _settings(args),
            "bandwidth": not args.no_bandwidth, **_backend_options(args)}


def _spec(op: str) -> Any:
    import vecbench as vb

    return vb.spec(op)


def _axis_sweeps(args: argparse.Namespace) -> dict[str, list[dict[str, int]]]:
    """Sweeps over the ops' extra axes (``--batch-sizes``), each op's axis declared in its spec.

    The rest of the size is the op's size for ``--sizes`` when that is one
    number (e.g. ``m``), else the axis's declared base size; each value is
    checked by the axis (``ValueError`` naming the option).
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
            one = args.sizes if isinstance(args.sizes, list) and len(args.sizes) == 1 else None
            if one:
                base.update({k: v for k, v in spec.size_from(int(float(one[0]))).items() if k != axis.name})
            where = "from --sizes" if one else "the default; set it with one number in --sizes"
            try:
                points = [axis.parse(v, base) for v in values]
            except ValueError as exc:
                raise ValueError(f"{exc} ({', '.join(f'{k} = {v}' for k, v in base.items())}, {where})") from None
            sweeps[op] = [{**base, axis.name: p} for p in dict.fromkeys(points)]
    return sweeps


def _dest(option: str) -> str:
    return option.replace("-", "_")


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
    try:  # before any work, so a folder that cannot be made costs nothing
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--output: cannot create the folder {out.parent}: {exc.strerror or exc}") from None
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
        if r.backend_unavailable:  # one line below the table
            continue
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
    """Skips and failures with their reasons, below the table; a backend that is not installed is one line
    with its install command (never one line per kernel), printed exactly as written."""
    missing: dict[str, Any] = {}
    for r in results:
        if r.backend_unavailable:
            missing.setdefault(r.backend, r)
    for backend, r in missing.items():
        console.print(f"[yellow]not installed[/yellow] {_esc(backend)}: {_esc(r.reason)}", highlight=False)
    for r in results:
        if not r.ok and r.backend not in missing:
            color = "red" if r.status == "failed" else "yellow"
            console.print(f"[{color}]{r.status}[/{color}] {_esc(f'{r.op} {r.backend} {r.label} {r.dtype}: {r.reason}')}",
                          highlight=False)


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
    _print_spoiled(results, console)
    imprecise = [r for r in results if any(w.startswith("imprecise") for w in r.warnings)]
    if imprecise:
        console.print(f"[yellow]{len(imprecise)} measurement(s) did not reach the --ci-target within their time "
                      "budget (their interval is wider)[/yellow]")


def _print_spoiled(results: Any, console: Any) -> None:
    """What was re-measured, the worst kernels still spoiled, and time-slice waits, in words."""
    from .remeasure import remeasured, spoil_score, spoiled, timeslice_waits, worst

    redone = remeasured(results.records)
    if redone:
        fixed = [r for r in redone if not spoiled(r)]
        names = ", ".join(f"{r.op} {r.backend} {r.label}" for r in fixed[:5]) + (" ..." if len(fixed) > 5 else "")
        console.print(_esc(f"re-measured {len(redone)} contended or noisy kernel(s) after the sweep: {len(fixed)} now "
                           f"trusted{f' ({names})' if fixed else ''}, {len(redone) - len(fixed)} still contended or noisy"),
                      highlight=False)
    bad = worst(results.records)
    if bad:
        console.print("[yellow]worst still spoiled:[/yellow] " + _esc("; ".join(
            f"{r.op} {r.backend} {r.label} ({format_time(r.median_s)}, {spoil_score(r):.0%} "
            f"{'contention' if r.is_contended else 'spread'}, {len(r.attempts) or 1} attempt(s))" for r in bad)),
            highlight=False)
    for w in timeslice_waits(results.records):
        console.print(f"[yellow]time-slice wait:[/yellow] {_esc(w.text)}", highlight=False)


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
    own = results.own_ops and all(r.op in results.own_ops for r in results)
    console.print((_own_table if own else _results_table)(results, f"vecbench results ({out})"))
    _print_reasons(results, console)
    if results.bandwidth_gbps.get("best"):
        from .bandwidth import contended, describe

        color = "yellow" if contended(results.bandwidth_gbps) or results.bandwidth_gbps.get("memory") == 0.0 else "default"
        console.print(f"[{color}]measured memory bandwidth: {results.bandwidth_gbps['best']:.1f} GB/s (best of STREAM "
                      f"copy/triad; {_esc(describe(results.bandwidth_gbps))})[/{color}]", highlight=False)
    noisy = [r for r in results if r.noisy]
    if noisy:
        from .records import NOISY_SPREAD

        console.print(f"[yellow]{len(noisy)} noisy measurement(s) (IQR > {NOISY_SPREAD:.0%} of median): rerun on a quieter machine "
                      "or raise --repeats/--min-time[/yellow]")
    _print_contention(results, console)
    console.print(f"wrote {out}")
    if results.interrupted:
        console.print(f"[yellow]interrupted: the file holds what was measured so far; 'vecbench run --resume {out}' "
                      "measures the rest[/yellow]")
        return 130
    if results.failures:
        console.print(f"[red]{len(results.failures)} measurement(s) failed (listed above)[/red]")
        return 1
    return 0


def _run_own(args: argparse.Namespace) -> int:
    """``vecbench run --from FILE``: the computations a file marks with ``@vecbench.bench``, through the same run."""
    from .own import load, measure

    for opt in ("ops", "backends", "dtype", "preset", "resume", "cold_compile"):
        if getattr(args, opt, None):
            raise _UsageError(f"vecbench run: error: --{opt.replace('_', '-')}: not used with --from (the file "
                              "says what to measure)")
    if getattr(args, "batch_sizes", None):
        raise _UsageError("vecbench run: error: --batch-sizes: not used with --from")
    if isinstance(args.sizes, str):
        raise _UsageError(f"vecbench run: error: --sizes: with --from, whole numbers such as 1e3,1e5 (the file's "
                          f"sizes are the default); got {args.sizes!r}")
    sizes = [float(x) for x in args.sizes] if args.sizes else None
    computations = load(args.from_, sizes)
    out, journal = _prepare_output(args)
    console = _console()
    try:
        results = measure(computations, settings=_settings(args), timeout=args.timeout, threads=args.threads,
                          progress=not args.no_progress, bandwidth=False if args.no_bandwidth else None,
                          journal=journal, warn=lambda text: print(f"vecbench run: warning: {text}", file=sys.stderr))
    except BaseException:
        journal.close()
        if not journal.records:
            with contextlib.suppress(OSError):
                journal.path.unlink(missing_ok=True)
        raise
    return _finish_run(results, out, console, journal)


def _own_table(results: Any, title: str) -> Any:
    """The run table of your computations: speedups over each computation's reference kernel."""
    from rich.table import Table

    from .display import rows

    table = Table(title=title)
    for col in ("computation", "n", "kernel", "median", "95% CI", "vs reference", "GB/s", "compile", "status"):
        table.add_column(col, justify="right" if col in ("n", "median", "95% CI", "vs reference", "GB/s", "compile")
                         else "left", no_wrap=True)
    for r in rows(results):
        ci = (f"±{max(r['median_s'] - r['ci_low_s'], r['ci_high_s'] - r['median_s']) / r['median_s']:.1%}"
              if r["median_s"] and r["ci_low_s"] is not None and r["ci_high_s"] is not None else "-")
        sp = (f"{r['speedup']:.3g}x" if r["speedup"] is not None and r["backend"] != r["baseline"]
              else "ref" if r["backend"] == r["baseline"] else "-")
        table.add_row(r["op"], r["label"], r["backend"], _fmt_time(r["median_s"]), ci, sp,
                      f"{r['gbps']:.1f}" if r["gbps"] else "-",
                      _fmt_time(r["compile_time_s"]) if r["compile_time_s"] else "-", r["status"])
    return table


def cmd_run(args: argparse.Namespace) -> int:
    from .harness import run

    if getattr(args, "from_", None):
        return _run_own(args)
    if args.preset == "targets":
        if args.output:
            from .results import check_writable

            check_writable(args.output)
        return _run_targets(args.threads, args.output, _console())
    out, journal = _prepare_output(args)
    given = [o for o in RUN_OPTIONS if getattr(args, o) not in (None, False)]
    kwargs = (dict(_resume_kwargs(journal.request), **_backend_options(args)) if args.resume and not given
              else _run_kwargs(args))
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
    if args.cold_compile and not results.interrupted:
        results.cold_compile_s = _cold_compile(kwargs.get("ops"), kwargs.get("backends"))
    return _finish_run(results, out, console, journal)


def _cold_compile(ops: Any, backends: Any) -> dict[str, float]:
    """Each JIT kernel's compile in a fresh process with empty caches (progress on stderr)."""
    from .coldcompile import measure_cold_compile
    from .registry import kernels

    return measure_cold_compile(kernels(ops, backends), say=lambda text: print(text, file=sys.stderr))


# ---------------------------------------------------------------- compare
def _unusable(res: Any) -> list[Any]:
    return [r for r in res if r.status == "failed" and r.reason.startswith("unusable measurement in the file")]


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
    base, new = load(args.base), load(args.new)
    # NaN, zero or missing medians never pass a gate: load() marked them failed with the reason.
    unusable = [(args.base, r) for r in _unusable(base)] + [(args.new, r) for r in _unusable(new)]
    if unusable:
        file, r = unusable[0]
        more = f" (and {len(unusable) - 1} more)" if len(unusable) > 1 else ""
        raise ValueError(f"{file}: {r.op} {r.backend} {r.label} {r.dtype}: {r.reason}{more}")
    c = compare(base, new, fail_above, per_op, strict=args.strict)
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
    """``vecbench report``: optionally run the default sweep and the training curves, then write the report.

    The output folder and every file are checked before anything is measured or drawn.
    """
    from .report import check_output_folder, expand, report_files
    from .results import load

    console = _console()
    folder = Path(args.output)
    check_output_folder(folder)
    files = expand(args.files)
    if not files and not args.run:
        raise ValueError("give results files (vecbench or pytest-benchmark JSON) or --run")
    loaded = [load(f) for f in files]  # a bad file is reported now, not after minutes of measuring
    status = 0
    if args.run:
        from .harness import Settings, run
        from .training import convergence_histories

        settings = Settings(wait_quiet_s=args.wait_quiet or 0.0,
                            **({"remeasure": 0} if args.no_remeasure else {}))
        results = run(sizes="default", progress=True, settings=settings)
        results.cold_compile_s = _cold_compile(None, None)
        console.print("training BGD, MBGD and SGD for the convergence figure")
        results.training["histories"] = convergence_histories()
        path = results.save(folder / "results.json")
        console.print(f"wrote {path}")
        files, loaded = [str(path), *files], [results, *loaded]
        status = 1 if results.failures else (130 if results.interrupted else 0)
    from rich.console import Console

    err = Console(stderr=True)  # what is being drawn, as it goes (stdout keeps the list of files written)
    results, written = report_files(files, folder, args.baseline, loaded,
                                    say=lambda text: err.print(text, highlight=False))
    for p in written:
        console.print(f"wrote {p}", highlight=False)
    _print_reasons(results, console)
    if args.run:
        _print_contention(results, console)
    return status


# ---------------------------------------------------------------- train
def _batch_arg(text: str) -> int | str:
    """Type: a batch size, a whole number >= 1 or ``full``."""
    if text.strip() == "full":
        return "full"
    try:
        return whole(1)(text)
    except argparse.ArgumentTypeError:
        raise _bad("a whole number >= 1 or full", text) from None


def _add_train_options(p: argparse.ArgumentParser) -> None:
    from .registry import backends, baseline

    choices = backends("train_epoch")
    default = baseline("vectorized")
    p.add_argument("--backend", type=names(lambda: choices), default=[default], metavar="BACKEND",
                   help=f"one of {', '.join(choices)} (default: {default})")
    p.add_argument("--batch-size", type=_batch_arg, default=32, metavar="N",
                   help="1 (SGD), N (mini-batch) or full (BGD), at most m (default: 32)")
    p.add_argument("--epochs", type=whole(1, 100_000), default=10, metavar="N", help="passes over the data (default: 10)")
    p.add_argument("--lr", type=positive(1e6, unit=""), default=0.1, metavar="RATE",
                   help="learning rate > 0 (default: 0.1)")
    p.add_argument("--data", choices=["synthetic", "breast-cancer"], default="synthetic",
                   help="choices: synthetic, breast-cancer (default: synthetic)")
    p.add_argument("--features", type=whole(1, 100_000), default=30, metavar="N",
                   help="synthetic data: n_x (default: 30)")
    p.add_argument("-m", "--examples", type=whole(1), default=100_000, metavar="M",
                   help="synthetic data: m (default: 100000)")
    p.add_argument("--seed", type=whole(0, 2**63 - 1), default=0, metavar="N",
                   help="data and shuffling seed (default: 0)")


def _check_train_args(args: argparse.Namespace, m: int | None) -> None:
    """Combinations checked before any work (one-line ValueErrors naming the option)."""
    if isinstance(args.backend, list):
        if len(args.backend) != 1:
            raise ValueError(f"--backend: one backend; got {','.join(args.backend)!r}")
        args.backend = args.backend[0]
    if m is None:  # synthetic data: X is n_x x m float64, plus copies while training
        from .harness import _available_memory

        need = 3 * 8 * args.features * args.examples
        if need > _available_memory():
            raise ValueError(f"-m/--examples: {args.features} x {args.examples} examples need ~{need / 1e9:.3g} GB; "
                             f"only {_available_memory() / 1e9:.3g} GB of memory is available")
        m = args.examples
    if args.batch_size != "full" and args.batch_size > m:
        raise ValueError(f"--batch-size: from 1 to m = {m} or full; got {args.batch_size}")


def cmd_train(args: argparse.Namespace) -> int:
    """``vecbench train``: fit and print the cost per epoch."""
    import numpy as np
    from rich.table import Table

    import vecbench as vb

    from .datasets import breast_cancer, make_classification
    from .training import train

    if args.data == "breast-cancer":
        X, y = breast_cancer("mean")
        _check_train_args(args, X.shape[1])
        X = vb.kernel("standardize", vb.registry.baseline("vectorized"))(X)
    else:
        _check_train_args(args, None)
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
    console.print(f"training accuracy {model.accuracy(X, y):.4f}; |w| = {np.linalg.norm(model.w):.4g}, "
                  f"b = {model.b:.4g}")
    return 0


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
                   help="samples per measurement at least, more until --ci-target (default: 7; 3 with --quick)")
    p.add_argument("--min-time", type=positive(60.0), metavar="SECONDS",
                   help="seconds one sample lasts at least (default: 0.01; 0.005 with --quick)")
    p.add_argument("--budget", type=positive(), metavar="SECONDS",
                   help="seconds one measurement may take; sizes predicted to exceed it are skipped "
                        "(default: 5; 0.5 with --quick)")
    p.add_argument("--seed", type=whole(0, 2**63 - 1), metavar="N", help="input seed (default: 0)")
    p.add_argument("--ci-target", type=_ci_target, metavar="FRACTION",
                   help="sample until the median's 95%% interval is within this of the median, or the budget is "
                        "spent, e.g. 2%% or 0.02; 0: exactly --repeats samples (default: 2%%)")
    p.add_argument("--wait-quiet", type=_wait_quiet, nargs="?", const=30.0, metavar="SECONDS",
                   help="before each kernel, wait up to SECONDS (default when given: 30) for other processes to go "
                        "quiet (default: no waiting)")
    p.add_argument("--no-remeasure", action="store_true",
                   help="do not measure contended or noisy kernels again after the sweep (default: up to 3 "
                        "measurements each, after waiting for a quiet machine, at most half the sweep's time)")
    p.add_argument("--no-bandwidth", action="store_true", help="skip the memory-bandwidth probe")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--cold-compile", action="store_true",
                   help="also time each JIT kernel's first call in a fresh process with empty compile caches "
                        "(what a first-time user waits; ~5 s per kernel) (default: off)")


def _add_axis_options(p: argparse.ArgumentParser) -> None:
    """One option per extra size axis an op declares (``--batch-sizes`` for train_epoch)."""
    import vecbench as vb

    seen: set[str] = set()
    for op in vb.ops():
        for axis in vb.spec(op).axes:
            if axis.option not in seen:
                seen.add(axis.option)
                p.add_argument(f"--{axis.option}", dest=_dest(axis.option), type=_nonempty_csv, metavar="VALUES",
                               help=f"{op}: {axis.help}")


def _add_backend_options(p: argparse.ArgumentParser) -> None:
    """One option per setting a backend declares (``--dask-scheduler``), checked by that backend."""
    import vecbench as vb

    for b in vb.iter_backends():
        for option, text in b.options.items():
            def check(value: str, b: Any = b, option: str = option) -> str:
                try:
                    return str(b.check_option(option, value))
                except ValueError as exc:
                    raise argparse.ArgumentTypeError(str(exc)) from None

            p.add_argument(f"--{b.name}-{option}", dest=f"backend_option:{b.name}_{option}", type=check,
                           metavar="VALUE", help=f"{text} (also {b.option_env(option)})")


def _backend_options(args: argparse.Namespace) -> dict[str, str]:
    """``{"<backend>_<option>": value}`` given on the command line (for ``harness.run``)."""
    prefix = "backend_option:"
    return {k.removeprefix(prefix): v for k, v in vars(args).items() if k.startswith(prefix) and v is not None}


def _nonempty_csv(text: str) -> list[str]:
    items = _csv(text)
    if not items:
        raise _bad("one or more comma-separated values", text)
    return items


def _fail_above_arg(text: str) -> str:
    from .compare import parse_fail_above

    try:
        parse_fail_above([text])
    except ValueError as exc:
        msg = str(exc).removeprefix("compare: ").removeprefix("--fail-above: ").removeprefix("--fail-above takes ")
        raise argparse.ArgumentTypeError(msg) from None
    return text


def _loop() -> str:
    from .registry import baseline

    return baseline("loop")


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
    p.add_argument("--json", action="store_true", help="print JSON (for machines) instead of tables")
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
    p.add_argument("--from", dest="from_", metavar="FILE|MODULE",
                   help="measure your own computations: those a Python file (mykernels.py) or importable module "
                        "marks with @vecbench.bench(name, setup=..., sizes=...), instead of vecbench's ops")
    _add_axis_options(p)
    _add_backend_options(p)
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("compare", parents=[common],
                       help="compare two results files; exit 1 on a regression or a lost kernel")
    p.add_argument("base", help="results file (vecbench or pytest-benchmark JSON)")
    p.add_argument("new", help="results file (vecbench or pytest-benchmark JSON)")
    p.add_argument("--fail-above", action="append", type=_fail_above_arg, metavar="RATIO|OP=RATIO",
                   help="ratio new/base median a slowdown must be able to reach to fail the gate (default: 1.1); "
                        "per op: dot=1.05; repeatable or comma-separated")
    p.add_argument("--strict", action="store_true", help="inconclusive verdicts (noisy, contended) fail the gate too")
    p.add_argument("--all", action="store_true", help="also list kernels that were not ok in the base")
    p.set_defaults(fn=cmd_compare)

    p = sub.add_parser("report", parents=[common], help="figures, README.md and report.html from results files")
    p.add_argument("files", nargs="*", help="vecbench or pytest-benchmark JSON files (glob patterns allowed)")
    # Not reports/: that is the committed reference, which a first run in a clone must not overwrite.
    p.add_argument("-o", "--output", default="vecbench-report", metavar="FOLDER",
                   help="folder (default: vecbench-report)")
    p.add_argument("--run", action="store_true", help="run the default sweep first")
    p.add_argument("--wait-quiet", type=_wait_quiet, nargs="?", const=30.0, metavar="SECONDS",
                   help="with --run: before each kernel, wait up to SECONDS (default when given: 30) for other "
                        "processes to go quiet (default: no waiting)")
    p.add_argument("--no-remeasure", action="store_true",
                   help="with --run: do not measure contended or noisy kernels again after the sweep")
    p.add_argument("--baseline", type=names(_backends), metavar="BACKEND",
                   help="backend the first speedup figure is measured against (default: the loop backend, "
                        f"{_loop()}; choices: {', '.join(_backends())})")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("train", parents=[common], help="train logistic regression with batch, mini-batch or "
                       "stochastic GD")
    _add_train_options(p)
    p.set_defaults(fn=cmd_train)

    p = sub.add_parser("graph", help="the lecture's computation graph J = 3(a + bc): forward, backward, nudge table")
    p.add_argument("--framework", choices=["numpy", "jax", "torch"], default="numpy",
                   help="numpy: chain rule by hand; jax: jax.grad (static graph); torch: backward() (dynamic graph)")
    p.add_argument("--h", type=float, default=1e-3, help="the nudge (default 0.001, the slide's)")
    p.set_defaults(fn=cmd_graph)
    return parser


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if args.command == "report" and args.baseline is not None:
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
