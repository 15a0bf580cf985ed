"""The CPU-GPU crossover figure (drawn only when a results file holds device records).

One panel per op: time per call vs problem size, log-log; every CPU backend
thin and grey-ish in its own colour, the fastest CPU time at each size as a
black line, and each device backend twice: solid (data resident on the
device) and dashed (the copies to the device and back added to each call).
A marker on the x axis shows where each device curve starts to stay below
the black one (:mod:`vecbench.crossover`). Never times anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .crossover import crossovers, device_backends, with_transfers_s
from .records import sweeps_an_axis
from .report.figures import _dtype_title, _finish, _ok, _panels, backend_style
from .results import Record, Results

__all__ = ["fig_crossover"]


def _ops_with_devices(results: Results, devices: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(r.op for r in results if r.ok and r.backend in devices and not sweeps_an_axis(r)))


def _best_cpu(recs: list[Record]) -> dict[int, float]:
    best: dict[int, float] = {}
    for r in recs:
        if r.median_s is not None:
            best[r.elements] = min(best.get(r.elements, r.median_s), r.median_s)
    return best


def fig_crossover(results: Results) -> Figure:
    """Time vs size per op: CPU backends, their best, and each device backend resident and with copies."""
    devices = device_backends(results)
    ops = _ops_with_devices(results, devices)
    fig, axes = _panels(len(ops), f"CPU or GPU? Time per call vs size ({_dtype_title(results)}): solid = data on the "
                                  "device, dashed = copies to the device and back included")
    cpus = [b for b in dict.fromkeys(r.backend for r in results if r.ok) if b not in devices]
    where = {(c.op, c.backend): c for c in crossovers(results)}
    for ax, op in zip(axes, ops):
        cpu_recs: list[Record] = []
        for b in cpus:
            recs = [r for r in _ok(results, op=op, backend=b) if not sweeps_an_axis(r)]
            cpu_recs += recs
            if recs:
                ax.plot([r.elements for r in recs], [r.median_s for r in recs], lw=0.8, alpha=0.5,
                        color=backend_style(b, cpus)["color"])
        best = _best_cpu(cpu_recs)
        if best:
            xs = sorted(best)
            ax.plot(xs, [best[x] for x in xs], color="black", lw=1.8)
        for b in devices:
            recs = [r for r in _ok(results, op=op, backend=b) if not sweeps_an_axis(r)]
            if not recs:
                continue
            style = backend_style(b, devices)
            x = [r.elements for r in recs]
            ax.plot(x, [r.median_s for r in recs], color=style["color"], marker=style["marker"], ms=4, lw=1.5)
            ax.plot(x, [with_transfers_s(r) for r in recs], color=style["color"], ls="--", lw=1.2)
            c = where.get((op, b))
            if c and c.resident_from:
                at = next(r.elements for r in recs if r.label == c.resident_from)
                ax.axvline(at, color=style["color"], lw=0.8, ls=":")
        ax.set(xscale="log", yscale="log", title=op, xlabel="problem size (elements)", ylabel="time per call (s)")
    handles: list[Any] = [Line2D([], [], color="black", lw=1.8, label="fastest CPU backend")]
    handles += [Line2D([], [], label=b, **backend_style(b, devices)) for b in devices]
    handles += [Line2D([], [], color="grey", ls="--", label="with copies"),
                Line2D([], [], color="grey", ls=":", label="device faster from here (resident)")]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, bbox_to_anchor=(0.5, 0.0))
    return _finish(fig)
