"""The ``torch_cuda`` backend: eager PyTorch on a CUDA GPU.

The kernels are the ``torch`` backend's own (:mod:`vecbench.operations.torch_kernels`,
which run on the device of their inputs); this backend puts the inputs on
``cuda:0`` in ``prepare`` and brings results back in ``finalize`` (both
untimed, stored per record), and ends every timed call with
``torch.cuda.synchronize()``: PyTorch launches CUDA kernels asynchronously.
The first call loads CUDA modules and creates cuBLAS handles: stored as
compile time.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from ._device import DeviceBackend
from .torch import TorchBackend

__all__ = ["TorchCudaBackend"]


class TorchCudaBackend(DeviceBackend, TorchBackend):
    name = "torch_cuda"
    graph = "dynamic"
    description = "eager PyTorch on a CUDA GPU (the torch kernels on cuda:0; copies timed apart)"
    requires = ("torch",)
    install = "vecbench[torch-cuda]"
    install_what = "a CUDA build of torch"
    role = "other"
    style: ClassVar[dict[str, str]] = {"color": "#8c564b", "marker": "*"}
    torch_device = "cuda:0"
    probe_body = """\
    import torch
    if not torch.cuda.is_available():
        raise RuntimeError(f"torch.cuda.is_available() is False (torch {torch.__version__}, built for CUDA "
                           f"{torch.version.cuda or 'none: a CPU build'})")
    float((torch.arange(4.0, device="cuda") * 2).sum())
    facts = {"gpus": torch.cuda.device_count(), "name": torch.cuda.get_device_name(0), "torch": torch.__version__,
             "cuda_runtime": torch.version.cuda}"""

    def start(self) -> None:
        import torch

        torch.empty(1, device=self.torch_device)
        self.sync(None)

    def to_device(self, a: np.ndarray) -> Any:
        import torch

        with warnings.catch_warnings():  # vecbench's inputs are read-only; the tensor is only copied from
            warnings.simplefilter("ignore", UserWarning)
            host = torch.from_numpy(a)
        return host.to(self.torch_device)  # from pageable memory, as a user's array is

    def to_host(self, r: Any) -> Any:
        import torch

        return r.detach().cpu().numpy() if isinstance(r, torch.Tensor) else r

    def sync(self, result: Any) -> Any:
        import torch

        torch.cuda.synchronize()
        return result

    def memory_per_call(self, kernel: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        """The CUDA caching allocator's own counters around one call (``reset_peak_memory_stats``,
        ``max_memory_allocated``, ``memory_stats()["allocation.all.allocated"]``); on a CPU device, the profiler."""
        import torch

        from ..memory import not_measured

        dev = torch.device(self.torch_device)
        if dev.type != "cuda":  # a CPU stand-in (the tests): what the torch backend measures
            return super().memory_per_call(kernel, args)
        try:
            torch.cuda.synchronize(dev)
            torch.cuda.reset_peak_memory_stats(dev)
            start, count = torch.cuda.memory_allocated(dev), torch.cuda.memory_stats(dev).get("allocation.all.allocated")
            result = kernel.timed_core(*args)  # ends with a synchronize: every allocation has been made
            held, peak = torch.cuda.memory_allocated(dev) - start, torch.cuda.max_memory_allocated(dev) - start
            after = torch.cuda.memory_stats(dev).get("allocation.all.allocated")
            del result
        except Exception as exc:  # noqa: BLE001  a counter problem costs the memory figure only
            return not_measured(f"the CUDA allocator's counters could not be read: {type(exc).__name__}: {exc}")
        output = max(0, held)
        allocations = after - count if isinstance(after, int) and isinstance(count, int) else None
        return {"method": "torch.cuda.memory_stats", "peak_bytes": max(0, peak - output), "output_bytes": output,
                "allocations": allocations, "reason": ""}

    def device_copy(self, x: Any) -> Any:
        return x.clone()

    def device_facts(self) -> dict[str, Any]:
        import torch

        p = torch.cuda.get_device_properties(0)
        return {"version": torch.__version__, "memory_bytes": int(p.total_memory),
                "multiprocessors": int(p.multi_processor_count), "compute_capability": f"{p.major}.{p.minor}"}
