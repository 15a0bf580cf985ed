"""Your own computation, measured like vecbench's ops: :func:`benchmark`, :func:`bench`, :func:`benchmark_tests`.

A computation is a ``setup(n)`` that builds the inputs of size ``n`` and any
number of functions (kernels) that compute the same result from them::

    import numpy as np, vecbench as vb

    def loop(a, b): ...
    res = vb.benchmark({"loop": loop, "numpy": np.dot}, setup=lambda n: (np.random.rand(n), np.random.rand(n)),
                     sizes=[10**k for k in range(2, 7)])

It becomes an op of the registry for the length of the run, each kernel a
backend of its own, and goes through the one run path of :func:`vecbench.run`
(:mod:`vecbench.harness`): inputs built once per size and never timed; each
kernel's first call (a JIT compile) timed apart; its result compared with the
reference (the first kernel, or ``reference=``) in float64 before any timing,
and its inputs compared after the call (a kernel that changes them is
refused); calibrated samples with intervals, contention, the time budget with
its reasons; each kernel in a worker process, so a crash or a hang costs that
kernel only.

Functions go to the worker with cloudpickle, by value when they live in
``__main__`` or a notebook (closures and the globals they use travel with
them), by reference when they live in an importable module. A function that
cannot be pickled is measured in this process instead, with a warning that
names it: a crash or hang in it then ends the run. ``Results.own_ops`` says
where each kernel ran, and keeps its source for the report.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import inspect
import math
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .backends.base import Backend
from .registry import Call, Kernel, OpSpec, size_label

__all__ = ["Computation", "bench", "benchmark", "benchmark_tests", "computations_in", "load", "measure"]

# np.allclose's defaults: what NumPy users expect "equal" to mean.
DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-8
SIZE_KEY = "n"
IN_WORKER = "worker process (cloudpickle)"


# ---------------------------------------------------------------- a kernel's backend
class OwnBackend(Backend):
    """The backend of one kernel of a user's computation: calls it as it is, on copies of the inputs.

    A JIT-compiled function is recognised by what it carries (a Numba
    dispatcher's ``signatures``, a ``jax.jit`` function's ``lower``), never by
    importing its framework; its first call is then stored as compile time.
    """

    role = "other"
    description = "your function, called as it is"

    def compile_state(self, kernel: Any) -> Any:
        fn = kernel.core
        sigs = getattr(fn, "signatures", None)
        if not isinstance(sigs, (list, tuple)):
            return None
        hits = getattr(getattr(fn, "stats", None), "cache_hits", None) or {}
        return len(sigs), sum(hits.values())

    def compiled(self, kernel: Any, before: Any, after: Any, args: tuple[Any, ...]) -> tuple[bool, bool | None]:
        if before is None or after is None:  # not a Numba dispatcher: the first call of a signature compiles
            return super().compiled(kernel, before, after, args)
        if after[0] <= before[0]:
            return False, None
        return True, after[1] > before[1]  # a new signature: compiled, or loaded from Numba's disk cache

    def metadata(self) -> dict[str, Any]:
        return {"available": True, "kind": "your function"}


def _is_jit(fn: Any) -> bool:
    return (hasattr(fn, "py_func") and hasattr(fn, "signatures")) or hasattr(fn, "lower")


def backend_for(name: str, fn: Any) -> OwnBackend:
    """A backend named ``name`` for the user's function ``fn`` (JIT when ``fn`` compiles on its first call)."""
    cls = type(f"OwnBackend_{name}", (OwnBackend,), {"name": name, "jit": _is_jit(fn)})
    b: OwnBackend = cls()
    return b


