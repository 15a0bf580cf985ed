"""The GPU backends on a machine without a GPU: availability, honest timing, the device code paths, the crossover.

- the availability probe: a clear "no CUDA GPU found" here, a time limit that
  turns a hung probe into a reason, and the install command when a package is missing;
- a fake device on a virtual clock (tests/fake_device.py) run by the real
  harness, in-process and in a worker process: the sync is inside every
  sample, the copies and the context start are not, and all three are stored;
- the device backends' own code (copies, kernels, finalize) with the CPU standing
  in for the GPU: CuPy's kernels on NumPy arrays, torch_cuda's on ``cpu``, jax_gpu's on JAX's CPU device;
- the crossover analysis and its report section on synthetic results.

The Numba CUDA kernels run in Numba's simulator in tests/test_numba_cuda_sim.py.
"""

from __future__ import annotations

import importlib.util
import json
import math
import time
from typing import Any

import numpy as np
import pytest
from cases import small_sizes

import vecbench as vb
from vecbench import registry
from vecbench.backends import _device
from vecbench.backends._device import DeviceBackend, run_probe
from vecbench.crossover import crossover_lines, crossovers
from vecbench.harness import Settings, measure, prepare, run
from vecbench.results import Record, Results, Timing

GPU_BACKENDS = [b.name for b in vb.iter_backends() if isinstance(b, DeviceBackend)]
NO_GPU_HERE = bool(_device.no_driver_reason())
needs_no_gpu = pytest.mark.skipif(not NO_GPU_HERE, reason="this machine has an NVIDIA device node: tested by the device check")


# ---------------------------------------------------------------- availability
def test_every_gpu_backend_is_registered():
    assert set(GPU_BACKENDS) == {"cupy", "torch_cuda", "jax_gpu", "numba_cuda"}
    for name in GPU_BACKENDS:
        assert vb.backend(name).device == "cuda"
        assert vb.backends("dot").count(name) == 1


@needs_no_gpu
@pytest.mark.parametrize("name", ["cupy", "torch_cuda", "jax_gpu", "numba_cuda"])
def test_unavailable_without_a_gpu_says_why(name):
    b = vb.backend(name)
    assert not b.available
    hint = b.install_hint
    if b.packages_installed:
        assert "no CUDA GPU found" in hint, hint
    else:
        assert f"pip install 'vecbench[{b.install.split('[')[1]}" in hint, hint
    meta = b.metadata()
    assert meta["available"] is False
    with pytest.raises(ImportError, match="needs"):
        vb.kernel("dot", name)


@needs_no_gpu
def test_a_run_skips_gpu_backends_with_the_reason():
    res = run(ops=["dot"], backends=["numpy", "cupy"], sizes=[1000], settings=Settings.quick(), bandwidth=False,
              isolate=False)
    (skipped,) = res.select(backend="cupy")
    assert skipped.status == "skipped" and "cupy" in skipped.reason
    assert res.select(backend="numpy")[0].ok


@needs_no_gpu
@pytest.mark.parametrize(("name", "says"), [("torch_cuda", "RuntimeError: torch.cuda.is_available() is False"),
                                            ("jax_gpu", "has no GPU backend, pip install 'jax[cuda12]'"),
                                            ("numba_cuda", "RuntimeError: numba.cuda.is_available() is False")])
def test_the_real_probe_answers_no_gpu(name, says):
    """Each backend's own probe code, run in a fresh interpreter (past the device-node shortcut)."""
    b = vb.backend(name)
    if not b.packages_installed:
        pytest.skip(b.install_hint)
    answer = run_probe(_device._PROBE.format(body=b.probe_body, no_gpu=_device.NO_GPU), timeout_s=120)
    assert answer["ok"] is False
    assert answer["reason"].startswith("no CUDA GPU found ("), answer
    assert says in answer["reason"], answer  # the probe's own check answered, not a typo's NameError


def test_a_hung_probe_is_a_reason_not_a_hang():
    t0 = time.monotonic()
    answer = run_probe("import time; time.sleep(60)", timeout_s=1.0)
    assert answer == {"ok": False, "reason": "the CUDA device probe did not answer within 1 s (a hung driver or "
                                             "device?); VECBENCH_GPU_PROBE_TIMEOUT sets the limit"}
    assert time.monotonic() - t0 < 50  # killed, not waited for (a bound no machine comes near)


def test_a_crashing_probe_gives_its_last_error_line():
    answer = run_probe("import sys; sys.stderr.write('cudaErrorNoDevice: no CUDA-capable device\\n'); sys.exit(3)", 30)
    assert answer == {"ok": False, "reason": "the CUDA device probe failed: cudaErrorNoDevice: no CUDA-capable device"}


