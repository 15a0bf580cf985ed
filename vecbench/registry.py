"""The one table of operations x backends that everything is generated from.

An operation (:class:`OpSpec`) knows how to validate its arguments, build
seeded inputs for a problem size, compute a float64 NumPy reference and count
the bytes and flops of a size. A kernel (:class:`Kernel`) is one backend's
implementation of an operation. The CLI, the harness, the tests, the
pytest-benchmark suite and the reports all iterate over this registry, so a new
kernel is registered once and is then tested, benchmarked and plotted.

The ops are discovered in :mod:`vecbench.operations`, each module declaring
which function implements its ops in each built-in backend; backends are
plug-ins (:mod:`vecbench.backends`), and one from outside declares its own
kernels. The registry loads both on first use, all or nothing.
Importing :mod:`vecbench` never imports Numba or any other framework.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .backends import BUILTIN, ENTRY_POINT_GROUP, Backend
from .opspec import DEFAULT_TOLERANCE, Axis, Call, OpSpec, Size, size_label  # noqa: F401  (re-exported)

__all__ = [
    "Axis",
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
    "register_backend",
    "register_own",
    "selected",
    "unregister_own",
    "is_own",
    "size_label",
    "spec",
]


class Kernel:
    """One backend's implementation of one operation.

    Calling a kernel validates the arguments (same checks and messages for
    every backend), runs the backend's core and returns the op's result. The
    harness uses :meth:`bind` to do the untimed part (validation, list
    conversion) once and then times only ``core(*args)``.
    """

    def __init__(self, op: OpSpec, backend: Backend, target: Callable[..., Any] | str):
        if not (callable(target) or (isinstance(target, str) and ":" in target)):
            raise TypeError(f"kernel {op.name!r} of backend {backend.name!r}: target must be a callable or "
                            f"'module:attr'; got {target!r}")
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
        """The kernel's own name, ``<op>_<backend>`` (its ``__name__``); the op's is ``k.op.name``."""
        return self.__name__

    @property
    def target(self) -> Callable[..., Any] | str:
        """What the kernel runs, as declared: a callable or a ``"module:attr"`` string (imported on first use)."""
        return self._target

    @property
    def available(self) -> bool:
        return self.backend.available

    @property
    def core(self) -> Callable[..., Any]:
        """The backend's raw function on prepared arguments (imported on first use)."""
        if self._core is None:
            if not self.backend.available:
                raise ImportError(self.backend.install_hint)
            self._core = self.backend.resolve(self._target)
        return self._core

    @property
    def module(self) -> str:
        """Module holding the core (a JIT backend reads its compile counters from it)."""
        if callable(self._target):
            return self._target.__module__
        return str(self._target).partition(":")[0]

    def bind(self, *args: Any, **kwargs: Any) -> tuple[Callable[..., Any], tuple[Any, ...], Call]:
        """Validate and prepare arguments; return ``(core, core_args, call)``.

        Nothing here is timed by the harness: ``core(*core_args)`` is.
        """
        call = self.op.validate(*args, **kwargs)
        core_args = self.backend.prepare_op(self.op.name, call.args, self.op.has_out)
        return self.timed_core, core_args, call

    @property
    def timed_core(self) -> Callable[..., Any]:
        """What the harness times: the core, followed by the backend's wait for its result."""
        core, backend = self.core, self.backend
        if not backend.needs_sync:
            return core
        sync = backend.sync
        return lambda *args: sync(core(*args))

    def finish(self, result: Any, call: Call) -> Any:
        """Turn a core result into the public return value."""
        result = self.backend.finalize(result, call.args, self.op.has_out)
        return call.post(result)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        core, core_args, call = self.bind(*args, **kwargs)
        return self.finish(core(*core_args), call)




# ---------------------------------------------------------------- the table
_OPS: dict[str, OpSpec] = {}
_KERNELS: dict[tuple[str, str], Kernel] = {}
BACKENDS: dict[str, Backend] = {}  # filled on first use, in column order
_LOADED = False
_LOADING = False  # inside _load (a second _load from an op module's import returns at once)
_LOCK = threading.RLock()


def register(spec: OpSpec, **impls: Callable[..., Any] | str) -> None:
    """Register an operation, and optionally its kernels: ``backend=function`` or ``backend="module:attr"``.

    A built-in op brings its kernels from its module's ``KERNELS`` (found by
    :func:`vecbench.operations.discover`); an op added from outside vecbench
    brings its kernels for existing backends here; a backend from outside
    declares its own (:attr:`Backend.kernels`). The same kernel given both
    ways is a ``ValueError``.
    A string target is imported lazily, so optional packages load only when a
    kernel is first used.
    """
    with _LOCK:
        if not isinstance(spec, OpSpec):
            raise TypeError(f"register: spec must be an OpSpec; got {type(spec).__name__}")
        _OPS[spec.name] = spec
        if not _LOADED:  # an op module imported while (or before) the registry loads
            _PENDING.extend((spec.name, name, target) for name, target in impls.items())
            return
        unknown = [b for b in impls if b not in BACKENDS]
        if unknown:
            raise KeyError(f"register {spec.name!r}: unknown backend {unknown[0]!r}; known: {list(BACKENDS)}")
        for name in impls:
            _refuse_twice(BACKENDS[name], {spec.name})
        for b in list(BACKENDS.values()):
            target = b.kernels.get(spec.name)
            if target is not None:
                _KERNELS[spec.name, b.name] = Kernel(spec, b, target)
        for name, target in impls.items():
            _KERNELS[spec.name, name] = Kernel(spec, BACKENDS[name], target)


