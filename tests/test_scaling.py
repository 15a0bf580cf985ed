"""Scaling over workers (vecbench.scaling), on synthetic results: no cluster needed."""

from __future__ import annotations

import math

import pytest
from matplotlib.figure import Figure

import vecbench as vb
from vecbench.records import Record, Timing
from vecbench.report.figures import draw_scaling, fig_scaling
from vecbench.results import Results
from vecbench.scaling import (
    beats_one_process,
    scaling_lines,
    scaling_rows,
    scaling_series,
    task_costs,
)

OP = "logreg_grad"


def _rec(backend: str, m: int, median: float, workers: int | None = None, chunk: int | None = None,
         threads: int = 1, dtype: str = "float64") -> Record:
    size = {"n_x": 10, "m": m}
    t = Timing(samples_s=(median,) * 3, loops_per_sample=1, min_s=median, median_s=median, iqr_s=0.0,
               ci_low_s=median * 0.9, ci_high_s=median * 1.1)
    facts = {} if workers is None else {"workers": workers, **({"chunk": chunk} if chunk else {})}
    return Record(OP, backend, size, vb.spec(OP).label(size), dtype, threads, timing=t,
                  flops=vb.spec(OP).flops(size), facts=facts)


def _synthetic() -> Results:
    recs = [
        # strong scaling at m = 4000: 8 ms, 5 ms, 4 ms (two chunk sizes at 2 workers: the faster one counts)
        _rec("clustered", 4000, 8e-3, workers=1, chunk=2000),
        _rec("clustered", 4000, 6e-3, workers=2, chunk=500),
        _rec("clustered", 4000, 5e-3, workers=2, chunk=2000),
        _rec("clustered", 4000, 4e-3, workers=4, chunk=1000),
        # weak scaling: 1000 examples per worker; m = 1000 on 1, 2000 on 2, 4000 on 4 (the 4-worker point above)
        _rec("clustered", 1000, 2e-3, workers=1),
        _rec("clustered", 2000, 2.5e-3, workers=2),
        # one size on one worker count only: no series
        _rec("clustered", 8000, 1e-2, workers=1),
        # the single-process lines at m = 4000: numpy at 1 and 2 threads (the faster kept), another backend
        _rec("numpy", 4000, 1e-3, threads=1),
        _rec("numpy", 4000, 0.8e-3, threads=2),
        _rec("loops", 4000, 3e-2),
        _rec("numpy", 1000, 0.3e-3),
    ]
    return Results(records=recs)


def test_strong_scaling_speedup_and_efficiency():
    strong = [s for s in scaling_series(_synthetic()) if s.kind == "strong"]
    assert len(strong) == 1
    s = strong[0]
    assert (s.op, s.backend, s.size) == (OP, "clustered", vb.spec(OP).label({"n_x": 10, "m": 4000}))
    assert [p.workers for p in s.points] == [1, 2, 4]
    assert [p.median_s for p in s.points] == [8e-3, 5e-3, 4e-3]  # the faster chunk at 2 workers
    assert s.points[1].chunk == 2000
    assert [p.speedup for p in s.points] == pytest.approx([1.0, 1.6, 2.0])
    assert [p.efficiency for p in s.points] == pytest.approx([1.0, 0.8, 0.5])
    # each single-process backend once, at its fastest thread count, fastest first
    assert s.references == (("numpy", 2, 0.8e-3), ("loops", 1, 3e-2))


def test_weak_scaling_keeps_the_work_per_worker_fixed():
    weak = [s for s in scaling_series(_synthetic()) if s.kind == "weak"]
    assert len(weak) == 1
    pts = weak[0].points
    assert [(p.workers, p.label) for p in pts] == [
        (w, vb.spec(OP).label({"n_x": 10, "m": 1000 * w})) for w in (1, 2, 4)]
    assert [p.efficiency for p in pts] == pytest.approx([1.0, 0.8, 0.5])
    assert "flops per worker" in weak[0].size


def test_rows_and_markdown_carry_the_numbers():
    rows = scaling_rows(_synthetic())
    assert {(r["kind"], r["workers"]) for r in rows} == {("strong", 1), ("strong", 2), ("strong", 4),
                                                         ("weak", 1), ("weak", 2), ("weak", 4)}
    text = "\n".join(scaling_lines(_synthetic()))
    assert "**Strong scaling: `logreg_grad` float64, `clustered`" in text
    assert "| 4 | " in text and "| 2x | 50% |" in text  # 4 workers: speedup 2x, efficiency 50%
    assert "`numpy` 800 µs (2 threads; `clustered` at its fastest takes 5x as long)" in text  # 4 ms / 0.8 ms
    assert "**Weak scaling" in text


def test_nothing_without_workers():
    plain = Results(records=[_rec("numpy", 4000, 1e-3), _rec("numba", 4000, 0.5e-3)])
    assert scaling_series(plain) == [] and scaling_lines(plain) == [] and fig_scaling(plain) is None
    one = Results(records=[_rec("clustered", 4000, 1e-3, workers=2), _rec("clustered", 2000, 1e-3, workers=2)])
    assert scaling_series(one) == []  # one worker count: neither strong nor weak scaling