def test_probe_wrapper_turns_an_exception_into_no_gpu():
    code = _device._PROBE.format(body="    raise RuntimeError('CUDA driver version is insufficient')",
                                 no_gpu=_device.NO_GPU)
    answer = run_probe(code, 30)
    assert answer == {"ok": False, "reason": "no CUDA GPU found (RuntimeError: CUDA driver version is insufficient)"}
    answer = run_probe(_device._PROBE.format(body="    facts = {'name': 'Fake H200'}", no_gpu=_device.NO_GPU), 30)
    assert answer == {"ok": True, "name": "Fake H200"}


def test_probe_runs_without_the_simulator_switch(monkeypatch):
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    answer = run_probe("import json, os; print(json.dumps({'ok': 'NUMBA_ENABLE_CUDASIM' not in os.environ}))", 30)
    assert answer == {"ok": True}


def test_probe_runs_once_per_process_tree(monkeypatch):
    monkeypatch.setattr(_device, "no_driver_reason", lambda: "")
    monkeypatch.setattr(_device, "_PROBES", {})
    monkeypatch.delenv("VECBENCH_GPU_PROBED", raising=False)

    class Probed(DeviceBackend):
        name = "probed_test"
        probe_body = "    facts = {'name': 'Fake GPU'}"

    assert Probed().probe() == {"ok": True, "name": "Fake GPU"}
    assert Probed().available
    # A worker process starts with an empty table and the parent's environment: no second probe.
    monkeypatch.setattr(_device, "_PROBES", {})
    monkeypatch.setattr(_device, "run_probe", lambda *args: pytest.fail("probed twice"))
    assert Probed().probe()["name"] == "Fake GPU"


def test_probe_timeout_from_the_environment(monkeypatch):
    monkeypatch.setenv("VECBENCH_GPU_PROBE_TIMEOUT", "7.5")
    assert _device.probe_timeout() == 7.5
    monkeypatch.setenv("VECBENCH_GPU_PROBE_TIMEOUT", "soon")
    assert _device.probe_timeout() == _device.PROBE_TIMEOUT_S


def test_cli_list_names_the_gpu_backends_and_why(capsys):
    from vecbench.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in GPU_BACKENDS:
        b = vb.backend(name)
        if not b.available:
            assert f"{name}: unavailable; the {name} backend needs" in " ".join(out.split())


# ---------------------------------------------------------------- honest timing, on a virtual clock
@pytest.fixture
def fake_device(monkeypatch):
    import fake_device

    registry.register_backend(fake_device.FakeDeviceBackend)  # again, if an earlier test removed it
    DeviceBackend._started.pop("fake_device", None)
    fake_device.LOG.clear()
    yield fake_device
    fake_device.unregister()
    DeviceBackend._started.pop("fake_device", None)


FAKE = Settings(min_sample_s=0.002, repeats=3, budget_s=5.0, ci_target=0.0, max_samples=3)


def _check_fake_record(rec: Record, fake: Any, arrays_in: int) -> None:
    assert rec.ok, rec.reason
    # The device's work is owed until sync: every sample containing it means the sync is timed.
    assert rec.min_s >= fake.DEVICE_S
    # No copy (100 s each) and no context start (1000 s) inside a sample.
    assert rec.timing is not None and max(rec.samples_s) < fake.COPY_S / 10
    assert rec.transfer_in_s >= arrays_in * fake.COPY_S
    assert rec.transfer_out_s >= fake.COPY_S
    assert rec.compile_time_s >= fake.START_S


