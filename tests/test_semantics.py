"""NaN, inf, extreme values, aliased ``out=`` and bad input: one rule per op, the same in every backend.

Everything is generated from the registry (``vb.kernels()``, ``vb.ops()``),
so a new kernel inherits these tests. The odd inputs come from
``tests/adversarial.py`` (also runnable as a script to print a tally); each
result is compared with the op's float64 reference: NaN in the same places,
infinities alike, finite values within the op's tolerance, and no warning
at all (warnings are turned into errors).
"""

from __future__ import annotations

import math
import re
import warnings
from fractions import Fraction

import adversarial as adv
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from cases import ALL_KERNELS, available_backends, kernel_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vecbench as vb
from vecbench.data import inputs


def _run(k, args, kwargs=None):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return k(*args, **(kwargs or {}))


def _check(k, label, args, expected=None, kwargs=None, make=None):
    op = k.op
    if make is not None:
        args, kwargs = make()
    fresh = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ref = op.reference(*fresh) if expected is None else expected
    except Exception:  # noqa: BLE001 - the op's validation refuses what the reference cannot take
        ref = None
    try:
        got = _run(k, args, kwargs)
    except (ValueError, TypeError) as e:
        # A refusal is a rule too: it must name the op and a parameter, as numpy's backend does.
        numpy_k = vb.kernel(op.name, "numpy")
        with pytest.raises(type(e)) as info:
            _run(numpy_k, make()[0] if make else args, (make()[1] if make else kwargs))
        assert str(info.value) == str(e), label
        assert adv._error_ok(op, e), f"{label}: {e}"
        return
    assert ref is not None, f"{label}: the reference failed but {k!r} returned {got!r}"
    dt = "float32" if any(isinstance(x, np.ndarray) and x.dtype == np.float32 for x in args) else "float64"
    why = adv._same(got, ref, *op.tol(dt))
    assert why is None, f"{k!r} {label}: {why}"


@pytest.mark.parametrize("k", ALL_KERNELS, ids=kernel_id)
def test_odd_values_follow_the_reference_without_warnings(k):
    for label, args in adv.cases(k.op.name):
        _check(k, label, args)


@pytest.mark.parametrize("k", ALL_KERNELS, ids=kernel_id)
def test_every_pair_of_odd_values_at_the_smallest_sizes(k):
    for label, args in adv.tiny_cases(k.op.name):
        _check(k, label, args)


# A loop backend runs one code path at every size, so its medium-size cases (seconds each in pure
# Python) prove nothing the small ones do not: they run with --exhaustive only.
@pytest.mark.parametrize("k", [pytest.param(k, marks=[pytest.mark.exhaustive] if k.backend.role == "loop" else [])
                               for k in ALL_KERNELS], ids=kernel_id)
def test_odd_values_at_sizes_the_parallel_kernels_split(k):
    for label, args in adv.medium_cases(k.op.name):
        _check(k, label, args)


OUT_KERNELS = [k for k in ALL_KERNELS if k.op.has_out]


@pytest.mark.parametrize("k", OUT_KERNELS, ids=kernel_id)
def test_out_that_is_or_overlaps_an_input_gives_the_plain_result(k):
    cases = list(adv._out_cases(k.op.name))
    assert len(cases) >= 5
    for label, make in cases:
        args, kwargs = make()
        expected = k.op.reference(*(a.copy() if isinstance(a, np.ndarray) else a for a in args))  # scalars as given
        args, kwargs = make()
        got = _run(k, args, kwargs)
        assert got is kwargs["out"] or k.op.name == "sigmoid"
        assert adv._same(kwargs["out"], expected, *k.op.tol("float64")) is None, f"{k!r} {label}"


@pytest.mark.parametrize("op", vb.ops())
def test_bad_input_is_refused_alike_by_every_backend_naming_op_and_parameter(op):
    tally = adv.Tally()
    for label, args, kwargs in adv._bad_inputs(op):
        adv.check_case(tally, op, label, args, kwargs, bad=True, make=lambda a=args, k=kwargs: (a, k))
    assert tally.cases >= 5
    assert tally.accepted == [] and tally.bad_error == [] and tally.warning == []


def test_the_grid_holds_thousands_of_odd_cases():
    """The grid the per-kernel tests above run: thousands of (case, backend) calls, every op in every backend.

    Each kernel's cases run in their own test (in parallel under pytest-xdist); a single test running the
    whole grid again over every backend (one xdist worker for tens of minutes with the frameworks installed)
    is ``python tests/adversarial.py``, which prints the cross-backend tally.
    """
    per_op = {op: len(list(adv.cases(op))) for op in vb.ops()}
    assert min(per_op.values()) >= 50, per_op
    assert sum(n * len(adv.grid_backends(op)) for op, n in per_op.items()) > 5000


