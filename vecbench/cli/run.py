"""``vecbench run``: measure a sweep (or your own computations, or the targets preset) and write a results file.

The results go to ``-o FILE`` through a journal (``FILE.journal.jsonl``) that keeps every finished
measurement, so that an interrupted run loses nothing and ``--resume FILE`` measures only the rest.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .console import esc, new_console, own_table, print_contention, print_phases, print_reasons, results_table
from .options import (
    RUN_OPTIONS,
    UsageError,
    add_axis_options,
    add_backend_options,
    add_run_options,
    backend_option_values,
    dest,
    positive,
    settings_from,
)


def setup_arguments(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``run`` to the command's subparsers."""
    p = subparsers.add_parser("run", parents=parents, help="validate and time kernels over a size sweep")
    add_run_options(p)
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
    add_axis_options(p)
    add_backend_options(p)
    p.set_defaults(fn=run)


def run(args: argparse.Namespace) -> int:
    """``vecbench run``: 0 done, 1 a measurement failed, 130 interrupted (what was measured is kept)."""
    from .. import harness

    if getattr(args, "from_", None):
        return _run_own(args)
    if args.preset == "targets":
        return _run_targets(args.threads, args.output, args.resume, new_console())
    from ..orchestrate import measure_into, open_output

    out, journal = open_output(args.output, args.resume)
    given = [o for o in RUN_OPTIONS if getattr(args, o) not in (None, False)]
    kwargs = (dict(_resume_kwargs(journal.request), **backend_option_values(args))
              if args.resume and not given and journal.request is not None else _run_kwargs(args))
    console = new_console()
    try:
        results = measure_into(journal, lambda j: harness.run(**kwargs, progress=not args.no_progress,
                                                                timeout=args.timeout, journal=j))
    except KeyboardInterrupt:  # a second Ctrl-C while the first was handled
        print(f"vecbench run: interrupted; {len(journal.records)} measurement(s) kept in {journal.path}"
              + (f": 'vecbench run --resume {out}' continues" if journal.records else ""), file=sys.stderr)
        return 130
    if args.cold_compile and not results.interrupted:
        start = time.monotonic()
        results.cold_compile_s = cold_compile(kwargs.get("ops"), kwargs.get("backends"))
        results.phases_s["cold compiles"] = time.monotonic() - start
    return _finish_run(results, out, console, journal)


def _run_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """What ``harness.run`` measures, from the command line; ``ValueError`` for combinations."""
    from ..registry import kernels

    sizes: Any = args.sizes or ("quick" if args.quick else "default")
    if isinstance(sizes, list):
        sizes = [float(x) for x in sizes]
    ops = args.ops
    by_op = _axis_sweeps(args)
    if by_op:
        outside = [o for o in by_op if ops is not None and o not in ops]
        if outside:
            option = next(a.option for a in _spec(outside[0]).axes if getattr(args, dest(a.option), None))
            raise ValueError(f"--{option}: sweeps {outside[0]}, so --ops must include it; got {','.join(ops or [])}")
        ops = ops or list(by_op)
    if not kernels(ops, args.backends):
        raise ValueError(f"--backends: none of {args.backends} has a kernel for ops {ops}; see 'vecbench list'")
    if args.bandwidth and args.no_bandwidth:
        raise ValueError("--bandwidth: not used with --no-bandwidth")
    return {"ops": ops, "backends": args.backends, "sizes": sizes, "sizes_by_op": by_op or None,
            "dtypes": args.dtype or ["float64"], "threads": args.threads, "settings": settings_from(args),
            # The probes stream arrays 4x the last-level cache (seconds): a quick look goes without them.
            "bandwidth": args.bandwidth or not (args.no_bandwidth or args.quick), **backend_option_values(args)}


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
            values = getattr(args, dest(axis.option), None)
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


def _resume_kwargs(request: dict[str, Any]) -> dict[str, Any]:
    """``harness.run`` arguments stored in a journal's header."""
    import dataclasses

    from ..harness import Settings

    known = {f.name for f in dataclasses.fields(Settings)}
    kwargs = dict(request)
    kwargs["settings"] = Settings(**{k: v for k, v in request["settings"].items() if k in known})
    return kwargs


