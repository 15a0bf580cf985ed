"""Memory per call (vecbench.memory): each record's peak temporary bytes, measured outside the timing.

The NumPy figures are checked against an independent tracemalloc measurement of the same kernels on
the same inputs (the issue's check); the memory call is checked to come after the samples, with
tracemalloc off while anything is timed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import vecbench as vb
from vecbench import memory
from vecbench.data import inputs
from vecbench.measuring import Settings, measure, prepare
from vecbench.memory_report import memory_cell, memory_lines
from vecbench.operations import discover, logreg
from vecbench.records import Record, Timing
from vecbench.registry import Kernel
from vecbench.results import Results

FAST = Settings(min_sample_s=0.001, repeats=3, budget_s=5.0, ci_target=0.0, max_samples=3, rounds=0)
N = 10**5  # sigmoid: 800 kB a temporary, far above tracemalloc's bookkeeping
MODEL = {"n_x": 20, "m": 10**4}


def _independent(fn, *args) -> int:
    """Peak bytes of ``fn(*args)`` beyond what it returns, with tracemalloc driven here, not by vecbench.

    One untraced call first, as vecbench's figure comes after the timed samples: a first call's one-time
    allocations (a library's lazy set-up) are not what a call costs.
    """
    fn(*args)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        result = fn(*args)
        held, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        tracemalloc.stop()
    return peak - start - max(0, held - start)


# ---------------------------------------------------------------- the NumPy figures, checked independently
def test_numpy_sigmoid_matches_an_independent_tracemalloc_measurement():
    rec = measure(vb.kernel("sigmoid", "numpy"), {"n": N}, "float64", FAST)
    (z,) = inputs("sigmoid", {"n": N}, "float64")
    expected = _independent(logreg.sigmoid_numpy, z, np.empty_like(z))
    m = rec.memory
    assert rec.ok and m["method"] == "tracemalloc" and m["unit"] == "n" and m["unit_elements"] == N
    assert m["peak_bytes"] == pytest.approx(expected, abs=4096)
    assert m["output_bytes"] < 1024  # written into out=: no output allocated
    assert memory.temporaries(m, 8) == pytest.approx(3.0, abs=0.05)  # exp(-|z|), the where, 1 + e


def test_numpy_logreg_cost_matches_an_independent_tracemalloc_measurement():
    rec = measure(vb.kernel("logreg_cost", "numpy"), MODEL, "float64", FAST)
    w, b, X, y = inputs("logreg_cost", MODEL, "float64")
    expected = _independent(logreg.cost_numpy, w, b, X, y)
    m = rec.memory
    assert rec.ok and m["unit"] == "m" and m["unit_elements"] == MODEL["m"]
    assert m["peak_bytes"] == pytest.approx(expected, abs=4096)
    assert memory.temporaries(m, 8) >= 2  # z and the loss terms at least: vectors of m


@pytest.mark.parametrize("op", [spec.name for spec in discover()[0]])  # the built-in ops (tests register others)
def test_every_numpy_kernel_matches_an_independent_tracemalloc_measurement(op):
    k = vb.kernel(op, "numpy")
    size = vb.spec(op).sizes["quick"][-1]
    rec = measure(k, size, "float64", FAST)
    core, args, _ = k.bind(*inputs(op, size, "float64"))
    # 8 kB: Python's own bookkeeping around a call (a few kB either way); the figures are arrays of the size.
    assert rec.ok and rec.memory["peak_bytes"] == pytest.approx(_independent(core, *args), abs=8192)


def test_the_figure_survives_the_worker_pipe_and_a_results_file(tmp_path):
    # What the worker sends back is the pickled record; a file is its JSON (the full worker path: exhaustive).
    rec = measure(vb.kernel("sigmoid", "numpy"), {"n": N}, "float64", FAST)
    assert pickle.loads(pickle.dumps(rec)).memory == rec.memory
    vb.Results(records=[rec]).save(tmp_path / "r.json")
    assert vb.load(tmp_path / "r.json").records[0].memory == rec.memory


@pytest.mark.exhaustive
def test_the_figure_comes_through_the_worker_process():
    res = vb.run(ops=["sigmoid"], backends=["numpy"], sizes=[{"n": N}], bandwidth=False, settings=FAST)
    (rec,) = res.records
    assert memory.temporaries(rec.memory, 8) == pytest.approx(3.0, abs=0.05)


# ---------------------------------------------------------------- never inside a timing
def _spy_kernel(log: list[bool]) -> Kernel:
    """numpy's sigmoid, logging for each call whether tracemalloc was on."""

    def core(z, out):
        log.append(tracemalloc.is_tracing())
        return logreg.sigmoid_numpy(z, out)

    return Kernel(vb.spec("sigmoid"), vb.backend("numpy"), core)


def test_the_memory_call_is_one_extra_call_after_the_samples_never_timed():
    log: list[bool] = []
    rec = measure(_spy_kernel(log), {"n": 1000}, "float64", FAST)
    assert rec.ok and rec.memory["peak_bytes"] is not None
    assert log.count(True) == 1 and log[-1] is True  # the last call, after every sample
    timed = rec.timing.loops_per_sample * len(rec.samples_s)
    assert len(log) - 1 >= 1 + timed  # warm-up + calibration + samples, none of them traced

    log.clear()
    off = measure(_spy_kernel(log), {"n": 1000}, "float64", dataclasses.replace(FAST, memory_share=0))
    assert off.memory == {} and True not in log


def test_a_call_slower_than_a_tenth_of_the_budget_is_not_repeated():
    tight = dataclasses.replace(FAST, budget_s=1e-9)
    rec = measure(vb.kernel("sigmoid", "numpy"), {"n": 1000}, "float64", tight)
    assert rec.memory["peak_bytes"] is None and "over 10% of the time budget" in rec.memory["reason"]


# ---------------------------------------------------------------- every backend says what it measured
@pytest.mark.parametrize("backend", [b for b in vb.backends("sigmoid") if b != "dask"])
def test_each_backend_gives_a_figure_or_a_reason(backend):
    k = vb.kernel("sigmoid", backend)
    p = prepare(k, {"n": N}, "float64")
    assert not p.reason, p.reason
    m = k.backend.memory_per_call(k, p.args)
    assert set(m) >= {"method", "peak_bytes", "output_bytes", "allocations", "reason"}
    assert (m["peak_bytes"] is None) == bool(m["reason"])  # a number, or why not
    if m["peak_bytes"] is not None:
        assert m["peak_bytes"] >= 0 and m["method"]
    if m["allocations"] is not None:
        assert m["allocations"] >= 0


@pytest.mark.parametrize("backend", ["numba", "numba_parallel"])
def test_numba_counts_its_runtime_allocations(backend):
    k = vb.kernel("sigmoid", backend)
    m = k.backend.memory_per_call(k, prepare(k, {"n": N}, "float64").args)
    assert isinstance(m["allocations"], int) and m["allocations"] >= 0
    if backend == "numba":  # a fused loop: block-sized scratch at most, no temporary of n floats
        assert m["method"] == "tracemalloc+nrt" and m["peak_bytes"] < 0.1 * N * 8
    else:
        assert m["method"] == "nrt" and m["peak_bytes"] is None and "GIL" in m["reason"]


def test_numba_leaves_the_runtime_statistics_as_it_found_them():
    pytest.importorskip("numba", reason="pip install numba")
    from numba.core.runtime import _nrt_python

    k = vb.kernel("sigmoid", "numba")
    was = _nrt_python.memsys_stats_enabled()
    k.backend.memory_per_call(k, prepare(k, {"n": 1000}, "float64").args)
    assert _nrt_python.memsys_stats_enabled() == was


@pytest.mark.parametrize("backend", ["torch"])
def test_torch_reads_the_profilers_allocations(backend):
    k = vb.kernel("sigmoid", backend)
    m = k.backend.memory_per_call(k, prepare(k, {"n": N}, "float64").args)
    assert m["method"] == "torch.profiler", m["reason"]
    assert m["output_bytes"] == pytest.approx(N * 8, rel=0.01)  # the returned tensor: an output, not a temporary
    assert m["peak_bytes"] >= N * 8 and m["allocations"] >= 2  # eager: at least one temporary of n floats


@pytest.mark.parametrize("backend", ["torch"])
def test_the_torch_profiler_prints_nothing(backend):
    """Kineto's default level prints two lines per profiled call: hundreds in a report's console."""
    code = ("import vecbench as vb; from vecbench.measuring import prepare; k = vb.kernel('sigmoid', 'torch'); "
            "print(k.backend.memory_per_call(k, prepare(k, {'n': 1000}, 'float64').args)['method'])")
    env = {k: v for k, v in os.environ.items() if k != "KINETO_LOG_LEVEL"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "torch.profiler" and "profiler_st" not in p.stderr, p.stderr[-2000:]


@pytest.mark.parametrize("backend", ["jax"])
def test_jax_reports_xlas_planned_temporaries(backend):
    k = vb.kernel("sigmoid", backend)
    m = k.backend.memory_per_call(k, prepare(k, {"n": N}, "float64").args)
    assert m["method"] == "xla.memory_analysis", m["reason"]
    assert m["output_bytes"] == N * 8 and m["peak_bytes"] < N * 8  # fused: no temporary of n floats


@pytest.mark.parametrize("backend", ["dask"])
def test_dask_says_why_it_cannot_measure(backend):
    k = vb.kernel("sigmoid", backend)
    m = k.backend.memory_per_call(k, ())  # nothing is called: no cluster is started
    assert m["peak_bytes"] is None and "not measurable per call" in m["reason"]


def test_a_backend_without_a_counter_reports_none_with_the_reason():
    class Quiet(vb.Backend):
        name = "quiet_test"

    m = Quiet().memory_per_call(vb.kernel("sigmoid", "numpy"), ())
    assert m["peak_bytes"] is None and "quiet_test" in m["reason"]


# ---------------------------------------------------------------- the helpers
def test_from_events_peak_is_measured_from_the_start_and_the_output_excluded():
    m = memory.from_events([+100, +800, -800, -50, +300], "test")  # 50 freed from before; 100 + 300 held
    assert (m["peak_bytes"], m["output_bytes"], m["allocations"]) == (900 - 350, 350, 3)  # levels 100, 900, 100, 50, 350
    assert memory.from_events([], "test")["peak_bytes"] == 0


def test_the_unit_comes_from_the_op_spec():
    assert memory.unit_name({"n_x": 100, "m": 10}, vb.spec("logreg_grad").temporary_unit) == "m"
    assert memory.unit_elements({"n": 7}, vb.spec("dot").temporary_unit) == 7
    assert memory.unit_name({"n_x": 3, "m": 5, "batch": 2}, (), ("batch",)) == "n_x x m"
    with pytest.raises(ValueError, match=re.escape("keys ['k'] are not in the size")):
        memory.unit_elements({"n": 7}, ("k",))


def test_traced_keeps_a_trace_that_was_already_running():
    tracemalloc.start()
    try:
        m = memory.traced(lambda: np.ones(10_000) + 1)
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()
    assert m["output_bytes"] >= 80_000 and m["peak_bytes"] >= 80_000  # np.ones is a temporary, the sum the output


# ---------------------------------------------------------------- records, files, the report section
def _rec(backend: str, mem: dict, label: str = "1e5", n: int = N) -> Record:
    t = Timing.from_samples([1e-3, 1e-3, 1e-3], 1)
    return Record("sigmoid", backend, {"n": n}, label, "float64", 1, timing=t, memory=mem)


def _mem(peak, allocs=None, reason="", method="tracemalloc", n=N) -> dict:
    return {"method": method, "peak_bytes": peak, "output_bytes": 0, "allocations": allocs, "reason": reason,
            "unit": "n", "unit_elements": n}


def test_records_keep_memory_in_json_and_old_files_load_without_it(tmp_path):
    r = _rec("numpy", _mem(3 * N * 8))
    assert Record.from_dict(json.loads(json.dumps(r.to_dict()))).memory == r.memory
    old = {k: v for k, v in r.to_dict().items() if k != "memory"}
    assert Record.from_dict(old).memory == {}
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({"schema": 2, "results": [dict(old, memory={"peak_bytes": -1})]}))
    with pytest.raises(ValueError, match=re.escape("results[0].memory: must be an object whose byte counts")):
        vb.load(f)


def test_memory_lines_put_backends_side_by_side_with_their_reasons():
    recs = [_rec("numpy", _mem(3 * N * 8)), _rec("numba", _mem(200, 5, method="tracemalloc+nrt")),
            _rec("numba_parallel", _mem(None, 8, "bytes not measured: GIL", "nrt")),
            _rec("dask", _mem(None, None, "not measurable per call")),
            _rec("numpy", _mem(3000 * 8, n=1000), "1000", 1000), _rec("python", {}, "1000", 1000)]
    text = "\n".join(memory_lines(recs))
    assert "| op | size | dtype | numpy | numba | numba_parallel | dask |" in text
    assert "| sigmoid | 1000 | float64 | 3 x n (24 kB) |  |  |  |" in text  # sizes in order, smallest first
    assert "| sigmoid | 1e5 | float64 | 3 x n (2.4 MB) | none | 8 allocations | - |" in text
    assert "`sigmoid` at 1e5 (float64): numpy: 3 temporaries of n floats (2.4 MB); numba: none; " \
           "numba_parallel: 8 allocations." in text
    assert "- `dask`: not measurable per call" in text and "python" not in text
    assert text.index("1000 | float64") < text.index("1e5 | float64")
    assert memory_lines([_rec("numpy", {})]) == []
    assert memory_cell(_rec("numpy", _mem(N * 8)), words=True) == "1 temporary of n floats (800 kB)"


# ---------------------------------------------------------------- on a GPU: the allocator's own counters
def test_torch_cuda_reads_the_cuda_allocators_counters(monkeypatch):
    """The arithmetic around torch.cuda's counters, on a fake allocator (no GPU needed): peak beyond the output."""
    torch = pytest.importorskip("torch", reason="pip install 'vecbench[torch]'")
    from vecbench.backends.torch_cuda import TorchCudaBackend

    state = {"now": 1000, "peak": 5000, "count": 7}  # 1000 bytes held before the call

    def alloc(n: int) -> None:
        state["now"] += n
        state["peak"] = max(state["peak"], state["now"])
        state["count"] += n > 0

    def reset(dev=None) -> None:
        state["peak"] = state["now"]

    fake = {"synchronize": lambda dev=None: None, "reset_peak_memory_stats": reset,
            "memory_allocated": lambda dev=None: state["now"], "max_memory_allocated": lambda dev=None: state["peak"],
            "memory_stats": lambda dev=None: {"allocation.all.allocated": state["count"]}}
    for name, fn in fake.items():
        monkeypatch.setattr(torch.cuda, name, fn)

    def core(z):  # two temporaries of 800 bytes, one live at a time, then a 400-byte result
        alloc(800), alloc(-800), alloc(800), alloc(400), alloc(-800)
        return z

    backend = type("FakeCuda", (TorchCudaBackend,), {"name": "fake_cuda_test"})()
    m = backend.memory_per_call(Kernel(vb.spec("sigmoid"), backend, core), (None,))
    assert m == {"method": "torch.cuda.memory_stats", "peak_bytes": 800, "output_bytes": 400, "allocations": 3,
                 "reason": ""}


def test_torch_cuda_on_a_cpu_stand_in_uses_the_profiler():
    pytest.importorskip("torch", reason="pip install 'vecbench[torch]'")
    from vecbench.backends.torch import to_torch
    from vecbench.backends.torch_cuda import TorchCudaBackend

    backend = type("CpuStandIn", (TorchCudaBackend,), {"name": "cpu_stand_in_test", "torch_device": "cpu",
                                                       "sync": lambda self, r: r})()  # nothing to wait for
    k = Kernel(vb.spec("sigmoid"), backend, vb.kernel("sigmoid", "torch").core)
    m = backend.memory_per_call(k, (to_torch(np.linspace(-5, 5, N)),))
    assert m["method"] == "torch.profiler" and m["output_bytes"] == pytest.approx(N * 8, rel=0.01)


def test_an_op_whose_unit_names_a_missing_key_keeps_its_bytes():
    spec = dataclasses.replace(vb.spec("sigmoid"), temporary_unit=("k",))
    rec = measure(Kernel(spec, vb.backend("numpy"), logreg.sigmoid_numpy), {"n": N}, "float64", FAST)
    assert rec.ok and rec.memory["peak_bytes"] > 0 and rec.memory["unit_elements"] is None
    assert "keys ['k'] are not in the size" in rec.memory["unit_error"]
    assert memory.temporaries(rec.memory, 8) is None and "2.4" in memory_cell(rec)


def test_the_report_has_a_memory_section_where_records_carry_figures():
    from vecbench.report.markdown import render

    with_memory = Results([_rec("numpy", _mem(3 * N * 8)), _rec("numba", _mem(200, 5))])
    text = render(with_memory, {}, ["x.json"], "numpy")
    assert "## Memory per call" in text and "3 temporaries of n floats" in text
    assert "Memory per call" not in render(Results([_rec("numpy", {})]), {}, ["x.json"], "numpy")
