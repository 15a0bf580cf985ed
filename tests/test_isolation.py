"""One bad kernel costs that kernel only: crashes, hangs and exits in a worker process are recorded."""

from __future__ import annotations

import pytest

import vecbench as vb
from vecbench.harness import Settings, run

FAST = Settings(min_sample_s=0.001, repeats=3, budget_s=2.0)
TIMEOUT_S = 10.0  # the hang costs this much; healthy kernels here take milliseconds even on a loaded machine

# op -> what the numpy kernel's record must say
EXPECTED = {
    "fault_segfault": "worker process killed by SIGSEGV",
    "fault_hang": f"timed out after {TIMEOUT_S:g} s",
    "fault_memory": "MemoryError: pretend the kernel ran out of memory",
    "fault_os_exit": "worker process exited with status 7",
    "fault_system_exit": "SystemExit: 3",
    "fault_wrong": "differs from the float64 reference",
}
# Faults outside the kernel: every backend of the op fails, saying where.
EVERY_BACKEND = {
    "fault_reference": "ValueError: the reference broke while computing the reference",
    "fault_inputs": "RuntimeError: make_inputs broke while generating the inputs (make_inputs)",
}


@pytest.fixture(scope="module")
def faults():
    import fault_kernels

    fault_kernels.register_all()
    yield fault_kernels
    fault_kernels.unregister()


@pytest.fixture(scope="module")
def sweep(faults):
    """One isolated sweep over every fault op, then a healthy kernel."""
    ops = [*EXPECTED, *EVERY_BACKEND, "dot"]
    return run(ops=ops, backends=["numpy", "python"], sizes=[{"n": 10}], sizes_by_op={"dot": [100]},
               settings=FAST, bandwidth=False, timeout=TIMEOUT_S)


@pytest.mark.parametrize("op", list(EXPECTED))
def test_kernel_fault_costs_that_kernel_only(sweep, op):
    (bad,) = sweep.select(op=op, backend="numpy")
    assert bad.status == "failed"
    assert EXPECTED[op] in bad.reason, bad.reason
    assert bad.samples_s == () and bad.timing is None
    (good,) = sweep.select(op=op, backend="python")  # measured next, in the same or a fresh worker
    assert good.ok and good.median_s > 0


@pytest.mark.parametrize("op", list(EVERY_BACKEND))
def test_fault_in_inputs_or_reference_is_recorded(sweep, op):
    recs = sweep.select(op=op)
    assert {r.backend for r in recs} == {"numpy", "python"}
    for r in recs:
        assert r.status == "failed" and r.reason == EVERY_BACKEND[op]


def test_run_goes_on_after_all_faults(sweep):
    assert not sweep.interrupted
    assert [r.status for r in sweep.select(op="dot")] == ["ok", "ok"]
    assert len(sweep.failures) == len(EXPECTED) + 2 * len(EVERY_BACKEND)


def test_cli_exits_1_and_keeps_the_good_records(faults, tmp_path, capsys):
    from vecbench.cli import main
    from vecbench.results import load

    out = tmp_path / "r.json"
    rc = main(["run", "--ops", "fault_segfault,dot", "--backends", "numpy", "--sizes", "100", "--quick",
               "--no-bandwidth", "--no-progress", "-o", str(out)])
    assert rc == 1
    assert {r.op: r.status for r in load(out)} == {"fault_segfault": "failed", "dot": "ok"}
    captured = capsys.readouterr()
    assert "SIGSEGV" in captured.out and "Traceback" not in captured.out + captured.err


def test_a_kernel_patched_at_run_time_is_not_silently_replaced(monkeypatch):
    from vecbench import registry

    k = registry.Kernel(vb.spec("dot"), registry.BACKENDS["numpy"], lambda a, b: 0.0)
    monkeypatch.setitem(registry._KERNELS, ("dot", "numpy"), k)
    (rec,) = run(ops=["dot"], backends=["numpy"], sizes=[100], settings=FAST, bandwidth=False).records
    assert rec.status == "failed" and "isolate=False" in rec.reason
    (rec,) = run(ops=["dot"], backends=["numpy"], sizes=[100], settings=FAST, bandwidth=False,
                 isolate=False).records
    assert rec.status == "failed" and "differs from the float64 reference" in rec.reason


def test_worker_sets_the_thread_limit():
    (rec,) = run(ops=["dot"], backends=["numba_parallel"], sizes=[1000], threads=1, settings=FAST,
                 bandwidth=False).records
    assert rec.ok and rec.threads == 1
