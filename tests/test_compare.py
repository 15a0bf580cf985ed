"""The compare gate: lost kernels fail, verdicts from samples, and its error rates on synthetic samples."""

from __future__ import annotations

import itertools
import json
import math
import re

import numpy as np
import pytest

from vecbench.cli import main
from vecbench.compare import compare, parse_fail_above, verdict
from vecbench.harness import Settings
from vecbench.results import Record, Results, Timing, load
from vecbench.stats import median_ci, median_ci_coverage, ratio_ci, sample_until

OPS = ("dot", "matvec")
BACKENDS = ("numpy", "numba")  # synthetic records: any names work, none is run


def _draw(rng: np.random.Generator, median: float, jitter: float = 0.05, outliers: float = 0.02):
    """One timing sample: log-normal jitter around ``median``, and now and then an outlier 2-10x slower."""
    def draw() -> float:
        x = median * rng.lognormal(0.0, jitter)
        if rng.random() < outliers:
            x *= rng.uniform(2.0, 10.0)
        return float(x)
    return draw


DEFAULT = Settings()


def _sampled(rng, median, settings=DEFAULT, **kw) -> list[float]:
    """Samples as harness.measure takes them with ``settings`` (a sample lasts min_sample_s)."""
    ticks = itertools.count()
    return sample_until(_draw(rng, median, **kw), settings.repeats, settings.ci_target, settings.max_samples,
                        settings.budget_s / 2, clock=lambda: next(ticks) * settings.min_sample_s)


def _record(samples, op="dot", backend="numpy", **fields) -> Record:
    timing = Timing.from_samples(samples, 1) if samples is not None else None
    return Record(op, backend, {"n": 10}, "10", "float64", 1, timing=timing, **fields)


def _results(factor=1.0, seed=0, **per_key) -> Results:
    rng = np.random.default_rng(seed)
    recs = []
    for op, b in itertools.product(OPS, BACKENDS):
        samples = [x * factor for x in _sampled(rng, 1e-3)]
        recs.append(_record(samples, op, b, **per_key.get(f"{op}-{b}", {})))
    return Results(records=recs)


# ---------------------------------------------------------------- statistics
def test_median_interval_is_the_right_order_statistics():
    xs = list(range(1, 21))  # n = 20: 95% interval is x_(6), x_(15)
    assert median_ci(xs) == (6, 15)
    assert median_ci(xs[:7]) == (1, 7)
    assert median_ci([]) is None
    assert median_ci_coverage(20) >= 0.95 and median_ci_coverage(5) < 0.95


def test_median_interval_covers_95_percent():
    rng = np.random.default_rng(1)
    hits = sum(lo <= 1.0 <= hi for lo, hi in (median_ci(rng.lognormal(0, 0.5, 25)) for _ in range(2000)))
    assert 0.94 <= hits / 2000 <= 0.99


def test_ratio_interval_contains_the_ratio_and_rejects_nonpositive():
    lo, r, hi = ratio_ci((1.9, 2.0, 2.1), (0.95, 1.0, 1.05))
    assert lo < r == 2.0 < hi
    with pytest.raises(ValueError, match="must be positive"):
        ratio_ci((0, 0, 0), (1, 1, 1))


def test_adaptive_sampling_stops_at_the_target_or_the_limit():
    rng = np.random.default_rng(2)
    quiet = _sampled(rng, 1e-3, jitter=0.005, outliers=0)
    assert 6 <= len(quiet) < 20  # 95% needs six samples; a quiet kernel needs few more
    noisy = _sampled(rng, 1e-3, jitter=0.5, outliers=0)
    assert len(noisy) == Settings().max_samples
    exact = sample_until(lambda: 1.0, 3, 0.0, 100, 10.0)
    assert exact == [1.0] * 3


# ---------------------------------------------------------------- the gate
def test_unchanged_code_passes_and_every_sample_25_percent_slower_fails():
    base = _results(seed=1)
    assert compare(base, _results(seed=2)).exit_code == 0
    slower = Results(records=[_record([x * 1.25 for x in r.samples_s], r.op, r.backend) for r in base])
    c = compare(base, slower)
    assert c.exit_code == 1 and {r.verdict for r in c.rows} == {"slower"}


def test_one_outlier_sample_does_not_fail_the_gate():
    base = _results(seed=3)
    samples = [list(r.samples_s) for r in base]
    samples[0][2] *= 50
    copy = Results(records=[_record(s, r.op, r.backend) for s, r in zip(samples, base)])
    assert compare(base, copy).exit_code == 0


@pytest.mark.parametrize("change", ["failed", "skipped", "missing"])
def test_a_lost_kernel_fails_the_gate(change):
    base = _results(seed=4)
    new = _results(seed=5)
    if change == "missing":
        del new.records[1]
    else:
        new.records[1] = _record(None, new.records[1].op, new.records[1].backend, status=change, reason="why")
    c = compare(base, new)
    assert c.exit_code == 1
    assert [r.verdict for r in c.failing] == [change]


def test_new_kernels_are_listed_and_do_not_fail():
    base = _results(seed=6)
    new = _results(seed=7)
    new.records.append(_record(new.records[0].samples_s, "dot", "jax"))
    c = compare(base, new)
    assert c.exit_code == 0 and [r.key[1] for r in c.by_verdict("new")] == ["jax"]


