"""The vectorizable exp/log1p used by the compiled logistic kernels agree with libm."""

from __future__ import annotations

import numpy as np

from vecbench.operations._vmath import EXP_MIN, exp_nonpos, log1p_unit


def test_exp_matches_numpy_to_a_few_ulps():
    rng = np.random.default_rng(0)
    x = -np.concatenate([np.linspace(0, 1, 10_001), np.linspace(1, 760, 10_001), rng.exponential(5, 100_000)])
    out, bits = np.empty_like(x), np.empty(x.size, dtype=np.int64)
    exp_nonpos(x, out, bits)
    ref = np.exp(x)
    normal = x >= EXP_MIN
    np.testing.assert_allclose(out[normal], ref[normal], rtol=1e-15, atol=0)  # ~4 ulp
    assert np.all(out[~normal] == 0.0) and np.all(ref[~normal] < 3.4e-308)
    assert out[0] == 1.0


def test_log1p_matches_numpy_on_the_unit_interval():
    e = np.concatenate([np.linspace(0, 1, 10_001), np.logspace(-300, 0, 1001)])
    got = np.array([log1p_unit(v) for v in e])
    np.testing.assert_allclose(got, np.log1p(e), rtol=1e-15, atol=0)  # ~4 ulp


def test_exp_propagates_nan_and_maps_minus_inf_to_zero():
    x = np.array([np.nan, -np.inf, 0.0, -1.0, -800.0, np.nan, -0.0] * 5)
    out, bits = np.empty_like(x), np.empty(x.size, dtype=np.int64)
    exp_nonpos(x, out, bits)
    with np.errstate(all="ignore"):
        ref = np.where(x < EXP_MIN, 0.0, np.exp(x))
    np.testing.assert_array_equal(np.isnan(out), np.isnan(x))
    np.testing.assert_allclose(out, ref, rtol=1e-15, atol=0)


def test_log1p_propagates_nan():
    assert np.isnan(log1p_unit(np.nan))