_PENDING: list[tuple[str, str, Callable[..., Any] | str]] = []

# Ops defined at run time (a user's computation): their kernels belong to backends of their own,
# one per kernel, named by the user and unknown to every other op ({op: {kernel name: Backend}}).
_OWN: dict[str, dict[str, Backend]] = {}


def register_own(spec: OpSpec, kernels: Mapping[str, tuple[Backend, Callable[..., Any]]]) -> None:
    """Register an op defined at run time with its own kernels: ``{name: (backend, function)}``.

    The backends are the op's alone (they do not become columns of other ops);
    an op of the same name registered this way before is replaced. A built-in
    op's name is refused (``ValueError``). :func:`unregister_own` removes it.
    """
    with _LOCK:
        _load()
        if spec.name in _OPS and spec.name not in _OWN:
            raise ValueError(f"{spec.name!r} is an operation of vecbench; give your computation another name")
        unregister_own(spec.name)
        _OPS[spec.name] = spec
        _OWN[spec.name] = {name: b for name, (b, _) in kernels.items()}
        for name, (b, fn) in kernels.items():
            _KERNELS[spec.name, name] = Kernel(spec, b, fn)


def unregister_own(op: str) -> None:
    """Forget an op registered with :func:`register_own` (nothing if there is none)."""
    with _LOCK:
        if op in _OWN:
            for name in _OWN.pop(op):
                _KERNELS.pop((op, name), None)
            _OPS.pop(op, None)


def is_own(op: str) -> bool:
    """Whether ``op`` was registered at run time with :func:`register_own`."""
    return op in _OWN


def _columns(op: str) -> list[str]:
    """The kernels of ``op`` by backend name, in column order."""
    return list(_OWN[op]) if op in _OWN else [b for b in BACKENDS if (op, b) in _KERNELS]


def register_backend(backend: Backend | type[Backend]) -> Backend:
    """Add a backend (an instance or a :class:`Backend` subclass) and the kernels it declares.

    Returns the instance. Kernels for ops it does not know raise ``KeyError``:
    a backend built for other ops fails loudly, not silently.
    """
    with _LOCK:
        _load()
        return _add_backend(backend, source=f"register_backend({backend!r})")


def _add_backend(backend: Backend | type[Backend], source: str) -> Backend:
    if isinstance(backend, type) and issubclass(backend, Backend):
        backend = backend()
    if not isinstance(backend, Backend):
        raise TypeError(f"vecbench backend from {source}: expected a vecbench.backends.Backend subclass or "
                        f"instance; got {type(backend).__name__}")
    unknown = sorted(set(backend.kernels) - set(_OPS))
    if unknown:
        raise KeyError(f"backend {backend.name!r} (from {source}) has kernels for unknown ops {unknown}; "
                       f"known ops: {list(_OPS)}")
    pending = [p for p in _PENDING if p[1] == backend.name]
    _refuse_twice(backend, {op for op, _, _ in pending})
    BACKENDS[backend.name] = backend
    for op, target in backend.kernels.items():
        _KERNELS[op, backend.name] = Kernel(_OPS[op], backend, target)
    for op, name, target in pending:
        _KERNELS[op, name] = Kernel(_OPS[op], backend, target)
        _PENDING.remove((op, name, target))
    return backend


def _refuse_twice(backend: Backend, ops_: set[str]) -> None:
    """A kernel given by an op (its module's ``KERNELS``, ``register``) and by the backend's own table: an error."""
    both = sorted(ops_ & set(backend.kernels))
    if both:
        raise ValueError(f"backend {backend.name!r}: the kernel of {both} is given twice, by the op and by the "
                         f"backend's own kernels table; keep one")


