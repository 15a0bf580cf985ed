"""The one table of operations x backends that everything is generated from.

An operation (:class:`OpSpec`) knows how to validate its arguments, build
seeded inputs for a problem size, compute a float64 NumPy reference and count
the bytes and flops of a size. A kernel (:class:`Kernel`) is one backend's
implementation of an operation. The CLI, the harness, the tests, the
pytest-benchmark suite and the reports all iterate over this registry, so a new
kernel is registered once and is then tested, benchmarked and plotted.

Backends that need an optional package (Numba) are loaded lazily: importing
:mod:`vecbench` never imports Numba.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Size = Mapping[str, int]

__all__ = [
    "Backend",
    "Call",
    "Kernel",
    "OpSpec",
    "BACKENDS",
    "backends",
    "kernel",
    "kernels",
    "ops",
    "register",
    "size_label",
    "spec",
]


def _identity_post(result: Any) -> Any:
    return result


@dataclass(frozen=True)
class Call:
    """Validated arguments for a kernel core, plus a post-processing step.

    ``args`` are what every backend's core receives (arrays already checked
    and cast to one float dtype, ``out`` allocated when the op has one);
    ``post`` turns the core's result into what the public function returns
    (e.g. ``float(...)`` for scalars, a reshape for :func:`sigmoid`).
    """

    args: tuple[Any, ...]
    post: Callable[[Any], Any] = _identity_post


def size_label(size: Size) -> str:
    """Readable label of a problem size: ``{"n": 10**6}`` -> ``"1e6"``, ``{"n_x": 100, "m": 1000}`` -> ``"100x1000"``."""
    return "x".join(_fmt(int(v)) for v in size.values())


def _fmt(v: int) -> str:
    if v >= 10_000:
        exp = len(str(v)) - 1
        lead, rest = divmod(v, 10**exp)
        if rest == 0:
            return f"{lead}e{exp}"
    return str(v)


# Default float tolerances against the float64 reference, by input dtype.
# float32 kernels compute in float32 (NumPy) or accumulate in float64 (loops,
# Numba), so they are compared at float32 precision.
DEFAULT_TOLERANCE: Mapping[str, tuple[float, float]] = {
    "float64": (1e-9, 1e-12),
    "float32": (2e-4, 1e-5),
}


@dataclass(frozen=True)
class OpSpec:
    """What the registry knows about one operation.

    Attributes
    ----------
    name : str
        Operation name used everywhere (``"dot"``, ``"logreg_grad"``...).
    summary : str
        One line with the formula, shown by ``vecbench list`` and in reports.
    validate : callable
        ``validate(*args, **kwargs) -> Call``; raises ``ValueError``/``TypeError``
        naming the parameter. Shared by every backend.
    reference : callable
        ``reference(*inputs)`` -> float64 NumPy result for the op's inputs.
    make_inputs : callable
        ``make_inputs(size, dtype, rng) -> tuple`` of public arguments.
    sizes : mapping
        Sweeps by name: ``"quick"``, ``"default"``, ``"large"``.
    nbytes, flops : callable
        Minimum memory traffic ``nbytes(size, itemsize)`` and arithmetic
        ``flops(size)`` for one call: the basis of GB/s and GFLOP/s.
    has_out : bool
        Whether the op writes an array result and takes ``out=``.
    size_of : callable, optional
        Maps one number from the command line (``--sizes 1e3,1e5``) to a size;
        by default the op's only size key.
    tolerance : mapping
        ``{dtype name: (rtol, atol)}`` against the float64 reference.
    """

    name: str
    summary: str
    validate: Callable[..., Call]
    reference: Callable[..., Any]
    make_inputs: Callable[[Size, np.dtype, np.random.Generator], tuple[Any, ...]]
    sizes: Mapping[str, Sequence[Size]]
    nbytes: Callable[[Size, int], int]
    flops: Callable[[Size], int]
    has_out: bool = False
    size_of: Callable[[int], dict[str, int]] | None = None
    tolerance: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: dict(DEFAULT_TOLERANCE)
    )

    def label(self, size: Size) -> str:
        """Readable label for ``size`` (used in ids, plots and JSON)."""
        return size_label(size)

    def size_from(self, value: int) -> dict[str, int]:
        """The size that one number ``value`` means for this op (see ``size_of``)."""
        if self.size_of is not None:
            return self.size_of(int(value))
        (key,) = self.sizes["default"][0]
        return {key: int(value)}

    def tol(self, dtype: Any) -> tuple[float, float]:
        """``(rtol, atol)`` for inputs of ``dtype``."""
        return self.tolerance[np.dtype(dtype).name]


@dataclass(frozen=True)
class Backend:
    """A way of writing kernels: ``python``, ``numpy``, ``numba``..."""

    name: str
    description: str
    requires: str | None = None  # optional package the backend imports
    jit: bool = False  # first call compiles; the harness times it apart
    prepare: Callable[[tuple[Any, ...], bool], tuple[Any, ...]] | None = None
    finalize: Callable[[Any, tuple[Any, ...], bool], Any] | None = None

    @property
    def available(self) -> bool:
        """True when the package the backend needs can be imported."""
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    @property
    def install_hint(self) -> str:
        return f"the {self.name} backend needs {self.requires}: pip install {self.requires}"


def _to_python(args: tuple[Any, ...], has_out: bool) -> tuple[Any, ...]:
    # The untimed prepare step of the pure-Python backend: arrays become
    # (nested) lists of Python floats so the timed loop touches no NumPy.
    args = args[:-1] if has_out else args
    return tuple(a.tolist() if isinstance(a, np.ndarray) else a for a in args)


def _from_python(result: Any, args: tuple[Any, ...], has_out: bool) -> Any:
    dtype = next(a.dtype for a in args if isinstance(a, np.ndarray))
    # A float beyond float32's range becomes inf silently, as it does when a
    # compiled backend stores it: no warning from this backend only.
    with np.errstate(over="ignore"):
        if has_out:
            out = args[-1]
            out[...] = result
            return out
        if isinstance(result, tuple):
            return tuple(np.asarray(r, dtype=dtype) if isinstance(r, list) else r for r in result)
        return np.asarray(result, dtype=dtype) if isinstance(result, list) else result


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in [
        Backend(
            "python",
            "pure Python loops over Python floats (arrays converted to lists, untimed)",
            prepare=_to_python,
            finalize=_from_python,
        ),
        Backend("numpy", "vectorized NumPy, no Python loop over elements"),
        Backend("numba", "Numba @njit(cache=True), one thread", requires="numba", jit=True),
        Backend(
            "numba_parallel",
            "Numba @njit(parallel=True) with prange, race-free per-chunk partial sums",
            requires="numba",
            jit=True,
        ),
    ]
}


class Kernel:
    """One backend's implementation of one operation.

    Calling a kernel validates the arguments (same checks and messages for
    every backend), runs the backend's core and returns the op's result. The
    harness uses :meth:`bind` to do the untimed part (validation, list
    conversion) once and then times only ``core(*args)``.
    """

    def __init__(self, op: OpSpec, backend: Backend, target: Callable[..., Any] | str):
        self.op = op
        self.backend = backend
        self._target = target
        self._core: Callable[..., Any] | None = target if callable(target) else None
        self.__doc__ = op.validate.__doc__
        self.__name__ = f"{op.name}_{backend.name}"

    def __repr__(self) -> str:
        return f"<vecbench kernel {self.op.name!r} backend={self.backend.name!r}>"

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def available(self) -> bool:
        return self.backend.available

    @property
    def core(self) -> Callable[..., Any]:
        """The backend's raw function on prepared arguments (imported on first use)."""
        if self._core is None:
            if not self.backend.available:
                raise ImportError(self.backend.install_hint)
            module, _, attr = str(self._target).partition(":")
            self._core = getattr(importlib.import_module(module), attr)
        return self._core

    @property
    def module(self) -> str:
        """Module holding the core (the harness reads JIT cache stats from it)."""
        if callable(self._target):
            return self._target.__module__
        return str(self._target).partition(":")[0]

    def bind(self, *args: Any, **kwargs: Any) -> tuple[Callable[..., Any], tuple[Any, ...], Call]:
        """Validate and prepare arguments; return ``(core, core_args, call)``.

        Nothing here is timed by the harness: ``core(*core_args)`` is.
        """
        call = self.op.validate(*args, **kwargs)
        prepare = self.backend.prepare
        core_args = prepare(call.args, self.op.has_out) if prepare else call.args
        return self.core, core_args, call

    def finish(self, result: Any, call: Call) -> Any:
        """Turn a core result into the public return value."""
        finalize = self.backend.finalize
        if finalize is not None:
            result = finalize(result, call.args, self.op.has_out)
        return call.post(result)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        core, core_args, call = self.bind(*args, **kwargs)
        return self.finish(core(*core_args), call)


