"""``vecbench compare BASE NEW``: ratios with their intervals and verdicts; exit 1 on a regression."""

from __future__ import annotations

import argparse
from typing import Any

from ..results import format_time
from .console import half_width, new_console
from .options import fail_above_arg


def setup_arguments(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``compare`` to the command's subparsers."""
    p = subparsers.add_parser("compare", parents=parents,
                              help="compare two results files; exit 1 on a regression or a lost kernel")
    p.add_argument("base", help="results file (vecbench or pytest-benchmark JSON)")
    p.add_argument("new", help="results file (vecbench or pytest-benchmark JSON)")
    p.add_argument("--fail-above", action="append", type=fail_above_arg, metavar="RATIO|OP=RATIO",
                   help="ratio new/base median a slowdown must be able to reach to fail the gate (default: 1.1); "
                        "per op: dot=1.05; repeatable or comma-separated")
    p.add_argument("--strict", action="store_true", help="inconclusive verdicts (noisy, contended) fail the gate too")
    p.add_argument("--all", action="store_true", help="also list kernels that were not ok in the base")
    p.set_defaults(fn=run)


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ..compare import compare, flags, parse_fail_above, summary_line
    from ..results import load

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
    console = new_console()
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


def _unusable(res: Any) -> list[Any]:
    return [r for r in res if r.status == "failed" and r.reason.startswith("unusable measurement in the file")]


def _ci_cell(rec: Any) -> str:
    if rec is None or rec.median_s is None:
        return "-"
    half = half_width(rec.median_s, rec.ci_low_s, rec.ci_high_s)
    return format_time(rec.median_s) if half is None else f"{format_time(rec.median_s)} ±{half:.0%}"
