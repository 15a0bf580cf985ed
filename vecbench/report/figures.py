"""Figures drawn from results files. Never times anything, never imports the harness.

Every figure uses the same colour and marker per backend, log axes where
sizes span decades, titles and axis units, so each reads on its own.
"""

from __future__ import annotations

import math
import os
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

# Files only, no display needed; but a backend already in use (pyplot imported) or a notebook's (Jupyter's
# kernel sets MPLBACKEND=module://matplotlib_inline...) is left alone: RecordSet.plot() there draws inline.
if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND", "").startswith("module://"):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .. import registry  # noqa: E402
from ..foreign import is_foreign, x_name  # noqa: E402
from ..records import (  # noqa: E402
    Record,
    RecordSet,
    baseline_medians,
    interval,
    speedup,
    speedup_interval,
    sweeps_an_axis,
    untrusted,
)
from ..scaling import scaling_series  # noqa: E402

__all__ = ["backend_style", "save", "ALL_FIGURES"]

# Series of backends that declare no style of their own (or are not installed here).
_EXTRA = ["#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]

plt.rcParams.update({"figure.dpi": 110, "font.size": 9, "axes.titlesize": 10, "legend.fontsize": 8,
                     "axes.grid": True, "grid.alpha": 0.3, "svg.hashsalt": "vecbench"})


def backend_style(backend: str, order: Sequence[str] = ()) -> dict[str, Any]:
    """Colour and marker of a backend: its own ``style`` when it declares one, else a stable pick."""
    known = _declared_styles()
    if backend in known:
        return dict(known[backend])
    extra = sorted(b for b in order if b not in known)
    i = extra.index(backend) if backend in extra else sum(map(ord, backend))
    return {"color": _EXTRA[i % len(_EXTRA)], "marker": "D"}


def _declared_styles() -> dict[str, dict[str, str]]:
    return {b.name: {"color": b.style["color"], "marker": b.style.get("marker", "o")}
            for b in registry.iter_backends() if "color" in b.style}


def _ok(results: RecordSet, **where: Any) -> list[Record]:
    return sorted((r for r in results.select(**where) if r.ok), key=lambda r: r.elements)


def _ops(results: RecordSet) -> list[str]:
    # Sweeps over an extra axis (training's batch size) and foreign pytest-benchmark groups have their own figures.
    return list(dict.fromkeys(r.op for r in results if r.ok and not sweeps_an_axis(r) and not is_foreign(r.op)))


def _backends(results: RecordSet) -> list[str]:
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


def _points(ax: Any, x: Sequence[float], y: Sequence[float], lo: Sequence[float], hi: Sequence[float],
            flagged: Sequence[bool], style: dict[str, Any]) -> None:
    """A line through the points with 95% error bars; untrusted points hollow."""
    ax.plot(x, y, lw=1.4, color=style["color"])
    yerr = np.array([[max(v - a, 0.0) for v, a in zip(y, lo)], [max(b - v, 0.0) for v, b in zip(y, hi)]])
    ax.errorbar(x, y, yerr=yerr, fmt="none", ecolor=style["color"], elinewidth=1.0, capsize=2)
    for xi, yi, bad in zip(x, y, flagged):
        ax.plot([xi], [yi], ms=5, ls="none", marker=style["marker"], color=style["color"],
                markerfacecolor="white" if bad else style["color"])


def _skips(ax: Any, results: RecordSet, op: str, backends: Sequence[str]) -> bool:
    """Mark sizes a backend skipped with an x on the bottom edge; True if any."""
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transData, ax.transAxes)
    marked = False
    for b in backends:
        for r in results.select(op=op, backend=b, status="skipped"):
            if r.size and not sweeps_an_axis(r):
                ax.plot([r.elements], [0.02], marker="x", ms=5, color=backend_style(b, backends)["color"],
                        transform=trans, clip_on=False, ls="none")
                marked = True
    return marked


def _flag_handles(results: RecordSet, skipped: bool) -> list[Any]:
    from matplotlib.lines import Line2D

    handles = []
    if any(r.ok and untrusted(r) for r in results):
        handles.append(Line2D([], [], marker="o", ls="none", color="black", markerfacecolor="white",
                              label="hollow: contended or noisy"))
    if skipped:
        handles.append(Line2D([], [], marker="x", ls="none", color="black", label="x: skipped (reasons in the report)"))
    return handles