def test_contended_or_noisy_slowdown_is_inconclusive_unless_strict():
    base = _results(seed=8)
    slow = _results(factor=3.0, seed=9, **{f"{op}-{b}": {"contended": True} for op in OPS for b in BACKENDS})
    c = compare(base, slow)
    assert {r.verdict for r in c.rows} == {"inconclusive"} and c.exit_code == 0
    assert all("new was contended" in r.note for r in c.rows)
    assert compare(base, slow, strict=True).exit_code == 1
    # A contended *base* only inflated the base: the new file's slowdown is real.
    cbase = _results(seed=8, **{"dot-numpy": {"contended": True}})
    assert verdict(cbase.records[0], _results(factor=1.5, seed=9).records[0]).verdict == "slower"


def test_per_op_threshold_and_parsing():
    assert parse_fail_above(["1.2", "dot=1.05,matvec=1.3"]) == (1.2, {"dot": 1.05, "matvec": 1.3})
    for bad in ("nan", "1.0", "0.9", "dot=", "=1.1", "abc", "inf"):
        with pytest.raises(ValueError, match=re.escape("--fail-above takes a ratio above 1")):
            parse_fail_above([bad])
    base = _results(seed=10)
    new = _results(factor=1.07, seed=11)
    loose = compare(base, new, fail_above=1.30)
    assert "slower" not in {r.verdict for r in loose.rows}
    tight = compare(base, new, fail_above=1.30, per_op={"dot": 1.05})
    assert {r.verdict for r in tight.rows if r.op == "dot"} == {"slower"}


def test_nan_and_zero_medians_are_errors(tmp_path, capsys):
    base = _results(seed=12)
    base.save(tmp_path / "base.json")
    for bad in (0.0, math.nan):
        # A record cannot hold such a median (Timing refuses it), so it can only come from a file.
        with pytest.raises(ValueError, match="median_s must be"):
            Timing((1e-3,), 1, 1e-3, bad, 0.0)
        d = _results(seed=13).to_dict()
        d["results"][0]["median_s"] = bad
        (tmp_path / "new.json").write_text(json.dumps(d))
        assert main(["compare", str(tmp_path / "base.json"), str(tmp_path / "new.json")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "new.json: dot numpy 10 float64: unusable measurement in the file: median_s" in err[0]


def test_environment_differences_are_warned():
    base, new = _results(seed=14), _results(seed=15)
    base.machine = {"backends": {"numpy": {"version": "2.0.0"}, "numba": {"version": "0.60"}}, "cores": 2}
    new.machine = {"backends": {"numpy": {"version": "2.1.0"}, "numba": {"version": "0.60"}}, "cores": 4}
    base.settings, new.settings = {"repeats": 7}, {"repeats": 3}
    warnings = compare(base, new).warnings
    assert "numpy version differs: base 2.0.0, new 2.1.0" in warnings and "cores differs: base 2, new 4" in warnings
    assert "setting repeats differs: base 7, new 3" in warnings


def test_old_files_without_intervals_still_compare(tmp_path):
    base = _results(seed=16)
    d = base.to_dict()
    for r in d["results"]:
        for k in ("ci_low_s", "ci_high_s", "contention", "cpu_pressure", "loadavg", "contended"):
            del r[k]
    import json

    (tmp_path / "old.json").write_text(json.dumps(d))
    old = load(tmp_path / "old.json")
    assert old.records[0].ci_low_s is None
    assert compare(old, _results(seed=17)).exit_code == 0


def test_pytest_benchmark_summary_only_is_said(fixture_pb=None):
    from pathlib import Path

    pb = load(Path(__file__).parent / "fixtures" / "pytest_benchmark_small.json")
    c = compare(pb, pb)
    assert c.exit_code == 0
    if any(not r.samples_s for r in pb if r.ok):
        assert any("summary statistics only" in w for w in c.warnings)
        assert all(r.ci_low_s is not None for r in pb if r.ok)


# ---------------------------------------------------------------- evidence (quoted in the README)
TRIALS = 300


def _gate_fails(rng, factor) -> bool:
    base = _record(_sampled(rng, 1e-3))
    new = _record(_sampled(rng, 1e-3 * factor))
    return verdict(base, new).verdict == "slower"


def test_false_alarm_rate_and_power_with_default_sampling(capsys):
    """Synthetic samples: 5% log-normal jitter, 2% outliers 2-10x slower, default Settings.

    False alarms (unchanged code failing the gate) must be <= 1%, a 10%
    slowdown must be caught >= 95% of the time.
    """
    rng = np.random.default_rng(2026)
    false_alarms = sum(_gate_fails(rng, 1.0) for _ in range(TRIALS)) / TRIALS
    power = sum(_gate_fails(rng, 1.10) for _ in range(TRIALS)) / TRIALS
    with capsys.disabled():
        print(f"\ncompare gate over {TRIALS} trials: false alarms {false_alarms:.1%}, "
              f"10% slowdown caught {power:.1%}")
    assert false_alarms <= 0.01
    assert power >= 0.95


def test_a_skip_predicted_from_a_busy_machine_is_inconclusive_unless_strict():
    from vecbench.harness import UNTRUSTED_PREDICTION

    base = _results(seed=18)
    new = _results(seed=19)
    new.records[1] = _record(None, new.records[1].op, new.records[1].backend, status="skipped",
                             reason=f"time budget: ~9 s per call predicted from 10 ({UNTRUSTED_PREDICTION}); ...")
    assert compare(base, new).exit_code == 0
    assert compare(base, new, strict=True).exit_code == 1


def test_compare_and_harness_agree_on_the_busy_machine_marker():
    # One definition (vecbench.records): the harness writes it into skip reasons, compare reads it from there.
    import vecbench.compare
    import vecbench.harness
    import vecbench.records

    assert vecbench.harness.UNTRUSTED_PREDICTION is vecbench.records.UNTRUSTED_PREDICTION
    assert vecbench.compare.skipped_on_a_busy_machine is vecbench.records.skipped_on_a_busy_machine
