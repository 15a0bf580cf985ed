"""The ``torch_compile`` backend: PyTorch 2's static graph, ``torch.compile`` with Inductor on the CPU.

The eager ``torch`` kernels' formulas, traced by Dynamo into one graph per shape, strides and dtype
(``dynamic=False``, as ``jax.jit`` specializes) and compiled by Inductor into C++/OpenMP code (the C++
compiler is gcc here; Inductor picks ``$CXX`` or ``g++``). The report's static-vs-dynamic section pairs it
with eager ``torch`` (the same formulas run one dispatch at a time), beside ``jax``.

Compile time apart, as JAX's
    The first call per signature compiles in the harness's warm-up call; the backend tells a compiling
    call from Dynamo's own count of graphs it built and says whether Inductor's on-disk graph cache
    served it (``from_cache``). ``vecbench.coldcompile`` measures a cold compile with an empty
    ``TORCHINDUCTOR_CACHE_DIR`` (:meth:`TorchCompileBackend.fresh_cache_env`). The first compile in a
    process also pays Inductor's one-time start (seconds): it lands in that kernel's ``compile_time_s``.

Where compiled code is kept
    In PyTorch's own cache directory: ``$TORCHINDUCTOR_CACHE_DIR`` when the user set it, otherwise
    PyTorch's default (``/tmp/torchinductor_<user>``). vecbench does not move it: the variable is
    process-wide and read by the user's own ``torch.compile`` calls too, and the default is already
    shared between processes, so a second run loads graphs instead of compiling them.

Which ops
    All of ``torch``'s hand-gradient ops. ``train_epoch`` compiles the *step* and keeps the loop over
    steps in Python; ``col_percent`` and ``standardize`` compile the fast path and fix the rare columns
    or rows it cannot do in eager code (see :mod:`vecbench.operations.torch_compile_kernels`).

Inputs, results and threads as for ``torch`` (shared memory in, NumPy out, ``torch.set_num_threads``):
Inductor sizes its OpenMP loops from the thread count when it compiles, so the thread count is part of
the signature a graph is compiled for.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from typing import Any, ClassVar

from .torch import TorchBackend

__all__ = ["TorchCompileBackend"]


def _cxx() -> str | None:
    """The C++ compiler Inductor would use on the CPU (``$CXX``, else ``g++``/``c++``/``clang++``), if any."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "c++", "clang++"]
    return next((path for path in map(shutil.which, names) if path), None)


def _counts() -> tuple[int, int, int]:
    """Dynamo's graphs built, Inductor's graph-cache hits and misses so far in this process."""
    utils = sys.modules.get("torch._dynamo.utils")
    if utils is None:  # Dynamo not imported yet: nothing compiled
        return 0, 0, 0
    c = utils.counters
    return (int(c["stats"]["unique_graphs"]), int(c["inductor"]["fxgraph_cache_hit"]),
            int(c["inductor"]["fxgraph_cache_miss"]))


class TorchCompileBackend(TorchBackend):
    name = "torch_compile"
    graph = "static"
    gradients = "hand"
    description = ("torch.compile (static graph: Dynamo + Inductor C++/OpenMP, compiled per shape, strides "
                   "and dtype), CPU")
    role = "compiled"
    jit = True
    # Seconds of compiling per shape (tens at a cold start): a default run would spend more time compiling
    # it than measuring everything else, so it runs when named (--backends torch_compile).
    opt_in = True
    style: ClassVar[dict[str, str]] = {"color": "#ad494a", "marker": "X"}

    @property
    def available(self) -> bool:
        return importlib.util.find_spec("torch") is not None and _cxx() is not None

    @property
    def install_hint(self) -> str:
        if importlib.util.find_spec("torch") is not None:
            return (f"the {self.name} backend needs a C++ compiler for Inductor: install g++ "
                    "(e.g. apt-get install g++) or set CXX")
        return super().install_hint

    def prepare(self, args: tuple[Any, ...], has_out: bool) -> tuple[Any, ...]:
        """As ``torch``'s, and Python floats (``b``, ``lr``) as 0-d tensors of the arrays' dtype.

        A float would be a constant of the ``dynamic=False`` graph (a new value, a new compile); eager
        PyTorch computes a Python scalar in the tensor's dtype too, so the results are the same.
        """
        import torch

        args = super().prepare(args, has_out)
        like = next((a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()), None)
        if like is None:
            return args
        return tuple(torch.tensor(a, dtype=like.dtype) if isinstance(a, float) else a for a in args)

    def compile_state(self, kernel: Any) -> tuple[int, int, int]:
        return _counts()

    def compiled(self, kernel: Any, before: Any, after: Any, args: tuple[Any, ...]) -> tuple[bool, bool | None]:
        graphs, hits, misses = (a - b for a, b in zip(after, before))
        if not graphs:
            return False, None
        return True, hits > 0 and misses == 0

    def fresh_cache_env(self, folder: str) -> dict[str, str]:
        return {"TORCHINDUCTOR_CACHE_DIR": folder}

    def metadata(self) -> dict[str, Any]:
        meta = super().metadata()
        if meta.get("available"):
            meta.update({"compiler": _cxx(), "mode": "torch.compile(dynamic=False, fullgraph=True), inductor",
                         "cache_dir": os.environ.get("TORCHINDUCTOR_CACHE_DIR") or "PyTorch's default"})
        return meta