def _dtype_title(results: RecordSet) -> str:
    dts = sorted({r.dtype for r in results if r.ok})
    return "/".join(dts)


# ---------------------------------------------------------------- figures
def fig_time(results: RecordSet) -> Figure:
    """Time per call vs problem size, log-log, one panel per op, min-max band shaded."""
    ops, backends = _ops(results), _backends(results)
    fig, axes = _panels(len(ops), f"Time per call vs problem size ({_dtype_title(results)}; "
                                  "median, bars = 95% interval of the median)")
    skipped = False
    for ax, op in zip(axes, ops):
        for b in backends:
            recs = _ok(results, op=op, backend=b)
            if not recs:
                continue
            ci = [interval(r) for r in recs]
            _points(ax, [r.elements for r in recs], [c[1] for c in ci], [c[0] for c in ci], [c[2] for c in ci],
                    [untrusted(r) for r in recs], backend_style(b, backends))
        skipped |= _skips(ax, results, op, backends)
        ax.set(xscale="log", yscale="log", title=op, xlabel="problem size (elements)", ylabel="time per call (s)")
    _legend(fig, backends, _flag_handles(results, skipped))
    return _finish(fig)


def speedups(results: RecordSet, baseline: str) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """``{(op, backend): [(elements, baseline_median / median), ...]}`` where both are ok."""
    base = baseline_medians(results, baseline)
    out: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for r in sorted(results, key=lambda r: r.elements):
        if is_foreign(r.op):  # other suites and your own computations: their kernels are not the backends
            continue
        s = speedup(r, base)
        if s is not None and r.backend != baseline:
            out[r.op, r.backend].append((r.elements, s))
    return out


def _role(name: str | None, role: str) -> str:
    """``name``, or the backend that plays ``role`` (the loop or the vectorized baseline)."""
    return name if name is not None else registry.baseline(role)


def fig_speedup(results: RecordSet, baseline: str | None = None, exclude: Sequence[str] = ()) -> Figure:
    """Speedup over ``baseline`` (default: the loop backend) vs problem size, per op, with the 1x line.

    ``exclude``: backends left out (the loop backend from the speedup over the
    vectorized one, so its 0.01x points do not squash the 0.5-10x band).
    """
    baseline = _role(baseline, "loop")
    ops, backends = _ops(results), [b for b in _backends(results) if b not in exclude]
    sp = speedups(results, baseline)
    fig, axes = _panels(len(ops), f"Speedup over {baseline} (median time ratio, bars = approx. 95% interval; "
                                  f"above 1x = faster than {baseline})")
    base = {(r.op, r.label, r.dtype): r for r in results if r.backend == baseline and r.ok}
    skipped = False
    for ax, op in zip(axes, ops):
        for b in backends:
            pairs = [(base[r.op, r.label, r.dtype], r) for r in _ok(results, op=op, backend=b)
                     if b != baseline and (r.op, r.label, r.dtype) in base and r.median_s]
            if pairs:
                ci = [speedup_interval(t, r) for t, r in pairs]
                _points(ax, [r.elements for _, r in pairs], [c[1] for c in ci], [c[0] for c in ci],
                        [c[2] for c in ci], [untrusted(t) or untrusted(r) for t, r in pairs],
                        backend_style(b, backends))
        skipped |= _skips(ax, results, op, [b for b in backends if b != baseline])
        ax.axhline(1.0, color="black", lw=0.9, ls="--")
        ax.set(xscale="log", yscale="log", title=op, xlabel="problem size (elements)", ylabel=f"speedup vs {baseline}")
        if not any(sp.get((op, b)) for b in backends):
            ax.text(0.5, 0.5, f"no {baseline} measurements", ha="center", va="center", transform=ax.transAxes)
    _legend(fig, [b for b in backends if b != baseline], _flag_handles(results, skipped))
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


def _roof_note(results: RecordSet) -> str:
    """What to doubt about the measured bandwidth roof ("" when nothing): a contended probe, arrays in cache."""
    from ..bandwidth import contended

    bw = results.bandwidth_gbps
    notes = []
    if contended(bw):
        notes.append("probe contended")
    if bw.get("memory") == 0.0:
        notes.append("probe arrays partly in cache")
    return f" ({', '.join(notes)}: roof uncertain)" if notes else ""


