"""Figures drawn from results files. Never times anything, never imports the harness.

Every figure uses the same colour and marker per backend, log axes where
sizes span decades, titles and axis units, so each reads on its own.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .results import Record, Results  # noqa: E402

__all__ = ["COLORS", "backend_style", "save", "ALL_FIGURES"]

COLORS = {
    "python": "#7f7f7f",
    "numpy": "#1f77b4",
    "numba": "#ff7f0e",
    "numba_parallel": "#d62728",
}
MARKERS = {"python": "s", "numpy": "o", "numba": "^", "numba_parallel": "v"}
_EXTRA = ["#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]

plt.rcParams.update({"figure.dpi": 110, "font.size": 9, "axes.titlesize": 10, "legend.fontsize": 8,
                     "axes.grid": True, "grid.alpha": 0.3, "svg.hashsalt": "vecbench"})


def backend_style(backend: str, order: Sequence[str] = ()) -> dict[str, Any]:
    """Colour and marker of a backend: fixed for the four built-ins, stable for others."""
    if backend in COLORS:
        return {"color": COLORS[backend], "marker": MARKERS[backend]}
    extra = sorted(b for b in order if b not in COLORS)
    i = extra.index(backend) if backend in extra else abs(hash(backend))
    return {"color": _EXTRA[i % len(_EXTRA)], "marker": "D"}


def _ok(results: Results, **where: Any) -> list[Record]:
    return sorted((r for r in results.select(**where) if r.ok), key=lambda r: r.elements)


def _ops(results: Results) -> list[str]:
    # Sweeps over batch size (training) have their own figure.
    return list(dict.fromkeys(r.op for r in results if r.ok and "batch" not in r.size))


def _backends(results: Results) -> list[str]:
    return list(dict.fromkeys(r.backend for r in results))


def _panels(n: int, title: str, width: float = 3.4, height: float = 2.8) -> tuple[Figure, list[Any]]:
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.6), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=11)
    return fig, list(axes.flat[:n])


def _legend(fig: Figure, backends: Iterable[str], extra: Sequence[Any] = ()) -> None:
    from matplotlib.lines import Line2D

    order = list(backends)
    handles = [Line2D([], [], label=b, **backend_style(b, order)) for b in order] + list(extra)
    if not handles:
        return  # a legend of 0 columns is an error in matplotlib
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False,
               bbox_to_anchor=(0.5, 0.0))


def _finish(fig: Figure) -> Figure:
    from matplotlib.ticker import NullFormatter

    for ax in fig.axes:  # minor tick labels on log axes collide; majors are enough
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    return fig


def _dtype_title(results: Results) -> str:
    dts = sorted({r.dtype for r in results if r.ok})
    return "/".join(dts)


# ---------------------------------------------------------------- figures
def fig_time(results: Results) -> Figure:
    """Time per call vs problem size, log-log, one panel per op, min-max band shaded."""
    ops, backends = _ops(results), _backends(results)
    fig, axes = _panels(len(ops), f"Time per call vs problem size ({_dtype_title(results)}; line = median, band = min..max)")
    for ax, op in zip(axes, ops):
        for b in backends:
            recs = _ok(results, op=op, backend=b)
            if not recs:
                continue
            x = [r.elements for r in recs]
            style = backend_style(b, backends)
            ax.plot(x, [r.median_s for r in recs], ms=4, lw=1.4, **style)
            lo = [min(r.samples_s) if r.samples_s else r.min_s for r in recs]
            hi = [max(r.samples_s) if r.samples_s else r.median_s for r in recs]
            ax.fill_between(x, lo, hi, color=style["color"], alpha=0.2, lw=0)
        ax.set(xscale="log", yscale="log", title=op, xlabel="problem size (elements)", ylabel="time per call (s)")
    _legend(fig, backends)
    return _finish(fig)


def speedups(results: Results, baseline: str) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """``{(op, backend): [(elements, baseline_median / median), ...]}`` where both are ok."""
    base = {(r.op, r.label, r.dtype): r.median_s for r in results if r.backend == baseline and r.ok}
    out: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for r in sorted(results, key=lambda r: r.elements):
        t = base.get((r.op, r.label, r.dtype))
        if r.ok and t and r.backend != baseline:
            out[r.op, r.backend].append((r.elements, t / r.median_s))
    return out


def fig_speedup(results: Results, baseline: str = "python") -> Figure:
    """Speedup over ``baseline`` vs problem size, per op, with the 1x line."""
    ops, backends = _ops(results), _backends(results)
    sp = speedups(results, baseline)
    fig, axes = _panels(len(ops), f"Speedup over {baseline} (median time ratio; above 1x = faster than {baseline})")
    for ax, op in zip(axes, ops):
        for b in backends:
            pts = sp.get((op, b))
            if pts:
                ax.plot(*zip(*pts), ms=4, lw=1.4, **backend_style(b, backends))
        ax.axhline(1.0, color="black", lw=0.9, ls="--")
        ax.set(xscale="log", yscale="log", title=op, xlabel="problem size (elements)", ylabel=f"speedup vs {baseline}")
        if not any(sp.get((op, b)) for b in backends):
            ax.text(0.5, 0.5, f"no {baseline} measurements", ha="center", va="center", transform=ax.transAxes)
    _legend(fig, [b for b in backends if b != baseline])
    return _finish(fig)


def _cache_lines(ax: Any, caches: dict[str, int]) -> list[Any]:
    from matplotlib.lines import Line2D

    styles = {"L1": ":", "L2": "-.", "L3": "--"}
    handles = []
    for level, size in caches.items():
        if level in styles:
            ax.axvline(size, color="#555555", lw=0.8, ls=styles[level])
            handles.append(Line2D([], [], color="#555555", lw=0.8, ls=styles[level], label=f"{level} size"))
    return handles


def fig_bandwidth(results: Results) -> Figure:
    """Achieved GB/s vs working set, per op, with STREAM bandwidth and cache sizes marked."""
    from matplotlib.lines import Line2D

    ops, backends = _ops(results), _backends(results)
    bw = results.bandwidth_gbps.get("best")
    caches = results.machine.get("caches", {})
    fig, axes = _panels(len(ops), "Achieved memory bandwidth (minimum bytes moved / median time) vs working set")
    extra: list[Any] = []
    for ax, op in zip(axes, ops):
        for b in backends:
            recs = _ok(results, op=op, backend=b)
            if recs:
                ax.plot([r.bytes for r in recs], [r.gbps for r in recs], ms=4, lw=1.4, **backend_style(b, backends))
        extra = _cache_lines(ax, caches)
        if bw:
            ax.axhline(bw, color="black", lw=1.0)
        ax.set(xscale="log", yscale="log", title=op, xlabel="working set (bytes)", ylabel="GB/s")
    if bw:
        extra = [Line2D([], [], color="black", lw=1.0, label=f"STREAM {bw:.0f} GB/s")] + extra
    _legend(fig, backends, extra)
    return _finish(fig)


def geomean_speedups(results: Results, baseline: str = "numpy") -> dict[tuple[str, str], float | str]:
    """Per (op, backend): geometric-mean speedup over ``baseline``, or ``"failed"``/``"skipped"``."""
    sp = speedups(results, baseline)
    cells: dict[tuple[str, str], float | str] = {}
    for op in dict.fromkeys(r.op for r in results):
        for b in _backends(results):
            recs = results.select(op=op, backend=b)
            if not recs:
                continue
            if b == baseline:
                cells[op, b] = 1.0 if any(r.ok for r in recs) else recs[0].status
            elif sp.get((op, b)):
                cells[op, b] = float(np.exp(np.mean(np.log([s for _, s in sp[op, b]]))))
            else:
                cells[op, b] = "failed" if any(r.status == "failed" for r in recs) else "skipped"
    return cells


def fig_heatmap(results: Results, baseline: str = "numpy") -> Figure:
    """Ops x backends, cell = geometric-mean speedup over numpy (NPBench style)."""
    from matplotlib.colors import LogNorm

    ops = list(dict.fromkeys(r.op for r in results))
    backends = _backends(results)
    cells = geomean_speedups(results, baseline)
    grid = np.full((len(ops), len(backends)), np.nan)
    for (op, b), v in cells.items():
        if isinstance(v, float):
            grid[ops.index(op), backends.index(b)] = v
    fig, ax = plt.subplots(figsize=(1.6 * len(backends) + 2.5, 0.45 * len(ops) + 1.6))
    finite = grid[np.isfinite(grid)]
    span = max(10.0, float(np.max(np.abs(np.log10(finite))))) if finite.size else 10.0
    lim = 10 ** min(span, 3)
    im = ax.imshow(grid, cmap="RdYlGn", norm=LogNorm(1 / lim, lim), aspect="auto")
    for (op, b), v in cells.items():
        i, j = ops.index(op), backends.index(b)
        text = f"{v:.2g}x" if isinstance(v, float) else v
        ax.text(j, i, text, ha="center", va="center", fontsize=8, color="black")
    ax.set_xticks(range(len(backends)), backends)
    ax.set_yticks(range(len(ops)), ops)
    ax.grid(False)
    ax.set_title(f"Geometric-mean speedup over {baseline} across sizes (green = faster)")
    fig.colorbar(im, ax=ax, label=f"speedup vs {baseline}")
    fig.tight_layout()
    return fig


def fig_compile(results: Results) -> Figure:
    """JIT compile time per (op, backend): the first call's excess, apart from run time."""
    jit = [r for r in results if r.compile_time_s is not None]
    ops = list(dict.fromkeys(r.op for r in jit))
    backends = list(dict.fromkeys(r.backend for r in jit))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.0 * len(ops) + 2), 3.6))
    width = 0.8 / max(1, len(backends))
    cached = False
    for j, b in enumerate(backends):
        for i, op in enumerate(ops):
            recs = [r for r in jit if r.op == op and r.backend == b]
            if not recs:
                continue
            first = max(recs, key=lambda r: r.compile_time_s or 0.0)
            hatch = "//" if first.from_cache else None
            cached |= bool(first.from_cache)
            x = i + (j - (len(backends) - 1) / 2) * width
            ax.bar(x, first.compile_time_s, width, color=backend_style(b)["color"], hatch=hatch,
                   edgecolor="white", label=b if i == 0 else None)
            if not first.compile_time_s:
                # The kernel reuses code another op compiled earlier in the same run.
                ax.text(x, 0, "shared", rotation=90, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(ops)), ops, rotation=20, ha="right")
    ax.set(ylabel="compile time (s)", title="JIT compile (or cache load) time of the first call, never part of a timing"
           + ("\nhatched: loaded from Numba's on-disk cache" if cached else ""))
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


