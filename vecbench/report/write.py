"""Write a report folder: the analysis computed once, then the figures, ``README.md`` and ``report.html``.

Reads results files (vecbench JSON or pytest-benchmark JSON) and never times anything
(``vecbench report --run`` measures through the run path first, then reports from the file it wrote).
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import registry
from ..crossover import crossovers
from ..foreign import is_foreign
from ..records import sweeps_an_axis
from ..results import Results, load
from ..scaling import scaling_series
from .analysis import SLIDE, Part, analyse, lecture_dot, own_drawn, reference, split, summary_rows
from .markdown import render


def plan_figures(results: Results, baseline: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Which figures can be drawn (name -> drawing function) and why the others are left out."""
    from . import figures as plotting

    todo: dict[str, Any] = {}
    left_out: dict[str, str] = {}
    curves = any(r.ok and not sweeps_an_axis(r) and not is_foreign(r.op) for r in results)
    own = own_drawn(results)
    why = "no successful measurement (other than sweeps over an extra axis) to draw"
    for name, draw in (("time_vs_size", plotting.fig_time), ("bandwidth", plotting.fig_bandwidth)):
        if curves:
            todo[name] = lambda draw=draw: draw(results)
        elif not plotting.foreign_groups(results) and not own:
            left_out[name] = why
    if own:  # your computations: each against its own reference kernel
        todo["your_computations"] = lambda: plotting.fig_results(results, own)
    vec, loops = registry.baseline("vectorized"), registry.by_role("loop")
    for base in dict.fromkeys([baseline, vec]):
        name = f"speedup_vs_{base}"
        # Over the vectorized baseline the loop backend is left out: its 0.01x would squash the 0.5-10x band.
        exclude = loops if base == vec != baseline else []
        if plotting.speedups(results, base):
            todo[name] = lambda base=base, exclude=exclude: plotting.fig_speedup(results, base, exclude)
        elif curves:
            left_out[name] = f"no size where `{base}` and another backend both succeeded"
    if any(r.ok and not is_foreign(r.op) for r in results):
        todo["heatmap"] = lambda: plotting.fig_heatmap(results)
    elif curves:
        left_out["heatmap"] = "no successful measurement"
    if plotting.roofline_points(results):
        todo["roofline"] = lambda: plotting.fig_roofline(results)
    if any(r.compile_time_s is not None and not is_foreign(r.op) for r in results):
        todo["compile_time"] = lambda: plotting.fig_compile(results)
    if plotting.foreign_groups(results):
        todo["benchmarks"] = lambda: plotting.fig_groups(results)
    if crossovers(results):  # only where a file holds device records (vecbench.crossover)
        from ..plotting_gpu import fig_crossover

        todo["gpu_crossover"] = lambda: fig_crossover(results)
    if scaling_series(results):  # only where records carry the workers that computed them (vecbench.scaling)
        todo["scaling"] = lambda: plotting.fig_scaling(results)
    return todo, left_out


def _sign(fig: Any, part: Part) -> None:
    """Say on the figure where its data came from (files, and the part's dtype/machine)."""
    src = ", ".join(part.sources) or "a fresh run"
    text = f"data: {src}" + (f" ({part.title})" if part.title else "")
    fig.text(0.995, 0.002, text if len(text) < 160 else text[:157] + "...", ha="right", va="bottom",
             fontsize=6, color="#666666")