# ------------------------------------------------------------ hypothesis
_FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def _odd_args(draw, op_name):
    """The op's small seeded inputs with every float array redrawn from all float64 values."""
    op = vb.spec(op_name)
    base = inputs(op, adv.small_size(op))
    out = []
    for a in base:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            mixed = st.one_of(_FLOATS, st.sampled_from([0.0, 1.0, -1.0, 0.5, 1e308, -1e308, 5e-324, 1e-310]))
            out.append(draw(hnp.arrays(np.float64, a.shape, elements=mixed)))
        else:
            out.append(a)
    return tuple(out)


@pytest.mark.parametrize("k", ALL_KERNELS, ids=kernel_id)
def test_hypothesis_any_float64_values(k):
    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(args=_odd_args(k.op.name))
    def check(args):
        _check(k, "hypothesis", args)

    check()


# ------------------------------------------------------------ exact answers
def _exact_dot(a, b) -> float:
    s = sum((Fraction(x) * Fraction(y) for x, y in zip(a, b)), Fraction(0))
    try:
        return float(s)
    except OverflowError:
        return math.inf if s > 0 else -math.inf


@pytest.mark.parametrize("a, b", [
    ([1e308, 1e308, -1e308], [1.0, 1.0, 1.0]),
    ([1e200, 1e200], [1e200, -1e200]),
    ([1e308, -1e308, 1e308, 1e308], [0.5, 0.5, 0.5, -0.5]),
    ([1e-310, 1e-310], [1e10, 1e10]),
    ([1e154, 1e154, 3.0], [1e154, 1e154, -2.0]),
    ([1e308, 1e308], [1.0, 1.0]),
])
@pytest.mark.parametrize("backend", vb.backends("dot"))
def test_dot_is_exact_where_partial_sums_overflow(a, b, backend):
    exact = _exact_dot(a, b)
    got = _run(vb.kernel("dot", backend), (np.array(a), np.array(b)))
    assert got == pytest.approx(exact, rel=1e-12) if math.isfinite(exact) else got == exact
    A = np.array([a, a])
    np.testing.assert_allclose(_run(vb.kernel("matvec", backend), (A, np.array(b))), [exact, exact], rtol=1e-12)


@pytest.mark.parametrize("backend", vb.backends("col_percent"))
@pytest.mark.parametrize("v", [1e307, 1e308, 1.5e308, 1e-310, 5e-324, 1e-300])
def test_col_percent_of_equal_entries_is_fifty_at_any_scale(backend, v):
    A = np.array([[v, 1.0], [v, 3.0]])
    got = _run(vb.kernel("col_percent", backend), (A,))
    np.testing.assert_allclose(got, [[50.0, 25.0], [50.0, 75.0]], rtol=1e-12)
    np.testing.assert_allclose(vb.spec("col_percent").reference(A), got, rtol=1e-12)


