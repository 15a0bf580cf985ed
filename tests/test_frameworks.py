"""JAX and PyTorch: the lecture's graph, autodiff against the hand derivation, mlp_step, containment.

Framework tests skip visibly (with the pip command) where the framework is
not installed; CI installs both (.ci/run), so none is skipped there.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from cases import available_backends, compare

import vecbench as vb
from vecbench.cli import main
from vecbench.data import inputs
from vecbench.graphs import FRAMEWORKS, lecture_graph

AUTODIFF = [b for b in vb.backends("logreg_grad") if b.endswith("_autodiff")]


def _needs(framework: str) -> None:
    if framework != "numpy":
        pytest.importorskip(framework, reason=f"pip install 'vecbench[{framework}]'")


# ------------------------------------------------------------------ the lecture's graph
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_lecture_graph_numbers(framework):
    _needs(framework)
    g = lecture_graph(framework)
    assert (g.u, g.v, g.J) == (6.0, 11.0, 33.0)
    assert g.grads == {"v": 3.0, "u": 3.0, "a": 3.0, "b": 6.0, "c": 9.0}
    a, b, c = g.nudges
    assert (a.name, a.after) == ("a", 5.001) and pytest.approx(33.003, abs=1e-12) == a.J
    assert a.u == 6.0 and a.v == pytest.approx(11.001, abs=1e-12)
    assert (b.name, b.after) == ("b", 3.001) and b.u == pytest.approx(6.002, abs=1e-12)
    assert pytest.approx(33.006, abs=1e-12) == b.J
    assert c.u == pytest.approx(6.003, abs=1e-12) and pytest.approx(33.009, abs=1e-12) == c.J
    # The finite differences agree with the backward pass.
    np.testing.assert_allclose([n.slope for n in g.nudges], [g.grads[k] for k in "abc"], rtol=1e-9)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_lecture_graph_elsewhere(framework):
    # Another point: dJ/da = 3, dJ/db = 3c, dJ/dc = 3b.
    _needs(framework)
    g = lecture_graph(framework, a=-1.5, b=0.25, c=4.0, h=1e-6)
    assert pytest.approx(3 * (-1.5 + 1.0)) == g.J
    assert g.grads == pytest.approx({"v": 3.0, "u": 3.0, "a": 3.0, "b": 12.0, "c": 0.75})


def test_lecture_graph_errors():
    with pytest.raises(ValueError, match="lecture_graph: framework must be one of"):
        lecture_graph("tensorflow")
    with pytest.raises(ValueError, match="lecture_graph: h must be > 0; got 0"):
        lecture_graph("numpy", h=0.0)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_cli_graph(framework, capsys):
    _needs(framework)
    assert main(["graph", "--framework", framework]) == 0
    out = capsys.readouterr().out
    assert "u = bc = 6   v = a + u = 11   J = 3v = 33" in out
    assert "dJ/dv = 3   dJ/du = 3   dJ/da = 3   dJ/db = 6   dJ/dc = 9" in out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("  ")}
    assert lines["a"][1:] == ["5", "->", "5.001", "6", "11.001", "33.003", "3"]
    assert lines["b"][1:] == ["3", "->", "3.001", "6.002", "11.002", "33.006", "6"]


# ------------------------------------------------------------------ autodiff vs hand derivation
@pytest.mark.parametrize("backend", AUTODIFF)
@pytest.mark.parametrize(("n_x", "m", "seed"), [(4, 23, 5), (11, 6, 6)])
def test_autodiff_matches_finite_differences_and_hand_derivation(backend, n_x, m, seed):
    w, b, X, y = inputs("logreg_grad", {"n_x": n_x, "m": m}, seed=seed)
    auto = vb.kernel("logreg_grad", backend)(w, b, X, y)
    hand = vb.kernel("logreg_grad", backend.removesuffix("_autodiff"))(w, b, X, y)
    compare(auto, hand, 1e-12, 1e-15)
    compare(auto, vb.spec("logreg_grad").reference(w, b, X, y), 1e-10, 1e-14)
    cost = vb.kernel("logreg_cost", "numpy")  # finite differences of an independent cost
    assert vb.gradcheck(lambda t: cost(t[:-1], t[-1], X, y), np.append(auto[0], auto[1]), np.append(w, b),
                        h=1e-5, rtol=1e-6, atol=1e-9)


def test_autodiff_at_z_zero():
    # w = 0, b = 0: z = 0 everywhere, where max(z, 0) and |z| have kinks; dJ/dz must be sigmoid(0) - y.
    pytest.importorskip("torch")
    X = np.array([[1.0, -2.0, 3.0]])
    y = np.array([1.0, 0.0, 1.0])
    expected = vb.spec("logreg_grad").reference(np.zeros(1), 0.0, X, y)
    for backend in AUTODIFF:
        compare(vb.kernel("logreg_grad", backend)(np.zeros(1), 0.0, X, y), expected, 1e-14, 1e-15)


def test_jax_and_torch_autodiff_agree_on_random_shapes():
    # Two independent autodiff engines, on shapes no registry test uses.
    if len(AUTODIFF) < 2 or not all(vb.backend(b).available for b in AUTODIFF):
        pytest.skip("needs both jax and torch")
    rng = np.random.default_rng(17)
    for n_x, m in [(9, 31), (2, 57)]:
        w, X = rng.standard_normal(n_x), rng.standard_normal((n_x, m))
        y = (rng.random(m) < 0.5).astype(float)
        a, b = (vb.kernel("logreg_grad", k)(w, 0.3, X, y) for k in AUTODIFF)
        compare(a, b, 1e-12, 1e-15)


# ------------------------------------------------------------------ mlp_step
def _mlp_independent(x, y, W1, W2, lr):
    """The step from finite differences of the loss alone (no backward pass anywhere)."""
    def loss(W1, W2):
        return float(np.sum((np.maximum(x @ W1, 0) @ W2 - y) ** 2))

    grads = []
    for W, which in ((W1, 0), (W2, 1)):
        g = np.empty_like(W)
        for idx in np.ndindex(W.shape):
            up, down = W.copy(), W.copy()
            up[idx] += 1e-6
            down[idx] -= 1e-6
            g[idx] = (loss(*((up, W2) if which == 0 else (W1, up))) - loss(*((down, W2) if which == 0 else (W1, down)))) / 2e-6
        grads.append(g)
    return W1 - lr * grads[0], W2 - lr * grads[1], loss(W1, W2)


@pytest.mark.parametrize("backend", vb.backends("mlp_step"))
def test_mlp_step_against_finite_differences(backend):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((6, 5)), rng.standard_normal((6, 2))
    W1, W2 = rng.standard_normal((5, 4)), rng.standard_normal((4, 2))
    result = vb.kernel("mlp_step", backend)(x, y, W1, W2, 0.01)
    compare(result, _mlp_independent(x, y, W1, W2, 0.01), 1e-6, 1e-6)


def test_mlp_step_at_the_slides_size():
    # N, D_in, H, D_out = 64, 1000, 100, 10 and lr = 1e-6, as on the slide; torch's autograd (when
    # installed) is the independent implementation, NumPy's manual backward pass the other.
    size = vb.spec("mlp_step").sizes["quick"][1]
    assert size == {"N": 64, "D_in": 1000, "H": 100, "D_out": 10}
    args = inputs("mlp_step", size)
    assert args[-1] == 1e-6
    expected = vb.spec("mlp_step").reference(*args)
    assert not np.allclose(expected[0], args[2], rtol=1e-6)  # the step is visible
    for b in available_backends("mlp_step"):
        if b != "python":
            compare(vb.kernel("mlp_step", b)(*args), expected, *vb.spec("mlp_step").tol("float64"))


def test_mlp_step_errors_name_op_and_parameter():
    x, y, W1, W2 = np.ones((3, 4)), np.ones((3, 2)), np.ones((4, 5)), np.ones((5, 2))
    k = vb.kernel("mlp_step", "numpy")
    with pytest.raises(ValueError, match=r"mlp_step: W1 has shape \(5, 5\) but x has shape \(3, 4\)"):
        k(x, y, np.ones((5, 5)), W2, 0.1)
    with pytest.raises(ValueError, match=r"mlp_step: W2 has shape \(4, 2\) but W1 has shape \(4, 5\)"):
        k(x, y, W1, np.ones((4, 2)), 0.1)
    with pytest.raises(ValueError, match=r"mlp_step: y has shape \(3, 3\)"):
        k(x, np.ones((3, 3)), W1, W2, 0.1)
    with pytest.raises(ValueError, match="mlp_step: lr must be > 0"):
        k(x, y, W1, W2, 0.0)


# ------------------------------------------------------------------ containment and plumbing
def test_jax_x64_is_contained():
    pytest.importorskip("jax")
    code = ("import numpy as np, vecbench as vb, jax, jax.numpy as jnp;"
            "r = vb.kernel('dot', 'jax')(np.full(3, 1/3), np.ones(3));"
            "assert abs(r - 1.0) < 1e-15, r;"  # float64 inside vecbench
            "assert jnp.array(1.0).dtype == jnp.float32;"  # the user's default is untouched
            "assert not jax.config.jax_enable_x64")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_jax_first_call_per_shape_compiles():
    pytest.importorskip("jax")
    from vecbench import harness

    a = harness.prepare(vb.kernel("matvec", "jax"), {"n": 13, "k": 17})
    b = harness.prepare(vb.kernel("matvec", "jax"), {"n": 13, "k": 17})
    c = harness.prepare(vb.kernel("matvec", "jax"), {"n": 13, "k": 17}, dtype="float32")
    assert (a.compiled, b.compiled, c.compiled) == (True, False, True)
    assert a.reason == b.reason == c.reason == ""


def test_torch_threads_follow_the_limit():
    torch = pytest.importorskip("torch")
    backend = vb.backend("torch")
    before = torch.get_num_threads()
    with backend.thread_limit(1):
        assert backend.threads() == 1
    assert torch.get_num_threads() == before


def test_results_are_numpy():
    for b in available_backends("logreg_step"):
        w1, b1, J = vb.kernel("logreg_step", b)(*inputs("logreg_step", {"n_x": 3, "m": 5}))
        assert type(w1) is np.ndarray and type(b1) is float and type(J) is float, b
