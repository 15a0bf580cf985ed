"""Validate, warm up, calibrate and time every kernel over a size sweep.

The rules this module exists for:

- inputs come from :mod:`vecbench.data` (seeded, cached): every backend gets
  the same arrays and generation is never timed; nor are validation and the
  ``python`` backend's list conversion (:meth:`Kernel.bind`);
- each kernel's first call is its warm-up: JIT compilation (or loading from
  Numba's disk cache) happens there and is stored as ``compile_time_s``,
  never inside a sample;
- the warm-up result is compared with the float64 NumPy reference before any
  timing; a mismatch or an exception marks the record ``failed`` and the run
  goes on;
- ``time.perf_counter_ns``, with the loop count calibrated so one sample lasts
  at least ``min_sample_s``; ``repeats`` samples; min, median and IQR kept;
- a time budget per measurement: a size whose predicted cost (one call,
  scaled from the last size by the op's work, times the calls a measurement
  makes) would exceed it is ``skipped`` with the reason (pure Python at
  n = 1e8), never silently; so are the larger sizes after it.

The harness never imports matplotlib.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import math
import os
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from . import __version__
from .data import inputs
from .journal import Journal
from .machine import machine_info, thread_limit
from .registry import Kernel, OpSpec, Size, kernels
from .results import Record, Results

__all__ = ["Settings", "Prepared", "prepare", "run", "measure", "resolve_sizes", "python_estimate_s"]


@dataclass(frozen=True)
class Settings:
    """How a run measures. Defaults suit a full sweep; ``quick`` ones a smoke run."""

    min_sample_s: float = 0.01
    repeats: int = 7
    budget_s: float = 5.0
    seed: int = 0

    @classmethod
    def quick(cls) -> Settings:
        return cls(min_sample_s=0.005, repeats=3, budget_s=0.5)


SizesArg = Union[str, Sequence[Union[int, float, Size]], Mapping[str, Any]]


def resolve_sizes(op: OpSpec, sizes: SizesArg) -> list[Size]:
    """A sweep for ``op``: a preset name (quick/default/large), numbers or size dicts,
    or a mapping ``{op name: sweep, "*": sweep for the others}``."""
    if isinstance(sizes, Mapping) and "n" not in sizes:
        return resolve_sizes(op, sizes.get(op.name, sizes.get("*", "default")))
    if isinstance(sizes, str):
        try:
            return list(op.sizes[sizes])
        except KeyError:
            raise ValueError(f"sizes must be one of {sorted(op.sizes)} or a list; got {sizes!r}") from None
    if not sizes:
        raise ValueError(f"{op.name}: sizes must not be empty; give a preset {sorted(op.sizes)} or numbers")
    return [dict(s) if isinstance(s, Mapping) else op.size_from(_whole(op, s)) for s in sizes]


def _whole(op: OpSpec, s: Any) -> int:
    """A size given as one number (``1e3``, ``"1000"``): a whole number >= 1, else ``ValueError``."""
    try:
        x = float(s)
    except (TypeError, ValueError):
        x = math.nan
    if not (math.isfinite(x) and x >= 1 and x == int(x)) or isinstance(s, bool):
        raise ValueError(f"{op.name}: each size must be a whole number >= 1 such as 1000 or 1e6; got {s!r}")
    return int(x)


# ---------------------------------------------------------------- JIT bookkeeping
def _jit_counts(k: Kernel) -> tuple[int, int] | None:
    """(signatures compiled, cache hits) over the Numba dispatchers of a kernel's module."""
    if not k.backend.jit:
        return None
    from .kernels._jit import dispatchers

    module = importlib.import_module(k.module)
    ds = dispatchers(module) + dispatchers(importlib.import_module("vecbench.kernels._jit"))
    sigs = sum(len(d.signatures) for d in ds)
    hits = sum(sum(d.stats.cache_hits.values()) for d in ds)
    return sigs, hits


