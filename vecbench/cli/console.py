"""Printing for people: the rich console, markup escaping, the results tables and the lines below them
(skip and failure reasons, contention, re-measured and still spoiled kernels)."""

from __future__ import annotations

from typing import Any

from ..results import format_time


def new_console() -> Any:
    """A rich console on stdout, 140 columns wide when stdout is not a terminal."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # logs and CI: wide enough for the results table
        console = Console(width=140)
    return console


def esc(text: str) -> str:
    """``text`` with rich markup escaped: ``pip install 'vecbench[jax]'`` prints as written."""
    from rich.markup import escape

    return escape(text)


def half_width(median: float | None, low: float | None, high: float | None) -> float | None:
    """The median's 95% interval as one relative half-width (its wider side), for a ``±`` column; None if unknown."""
    if not median or low is None or high is None:
        return None
    return max(median - low, high - median) / median


def results_table(results: Any, title: str) -> Any:
    """The run table: one row per measured or skipped kernel (a backend that is not installed is left out)."""
    from rich.table import Table

    table = Table(title=title)
    from ..registry import baseline
    from ..results import baseline_medians, speedup

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
        half = half_width(r.median_s, r.ci_low_s, r.ci_high_s)
        ci = f"±{half:.1%}" if half is not None else "-"
        status = r.status + (" contended" if r.ok and r.is_contended else "") + (
            " streamed" if r.facts.get("streamed") else "")  # inputs read from disk (larger than memory)
        table.add_row(r.op, size, r.backend, format_time(r.median_s), ci, spread, speed,
                      f"{r.gbps:.1f}" if r.gbps else "-", pct,
                      format_time(r.compile_time_s) if r.compile_time_s else "-", status)
    return table


def own_table(results: Any, title: str) -> Any:
    """The run table of your computations: speedups over each computation's reference kernel."""
    from rich.table import Table

    from ..display import rows

    table = Table(title=title)
    for col in ("computation", "n", "kernel", "median", "95% CI", "vs reference", "GB/s", "compile", "status"):
        table.add_column(col, justify="right" if col in ("n", "median", "95% CI", "vs reference", "GB/s", "compile")
                         else "left", no_wrap=True)
    for r in rows(results):
        half = half_width(r["median_s"], r["ci_low_s"], r["ci_high_s"])
        ci = f"±{half:.1%}" if half is not None else "-"
        sp = (f"{r['speedup']:.3g}x" if r["speedup"] is not None and r["backend"] != r["baseline"]
              else "ref" if r["backend"] == r["baseline"] else "-")
        table.add_row(r["op"], r["label"], r["backend"], format_time(r["median_s"]), ci, sp,
                      f"{r['gbps']:.1f}" if r["gbps"] else "-",
                      format_time(r["compile_time_s"]) if r["compile_time_s"] else "-", r["status"])
    return table


def print_reasons(results: Any, console: Any) -> None:
    """Skips and failures with their reasons, below the table; a backend that is not installed is one line
    with its install command (never one line per kernel), printed exactly as written."""
    missing: dict[str, Any] = {}
    for r in results:
        if r.backend_unavailable:
            missing.setdefault(r.backend, r)
    for backend, r in missing.items():
        console.print(f"[yellow]not installed[/yellow] {esc(backend)}: {esc(r.reason)}", highlight=False)
    for r in results:
        if not r.ok and r.backend not in missing:
            color = "red" if r.status == "failed" else "yellow"
            console.print(f"[{color}]{r.status}[/{color}] {esc(f'{r.op} {r.backend} {r.label} {r.dtype}: {r.reason}')}",
                          highlight=False)


def print_contention(results: Any, console: Any) -> None:
    """How many records were timed while other processes were busy, or that it could not be measured."""
    from ..contention import CONTENDED_ABOVE

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
    print_spoiled(results, console)
    imprecise = [r for r in results if any(w.startswith("imprecise") for w in r.warnings)]
    if imprecise:
        console.print(f"[yellow]{len(imprecise)} measurement(s) did not reach the --ci-target within their time "
                      "budget (their interval is wider)[/yellow]")


def print_phases(results: Any, console: Any) -> None:
    """Where the run's time went (``Results.phases_s``), one line; nothing for a run that recorded none."""
    from ..results import phases_line

    if results.phases_s:
        console.print(esc(f"time: {phases_line(results.phases_s)}"), highlight=False)


def print_spoiled(results: Any, console: Any) -> None:
    """What was re-measured, the worst kernels still spoiled, and time-slice waits, in words."""
    from ..remeasure import remeasured, spoil_score, spoiled, timeslice_waits, worst

    redone = remeasured(results.records)
    if redone:
        fixed = [r for r in redone if not spoiled(r)]
        names = ", ".join(f"{r.op} {r.backend} {r.label}" for r in fixed[:5]) + (" ..." if len(fixed) > 5 else "")
        console.print(esc(f"re-measured {len(redone)} contended or noisy kernel(s) after the sweep: {len(fixed)} now "
                           f"trusted{f' ({names})' if fixed else ''}, {len(redone) - len(fixed)} still contended or noisy"),
                      highlight=False)
    bad = worst(results.records)
    if bad:
        console.print("[yellow]worst still spoiled:[/yellow] " + esc("; ".join(
            f"{r.op} {r.backend} {r.label} ({format_time(r.median_s)}, {spoil_score(r):.0%} "
            f"{'contention' if r.is_contended else 'spread'}, {len(r.attempts) or 1} attempt(s))" for r in bad)),
            highlight=False)
    for w in timeslice_waits(results.records):
        console.print(f"[yellow]time-slice wait:[/yellow] {esc(w.text)}", highlight=False)