def fig_bandwidth(results: RecordSet) -> Figure:
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
            ax.axhline(bw, color="black", lw=1.0, ls="--" if _roof_note(results) else "-")
        ax.set(xscale="log", yscale="log", title=op, xlabel="working set (bytes)", ylabel="GB/s")
    if bw:
        extra = [Line2D([], [], color="black", lw=1.0, ls="--" if _roof_note(results) else "-",
                        label=f"STREAM {bw:.0f} GB/s{_roof_note(results)}")] + extra
    _legend(fig, backends, extra)
    return _finish(fig)


def geomean_speedups(results: RecordSet, baseline: str | None = None) -> dict[tuple[str, str], float | str]:
    """Per (op, backend): geometric-mean speedup over ``baseline`` (default: the vectorized
    backend), or ``"failed"``/``"skipped"``."""
    baseline = _role(baseline, "vectorized")
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


def fig_heatmap(results: RecordSet, baseline: str | None = None) -> Figure:
    """Ops x backends, cell = geometric-mean speedup over the vectorized baseline (NPBench style)."""
    baseline = _role(baseline, "vectorized")
    from matplotlib.colors import LogNorm

    ops = [op for op in dict.fromkeys(r.op for r in results) if not is_foreign(op)]
    backends = list(dict.fromkeys(r.backend for r in results if not is_foreign(r.op)))
    cells = {k: v for k, v in geomean_speedups(results, baseline).items() if k[0] in ops}
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


def fig_compile(results: RecordSet) -> Figure:
    """JIT compile time per (op, backend): the first call's excess, apart from run time; a cold compile
    in a fresh cache (``results.cold_compile_s``) drawn as a black tick above its bar when measured."""
    jit = [r for r in results if r.compile_time_s is not None and (not is_foreign(r.op) or r.op in results.own_ops)]
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
            ax.bar(x, first.compile_time_s or 0.0, width, color=backend_style(b)["color"], hatch=hatch,
                   edgecolor="white", label=b if i == 0 else None)
            cold = results.cold_compile_s.get(f"{op}/{b}")
            if cold:
                ax.plot([x - width / 2, x + width / 2], [cold, cold], color="black", lw=2)
                ax.text(x, cold, f"{cold:.2g}", ha="center", va="bottom", fontsize=6)
            if not first.compile_time_s:
                # The kernel reuses code another op compiled earlier in the same run.
                ax.text(x, 0, "shared", rotation=90, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(ops)), ops, rotation=20, ha="right")
    if results.cold_compile_s:
        ax.set_yscale("log")  # cache loads (ms) and cold compiles (s) on one axis
    ax.set(ylabel="compile time (s)", title="JIT compile (or cache load) time of the first call, never part of a timing"
           + ("\nhatched: loaded from Numba's on-disk cache" if cached else "")
           + ("\nblack tick: cold compile in a fresh cache" if results.cold_compile_s else ""))
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


def fig_axis(results: RecordSet, op: str) -> Figure | None:
    """Time per call of ``op`` vs its extra axis (time per epoch vs batch size), log-log.

    Each point of the fastest compiled backend is labelled with its speedup
    over the vectorized baseline at that value.
    """
    spec = registry.spec(op)
    # Records from hand-edited files may lack size keys: only complete sizes are drawn.
    recs = [r for r in results if r.op == op and r.ok and sweeps_an_axis(r) and set(spec.size_keys) <= set(r.size)]
    if not recs or not spec.axes:
        return None
    axis = next(a for a in spec.axes if a.name in recs[0].size)
    backends = list(dict.fromkeys(r.backend for r in recs))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    by_backend: dict[str, dict[int, float]] = defaultdict(dict)
    for r in sorted(recs, key=lambda r: r.size[axis.name]):
        if r.median_s is not None:
            by_backend[r.backend][r.size[axis.name]] = r.median_s
    for b in backends:
        mine = sorted((r for r in recs if r.backend == b), key=lambda r: r.size[axis.name])
        ci = [interval(r) for r in mine]
        style = backend_style(b, backends)
        _points(ax, [r.size[axis.name] for r in mine], [c[1] for c in ci], [c[0] for c in ci], [c[2] for c in ci],
                [untrusted(r) for r in mine], style)
        ax.plot([], [], lw=1.5, ms=5, label=b, **style)
    vec = registry.baseline("vectorized")
    compiled = [b for b in registry.by_role("compiled") if b in by_backend]
    fast = compiled[0] if compiled else None
    for value, t_vec in sorted(by_backend.get(vec, {}).items()):
        if fast and value in by_backend[fast]:
            t = by_backend[fast][value]
            ax.annotate(f"{t_vec / t:.0f}x", (value, t), textcoords="offset points",
                        xytext=(0, -13), ha="center", fontsize=8, color=backend_style(fast, backends)["color"])
    rest = ", ".join(f"{k}={v}" for k, v in recs[0].size.items() if k != axis.name)
    note = f"\n(labels: {fast} speedup over {vec} at that {axis.name})" if fast else ""
    ax.set(xscale="log", yscale="log", xlabel=axis.label, ylabel="time per call (s)",
           title=f"{op}: {spec.summary.split(':')[0]}, {rest}{note}")
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


