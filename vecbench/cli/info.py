"""``vecbench info``: the machine, each backend and the measured memory bandwidth."""

from __future__ import annotations

import argparse
from typing import Any

from .console import esc, new_console


def setup_arguments(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``info`` to the command's subparsers."""
    p = subparsers.add_parser("info", parents=parents, help="machine, BLAS and threads, measured memory bandwidth")
    p.add_argument("--no-bandwidth", action="store_true", help="skip the memory-bandwidth probe")
    p.add_argument("--json", action="store_true", help="print JSON (for machines) instead of tables")
    p.set_defaults(fn=run)


def run(args: argparse.Namespace) -> int:
    """``vecbench info``: the machine, each backend and the measured bandwidth as tables (``--json``: JSON)."""
    import json

    from ..machine import machine_info

    info: dict[str, Any] = {"machine": machine_info()}
    if not args.no_bandwidth:
        from ..bandwidth import measure_bandwidth

        info["bandwidth_gbps"] = {k: round(v, 4) for k, v in measure_bandwidth().items()}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    console = new_console()
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
        machine.add_row(esc(k.replace("_", " ")), esc(_fact(v)))
    tables = [machine]
    table = Table(title="backends")
    for col in ("backend", "available", "details"):
        table.add_column(col)
    for name, facts in backends.items():
        facts = dict(facts) if isinstance(facts, dict) else {"details": facts}
        ok = facts.pop("available", None)
        hint = facts.pop("install", "")
        details = "; ".join(f"{k.replace('_', ' ')} {_fact(v)}" for k, v in facts.items()) or "-"
        table.add_row(esc(name), "yes" if ok else "[red]no[/red]", esc(hint if not ok and hint else details))
    tables.append(table)
    bw = info.get("bandwidth_gbps")
    if bw:
        from ..bandwidth import describe, rates

        probe = Table(title="memory bandwidth (STREAM-style)")
        probe.add_column("kernel")
        probe.add_column("GB/s", justify="right")
        for k, v in rates(bw).items():
            probe.add_row(esc(k), f"{v:.1f}")
        probe.add_row("[bold]best[/bold]", f"[bold]{bw.get('best', 0.0):.1f}[/bold]")
        probe.caption = esc(describe(bw))
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
