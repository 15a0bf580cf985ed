"""The ``jax`` backends: ``jax.jit``, the static graph.

A kernel is a Python function that JAX traces once per argument shape and
dtype into a graph, which XLA compiles and then runs with no Python in the
loop: the lecture's *static graph* (build the whole graph, then feed data).
The harness stores the first call's trace + compile time as
``compile_time_s``, as it does for Numba; the backend tells a compiling call
from the jitted functions' own cache sizes.

Float64 and x64 mode
    JAX computes in float32 unless its ``jax_enable_x64`` flag is set. This
    backend never sets it globally: every call (the conversion of inputs in
    :meth:`JaxBackend.prepare`, the timed kernel and the wait for its result)
    runs inside ``jax.enable_x64(True)``, a thread-local context that is
    restored on exit. The user's own JAX code in the same process keeps its
    setting (float32 by default); float64 arrays created by vecbench and
    handed back are NumPy arrays. Entering the context costs about 1 us per
    call, included in the timed call.

Threads
    XLA's CPU thread pool is sized once, when JAX starts (``XLA_FLAGS``,
    e.g. ``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``
    for one thread); ``--threads`` cannot change it afterwards, and
    :meth:`JaxBackend.threads` says None (not known) unless ``XLA_FLAGS`` pins it.

Subnormal numbers
    XLA on CPU flushes subnormal numbers to zero (FTZ/DAZ; JAX's documented
    choice, no flag turns it off): ``1e-310 * 2`` is 0 and a column of
    ``1e-310`` sums to 0. vecbench's rule for every op honours subnormals
    (see docs/semantics.md, "What each op does with NaN, inf and extreme values"),
    so :meth:`JaxBackend.prepare` (untimed) looks for subnormal inputs and,
    where there is one, hands the arrays over unconverted: the kernel then
    computes that call with the op's ``numpy`` kernel, and the answer is the
    rule's. Benchmark inputs hold no subnormals, so timed calls run XLA.

Results come back as NumPy values; the timed call includes
``block_until_ready`` (JAX dispatches asynchronously), never the conversion.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from .base import Backend

__all__ = ["JaxAutodiffBackend", "JaxBackend"]


def _has_subnormal(a: Any) -> bool:
    """Whether float array ``a`` holds a subnormal number (XLA on CPU flushes those to zero)."""
    if not (isinstance(a, np.ndarray) and a.dtype.kind == "f"):
        return False
    with np.errstate(all="ignore"):
        mag = np.abs(a)
        return bool(((mag < np.finfo(a.dtype).tiny) & (mag > 0)).any())


def _x64() -> contextlib.AbstractContextManager[Any]:
    import jax

    return jax.enable_x64(True)


def _cache_dir() -> str:
    """Where compiled XLA programs are kept between processes, as Numba keeps its own."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "vecbench", "jax")


_CACHE_SET = False


def _enable_persistent_cache() -> None:
    """Let jax.jit keep compiled programs on disk (like Numba's ``cache=True``), unless the user chose a cache.

    ``JAX_COMPILATION_CACHE_DIR`` (or a directory already set in ``jax.config``) is respected; otherwise
    programs go to ``~/.cache/vecbench/jax``. A later process then loads instead of compiling: the first call
    is still timed apart (as a cache load), and a cold compile is measured with an empty cache
    (:mod:`vecbench.coldcompile`). This sets JAX's process-wide cache options: documented in docs/frameworks.md.
    """
    global _CACHE_SET
    if _CACHE_SET:
        return
    _CACHE_SET = True
    import jax

    try:
        if not getattr(jax.config, "jax_compilation_cache_dir", None):
            jax.config.update("jax_compilation_cache_dir", _cache_dir())
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    except (AttributeError, ValueError):  # an older JAX without a persistent cache: compile every time
        pass