def training_figures(results: RecordSet) -> dict[str, Figure]:
    """Figures of sweeps over an op's extra axis (time per epoch vs batch size), and cost curves."""
    figs: dict[str, Figure] = {}
    for op in dict.fromkeys(r.op for r in results if r.ok and sweeps_an_axis(r)):
        fig = fig_axis(results, op)
        if fig is not None:
            figs[op] = fig
    histories = results.training.get("histories")
    if histories:
        figs["train_cost"] = fig_train_cost(histories)
    return figs


# ---------------------------------------------------------------- any pytest-benchmark file
def foreign_groups(results: RecordSet) -> list[str]:
    """Groups of foreign pytest-benchmark files in ``results`` (ops the registry does not know, other than
    your own computations, which :func:`fig_results` draws)."""
    return list(dict.fromkeys(r.op for r in results if r.ok and is_foreign(r.op) and r.op not in results.own_ops))


# ---------------------------------------------------------------- each op against its own baseline
def fig_results(results: RecordSet, ops: Sequence[str] | None = None) -> Figure:
    """One row per op: time per call vs size (left) and speedup over the op's baseline (right).

    The baseline is :meth:`Results.baseline_of <vecbench.results.Results.baseline_of>`: your
    computation's reference kernel, or the loop backend for vecbench's ops. Bars are 95% intervals;
    hollow points were timed on a busy machine; an x on the bottom edge is a skipped size.
    """
    chosen = list(ops) if ops is not None else list(dict.fromkeys(r.op for r in results if r.ok))
    unknown = [op for op in chosen if not any(r.op == op for r in results)]
    if unknown:
        raise KeyError(f"plot: no records of {unknown[0]!r}; the results hold {list(dict.fromkeys(r.op for r in results))}")
    if not chosen:
        raise ValueError("plot: nothing was measured successfully, so there is nothing to draw (see the failures)")
    fig, grid = plt.subplots(len(chosen), 2, figsize=(10, 3.4 * len(chosen) + 0.6), squeeze=False)
    for (ax_t, ax_s), op in zip(grid, chosen):
        backends = list(dict.fromkeys(r.backend for r in results if r.op == op))
        base = results.baseline_of(op)
        own = op in results.own_ops
        xlabel = "n" if own else "problem size (elements)"
        by_base = {(r.label, r.dtype): r for r in results if r.op == op and r.backend == base and r.ok}
        for b in backends:
            style = backend_style(b, backends)
            recs = _ok(results, op=op, backend=b)
            if recs:
                ci = [interval(r) for r in recs]
                _points(ax_t, [r.elements for r in recs], [c[1] for c in ci], [c[0] for c in ci], [c[2] for c in ci],
                        [untrusted(r) for r in recs], style)
                ax_t.plot([], [], label=b, **style)
            pairs = [(by_base[r.label, r.dtype], r) for r in recs if b != base and (r.label, r.dtype) in by_base]
            if pairs:
                sp = [speedup_interval(t, r) for t, r in pairs]
                _points(ax_s, [r.elements for _, r in pairs], [c[1] for c in sp], [c[0] for c in sp],
                        [c[2] for c in sp], [untrusted(t) or untrusted(r) for t, r in pairs], style)
                ax_s.plot([], [], label=b, **style)
        _skips(ax_t, results, op, backends)
        ax_t.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="time per call (s)", title=f"{op}: time per call")
        ax_s.axhline(1.0, color="black", lw=0.9, ls="--")
        ax_s.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=f"speedup vs {base}",
                 title=f"{op}: speedup over {base} (above 1x: faster)")
        if not ax_s.lines[1:]:
            ax_s.text(0.5, 0.5, f"no size where {base} and another kernel both succeeded", ha="center", va="center",
                      transform=ax_s.transAxes, fontsize=8)
        for ax in (ax_t, ax_s):
            if ax.get_legend_handles_labels()[0]:
                ax.legend(frameon=False, fontsize=7)
    fig.suptitle("Median time per call and speedup (bars: 95% intervals; hollow: busy machine; x: skipped size)",
                 fontsize=10)
    return _finish(fig)


