"""Every (op, backend) pair against the float64 NumPy reference, generated from the registry."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from cases import ALL_KERNELS, CASES, LAYOUTS, available_backends, compare, kernel_id, noncontiguous, shape_sweep_backends
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vecbench as vb
from vecbench.data import inputs


@pytest.mark.parametrize(("k", "size", "layout", "dtype"), CASES)
def test_matches_reference(k, size, layout, dtype):
    args = tuple(LAYOUTS[layout](a) for a in inputs(k.op, size, dtype))
    expected = k.op.reference(*args)
    rtol, atol = k.op.tol(dtype)
    result = k(*args)
    compare(result, expected, rtol, atol)
    # Array results keep the input precision.
    first = result[0] if isinstance(result, tuple) else result
    if isinstance(first, np.ndarray):
        assert first.dtype == np.dtype(dtype)


@pytest.mark.parametrize("k", [k for k in ALL_KERNELS if k.op.has_out], ids=kernel_id)
def test_out_parameter_is_written_and_returned(k):
    args = inputs(k.op, k.op.sizes["quick"][0])
    expected = k.op.reference(*args)
    out = np.full(np.shape(expected), np.nan)
    result = k(*args, out=out)
    assert result is out
    compare(out, expected, *k.op.tol("float64"))


@pytest.mark.parametrize("k", [k for k in ALL_KERNELS if k.op.has_out], ids=kernel_id)
def test_noncontiguous_out(k):
    args = inputs(k.op, {key: 5 for key in k.op.sizes["quick"][0]})
    expected = k.op.reference(*args)
    out = noncontiguous(np.zeros(np.shape(expected)))
    result = k(*args, out=out)
    assert result is out
    compare(out, expected, *k.op.tol("float64"))


@pytest.mark.parametrize("k", ALL_KERNELS, ids=kernel_id)
def test_inputs_are_not_modified(k):
    args = tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in inputs(k.op, {key: 9 for key in k.op.sizes["quick"][0]}))
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    k(*args)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)


def _draw_size(op, data):
    return {key: data.draw(st.integers(1, 40), label=key) for key in op.sizes["quick"][0]}


@pytest.mark.parametrize("op", vb.ops())
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_backends_agree_on_random_shapes(op, data):
    spec = vb.spec(op)
    size = _draw_size(spec, data)
    layout = data.draw(st.sampled_from(sorted(LAYOUTS)), label="layout")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    args = tuple(LAYOUTS[layout](a) for a in inputs(spec, size, seed=seed))
    expected = spec.reference(*args)
    for b in shape_sweep_backends(op):  # a compile per shape (torch_compile) would be seconds per example
        compare(vb.kernel(op, b)(*args), expected, *spec.tol("float64"))


# ------------------------------------------------------------------ lecture examples
def test_lecture_dot_example():
    a = np.array([1, 2, 3, 4])
    for b in available_backends("dot"):
        assert vb.kernel("dot", b)(a, a) == 30.0
        assert isinstance(vb.kernel("dot", b)(a, a), float)


def test_lecture_nutrition_table():
    # Calories from carbs, proteins, fats in 100 g of apples, beef, eggs, potatoes.
    A = np.array([[56.0, 0.0, 4.4, 68.0], [1.2, 104.0, 52.0, 8.0], [1.8, 135.0, 99.0, 0.9]])
    expected = np.array(
        [[94.9, 0.0, 2.8, 88.4], [2.0, 43.5, 33.5, 10.4], [3.1, 56.5, 63.7, 1.2]]
    )
    for b in available_backends("col_percent"):
        P = vb.kernel("col_percent", b)(A)
        np.testing.assert_allclose(P, expected, atol=0.06)
        np.testing.assert_allclose(P.sum(axis=0), 100.0)


def test_column_vector_conventions_are_accepted():
    # The lecture's (n_x, 1) w and (1, m) Y give the same result as 1-D vectors.
    w, b, X, y = inputs("logreg_grad", {"n_x": 4, "m": 9})
    for backend in available_backends("logreg_grad"):
        k = vb.kernel("logreg_grad", backend)
        compare(k(w.reshape(-1, 1), b, X, y.reshape(1, -1)), k(w, b, X, y), 1e-12, 1e-15)


def test_zero_sum_column_follows_ieee():
    A = np.array([[1.0, 0.0, 3.0], [2.0, 0.0, -3.0]])
    for b in available_backends("col_percent"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            P = vb.kernel("col_percent", b)(A)
        assert np.isnan(P[0, 1]) and np.isnan(P[1, 1])
        assert P[0, 2] == np.inf and P[1, 2] == -np.inf
        np.testing.assert_allclose(P[:, 0], [100 / 3, 200 / 3])


@pytest.mark.parametrize("backend", vb.backends("standardize"))
def test_standardize_zero_variance_rule(backend):
    X = np.array([[0.1, 0.1, 0.1, 0.1], [5.0, 5.0, 5.0, 5.0], [0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    Z = vb.kernel("standardize", backend)(X)
    assert np.all(Z[:3] == 0.0)
    np.testing.assert_allclose(Z[3].mean(), 0.0, atol=1e-15)
    np.testing.assert_allclose(Z[3].std(), 1.0)


# ------------------------------------------------------------------ numerical stability
@pytest.mark.parametrize("backend", vb.backends("sigmoid"))
def test_sigmoid_is_stable_for_large_z(backend):
    z = np.array([-1e4, -745.0, -50.0, 0.0, 50.0, 745.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = vb.kernel("sigmoid", backend)(z)
    assert np.all(np.isfinite(a))
    assert a[0] == 0.0 and a[-1] == 1.0 and a[3] == 0.5
    assert np.all(np.diff(a) >= 0)


def test_sigmoid_of_a_number_and_of_a_matrix():
    for backend in available_backends("sigmoid"):
        k = vb.kernel("sigmoid", backend)
        assert k(0.0) == 0.5 and isinstance(k(0.0), float)
        Z = np.array([[0.0, 1.0], [-1.0, 2.0]])
        np.testing.assert_allclose(k(Z), 1 / (1 + np.exp(-Z)), rtol=1e-15)


@pytest.mark.parametrize("op", ["logreg_cost", "logreg_grad"])
@pytest.mark.parametrize("backend", vb.backends("logreg_grad"))
def test_cost_is_finite_when_z_is_huge(op, backend):
    # z = +-1e4 on confidently wrong and right examples: log(0) in the naive formula.
    X = np.array([[1.0, -1.0, 1.0, -1.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    w = np.array([1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = vb.kernel(op, backend)(w, 0.0, X, y)
    J = r if op == "logreg_cost" else r[2]
    assert np.isfinite(J)
    np.testing.assert_allclose(J, 1e4 / 2, rtol=1e-12)  # two wrong by 1e4, two right by ~0
