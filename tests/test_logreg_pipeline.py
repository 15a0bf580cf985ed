"""The compiled logistic-regression kernels across block and chunk boundaries.

``logreg_numba`` reads a C-ordered ``X`` in cache-sized blocks and overlaps
each block's ``dw`` with the next block's pass (a software pipeline that
starts afresh in every parallel chunk). The registry's test sizes cover a
few of these cases; here the example counts sit on and around block
boundaries, and every row-group width (8, 4, 1) is used.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from cases import compare

import vecbench as vb
from vecbench.backends.numba import NumbaBackend
from vecbench.machine import thread_limit
from vecbench.operations import logreg_numba

GRAD = vb.spec("logreg_grad")

# The Numba backends (their kernels share the compiled code tested here).
NUMBA_BACKENDS = [b for b in vb.backends() if isinstance(vb.backend(b), NumbaBackend)]


def _inputs(n_x: int, m: int, seed: int = 0):
    return GRAD.make_inputs({"n_x": n_x, "m": m}, np.dtype("float64"), np.random.default_rng(seed))


def _m_values(n_x: int) -> list[int]:
    block = logreg_numba._block(np.empty((n_x, 1)))
    # One block, a short second block, two equal blocks (one fused pass),
    # a short last block after fused ones, many blocks (several chunks).
    return [block - 1, block, block + 1, 2 * block, 3 * block + 5, 40 * block + 3]


CASES = [(n_x, m) for n_x in (1, 4, 8, 12, 13, 100) for m in _m_values(n_x) if n_x * m <= 6_000_000]


@pytest.mark.parametrize("backend", NUMBA_BACKENDS)
@pytest.mark.parametrize(("n_x", "m"), CASES, ids=[f"{n_x}x{m}" for n_x, m in CASES])
def test_grad_across_blocks(backend, n_x, m):
    args = _inputs(n_x, m)
    compare(vb.kernel("logreg_grad", backend)(*args), GRAD.reference(*args), *GRAD.tol("float64"))


@pytest.mark.parametrize("backend", NUMBA_BACKENDS)
def test_cost_across_blocks(backend):
    cost = vb.spec("logreg_cost")
    args = _inputs(13, 40 * logreg_numba._block(np.empty((13, 1))) + 3)
    compare(vb.kernel("logreg_cost", backend)(*args), cost.reference(*args), *cost.tol("float64"))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two Numba threads")
def test_parallel_grad_does_not_depend_on_the_thread_count():
    # Chunks depend only on the problem size, and each chunk runs the same
    # pipeline whichever thread takes it: bit-for-bit the same result.
    args = _inputs(100, 70 * logreg_numba._block(np.empty((100, 1))) + 11, seed=3)
    kernel = vb.kernel("logreg_grad", "numba_parallel")
    with thread_limit(1):
        one = kernel(*args)
    with thread_limit(2):
        two = kernel(*args)
    np.testing.assert_array_equal(one[0], two[0])
    assert (one[1], one[2]) == (two[1], two[2])