class JaxBackend(Backend):
    name = "jax"
    graph = "static"
    description = "JAX jax.jit (static graph: traced and compiled by XLA per shape and dtype), x64 contained per call"
    requires = ("jax",)
    install = "vecbench[jax]"
    role = "compiled"
    jit = True
    style: ClassVar[dict[str, str]] = {"color": "#9467bd", "marker": "D"}

    @property
    def install_hint(self) -> str:
        return f"the {self.name} backend needs jax: pip install 'vecbench[jax]' (or pip install jax)"

    def resolve(self, target: Any) -> Any:
        _enable_persistent_cache()
        return super().resolve(target)

    def fresh_cache_env(self, folder: str) -> dict[str, str]:
        return {"JAX_COMPILATION_CACHE_DIR": folder}

    def prepare(self, args: tuple[Any, ...], has_out: bool) -> tuple[Any, ...]:
        import jax

        args = args[:-1] if has_out else args
        if any(_has_subnormal(a) for a in args):  # XLA would flush them: the kernel hands the call to numpy
            return args
        with _x64():
            return tuple(jax.device_put(a) if isinstance(a, np.ndarray) else a for a in args)

    def finalize(self, result: Any, args: tuple[Any, ...], has_out: bool) -> Any:
        if has_out:
            out = args[-1]
            out[...] = np.asarray(result)
            return out
        if isinstance(result, tuple):
            return tuple(np.asarray(r) for r in result)
        return np.asarray(result)

    def sync(self, result: Any) -> Any:
        import jax

        return jax.block_until_ready(result)

    def compile_state(self, kernel: Any) -> int | None:
        """Compiled programs held by the jitted functions of the kernel module (None before it loads)."""
        module = sys.modules.get(kernel.module) or importlib.import_module(kernel.module)
        sizes = [f._cache_size() for f in vars(module).values() if hasattr(f, "_cache_size")]
        return sum(sizes) if sizes else None

    def compiled(self, kernel: Any, before: Any, after: Any, args: tuple[Any, ...]) -> tuple[bool, bool | None]:
        if before is None or after is None:  # no counter: first call per signature compiles
            return super().compiled(kernel, before, after, args)
        return after > before, None

    def memory_per_call(self, kernel: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        """XLA's own plan: the temporary buffer its buffer assignment gives the compiled program.

        XLA on the CPU allocates outside tracemalloc and JAX has no counter there
        (``device.memory_stats()`` is None on the CPU), so nothing is observed during a call;
        ``compiled.memory_analysis().temp_size_in_bytes`` is the size of the one temporary
        allocation each execution makes, as planned at compile time (lowered again here, the
        compile served by the jit's caches). Where that is unavailable: not measured, with why.
        """
        from ..memory import not_measured

        jitted = getattr(kernel.core, "_jitted", None)
        if jitted is None or any(isinstance(a, np.ndarray) for a in args):
            return not_measured("XLA on the CPU allocates outside tracemalloc and JAX exposes no per-call counter "
                                "there; this kernel offers no compiled program to ask")
        try:
            with _x64():
                stats = jitted.lower(*args).compile().memory_analysis()
            temp, out = int(stats.temp_size_in_bytes), int(stats.output_size_in_bytes)
        except Exception as exc:  # noqa: BLE001  an XLA without memory_analysis costs the memory figure only
            return not_measured(f"XLA on the CPU allocates outside tracemalloc, and its compiled program's "
                                f"memory_analysis() failed: {type(exc).__name__}: {exc}")
        return {"method": "xla.memory_analysis", "peak_bytes": temp, "output_bytes": out, "allocations": None,
                "reason": ""}

    def threads(self) -> int | None:
        flags = os.environ.get("XLA_FLAGS", "")
        if "intra_op_parallelism_threads=" in flags:
            return int(flags.split("intra_op_parallelism_threads=")[1].split()[0])
        return None

    def metadata(self) -> dict[str, Any]:
        if not self.available:
            return {"available": False, "install": self.install_hint}
        import jax
        import jaxlib

        return {"available": True, "version": jax.__version__, "jaxlib": jaxlib.__version__,
                "devices": [str(d) for d in jax.devices()], "x64": "enabled per call (jax.enable_x64 context)",
                "xla_flags": os.environ.get("XLA_FLAGS", ""),
                "threads": "XLA's pool, sized at start-up (XLA_FLAGS); --threads does not apply"}

    @contextlib.contextmanager
    def thread_limit(self, threads: int) -> Iterator[None]:
        # XLA sizes its pool when JAX starts; nothing to change at run time (see the module docstring).
        yield


class JaxAutodiffBackend(JaxBackend):
    """The logistic-regression gradients from ``jax.grad`` of the cost alone, not the hand derivation."""

    name = "jax_autodiff"
    gradients = "autodiff"
    description = "JAX jax.jit + jax.grad of the cost alone (autodiff instead of the hand-derived dz = a - y)"
    style: ClassVar[dict[str, str]] = {"color": "#c5b0d5", "marker": "d"}
