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
    kernels: ClassVar[dict[str, Any]] = dict(TorchBackend.kernels)
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

    def device_copy(self, x: Any) -> Any:
        return x.clone()

    def device_facts(self) -> dict[str, Any]:
        import torch

        p = torch.cuda.get_device_properties(0)
        return {"version": torch.__version__, "memory_bytes": int(p.total_memory),
                "multiprocessors": int(p.multi_processor_count), "compute_capability": f"{p.major}.{p.minor}"}
