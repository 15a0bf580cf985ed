"""The ``jax_gpu`` backend: ``jax.jit`` on a CUDA GPU.

The kernels are the ``jax`` backend's own (:mod:`vecbench.operations.jax_kernels`):
``jax.jit`` compiles for the device its (committed) inputs are on, so this
backend only puts them on the first GPU, inside the same ``jax.enable_x64``
context as the ``jax`` backend (float64 stays float64). Copies happen in
``prepare`` and ``finalize``, untimed and stored per record; each timed call
ends with ``jax.block_until_ready``. Trace and XLA compile of the first call
per shape and dtype are stored as compile time, as for ``jax``.

JAX with GPU support is ``pip install 'jax[cuda12]'`` (or ``jax[cuda13]``):
the CUDA plugin brings its own CUDA libraries; only the NVIDIA driver is
needed on the machine.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._device import DeviceBackend
from .jax import JaxBackend, _has_subnormal, _x64

__all__ = ["JaxGpuBackend"]


def _gpu() -> Any:
    import jax

    return jax.devices("gpu")[0]


class JaxGpuBackend(DeviceBackend, JaxBackend):
    name = "jax_gpu"
    graph = "static"
    description = "JAX jax.jit on a CUDA GPU (the jax kernels, compiled by XLA for the device; copies timed apart)"
    requires = ("jax",)
    install = "vecbench[jax-cuda12]"
    install_what = "jax with its CUDA plugin (jax[cuda12] or jax[cuda13])"
    role = "other"
    style: ClassVar[dict[str, str]] = {"color": "#bcbd22", "marker": "p"}
    probe_body = """\
    import jax
    try:
        gpus = jax.devices("gpu")
    except RuntimeError as exc:
        raise RuntimeError(f"JAX {jax.__version__} has no GPU backend, pip install 'jax[cuda12]': {exc}") from None
    float((jax.device_put(jax.numpy.arange(4.0), gpus[0]) * 2).sum())
    facts = {"gpus": len(gpus), "name": getattr(gpus[0], "device_kind", str(gpus[0])), "jax": jax.__version__}"""

    def prepare(self, args: tuple[Any, ...], has_out: bool) -> tuple[Any, ...]:
        host = args[:-1] if has_out else args
        if any(_has_subnormal(a) for a in host):  # as the jax backend: the op's numpy kernel takes the call
            self._transfers = {"in": 0.0}
            return host
        with _x64():
            return DeviceBackend.prepare(self, args, has_out)

    def start(self) -> None:
        import jax

        jax.device_put(np.zeros(1), _gpu()).block_until_ready()

    def to_device(self, a: np.ndarray) -> Any:
        import jax

        with _x64():
            return jax.device_put(a, _gpu())

    def to_host(self, r: Any) -> Any:
        return np.asarray(r) if hasattr(r, "block_until_ready") else r

    def sync(self, result: Any) -> Any:
        import jax

        return jax.block_until_ready(result)

    def device_copy(self, x: Any) -> Any:
        with _x64():
            return x.copy()

    def device_facts(self) -> dict[str, Any]:
        import jax

        d = _gpu()
        facts: dict[str, Any] = {"version": jax.__version__, "device_kind": getattr(d, "device_kind", "")}
        stats = getattr(d, "memory_stats", lambda: None)() or {}
        if "bytes_limit" in stats:
            facts["memory_bytes_usable"] = int(stats["bytes_limit"])
        return facts
