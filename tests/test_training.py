"""Training: same trajectory on every backend, convergence to scikit-learn's optimum, clear errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from cases import available_backends

import vecbench as vb
from vecbench.cli import main
from vecbench.datasets import breast_cancer, make_classification

BACKENDS = available_backends("train_epoch")


@pytest.fixture(scope="module")
def data():
    return make_classification(n_features=6, m=300, seed=3)


@pytest.mark.parametrize("batch", [1, 7, 64, "full"])
def test_every_backend_follows_the_same_trajectory(data, batch):
    X, y = data
    models = {b: vb.train(X, y, batch_size=batch, epochs=2, lr=0.3, backend=b, seed=5, record_steps=True)
              for b in BACKENDS}
    ref = models["numpy"]
    for b, model in models.items():
        np.testing.assert_allclose(model.w, ref.w, rtol=1e-10, atol=1e-13, err_msg=b)
        assert model.b == pytest.approx(ref.b, rel=1e-10, abs=1e-13)
        np.testing.assert_allclose(model.history, ref.history, rtol=1e-10)
        for mine, theirs in zip(model.step_costs, ref.step_costs):
            np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-13)


def test_parallel_epoch_matches_on_large_batches():
    X, y = make_classification(n_features=8, m=6000, seed=1)
    a = vb.train(X, y, batch_size=5000, epochs=2, backend="numba_parallel")
    b = vb.train(X, y, batch_size=5000, epochs=2, backend="numpy")
    np.testing.assert_allclose(a.w, b.w, rtol=1e-10)


def test_batch_size_sets_the_number_of_steps(data):
    X, y = data
    for batch, steps in [(1, 300), (64, 5), ("full", 1), (300, 1)]:
        model = vb.train(X, y, batch_size=batch, epochs=1, backend="numba", record_steps=True)
        assert model.step_costs[0].shape == (steps,)


def test_seed_changes_the_shuffle_but_not_bgd(data):
    X, y = data
    sgd = [vb.train(X, y, batch_size=1, epochs=1, backend="numba", seed=s).w for s in (0, 1)]
    assert not np.allclose(sgd[0], sgd[1])
    bgd = [vb.train(X, y, batch_size="full", epochs=1, backend="numba", seed=s).w for s in (0, 1)]
    np.testing.assert_allclose(bgd[0], bgd[1], rtol=1e-12)


def test_converges_to_scikit_learns_unregularized_optimum():
    sklearn = pytest.importorskip("sklearn.linear_model")
    X, y = breast_cancer("mean")  # ten "mean ..." features: not separable
    Xs = vb.kernel("standardize", "numpy")(X)
    clf = sklearn.LogisticRegression(C=np.inf, max_iter=100_000, tol=1e-12).fit(Xs.T, y)
    J_sklearn = vb.kernel("logreg_cost", "numpy")(clf.coef_.ravel(), clf.intercept_[0], Xs, y)
    model = vb.train(Xs, y, batch_size="full", epochs=20_000, lr=5.0, backend="numba")
    assert abs(model.history[-1] - J_sklearn) < 1e-4
    assert np.all(np.diff(model.history) <= 1e-15)  # full-batch GD never goes uphill at this lr
    assert model.accuracy(Xs, y) == pytest.approx(clf.score(Xs.T, y), abs=0.01)


def test_separable_data_has_no_finite_optimum():
    X, y = breast_cancer("all")
    Xs = vb.kernel("standardize", "numpy")(X)
    short = vb.train(Xs, y, batch_size="full", epochs=200, lr=1.0, backend="numba")
    long = vb.train(Xs, y, batch_size="full", epochs=2000, lr=1.0, backend="numba")
    assert long.history[-1] < short.history[-1] < 0.1
    assert np.linalg.norm(long.w) > 1.5 * np.linalg.norm(short.w)  # |w| keeps growing


def test_predict_and_accuracy(data):
    X, y = data
    model = vb.train(X, y, batch_size=32, epochs=20, lr=0.5, backend="numba")
    pred = model.predict(X)
    assert set(np.unique(pred)) <= {0, 1} and pred.shape == y.shape
    assert model.accuracy(X, y) == pytest.approx(np.mean(pred == y))
    assert model.accuracy(X, y) > 0.7
    with pytest.raises(ValueError, match=re.escape("predict: X has shape (5, 3) but the model has n_x = 6")):
        model.predict(np.ones((5, 3)))


@pytest.mark.parametrize(("kwargs", "exc", "msg"), [
    ({"batch_size": 0}, ValueError, "train: batch_size must be in [1, m=300]; got 0"),
    ({"batch_size": 301}, ValueError, "train: batch_size must be in [1, m=300]; got 301"),
    ({"batch_size": 2.5}, TypeError, "train: batch_size must be an int or 'full'; got float"),
    ({"lr": 0}, ValueError, "train: lr must be > 0; got 0.0"),
    ({"lr": -1}, ValueError, "train: lr must be > 0; got -1.0"),
    ({"epochs": 0}, ValueError, "train: epochs must be an int >= 1; got 0"),
    ({"backend": "cuda"}, KeyError, "unknown backend 'cuda' for op 'train_epoch'"),
])
def test_bad_arguments(data, kwargs, exc, msg):
    X, y = data
    with pytest.raises(exc, match=re.escape(msg)):
        vb.train(X, y, **kwargs)


def test_bad_labels_and_shapes(data):
    X, y = data
    with pytest.raises(ValueError, match=re.escape("train: y must hold only 0 and 1 labels; got other values such as [2.0]")):
        vb.train(X, np.where(y == 1, 2.0, 0.0))
    with pytest.raises(ValueError, match=re.escape("train: y has shape (299,) but X has shape (6, 300)")):
        vb.train(X, y[:-1])


def test_cli_train(capsys):
    assert main(["train", "--backend", "numba", "--batch-size", "16", "--epochs", "2", "-m", "2000"]) == 0
    out = capsys.readouterr().out
    assert "training accuracy" in out and "batch 16" in out
    assert main(["train", "--data", "breast-cancer", "--batch-size", "full", "--epochs", "3", "--lr", "1"]) == 0


def test_cli_batch_size_sweep(tmp_path):
    out = tmp_path / "t.json"
    rc = main(["run", "--ops", "train_epoch", "--batch-sizes", "1,32,full", "--sizes", "2000", "--backends",
               "numpy,numba", "--quick", "--no-bandwidth", "--no-progress", "-o", str(out)])
    assert rc == 0
    res = vb.load(out)
    assert sorted({r.size["batch"] for r in res}) == [1, 32, 2000]
    assert all(r.ok for r in res)


def test_convergence_histories_feed_the_report(tmp_path):
    from vecbench.training import convergence_histories

    h = convergence_histories(m=2000, epochs=3)
    assert set(h) == {"BGD (batch = m)", "MBGD (batch = 64)", "SGD (batch = 1)"}
    for run in h.values():
        assert len(run["cost"]) == 4 and len(run["time_s"]) == 4
    # per epoch, SGD makes more progress than BGD on the same data and lr
    assert h["SGD (batch = 1)"]["cost"][1] < h["BGD (batch = m)"]["cost"][1]


def test_epoch_times_exclude_jit_compile(data):
    X, y = data
    model = vb.train(X, y, batch_size=8, epochs=4, backend="numba_parallel", seed=11)
    first, rest = model.epoch_times_s[0], sorted(model.epoch_times_s[1:])
    assert first < 20 * rest[len(rest) // 2] + 1e-3  # a compile would take ~100x longer


def test_training_follows_the_epoch_kernel_called_by_hand(data):
    # vb.train validates once and then only swaps w, b and the permutation: the same trajectory, bit for bit,
    # as calling the public kernel each epoch with rng.permutation (the history: the whole-set cost).
    X, y = data
    X = np.asfortranarray(X)  # as vb.train stores it (the layout changes NumPy's rounding)
    for backend in ("numpy", "numba"):
        model = vb.train(X, y, batch_size=7, epochs=3, lr=0.3, backend=backend, seed=4)
        k, cost, rng = vb.kernel("train_epoch", backend), vb.kernel("logreg_cost", "numpy"), np.random.default_rng(4)
        w, b = np.zeros(X.shape[0]), 0.0
        history = [cost(w, b, X, y)]
        for _ in range(3):
            w, b, _ = k(w, b, X, y, 0.3, 7, rng.permutation(X.shape[1]))
            history.append(cost(w, b, X, y))
        np.testing.assert_array_equal(model.w, w, err_msg=backend)
        assert model.b == b
        np.testing.assert_allclose(model.history, history, rtol=1e-13, err_msg=backend)


@pytest.mark.parametrize("m", [2, 5, 1023, 1024, 2500])
def test_compiled_history_cost_matches_numpy(m):
    pytest.importorskip("numba")
    from vecbench.operations.train_numba import dataset_cost

    X, y = make_classification(n_features=3, m=m, seed=m)
    w, b = np.array([0.5, -2.0, 1.5]), 0.25
    Xf = np.asfortranarray(X)
    assert dataset_cost(w, b, Xf, y) == pytest.approx(vb.kernel("logreg_cost", "numpy")(w, b, Xf, y), rel=1e-13)


def test_an_epoch_kernel_runs_once_per_epoch_unless_it_compiled(data, monkeypatch):
    # No warm-up epoch when the backend says the first call did not compile; one extra, untimed-for-the-record
    # run of the first epoch when it did (epoch_times_s never holds a compile), with the same result.
    X, y = data
    k = vb.kernel("train_epoch", "numba")
    expected = vb.train(X, y, batch_size=16, epochs=3, backend="numba")  # compiled (or loaded) by now
    calls = []
    core = k.core
    monkeypatch.setattr(k, "_core", lambda *a: calls.append(1) or core(*a))
    model = vb.train(X, y, batch_size=16, epochs=3, backend="numba")
    assert len(calls) == 3 and len(model.epoch_times_s) == 3
    monkeypatch.setattr(type(k.backend), "compiled", lambda self, *a: (True, None))
    calls.clear()
    again = vb.train(X, y, batch_size=16, epochs=3, backend="numba")
    assert len(calls) == 4 and len(again.epoch_times_s) == 3
    for m in (model, again):
        np.testing.assert_array_equal(m.w, expected.w)
        assert m.history == expected.history


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("lr", "nan"), [(0.3, False), (0.3, True), (1e308, False)])
def test_numba_sgd_epoch_is_the_general_epoch_bit_for_bit(dtype, lr, nan):
    pytest.importorskip("numba")
    from vecbench.operations.train_numba import _epoch, _epoch_sgd

    rng = np.random.default_rng(7)
    X = np.asfortranarray(rng.normal(size=(9, 257)).astype(dtype) * 5)
    if nan:
        X[2, 100] = np.nan  # NaN propagates from that step on, alike in both
    y = (rng.random(257) > 0.5).astype(dtype)
    w, perm = rng.normal(size=9).astype(dtype), rng.permutation(257)
    general, sgd = _epoch(w, 0.5, X, y, lr, 1, perm), _epoch_sgd(w, 0.5, X, y, lr, perm)
    np.testing.assert_array_equal(sgd[0], general[0])
    np.testing.assert_array_equal(sgd[2], general[2])
    assert np.array_equal(sgd[1], general[1], equal_nan=True)
