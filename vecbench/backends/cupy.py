"""The ``cupy`` backend: the NumPy formulas on a CUDA GPU.

The kernels are :mod:`vecbench.operations.xp_kernels`, written once for any
NumPy-like array module; with CuPy arrays every line runs on the GPU (CuPy's
elementwise and reduction kernels, cuBLAS for ``@`` and ``dot``), with
NumPy arrays the same lines are what the tests check on a CPU. CuPy compiles
its elementwise and reduction kernels on first use (cached on disk in
``~/.cupy/kernel_cache``): the first call is stored as compile time.

Copies, waits and the device facts are :class:`~vecbench.backends._device.DeviceBackend`'s:
inputs are copied to the device in ``prepare`` and results back in
``finalize`` (both untimed and stored per record), and every timed call ends
with the current stream synchronised.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ._device import DeviceBackend

__all__ = ["CupyBackend"]


def _cupy() -> Any:
    import cupy

    return cupy


class CupyBackend(DeviceBackend):
    name = "cupy"
    description = "CuPy: the NumPy formulas on a CUDA GPU (copies to and from the device timed apart)"
    requires = ("cupy",)
    install = "vecbench[cupy]"
    install_what = "cupy (a CUDA build: cupy-cuda12x or cupy-cuda13x)"
    style: ClassVar[dict[str, str]] = {"color": "#17becf", "marker": "h"}
    probe_body = """\
    import cupy
    count = cupy.cuda.runtime.getDeviceCount()
    props = cupy.cuda.runtime.getDeviceProperties(0)
    float((cupy.arange(4.0) * 2).sum())  # a kernel really runs
    facts = {"gpus": count, "name": props["name"].decode(), "cupy": cupy.__version__,
             "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(), "cuda_driver": cupy.cuda.runtime.driverGetVersion()}"""

    def fresh_cache_env(self, folder: str) -> dict[str, str]:
        return {"CUPY_CACHE_DIR": folder}  # CuPy keeps compiled kernels on disk, as Numba does

    def start(self) -> None:
        cp = _cupy()
        cp.cuda.Device(0).use()
        cp.empty(1)
        cp.cuda.Device(0).synchronize()

    def to_device(self, a: Any) -> Any:
        return _cupy().asarray(a)

    def to_host(self, r: Any) -> Any:
        cp = _cupy()
        return cp.asnumpy(r) if isinstance(r, cp.ndarray) else r

    def sync(self, result: Any) -> Any:
        _cupy().cuda.get_current_stream().synchronize()
        return result

    def wait(self, values: tuple[Any, ...]) -> None:
        self.sync(values)

    def device_copy(self, x: Any) -> Any:
        return x.copy()

    def device_facts(self) -> dict[str, Any]:
        cp = _cupy()
        props = cp.cuda.runtime.getDeviceProperties(0)
        return {"version": cp.__version__, "memory_bytes": int(props["totalGlobalMem"]),
                "sm_clock_khz": int(props.get("clockRate", 0)), "memory_clock_khz": int(props.get("memoryClockRate", 0)),
                "multiprocessors": int(props["multiProcessorCount"]),
                "compute_capability": f"{props['major']}.{props['minor']}"}
