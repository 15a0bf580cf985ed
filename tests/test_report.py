"""Reports from checked-in fixtures: files exist, and the tables carry the fixture's numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vecbench.cli import main
from vecbench.report import headline, lecture_dot, write_report
from vecbench.results import Record, Results, Timing, load

FIXTURES = Path(__file__).parent / "fixtures"
VB = FIXTURES / "results_small.json"
PB = FIXTURES / "pytest_benchmark_small.json"
FIGURES = ["time_vs_size", "speedup_vs_python", "speedup_vs_numpy", "bandwidth", "heatmap", "compile_time"]


def _fmt_ms(s: float) -> str:
    from vecbench.results import format_time as _fmt_time

    return _fmt_time(s)


@pytest.mark.parametrize("fixture", [VB, PB], ids=["vecbench-json", "pytest-benchmark-json"])
def test_report_from_fixture(tmp_path, fixture, monkeypatch):
    def no_measuring(*args, **kwargs):
        raise AssertionError("redrawing a report measured something")

    for name in ("vecbench.harness.run", "vecbench.harness.measure", "vecbench.cli.run.cold_compile"):
        monkeypatch.setattr(name, no_measuring)  # redrawing never re-runs anything (no wall-time bound)
    assert main(["report", str(fixture), "-o", str(tmp_path)]) == 0
    for name in FIGURES:
        for ext in ("png", "svg"):
            f = tmp_path / f"{name}.{ext}"
            assert f.exists() and f.stat().st_size > 1000, f
    text = (tmp_path / "README.md").read_text()
    res = load(fixture)
    rows = headline(res)
    assert rows, "the fixture has a headline"
    for row in rows:
        if row["status"] != "ok":
            continue
        # The table shows the fixture's own median time and ratio for each backend.
        line = next(ln for ln in text.splitlines()
                    if ln.startswith(f"| {row['op']} | {row['label']} | {row['backend']} |"))
        assert _fmt_ms(row["median_s"]) in line
        assert f"{row['vs_vectorized']:.3g}x" in line
    for name in FIGURES:
        assert f"]({name}.png)" in text
    assert res.machine["cpu"] in text


def test_headline_values_match_the_fixture():
    res = load(VB)
    rows = {(r["op"], r["backend"]): r for r in headline(res)}
    numpy = next(r for r in res if r.op == "dot" and r.backend == "numpy" and r.label == "1000")
    numba = next(r for r in res if r.op == "dot" and r.backend == "numba" and r.label == "1000")
    assert rows["dot", "numba"]["label"] == "1000"
    assert rows["dot", "numba"]["vs_vectorized"] == pytest.approx(numpy.median_s / numba.median_s)
    assert rows["dot", "numba"]["pct_bandwidth"] == pytest.approx(100 * numba.gbps / res.bandwidth_gbps["best"])


def test_pytest_benchmark_json_is_read_with_extra_info():
    res = load(PB)
    assert res.source == "pytest-benchmark"
    raw = json.loads(PB.read_text())
    first = raw["benchmarks"][0]
    rec = next(r for r in res if r.op == first["extra_info"]["op"] and r.backend == first["extra_info"]["backend"]
               and r.label == first["extra_info"]["label"])
    assert rec.median_s == first["stats"]["median"]
    assert rec.bytes == first["extra_info"]["bytes"]
    assert res.bandwidth_gbps["best"] > 0 and res.machine["backends"]["numpy"]["blas"]


def test_lecture_experiment_in_the_summary(tmp_path):
    def rec(backend, t):
        return Record("dot", backend, {"n": 10**6}, "1e6", "float64", 1, bytes=16 * 10**6, flops=2 * 10**6,
                      timing=Timing.from_samples([t] * 3, 1))

    res = Results(records=[rec("python", 0.09), rec("numpy", 0.0003), rec("numba", 0.0002)])
    lec = lecture_dot(res)
    assert lec["speedup"] == pytest.approx(300)
    assert lec["fastest_backend"] == "numba"
    res.save(tmp_path / "r.json")
    assert main(["report", str(tmp_path / "r.json"), "-o", str(tmp_path / "rep")]) == 0
    text = (tmp_path / "rep" / "README.md").read_text()
    assert "for-loop (`python`) **90.0 ms**, vectorized (`numpy`) **0.300 ms**, **300x** faster" in text


def test_failures_and_skips_are_listed(tmp_path):
    res = load(VB)
    res.records[0] = res.records[0].with_status("failed", "result differs on purpose")
    res.save(tmp_path / "r.json")
    assert main(["report", str(tmp_path / "r.json"), "-o", str(tmp_path / "rep")]) == 0
    assert "result differs on purpose" in (tmp_path / "rep" / "README.md").read_text()


def test_report_without_input_is_an_error(tmp_path, capsys):
    assert main(["report", "-o", str(tmp_path)]) == 2
    assert main(["report", str(tmp_path / "nope*.json"), "-o", str(tmp_path)]) == 2
    assert "no results file matches" in capsys.readouterr().err


def test_plotting_does_not_import_the_harness():
    code = ("import sys, vecbench.report, vecbench.report.figures; "
            "sys.exit(1 if 'vecbench.harness' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_report_shows_intervals_flags_and_skip_footnotes(tmp_path):
    def rec(backend, t, **kw):
        return Record("dot", backend, {"n": 10**4}, "1e4", "float64", 1,
                      timing=Timing.from_samples([t * (1 + 0.01 * i) for i in range(9)], 1), **kw)

    res = Results(records=[rec("python", 1e-3), rec("numpy", 1e-5, contended=True), rec("numba", 2e-5),
                           Record("dot", "numba", {"n": 10**8}, "1e8", "float64", 1, status="skipped",
                                  reason="time budget: test")])
    rows = {r["backend"]: r for r in headline(res)}
    lo, hi = rows["numpy"]["vs_loop_ci"]
    assert lo < rows['numpy']['vs_loop'] < hi and rows["numpy"]["untrusted"]
    write_report(res, tmp_path)
    text = (tmp_path / "README.md").read_text()
    assert "## Measurements to treat with care" in text and "| dot | numpy | 1e4 |" in text
    assert "[^1]: time budget: test" in text
    assert f"{rows['numpy']['vs_loop']:.3g}x ({lo:.3g}-{hi:.3g})" in text


def test_static_vs_dynamic_break_even():
    from vecbench.report.analysis import break_even_steps, static_vs_dynamic
    from vecbench.report.markdown import static_vs_dynamic_lines

    def rec(backend, median, compile_s=None, op="mlp_step"):
        t = Timing((median,) * 3, 1, median, median, 0.0, compile_time_s=compile_s)
        return Record(op, backend, {"N": 64}, "64", "float64", 1, timing=t)

    # 0.5 s to compile, then 1 ms per step against 3 ms: paid back after 250 steps.
    res = Results(records=[rec("jax", 1e-3, 0.5), rec("torch", 3e-3), rec("numpy", 2e-3),
                           rec("jax", 5e-3, 0.2, op="logreg_grad"), rec("torch", 4e-3, op="logreg_grad")])
    rows = {r["op"]: r for r in static_vs_dynamic(res)}
    assert rows["mlp_step"]["break_even"] == pytest.approx(250.0)
    assert rows["mlp_step"]["compile_s"] == 0.5 and rows["mlp_step"]["dynamic"] == "torch"
    assert rows["logreg_grad"]["break_even"] is None  # slower per call: never pays back
    text = "\n".join(static_vs_dynamic_lines(res))
    assert "A static graph" in text
    assert "| mlp_step | 64 | jax | 1 ms | 500 ms | torch | 3 ms | 250 |" in text
    assert "| logreg_grad | 64 | jax | 5 ms | 200 ms | torch | 4 ms | never |" in text
    assert break_even_steps(None, 1.0, 2.0) == 0.0
    assert static_vs_dynamic_lines(Results(records=[rec("numpy", 1e-3)])) == []


def test_autodiff_against_the_hand_derivation_pairs_backends_by_what_they_declare():
    from vecbench.report.analysis import autodiff_pairs, autodiff_vs_derivation
    from vecbench.report.markdown import autodiff_lines

    pairs = autodiff_pairs()
    assert pairs, "the framework backends declare hand-derived and autodiff kernels"
    hand, auto = pairs[0]

    def rec(backend, median):
        t = Timing((median,) * 3, 1, median, median, 0.0)
        return Record("logreg_grad", backend, {"n_x": 100, "m": 1000}, "100x1000", "float64", 1, timing=t)

    rows = autodiff_vs_derivation(Results(records=[rec(hand, 2e-3), rec(auto, 3e-3)]))
    assert [(r["hand"], r["autodiff"], r["ratio"]) for r in rows] == [(hand, auto, pytest.approx(1.5))]
    assert f"| logreg_grad | 100x1000 | {hand} | 2 ms | {auto} | 3 ms | 1.50x |" in "\n".join(
        autodiff_lines(Results(records=[rec(hand, 2e-3), rec(auto, 3e-3)])))
