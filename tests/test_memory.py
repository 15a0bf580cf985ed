"""The cache hints of ``operations/_memory.py`` and the code they and the hot loops compile to.

Streaming (non-temporal) stores only run for outputs of tens of MB, which the
registry-generated tests never reach; they are tested here directly on small
arrays (every alignment and tail) and once end to end above the threshold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

import vecbench as vb
from vecbench.backends.numba import NumbaBackend
from vecbench.operations import broadcast_numba as bn
from vecbench.operations._memory import aligned_offset

# The Numba backends (their kernels share the compiled code tested here).
NUMBA_BACKENDS = [b for b in vb.backends() if isinstance(vb.backend(b), NumbaBackend)]


@numba.njit
def _aligned_offset(a):
    return aligned_offset(a)


def _offset_view(shape, dtype, byte_offset):
    """An array of ``shape`` whose data starts ``byte_offset`` bytes past a 64-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    buf = np.zeros(nbytes + 128, dtype=np.uint8)
    start = (-buf.ctypes.data) % 64 + byte_offset
    return np.frombuffer(buf.data, dtype=dtype, count=int(np.prod(shape)), offset=start).reshape(shape)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("byte_offset", [0, 4, 8, 16, 24])
def test_aligned_offset(dtype, byte_offset):
    item = np.dtype(dtype).itemsize
    a = _offset_view((40,), dtype, byte_offset)
    h = _aligned_offset(a)
    if byte_offset % item:
        assert h == -1  # no element is aligned
    else:
        assert 0 <= h < 4
        assert (a[h:].ctypes.data % (4 * item)) == 0


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (7, 33), (16, 64)])
@pytest.mark.parametrize("byte_offset", [0, 4, 8, 24])
def test_streaming_scale_matches_plain_stores(dtype, shape, byte_offset):
    rng = np.random.default_rng(1)
    A = (rng.random(shape) + 0.5).astype(dtype)
    r = rng.random(shape[1]) + 0.5  # float64, as the kernels pass it
    plain = np.empty_like(A)
    bn._scale_rows(A, r, plain, 0, shape[0])
    out = _offset_view(shape, dtype, byte_offset)
    bn._scale_rows_streaming(A, r, out, 0, shape[0])
    np.testing.assert_array_equal(out, plain)


def test_streaming_scale_leaves_other_rows_alone():
    A = np.ones((6, 10))
    out = np.full_like(A, -1.0)
    bn._scale_rows_streaming(A, np.full(10, 2.0), out, 2, 4)
    assert np.all(out[2:4] == 2.0) and np.all(out[:2] == -1.0) and np.all(out[4:] == -1.0)


@pytest.mark.parametrize("backend", NUMBA_BACKENDS)
def test_col_percent_above_the_streaming_threshold(backend):
    n = 2600  # 54 MB of float64: written with streaming stores
    A = np.random.default_rng(2).random((n, n)) + 0.1
    assert A.nbytes >= bn.STREAM_MIN_BYTES and bn._streaming(A, A)
    got = vb.kernel("col_percent", backend)(A)
    np.testing.assert_allclose(got, 100 * A / A.sum(axis=0), rtol=1e-12)


# Offsets added to a loop index (``X[i, start + j]``) hide from LLVM that the
# index is never negative; the loop then vectorizes with AVX gathers and runs
# at a fraction of the speed (logreg_grad was 42 ms instead of 35 ms). Only
# code for the CPU running the tests is checked, so this needs AVX2.
HOT_LOOPS = {
    "logreg_numba": ["_z_rows8", "_dw_rows8", "_zdw_rows8", "_zdw_rows4", "_zdw_row", "_sigmoid_range", "loss_and_dz_block"],
    "dot_numba": ["dot_range", "dot_range_prefetch"],
    "matvec_numba": ["_rows"],
    "broadcast_numba": ["_colsum_rows", "_scale_rows", "_scale_rows_streaming", "_standardize_row"],
}

_GATHER_PROBE = """
import json, sys
from importlib import import_module
import numpy as np
import vecbench as vb
from vecbench.backends.numba import NumbaBackend
from vecbench.operations import broadcast_numba, dot_numba
hot = json.loads(sys.argv[1])
NUMBA_BACKENDS = [b for b in vb.backends() if isinstance(vb.backend(b), NumbaBackend)]
for name in ("logreg_grad", "dot", "matvec", "col_percent", "standardize", "sigmoid"):
    spec = vb.spec(name)
    args = spec.make_inputs(spec.sizes["quick"][-1], np.dtype("float64"), np.random.default_rng(0))
    for backend in NUMBA_BACKENDS:
        vb.kernel(name, backend)(*args)
a = np.random.rand(1 << 19)
dot_numba.dot_parallel(a, a)  # reaches the prefetching range
A = np.random.rand(8, 40)
broadcast_numba._scale_rows_streaming(A, np.ones(40), np.empty_like(A), 0, 8)
found = {}
for mod, names in hot.items():
    m = import_module("vecbench.operations." + mod)
    for name in names:
        asms = getattr(m, name).inspect_asm()
        assert asms, name + " was not compiled"
        found[mod + "." + name] = sum(asm.count("gather") for asm in asms.values())
print(json.dumps(found))
"""


def _has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return " avx2" in f.read()
    except OSError:
        return False


@pytest.mark.exhaustive  # compiles every hot loop cold in a fresh cache (minutes on 2 cores)
@pytest.mark.skipif(not _has_avx2(), reason="gathers exist only from AVX2 on; this CPU cannot show the regression")
def test_hot_loops_use_contiguous_loads(tmp_path):
    # A fresh cache directory: Numba cannot show the assembly of cached code.
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", _GATHER_PROBE, json.dumps(HOT_LOOPS)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(found) == {f"{m}.{n}" for m, names in HOT_LOOPS.items() for n in names}
    assert {k: v for k, v in found.items() if v} == {}
