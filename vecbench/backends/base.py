"""The backend interface: everything that differs between ways of writing a kernel.

The harness, the machine metadata and the reports ask a :class:`Backend`
object; they never name one. A backend declares

- who it is: ``name``, ``description``, ``role`` (what the reports compare
  against: the ``"loop"`` baseline, the ``"vectorized"`` baseline or a
  ``"compiled"`` contender) and a plot ``style``;
- whether it can run here: ``requires`` (importable packages) and the
  ``install_hint`` shown when one is missing;
- its kernels, for a backend from outside vecbench: ``kernels`` maps an op
  name to a callable or to a lazily imported ``"module:attr"`` string (the
  built-in backends' kernels are declared beside each op, in its module's
  ``KERNELS``; see :mod:`vecbench.operations`);
- the untimed steps around a call: :meth:`prepare` (e.g. arrays to lists)
  and :meth:`finalize` (back to NumPy);
- :meth:`sync`, the timed wait until a result is ready (asynchronous
  frameworks dispatch and return at once);
- :meth:`transfer_times`: what its last ``prepare``/``finalize`` spent copying
  data to and from a device (stored per record, never inside a sample);
- :meth:`compile_state` and :meth:`compiled`: how the harness tells whether
  a first call compiled (or traced) and whether a disk cache served it;
- :meth:`thread_limit` and :meth:`threads`: how ``--threads`` is applied;
- :meth:`memory_per_call`: how one call's temporary memory is measured (untimed);
- :meth:`metadata`: what it adds to a results file's machine block;
- :meth:`fits`: whether a size's data fit in the measuring process's memory
  (the harness's "would not fit" rule asks the backend being measured);
- :meth:`streams` and :meth:`stream`: whether it measures an op at a size on
  inputs it reads from disk chunk by chunk (data larger than memory), and how;
- for backends that run elsewhere (a cluster): :meth:`prepare_op` (the op
  decides how arrays are cut), :meth:`record_facts` (per-record facts such
  as tasks per call), :meth:`skip_reason`, :meth:`preflight`, :meth:`close`
  and ``options`` (settings given as ``vb.run(<backend>_<option>=...)``,
  ``--<backend>-<option>`` or ``VECBENCH_<BACKEND>_<OPTION>``).

Subclass it in one module and register an instance, or publish it through
the ``vecbench.backends`` entry-point group (see docs/adding-a-backend.md).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from ..opspec import OpSpec

__all__ = ["Backend", "ROLES", "Streamed", "inputs_fit"]

# What the reports compare: the loop every speedup is "over", the vectorized
# baseline a compiled kernel has to beat, and the contenders.
ROLES = ("loop", "vectorized", "compiled", "other")


class Backend:
    """One way of writing kernels. Subclass and override what differs.

    Attributes
    ----------
    name : str
        Identifier used everywhere (``vecbench.kernel(op, name)``, ``--backends``).
    description : str
        One line for ``vecbench list`` and reports.
    requires : tuple of str
        Importable packages the backend needs; missing ones make it unavailable.
    install : str
        The pip requirement that brings them (the install hint).
    role : str
        One of :data:`ROLES`.
    jit : bool
        Whether a first call compiles or traces (its excess time is stored as
        ``compile_time_s``, never inside a sample).
    style : mapping
        Matplotlib ``color`` and ``marker`` for this backend's series.
    kernels : mapping
        ``{op name: callable or "module:attr"}`` for a backend from outside;
        empty for the built-ins, whose ops declare them. An op given both
        ways is an error.
    s_per_flop : float or None
        A pessimistic seconds-per-flop guess for backends slow enough to need
        one before anything is measured (the time budget uses it); None otherwise.
    graph : str or None
        ``"static"`` (traced and compiled once, e.g. ``jax.jit``) or ``"dynamic"``
        (rebuilt at every call, e.g. eager PyTorch): the report pairs them.
    gradients : str
        ``"hand"`` (the lecture's derivation) or ``"autodiff"``: how its
        logistic-regression gradients are computed.
    opt_in : bool
        Measured only when named (``--backends NAME``, ``vb.run(backends=[...])``,
        ``pytest --vecbench-backends NAME``), never by a run that names no
        backend: for a backend whose first call per shape costs seconds
        (``torch_compile``), which would multiply a default run's time. Its
        tests run like any other backend's.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    install: ClassVar[str] = ""
    role: ClassVar[str] = "other"
    jit: ClassVar[bool] = False
    style: ClassVar[Mapping[str, str]] = {}
    kernels: ClassVar[Mapping[str, Callable[..., Any] | str]] = {}
    s_per_flop: ClassVar[float | None] = None
    graph: ClassVar[str | None] = None
    gradients: ClassVar[str] = "hand"
    options: ClassVar[Mapping[str, str]] = {}
    opt_in: ClassVar[bool] = False
    # How many times slower a call runs while memory_per_call watches it (tracemalloc traces every Python
    # object a pure-Python loop makes): the harness skips the memory call where it would cost too much.
    memory_cost: ClassVar[float] = 1.0

    def __init__(self) -> None:
        if not self.name:
            raise ValueError(f"{type(self).__name__}: a backend needs a name")
        if self.role not in ROLES:
            raise ValueError(f"backend {self.name!r}: role must be one of {ROLES}; got {self.role!r}")
        # (op, argument signature) pairs already called once in this process:
        # the default compile detection for JIT backends without a counter.
        self._seen: set[tuple[Any, ...]] = set()

    def __repr__(self) -> str:
        return f"<vecbench backend {self.name!r}>"

    # ------------------------------------------------------------ availability
    @property
    def available(self) -> bool:
        """True when every package in ``requires`` can be imported."""
        return all(importlib.util.find_spec(p) is not None for p in self.requires)

    @property
    def install_hint(self) -> str:
        """What to run when the backend is unavailable."""
        if not self.requires:
            return ""
        pkg = self.install or " ".join(self.requires)
        return f"the {self.name} backend needs {', '.join(self.requires)}: pip install {pkg}"

    # ------------------------------------------------------------ around a call
    def prepare(self, args: tuple[Any, ...], has_out: bool) -> tuple[Any, ...]:
        """Untimed conversion of validated arguments into what the kernel takes."""
        return args

    def prepare_op(self, op: str, args: tuple[Any, ...], has_out: bool) -> tuple[Any, ...]:
        """:meth:`prepare` for the call of ``op`` (a distributed backend cuts each op's arrays its own way)."""
        return self.prepare(args, has_out)

    def record_facts(self, op: str, args: tuple[Any, ...]) -> dict[str, Any]:
        """Facts about one measurement of ``op`` on prepared ``args``, stored in its record (untimed).

        E.g. a cluster's tasks per call, chunk size, set-up and load times. Default: none.
        """
        return {}

    def skip_reason(self, op: str, size: Mapping[str, int]) -> str:
        """Why this backend does not measure ``op`` at ``size`` (recorded as skipped), or ""."""
        return ""

    def fits(self, op: OpSpec, size: Mapping[str, int], dtype: str, available_bytes: int) -> str:
        """Why ``op``'s data at ``size`` would not fit in the measuring process's memory, or "".

        ``available_bytes`` is the memory free now. Default: the inputs and
        outputs (``op.nbytes``) must fit in a third of it, room for the
        reference's float64 copy and the pure-Python backend's lists. The harness
        asks the backend being measured, so one that never holds the whole input in
        the measuring process states its own bound and measures sizes the others
        skip. Such a backend must then also keep its inputs out of memory: the
        harness's measurement makes them with the op's input factory
        (:func:`vecbench.data.inputs`), in memory, unless :meth:`streams` says
        the backend streams them from disk (the ``dask`` backend does).
        """
        return inputs_fit(op, size, dtype, available_bytes)

    def streams(self, op: OpSpec, size: Mapping[str, int], dtype: str, available_bytes: int) -> bool:
        """Whether ``op`` at ``size`` is measured on inputs this backend streams from disk (:meth:`stream`).

        Asked by the measuring process before it makes any input, with the memory it has left; when
        True the op's inputs are never made in memory, nor its reference from them. Default: False.
        """
        return False

    def stream(self, op: OpSpec, size: Mapping[str, int], dtype: str, seed: int) -> Streamed:
        """The streamed measurement of ``op`` at ``size`` (untimed): its data written to disk once, then found.

        Called only where :meth:`streams` said True. The record's facts come from :meth:`record_facts`
        on ``Streamed.args`` as for any measurement.
        """
        raise NotImplementedError(f"the {self.name} backend does not stream {op.name}'s inputs from disk")

    def preflight(self) -> None:
        """Checks before a run measures anything (e.g. a scheduler is reachable); ``ValueError``, one line."""

    def close(self) -> None:
        """Release what the backend started (a cluster); called when a run ends. Default: nothing."""

    # ------------------------------------------------------------ options
    def option_env(self, option: str) -> str:
        """The environment variable that carries ``option`` (``VECBENCH_<BACKEND>_<OPTION>``)."""
        return f"VECBENCH_{self.name}_{option}".upper().replace("-", "_")

    def check_option(self, option: str, value: Any) -> str:
        """``value`` of ``option`` as the text stored in its environment variable; ``ValueError`` naming it."""
        if option not in self.options:
            raise ValueError(f"backend {self.name!r} has no option {option!r}; options: {sorted(self.options)}")
        return str(value)

    def finalize(self, result: Any, args: tuple[Any, ...], has_out: bool) -> Any:
        """Untimed conversion of a kernel's result back to NumPy values.

        ``args`` are the validated arguments (before :meth:`prepare`), so an
        ``out`` array is ``args[-1]`` when ``has_out``.
        """
        return result

    def sync(self, result: Any) -> Any:
        """Wait until ``result`` is computed (timed with the call). Default: it already is."""
        return result

    def transfer_times(self) -> Mapping[str, float]:
        """Seconds the last :meth:`prepare` and :meth:`finalize` spent moving data, as measured by the backend.

        ``{"in": ..., "out": ...}``: the copy of the inputs to where the kernel
        runs and of the result back (each ending when the copy is complete), and
        optionally ``"startup"``: a one-time start (a device context) paid in that
        ``prepare``, which the harness adds to ``compile_time_s``. The harness
        reads this right after the warm-up call's ``finalize`` and stores it as
        ``transfer_in_s``/``transfer_out_s``. Default: ``{}`` (the data stays in
        host memory).
        """
        return {}

    @property
    def needs_sync(self) -> bool:
        """Whether :meth:`sync` is overridden (the harness then times ``sync(core(...))``)."""
        return type(self).sync is not Backend.sync

    # ------------------------------------------------------------ compilation
    def compile_state(self, kernel: Any) -> Any:
        """A snapshot taken before and after a first call; see :meth:`compiled`."""
        return None

    def compiled(self, kernel: Any, before: Any, after: Any, args: tuple[Any, ...]) -> tuple[bool, bool | None]:
        """``(compiled, from_cache)`` for the call between the two snapshots.

        The default, for JIT backends with no counter of their own: the first
        call of an op with a given argument signature in this process compiles
        (``from_cache`` unknown: None). Non-JIT backends never compile.
        """
        if not self.jit:
            return False, None
        key = (kernel.op.name, _signature(args))
        first = key not in self._seen
        self._seen.add(key)
        return first, None

    def fresh_cache_env(self, folder: str) -> dict[str, str]:
        """Environment variables that make a new process start with empty compile caches in ``folder``.

        Used to measure a cold compile (:mod:`vecbench.coldcompile`); a backend
        without an on-disk cache needs none: a new process compiles from scratch.
        """
        return {}

    # ------------------------------------------------------------ memory
    def memory_per_call(self, kernel: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        """Call ``kernel.timed_core(*args)`` once (untimed, after the samples): the memory it allocates beyond its output.

        Returns :mod:`vecbench.memory`'s entry: ``{"method", "peak_bytes", "output_bytes",
        "allocations", "reason"}``. Backends whose data lives in Python's allocators use
        :func:`vecbench.memory.traced`; the default measures nothing, since tracemalloc would
        read a framework's own allocator as zero, which is worse than no number.
        """
        from ..memory import not_measured

        return not_measured(f"the {self.name} backend does not say how to measure its memory "
                            "(Backend.memory_per_call)")

    # ------------------------------------------------------------ threads
    @contextlib.contextmanager
    def thread_limit(self, threads: int) -> Iterator[None]:
        """Run the body with at most ``threads`` threads in this backend's pools."""
        yield

    def threads(self) -> int | None:
        """Threads this backend uses now (None: it does not say)."""
        return None

    # ------------------------------------------------------------ metadata
    def metadata(self) -> dict[str, Any]:
        """Versions and settings stored in the machine block of a results file."""
        return {"available": self.available}

    # ------------------------------------------------------------ kernels
    def resolve(self, target: Callable[..., Any] | str) -> Callable[..., Any]:
        """The function behind a kernel target (imports ``"module:attr"`` strings)."""
        if callable(target):
            return target
        module, _, attr = target.partition(":")
        fn: Callable[..., Any] = getattr(importlib.import_module(module), attr)
        return fn


@dataclass(frozen=True)
class Streamed:
    """A measurement on inputs kept on disk (:meth:`Backend.stream`).

    ``core(*args)`` is the timed call (it reads its chunks from disk at every call); ``reference()``
    the float64 reference of the same data, computed chunk by chunk; the harness validates ``core``'s
    first result against it at the op's tolerance before any timing, as for every kernel.
    """

    core: Callable[..., Any]
    args: tuple[Any, ...]
    reference: Callable[[], Any]


def inputs_fit(op: OpSpec, size: Mapping[str, int], dtype: str, available_bytes: int) -> str:
    """The default memory rule (:meth:`Backend.fits`): inputs and outputs within a third of ``available_bytes``."""
    need = op.nbytes(size, np.dtype(dtype).itemsize)
    if need > available_bytes // 3:
        return f"inputs need ~{need / 1e9:.2g} GB; only {available_bytes / 1e9:.2g} GB of memory is available"
    return ""


def _signature(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a tracing JIT specializes on: shapes and dtypes of arrays, types of the rest."""
    sig: list[Any] = []
    for a in args:
        shape, dtype = getattr(a, "shape", None), getattr(a, "dtype", None)
        sig.append((tuple(shape), str(dtype)) if shape is not None else type(a).__name__)
    return tuple(sig)
