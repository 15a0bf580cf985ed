"""``vecbench list``: ops, backends and default sizes (``list_``: the name ``list`` is a builtin)."""

from __future__ import annotations

import argparse
from typing import Any

from .console import esc, new_console


def setup_arguments(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``list`` to the command's subparsers."""
    subparsers.add_parser("list", parents=parents, help="ops, backends and default sizes").set_defaults(fn=run)


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    import vecbench as vb

    table = Table(title="vecbench operations (X is (n_x, m): one example per column)")
    for col in ("op", "computes", "backends", "default sizes"):
        table.add_column(col)
    for op in vb.ops():
        s = vb.spec(op)
        names = [f"{b} (unavailable)" if not vb.backend(b).available else f"{b} (opt-in)" if vb.backend(b).opt_in
                 else b for b in vb.backends(op)]
        table.add_row(op, s.summary, ", ".join(names), ", ".join(s.label(z) for z in s.sizes["default"]))
    console = new_console()
    console.print(table)
    for b in vb.iter_backends():
        if b.available and b.opt_in:
            console.print(f"[cyan]{esc(b.name)}[/cyan]: opt-in, measured only when named "
                          f"(--backends {esc(b.name)}): {esc(b.description)}", highlight=False)
        if not b.available:
            console.print(f"[yellow]{esc(b.name)}[/yellow]: unavailable; {esc(b.install_hint)}", highlight=False)
    return 0