ALL_FIGURES = {
    "time_vs_size": fig_time,
    "speedup": fig_speedup,
    "bandwidth": fig_bandwidth,
    "heatmap": fig_heatmap,
    "compile_time": fig_compile,
}


def save(fig: Figure, folder: Path, name: str, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write ``fig`` as ``folder/name.png`` and ``.svg``; close it."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = folder / f"{name}.{fmt}"
        fig.savefig(path, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else None)
        paths.append(path)
    plt.close(fig)
    return paths


def fig_train_epoch(results: Results) -> Figure | None:
    """Time per training epoch vs batch size, log-log, numba-over-numpy speedup annotated."""
    recs = [r for r in results if r.op == "train_epoch" and r.ok and {"batch", "n_x", "m"} <= set(r.size)]
    if not recs:
        return None
    backends = list(dict.fromkeys(r.backend for r in recs))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    by_backend: dict[str, dict[int, float]] = defaultdict(dict)
    for r in sorted(recs, key=lambda r: r.size["batch"]):
        by_backend[r.backend][r.size["batch"]] = r.median_s
    for b in backends:
        pts = sorted(by_backend[b].items())
        ax.plot(*zip(*pts), lw=1.5, ms=5, label=b, **backend_style(b, backends))
    fast = by_backend.get("numba") or {}
    for batch, t_np in sorted(by_backend.get("numpy", {}).items()):
        if batch in fast:
            ax.annotate(f"{t_np / fast[batch]:.0f}x", (batch, fast[batch]), textcoords="offset points",
                        xytext=(0, -13), ha="center", fontsize=8, color=COLORS["numba"])
    size = recs[0].size
    ax.set(xscale="log", yscale="log", xlabel="batch size (examples per gradient step)", ylabel="time per epoch (s)",
           title=f"One epoch of gradient descent, n_x={size['n_x']}, m={size['m']}\n"
                 "(labels: numba speedup over numpy at that batch size)")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def fig_train_cost(histories: dict[str, dict[str, Any]]) -> Figure:
    """Cost vs epoch and vs wall time for BGD, MBGD and SGD on the same data."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (name, h) in enumerate(histories.items()):
        color = _EXTRA[i % len(_EXTRA)]
        ax1.plot(range(len(h["cost"])), h["cost"], color=color, lw=1.5, label=name)
        ax2.plot([1e3 * t for t in h["time_s"]], h["cost"], color=color, lw=1.5, label=name)
    h0 = next(iter(histories.values()))
    ax1.set(xlabel="epoch", ylabel="cost J (whole training set)", title="Cost after each epoch")
    ax2.set(xlabel="wall time spent in the epochs (ms)", ylabel="cost J",
            title=f"Cost vs wall time (backend {h0.get('backend', '?')})")
    fig.suptitle(f"Batch vs mini-batch vs stochastic gradient descent, n_x={h0.get('n_x')}, m={h0.get('m')}, "
                 f"lr={h0.get('lr')}")
    handles, labels = ax1.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def training_figures(results: Results) -> dict[str, Figure]:
    """Figures of the training section: time per epoch vs batch size, cost curves."""
    figs: dict[str, Figure] = {}
    epoch = fig_train_epoch(results)
    if epoch is not None:
        figs["train_epoch"] = epoch
    histories = results.training.get("histories")
    if histories:
        figs["train_cost"] = fig_train_cost(histories)
    return figs
