"""``vecbench report``: figures, README.md and report.html from results files (``--run``: measure first)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .console import new_console, print_contention, print_phases, print_reasons
from .options import add_quiet_options, backend_names, loop_backend, names
from .run import cold_compile, write_results

RESULTS = "results.json"  # what --run measured, in the report's folder


def setup_arguments(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``report`` to the command's subparsers."""
    p = subparsers.add_parser("report", parents=parents, help="figures, README.md and report.html from results files")
    p.add_argument("files", nargs="*", help="vecbench or pytest-benchmark JSON files (glob patterns allowed)")
    # Not reports/: that is the committed reference, which a first run in a clone must not overwrite.
    p.add_argument("-o", "--output", default="vecbench-report", metavar="FOLDER",
                   help="folder (default: vecbench-report)")
    p.add_argument("--run", action="store_true", help="run the default sweep first")
    add_quiet_options(p, when="with --run: ")
    p.add_argument("--baseline", type=names(backend_names), metavar="BACKEND",
                   help="backend the first speedup figure is measured against (default: the loop backend, "
                        f"{loop_backend()}; choices: {', '.join(backend_names())})")
    p.set_defaults(fn=run)


def run(args: argparse.Namespace) -> int:
    """``vecbench report``: optionally run the default sweep and the training curves, then write the report.

    The output folder and every file are checked before anything is measured or drawn.
    """
    from ..report.write import check_output_folder, expand, report_files
    from ..results import load

    console = new_console()
    folder = Path(args.output)
    check_output_folder(folder)
    files = expand(args.files)
    if not files and not args.run:
        raise ValueError("give results files (vecbench or pytest-benchmark JSON) or --run")
    loaded = [load(f) for f in files]  # a bad file is reported now, not after minutes of measuring
    status = 0
    if args.run:
        status, results = _measure(args, folder, console)
        if results is None:
            return status
        files, loaded = [str(folder / RESULTS), *files], [results, *loaded]
    from rich.console import Console

    err = Console(stderr=True)  # what is being drawn, as it goes (stdout keeps the list of files written)
    results, written = report_files(files, folder, args.baseline, loaded,
                                    say=lambda text: err.print(text, highlight=False))
    for p in written:
        console.print(f"wrote {p}", highlight=False)
    print_reasons(results, console)
    if args.run:
        print_contention(results, console)
        print_phases(results, console)
    return status


def _measure(args: argparse.Namespace, folder: Path, console: Any) -> tuple[int, Any]:
    """``--run``: the default sweep through the one run path, into ``FOLDER/results.json`` and its journal.

    A journal left there by an interrupted ``report --run`` is resumed (only what is missing is
    measured); the training curves and cold compiles follow a sweep that was not interrupted.
    Returns the exit status and the results (``None``: nothing to report).
    """
    from .. import harness
    from ..journal import journal_path
    from ..orchestrate import measure_into, open_output
    from ..training import convergence_histories

    out = folder / RESULTS
    again = f"vecbench report --run -o {folder}"
    out, journal = open_output(out, resume=out if journal_path(out).exists() else None, again=again)
    settings = harness.Settings(wait_quiet_s=args.wait_quiet or 0.0, **({"remeasure": 0} if args.no_remeasure else {}))
    try:
        results = measure_into(journal, lambda j: harness.run(sizes="default", progress=True, settings=settings,
                                                                journal=j))
    except KeyboardInterrupt:  # a second Ctrl-C while the first was handled
        print(f"vecbench report: interrupted; {len(journal.records)} measurement(s) kept in {journal.path}"
              + (f": '{again}' continues" if journal.records else ""), file=sys.stderr)
        return 130, None
    if not results.interrupted:
        start = time.monotonic()
        results.cold_compile_s = cold_compile(None, sorted({r.backend for r in results.records if r.ok}))
        results.phases_s["cold compiles"] = time.monotonic() - start
        console.print("training BGD, MBGD and SGD for the convergence figure")
        start = time.monotonic()
        results.training["histories"] = convergence_histories()
        results.phases_s["training curves"] = time.monotonic() - start
    stop = write_results(results, out, journal, console, "vecbench report", again)
    if stop is not None:
        return stop, None
    console.print(f"wrote {out}")
    if results.interrupted:
        console.print(f"[yellow]interrupted: {out} holds what was measured so far; '{again}' measures the rest"
                      "[/yellow]")
    return (1 if results.failures else (130 if results.interrupted else 0)), results