_OPS: dict[str, OpSpec] = {}
_KERNELS: dict[tuple[str, str], Kernel] = {}
_LOADED = False


def register(spec: OpSpec, **impls: Callable[..., Any] | str) -> None:
    """Register an operation and its kernels, ``backend=function`` or ``backend="module:attr"``.

    A string target is imported lazily, so optional packages load only when a
    kernel is first used.
    """
    _OPS[spec.name] = spec
    for backend, target in impls.items():
        if backend not in BACKENDS:
            raise KeyError(f"unknown backend {backend!r}; known: {sorted(BACKENDS)}")
        _KERNELS[spec.name, backend] = Kernel(spec, BACKENDS[backend], target)


def register_backend(backend: Backend) -> None:
    """Add a backend (e.g. ``numba_fused``) that kernels may then be registered under."""
    BACKENDS[backend.name] = backend


def _load() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        importlib.import_module("vecbench.kernels")


def ops() -> list[str]:
    """Names of all registered operations, in registration order."""
    _load()
    return list(_OPS)


def spec(op: str) -> OpSpec:
    """The :class:`OpSpec` of ``op``; ``KeyError`` listing the known ops otherwise."""
    _load()
    try:
        return _OPS[op]
    except KeyError:
        raise KeyError(f"unknown op {op!r}; available: {list(_OPS)}") from None