def fig_groups(results: RecordSet) -> Figure:
    """One panel per pytest-benchmark group: time vs its numeric parameter, one line per test function;
    a group without a numeric parameter is drawn as bars (median, 95% interval)."""
    groups = foreign_groups(results)
    fig, axes = _panels(len(groups), "pytest-benchmark: time per call (median, bars = 95% interval of the median)",
                        width=4.2, height=3.2)
    for ax, group in zip(axes, groups):
        recs = [r for r in results if r.op == group and r.ok]
        series = list(dict.fromkeys(r.backend for r in recs))
        if any(r.size for r in recs):
            key = x_name(recs)
            for s in series:
                mine = sorted((r for r in recs if r.backend == s and r.size), key=lambda r: r.elements)
                ci = [interval(r) for r in mine]
                style = backend_style(s, series)
                _points(ax, [r.elements for r in mine], [c[1] for c in ci], [c[0] for c in ci], [c[2] for c in ci],
                        [untrusted(r) for r in mine], style)
                ax.plot([], [], label=s, **style)
            xs = [r.elements for r in recs if r.size]
            log = min(xs) > 0 and max(xs) / min(xs) >= 20
            ax.set(xscale="log" if log else "linear", yscale="log", xlabel=key, ylabel="time per call (s)")
        else:
            ci = [interval(r) for r in recs]
            y = np.arange(len(recs))
            ax.barh(y, [c[1] for c in ci], xerr=np.array([[c[1] - c[0] for c in ci], [c[2] - c[1] for c in ci]]),
                    color=[backend_style(r.backend, series)["color"] for r in recs], capsize=2)
            ax.set_yticks(y, [f"{r.backend}{f' [{r.label}]' if r.label else ''}" for r in recs], fontsize=7)
            ax.invert_yaxis()
            ax.set(xlabel="time per call (s)")
        ax.set_title(group)
        if len(series) > 1 and any(r.size for r in recs):
            ax.legend(frameon=False, fontsize=7)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


# ---------------------------------------------------------------- roofline
def roofline_points(results: RecordSet) -> list[Record]:
    """Per (op, backend, dtype): the record at its largest ok size with flops and bytes (what the roofline draws)."""
    best: dict[tuple[str, str, str], Record] = {}
    for r in results:
        if (r.ok and r.flops and r.bytes and (not is_foreign(r.op) or r.op in results.own_ops)
                and not sweeps_an_axis(r)):
            k = (r.op, r.backend, r.dtype)
            if k not in best or r.elements > best[k].elements:
                best[k] = r
    return list(best.values())