# ---------------------------------------------------------------- one measurement
def _time(fn: Callable[..., Any], args: tuple[Any, ...], loops: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(loops):
        fn(*args)
    return (time.perf_counter_ns() - t0) * 1e-9


def _calibrate(fn: Callable[..., Any], args: tuple[Any, ...], min_sample_s: float, first_s: float) -> int:
    """Loops per sample so that one sample lasts at least ``min_sample_s`` (timeit-style)."""
    loops = max(1, int(min_sample_s / max(first_s, 1e-9)))
    while True:
        t = _time(fn, args, loops)
        if t >= min_sample_s:
            return loops
        loops = max(loops + 1, math.ceil(loops * min_sample_s / max(t, 1e-9) * 1.1))


def _check(k: Kernel, result: Any, expected: Any, dtype: str) -> str:
    """Empty string when ``result`` matches the reference, else the reason."""
    rtol, atol = k.op.tol(dtype)
    pairs = list(zip(result, expected)) if isinstance(expected, tuple) else [(result, expected)]
    for got, want in pairs:
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            return f"wrong result shape {got.shape}, expected {want.shape}"
        if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
            err = np.max(np.abs(got - want) / (atol + rtol * np.abs(want)))
            return f"result differs from the float64 reference by {err:.3g}x the tolerance (rtol={rtol}, atol={atol})"
    return ""


@dataclass
class Prepared:
    """A kernel warmed up on validated inputs, ready to be timed (or ``reason`` why not)."""

    core: Callable[..., Any] | None
    args: tuple[Any, ...]
    record: Record
    jit: bool = False
    compiled: bool = False
    reason: str = ""


def new_record(k: Kernel, size: Size, dtype: str, threads: int, **fields: Any) -> Record:
    """A record for ``k`` at ``size`` with its byte and flop counts filled in."""
    item = np.dtype(dtype).itemsize
    return Record(k.op.name, k.backend.name, dict(size), k.op.label(size), dtype, threads,
                  bytes=int(k.op.nbytes(size, item)), flops=int(k.op.flops(size)), **fields)


def prepare(k: Kernel, size: Size, dtype: str = "float64", threads: int = 1, seed: int = 0,
            expected: Any = None) -> Prepared:
    """Untimed part of a measurement: inputs, validation, warm-up call, check vs the reference.

    The warm-up is the first call: JIT compilation (or a load from Numba's
    disk cache) happens there, so no sample ever contains it. Exceptions
    from ``k`` become ``reason`` (the kernel is not timed).
    """
    rec = new_record(k, size, dtype, threads)
    args = inputs(k.op, size, dtype, seed=seed)
    try:
        core, core_args, call = k.bind(*args)  # validation, list conversion, out=
        if expected is None:
            expected = k.op.reference(*args)
        before = _jit_counts(k)
        t0 = time.perf_counter_ns()
        raw = core(*core_args)
        rec.first_call_s = (time.perf_counter_ns() - t0) * 1e-9
        after = _jit_counts(k)
        compiled = before is not None and after is not None and after[0] > before[0]
        if compiled:
            rec.from_cache = after[1] > before[1]
        reason = _check(k, k.finish(raw, call), expected, dtype)
        return Prepared(core, core_args, rec, k.backend.jit, compiled, reason)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # a broken kernel is reported, the run goes on
        rec.warnings.append(traceback.format_exc(limit=-3))
        return Prepared(None, (), rec, reason=f"{type(exc).__name__}: {exc}".strip())


def set_compile_time(p: Prepared) -> None:
    """``compile_time_s``: the first call's excess over the fastest steady call.

    0 for a JIT kernel already compiled earlier in this process; None for
    backends that do not compile.
    """
    rec = p.record
    if p.jit:
        first, steady = rec.first_call_s or 0.0, rec.min_s or 0.0
        rec.compile_time_s = max(0.0, first - steady) if p.compiled else 0.0


def measure(
    k: Kernel,
    size: Size,
    dtype: str = "float64",
    settings: Settings = Settings(),
    threads: int = 1,
    expected: Any = None,
) -> Record:
    """Validate and time one kernel at one size; never raises for a kernel's fault."""
    p = prepare(k, size, dtype, threads, settings.seed, expected)
    rec = p.record
    if p.reason or p.core is None:
        rec.status, rec.reason = "failed", p.reason
        return rec
    gc_was = gc.isenabled()
    gc.disable()  # as timeit does: no collector pauses inside a sample
    try:
        loops = _calibrate(p.core, p.args, settings.min_sample_s, rec.first_call_s or 0.0)
        samples = [_time(p.core, p.args, loops) / loops for _ in range(settings.repeats)]
    except Exception as exc:
        rec.status, rec.reason = "failed", f"{type(exc).__name__} while timing: {exc}"
        return rec
    finally:
        if gc_was:
            gc.enable()
    rec.set_samples(samples, loops)
    set_compile_time(p)
    return rec


def _available_memory() -> int:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def _too_big(op: OpSpec, size: Size, dtype: str) -> str:
    # Inputs, the python backend's lists (~4x) and outputs must fit in memory.
    need = op.nbytes(size, np.dtype(dtype).itemsize)
    free = _available_memory()
    if need > free // 3:
        return f"inputs need ~{need / 1e9:.2g} GB; only {free / 1e9:.2g} GB of memory is available"
    return ""


# Pure-Python loops run at roughly 20-60 ns per flop on current CPUs; the
# static estimate (used where nothing has been measured yet, e.g. when the
# pytest-benchmark suite is collected) takes the slow end.
PYTHON_S_PER_FLOP = 60e-9


def python_estimate_s(op: OpSpec, size: Size) -> float:
    """A pessimistic guess of one pure-Python call's time at ``size``."""
    return op.flops(size) * PYTHON_S_PER_FLOP


def _predicted_s(op: OpSpec, last: Record, size: Size) -> float:
    """Time one call at ``size`` will take, scaled from the last size by work done."""
    work = lambda s: max(op.flops(s), op.nbytes(s, 8), 1)  # noqa: E731
    per_call = last.median_s or last.first_call_s or 0.0
    return per_call * work(size) / work(last.size)


def _skip_reason(op: OpSpec, size: Size, dtype: str, last: Record | None, settings: Settings) -> str:
    """Why ``size`` is not measured (memory, an earlier failure, the time budget), or ""."""
    too_big = _too_big(op, size, dtype)
    if too_big or last is None:
        return too_big
    if not last.ok:
        return f"a smaller size {last.status}"
    predicted = _predicted_s(op, last, size)
    calls = settings.repeats + 2  # warm-up, calibration, samples
    if predicted * calls > settings.budget_s:
        return (f"time budget: ~{predicted:.3g} s per call predicted from {last.label}; "
                f"{calls} calls would exceed the {settings.budget_s:g} s budget per measurement")
    return ""


# ---------------------------------------------------------------- the sweep
DTYPES = ("float64", "float32")


def _sizes_json(sizes: SizesArg) -> Any:
    """``sizes`` as plain JSON (for the results' settings and a journal's request)."""
    if isinstance(sizes, str):
        return sizes
    if isinstance(sizes, Mapping):
        return {str(k): _sizes_json(v) for k, v in sizes.items()} if "n" not in sizes else dict(sizes)
    return [dict(s) if isinstance(s, Mapping) else str(s) for s in sizes]


def _check_run_args(dtypes: Sequence[str], threads: int | None) -> None:
    bad = [d for d in dtypes if d not in DTYPES]
    if bad or not dtypes:
        raise ValueError(f"run: dtypes must be one or more of {list(DTYPES)}; got {list(dtypes)!r}")
    if threads is not None:
        from .machine import cpu_count

        if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= cpu_count():
            raise ValueError(f"run: threads must be a whole number from 1 to {cpu_count()} (the cores this "
                             f"process may use); got {threads!r}")


class _InProcess:
    """Measures in this process (``isolate=False``): faster to start, but a crash ends the run."""

    def __init__(self, seed: int):
        self.seed = seed
        self.refs: dict[tuple[str, str, str], Any] = {}

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.refs.clear()

    def measure(self, k: Kernel, size: Size, dt: str, settings: Settings, nthreads: int | None,
                threads: int | None) -> Record:
        key = (k.op.name, k.op.label(size), dt)
        if key not in self.refs:  # one op's references at a time
            self.refs = {r: v for r, v in self.refs.items() if r[0] == k.op.name}
            self.refs[key] = k.op.reference(*inputs(k.op, size, dt, seed=settings.seed))
        return measure(k, size, dt, settings, nthreads or 1, self.refs[key])

    def machine_info(self) -> dict[str, Any]:
        return machine_info()


class _Isolated:
    """Measures in a worker process (:mod:`vecbench.worker`); a kernel's crash or hang costs that kernel only."""

    def __init__(self, timeout_s: float):
        from .worker import Worker

        self.timeout_s = timeout_s
        self.worker = Worker()

    def __enter__(self) -> _Isolated:
        return self

    def __exit__(self, *exc: object) -> None:
        self.worker.close()

    def machine_info(self) -> dict[str, Any]:
        return self.worker.machine_info() or machine_info()

    def measure(self, k: Kernel, size: Size, dt: str, settings: Settings, nthreads: int | None,
                threads: int | None) -> Record:
        from .worker import Task, kernel_modules

        task = Task(k.op.name, k.backend.name, dict(size), dt, threads, settings, k.module, kernel_modules(k))
        try:
            rec, reason, detail = self.worker.measure(task, self.timeout_s)
        except BaseException:
            self.worker.kill()  # Ctrl-C: the worker ignores SIGINT, so stop it here
            raise
        if rec is not None:
            return rec
        return new_record(k, size, dt, nthreads or 1, status="failed", reason=reason,
                          warnings=[detail] if detail else [])


def run(
    ops: Sequence[str] | None = None,
    backends: Sequence[str] | None = None,
    sizes: SizesArg = "default",
    dtypes: Sequence[str] = ("float64",),
    threads: int | None = None,
    settings: Settings | None = None,
    bandwidth: bool = True,
    progress: bool = False,
    on_record: Callable[[Record], None] | None = None,
    isolate: bool = True,
    timeout: float | None = None,
    journal: Journal | None = None,
) -> Results:
    """Measure every selected (op, backend) over a size sweep.

    Parameters
    ----------
    ops, backends : sequence of str, optional
        Selection (default: everything registered). Unknown names raise ``KeyError``.
    sizes : str or sequence
        ``"quick"``, ``"default"``, ``"large"``, or numbers mapped per op
        (``1e6`` is ``n`` for ``dot``, ``m`` for the logreg ops...).
    dtypes : sequence of str
        ``float64`` and/or ``float32``.
    threads : int, optional
        BLAS and Numba threads, 1 to the number of cores (default: all cores).
    settings : Settings, optional
        Sample length, repeats, time budget per measurement, seed.
    bandwidth : bool
        Measure the machine's memory bandwidth first (for % of bandwidth).
    progress : bool
        Show a rich progress bar.
    on_record : callable, optional
        Called with each finished record (live output).
    isolate : bool
        Measure in a worker process (default), so that a kernel's crash,
        hang, ``os._exit`` or ``SystemExit`` is recorded as that kernel's
        failure and the sweep goes on. ``False`` measures in this process.
    timeout : float, optional
        Seconds one isolated measurement may take before its worker is
        killed and the kernel recorded ``failed`` (default
        :func:`vecbench.worker.default_timeout` of the budget).
    journal : Journal, optional
        Append each finished record to this journal (:mod:`vecbench.journal`);
        a journal loaded from an interrupted run is resumed: its records are
        kept and only the missing ones are measured (same arguments required,
        else ``ValueError``).

    Returns
    -------
    Results
        ``KeyboardInterrupt`` stops the sweep and returns what was measured,
        with ``interrupted=True``.
    """
    from .worker import default_timeout

    settings = settings or Settings()
    dtypes = list(dtypes)
    _check_run_args(dtypes, threads)
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"run: timeout must be a positive number of seconds; got {timeout!r}")
    timeout_s = timeout if timeout is not None else default_timeout(settings.budget_s)
    selected = [k for k in kernels(ops, backends)]
    unavailable = [k for k in selected if not k.available]
    selected = [k for k in selected if k.available]
    plan = [(k, resolve_sizes(k.op, sizes), dt) for dt in dtypes for k in selected]
    results = Results(vecbench=__version__, settings={
        "sizes": _sizes_json(sizes), "dtypes": dtypes, "threads": threads, **dataclasses.asdict(settings)})
    done: dict[tuple[str, str, str, str], Record] = {}
    if journal is not None:
        request = {"ops": list(ops) if ops is not None else None,
                   "backends": list(backends) if backends is not None else None,
                   "sizes": _sizes_json(sizes), "dtypes": dtypes, "threads": threads,
                   "settings": dataclasses.asdict(settings), "bandwidth": bandwidth}
        journal.begin(request, results.created, __version__)
        results.created = journal.created or results.created
        done = {(r.op, r.backend, r.label, r.dtype): r for r in journal.records}
    for k in unavailable:
        results.records.append(Record(k.op.name, k.backend.name, {}, "-", dtypes[0], 0, status="skipped",
                                      reason=k.backend.install_hint))
    bar = _Progress(sum(len(s) for _, s, _ in plan), progress)
    measurer: Any = _Isolated(timeout_s) if isolate else _InProcess(settings.seed)
    try:
        with thread_limit(threads) as nthreads, bar, measurer:
            if bandwidth and journal is not None and journal.bandwidth_gbps:
                results.bandwidth_gbps = dict(journal.bandwidth_gbps)
            elif bandwidth:
                bar.describe("memory bandwidth probe")
                from .bandwidth import measure_bandwidth

                results.bandwidth_gbps = measure_bandwidth()
                if journal is not None:
                    journal.add_bandwidth(results.bandwidth_gbps)
            for k, sweep, dt in plan:
                last: Record | None = None
                for size in sweep:
                    bar.describe(f"{k.op.name} {k.backend.name} {k.op.label(size)} {dt}")
                    rec = done.get((k.op.name, k.backend.name, k.op.label(size), dt))
                    if rec is not None:  # measured before the run was interrupted
                        last = rec if rec.status != "skipped" else last
                    elif reason := _skip_reason(k.op, size, dt, last, settings):
                        rec = new_record(k, size, dt, nthreads, status="skipped", reason=reason)
                    else:
                        rec = last = measurer.measure(k, size, dt, settings, nthreads, threads)
                    if journal is not None and (k.op.name, k.backend.name, rec.label, dt) not in done:
                        journal.add_record(rec)
                    results.records.append(rec)
                    if on_record:
                        on_record(rec)
                    bar.advance()
            if any(k.backend.jit for k, _, _ in plan):
                # After kernels ran, where they ran: numba's threading layer is known.
                results.machine = measurer.machine_info()
    except KeyboardInterrupt:
        results.interrupted = True
    if not results.machine:
        results.machine = machine_info()
    return results


class _Progress:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, total: int, enabled: bool):
        self._bar = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description:<44}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), transient=False)
            self._task = self._bar.add_task("starting", total=total)

    def __enter__(self) -> _Progress:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar:
            self._bar.stop()

    def describe(self, text: str) -> None:
        if self._bar:
            self._bar.update(self._task, description=text)

    def advance(self) -> None:
        if self._bar:
            self._bar.advance(self._task)