def write_report(results: Results, folder: str | Path = "vecbench-report", baseline: str | None = None,
                 sources: Sequence[str] = (), parts: Sequence[Part] = (),
                 say: Callable[[str], None] | None = None) -> list[Path]:
    """Draw every figure that can be drawn and write ``folder/README.md`` and ``folder/report.html``;
    return the files written.

    ``baseline`` is the backend of the first speedup figure (default: the
    loop backend); a second one is drawn over the vectorized backend.
    ``parts`` (:func:`split`) are drawn apart, each figure named with its
    part's suffix; by default everything is one part. ``say`` is told what
    is being drawn, as it goes.
    Everything is written to a temporary folder next to ``folder`` first and
    moved into place only when all of it succeeded, so a failure never leaves
    half a report (nor touches an earlier one).
    """
    from . import figures as plotting
    from . import html

    say = say or (lambda _text: None)
    baseline = baseline or registry.baseline("loop")
    parts = list(parts) or [Part(results, tuple(sources))]
    folder = Path(folder)
    parent = folder.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent))
    try:
        names: list[str] = []
        figures: dict[str, str] = {}
        left_out: dict[str, str] = {}
        drawn_cost = False
        top: dict[str, Callable[[], Any]] = {}
        lec = lecture_dot(results)
        if lec:
            top["lecture"] = lambda: plotting.fig_lecture(lec, SLIDE)
        rows = summary_rows(results)
        if rows:
            top["summary"] = lambda: plotting.fig_summary(rows)
        for name, draw in top.items():  # the first screen: drawn once, from everything
            say(f"drawing {name}")
            fig = draw()
            _sign(fig, Part(results, tuple(sources)))
            names += [p.name for p in plotting.save(fig, tmp, name)]
            figures[name] = f"{name}.png"
        for part in parts:
            todo, skipped = plan_figures(part.results, baseline)
            left_out.update({f"{k}{part.suffix}": v for k, v in skipped.items()})
            try:
                extra = plotting.training_figures(part.results)
            except (TypeError, ValueError, KeyError, AttributeError, IndexError):  # hand-edited histories
                extra = {}
                left_out["train_cost"] = "the training histories in the file are unreadable"
            if drawn_cost:  # the same histories travel with every part of a file: drawn once
                extra.pop("train_cost", None)
            drawn_cost |= "train_cost" in extra
            todo.update(extra)
            for name, draw in todo.items():
                full = f"{name}{part.suffix}"
                say(f"drawing {full}" + (f" ({part.title})" if part.title else ""))
                fig = draw() if callable(draw) else draw
                _sign(fig, part)
                names += [p.name for p in plotting.save(fig, tmp, full)]
                figures[full] = f"{full}.png"
        ref = reference()
        analyses = [analyse(p.results, ref) for p in parts]  # once: the markdown and the page render it
        say("writing README.md")
        md = render(results, figures, sources, baseline, left_out, parts, ref, analyses)
        (tmp / "README.md").write_text(md)
        names.append("README.md")
        say("writing report.html")
        (tmp / "report.html").write_text(html.page(results, md, {n: tmp / f"{n}.svg" for n in figures},
                                                   [a.headline for a in analyses]), encoding="utf-8")
        names.append("report.html")
        return _move_into_place(tmp, folder, names)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _move_into_place(tmp: Path, folder: Path, names: list[str]) -> list[Path]:
    """The finished report replaces the folder's files of the same names (other files are kept)."""
    if not folder.exists():
        os.replace(tmp, folder)  # the whole report appears at once
        return [folder / n for n in names]
    for n in names:
        os.replace(tmp / n, folder / n)
    return [folder / n for n in names]


def expand(patterns: Sequence[str]) -> list[str]:
    """Results files named by ``patterns`` (globs allowed, ``**`` recursive), in order, once each."""
    files: list[str] = []
    for p in patterns:
        hits = sorted(glob.glob(p, recursive=True))
        if not hits and not Path(p).exists():
            raise ValueError(f"no results file matches {p!r}")
        files.extend(hits or [p])
    return list(dict.fromkeys(files))


def check_output_folder(folder: Path) -> None:
    """``ValueError`` unless ``folder`` is (or can become) a folder the report can be written in."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--output: {folder} exists and is not a folder; give a folder for the report")
    parent = folder.resolve().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--output: cannot create or write the report folder {folder} (in {parent})")


def report_files(files: Sequence[str], folder: str | Path, baseline: str | None = None,
                 loaded: Sequence[Results] | None = None,
                 say: Callable[[str], None] | None = None) -> tuple[Results, list[Path]]:
    """Merge the results ``files`` and write their report into ``folder``; return (results, files written).

    ``loaded`` are those files already read (same order; read here when None), so a caller that
    checked them first does not read them twice. Every file is checked before anything is drawn.
    """
    folder = Path(folder)
    check_output_folder(folder)
    loaded = [load(f) for f in files] if loaded is None else list(loaded)
    if len(loaded) != len(files):
        raise ValueError(f"report_files: {len(files)} files but {len(loaded)} loaded results")
    named = [(relative(f, folder), r) for f, r in zip(files, loaded)]
    if not named:
        raise ValueError("give results files (vecbench or pytest-benchmark JSON) or --run")
    results = Results.merge([r for _, r in named])
    if not results.records:
        raise ValueError(f"no measurements in {', '.join(files)} (a vecbench results file, or pytest-benchmark "
                         "JSON with at least one benchmark)")
    parts = split([(name, r) for name, r in named if r.records])
    return results, write_report(results, folder, baseline, [relative(f, folder) for f in files], parts, say)


def relative(path: str, folder: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return path