# ---------------------------------------------------------------- inputs, copies, results
def _copy(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.copy(order="K")  # writable, as the user's own arrays are
    try:
        return copy.deepcopy(x)
    except Exception:  # noqa: BLE001  an object that cannot be copied is passed as it is
        return x


def _changed(before: Any, after: Any) -> str:
    """How ``after`` differs from ``before`` ("" when equal or when it cannot be told)."""
    try:
        if isinstance(before, np.ndarray):
            if not isinstance(after, np.ndarray) or before.shape != after.shape:
                return "its shape changed"
            if before.dtype.kind in "fc":
                if np.array_equal(before, after, equal_nan=True):
                    return ""
                with np.errstate(all="ignore"):
                    d = np.nanmax(np.abs(after.astype(np.complex128) - before.astype(np.complex128)))
                return f"max abs change {float(d):.3g}"
            return "" if np.array_equal(before, after) else "its values changed"
        equal = before == after
        if isinstance(equal, np.ndarray):
            equal = bool(equal.all())
        return "" if equal else "its value changed"
    except Exception:  # noqa: BLE001  values that cannot be compared are not checked
        return ""


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"ndarray {x.shape} {x.dtype}"
    return type(x).__name__


def _float64(result: Any, who: str) -> Any:
    """``result`` as float64 arrays (a tuple stays a tuple of them), or ``TypeError`` naming ``who``."""
    if isinstance(result, tuple):
        return tuple(_float64(r, who) for r in result)
    if result is None:
        raise TypeError(f"{who} returned None; a function must return its result (fill an array in place, "
                        "then return it)")
    try:
        arr = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{who} returned {type(result).__name__}, which is not numbers ({exc})") from None
    return arr


# ---------------------------------------------------------------- the computation
def _source(fn: Any) -> str | None:
    try:
        return inspect.getsource(inspect.unwrap(getattr(fn, "py_func", fn)))
    except (OSError, TypeError, AttributeError):
        return None


def _whole(x: Any) -> int | None:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        return None
    if not math.isfinite(x) or x < 1 or x != int(x):
        return None
    return int(x)


def _sizes(name: str, sizes: Any) -> list[int]:
    if isinstance(sizes, (str, bytes, Mapping)) or not isinstance(sizes, Iterable):
        raise TypeError(f"{name}: sizes must be a list of positive whole numbers such as [100, 1000, 10000]; "
                        f"got {sizes!r}")
    out: list[int] = []
    for i, x in enumerate(sizes):
        n = _whole(x)
        if n is None:
            raise ValueError(f"{name}: sizes must be positive whole numbers such as [100, 1000, 10000]; got {x!r} "
                             f"at position {i}")
        out.append(n)
    if not out:
        raise ValueError(f"{name}: sizes is empty; give at least one size, such as [1000]")
    return list(dict.fromkeys(out))


def _counts(name: str, what: str, fn: Callable[[int], Any] | None, sizes: Sequence[int]) -> dict[int, int]:
    """``{n: fn(n)}`` for each size, checked here (before any measuring): whole numbers >= 0."""
    if fn is None:
        return {}
    if not callable(fn):
        raise TypeError(f"{name}: {what} must be a function of n (e.g. lambda n: 16 * n); got {fn!r}")
    out = {}
    for n in sizes:
        try:
            v = fn(n)
        except Exception as exc:  # noqa: BLE001  the user's function: one line naming it
            raise ValueError(f"{name}: {what}({n}) raised {type(exc).__name__}: {exc}") from None
        w = _whole(v) if v != 0 else 0
        if w is None:
            raise ValueError(f"{name}: {what}({n}) must return a whole number >= 0; got {v!r}")
        out[n] = w
    return out


@dataclass
class Computation:
    """A user's computation: kernels of the same result, their inputs, how they are compared.

    Build one with :meth:`build` (which checks every argument); it is what
    :func:`benchmark`, ``vecbench run --from`` and :func:`benchmark_tests` run.
    """

    name: str
    kernels: dict[str, Callable[..., Any]]
    setup: Callable[[int], Any]
    sizes: list[int]
    reference: str | Callable[..., Any]
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    nbytes: dict[int, int] = field(default_factory=dict)
    flops: dict[int, int] = field(default_factory=dict)
    summary: str = ""

    @classmethod
    def build(cls, kernels: Mapping[str, Callable[..., Any]] | Sequence[Callable[..., Any]],
              setup: Callable[[int], Any], sizes: Iterable[int], *, name: str = "computation",
              reference: str | Callable[..., Any] | None = None, rtol: float = DEFAULT_RTOL,
              atol: float = DEFAULT_ATOL, nbytes: Callable[[int], int] | None = None,
              flops: Callable[[int], int] | None = None, summary: str = "") -> Computation:
        """Check every argument (``TypeError``/``ValueError`` naming it) and return the computation."""
        if not isinstance(name, str) or not name.strip() or "/" in name:
            raise ValueError(f"benchmark: name must a non-empty string without '/'; got {name!r}")
        ks = cls._kernels(name, kernels)
        if not callable(setup):
            raise TypeError(f"{name}: setup must be a function of n that returns the kernels' arguments "
                            f"(a tuple is passed as several arguments); got {setup!r}")
        if reference is None:
            reference = next(iter(ks))
        elif isinstance(reference, str):
            if reference not in ks:
                raise ValueError(f"{name}: reference must be one of the kernels {list(ks)} or a function; "
                                 f"got {reference!r}")
        elif not callable(reference):
            raise TypeError(f"{name}: reference must be a kernel's name or a function; got {reference!r}")
        for what, v in (("rtol", rtol), ("atol", atol)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{name}: {what} must be a number >= 0; got {v!r}")
        n = _sizes(name, sizes)
        return cls(name, ks, setup, n, reference, float(rtol), float(atol), _counts(name, "nbytes", nbytes, n),
                   _counts(name, "flops", flops, n), summary or "your computation")

    @staticmethod
    def _kernels(name: str, kernels: Any) -> dict[str, Callable[..., Any]]:
        if isinstance(kernels, Mapping):
            items = list(kernels.items())
        elif isinstance(kernels, Iterable) and not isinstance(kernels, (str, bytes)):
            items = [(getattr(f, "__name__", repr(f)), f) for f in kernels]
            names = [k for k, _ in items]
            dup = sorted({k for k in names if names.count(k) > 1})
            if dup:
                raise ValueError(f"{name}: two kernels are both called {dup[0]!r}; name them with a dict "
                                 "{'name': function, ...}")
        else:
            raise TypeError(f"{name}: kernels must be a dict {{'name': function, ...}} or a list of functions; "
                            f"got {type(kernels).__name__}")
        if not items:
            raise ValueError(f"{name}: no kernels; give at least one function")
        for k, f in items:
            if not isinstance(k, str) or not k.strip() or "/" in k:
                raise ValueError(f"{name}: a kernel's name must be a non-empty string without '/'; got {k!r}")
            if not callable(f):
                raise TypeError(f"{name}: kernel {k!r} must be callable; got {type(f).__name__} {f!r:.60}")
        return dict(items)

    # ------------------------------------------------------------ as an op of the registry
    @property
    def reference_label(self) -> str:
        if isinstance(self.reference, str):
            return f"the reference kernel {self.reference!r}"
        return f"the reference function {getattr(self.reference, '__name__', 'reference')!r}"

    def make_inputs(self, size: Mapping[str, int], dtype: Any, rng: Any) -> tuple[Any, ...]:
        n = size[SIZE_KEY]
        try:
            out = self.setup(n)
        except Exception as exc:
            raise RuntimeError(f"{self.name}: setup({n}) raised {type(exc).__name__}: {exc}") from exc
        return out if isinstance(out, tuple) else (out,)

    def validate(self, *args: Any) -> Call:
        """Writable copies of the inputs (the originals stay as built), and a check that the call left them alone."""
        copies = tuple(_copy(a) for a in args)

        def post(result: Any) -> Any:
            for i, (before, after) in enumerate(zip(args, copies)):
                how = _changed(before, after)
                if how:
                    raise ValueError(f"changed its input (argument {i}, {_describe(before)}: {how}); a kernel must "
                                     "not modify its inputs (work on a copy)")
            if result is None:
                raise TypeError("returned None; a function must return its result (fill an array in place, "
                                "then return it)")
            return result

        return Call(copies, post)

    def reference_result(self, *args: Any) -> Any:
        """The reference result in float64, from a copy of the inputs."""
        fn = self.kernels[self.reference] if isinstance(self.reference, str) else self.reference
        who = self.reference_label
        try:
            result = fn(*(_copy(a) for a in args))
        except Exception as exc:
            raise RuntimeError(f"{who} raised {type(exc).__name__}: {exc}") from exc
        return _float64(result, who)

    def spec(self, ship: Callable[[str], bytes | None] | None = None) -> OpSpec:
        tol = (self.rtol, self.atol)
        nbytes, flops = dict(self.nbytes), dict(self.flops)
        sizes = [{SIZE_KEY: n} for n in self.sizes]
        return OpSpec(
            name=self.name, summary=self.summary, validate=self.validate, reference=self.reference_result,
            make_inputs=self.make_inputs, sizes={"default": sizes, "quick": sizes},
            nbytes=lambda s, item: nbytes.get(s[SIZE_KEY], 0), flops=lambda s: flops.get(s[SIZE_KEY], 0),
            tolerance={"float64": tol, "float32": tol}, reference_label=self.reference_label, ship=ship)

    def kernel_objects(self, spec: OpSpec | None = None, only: Iterable[str] | None = None) -> dict[str, Kernel]:
        """``{name: Kernel}`` of this computation's op (not registered anywhere)."""
        spec = spec or self.spec()
        names = list(self.kernels) if only is None else [k for k in self.kernels if k in set(only)]
        return {k: Kernel(spec, backend_for(k, self.kernels[k]), self.kernels[k]) for k in names}

    def install(self, ship: Callable[[str], bytes | None] | None = None, only: Iterable[str] | None = None) -> None:
        """Register this computation as an op of this process's registry (see :func:`unregister`)."""
        from .registry import register_own

        spec = self.spec(ship)
        register_own(spec, {k: (kern.backend, kern.core) for k, kern in self.kernel_objects(spec, only).items()})

    def unregister(self) -> None:
        from .registry import unregister_own

        unregister_own(self.name)

    def check_setup(self) -> None:
        """Run ``setup`` at the smallest size here, so a broken one is one clear error before any work."""
        n = min(self.sizes)
        try:
            self.make_inputs({SIZE_KEY: n}, np.float64, None)
        except RuntimeError as exc:
            raise ValueError(str(exc)) from None

    def describe(self, where: Mapping[str, str]) -> dict[str, Any]:
        """What a results file keeps of this computation: sources, reference, tolerance, where each kernel ran."""
        ref = self.reference if isinstance(self.reference, str) else getattr(self.reference, "__name__", "reference")
        out: dict[str, Any] = {
            "summary": self.summary, "reference": ref, "reference_is_kernel": isinstance(self.reference, str),
            "rtol": self.rtol, "atol": self.atol, "sizes": list(self.sizes), "setup_source": _source(self.setup),
            "kernels": {k: {"source": _source(f), "jit": _is_jit(f), "measured_in": where.get(k, "this process")}
                        for k, f in self.kernels.items()},
        }
        if not isinstance(self.reference, str):
            out["reference_source"] = _source(self.reference)
        return out

    # ------------------------------------------------------------ isolation
    def shipping(self, isolate: bool) -> tuple[dict[str, bytes | None], dict[str, str], list[str]]:
        """``(payload per kernel or None, where each kernel is measured, warnings)``.

        One payload holds the computation with every kernel that pickles; a
        kernel that does not (or every kernel, when ``setup`` or the reference
        function does not) is measured in this process.
        """
        if not isolate:
            return {k: None for k in self.kernels}, {k: "this process (isolate=False)" for k in self.kernels}, []
        try:
            import cloudpickle
        except ImportError:
            why = "cloudpickle is not installed (pip install cloudpickle)"
            return ({k: None for k in self.kernels}, {k: f"this process: {why}" for k in self.kernels},
                    [f"{self.name}: {why}: every kernel is measured in this process, so a crash or hang in one "
                     "ends the run (no isolation)"])
        shared: list[tuple[str, Any]] = [("setup", self.setup)]
        if not isinstance(self.reference, str):
            shared.append(("reference", self.reference))
        for what, fn in shared:
            why = _unpicklable(cloudpickle, fn)
            if why:
                msg = (f"{self.name}: {what} {_fn_name(fn)} cannot be sent to a worker process ({why}); every kernel "
                       "is measured in this process, so a crash or hang in one ends the run (no isolation)")
                return {k: None for k in self.kernels}, {k: f"this process: {what} not picklable" for k in self.kernels}, [msg]
        where: dict[str, str] = {}
        notes: list[str] = []
        sendable = []
        for k, fn in self.kernels.items():
            why = _unpicklable(cloudpickle, fn)
            if why:
                where[k] = f"this process: not picklable ({why})"
                notes.append(f"{self.name}: kernel {k!r} ({_fn_name(fn)}) cannot be sent to a worker process ({why}); "
                             "it is measured in this process, so a crash or hang in it ends the run (no isolation)")
            else:
                where[k] = IN_WORKER
                sendable.append(k)
        if isinstance(self.reference, str) and self.reference not in sendable:
            notes.append(f"{self.name}: the reference kernel {self.reference!r} cannot be sent; every kernel is "
                         "measured in this process, so a crash or hang in one ends the run (no isolation)")
            return ({k: None for k in self.kernels},
                    {k: f"this process: reference kernel {self.reference!r} not picklable" for k in self.kernels}, notes)
        part = dataclasses.replace(self, kernels={k: self.kernels[k] for k in sendable})
        payload = cloudpickle.dumps(functools.partial(_install_sent, part))
        return {k: payload if k in sendable else None for k in self.kernels}, where, notes


def _install_sent(comp: Computation) -> None:
    """Run in a worker process: register the computation the parent sent (the inputs of earlier ones go)."""
    from .data import clear_cache

    clear_cache()
    comp.install()


def _fn_name(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', getattr(fn, '__name__', repr(fn)))}"


def _unpicklable(cloudpickle: Any, fn: Any) -> str:
    """Why ``fn`` cannot be pickled and loaded again ("" when it can)."""
    import pickle

    try:
        pickle.loads(cloudpickle.dumps(fn))  # noqa: S301  our own bytes, just made
    except Exception as exc:  # noqa: BLE001  any failure means: not sendable
        return f"{type(exc).__name__}: {exc}".strip()[:200]
    return ""


# ---------------------------------------------------------------- measuring
_WORKER: list[Any] = []  # (worker, sys.path it was started with): one per process, reused by every call


def _worker() -> Any:
    """The worker process successive calls share (a notebook's second call starts at once); a new one when
    ``sys.path`` changed since it started (it imports what the parent can)."""
    import atexit

    from .worker import Worker

    if _WORKER and _WORKER[0][1] != sys.path:
        _WORKER.pop()[0].close()
    if not _WORKER:
        w = Worker()
        _WORKER.append((w, list(sys.path)))
        atexit.register(w.close)
    return _WORKER[0][0]


def measure(computations: Sequence[Computation], *, settings: Any = None, isolate: bool = True,
            timeout: float | None = None, threads: int | None = None, progress: bool = False,
            bandwidth: bool | None = None, journal: Any = None, warn: bool | Callable[[str], None] = True,
            on_record: Callable[[Any], None] | None = None) -> Any:
    """Measure computations through :func:`vecbench.harness.run`; returns :class:`vecbench.results.Results`.

    Each computation is registered for the run and removed after it.
    ``bandwidth=None`` measures the machine's memory bandwidth and compute
    peak only when some computation gives ``nbytes`` or ``flops``. ``warn``:
    True warns (``UserWarning``) of each kernel measured in this process and
    of each failed kernel; a function is told the first kind only (the command
    line lists failures itself); False says nothing.
    """
    from .harness import run

    names = [c.name for c in computations]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"two computations are both called {dup[0]!r}; give each its own name")
    for c in computations:
        c.check_setup()
    plans = {c.name: c.shipping(isolate) for c in computations}
    for _, _, notes in plans.values():
        for note in notes:
            _warn(note, warn)
    if bandwidth is None:
        bandwidth = any(c.nbytes or c.flops for c in computations)
    try:
        for c in computations:
            payloads = plans[c.name][0]
            c.install(ship=payloads.get)
        results = run(ops=names, sizes=[], sizes_by_op={c.name: list(c.sizes) for c in computations},
                      dtypes=("float64",), threads=threads, settings=settings, bandwidth=bandwidth, progress=progress,
                      isolate=isolate, timeout=timeout, journal=journal, on_record=on_record,
                      worker=_worker() if isolate else None)
    finally:
        for c in computations:
            c.unregister()
    results.own_ops.update({c.name: c.describe(plans[c.name][1]) for c in computations})
    results.records = [_noted(r, plans[r.op][1].get(r.backend, "")) if r.op in plans else r for r in results.records]
    seen: set[tuple[str, str]] = set()
    for r in results.failures if warn is True else ():
        if (r.op, r.backend) not in seen:
            seen.add((r.op, r.backend))
            _warn(refusal(r), warn)
    return results


def _noted(r: Any, where: str) -> Any:
    if where.startswith("this process") and r.status != "skipped":
        return dataclasses.replace(r, warnings=(*r.warnings, f"measured in {where}: no crash or hang isolation"))
    return r


def refusal(r: Any) -> str:
    """One line: which kernel of which computation failed, at which n, and why."""
    n = r.size.get(SIZE_KEY, r.label)
    return f"{r.op}: kernel {r.backend!r} failed at n={n}: {r.reason}"


def _warn(text: str, how: bool | Callable[[str], None]) -> None:
    if callable(how):
        how(text)
    elif how:
        warnings.warn(text, UserWarning, stacklevel=4)


def benchmark(kernels: Mapping[str, Callable[..., Any]] | Sequence[Callable[..., Any]], setup: Callable[[int], Any],
            sizes: Iterable[int], *, name: str = "computation", reference: str | Callable[..., Any] | None = None,
            rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, nbytes: Callable[[int], int] | None = None,
            flops: Callable[[int], int] | None = None, summary: str = "", quick: bool = False,
            settings: Any = None, isolate: bool = True, timeout: float | None = None, threads: int | None = None,
            progress: bool = False, bandwidth: bool | None = None) -> Any:
    """Check that ``kernels`` agree, then time each over ``sizes``: vecbench's harness on your own functions.

    Parameters
    ----------
    kernels : dict or list of callables
        ``{"loop": f, "numpy": g, "numba": h}`` (a list is named by the
        functions' ``__name__``). Each is called as ``f(*setup(n))``.
    setup : callable
        ``setup(n)`` returns the inputs of size ``n``: a tuple is passed as
        several arguments, anything else as one. Called once per size, never timed.
    sizes : list of int
        Problem sizes ``n``, positive whole numbers.
    name : str
        The computation's name in results, tables and reports.
    reference : str or callable, optional
        The result every kernel must match: a kernel's name, or a function of
        the same inputs (default: the first kernel).
    rtol, atol : float
        Tolerance of ``np.allclose(result, reference, rtol, atol)``, in float64
        (default: NumPy's, 1e-5 and 1e-8).
    nbytes, flops : callable, optional
        ``nbytes(n)`` (minimum bytes moved by one call) and ``flops(n)``: GB/s,
        GFLOP/s and the roofline.
    summary : str
        One line for tables and reports (the formula).
    quick : bool
        Fewer samples and a 0.3 s budget per measurement (:meth:`Settings.quick
        <vecbench.harness.Settings.quick>`); ``settings`` gives full control.
    isolate : bool
        Measure in a worker process (default): a crash or hang costs that kernel only.
    timeout : float, optional
        Seconds one kernel's measurement may take in the worker (default: 60 + 4 x budget).
    threads : int, optional
        BLAS and Numba threads in the worker.
    progress : bool
        A progress bar on stderr.
    bandwidth : bool, optional
        Measure the machine's memory bandwidth and compute peak, the roofs of the roofline (default: when
        ``nbytes``/``flops`` are given and ``quick`` is not).

    Returns
    -------
    Results
        As :func:`vecbench.run`: ``ok`` records with their timings, ``failed``
        ones with the reason (a kernel that disagrees with the reference, returns
        the wrong shape, changes its inputs, raises, crashes or hangs is refused
        and the others are still measured; each is also a warning), ``skipped``
        ones with the budget's reason. ``results.own_ops[name]`` keeps the
        sources and where each kernel was measured. Display it in Jupyter, or use
        ``to_pandas()``, ``plot()`` and ``save()``.

    Raises
    ------
    TypeError, ValueError
        For arguments that cannot work (a kernel that is not callable, sizes
        that are not positive whole numbers, a ``setup`` that raises at the
        smallest size, ...), naming the argument, before anything is measured.
    """
    from .harness import Settings

    comp = Computation.build(kernels, setup, sizes, name=name, reference=reference, rtol=rtol, atol=atol,
                             nbytes=nbytes, flops=flops, summary=summary)
    if settings is None:
        settings = Settings.quick() if quick else Settings()
    if bandwidth is None:
        bandwidth = bool(comp.nbytes or comp.flops) and not quick
    return measure([comp], settings=settings, isolate=isolate, timeout=timeout, threads=threads, progress=progress,
                   bandwidth=bandwidth)


# ---------------------------------------------------------------- @vb.bench and files of computations
@dataclass
class _Bench:
    name: str
    kernels: dict[str, Callable[..., Any]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    given_on: dict[str, str] = field(default_factory=dict)
    modules: set[str] = field(default_factory=set)


_BENCHES: dict[str, _Bench] = {}
_OPTIONS = ("setup", "sizes", "rtol", "atol", "nbytes", "flops", "summary")


def bench(name: str, *, label: str | None = None, reference: bool = False, setup: Callable[[int], Any] | None = None,
          sizes: Iterable[int] | None = None, rtol: float | None = None, atol: float | None = None,
          nbytes: Callable[[int], int] | None = None, flops: Callable[[int], int] | None = None,
          summary: str | None = None) -> Callable[[Any], Any]:
    """Mark a function as one implementation (kernel) of the computation ``name``; returns it unchanged.

    ``vecbench run --from FILE`` measures every computation its file marks.
    The options (``setup``, ``sizes``, ``rtol``, ``atol``, ``nbytes``,
    ``flops``, ``summary``) are given once, on any one implementation; the
    kernel's name is ``label`` or the function's name; ``reference=True``
    makes it the reference (default: the first marked).

    >>> import numpy as np, vecbench as vb
    >>> @vb.bench("dot2", setup=lambda n: (np.ones(n), np.ones(n)), sizes=[10, 100])
    ... def loop(a, b):
    ...     return sum(x * y for x, y in zip(a, b))
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"bench: the computation's name must be a non-empty string; got {name!r}")
    given = {"setup": setup, "sizes": None if sizes is None else list(sizes), "rtol": rtol, "atol": atol,
             "nbytes": nbytes, "flops": flops, "summary": summary}

    def mark(fn: Any) -> Any:
        if not callable(fn):
            raise TypeError(f"bench({name!r}): decorates a function; got {type(fn).__name__}")
        kname = label or getattr(fn, "__name__", None) or repr(fn)
        b = _BENCHES.setdefault(name, _Bench(name))
        for opt, value in given.items():
            if value is None:
                continue
            if opt in b.options and b.options[opt] is not value and b.options[opt] != value:
                raise ValueError(f"bench({name!r}): {opt} is given twice, differently (on {b.given_on[opt]!r} and "
                                 f"{kname!r}); give it once")
            b.options[opt] = value
            b.given_on[opt] = kname
        b.kernels.pop(kname, None)  # a re-run cell or a reloaded module replaces its kernel
        b.kernels[kname] = fn
        if reference:
            b.options["reference"] = kname
        b.modules.add(str(getattr(fn, "__module__", "")))
        return fn

    return mark


def _from_bench(b: _Bench, sizes: Sequence[Any] | None = None) -> Computation:
    opts = dict(b.options)
    if opts.get("setup") is None:
        raise ValueError(f"{b.name}: no setup; give setup=... in one @vecbench.bench({b.name!r}, setup=..., sizes=...)")
    chosen = sizes if sizes is not None else opts.get("sizes")
    if chosen is None:
        raise ValueError(f"{b.name}: no sizes; give sizes=[...] in one @vecbench.bench({b.name!r}, ...) "
                         "or --sizes on the command line")
    kwargs = {k: opts[k] for k in ("rtol", "atol", "nbytes", "flops", "summary") if opts.get(k) is not None}
    return Computation.build(b.kernels, opts["setup"], chosen, name=b.name, reference=opts.get("reference"), **kwargs)


def computations_in(module: str, sizes: Sequence[float] | None = None) -> list[Computation]:
    """The computations marked with :func:`bench` in ``module`` (by its name), ``sizes`` overriding theirs."""
    return [_from_bench(b, sizes) for b in _BENCHES.values() if module in b.modules]


def load(target: str, sizes: Sequence[float] | None = None) -> list[Computation]:
    """The computations of a file (``mykernels.py``) or an importable module (``pkg.kernels``).

    A file is imported as a module named after it, with its folder first on
    ``sys.path`` (so a worker process can import it too). ``ValueError`` (one
    line) when it cannot be found or imported, or marks no computation.
    """
    path = Path(target)
    if target.endswith(".py") or path.exists():
        if not path.is_file():
            raise ValueError(f"--from: {target}: no such file")
        folder, module = str(path.resolve().parent), path.stem
        if not module.isidentifier():
            raise ValueError(f"--from: {target}: the file name must be a Python module name (letters, digits, _)")
        if folder not in sys.path:
            sys.path.insert(0, folder)
        loaded = sys.modules.get(module)
        if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() != path.resolve():
            raise ValueError(f"--from: {target}: a module named {module!r} is already imported from elsewhere "
                             f"({getattr(loaded, '__file__', '?')}); rename the file")
    else:
        module = target
    try:
        importlib.import_module(module)
    except ImportError as exc:
        if getattr(exc, "name", None) == module:
            raise ValueError(f"--from: {target}: no such file or importable module") from None
        raise ValueError(f"--from: importing {target} raised {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001  the user's module: one line, the traceback with --debug
        raise ValueError(f"--from: importing {target} raised {type(exc).__name__}: {exc}") from exc
    found = computations_in(module, sizes)
    if not found:
        raise ValueError(f"--from: {target} marks no computation; decorate each implementation with "
                         "@vecbench.bench('name', setup=..., sizes=...)")
    return found


# ---------------------------------------------------------------- pytest-benchmark
def benchmark_tests(kernels: Mapping[str, Callable[..., Any]] | Sequence[Callable[..., Any]],
                    setup: Callable[[int], Any], sizes: Iterable[int], *, name: str,
                    reference: str | Callable[..., Any] | None = None, rtol: float = DEFAULT_RTOL,
                    atol: float = DEFAULT_ATOL, nbytes: Callable[[int], int] | None = None,
                    flops: Callable[[int], int] | None = None, summary: str = "") -> Callable[..., None]:
    """A pytest test, parametrized over kernels x sizes, that times each with pytest-benchmark's ``benchmark``.

    In a test module of your repository::

        import vecbench as vb
        test_softmax = vb.benchmark_tests({"loop": loop, "numpy": softmax}, setup=make, sizes=[100, 10_000],
                                          name="softmax")

    then ``pytest --benchmark-only`` (``--benchmark-json out.json``;
    ``vecbench report out.json`` draws it). As in vecbench's own suite, each
    kernel is checked against the reference and warmed up (a JIT compile,
    stored apart as ``compile_time_s``) before the timer starts; a kernel that
    disagrees fails its test and is never timed. Ids are ``name-kernel-size``, the
    group is ``"name size float64"``, and ``extra_info`` carries what the
    vecbench report reads.
    """
    import pytest

    comp = Computation.build(kernels, setup, sizes, name=name, reference=reference, rtol=rtol, atol=atol,
                             nbytes=nbytes, flops=flops, summary=summary)
    params = [pytest.param(k, n, id=f"{name}-{k}-{size_label({SIZE_KEY: n})}") for n in comp.sizes for k in comp.kernels]

    @pytest.mark.parametrize(("kernel", "n"), params)
    def test(benchmark: Any, kernel: str, n: int) -> None:
        _benchmark_one(comp, benchmark, kernel, n)

    test.__name__ = test.__qualname__ = f"test_{name}"
    return test


_REFS: dict[tuple[int, str, int], Any] = {}


def _benchmark_one(comp: Computation, benchmark: Any, kernel: str, n: int) -> None:
    import pytest

    from .data import inputs
    from .harness import compile_time, prepare

    spec = comp.spec()
    k = comp.kernel_objects(spec, [kernel])[kernel]
    size = {SIZE_KEY: n}
    key = (id(comp), comp.name, n)
    if key not in _REFS:
        _REFS.clear()  # one computation's size at a time
        _REFS[key] = spec.reference(*inputs(spec, size, "float64"))
    p = prepare(k, size, "float64", 1, expected=_REFS[key])
    if p.reason or p.core is None:
        pytest.fail(f"{comp.name}: kernel {kernel!r} refused at n={n}: {p.reason}", pytrace=False)
    rec = p.record
    benchmark.group = f"{comp.name} {rec.label} float64"
    benchmark(p.core, *p.args)
    stats = getattr(benchmark, "stats", None)
    steady = stats.stats.min if stats is not None else None
    benchmark.extra_info.update(
        op=rec.op, backend=rec.backend, size=dict(rec.size), label=rec.label, dtype=rec.dtype, threads=rec.threads,
        bytes=rec.bytes, flops=rec.flops, first_call_s=p.first_call_s,
        compile_time_s=compile_time(p, steady) if steady is not None else None, from_cache=p.from_cache,
        own_op=comp.describe({}),
    )