def test_fake_device_in_process(fake_device, monkeypatch):
    monkeypatch.setattr(time, "perf_counter_ns", fake_device.clock)
    k = vb.kernel("dot", "fake_device")
    rec = measure(k, {"n": 1000}, "float64", FAKE)
    _check_fake_record(rec, fake_device, arrays_in=2)
    log = fake_device.LOG
    # start and copies once, before the first launch; then launch + sync pairs only; one copy back.
    assert log[:3] == ["start", "to_device", "to_device"]
    assert log[3:6] == ["launch", "sync", "to_host"]
    assert set(log[6:]) == {"launch", "sync"} and log[6:][::2] == ["launch"] * (len(log[6:]) // 2)
    # A second kernel in the same process: the context exists, so no start-up in its compile time.
    rec2 = measure(vb.kernel("sigmoid", "fake_device"), {"n": 1000}, "float32", FAKE)
    assert rec2.ok and rec2.compile_time_s < fake_device.START_S
    assert rec2.transfer_in_s >= fake_device.COPY_S and max(rec2.samples_s) < fake_device.COPY_S / 10


def test_fake_device_in_the_worker_process(fake_device, monkeypatch):
    monkeypatch.setenv("VECBENCH_FAKE_CLOCK", "1")  # the worker installs the virtual clock when it imports the module
    res = run(ops=["dot", "sigmoid"], backends=["fake_device"], sizes=[1000], settings=FAKE, bandwidth=False)
    dot, sig = res.select(op="dot"), res.select(op="sigmoid")
    _check_fake_record(dot[0], fake_device, arrays_in=2)
    assert sig[0].ok and sig[0].transfer_out_s >= fake_device.COPY_S
    # The fields travel through the results file.
    again = Results.from_dict(json.loads(json.dumps(res.to_dict())))
    assert again.records[0].transfer_in_s == dot[0].transfer_in_s
    assert again.records[0].transfer_out_s == dot[0].transfer_out_s
    meta = res.machine["backends"]["fake_device"]
    assert meta["available"] is True and meta["device"] == "cuda"
    assert meta["context_start_s"] >= fake_device.START_S
    assert set(meta["bandwidth_gbps"]) >= {"device_copy", "host_to_device", "device_to_host"}


def test_cpu_backends_record_no_transfer():
    rec = measure(vb.kernel("dot", "numpy"), {"n": 1000}, "float64", Settings.quick())
    assert rec.ok and rec.transfer_in_s is None and rec.transfer_out_s is None
    assert rec.to_dict()["transfer_in_s"] is None


# ---------------------------------------------------------------- device code paths, the CPU standing in
class _CpuStandIn:
    """Mixin: available here, no context to start, no device to wait for."""

    @property
    def available(self) -> bool:
        return True

    def start(self) -> None:
        pass

    def sync(self, result: Any) -> Any:
        return result


def _cupy_on_numpy() -> DeviceBackend:
    from vecbench.backends.cupy import CupyBackend

    class CupyOnNumpy(_CpuStandIn, CupyBackend):
        name = "cupy_on_numpy"
        requires = ()

        def to_device(self, a: np.ndarray) -> Any:
            return np.array(a)  # a copy, as a device copy is

        def to_host(self, r: Any) -> Any:
            return np.array(r) if isinstance(r, np.ndarray) else r

    return CupyOnNumpy()


def _torch_on_cpu() -> DeviceBackend:
    from vecbench.backends.torch_cuda import TorchCudaBackend

    class TorchOnCpu(_CpuStandIn, TorchCudaBackend):
        name = "torch_on_cpu"
        torch_device = "cpu"

    return TorchOnCpu()


def _jax_on_cpu() -> DeviceBackend:
    from vecbench.backends import jax_gpu

    class JaxOnCpu(_CpuStandIn, jax_gpu.JaxGpuBackend):
        name = "jax_on_cpu"

        def to_device(self, a: np.ndarray) -> Any:
            import jax

            with jax.enable_x64(True):
                return jax.device_put(a, jax.devices("cpu")[0])

    return JaxOnCpu()


STAND_INS = {"cupy": (_cupy_on_numpy, None), "torch_cuda": (_torch_on_cpu, "torch"), "jax_gpu": (_jax_on_cpu, "jax")}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("target", list(STAND_INS))
def test_device_code_path_with_the_cpu_standing_in(target, dtype):
    """Each GPU backend's prepare/kernels/finalize, validated by the harness against the reference."""
    make, package = STAND_INS[target]
    if package and importlib.util.find_spec(package) is None:
        pytest.skip(vb.backend(package).install_hint)  # the CPU framework stands in for the GPU one
    backend = make()
    real = vb.backend(target)
    per_op = 1 if target == "jax_gpu" else 3  # XLA compiles each shape: one size keeps this quick
    for declared in vb.kernels(backends_=[real.name]):  # the GPU backend's own, run by the stand-in
        spec, targ = declared.op, declared.target
        sizes = [s for s in small_sizes(spec) if math.prod(s.values()) <= 50_000][-per_op:]
        for size in sizes:
            k = registry.Kernel(spec, backend, targ)
            with np.errstate(all="ignore"):  # NumPy standing in for CuPy warns where CuPy does not
                p = prepare(k, size, dtype)
            assert p.reason == "", f"{spec.name} {size} {dtype}: {p.reason}"
            assert p.transfers["in"] >= 0 and p.transfers["out"] >= 0


@pytest.mark.parametrize("target", list(STAND_INS))
def test_device_code_path_keeps_the_nan_inf_rules(target):
    make, package = STAND_INS[target]
    if package and importlib.util.find_spec(package) is None:
        pytest.skip(vb.backend(package).install_hint)  # the CPU framework stands in for the GPU one
    backend = make()
    spec = vb.spec("col_percent")
    k = registry.Kernel(spec, backend, vb.kernels(["col_percent"], [target])[0].target)
    A = np.array([[1e308, 1.0, np.nan, np.inf], [1e308, 3.0, 1.0, 2.0]])
    with np.errstate(all="ignore"):  # NumPy standing in for CuPy warns where CuPy does not
        return _nan_inf_checks(backend, target, spec, k, A)


def _nan_inf_checks(backend: Any, target: str, spec: Any, k: Any, A: np.ndarray) -> None:
    got = k(A)
    want = spec.reference(A)
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    kd = registry.Kernel(vb.spec("dot"), backend, vb.kernels(["dot"], [target])[0].target)
    assert kd(np.array([1e308, 1e308, -1e308]), np.ones(3)) == 1e308  # partial sums overflow; the rule's exact sum
    assert math.isnan(kd(np.array([0.0, 1.0]), np.array([np.inf, 1.0])))


# ---------------------------------------------------------------- the crossover, on synthetic results
def _rec(op: str, backend: str, n: int, median: float, device: bool = False, copies: float = 0.0,
         dtype: str = "float64") -> Record:
    t = Timing(samples_s=(median,) * 3, loops_per_sample=1, min_s=median, median_s=median, iqr_s=0.0,
               transfer_in_s=copies / 2 if device else None, transfer_out_s=copies / 2 if device else None)
    return Record(op, backend, {"n": n}, vb.registry.size_label({"n": n}), dtype, 1, timing=t)


def _synthetic() -> Results:
    recs = []
    for n in (10**3, 10**4, 10**5, 10**6, 10**7):
        recs.append(_rec("dot", "numpy", n, 1e-7 + n * 1e-10))   # CPU: 10 GB/s-ish
        recs.append(_rec("dot", "numba", n, 2e-7 + n * 0.8e-10))  # the best CPU from 1e5 on
        # device: 10 us launch + 100x the bandwidth; copies 1 ns per element
        recs.append(_rec("dot", "gpu_a", n, 1e-5 + n * 1e-12, device=True, copies=n * 1e-9))
        # a lucky small size, then losses: no crossover
        recs.append(_rec("dot", "gpu_b", n, 1e-8 if n == 10**3 else 1.0, device=True, copies=0.0))
    recs.append(_rec("sigmoid", "numpy", 1000, 1e-6))
    return Results(records=recs, machine={"backends": {"gpu_a": {"available": True, "device": "cuda",
                                                                  "name": "Fake H200"}}})


def test_crossover_finds_where_the_device_wins():
    rows = {(c.op, c.backend): c for c in crossovers(_synthetic())}
    assert set(rows) == {("dot", "gpu_a"), ("dot", "gpu_b")}  # sigmoid has no device record
    a = rows["dot", "gpu_a"]
    # resident: 1e-5 + n 1e-12 < 2e-7 + n 0.8e-10 from n ~ 1.3e5: the first measured win is 1e6
    assert a.resident_from == "1e6"
    # with copies (+1e-9 n) the device never wins
    assert a.transfers_from is None
    assert a.largest == "1e7" and a.best_cpu == "numba"
    assert a.ratio_resident == pytest.approx((2e-7 + 1e7 * 0.8e-10) / (1e-5 + 1e7 * 1e-12))
    b = rows["dot", "gpu_b"]
    assert b.resident_from is None and b.ratio_resident < 1


def test_crossover_with_cheap_copies():
    recs = [_rec("dot", "numpy", n, n * 1e-9) for n in (10, 100, 1000)]
    recs += [_rec("dot", "dev", n, 1e-7, device=True, copies=1e-7) for n in (10, 100, 1000)]
    (c,) = crossovers(Results(records=recs))
    assert c.resident_from == "100" and c.transfers_from == "1000"


def test_no_device_records_no_section():
    res = Results(records=[_rec("dot", "numpy", 1000, 1e-6)])
    assert crossovers(res) == [] and crossover_lines(res) == []


def test_report_draws_the_crossover_only_with_device_records(tmp_path):
    from vecbench.report import figures as plotting
    from vecbench.report.markdown import render
    from vecbench.report.write import plan_figures

    res = _synthetic()
    todo, _ = plan_figures(res, "python")
    assert "gpu_crossover" in todo
    fig = todo["gpu_crossover"]()
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["dot"]
    solid = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == "-"]
    assert len(solid) >= 5  # numpy, numba, the best CPU, gpu_a, gpu_b
    assert {p.name for p in plotting.save(fig, tmp_path, "gpu_crossover")} == {"gpu_crossover.png", "gpu_crossover.svg"}
    text = render(res, {}, ["synthetic.json"], "python")
    assert "## CPU or GPU: where the device starts to win" in text
    assert "Measured on Fake H200" in text
    assert "| dot | float64 | gpu_a | 1e6 | never | 1e7 | numba" in text
    cpu_only = Results(records=[r for r in res.records if r.transfer_in_s is None])
    assert "gpu_crossover" not in plan_figures(cpu_only, "python")[0]
    assert "CPU or GPU" not in render(cpu_only, {}, [], "python")