def backends(op: str | None = None) -> list[str]:
    """Backends registered for ``op`` (all known backends when ``op`` is None)."""
    _load()
    if op is None:
        return list(BACKENDS)
    spec(op)
    return [b for b in BACKENDS if (op, b) in _KERNELS]


def kernel(op: str, backend: str) -> Kernel:
    """The kernel of ``op`` in ``backend``.

    Raises
    ------
    KeyError
        Naming the op and listing the backends it has.
    ImportError
        When the backend's package (e.g. Numba) is not installed, with the pip command.
    """
    _load()
    spec(op)
    try:
        k = _KERNELS[op, backend]
    except KeyError:
        raise KeyError(
            f"unknown backend {backend!r} for op {op!r}; available: {backends(op)}"
        ) from None
    if not k.available:
        raise ImportError(k.backend.install_hint)
    return k


def kernels(
    ops_: Sequence[str] | None = None, backends_: Sequence[str] | None = None
) -> list[Kernel]:
    """Every registered kernel, optionally filtered by op and backend names."""
    _load()
    for name in ops_ or ():
        spec(name)
    for name in backends_ or ():
        if name not in BACKENDS:
            raise KeyError(f"unknown backend {name!r}; available: {list(BACKENDS)}")
    return [
        k
        for (o, b), k in _KERNELS.items()
        if (ops_ is None or o in ops_) and (backends_ is None or b in backends_)
    ]