def _instantiate(target: str) -> Backend | type[Backend]:
    module, _, attr = target.partition(":")
    try:
        obj: Backend | type[Backend] = getattr(importlib.import_module(module), attr)
    except Exception as exc:
        raise ImportError(f"vecbench: backend {target!r} failed to load: {type(exc).__name__}: {exc}") from exc
    return obj


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def _load() -> None:
    """Import the ops and the backends once, all or nothing.

    A module that fails to import leaves the registry empty (and is retried
    on the next call) with an ``ImportError`` naming it, never half-filled.
    """
    global _LOADED, _LOADING
    if _LOADED:
        return
    with _LOCK:
        if _LOADED or _LOADING:
            return
        modules_before = set(sys.modules)
        ops_before, pending_before = dict(_OPS), list(_PENDING)
        _LOADING = True
        try:
            try:
                operations = importlib.import_module("vecbench.operations")
                specs, declared = operations.discover()
                for op_spec in specs:
                    register(op_spec, **declared.get(op_spec.name, {}))
            except Exception as exc:
                raise ImportError(f"vecbench: an operation module failed to import: {type(exc).__name__}: {exc}"
                                  ) from exc
            for target in BUILTIN:
                _add_backend(_instantiate(target), source=target)
            for ep in _entry_points():
                try:
                    obj = ep.load()
                except Exception as exc:
                    raise ImportError(f"vecbench: backend entry point {ep.name!r} ({ep.value}) failed to load: "
                                      f"{type(exc).__name__}: {exc}") from exc
                _add_backend(obj, source=f"entry point {ep.name} = {ep.value}")
            if _PENDING:
                op, name, _ = _PENDING[0]
                raise KeyError(f"register {op!r}: unknown backend {name!r}; known: {list(BACKENDS)}")
        except BaseException:
            _OPS.clear()
            _OPS.update(ops_before)
            _KERNELS.clear()
            BACKENDS.clear()
            _PENDING[:] = pending_before
            # Forget the half-imported op modules, so a retry registers them again.
            for name in set(sys.modules) - modules_before:
                if name.startswith("vecbench.operations"):
                    del sys.modules[name]
            raise
        finally:
            _LOADING = False
        _LOADED = True


def ops() -> list[str]:
    """Names of all registered operations, in registration order."""
    _load()
    return list(_OPS)


def spec(op: str) -> OpSpec:
    """The :class:`OpSpec` of ``op``; ``KeyError`` listing the known ops otherwise."""
    _load()
    try:
        return _OPS[op]
    except (KeyError, TypeError):
        raise KeyError(f"unknown op {op!r}; available: {list(_OPS)}") from None


def backend(name: str) -> Backend:
    """The :class:`Backend` called ``name``; ``KeyError`` listing the known backends otherwise."""
    _load()
    try:
        return BACKENDS[name]
    except (KeyError, TypeError):
        raise KeyError(f"unknown backend {name!r}; available: {list(BACKENDS)}") from None


def backends(op: str | None = None) -> list[str]:
    """Backends registered for ``op`` (all known backends when ``op`` is None)."""
    _load()
    if op is None:
        return list(BACKENDS)
    spec(op)
    return _columns(op)


def by_role(role: str) -> list[str]:
    """Names of the backends that play ``role`` (``"loop"``, ``"vectorized"``, ``"compiled"``)."""
    _load()
    return [name for name, b in BACKENDS.items() if b.role == role]


def baseline(role: str) -> str:
    """The backend reports measure against for ``role``: the first one that plays it."""
    names = by_role(role)
    if not names:
        raise KeyError(f"no backend plays the role {role!r}; roles: "
                       f"{ {n: b.role for n, b in BACKENDS.items()} }")
    return names[0]


def axis_names(op: str) -> tuple[str, ...]:
    """Extra size axes of ``op`` (see :class:`Axis`); () for an op this process does not know."""
    _load()
    s = _OPS.get(op)
    return s.axis_names if s else ()


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
    except (KeyError, TypeError):
        raise KeyError(
            f"unknown backend {backend!r} for op {op!r}; available: {backends(op)}"
        ) from None
    if not k.available:
        raise ImportError(k.backend.install_hint)
    return k


def kernels(
    ops_: Sequence[str] | None = None, backends_: Sequence[str] | None = None
) -> list[Kernel]:
    """Every registered kernel (op-major, backends in column order), optionally filtered by name."""
    _load()
    for name in ops_ or ():
        spec(name)
    own = {b for names in _OWN.values() for b in names}
    for name in backends_ or ():
        if name not in BACKENDS and name not in own:
            raise KeyError(f"unknown backend {name!r}; available: {list(BACKENDS)}")
    return [
        _KERNELS[o, b]
        for o in _OPS
        for b in _columns(o)
        if (ops_ is None or o in ops_) and (backends_ is None or b in backends_)
    ]


def selected(ops_: Sequence[str] | None = None, backends_: Sequence[str] | None = None) -> list[Kernel]:
    """The kernels a run measures: :func:`kernels`, less the opt-in backends' unless backends are named.

    An opt-in backend (``Backend.opt_in``, e.g. ``torch_compile``: seconds of compiling per shape)
    runs only when named, in a sweep and in a cold-compile pass alike.
    """
    return [k for k in kernels(ops_, backends_) if backends_ is not None or not k.backend.opt_in]


def iter_backends() -> Iterator[Backend]:
    """Every known backend, in column order."""
    _load()
    return iter(list(BACKENDS.values()))
