"""The ``numba_cuda`` backend: hand-written CUDA kernels compiled by Numba.

The kernels (:mod:`vecbench.operations.numba_cuda_kernels`) are the compiled
loop on the GPU: a thread per element or per example, and tree reductions in
shared memory for the sums (``dot``, ``matvec``, the gradient ``dw = X dz / m``
and the means). ``train_epoch`` is the slide's loop launched from the host:
five kernels per step (the batch gathered through ``perm`` on the device),
nothing copied back until the epoch ends, so small batches show the launch
cost. ``mlp_step`` is the hand-derived step with one naive kernel per matrix
product (a thread per output element): the compiled loop, not cuBLAS, as the
CPU ``numba`` backend is not BLAS.

Numba's CUDA target is the ``numba-cuda`` package (NVIDIA's; ``pip install
'vecbench[numba-cuda]'``), or the one built into Numba up to 0.6x. CI runs
these kernels in Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) on small
sizes against the reference: the simulator never makes the backend
available, since availability is asked of a real device.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._device import DeviceBackend

__all__ = ["NumbaCudaBackend"]


class NumbaCudaBackend(DeviceBackend):
    name = "numba_cuda"
    description = "hand-written CUDA kernels (Numba @cuda.jit, shared-memory tree reductions; copies timed apart)"
    requires = ("numba",)
    install = "vecbench[numba-cuda]"
    install_what = "numba-cuda"
    role = "other"
    style: ClassVar[dict[str, str]] = {"color": "#7f7f7f", "marker": "v"}
    probe_body = """\
    import numpy as np
    from numba import cuda
    if not cuda.is_available():
        raise RuntimeError("numba.cuda.is_available() is False: no driver, or no CUDA target libraries "
                           "(pip install 'numba-cuda[cu12]')")
    @cuda.jit
    def twice(x):
        x[0] = 2.0 * x[0]
    a = cuda.to_device(np.ones(1))
    twice[1, 1](a)  # compiles: needs NVVM (numba-cuda[cu12] brings it)
    assert a.copy_to_host()[0] == 2.0
    dev = cuda.get_current_device()
    name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
    facts = {"gpus": len(cuda.gpus), "name": name, "compute_capability": ".".join(map(str, dev.compute_capability))}"""

    def start(self) -> None:
        from numba import cuda

        cuda.to_device(np.zeros(1)).copy_to_host()

    def to_device(self, a: np.ndarray) -> Any:
        from numba import cuda

        return cuda.to_device(a)

    def to_host(self, r: Any) -> Any:
        if hasattr(r, "to_host"):  # a DeviceScalar
            return r.to_host()
        return r.copy_to_host() if hasattr(r, "copy_to_host") else r

    def sync(self, result: Any) -> Any:
        from numba import cuda

        cuda.synchronize()
        return result

    def device_copy(self, x: Any) -> Any:
        from numba import cuda

        y = cuda.device_array_like(x)
        y.copy_to_device(x)
        return y

    def device_facts(self) -> dict[str, Any]:
        import numba
        from numba import cuda

        ctx = cuda.current_context()
        free, total = ctx.get_memory_info()
        return {"version": numba.__version__, "cuda_target": getattr(cuda, "implementation", "unknown"),
                "memory_bytes": int(total)}
