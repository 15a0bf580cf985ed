"""Backends as plug-ins: one module per backend, found here or through entry points.

The built-in backends are listed in :data:`BUILTIN` (``"module:Class"``
strings, imported when the registry first loads; none of them imports its
framework until a kernel runs). A third-party package adds a backend without
editing vecbench by publishing a :class:`~vecbench.backends.base.Backend`
subclass (or instance) in the ``vecbench.backends`` entry-point group::

    [project.entry-points."vecbench.backends"]
    mybackend = "mypackage.vecbench_backend:MyBackend"

or, at run time, with :func:`vecbench.registry.register_backend`.
"""

from __future__ import annotations

from .base import ROLES, Backend

__all__ = ["Backend", "BUILTIN", "ENTRY_POINT_GROUP", "ROLES"]

ENTRY_POINT_GROUP = "vecbench.backends"

# Order is the order of columns in tables and series in figures.
BUILTIN = (
    "vecbench.backends.python:PythonBackend",
    "vecbench.backends.numpy:NumpyBackend",
    "vecbench.backends.numba:NumbaBackend",
    "vecbench.backends.numba_parallel:NumbaParallelBackend",
    "vecbench.backends.jax:JaxBackend",
    "vecbench.backends.torch:TorchBackend",
    "vecbench.backends.torch_compile:TorchCompileBackend",
    "vecbench.backends.jax:JaxAutodiffBackend",
    "vecbench.backends.torch:TorchAutodiffBackend",
    "vecbench.backends.dask:DaskBackend",
    # GPU backends: unavailable, with the reason, where no CUDA GPU is (see backends/_device.py).
    "vecbench.backends.cupy:CupyBackend",
    "vecbench.backends.torch_cuda:TorchCudaBackend",
    "vecbench.backends.jax_gpu:JaxGpuBackend",
    "vecbench.backends.numba_cuda:NumbaCudaBackend",
)
