"""Where a device starts to pay: the CPU-GPU crossover, computed from results (never measures anything).

A *device record* is an ok record whose backend copied its inputs to a
device (``transfer_in_s`` is set: see
:meth:`vecbench.backends.Backend.transfer_times`); every other ok record is
a CPU record. For each op, dtype and device backend, over the sizes both
sides measured:

- **resident**: the data already on the device: the device's median per call
  against the fastest CPU backend's median at that size;
- **with transfers**: the device's median plus the copy of the inputs to the
  device and of the result back (``transfer_in_s + transfer_out_s``), what a
  single call on host data costs.

The crossover is the smallest measured size from which the device is faster
at that size *and every larger one* measured (a lucky small size followed by
a loss does not count); "never" when it is not faster at the largest size.
Sizes are ordered by their element count; sweeps over an extra axis (a batch
size) are left out. Medians are compared as they are; each row also gives
the ratio at the largest common size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .results import Record, Results, format_time

__all__ = ["Crossover", "crossover_lines", "crossovers", "device_backends", "with_transfers_s"]


def _device(r: Record) -> bool:
    # A cluster's records also carry transfer_in_s (inputs persisted on its workers) but name the workers
    # that computed them (vecbench.scaling compares those with one process); they are not a device's.
    return r.ok and r.transfer_in_s is not None and "workers" not in (r.facts or {})


def _axis_point(r: Record) -> bool:
    from .registry import axis_names

    return bool(set(axis_names(r.op)) & set(r.size))


def device_backends(results: Iterable[Record]) -> list[str]:
    """Backends with at least one ok record measured on a device, in order of appearance."""
    return list(dict.fromkeys(r.backend for r in results if _device(r)))


def with_transfers_s(r: Record) -> float | None:
    """One call on host data: the median plus the copies to the device and back (None for a CPU record)."""
    if not _device(r) or r.median_s is None:
        return None
    return r.median_s + (r.transfer_in_s or 0.0) + (r.transfer_out_s or 0.0)


@dataclass(frozen=True)
class Crossover:
    """One (op, dtype, device backend): where it starts to beat the best CPU backend.

    ``resident_from``/``transfers_from`` are size labels, or None ("never" over
    the sizes measured); ``largest`` the largest common size, where
    ``ratio_resident``/``ratio_transfers`` are best CPU time / device time
    (above 1: the device is faster) and ``best_cpu`` the CPU backend that was fastest there.
    """

    op: str
    dtype: str
    backend: str
    sizes: tuple[str, ...]
    resident_from: str | None
    transfers_from: str | None
    largest: str
    best_cpu: str
    ratio_resident: float
    ratio_transfers: float
    device_s: float
    transfers_s: float
    cpu_s: float


def _first_win(labels: list[str], wins: list[bool]) -> str | None:
    """The smallest size from which every larger size is a win (None when the largest is not)."""
    start = None
    for label, win in zip(reversed(labels), reversed(wins)):
        if not win:
            break
        start = label
    return start


def crossovers(results: Results | Iterable[Record]) -> list[Crossover]:
    """Every (op, dtype, device backend) that shares at least one size with a CPU backend."""
    recs = [r for r in results if r.ok and r.size and not _axis_point(r)]
    best: dict[tuple[str, str, str], Record] = {}
    elements: dict[tuple[str, str], int] = {}
    for r in recs:
        elements[(r.op, r.label)] = r.elements
        if _device(r) or r.median_s is None:
            continue
        key = (r.op, r.dtype, r.label)
        if key not in best or r.median_s < (best[key].median_s or 0.0):
            best[key] = r
    device: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    for r in recs:
        if _device(r) and (r.op, r.dtype, r.label) in best:
            device[(r.op, r.dtype, r.backend)].append(r)
    out = []
    for (op, dtype, backend), rs in device.items():
        rs = sorted(rs, key=lambda r: elements[(op, r.label)])
        cpu = [best[(op, dtype, r.label)] for r in rs]
        labels = [r.label for r in rs]
        resident = [(c.median_s or 0.0) > (r.median_s or 0.0) for r, c in zip(rs, cpu)]
        moved = [(c.median_s or 0.0) > (with_transfers_s(r) or 0.0) for r, c in zip(rs, cpu)]
        last, last_cpu = rs[-1], cpu[-1]
        t_dev, t_moved, t_cpu = last.median_s or 0.0, with_transfers_s(last) or 0.0, last_cpu.median_s or 0.0
        out.append(Crossover(op, dtype, backend, tuple(labels), _first_win(labels, resident), _first_win(labels, moved),
                             last.label, last_cpu.backend, t_cpu / t_dev if t_dev else 0.0,
                             t_cpu / t_moved if t_moved else 0.0, t_dev, t_moved, t_cpu))
    return out


def _device_names(results: Results) -> str:
    names = []
    for facts in (results.machine.get("backends") or {}).values():
        if isinstance(facts, dict) and facts.get("device") and facts.get("name"):
            names.append(str(facts["name"]))
    return ", ".join(dict.fromkeys(names))


def crossover_lines(results: Results) -> list[str]:
    """The report's table (markdown lines; [] without device records)."""
    rows = crossovers(results)
    if not rows:
        return []
    device = _device_names(results)
    out = [f"Measured on {device or 'a device the file does not name'}. For each op, the size from which the "
           "device beats the fastest CPU backend at that size and every larger one measured: with the data "
           "already on the device (*resident*), and with the copy of the inputs there and of the result back "
           "counted in each call (*with copies*). At the largest common size: the fastest CPU time over the "
           "device's time (above 1x the device wins).", "",
           "| op | dtype | device backend | faster from (resident) | faster from (with copies) | largest size | "
           "fastest CPU there | CPU / device (resident) | CPU / device (with copies) |",
           "|---|---|---|---|---|---|---|--:|--:|"]
    for c in rows:
        out.append(f"| {c.op} | {c.dtype} | {c.backend} | {c.resident_from or 'never'} | {c.transfers_from or 'never'} "
                   f"| {c.largest} | {c.best_cpu} ({format_time(c.cpu_s)}) | {c.ratio_resident:.3g}x "
                   f"({format_time(c.device_s)}) | {c.ratio_transfers:.3g}x ({format_time(c.transfers_s)}) |")
    out.append("")
    return out
