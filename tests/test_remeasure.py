"""Re-measuring what contention spoiled, time-slice waits, interleaved rounds and the bandwidth probe's rules.

Deterministic: synthetic records, fake clocks and fake measurements; nothing here asserts a wall time.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

import vecbench as vb
from tests.cases import available_backends
from vecbench import bandwidth, remeasure, rounds
from vecbench.results import Record, Results, Timing, load
from vecbench.stats import paired_ratio_ci


def rec(backend: str = "numpy", t: float = 1e-3, n: int = 10**5, op: str = "dot", threads: int = 2,
        spread: float = 0.01, **kw) -> Record:
    samples = [t * (1 + spread * (i - 4) / 4) for i in range(9)]
    return Record(op, backend, {"n": n}, f"1e{len(str(n)) - 1}", "float64", threads,
                  timing=Timing.from_samples(samples, 10), **kw)


# ---------------------------------------------------------------- the policy
def test_spoiled_and_rank():
    clean, busy, noisy = rec(), rec(contended=True), rec(spread=0.5, warnings=("noisy: IQR is 50% of the median",))
    assert not remeasure.spoiled(clean) and remeasure.spoiled(busy) and remeasure.spoiled(noisy)
    # best first: not contended beats faster-but-contended; not noisy next
    fast_busy = rec(t=1e-4, contended=True)
    assert sorted([fast_busy, noisy, clean], key=remeasure.rank)[0] is clean
    assert sorted([fast_busy, noisy], key=remeasure.rank)[0] is noisy
    failed = Record("dot", "numpy", {"n": 10}, "10", "float64", 1, status="failed", reason="x")
    assert not remeasure.spoiled(failed) and remeasure.rank(failed)[0]


def test_remeasure_keeps_the_best_trusted_attempt_and_records_every_attempt():
    original = dataclasses.replace(rec(t=8e-3, contended=True, contention=0.6))
    original = dataclasses.replace(original, timing=dataclasses.replace(original.timing, first_call_s=0.5,
                                                                       compile_time_s=0.49, from_cache=False))
    untouched = rec("python", t=1.0)
    outcomes = iter([rec(t=7e-3, contended=True, contention=0.5), rec(t=3e-4, contention=0.0)])
    waited: list[float] = []
    out = remeasure.remeasure([original, untouched], lambda r: next(outcomes), attempts=3, budget_s=100,
                              wait=lambda s: waited.append(s) or 0.0, wait_s=5, clock=itertools.count().__next__)
    assert out[1] is untouched
    kept = out[0]
    assert not kept.is_contended and kept.median_s == pytest.approx(3e-4)
    assert (kept.first_call_s, kept.compile_time_s, kept.from_cache) == (0.5, 0.49, False)  # compiled once
    assert [a["kept"] for a in kept.attempts] == [False, False, True]
    assert [a["contended"] for a in kept.attempts] == [True, True, False]
    assert waited == [5, 5]  # a bounded wait before each attempt
    assert any(w.startswith("re-measured: attempt 3 of 3 kept") for w in kept.warnings)
    # the attempts survive a round trip through the file format
    again = Record.from_dict(kept.to_dict())
    assert again.attempts == kept.attempts and remeasure.remeasured([again]) == [again]


def test_remeasure_stops_at_the_budget_and_never_lets_a_failure_replace_an_ok_record():
    busy = [rec(n=10**k, contended=True) for k in (3, 4, 5)]
    calls: list[Record] = []

    def failing(r: Record) -> Record:
        calls.append(r)
        return r.with_status("failed", "worker process killed by SIGSEGV")

    clock = iter([0.0, 1.0, 2.0, 50.0, 99.0, 200.0, 300.0]).__next__
    out = remeasure.remeasure(busy, failing, attempts=3, budget_s=10, wait=lambda s: 0.0, clock=clock)
    assert len(calls) == 2  # the third would start after the budget
    assert all(r.ok for r in out)
    assert [len(r.attempts) for r in out] == [2, 2, 0]


def test_remeasure_goes_in_passes_and_does_nothing_with_one_attempt():
    a, b = rec(n=10**3, contended=True), rec(n=10**4, contended=True)
    order: list[str] = []

    def again(r: Record) -> Record:
        order.append(r.label)
        return rec(n=r.size["n"], contended=True)

    remeasure.remeasure([a, b], again, attempts=3, budget_s=1e9, wait=lambda s: 0.0)
    assert order == ["1e3", "1e4", "1e3", "1e4"]  # pass 1 over both, then pass 2
    assert remeasure.remeasure([a], again, attempts=1, wait=lambda s: 0.0) == [a]
    assert remeasure.budget_for(100) == 50 and remeasure.budget_for(1e6) == remeasure.MAX_BUDGET_S


def test_worst_names_the_most_spoiled_first():
    recs = [rec(n=10**3, contended=True, contention=0.3), rec(n=10**4, contended=True, contention=0.9), rec(n=10**5)]
    assert [r.label for r in remeasure.worst(recs, 2)] == ["1e4", "1e3"]


def test_timeslice_wait_is_found_and_explained():
    # The pattern: np.dot of 1e5 and 1e6 both ~8.0 ms under contention (two 4 ms slices).
    small, large = rec(t=8.0e-3, n=10**5, contended=True), rec(t=8.04e-3, n=10**6, contended=True)
    found = remeasure.timeslice_waits([small, large, rec("python", t=1e-2, n=10**5)])
    assert len(found) == 1 and (found[0].backend, found[0].small, found[0].large) == ("numpy", small, large)
    text = found[0].text
    assert "1e5 took 8 ms and 1e6 took 8.04 ms" in text and "10x the work in 1.0x the time" in text
    assert "2 and 2 scheduler slices" in text and "its 2 threads waited for CPU time slices" in text


@pytest.mark.parametrize("times,contended", [
    ((8e-3, 8e-2), True),   # 10x the work in 10x the time: a kernel, not a stall
    ((8e-3, 8e-3), False),  # flat, but nothing was contended: a fixed cost, not a stall
    ((2e-4, 2e-4), True),   # flat below a millisecond: call overhead
])
def test_timeslice_wait_is_not_claimed_without_the_pattern(times, contended):
    recs = [rec(t=t, n=n, contended=contended) for t, n in zip(times, (10**5, 10**6))]
    assert remeasure.timeslice_waits(recs) == []


# ---------------------------------------------------------------- interleaved rounds
def test_paired_ratio_ci_cancels_a_drift_that_hits_both():
    drift = [1, 1, 8, 8, 3, 1, 5, 2, 9, 1, 4]  # the machine's speed by minute
    slow = [10e-3 * d for d in drift]
    fast = [1e-3 * d * (1 + 0.01 * (i % 3)) for i, d in enumerate(drift)]
    lo, ratio, hi = paired_ratio_ci(slow, fast)
    assert lo <= ratio <= hi and lo > 9.7 and hi < 10.1  # paired: the drift cancels
    assert paired_ratio_ci([], []) is None


def test_interleave_rotates_the_order_and_respects_its_limits():
    seen: list[int] = []
    samplers = [lambda j=j: seen.append(j) or float(j + 1) for j in range(3)]
    rows = rounds.interleave(samplers, rounds=4, time_limit_s=1e9)
    assert rows == [[1.0, 2.0, 3.0]] * 4  # columns stay in the samplers' order
    assert seen == [0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2]  # each round starts one later
    clock = itertools.count(step=10).__next__
    assert len(rounds.interleave(samplers, rounds=50, time_limit_s=5, min_rounds=6, clock=clock)) == 6


def test_plan_groups_backends_of_one_size_and_leaves_out_the_slowest_when_rounds_would_not_fit():
    recs = [rec("numpy", t=1e-3), rec("numba", t=2e-3), rec("python", t=1.0),  # python: 10 loops x 1 s per sample
            rec("numpy", t=1e-3, n=10**3), Record("dot", "jax", {}, "-", "float64", 0, status="skipped", reason="x")]
    groups = rounds.plan(recs, rounds=15, budget_s=5.0)
    assert [(g.label, g.backends) for g in groups] == [("1e5", ("numpy", "numba"))]
    assert groups[0].loops == (10, 10) and groups[0].rounds == 15
    assert rounds.plan(recs, rounds=3, budget_s=5.0) == []  # fewer rounds than a 95% interval needs: none


def test_paired_speedup_from_results_and_the_file_format(tmp_path):
    res = Results(records=[rec("python", t=1e-2), rec("numpy", t=1e-3)])
    res.paired.append({"op": "dot", "label": "1e5", "dtype": "float64", "backends": ["numpy", "python"],
                       "rounds_s": [[1e-3 * d, 1e-2 * d] for d in (1, 3, 2, 5, 1, 1, 4)], "contended": False})
    path = res.save(tmp_path / "r.json")
    back = load(path)
    lo, x, hi = rounds.paired_speedup(back, "python", "numpy", "dot", "1e5", "float64")
    assert lo == x == hi == pytest.approx(10.0)
    assert rounds.paired_speedup(back, "python", "numba", "dot", "1e5", "float64") is None
    from vecbench.report import headline

    row = next(h for h in headline(back) if h["backend"] == "numpy")
    assert row["paired"] and row["vs_loop"] == pytest.approx(10.0) and row["mark"] == ""
    back.paired[0]["contended"] = True  # rounds on a busy machine: marked too
    row = next(h for h in headline(back) if h["backend"] == "numpy")
    assert "⚠ contended" in row["mark"] and row["untrusted"]


def test_bad_paired_entries_are_refused(tmp_path):
    import json

    res = Results(records=[rec()]).to_dict()
    res["paired"] = [{"op": "dot", "label": "1e5", "dtype": "float64", "backends": ["a", "b"], "rounds_s": [[1.0]]}]
    (tmp_path / "bad.json").write_text(json.dumps(res))
    with pytest.raises(ValueError, match="'paired' must be a list"):
        load(tmp_path / "bad.json")


def test_run_times_rounds_and_remeasures_in_process(monkeypatch):
    ok = [b for b in ("python", "numpy") if b in available_backends("dot")]
    import vecbench.contention
    import vecbench.harness as harness

    real = harness.measure
    count = {"n": 0}

    def first_contended(*a, **kw):  # every kernel's first measurement is spoiled, the next one clean
        r = real(*a, **kw)
        count["n"] += 1
        return dataclasses.replace(r, contended=count["n"] <= len(ok), warnings=())

    monkeypatch.setattr(harness, "measure", first_contended)
    monkeypatch.setattr(vecbench.contention, "wait_quiet", lambda s, *a, **k: 0.0)
    monkeypatch.setattr(remeasure, "budget_for", lambda sweep_s: 1e9)  # no dependence on how fast the sweep was
    # A budget no load can exhaust: which backends get rounds must not depend on this machine's speed.
    res = vb.run(ops=["dot"], backends=ok, sizes=[2000], bandwidth=False, isolate=False,
                 settings=dataclasses.replace(harness.Settings.quick(), budget_s=600.0))
    assert all(len(r.attempts) == 2 and not r.is_contended for r in res)
    assert len(res.paired) == 1 and sorted(res.paired[0]["backends"]) == sorted(ok)
    assert len(res.paired[0]["rounds_s"]) >= rounds.MIN_ROUNDS


def test_rounds_in_the_worker_process():
    ok = available_backends("dot")[:2]
    from vecbench.harness import Settings

    res = vb.run(ops=["dot"], backends=ok, sizes=[1000], bandwidth=False,
                 settings=dataclasses.replace(Settings.quick(), budget_s=600.0))  # rounds certain under any load
    assert len(res.paired) == 1 and sorted(res.paired[0]["backends"]) == sorted(ok)


# ---------------------------------------------------------------- the bandwidth probe's rules
def test_bandwidth_arrays_follow_streams_rule_bounded_by_memory():
    mib = 1 << 20
    n, memory = bandwidth.array_elements(300 * mib, 64 << 30)
    assert 8 * n == 4 * 300 * mib and memory
    n, memory = bandwidth.array_elements(300 * mib, 2 << 30)  # 2 GiB free: a quarter of it over 3 arrays
    assert 8 * n <= (2 << 30) // 4 // 3 + 8 and not memory
    n, memory = bandwidth.array_elements(None, None)
    assert 8 * n == bandwidth.MIN_ARRAY_BYTES and not memory
    n, memory = bandwidth.array_elements(8 * mib, 64 << 30)  # a laptop L3: 80 MB still, past 4x
    assert 8 * n == bandwidth.MIN_ARRAY_BYTES and memory


def test_bandwidth_combine_prefers_quiet_rounds_and_says_when_none_was():
    quiet = bandwidth.combine([({"copy_numpy": 10.0}, True, 0.7), ({"copy_numpy": 20.0}, False, 0.0),
                               ({"copy_numpy": 22.0}, False, 0.1)])
    assert quiet["best"] == 22.0 and quiet["contended"] == 0.0 and quiet["spread"] == pytest.approx(2 / 22)
    busy = bandwidth.combine([({"copy_numpy": 10.0}, True, 0.7), ({"copy_numpy": 12.0}, True, 0.5)])
    assert busy["best"] == 12.0 and busy["contended"] == 1.0 and busy["contention"] == 0.7
    busy.update(array_bytes=80e6, llc_bytes=float(300 << 20), memory=0.0)
    text = bandwidth.describe(busy)
    assert "0.3x the 300 MiB last-level cache" in text and "partly cache" in text and "CONTENDED" in text
    assert bandwidth.rates(busy) == {"copy_numpy": 12.0}


def test_bandwidth_probe_reports_what_it_measured():
    bw = bandwidth.measure_bandwidth(n=20_000, repeats=1, rounds=2)
    assert bw["best"] > 0 and bw["rounds"] == 2 and bw["array_bytes"] == 160_000
    assert bw["contended"] in (0.0, 1.0) and "memory" in bw