def fig_roofline(results: RecordSet) -> Figure:
    """GFLOP/s vs arithmetic intensity (flops per minimum byte) for every op and backend at its largest size,
    under the two measured roofs: memory bandwidth (STREAM) x intensity, and the compute peak (dgemm)."""
    pts = roofline_points(results)
    bw = results.bandwidth_gbps.get("best")
    peak = results.peak_gflops.get("best")
    backends = list(dict.fromkeys(r.backend for r in pts))
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    ai = [r.flops / r.bytes for r in pts]
    lo, hi = min(ai + [0.05]) / 2, max(ai + [peak / bw if peak and bw else 1.0]) * 4
    xs = np.geomspace(lo, hi, 200)
    note = _roof_note(results)
    if bw and peak:
        ax.plot(xs, np.minimum(bw * xs, peak), color="black", lw=1.6, ls="--" if note else "-",
                label=f"roof: min({bw:.0f} GB/s x intensity, {peak:.0f} GFLOP/s){note}")
        ax.axvline(peak / bw, color="#777777", lw=0.8, ls=":")
    elif bw:
        ax.plot(xs, bw * xs, color="black", lw=1.6, label=f"memory roof {bw:.0f} GB/s (no compute peak in the file)")
    elif peak:
        ax.axhline(peak, color="black", lw=1.6, label=f"compute roof {peak:.0f} GFLOP/s (no bandwidth in the file)")
    for r, x in zip(pts, ai):
        style = backend_style(r.backend, backends)
        ax.plot([x], [r.gflops or 0.0], ls="none", ms=6, markerfacecolor="white" if untrusted(r) else style["color"], **style)
        ax.annotate(r.op, (x, r.gflops or 0.0), textcoords="offset points", xytext=(4, 3), fontsize=6, color="#333333")
    for b in backends:
        ax.plot([], [], ls="none", label=b, **backend_style(b, backends))
    if any(untrusted(r) for r in pts):
        ax.plot([], [], ls="none", marker="o", color="black", markerfacecolor="white", label="hollow: contended or noisy")
    ax.set(xscale="log", yscale="log", xlabel="arithmetic intensity (flops per byte of minimum traffic)",
           ylabel="GFLOP/s (median)", title="Roofline: each op and backend at its largest size; "
                                             "the distance to the black roof is what is left")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- the report's first screen