def test_failed_records_are_left_out():
    res = _synthetic()
    res.records.append(Record(OP, "clustered", {"n_x": 10, "m": 4000}, "x", "float64", 1, status="failed",
                              reason="worker died", facts={"workers": 8}))
    assert max(p.workers for s in scaling_series(res) for p in s.points) == 4


def test_draws_on_a_given_axes():
    ax = Figure().subplots()
    assert draw_scaling(ax, _synthetic(), "strong")
    xs = ax.lines[0].get_xdata()
    assert list(xs) == [1, 2, 4] and [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4"]
    labels = ax.get_legend_handles_labels()[1]
    assert "clustered" in labels and any(lbl.startswith("numpy (2 thr)") for lbl in labels)
    ideal = [line for line in ax.lines if line.get_linestyle() == ":"][0]
    assert list(ideal.get_ydata()) == pytest.approx([8e-3, 4e-3, 2e-3])
    assert not draw_scaling(Figure().subplots(), Results(), "weak")
    fig = fig_scaling(_synthetic())
    assert len(fig.axes) == 2 and math.isclose(fig.get_figwidth(), 12)


def _sweep_rec(m: int, tasks: int, median: float, workers: int = 2) -> Record:
    size = {"n_x": 10, "m": m}
    t = Timing(samples_s=(median,) * 3, loops_per_sample=1, min_s=median, median_s=median, iqr_s=0.0)
    return Record(OP, "clustered", size, vb.spec(OP).label(size), "float64", workers, timing=t,
                  bytes=vb.spec(OP).nbytes(size, 8), facts={"workers": workers, "tasks": tasks})


def test_task_cost_fit_recovers_fixed_and_per_byte_costs():
    fixed, per_byte = 2e-4, 1e-9  # 200 us per task, 1 GB/s
    recs = [_sweep_rec(m, tasks, fixed * tasks + per_byte * vb.spec(OP).nbytes({"n_x": 10, "m": m}, 8))
            for m in (10_000, 40_000) for tasks in (3, 9, 33)]
    recs.append(_sweep_rec(10_000, 5, 1.0, workers=4))  # another worker count: not in this fit (and alone)
    (c,) = task_costs(Results(records=recs))
    assert (c.workers, c.points) == (2, 6)
    assert c.fixed_s_per_task == pytest.approx(fixed) and c.s_per_byte == pytest.approx(per_byte)
    text = "\n".join(scaling_lines(Results(records=recs)))
    assert "| logreg_grad | float64 | clustered | 2 | 6 | 200 µs | 1 ns | 1 GB/s |" in text
    # one size only: tasks and bytes do not vary apart, no fit
    assert task_costs([r for r in recs if r.size["m"] == 10_000 and r.facts["workers"] == 2]) == []


def test_where_distribution_pays():
    recs = [_rec("clustered", m, t, workers=w) for m, t, w in ((1000, 5e-3, 1), (4000, 4e-3, 2), (16000, 6e-3, 2))]
    recs += [_rec("numpy", 1000, 1e-3), _rec("numpy", 4000, 5e-3), _rec("numpy", 16000, 2e-2),
             _rec("numba", 16000, 1.2e-2)]
    (b,) = beats_one_process(recs)
    assert b.since == vb.spec(OP).label({"n_x": 10, "m": 4000})  # wins at 4000 and 16000, not at 1000
    assert (b.best_single, b.single_s, b.scaled_s, b.workers) == ("numba", 1.2e-2, 6e-3, 2)
    lost = [_rec("clustered", 4000, 4e-3, workers=2), _rec("clustered", 16000, 1e-2, workers=2),
            _rec("numpy", 4000, 5e-3), _rec("numpy", 16000, 5e-3)]
    (never,) = beats_one_process(lost)  # a win at a smaller size followed by a loss: never
    assert never.since is None
    assert "| never |" in "\n".join(scaling_lines(lost))


def test_a_cluster_is_not_a_device():
    # Inputs persisted on a cluster's workers are stored as transfer_in_s, like a device copy; the record's
    # workers say it is a cluster's: the CPU-or-GPU crossover leaves it to the scaling tables.
    from vecbench.crossover import crossovers

    cluster = _rec("clustered", 4000, 4e-3, workers=2)
    cluster = Record(**{**cluster.__dict__, "timing": Timing(**{**cluster.timing.__dict__, "transfer_in_s": 1e-3})})
    assert crossovers([cluster, _rec("numpy", 4000, 1e-3)]) == []
    assert beats_one_process([cluster, _rec("numpy", 4000, 1e-3)])[0].since is None


def test_the_report_has_a_scaling_section_and_figure_where_records_carry_workers():
    from vecbench.report.markdown import render
    from vecbench.report.write import plan_figures

    text = render(_synthetic(), {}, ["x.json"], "numpy")
    assert "## Scaling over workers" in text
    assert "scaling" in plan_figures(_synthetic(), "numpy")[0]
    plain = Results([r for r in _synthetic() if r.backend != "clustered"])
    assert "Scaling over workers" not in render(plain, {}, ["x.json"], "numpy")
    assert "scaling" not in plan_figures(plain, "numpy")[0]
