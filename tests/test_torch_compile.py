"""The torch_compile backend: every op validated, odd values by the rules, compiles counted and kept apart.

Each new (op, shape, strides, dtype) is an Inductor compile (a C++ build: about a second warm from the
on-disk cache, several cold), so these tests reuse one signature per op: the odd-value cases at the
grids' small size and C order (hundreds of calls, one compile per op). The registry-generated grids
(tests/test_semantics.py) run the other layouts and sizes with --exhaustive.
"""

from __future__ import annotations

import warnings

import adversarial as adv
import numpy as np
import pytest
from cases import compare

import vecbench as vb
from vecbench.data import inputs
from vecbench.measuring import prepare

BACKEND = vb.backend("torch_compile")
if not BACKEND.available:
    pytest.skip(BACKEND.install_hint, allow_module_level=True)

import torch  # noqa: E402  # only where the backend can run

from vecbench.operations import torch_compile_kernels as tck  # noqa: E402

OPS = [op for op in vb.ops() if "torch_compile" in vb.backends(op)]


def _same_signature(args, base) -> bool:
    """Whether ``args`` would reuse ``base``'s compiled graph (same shapes, strides and dtypes)."""
    def sig(a):
        return (a.shape, a.strides, a.dtype.str) if isinstance(a, np.ndarray) else type(a).__name__
    return [sig(a) for a in args] == [sig(a) for a in base]


def test_every_hand_gradient_torch_op_is_compiled():
    assert set(OPS) == {op for op in vb.ops() if "torch" in vb.backends(op)}
    assert (BACKEND.graph, BACKEND.gradients, BACKEND.jit) == ("static", "hand", True)
    # The report's static-vs-dynamic section pairs it with eager torch, from these attributes alone.
    assert vb.backend("torch").graph == "dynamic" and vb.backend("torch").gradients == BACKEND.gradients


@pytest.mark.parametrize("op", OPS)
def test_first_call_compiles_apart_and_is_validated(op):
    k = vb.kernel(op, "torch_compile")
    size = adv.small_size(k.op)
    p = prepare(k, size, "float64")  # what a run does before timing: the warm-up call, checked vs float64
    assert p.reason == "" and p.core is not None
    again = prepare(k, size, "float64")
    assert again.reason == "" and not again.compiled  # the same signature: no second compile
    before = BACKEND.compile_state(k)
    for _ in range(3):  # what the timed loop does: the warm-up's arguments again
        again.core(*again.args)
    assert BACKEND.compile_state(k)[0] == before[0]
    assert again.timing([1e-3, 1e-3, 1e-3], 1).compile_time_s == 0.0


@pytest.mark.parametrize("op", OPS)
def test_odd_values_follow_the_rules_at_one_shape(op):
    """NaN, inf, huge and subnormal values, as tests/test_semantics.py checks every backend (C order)."""
    k, numpy_k = vb.kernel(op, "torch_compile"), vb.kernel(op, "numpy")
    base = None
    checked = 0
    for label, args in adv.cases(op):
        base = base or args
        if not _same_signature(args, base):
            continue  # another layout or dtype: another compile (the --exhaustive grids run those)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                ref = k.op.reference(*args)
            except Exception:  # noqa: BLE001 - a refusal: the backends must refuse alike
                ref = None
            try:
                got = k(*args)
            except (ValueError, TypeError) as e:
                with pytest.raises(type(e)) as info:
                    numpy_k(*args)
                assert str(info.value) == str(e), label
                continue
        assert ref is not None, f"{label}: the reference failed but torch_compile returned {got!r}"
        why = adv._same(got, ref, *k.op.tol("float64"))
        assert why is None, f"{op} {label}: {why}"
        checked += 1
    assert checked > 50


def test_new_floats_reuse_the_graph_and_a_new_shape_compiles_once():
    k = vb.kernel("logreg_step", "torch_compile")
    w, b, X, y, lr = inputs("logreg_step", {"n_x": 4, "m": 6})
    k(w, b, X, y, lr)
    graphs = BACKEND.compile_state(k)[0]
    for b2, lr2 in [(0.5, 0.1), (-3.0, 0.01)]:  # b and lr are graph inputs, not constants baked in
        compare(k(w, b2, X, y, lr2), k.op.reference(w, b2, X, y, lr2), *k.op.tol("float64"))
    assert BACKEND.compile_state(k)[0] == graphs
    w3, b3, X3, y3, lr3 = inputs("logreg_step", {"n_x": 4, "m": 23})  # a shape no other test compiles
    compare(k(w3, b3, X3, y3, lr3), k.op.reference(w3, b3, X3, y3, lr3), *k.op.tol("float64"))
    assert BACKEND.compile_state(k)[0] == graphs + 1


def test_more_shapes_than_dynamos_recompile_limit_stay_compiled():
    """Dynamo falls back to eager Python, without an error, past its recompile limit per code object;
    each signature has its own code object here, so a sweep of sizes is compiled at every size."""
    k = vb.kernel("sigmoid", "torch_compile")
    with torch._dynamo.config.patch(recompile_limit=1):
        for n in (23, 24, 25):  # shapes no other test compiles
            before = BACKEND.compile_state(k)[0]
            z = inputs("sigmoid", {"n": n})[0]
            compare(k(z), k.op.reference(z), *k.op.tol("float64"))
            assert BACKEND.compile_state(k)[0] == before + 1, n


def test_train_epoch_compiles_one_step_per_batch_length():
    k = vb.kernel("train_epoch", "torch_compile")
    args = inputs("train_epoch", {"n_x": 3, "m": 10, "batch": 4})  # steps of 4, 4 and 2 examples
    graphs = BACKEND.compile_state(k)[0]
    compare(k(*args), k.op.reference(*args), *k.op.tol("float64"))
    assert BACKEND.compile_state(k)[0] - graphs <= 2  # 2 when new; the loop itself is not traced


def test_compiled_reports_cache_hits_from_inductors_counters():
    k = vb.kernel("dot", "torch_compile")
    assert BACKEND.compiled(k, (3, 1, 0), (3, 1, 0), ()) == (False, None)
    assert BACKEND.compiled(k, (3, 1, 0), (4, 2, 0), ()) == (True, True)  # served by the FX graph cache
    assert BACKEND.compiled(k, (3, 1, 0), (4, 1, 1), ()) == (True, False)
    assert BACKEND.fresh_cache_env("/x") == {"TORCHINDUCTOR_CACHE_DIR": "/x"}


def test_threads_follow_the_limit_and_key_the_graph():
    before = torch.get_num_threads()
    with BACKEND.thread_limit(1):
        assert BACKEND.threads() == 1
        key = tck._key(tck.eager.sigmoid, (torch.zeros(3),))
    assert torch.get_num_threads() == before
    assert key[1] == 1  # Inductor sizes its OpenMP loops when it compiles: the thread count is in the key