def write_results(results: Any, out: Path, journal: Any, console: Any, command: str, again: str) -> int | None:
    """Save through the one run path; the exit code when that ends the command (nothing measured: 130; the
    save failed: 1, the journal kept), else ``None``. ``again`` is the command line that continues the run."""
    from ..orchestrate import save

    try:
        if not save(results, out, journal):
            console.print(f"[yellow]interrupted before anything was measured: nothing written ({out} untouched)"
                          "[/yellow]")
            return 130
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"{command}: error: could not write {out}: {reason}; the {len(journal.records)} "
              f"measurement(s) are safe in {journal.path}: fix the problem, then '{again}' writes the file",
              file=sys.stderr)
        return 1
    return None


def _finish_run(results: Any, out: Path, console: Any, journal: Any) -> int:
    stop = write_results(results, out, journal, console, "vecbench run", f"vecbench run --resume {out}")
    if stop is not None:
        return stop
    own = results.own_ops and all(r.op in results.own_ops for r in results)
    console.print((own_table if own else results_table)(results, f"vecbench results ({out})"))
    print_reasons(results, console)
    if results.bandwidth_gbps.get("best"):
        from ..bandwidth import contended, describe

        color = "yellow" if contended(results.bandwidth_gbps) or results.bandwidth_gbps.get("memory") == 0.0 else "default"
        console.print(f"[{color}]measured memory bandwidth: {results.bandwidth_gbps['best']:.1f} GB/s (best of STREAM "
                      f"copy/triad; {esc(describe(results.bandwidth_gbps))})[/{color}]", highlight=False)
    noisy = [r for r in results if r.noisy]
    if noisy:
        from ..records import NOISY_SPREAD

        console.print(f"[yellow]{len(noisy)} noisy measurement(s) (IQR > {NOISY_SPREAD:.0%} of median): rerun on a quieter machine "
                      "or raise --repeats/--min-time[/yellow]")
    print_contention(results, console)
    print_phases(results, console)
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
    from ..orchestrate import measure_into, open_output
    from ..own import load, measure

    for opt in ("ops", "backends", "dtype", "preset", "resume", "cold_compile"):
        if getattr(args, opt, None):
            raise UsageError(f"vecbench run: error: --{opt.replace('_', '-')}: not used with --from (the file "
                              "says what to measure)")
    if getattr(args, "batch_sizes", None):
        raise UsageError("vecbench run: error: --batch-sizes: not used with --from")
    if isinstance(args.sizes, str):
        raise UsageError(f"vecbench run: error: --sizes: with --from, whole numbers such as 1e3,1e5 (the file's "
                          f"sizes are the default); got {args.sizes!r}")
    sizes = [float(x) for x in args.sizes] if args.sizes else None
    computations = load(args.from_, sizes)
    out, journal = open_output(args.output, args.resume)
    console = new_console()
    results = measure_into(journal, lambda j: measure(
        computations, settings=settings_from(args), timeout=args.timeout, threads=args.threads,
        progress=not args.no_progress, bandwidth=False if args.no_bandwidth else None, journal=j,
        warn=lambda text: print(f"vecbench run: warning: {text}", file=sys.stderr)))
    return _finish_run(results, out, console, journal)


def cold_compile(ops: Any, backends: Any) -> dict[str, float]:
    """Each JIT kernel's compile in a fresh process with empty caches (progress on stderr)."""
    from ..coldcompile import measure_cold_compile
    from ..registry import selected

    return measure_cold_compile(selected(ops, backends), say=lambda text: print(text, file=sys.stderr))


def _run_targets(threads: int | None, output: str | None, resume: str | None, console: Any) -> int:
    """``vecbench run --preset targets``: measure, print ratio vs target and pass/short; 1 if a kernel failed.

    With ``-o``/``--resume``, through the one run path (journal, resume, atomic file), as ``vecbench run``.
    """
    from rich.table import Table

    from .. import harness, targets

    if output or resume:
        from ..orchestrate import measure_into, open_output

        again = "vecbench run --preset targets --resume {out}"
        out, journal = open_output(output, resume, again=again)
        results = measure_into(journal, lambda j: harness.run(**targets.run_kwargs(threads), journal=j))
        stop = write_results(results, out, journal, console, "vecbench run", again.format(out=out))
        if stop is not None:
            return stop
    else:
        results = targets.measure(threads)
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
    if output or resume:
        console.print(f"wrote {out}")
    return 1 if results.failures else 0
