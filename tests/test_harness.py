"""The harness: validation before timing, failures reported, skips explained, files atomic."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest

import vecbench as vb
from vecbench import registry
from vecbench.cli import main
from vecbench.harness import Settings, measure, resolve_sizes, run
from vecbench.results import Record, Results, Timing, load, write_json_atomic

FAST = Settings(min_sample_s=0.001, repeats=3, budget_s=2.0, ci_target=0)  # exactly 3 samples


def _broken(monkeypatch, op, backend, core):
    k = registry.Kernel(vb.spec(op), registry.BACKENDS[backend], core)
    monkeypatch.setitem(registry._KERNELS, (op, backend), k)


def test_resolve_sizes_maps_numbers_per_op():
    assert resolve_sizes(vb.spec("dot"), numbers=[1e3, 1e5]) == [{"n": 1000}, {"n": 100000}]
    assert resolve_sizes(vb.spec("matvec"), numbers=[300]) == [{"n": 300, "k": 300}]
    assert resolve_sizes(vb.spec("logreg_grad"), numbers=[1e4]) == [{"n_x": 100, "m": 10000}]
    assert resolve_sizes(vb.spec("dot"), preset="quick") == list(vb.spec("dot").sizes["quick"])
    with pytest.raises(ValueError, match="sizes must be one of"):
        resolve_sizes(vb.spec("dot"), preset="huge")


def test_resolve_sizes_takes_explicit_arguments_and_checks_size_dicts():
    spec = vb.spec("logreg_grad")
    assert resolve_sizes(spec, sizes=[{"n_x": 100, "m": 10}]) == [{"n_x": 100, "m": 10}]
    with pytest.raises(ValueError, match=re.escape("logreg_grad: a size needs the keys ['m', 'n_x']; got ['n']")):
        resolve_sizes(spec, sizes=[{"n": 10}])
    with pytest.raises(ValueError, match=re.escape("logreg_grad: size['m'] must be a positive integer; got 0")):
        resolve_sizes(spec, sizes=[{"n_x": 3, "m": 0}])
    with pytest.raises(TypeError, match="exactly one of"):
        resolve_sizes(spec, preset="quick", numbers=[3])
    for bad in (0, -5, 2.5, float("inf"), float("nan"), True):
        with pytest.raises((TypeError, ValueError), match="dot: a size must be"):
            resolve_sizes(vb.spec("dot"), numbers=[bad])
    # run(): one size dict is not silently a per-op mapping (or the default sweep).
    with pytest.raises(TypeError, match="single mapping"):
        run(ops=["logreg_grad"], backends=["numpy"], sizes={"n_x": 100, "m": 10}, bandwidth=False)
    res = run(ops=["logreg_grad"], backends=["numpy"], sizes=[{"n_x": 3, "m": 10}], settings=FAST, bandwidth=False)
    assert [r.label for r in res] == ["3x10"]


def test_records_have_stats_rates_and_compile_time():
    res = run(ops=["dot"], backends=["numpy", "numba"], sizes=[1000, 10000], settings=FAST, bandwidth=False)
    assert [r.status for r in res] == ["ok"] * 4
    for r in res:
        assert len(r.samples_s) == 3 and r.loops_per_sample >= 1
        assert r.min_s <= r.median_s and r.iqr_s >= 0
        # (How long a sample lasts depends on this machine's load: a stall during calibration means more
        # loops than a quiet sample needs. The calibration rule itself is checked on fixed numbers below.)
        assert r.bytes == 2 * 8 * r.size["n"] and r.flops == 2 * r.size["n"]
        assert r.gbps == pytest.approx(r.bytes / r.median_s / 1e9)
        assert (r.compile_time_s is None) == (r.backend == "numpy")
    assert res.machine["backends"]["numba"]["version"]
    assert res.machine["cores"] >= 1


def test_wrong_kernel_is_reported_not_timed_and_run_goes_on(monkeypatch):
    _broken(monkeypatch, "dot", "numba", lambda a, b: 42.0)
    res = run(ops=["dot"], backends=["numpy", "numba"], sizes=[100, 1000], settings=FAST, bandwidth=False,
              isolate=False)  # a kernel patched in at run time exists in this process only
    bad = res.select(backend="numba")
    assert bad[0].status == "failed" and "differs from the float64 reference" in bad[0].reason
    assert bad[0].samples_s == () and bad[0].timing is None
    assert bad[1].status == "skipped" and "smaller size failed" in bad[1].reason
    assert [r.status for r in res.select(backend="numpy")] == ["ok", "ok"]
    assert res.failures == [bad[0]]


def test_raising_kernel_is_reported(monkeypatch):
    def boom(a, b):
        raise RuntimeError("kaput")

    _broken(monkeypatch, "dot", "numpy", boom)
    rec = measure(vb.kernel("dot", "numpy"), {"n": 10}, settings=FAST)
    assert rec.status == "failed" and rec.reason == "RuntimeError: kaput"


def test_cli_run_survives_a_failing_kernel_and_exits_nonzero(tmp_path, capsys):
    import fault_kernels

    fault_kernels.register_all()  # fault_wrong: its numpy kernel returns nan
    try:
        out = tmp_path / "r.json"
        rc = main(["run", "--ops", "fault_wrong", "--backends", "numpy,python", "--sizes", "1e3", "--quick",
                   "--no-bandwidth", "--no-progress", "-o", str(out)])
    finally:
        fault_kernels.unregister()
    assert rc == 1
    res = load(out)
    assert {r.backend: r.status for r in res} == {"numpy": "failed", "python": "ok"}
    assert "1 measurement(s) failed" in capsys.readouterr().out


def test_budget_skip_from_a_synthetic_history_is_certain():
    """The rule on fixed numbers: 1e4 took 0.4 ms, so 1e7 (1000x the work) needs ~0.4 s per call."""
    from vecbench.harness import _skip_reason

    op = vb.spec("dot")
    history = [_rec("dot", {"n": 10**4}, 4e-4)]
    reason = _skip_reason(op, {"n": 10**7}, "float64", history, Settings(repeats=3, budget_s=0.05))
    assert reason.startswith("time budget: ~0.4 s per call predicted (from x)")
    assert "5 calls would exceed the 0.05 s budget per measurement" in reason
    # A budget relative to the prediction: just above it, the size is measured.
    assert _skip_reason(op, {"n": 10**7}, "float64", history, Settings(repeats=3, budget_s=5 * 0.4 * 1.01)) == ""


@pytest.mark.parametrize("seconds", np.geomspace(1e-6, 10.0, 60))
def test_one_point_predicts_from_the_work_term_whatever_its_value(seconds):
    # One point fits both single terms exactly up to rounding: the tie must go to the work term
    # (pessimistic), never by which residual rounds lower (it did for ~25% of values).
    from vecbench.harness import _fit

    c0, c1 = _fit([((1.0, 2e4), float(seconds))])
    assert c0 == 0.0 and c1 == pytest.approx(seconds / 2e4, rel=1e-12)


def test_budget_skips_with_reason():
    # End to end: the smallest size's measured time predicts the larger ones (1e3x and 1e4x the
    # work of 1e4), whatever this machine's speed; contended points fall back to the static cap.
    res = run(ops=["dot"], backends=["python"], sizes=[10**4, 10**7, 10**8],
              settings=Settings(min_sample_s=0.001, repeats=3, budget_s=0.05), bandwidth=False)
    assert res.records[0].ok
    for r in res.records[1:]:
        assert r.status == "skipped"
        assert r.reason.startswith("time budget: ~") and "per call predicted (from 1e4" in r.reason


def test_ctrl_c_keeps_what_was_measured(monkeypatch):
    calls = {"n": 0}

    def interrupt(a, b):
        calls["n"] += 1
        raise KeyboardInterrupt

    _broken(monkeypatch, "dot", "numba", interrupt)
    res = run(ops=["dot"], backends=["numpy", "numba"], sizes=[100], settings=FAST, bandwidth=False, isolate=False)
    assert res.interrupted
    assert [r.backend for r in res] == ["numpy"] and res.records[0].ok


def test_results_roundtrip_and_atomic_write(tmp_path):
    res = run(ops=["dot"], backends=["numpy"], sizes=[100], settings=FAST, bandwidth=False)
    path = res.save(tmp_path / "r.json")
    again = load(path)
    assert again.records == res.records and again.machine == res.machine
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_json_atomic(path, {"bad": object()})
    assert path.read_bytes() == before  # the old file is intact
    assert os.listdir(tmp_path) == ["r.json"]  # no temp file left behind
    assert json.loads(before)["schema"] == 2


def _results_with(median: float) -> Results:
    rec = Record("dot", "numpy", {"n": 10}, "10", "float64", 1, timing=Timing.from_samples([median] * 3, 1))
    return Results(records=[rec])


@pytest.mark.parametrize(("factor", "rc"), [(1.0, 0), (1.05, 0), (1.2, 1), (0.5, 0)])
def test_compare_exit_code(tmp_path, factor, rc):
    _results_with(1e-3).save(tmp_path / "base.json")
    _results_with(1e-3 * factor).save(tmp_path / "new.json")
    assert main(["compare", str(tmp_path / "base.json"), str(tmp_path / "new.json"), "--fail-above", "1.10"]) == rc


def test_compare_with_nothing_in_common(tmp_path):
    _results_with(1e-3).save(tmp_path / "a.json")
    other = _results_with(1e-3)
    other.records[0] = dataclasses.replace(other.records[0], op="matvec")
    other.save(tmp_path / "b.json")
    assert main(["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 2


def test_cold_compile_is_timed_apart(tmp_path):
    # A fresh Numba cache dir forces a real compile in the child process.
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    out = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "vecbench", "run", "--ops", "sigmoid", "--backends", "numba", "--sizes", "1e3",
           "--quick", "--no-bandwidth", "--no-progress", "-o", str(out)]
    for expect_cache in (False, True):
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        (rec,) = load(out).records
        assert rec.from_cache is expect_cache
        assert rec.compile_time_s > 0
        assert max(rec.samples_s) < rec.first_call_s / 10  # no sample contains the compile
        if not expect_cache:
            assert rec.compile_time_s > 0.05


def test_list_and_info(capsys):
    assert main(["list"]) == 0
    assert "logreg_grad" in capsys.readouterr().out
    assert main(["info", "--no-bandwidth", "--json"]) == 0  # tables for people; JSON with --json
    info = json.loads(capsys.readouterr().out)
    assert info["machine"]["blas"] and "threading_layer" in info["machine"]["backends"]["numba"]


def test_threads_are_set_and_recorded():
    res = run(ops=["dot"], backends=["numba_parallel"], sizes=[1000], threads=1, settings=FAST, bandwidth=False)
    assert res.records[0].threads == 1
    import numba

    assert numba.get_num_threads() == min(os.cpu_count(), numba.config.NUMBA_NUM_THREADS)


def test_kernels_see_the_thread_limit():
    import numba

    from vecbench.machine import thread_limit
    from vecbench.operations._jit import workers

    vb.kernel("dot", "numba_parallel")(np.ones(1 << 17), np.ones(1 << 17))  # the thread pool is up
    with thread_limit(1):
        assert workers() == numba.get_num_threads() == 1
    assert workers() == numba.get_num_threads() == min(os.cpu_count(), numba.config.NUMBA_NUM_THREADS)


def test_float32_records():
    res = run(ops=["sigmoid"], backends=["numpy"], sizes=[1000], dtypes=["float32"], settings=FAST, bandwidth=False)
    assert res.records[0].dtype == "float32" and res.records[0].bytes == 2 * 4 * 1000
    assert np.isfinite(res.records[0].median_s)


def test_records_carry_an_interval_and_a_contention_figure():
    res = run(ops=["dot"], backends=["numpy"], sizes=[1000],
              settings=Settings(min_sample_s=0.001, repeats=3, budget_s=1.0), bandwidth=False)
    (r,) = res.records
    assert len(r.samples_s) >= 6  # a 95% interval needs six samples; the minimum is only where to start
    assert r.ci_low_s <= r.median_s <= r.ci_high_s
    assert r.contention is not None and 0.0 <= r.contention <= 1.0 and r.contended in (True, False)
    assert r.contended == any(w.startswith("contended") for w in r.warnings)


def _rec(op, size, median, **kw):
    return Record(op, "numpy", size, "x", "float64", 1, timing=Timing.from_samples([median] * 7, 1), **kw)


def test_predictor_fits_fixed_plus_per_work_cost_and_ignores_contended_points():
    from vecbench.harness import _predicted_s

    op = vb.spec("dot")
    # 1 ms fixed + 1 ns per element (work = 16 bytes per element)
    pts = [_rec("dot", {"n": n}, 1e-3 + 1e-9 * n) for n in (10**3, 10**5)]
    assert _predicted_s(op, pts, {"n": 10**7}) == pytest.approx(1e-3 + 1e-2, rel=1e-6)
    stalled = _rec("dot", {"n": 10**4}, 30.0, contended=True)
    assert _predicted_s(op, [*pts, stalled], {"n": 10**7}) == pytest.approx(1e-3 + 1e-2, rel=1e-6)


def test_predictor_counts_steps_in_a_batch_sweep_and_budgets_per_epoch():
    from vecbench.harness import _predicted_s, _skip_reason

    op = vb.spec("train_epoch")
    size = lambda b: {"n_x": 30, "m": 20000, "batch": b}
    # 20 us per step + 10 ns per element; batch 1 takes 0.406 s per epoch
    t = lambda b: 2e-5 * -(-20000 // b) + 1e-8 * 30 * 20000
    pts = [_rec("train_epoch", size(b), t(b)) for b in (1, 8)]
    assert _predicted_s(op, pts, size(128)) == pytest.approx(t(128), rel=1e-6)
    # On a machine twice as slow under load, batch 1 takes ~1 s per epoch: every batch size is kept.
    slow = [_rec("train_epoch", size(1), 2 * t(1), contended=True)]
    for b in (8, 32, 128, 1024, 20000):
        assert _skip_reason(op, size(b), "float64", slow, Settings()) == ""


def test_calibration_makes_a_sample_last_at_least_min_sample_s():
    import time

    from vecbench.measuring import _calibrate

    # Each call sleeps >= 0.2 ms: 5 calls last >= 1 ms whatever the load, so the first guess stands.
    assert _calibrate(lambda: time.sleep(0.0002), (), 0.001, first_s=0.0002) == 5
    calls = []
    # A first call reported far too slow (a stall) starts at 1 loop; it grows until a pass lasts 2 ms, and
    # with calls of >= 0.2 ms one growth step (x 1.1 margin) is enough: never more than 11 loops.
    loops = _calibrate(lambda: calls.append(time.sleep(0.0002)), (), 0.002, first_s=1.0)
    assert 1 <= loops <= 11 and len(calls) >= loops


def test_a_run_naming_no_backend_leaves_out_the_opt_in_ones(monkeypatch):
    # Backend.opt_in (torch_compile: seconds of compiling per shape) runs only when named.
    monkeypatch.setattr(vb.backend("numba"), "opt_in", True)
    quick = {"ops": ["dot"], "sizes": [{"n": 10}], "bandwidth": False, "isolate": False,
             "settings": Settings(budget_s=0.5, remeasure=0)}
    assert "numba" not in {r.backend for r in vb.run(**quick)}
    named = vb.run(backends=["numpy", "numba"], **quick)
    assert {r.backend for r in named} == {"numpy", "numba"} and all(r.ok for r in named)


def test_a_cold_compile_pass_naming_no_backend_leaves_out_the_opt_in_ones(monkeypatch):
    # `report --run` cold-compiles every JIT kernel it measured: an opt-in backend it did not measure
    # (torch_compile: 15-30 s of Inductor per op) must not be compiled either.
    from vecbench.cli.run import cold_compile

    monkeypatch.setattr(vb.backend("numba"), "opt_in", True)
    seen: list[str] = []
    monkeypatch.setattr("vecbench.coldcompile.measure_cold_compile",
                        lambda ks, **kw: seen.extend(k.backend.name for k in ks) or {})
    cold_compile(["dot"], None)
    assert "numba" not in seen and "numpy" in seen
    seen.clear()
    cold_compile(["dot"], ["numba"])
    assert seen == ["numba"]


def test_a_run_records_where_its_time_went(tmp_path):
    from vecbench.results import phases_line

    start = time.monotonic()
    res = vb.run(ops=["dot"], backends=["numpy", "python"], sizes=[{"n": 10}], bandwidth=False, isolate=False,
                 settings=Settings(budget_s=0.5, remeasure=0))
    wall = time.monotonic() - start
    assert {"sweep: numpy", "sweep: python", "interleaved rounds"} <= set(res.phases_s)
    assert all(s >= 0 for s in res.phases_s.values()) and sum(res.phases_s.values()) <= wall
    line = phases_line(res.phases_s)
    assert re.search(r"sweep [0-9.]+ s \((numpy|python) [0-9.]+ s, (numpy|python) [0-9.]+ s\)", line), line
    assert "sweep: " not in line
    assert vb.load(res.save(tmp_path / "r.json")).phases_s == res.phases_s
    assert phases_line({}) == ""


@pytest.mark.parametrize(("others_s", "pressure", "contended", "oversubscribed"), [
    (0.0, 0.5, False, True),    # nobody else ran: the pressure is the process's own threads (XLA's, a Dask cluster's)
    (0.8, 0.5, True, False),    # others used 40% of two cores for the second: contended
    (0.08, 0.5, True, False),   # others not provably idle (4% +- ticks): pressure still counts as contention
    (0.0, 0.1, False, False),   # a quiet window
])
def test_pressure_from_the_process_own_threads_is_not_contention(monkeypatch, others_s, pressure, contended,
                                                                   oversubscribed):
    from vecbench import contention

    wall, own = 1.0, 1.2  # one second of a process running 1.2 CPU-seconds on two cores
    clock = iter([0.0, wall])
    cpu = iter([(100.0, 200.0, "/proc/stat"), (100.0 + own + others_s, 202.0, "/proc/stat")])
    psi = iter([0.0, pressure * 1e6])
    own_clock = iter([0.0, own])
    monkeypatch.setattr(contention, "cpu_busy_s", lambda: next(cpu))
    monkeypatch.setattr(contention, "_pressure_us", lambda: next(psi))
    # The module's own clocks and core count, not the process-wide ones pytest uses too.
    monkeypatch.setattr(contention, "time", SimpleNamespace(perf_counter=lambda: next(clock),
                                                            process_time=lambda: next(own_clock)))
    monkeypatch.setattr(contention, "os", SimpleNamespace(cpu_count=lambda: 2, sysconf=os.sysconf))
    c = contention.Probe().start().stop()
    assert (c.contended, c.oversubscribed) == (contended, oversubscribed)
    assert c.warning().startswith("oversubscribed" if oversubscribed else "contended" if contended else "")
    assert bool(c.warning()) == (contended or oversubscribed)


@pytest.mark.parametrize(("flags", "probes"), [
    ((), True), (("--quick",), False), (("--quick", "--bandwidth"), True), (("--no-bandwidth",), False),
])
def test_the_probes_run_by_default_but_not_in_a_quick_look(flags, probes):
    # The bandwidth probe streams arrays four times the last-level cache: seconds a --quick look does not spend.
    from vecbench.cli import build_parser
    from vecbench.cli.run import _run_kwargs

    args = build_parser().parse_args(["run", "--ops", "dot", *flags])
    assert _run_kwargs(args)["bandwidth"] is probes


def test_bandwidth_and_no_bandwidth_together_are_refused(capsys):
    assert main(["run", "--ops", "dot", "--bandwidth", "--no-bandwidth", "--no-progress"]) == 2
    assert "--bandwidth: not used with --no-bandwidth" in capsys.readouterr().err
