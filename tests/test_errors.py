"""Bad input gets the same clear error from every backend, before any kernel runs."""

from __future__ import annotations

import re

import numpy as np
import pytest
from cases import ALL_KERNELS, kernel_id

import vecbench as vb
from vecbench.data import inputs


def _msg(k, *args, exc=Exception, **kwargs) -> str:
    with pytest.raises(exc) as info:
        k(*args, **kwargs)
    return str(info.value)


def _small(k):
    return tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in inputs(k.op, {key: 3 for key in k.op.sizes["quick"][0]}))


def _first_array(args):
    return next(i for i, a in enumerate(args) if isinstance(a, np.ndarray))


@pytest.mark.parametrize("k", ALL_KERNELS, ids=kernel_id)
def test_non_numeric_dtype_is_a_type_error(k):
    args = list(_small(k))
    i = _first_array(args)
    args[i] = args[i].astype(str)
    msg = _msg(k, *args, exc=TypeError)
    assert "must be a real numeric array" in msg and "got dtype <U" in msg
    assert msg.startswith(f"{k.op.name}: ")


@pytest.mark.parametrize("k", ALL_KERNELS, ids=kernel_id)
def test_empty_input_is_a_value_error(k):
    args = list(_small(k))
    i = _first_array(args)
    args[i] = args[i][..., :0]
    msg = _msg(k, *args, exc=ValueError)
    assert re.search(r"must not be empty; got shape \(.*0,?\)", msg), msg


@pytest.mark.parametrize("k", [k for k in ALL_KERNELS if k.op.name != "sigmoid"], ids=kernel_id)
def test_wrong_ndim_is_a_value_error(k):
    args = list(_small(k))
    i = _first_array(args)
    args[i] = np.zeros((2, 3, 4))
    msg = _msg(k, *args, exc=ValueError)
    assert "got 3-D array of shape (2, 3, 4)" in msg


@pytest.mark.parametrize("backend", vb.backends("dot"))
def test_dot_length_mismatch(backend):
    msg = "dot: a has shape (3,) but b has shape (4,); need len(a) == len(b)"
    with pytest.raises(ValueError, match=re.escape(msg)):
        vb.kernel("dot", backend)(np.ones(3), np.ones(4))


@pytest.mark.parametrize("backend", vb.backends("dot"))
def test_dot_rejects_a_matrix(backend):
    msg = "dot: a must be a vector of shape (n,), (1, n) or (n, 1); got 2-D array of shape (2, 2)"
    with pytest.raises(ValueError, match=re.escape(msg)):
        vb.kernel("dot", backend)(np.ones((2, 2)), np.ones(4))


@pytest.mark.parametrize("backend", vb.backends("matvec"))
def test_matvec_shape_mismatch(backend):
    msg = "matvec: A has shape (3, 4) but v has shape (5,); need A.shape[1] == v.shape[0]"
    with pytest.raises(ValueError, match=re.escape(msg)):
        vb.kernel("matvec", backend)(np.ones((3, 4)), np.ones(5))


@pytest.mark.parametrize("backend", vb.backends("matvec"))
def test_out_of_wrong_shape_or_dtype(backend):
    k = vb.kernel("matvec", backend)
    with pytest.raises(ValueError, match=re.escape("matvec: out must have shape (3,); got shape (4,)")):
        k(np.ones((3, 4)), np.ones(4), out=np.empty(4))
    with pytest.raises(TypeError, match=re.escape("matvec: out must have dtype float64; got dtype float32")):
        k(np.ones((3, 4)), np.ones(4), out=np.empty(3, dtype=np.float32))


@pytest.mark.parametrize("op", ["logreg_cost", "logreg_grad", "logreg_step"])
@pytest.mark.parametrize("backend", vb.backends("logreg_grad"))
def test_logreg_shape_mismatches(op, backend):
    k = vb.kernel(op, backend)
    w, b, X, y = inputs("logreg_grad", {"n_x": 4, "m": 10})
    extra = (0.1,) if op == "logreg_step" else ()
    msg_w = f"{op}: w has shape (3,) but X has shape (4, 10); need len(w) == X.shape[0] (n_x features, one per row)"
    with pytest.raises(ValueError, match=re.escape(msg_w)):
        k(w[:3], b, X, y, *extra)
    msg_y = f"{op}: y has shape (9,) but X has shape (4, 10); need len(y) == X.shape[1] (m examples, one per column)"
    with pytest.raises(ValueError, match=re.escape(msg_y)):
        k(w, b, X, y[:9], *extra)
    with pytest.raises(TypeError, match=re.escape(f"{op}: b must be a real number; got str")):
        k(w, "0", X, y, *extra)
    with pytest.raises(ValueError, match=re.escape(f"{op}: b must be finite; got nan")):
        k(w, np.nan, X, y, *extra)


@pytest.mark.parametrize("backend", vb.backends("logreg_step"))
@pytest.mark.parametrize("lr", [0, -0.1])
def test_step_needs_positive_learning_rate(backend, lr):
    w, b, X, y = inputs("logreg_grad", {"n_x": 4, "m": 10})
    with pytest.raises(ValueError, match=re.escape(f"logreg_step: lr must be > 0; got {float(lr)}")):
        vb.kernel("logreg_step", backend)(w, b, X, y, lr)


@pytest.mark.parametrize("k", ALL_KERNELS, ids=kernel_id)
def test_every_backend_raises_the_same_message(k):
    args = list(_small(k))
    i = _first_array(args)
    args[i] = args[i].astype(str)
    ref = vb.kernel(k.op.name, "numpy")
    assert _msg(k, *args) == _msg(ref, *args)


def test_unknown_backend_lists_available():
    with pytest.raises(KeyError, match=re.escape(f"unknown backend 'cuda' for op 'dot'; available: {vb.backends('dot')}")):
        vb.kernel("dot", "cuda")


def test_unknown_op_lists_ops():
    with pytest.raises(KeyError, match=re.escape("unknown op 'dott'; available: ['dot', 'matvec'")):
        vb.kernel("dott", "numpy")
