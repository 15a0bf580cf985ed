"""The public API: import cost, registry listing, gradient checks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import vecbench as vb
from vecbench.data import inputs
from vecbench.gradcheck import numerical_grad


def test_import_is_light():
    code = (
        "import sys, vecbench as vb; vb.ops(); vb.kernel('dot', 'numpy');"
        "heavy = [m for m in ('numba', 'matplotlib', 'rich', 'jax', 'torch') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# The lecture's operations, in their order; an op added later (docs/adding-an-op.md) may sit anywhere between
# them and need not have every backend, so the checks below are over these.
LECTURE = ["dot", "matvec", "col_percent", "standardize", "sigmoid",
           "logreg_cost", "logreg_grad", "logreg_step", "train_epoch", "mlp_step"]


def test_every_lecture_op_has_every_builtin_backend():
    assert [op for op in vb.ops() if op in LECTURE] == LECTURE
    builtin = [vb.registry.BACKENDS[name].name for name in vb.backends()
               if type(vb.backend(name)).__module__.startswith("vecbench.backends.")]
    # The autodiff backends differ from their framework's only where a gradient is taken.
    autodiff = [b for b in builtin if b.endswith("_autodiff")]
    # The dask backend covers the logistic-regression chain; mlp_step (the slides' per-example net) is not chunked.
    partial = {"dask": set(LECTURE) - {"mlp_step"}}
    full = [b for b in builtin if b not in autodiff and b not in partial]
    assert len(full) >= 6 and len(autodiff) >= 2
    for b, ops in partial.items():
        assert {op for op in LECTURE if b in vb.backends(op)} == ops
    for op in LECTURE:
        assert [b for b in vb.backends(op) if b in full] == full
    for b in autodiff:
        assert vb.backends().index(b) > vb.backends().index(b.removesuffix("_autodiff"))
        assert {op for op in LECTURE if b in vb.backends(op)} == {"logreg_cost", "logreg_grad", "logreg_step", "train_epoch"}


def test_kernel_is_documented_callable():
    k = vb.kernel("dot", "numba")
    assert k(np.ones(3), np.ones(3)) == 3.0
    assert "sum_i a_i b_i" in k.__doc__


def test_lecture_computation_graph():
    # J = 3(a + bc), a=5, b=3, c=2: u = bc = 6, v = a + u = 11, J = 3v = 33.
    def J(a, b, c):
        return 3 * (a + b * c)

    assert J(5, 3, 2) == 33
    np.testing.assert_allclose(J(5.001, 3, 2), 33.003)
    np.testing.assert_allclose(numerical_grad(J, [5, 3, 2], h=1e-3), [3, 6, 9], rtol=1e-9)
    assert vb.gradcheck(lambda x: J(*x), np.array([3.0, 6.0, 9.0]), np.array([5.0, 3.0, 2.0]))
    assert not vb.gradcheck(lambda x: J(*x), np.array([3.0, 6.0, 8.0]), np.array([5.0, 3.0, 2.0]))


def test_gradcheck_shape_mismatch():
    with pytest.raises(ValueError, match="grad has shape"):
        vb.gradcheck(lambda x: float(x.sum()), np.ones(2), np.ones(3))


@pytest.mark.parametrize("backend", vb.backends("logreg_grad"))
@pytest.mark.parametrize(("n_x", "m", "seed"), [(1, 1, 0), (3, 17, 1), (6, 41, 2), (2, 300, 3)])
def test_grad_matches_finite_difference_of_cost(backend, n_x, m, seed):
    w, b, X, y = inputs("logreg_grad", {"n_x": n_x, "m": m}, seed=seed)
    cost = vb.kernel("logreg_cost", backend)
    dw, db, J = vb.kernel("logreg_grad", backend)(w, b, X, y)
    np.testing.assert_allclose(J, cost(w, b, X, y), rtol=1e-12)
    theta = np.append(w, b)
    assert vb.gradcheck(lambda t: cost(t[:-1], t[-1], X, y), np.append(dw, db), theta, h=1e-5, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("backend", vb.backends("logreg_step"))
def test_step_moves_downhill(backend):
    w, b, X, y = inputs("logreg_step", {"n_x": 5, "m": 200})[:4]
    dw, db, J0 = vb.kernel("logreg_grad", backend)(w, b, X, y)
    w1, b1, J = vb.kernel("logreg_step", backend)(w, b, X, y, 0.5)
    assert pytest.approx(J0) == J
    np.testing.assert_allclose(w1, w - 0.5 * dw)
    assert b1 == pytest.approx(b - 0.5 * db)
    assert vb.kernel("logreg_cost", backend)(w1, b1, X, y) < J0


def test_kernels_is_a_function_and_operations_a_plain_package():
    # The package of op modules and the public function kernels() no longer share a name.
    code = ("import types, vecbench.bandwidth, vecbench as vb; from vecbench.operations import dot; "
            "import vecbench.operations as ops; import sys; "
            "ok = isinstance(vb.kernels, types.FunctionType) and type(ops) is types.ModuleType "
            "and len(vb.kernels(['dot'])) == len(vb.backends('dot')); sys.exit(0 if ok else 1)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
