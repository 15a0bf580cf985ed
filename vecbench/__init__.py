"""vecbench: what vectorization buys, measured honestly.

The computations of a classic lecture on logistic regression, each written as
pure Python loops, vectorized NumPy and Numba JIT kernels (serial and
parallel), with a harness that checks they agree and times them.

>>> import numpy as np, vecbench as vb
>>> vb.kernel("dot", "numpy")(np.ones(3), np.ones(3))
3.0
"""

from __future__ import annotations

from typing import Any

from .backends import Backend
from .gradcheck import gradcheck
from .registry import (
    Axis,
    Kernel,
    OpSpec,
    backend,
    backends,
    iter_backends,
    kernel,
    kernels,
    ops,
    register,
    register_backend,
    spec,
)

__version__ = "0.1.0"

__all__ = [
    "Axis",
    "Backend",
    "Kernel",
    "OpSpec",
    "__version__",
    "backend",
    "backends",
    "gradcheck",
    "iter_backends",
    "kernel",
    "kernels",
    "ops",
    "register",
    "register_backend",
    "spec",
]


def __getattr__(name: str) -> Any:
    # Heavier parts load on first use, keeping `import vecbench` light.
    import importlib

    lazy = {"run": ("harness", "run"), "Results": ("results", "Results"), "load": ("results", "load"),
            "train": ("training", "train"), "Model": ("training", "Model"),
            "benchmark": ("own", "benchmark"), "bench": ("own", "bench"), "benchmark_tests": ("own", "benchmark_tests"),
            "Settings": ("harness", "Settings")}
    if name in lazy:
        module, attr = lazy[name]
        return getattr(importlib.import_module(f"vecbench.{module}"), attr)
    if name == "BACKENDS":  # the backends by name, loaded on first use
        from .registry import BACKENDS, backends

        backends()
        return BACKENDS
    if name in ("datasets", "harness", "report", "results", "training", "registry", "own"):
        return importlib.import_module(f"vecbench.{name}")
    raise AttributeError(f"module 'vecbench' has no attribute {name!r}")
