"""The ``torch`` backends: eager PyTorch, the dynamic graph.

Every operation runs as soon as Python reaches it, so the graph (for
autograd, the tape that ``backward()`` walks) is built anew at every call
and, in ``train_epoch``, at every step: the lecture's *dynamic graph*. On
the CPU, PyTorch is synchronous: a returned tensor is computed, so there is
nothing to wait for.

Inputs are shared with the validated NumPy arrays (``torch.from_numpy``, no
copy; read-only or negatively strided arrays are copied), untimed; results
come back as NumPy arrays, untimed. Threads follow ``--threads``
(``torch.set_num_threads``, restored afterwards).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from .base import Backend

__all__ = ["TorchAutodiffBackend", "TorchBackend", "to_torch"]


def to_torch(a: Any) -> Any:
    """A tensor sharing ``a``'s memory where PyTorch can (arrays), ``a`` itself otherwise."""
    import torch

    if not isinstance(a, np.ndarray):
        return a
    if not a.flags.writeable or any(s < 0 for s in a.strides):
        a = a.copy()  # from_numpy warns on read-only arrays and rejects negative strides
    return torch.from_numpy(a)


def to_numpy(r: Any) -> Any:
    """A tensor's values as a NumPy array (detached from any autograd graph)."""
    import torch

    return r.detach().numpy() if isinstance(r, torch.Tensor) else r


class TorchBackend(Backend):
    name = "torch"
    graph = "dynamic"
    description = "eager PyTorch (dynamic graph, one dispatch per operation), CPU"
    requires = ("torch",)
    install = "vecbench[torch]"
    role = "other"
    style: ClassVar[dict[str, str]] = {"color": "#e377c2", "marker": "P"}

    @property
    def install_hint(self) -> str:
        return (f"the {self.name} backend needs torch: pip install 'vecbench[torch]' "
                "(pip install torch==2.13.0 first takes the CPU build)")

    def prepare(self, args: tuple[Any, ...], has_out: bool) -> tuple[Any, ...]:
        args = args[:-1] if has_out else args
        return tuple(to_torch(a) for a in args)

    def finalize(self, result: Any, args: tuple[Any, ...], has_out: bool) -> Any:
        if has_out:
            out = args[-1]
            out[...] = to_numpy(result)
            return out
        if isinstance(result, tuple):
            return tuple(to_numpy(r) for r in result)
        return to_numpy(result)

    def memory_per_call(self, kernel: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        """The PyTorch profiler's memory events (``profile_memory=True``): every CPU allocation and free, in order.

        PyTorch's CPU allocator keeps no statistics of its own (``torch.cuda.memory_stats`` is
        CUDA only) and bypasses tracemalloc; the profiler records each allocation's size. Its
        event list is read through ``prof.kineto_results``, which is not public API:
        anything unexpected there is reported as not measured, never as zero.
        """
        from ..memory import from_events, not_measured

        try:
            # torch.autograd.profiler, not torch.profiler.profile: the latter imports torch._dynamo on
            # entry (seconds, once per process); both record the same allocation events.
            from torch.autograd.profiler import profile

            # Kineto prints two "USDT: profiler_start/stop" lines per profiled call at its default
            # level (hundreds in a report's console); level 6 is above its highest. Read once, at
            # the profiler's first start; a level the user set is kept.
            os.environ.setdefault("KINETO_LOG_LEVEL", "6")
            with profile(use_cpu=True, profile_memory=True) as prof:
                result = kernel.timed_core(*args)  # held until the profiler stops: the output is not a temporary
            del result
            events = sorted((e for e in prof.kineto_results.events() if e.name() == "[memory]"),
                            key=lambda e: e.start_ns())
            return from_events((e.nbytes() for e in events), "torch.profiler")
        except Exception as exc:  # noqa: BLE001  a profiler problem costs the memory figure only
            return not_measured(f"the PyTorch profiler's memory events could not be read: {type(exc).__name__}: {exc}")

    @contextlib.contextmanager
    def thread_limit(self, threads: int) -> Iterator[None]:
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def threads(self) -> int:
        import torch

        return int(torch.get_num_threads())

    def metadata(self) -> dict[str, Any]:
        if not self.available:
            return {"available": False, "install": self.install_hint}
        import torch

        return {"available": True, "version": torch.__version__, "num_threads": torch.get_num_threads(),
                "parallel_info": torch.__config__.parallel_info().splitlines()[:4]}


class TorchAutodiffBackend(TorchBackend):
    """The logistic-regression gradients from ``loss.backward()`` on the cost alone."""

    name = "torch_autodiff"
    gradients = "autodiff"
    description = "eager PyTorch autograd: loss.backward() on the cost alone (graph recorded at every call)"
    style: ClassVar[dict[str, str]] = {"color": "#f7b6d2", "marker": "X"}