def fig_lecture(lec: dict[str, Any], slide: dict[str, float]) -> Figure:
    """The lecture's experiment as a small bar chart: the slide's two times beside this machine's, log scale,
    with 95% intervals; hatched bars were timed on a contended machine or are noisy."""
    rows = [("slide: for-loop", slide["loop_ms"], None, False, "#bbbbbb"),
            ("slide: np.dot", slide["vectorized_ms"], None, False, "#bbbbbb")]
    for key, name in (("loop", lec["loop_backend"]), ("vectorized", lec["vectorized_backend"]),
                      ("fastest", lec["fastest_backend"])):
        if key == "fastest" and name == lec["vectorized_backend"]:
            continue
        ci = lec.get(f"{key}_ci")
        rows.append((f"here: {name}", lec[f"{key}_ms"], ci, bool(lec.get(f"{key}_untrusted")),
                     backend_style(name)["color"]))
    fig, ax = plt.subplots(figsize=(5.2, 0.36 * len(rows) + 1.0))
    ys = np.arange(len(rows))[::-1]
    for y, (_label, ms, ci, bad, color) in zip(ys, rows):
        ax.barh(y, ms, color="white" if bad else color, edgecolor=color, hatch="//" if bad else None, lw=1.2)
        if ci:
            ax.errorbar([ms], [y], xerr=[[max(ms - ci[0], 0.0)], [max(ci[1] - ms, 0.0)]], fmt="none", ecolor="black",
                        capsize=3, lw=1.0)
        ax.annotate(f"{ms:.3g} ms" + (" (contended/noisy)" if bad else ""), (ci[1] if ci else ms, y), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(ys, [r[0] for r in rows])
    ax.set(xscale="log", xlabel="ms per dot product of two 1e6 vectors (log)",
           title=f"The lecture's experiment: {lec['speedup']:.3g}x here{' (contended/noisy)' if lec.get('untrusted') else ''} (slide: "
                 f"{slide['loop_ms'] / slide['vectorized_ms']:.0f}x)")
    ax.set_xlim(min(r[1] for r in rows) / 3, max(r[1] for r in rows) * 8)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def fig_summary(rows: Sequence[dict[str, Any]]) -> Figure:
    """What vectorization buys per op: the best backend's speedup over the loop and over the vectorized
    baseline at the op's headline size, with 95% intervals (paired rounds where measured); hollow points
    were timed on a contended machine or are noisy.

    ``rows``: ``op``, ``label``, ``backend``, ``vs_loop``/``vs_vectorized`` as ``(low, value, high)`` or None,
    ``untrusted``, and ``loop``/``vectorized`` (the baselines' names).
    """
    rows = list(rows)
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 0.36 * len(rows) + 1.4), sharey=True, squeeze=False)
    ys = np.arange(len(rows))[::-1]
    names = list(dict.fromkeys(r["backend"] for r in rows))
    for ax, key in zip(axes[0], ("vs_loop", "vs_vectorized")):
        for y, r in zip(ys, rows):
            v = r.get(key)
            if not v:
                continue
            lo, x, hi = v
            style = backend_style(r["backend"], names)
            ax.errorbar([x], [y], xerr=[[max(x - lo, 0.0)], [max(hi - x, 0.0)]], fmt="none", ecolor=style["color"],
                        capsize=3, lw=1.2)
            ax.plot([x], [y], ls="none", ms=7, markerfacecolor="white" if r["untrusted"] else style["color"], **style)
            ax.annotate(f"{x:.3g}x", (hi, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
        ax.axvline(1.0, color="black", lw=0.8, ls="--")
        base = rows[0]["loop"] if key == "vs_loop" else rows[0]["vectorized"]
        ax.set(xscale="log", title=f"best backend vs {base}", xlabel=f"speedup over {base} (log; > 1: faster)")
        ax.grid(axis="y", visible=False)
    axes[0][0].set_yticks(ys, [f"{r['op']} {r['label']}" for r in rows])
    for ax in axes[0]:
        lo_x, hi_x = ax.get_xlim()
        ax.set_xlim(lo_x, hi_x * 3)
    handles = _flag_handles_any(any(r["untrusted"] for r in rows))
    _legend(fig, names, handles)
    fig.suptitle("What vectorization buys: the fastest backend per op at its largest common size", fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    return fig


def _flag_handles_any(flagged: bool) -> list[Any]:
    from matplotlib.lines import Line2D

    return ([Line2D([], [], marker="o", ls="none", color="black", markerfacecolor="white",
                    label="hollow: contended or noisy")] if flagged else [])


# ---------------------------------------------------------------- scaling over workers (vecbench.scaling)
def draw_scaling(ax: Any, results: Iterable[Record], kind: str = "strong") -> bool:
    """Time per call against workers on ``ax`` (log-log), one line per ``kind`` series.

    Strong scaling also draws the ideal ``t(w0) w0 / w`` (dotted) and each
    single-process backend at that size as a horizontal dashed line. Returns
    False (and draws nothing) when ``results`` hold no such series.
    """
    series = [s for s in scaling_series(results) if s.kind == kind]
    if not series:
        return False
    names = list(dict.fromkeys([s.backend for s in series] + [b for s in series for b, _, _ in s.references]))
    several = len(series) > 1
    for s in series:
        style = backend_style(s.backend, names)
        ws = [p.workers for p in s.points]
        ts = [p.median_s for p in s.points]
        lo = [p.median_s - p.ci[0] if p.ci else 0.0 for p in s.points]
        hi = [p.ci[1] - p.median_s if p.ci else 0.0 for p in s.points]
        tag = f" {s.op} {s.size}" if several else ""
        ax.errorbar(ws, ts, yerr=[lo, hi], color=style["color"], marker=style["marker"], capsize=2,
                    label=f"{s.backend}{tag}")
        if kind == "strong":
            ax.plot(ws, [ts[0] * ws[0] / w for w in ws], ls=":", color=style["color"], lw=0.8)
            for b, threads, t in s.references:
                ax.axhline(t, ls="--", lw=0.9, color=backend_style(b, names)["color"],
                           label=f"{b} ({threads} thr){tag}")
    from matplotlib.ticker import NullFormatter, NullLocator

    ax.set_xscale("log", base=2)
    ticks = sorted({p.workers for s in series for p in s.points})
    ax.set_xticks(ticks, [str(w) for w in ticks])  # worker counts, not powers of two
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yscale("log")
    ax.set_xlabel("workers")
    ax.set_ylabel("time per call (s)")
    ax.set_title("Strong scaling (dotted: ideal; dashed: one process)" if kind == "strong"
                 else "Weak scaling (work per worker fixed; flat is ideal)")
    ax.legend(fontsize="small")
    return True


def fig_scaling(results: Iterable[Record]) -> Any:
    """A figure with a strong and/or a weak scaling panel (None when there is no series)."""

    results = list(results)  # read twice below
    kinds = [k for k in ("strong", "weak") if any(s.kind == k for s in scaling_series(results))]
    if not kinds:
        return None
    fig = Figure(figsize=(6 * len(kinds), 4.5))
    for ax, kind in zip(fig.subplots(1, len(kinds), squeeze=False)[0], kinds):
        draw_scaling(ax, results, kind)
    fig.tight_layout()
    return fig