@pytest.mark.parametrize("backend", vb.backends("standardize"))
@pytest.mark.parametrize("scale", [1e300, 1e154, 1.0, 1e-160, 1e-300, 1e-310])
def test_standardize_does_not_depend_on_the_scale(backend, scale):
    X = np.array([[1.0, -1.0, 1.0, -1.0], [3.0, 3.0, 3.0, 3.0], [1.0, 2.0, 3.0, 4.0]]) * scale
    got = _run(vb.kernel("standardize", backend), (X,))
    z = (np.arange(1, 5) - 2.5) / np.std(np.arange(1, 5))
    np.testing.assert_allclose(got, [[1, -1, 1, -1], [0, 0, 0, 0], z], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("backend", vb.backends("standardize"))
def test_near_constant_rows_are_constant_at_every_scale(backend):
    for scale in (1e-300, 1.0, 1e300):
        X = np.array([[1.0, 1.0 + 1e-13, 1.0], [1.0, 1.0 + 1e-6, 1.0]]) * scale
        got = _run(vb.kernel("standardize", backend), (X,))
        assert np.all(got[0] == 0.0)
        np.testing.assert_allclose(np.abs(got[1]), [1 / math.sqrt(2), math.sqrt(2), 1 / math.sqrt(2)], rtol=1e-6)


@pytest.mark.parametrize("k", [k for k in ALL_KERNELS if k.op.name == "sigmoid"], ids=kernel_id)
def test_sigmoid_of_nan_and_infinities(k):
    got = _run(k, (np.array([np.nan, 0.0, np.inf, -np.inf, 800.0, -800.0]),))
    np.testing.assert_array_equal(got, [np.nan, 0.5, 1.0, 0.0, 1.0, 0.0])


@pytest.mark.parametrize("op", ["logreg_cost", "logreg_grad", "logreg_step", "train_epoch"])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_a_nan_in_X_makes_every_gradient_entry_nan(op, layout):
    args = list(inputs(op, adv.small_size(vb.spec(op))))
    X = np.array(args[2])
    X[1, 2] = np.nan
    args[2] = X if layout == "C" else np.asfortranarray(X)
    for backend in available_backends(op):
        r = _run(vb.kernel(op, backend), tuple(args))
        r = r if isinstance(r, tuple) else (r,)
        assert all(np.isnan(x).all() for x in r if not (op == "train_epoch" and x is r[2])), (backend, r)


# ------------------------------------------------------------ messages for bad input
@pytest.mark.parametrize("backend", vb.backends("dot"))
def test_ragged_input_names_op_and_parameter(backend):
    with pytest.raises(ValueError, match=r"^dot: a must be a rectangular real numeric array; got a ragged list"):
        vb.kernel("dot", backend)([[1, 2], [3]], [1, 2])


@pytest.mark.parametrize("backend", vb.backends("train_epoch"))
def test_train_epoch_refuses_bool_batch_and_duplicate_perm(backend):
    w, b, X, y, lr, batch, perm = inputs("train_epoch", {"n_x": 3, "m": 12, "batch": 4})
    k = vb.kernel("train_epoch", backend)
    with pytest.raises(TypeError, match=re.escape("train_epoch: batch_size must be an int or 'full'; got bool True")):
        k(w, b, X, y, lr, True, perm)
    dup = np.array(perm)
    dup[dup == 5] = 3
    with pytest.raises(ValueError, match=re.escape("train_epoch: perm must be a permutation of range(m=12); "
                                                   "got index 3 2 times (and index 5 never)")):
        k(w, b, X, y, lr, batch, dup)
    with pytest.raises(TypeError, match=re.escape("train_epoch: lr must be a real number; got bool")):
        k(w, b, X, y, True, batch, perm)


@pytest.mark.parametrize("param", ["X", "y"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_train_refuses_non_finite_data_before_the_first_step(param, value):
    X, y = vb.datasets.make_classification(n_features=3, m=50, seed=0)
    data = {"X": X.copy(), "y": y.copy()}
    data[param].reshape(-1)[7] = value
    with pytest.raises(ValueError, match=rf"^train: {param} must hold only finite numbers; got 1 non-finite"):
        vb.train(data["X"], data["y"], backend="numpy")


@pytest.mark.parametrize("batch", [1, 32, "full"])
def test_divergence_is_handled_alike_by_every_backend(batch):
    """lr = 1e308: SGD and mini-batch runs diverge; each backend stops at the same epoch with the same error."""
    X, y = vb.datasets.make_classification(n_features=5, m=300, seed=1)
    outcomes = set()
    for backend in available_backends("train_epoch"):
        try:
            model = _run(vb.train, (X, y), {"batch_size": batch, "epochs": 40, "lr": 1e308, "backend": backend})
            outcomes.add(("history", tuple(np.round(np.array(model.history) / max(model.history), 9))))
        except FloatingPointError as e:
            assert str(e).startswith("train: diverged in epoch ")
            outcomes.add(("error", str(e).replace(f"backend {backend}", "backend *")))
    assert len(outcomes) == 1, outcomes
    if batch != "full":
        assert next(iter(outcomes))[0] == "error"


def test_datasets_validate_their_arguments():
    bc = vb.datasets.breast_cancer
    assert bc("mean radius")[0].shape == (1, 569)
    assert bc(["worst area", "mean radius"])[0].shape == (2, 569)
    assert bc("worst")[0].shape == (10, 569)
    with pytest.raises(ValueError, match=r"breast_cancer: features must be a group \('all', 'mean', 'error', "
                                         r"'worst'\), a feature name or a list of names; got 'ALL'"):
        bc("ALL")
    with pytest.raises(ValueError, match="breast_cancer: features must name at least one feature; got an empty list"):
        bc([])
    with pytest.raises(ValueError, match=re.escape("breast_cancer: unknown features ['mean radios']; available:")):
        bc(["mean radios"])
    mc = vb.datasets.make_classification
    with pytest.raises(TypeError, match=re.escape("make_classification: n_features must be an int; got float")):
        mc(n_features=2.5)
    for noise in (0, np.nan, -1.0):
        with pytest.raises(ValueError, match="^make_classification: noise must be"):
            mc(noise=noise)
    for m, noise in [(2, 1.0), (3, 1e-300), (5, 1e300), (2, 1e-320)]:
        for seed in range(5):
            _, y = _run(mc, (), {"n_features": 2, "m": m, "noise": noise, "seed": seed})
            assert set(np.unique(y)) == {0.0, 1.0}
