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

import contextlib
import dataclasses
import gc
import math
import os
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import __version__
from .contention import Contention, Probe, wait_quiet
from .data import inputs
from .journal import Journal
from .machine import machine_info, thread_limit
from .registry import Kernel, OpSpec, Size, kernel, kernels, spec
from .results import NOISY_SPREAD, Record, Results, Timing
from .stats import relative_halfwidth, sample_until

__all__ = ["Settings", "Prepared", "prepare", "run", "measure", "measure_rounds", "resolve_sizes", "sweep_of", "budget_reason",
           "static_estimate_s", "compile_time", "new_record"]


@dataclass(frozen=True)
class Settings:
    """How a run measures. Defaults suit a full sweep; ``quick`` ones a smoke run."""

    min_sample_s: float = 0.01
    repeats: int = 7  # the minimum; sampling goes on until the median's interval is within ci_target
    budget_s: float = 5.0
    seed: int = 0
    ci_target: float = 0.02  # relative half-width of the median's 95% interval; 0: exactly `repeats`
    max_samples: int = 100
    wait_quiet_s: float = 0.0  # wait up to this long for a quiet machine before each kernel
    remeasure: int = 3  # measurements at most of a contended or noisy record, after the sweep (vecbench.remeasure)
    rounds: int = 15  # interleaved rounds per op and size for paired speedups (vecbench.rounds); 0: none

    @classmethod
    def quick(cls) -> Settings:
        # A smoke run of everything (eight backends, ten ops) in well under 20 s warm: a looser interval target
        # and fewer samples than a full sweep; the intervals stored say how precise each median is.
        return cls(min_sample_s=0.003, repeats=3, budget_s=0.3, ci_target=0.05, max_samples=6, remeasure=2,
                   rounds=7)


SizesArg = str | Sequence[int | float | Size]


def resolve_sizes(
    op: OpSpec,
    preset: str | None = None,
    numbers: Sequence[float] | None = None,
    sizes: Sequence[Size] | None = None,
) -> list[dict[str, int]]:
    """The sweep of ``op``: exactly one of a preset name, numbers, or size dicts.

    Parameters
    ----------
    preset : str
        ``"quick"``, ``"default"``, ``"large"`` (the op's own sweeps).
    numbers : sequence of numbers
        Each mapped to a size by the op (``1e6`` is ``n`` for ``dot``, ``m``
        for the logistic-regression ops); must be whole and >= 1.
    sizes : sequence of mappings
        Complete sizes, checked against the keys the op takes.
    """
    given = [x is not None for x in (preset, numbers, sizes)]
    if sum(given) != 1:
        raise TypeError(f"resolve_sizes({op.name}): give exactly one of preset, numbers, sizes")
    if preset is not None:
        if preset not in op.sizes:
            raise ValueError(f"{op.name}: sizes must be one of {sorted(op.sizes)} or a list; got {preset!r}")
        return [dict(s) for s in op.sizes[preset]]
    if numbers is not None:
        out = []
        for x in numbers:
            if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
                raise TypeError(f"{op.name}: a size must be a number; got {x!r}")
            if not math.isfinite(x) or x < 1 or x != int(x):
                raise ValueError(f"{op.name}: a size must be a whole number >= 1; got {x!r}")
            out.append(op.size_from(int(x)))
        return out
    return [op.check_size(s) for s in sizes or ()]


def sweep_of(op: OpSpec, sizes: SizesArg) -> list[dict[str, int]]:
    """:func:`resolve_sizes` for :func:`run`'s ``sizes``: a preset name, or a list of numbers or size dicts."""
    if isinstance(sizes, str):
        return resolve_sizes(op, preset=sizes)
    if isinstance(sizes, Mapping):
        raise TypeError(f"{op.name}: sizes must be a preset name or a list of numbers or size dicts; got a "
                        "single mapping (put one size in a list; per-op sweeps go in sizes_by_op)")
    dicts = [x for x in sizes if isinstance(x, Mapping)]
    numbers = [x for x in sizes if not isinstance(x, Mapping)]
    if dicts and numbers:
        raise TypeError(f"{op.name}: sizes mixes numbers and size dicts")
    return resolve_sizes(op, sizes=dicts) if dicts else resolve_sizes(op, numbers=numbers)


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
    if isinstance(expected, tuple) and not (isinstance(result, tuple) and len(result) == len(expected)):
        got_n = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        return f"wrong result: expected a tuple of {len(expected)} results, got {got_n}"
    pairs = list(zip(result, expected)) if isinstance(expected, tuple) else [(result, expected)]
    for got, want in pairs:
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            return f"wrong result shape {got.shape}, expected {want.shape}"
        if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
            with np.errstate(all="ignore"):
                diff = np.abs(got - want)
                err = np.nanmax(diff / (atol + rtol * np.abs(want)))
                rel = np.nanmax(diff / np.abs(want)) if np.any(want != 0) else np.inf
            return (f"result differs from {k.op.reference_label} by {err:.3g}x the tolerance: max abs error "
                    f"{np.nanmax(diff):.3g}, max rel error {rel:.3g} (rtol={rtol:g}, atol={atol:g})")
    return ""


@dataclass(frozen=True)
class Prepared:
    """A kernel warmed up on validated inputs, ready to be timed (or ``reason`` why not).

    ``record`` is the record without a timing; ``first_call_s`` the warm-up
    call; ``compiled``/``from_cache`` what the backend says that call did.
    """

    core: Callable[..., Any] | None
    args: tuple[Any, ...]
    record: Record
    first_call_s: float | None = None
    jit: bool = False
    compiled: bool = False
    from_cache: bool | None = None
    reason: str = ""
    transfers: Mapping[str, float] = dataclasses.field(default_factory=dict)  # Backend.transfer_times()

    def timing(self, samples_s: Sequence[float], loops: int, min_s: float | None = None) -> Timing:
        """The :class:`Timing` of this kernel from its samples (``min_s`` overrides the samples' min)."""
        t = Timing.from_samples(samples_s, loops, first_call_s=self.first_call_s, from_cache=self.from_cache,
                                transfer_in_s=self.transfers.get("in"), transfer_out_s=self.transfers.get("out"))
        if min_s is not None:
            t = dataclasses.replace(t, min_s=min_s)
        compile_s = compile_time(self, t.min_s)
        if self.transfers.get("startup"):  # a device context created in prepare: start-up, kept with compile time
            compile_s = (compile_s or 0.0) + self.transfers["startup"]
        return dataclasses.replace(t, compile_time_s=compile_s)


def new_record(k: Kernel, size: Size, dtype: str, threads: int, **fields: Any) -> Record:
    """A record for ``k`` at ``size`` with its byte and flop counts filled in."""
    item = np.dtype(dtype).itemsize
    return Record(k.op.name, k.backend.name, dict(size), k.op.label(size), dtype, threads,
                  bytes=int(k.op.nbytes(size, item)), flops=int(k.op.flops(size)), **fields)


def prepare(k: Kernel, size: Size, dtype: str = "float64", threads: int = 1, seed: int = 0,
            expected: Any = None) -> Prepared:
    """Untimed part of a measurement: inputs, validation, warm-up call, check vs the reference.

    The warm-up is the first call: JIT compilation (or a load from a disk
    cache, or a framework's trace) happens there, so no sample ever contains
    it; the backend says whether it compiled. Exceptions from ``k`` become
    ``reason`` (the kernel is not timed).
    """
    rec = new_record(k, size, dtype, threads, status="failed", reason="not measured")
    args = inputs(k.op, size, dtype, seed=seed)
    backend = k.backend
    try:
        core, core_args, call = k.bind(*args)  # validation, list conversion, out=
        if expected is None:
            expected = k.op.reference(*args)
        before = backend.compile_state(k)
        t0 = time.perf_counter_ns()
        raw = core(*core_args)
        first = (time.perf_counter_ns() - t0) * 1e-9
        compiled, from_cache = backend.compiled(k, before, backend.compile_state(k), core_args)
        reason = _check(k, k.finish(raw, call), expected, dtype)
        facts = backend.record_facts(k.op.name, core_args)
        rec = dataclasses.replace(rec, facts=facts) if facts else rec
        return Prepared(core, core_args, rec, first, backend.jit, compiled, from_cache, reason,
                        dict(backend.transfer_times()))
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # a broken kernel is reported, the run goes on
        rec = dataclasses.replace(rec, warnings=(traceback.format_exc(limit=-3),))
        return Prepared(None, (), rec, reason=f"{type(exc).__name__}: {exc}".strip())


def compile_time(p: Prepared, steady_s: float) -> float | None:
    """``compile_time_s``: the first call's excess over a steady call.

    0 for a JIT kernel already compiled earlier in this process; None for
    backends that do not compile.
    """
    if not p.jit:
        return None
    if not p.compiled or p.first_call_s is None:
        return 0.0
    return max(0.0, p.first_call_s - steady_s)


def measure(
    k: Kernel,
    size: Size,
    dtype: str = "float64",
    settings: Settings = Settings(),
    threads: int = 1,
    expected: Any = None,
) -> Record:
    """Validate and time one kernel at one size; never raises for a kernel's fault.

    The returned record is complete: samples and their statistics, the 95%
    interval of the median (``ci_low_s``/``ci_high_s``), and how busy the rest
    of the machine was while it was timed (``contention``, ``cpu_pressure``,
    ``loadavg``, ``contended``; see :mod:`vecbench.contention`).

    Sampling is adaptive (:func:`vecbench.stats.sample_until`): at least
    ``settings.repeats`` samples, then more until the interval's half-width is
    within ``settings.ci_target`` of the median, ``settings.max_samples`` are
    taken, or half of ``settings.budget_s`` has been spent on samples.
    """
    if settings.wait_quiet_s > 0:
        wait_quiet(settings.wait_quiet_s)
    probe = Probe().start()  # the whole measurement: the warm-up is where a stall would mislead the budget
    p = prepare(k, size, dtype, threads, settings.seed, expected)
    rec = p.record
    if p.reason or p.core is None:
        return _with_contention(rec.with_status("failed", p.reason), probe.stop())
    gc_was = gc.isenabled()
    gc.disable()  # as timeit does: no collector pauses inside a sample
    try:
        loops = _calibrate(p.core, p.args, settings.min_sample_s, p.first_call_s or 0.0)
        core, args = p.core, p.args
        samples = sample_until(lambda: _time(core, args, loops) / loops, settings.repeats, settings.ci_target,
                               max(settings.max_samples, settings.repeats), settings.budget_s / 2)
    except Exception as exc:
        return _with_contention(rec.with_status("failed", f"{type(exc).__name__} while timing: {exc}"), probe.stop())
    finally:
        if gc_was:
            gc.enable()
    timing = p.timing(samples, loops)
    notes = []
    if timing.spread > NOISY_SPREAD and len(samples) >= 3:
        notes.append(f"noisy: IQR is {timing.spread:.0%} of the median")
    width = relative_halfwidth(samples)
    if settings.ci_target > 0 and width > settings.ci_target:
        notes.append(f"imprecise: the median's 95% interval is +-{width:.1%} after {len(samples)} samples "
                     f"(target +-{settings.ci_target:.0%})")
    return _with_contention(rec.with_timing(timing, *notes), probe.stop())


def measure_rounds(group: Any, settings: Settings = Settings(), threads: int = 1,
                   expected: Any = None) -> dict[str, Any] | None:
    """Time the backends of one :class:`vecbench.rounds.Group` in interleaved rounds; its ``paired`` entry.

    Each backend is prepared again (inputs, validation, warm-up: already
    compiled when the sweep ran in this process) and sampled with the loops
    its sweep calibrated; a backend that fails here is left out of the
    rounds (its record stands). None when fewer than two backends remain.
    """
    from . import registry
    from .rounds import interleave

    probe = Probe().start()
    names, samplers = [], []
    if expected is None:  # one reference for every backend of the group
        op = registry.spec(group.op)
        expected = op.reference(*inputs(op, group.size, group.dtype, seed=settings.seed))
    for name, loops in zip(group.backends, group.loops):
        p = prepare(registry.kernel(group.op, name), group.size, group.dtype, threads, settings.seed, expected)
        if p.reason or p.core is None:
            continue
        names.append(name)
        samplers.append(lambda core=p.core, args=p.args, loops=loops: _time(core, args, loops) / loops)
    if len(names) < 2:
        return None
    gc_was = gc.isenabled()
    gc.disable()
    try:
        rows = interleave(samplers, group.rounds, group.time_limit_s)
    finally:
        if gc_was:
            gc.enable()
    c = probe.stop()
    return group.entry(names, rows, None if c.fraction is None else round(c.fraction, 4), c.contended)


def _with_contention(rec: Record, c: Contention) -> Record:
    """``rec`` with how busy the machine was while it was measured (and a warning when it was)."""
    measured = c.fraction is not None or c.cpu_pressure is not None
    note = c.warning() if c.contended else "" if measured else f"contention not measured ({c.method})"
    return dataclasses.replace(
        rec,
        contention=None if c.fraction is None else round(c.fraction, 4),
        cpu_pressure=None if c.cpu_pressure is None else round(c.cpu_pressure, 4),
        loadavg=c.loadavg,
        contended=c.contended if measured else None,
        warnings=(*rec.warnings, note) if note else rec.warnings,
    )


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


def static_estimate_s(k: Kernel, size: Size) -> float | None:
    """A pessimistic guess of one call's time before anything was measured (None: no guess).

    Backends that can be very slow declare ``s_per_flop`` (the pure-Python
    loops do); the pytest-benchmark suite uses this when it is collected.
    """
    per_flop = k.backend.s_per_flop
    return k.op.flops(size) * per_flop if per_flop else None


def budget_reason(predicted_s: float, calls: int, budget_s: float, basis: str) -> str:
    """The one time-budget rule: a size whose ``calls`` predicted calls exceed ``budget_s`` is skipped.

    Returns the reason ("" when within budget). ``basis`` says where the
    prediction came from ("from 1e5", "static estimate").
    """
    if predicted_s * calls > budget_s:
        return (f"time budget: ~{predicted_s:.3g} s per call predicted ({basis}); "
                f"{calls} calls would exceed the {budget_s:g} s budget per measurement")
    return ""


def _features(op: OpSpec, size: Size) -> tuple[float, float]:
    """What a call's time is a linear function of: (fixed-cost term, work term), or for a sweep
    over an axis that cuts the work into steps (a batch size), (steps, elements): an epoch costs
    steps x cost per step plus elements x cost per element, so batch 8 is not predicted to cost
    what batch 1 did."""
    for axis in op.axes:
        if axis.name in size and axis.steps is not None:
            elements = math.prod(v for key, v in size.items() if key not in op.axis_names)
            return float(axis.steps(size)), float(elements)
    # Work: the op's flops or bytes; for a computation that counts neither (yours, without flops=/nbytes=),
    # its element count, so that the budget still sees a loop's time grow with n.
    return 1.0, float(max(op.flops(size), op.nbytes(size, 8)) or math.prod(size.values()) or 1)


def _cut_into_steps(op: OpSpec, size: Size) -> bool:
    return any(a.name in size and a.steps is not None for a in op.axes)


def _fit(points: Sequence[tuple[tuple[float, float], float]]) -> tuple[float, float]:
    """Non-negative least squares of ``t = c0 f0 + c1 f1`` over ``((f0, f1), t)`` points.

    One point, or a fit with a negative coefficient, falls back to the better
    single-term fit through the origin, preferring the work term on a tie
    (the pessimistic choice when extrapolating to larger sizes).
    """
    A = np.array([f for f, _ in points], dtype=np.float64)
    t = np.array([v for _, v in points], dtype=np.float64)
    if len(points) >= 2 and np.linalg.matrix_rank(A) == 2:
        coef = np.linalg.lstsq(A, t, rcond=None)[0]
        if (coef >= 0).all():
            return float(coef[0]), float(coef[1])
    best: tuple[float, tuple[float, float]] | None = None
    # Residuals within rounding of each other are a tie (one point fits both terms exactly, up to
    # a few ulps that can fall either way): a relative test on the residuals alone would pick by chance.
    tie = 1e-12 * float(t @ t)
    for j in (1, 0):
        c = float(A[:, j] @ t / (A[:, j] @ A[:, j])) if (A[:, j] ** 2).sum() else 0.0
        resid = float(((A[:, j] * c - t) ** 2).sum())
        if best is None or resid < best[0] - tie:
            best = (resid, (c, 0.0) if j == 0 else (0.0, c))
    assert best is not None
    return best[1]


def _trusted(history: Sequence[Record]) -> tuple[list[Record], str]:
    """The points to predict from: ok, neither contended nor noisy; else all ok ones by their minimum."""
    ok = [r for r in history if r.ok and (r.median_s or r.first_call_s)]
    clean = [r for r in ok if not (r.is_contended or r.noisy)]
    return (clean, "median") if clean else (ok, "min")


def _predicted_s(op: OpSpec, history: Record | Sequence[Record], size: Size, cap_s: float | None = None) -> float:
    """Time one call at ``size`` will take, from a fit over the sizes measured so far.

    ``t = fixed + per_unit x work`` (work: the op's flops or bytes), or for a
    sweep over steps ``t = per_step x steps + per_element x elements``; points
    measured while the machine was contended or noisy are left out (a stalled
    small size must not starve the larger ones); if every point is, their
    minimum samples (the least disturbed) are used, and the prediction is
    capped at ``cap_s`` (the backend's static estimate, if it has one).
    """
    recs, stat = _trusted([history] if isinstance(history, Record) else list(history))
    if not recs:
        return 0.0
    points = [(_features(op, r.size), (r.min_s if stat == "min" else r.median_s) or r.first_call_s or 0.0)
              for r in recs]
    c0, c1 = _fit(points)
    f0, f1 = _features(op, size)
    predicted = c0 * f0 + c1 * f1
    if stat == "min" and cap_s is not None:  # a stall cannot be told from work
        predicted = min(predicted, cap_s)
    return predicted


# Said in a skip reason when only contended or noisy sizes were there to predict from: compare
# counts such a skip as inconclusive (the machine was busy), not as a lost kernel.
UNTRUSTED_PREDICTION = "from contended or noisy points only"


def _budget_calls(op: OpSpec, size: Size, settings: Settings) -> int:
    """Calls the time budget is counted over: a sweep over steps (an epoch) is budgeted per call,
    any other size over warm-up, calibration and the minimum samples."""
    return 1 if _cut_into_steps(op, size) else settings.repeats + 2


def _skip_reason(op: OpSpec, size: Size, dtype: str, last: Record | Sequence[Record] | None,
                 settings: Settings, cap_s: float | None = None) -> str:
    """Why ``size`` is not measured (memory, an earlier failure, the time budget), or "".

    ``last`` is the kernel's records so far in this sweep (or just the last one).
    """
    too_big = _too_big(op, size, dtype)
    history = [] if last is None else [last] if isinstance(last, Record) else list(last)
    if too_big or not history:
        return too_big
    if not history[-1].ok:
        return f"a smaller size {history[-1].status}"
    used, stat = _trusted(history)
    busy = f", {UNTRUSTED_PREDICTION}" if stat == "min" else ""
    return budget_reason(_predicted_s(op, history, size, cap_s), _budget_calls(op, size, settings),
                         settings.budget_s, f"from {', '.join(r.label for r in used)}{busy}")


# ---------------------------------------------------------------- the sweep
DTYPES = ("float64", "float32")


def _sizes_json(sizes: SizesArg) -> Any:
    """``sizes`` as plain JSON (for the results' settings and a journal's request)."""
    if isinstance(sizes, str):
        return sizes
    if isinstance(sizes, Mapping):  # refused by run(); kept readable in the error's context
        return {str(k): v for k, v in sizes.items()}
    return [dict(s) if isinstance(s, Mapping) else s if isinstance(s, (int, float)) else float(s) for s in sizes]


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

    def rounds(self, group: Any, settings: Settings, nthreads: int | None, threads: int | None) -> dict[str, Any] | None:
        return measure_rounds(group, settings, nthreads or 1)

    def machine_info(self) -> dict[str, Any]:
        return machine_info()


class _Isolated:
    """Measures in a worker process (:mod:`vecbench.worker`); a kernel's crash or hang costs that kernel only."""

    def __init__(self, timeout_s: float, worker: Any = None):
        from .worker import Worker

        self.timeout_s = timeout_s
        self.owned = worker is None
        self.worker = Worker() if worker is None else worker
        self.local: _InProcess | None = None

    def __enter__(self) -> _Isolated:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            self.worker.close()

    def machine_info(self) -> dict[str, Any]:
        return self.worker.machine_info() or machine_info()

    def measure(self, k: Kernel, size: Size, dt: str, settings: Settings, nthreads: int | None,
                threads: int | None) -> Record:
        from .worker import Task, kernel_modules

        payload = k.op.ship(k.backend.name) if k.op.ship is not None else b""
        if payload is None:  # an op defined at run time that cannot be sent to a worker: measured here
            if self.local is None:
                self.local = _InProcess(settings.seed)
            return self.local.measure(k, size, dt, settings, nthreads, threads)
        task = Task(k.op.name, k.backend.name, dict(size), dt, threads, settings, k.module, kernel_modules(k),
                    payload)
        try:
            rec, reason, detail = self.worker.measure(task, self.timeout_s)
        except BaseException:
            self.worker.kill()  # Ctrl-C: the worker ignores SIGINT, so stop it here
            raise
        if rec is not None:
            return rec
        return new_record(k, size, dt, nthreads or 1, status="failed", reason=reason,
                          warnings=[detail] if detail else [])

    def rounds(self, group: Any, settings: Settings, nthreads: int | None, threads: int | None) -> dict[str, Any] | None:
        from .worker import RoundsTask, kernel_modules

        mods = tuple(dict.fromkeys(m for b in group.backends for m in kernel_modules(kernel(group.op, b))))
        try:
            entry, _, _ = self.worker.measure(RoundsTask(group, threads, settings, mods), self.timeout_s)
        except BaseException:
            self.worker.kill()
            raise
        return entry  # None when the worker failed: the pairing is lost, every record stands


def _after_sweep(results: Results, measurer: Any, settings: Settings, nthreads: int | None, threads: int | None,
                 journal: Journal | None, bar: _Progress, sweep_s: float) -> None:
    """Re-measure what contention spoiled (:mod:`vecbench.remeasure`), then time each op and size in
    interleaved rounds (:mod:`vecbench.rounds`); each phase costs at most half the sweep's time."""
    from . import remeasure, rounds

    budget = remeasure.budget_for(sweep_s)
    if settings.remeasure > 1 and any(remeasure.spoiled(r) for r in results.records):
        def again(r: Record) -> Record:
            bar.describe(f"re-measuring {r.op} {r.backend} {r.label} {r.dtype}")
            return measurer.measure(kernel(r.op, r.backend), r.size, r.dtype, settings, nthreads, threads)

        results.records = remeasure.remeasure(results.records, again, settings.remeasure, budget,
                                              on_record=journal.add_record if journal is not None else None)
    start = time.monotonic()
    for group in rounds.plan(results.records, settings.rounds, settings.budget_s):
        if time.monotonic() - start > budget:
            break
        bar.describe(f"interleaved rounds {group.op} {group.label} {group.dtype}")
        entry = measurer.rounds(group, settings, nthreads, threads)
        if entry is not None:
            results.paired.append(entry)


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
    sizes_by_op: Mapping[str, SizesArg] | None = None,
    isolate: bool = True,
    timeout: float | None = None,
    journal: Journal | None = None,
    worker: Any = None,
    **backend_options: Any,
) -> Results:
    """Measure every selected (op, backend) over a size sweep.

    Parameters
    ----------
    ops, backends : sequence of str, optional
        Selection (default: everything registered). Unknown names raise ``KeyError``.
    sizes : str or sequence
        ``"quick"``, ``"default"``, ``"large"``, numbers mapped per op
        (``1e6`` is ``n`` for ``dot``, ``m`` for the logreg ops...), or a
        list of complete size dicts (``[{"n_x": 100, "m": 1000}]``).
    sizes_by_op : mapping, optional
        ``{op name: sweep}`` overriding ``sizes`` for those ops.
    dtypes : sequence of str
        ``float64`` and/or ``float32``.
    threads : int, optional
        Threads of every backend's pools, 1 to the number of cores (default: all cores).
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
    worker : vecbench.worker.Worker, optional
        Measure in this worker (left open afterwards, so that successive
        runs reuse its imports and compiles) instead of a new one.
    **backend_options
        ``<backend>_<option>=value`` for the options a backend declares
        (``Backend.options``), e.g. a cluster's scheduler address; handed to the
        measuring process as ``VECBENCH_<BACKEND>_<OPTION>`` for this run only.

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
    env = _option_env(backend_options)
    selected = [k for k in kernels(ops, backends)]
    unavailable = [k for k in selected if not k.available]
    selected = [k for k in selected if k.available]
    with _environ(env):
        for b in {id(k.backend): k.backend for k in selected}.values():
            b.preflight()  # e.g. an unreachable scheduler: one line, before anything is measured
        return _run(selected, unavailable, ops, backends, sizes, dtypes, threads, settings, bandwidth, progress,
                    on_record, sizes_by_op, isolate, timeout_s, journal, worker)


def _option_env(options: Mapping[str, Any]) -> dict[str, str]:
    """``{"<backend>_<option>": value}`` as environment variables; ``TypeError``/``ValueError`` naming what is known."""
    from .registry import iter_backends

    known = {f"{b.name}_{o}": (b, o) for b in iter_backends() for o in b.options}
    env = {}
    for key, value in options.items():
        if key not in known:
            raise TypeError(f"run: unexpected keyword argument {key!r}; backend options: {sorted(known)}")
        if value is None:
            continue
        b, option = known[key]
        try:
            env[b.option_env(option)] = b.check_option(option, value)
        except ValueError as exc:
            raise ValueError(f"run: {key}: {exc}") from None
    return env


@contextlib.contextmanager
def _environ(env: Mapping[str, str]) -> Iterator[None]:
    """``env`` set for the block (the worker process inherits it), then restored."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run(selected: list[Kernel], unavailable: list[Kernel], ops: Sequence[str] | None,
         backends: Sequence[str] | None, sizes: SizesArg, dtypes: list[str], threads: int | None,
         settings: Settings, bandwidth: bool, progress: bool, on_record: Callable[[Record], None] | None,
         sizes_by_op: Mapping[str, SizesArg] | None, isolate: bool, timeout_s: float,
         journal: Journal | None, worker: Any) -> Results:
    by_op = dict(sizes_by_op or {})
    for name in by_op:
        spec(name)  # a KeyError naming the known ops
    plan = [(k, sweep_of(k.op, by_op.get(k.op.name, sizes)), dt) for dt in dtypes for k in selected]
    results = Results(vecbench=__version__, settings={
        "sizes": _sizes_json(sizes),
        **({"sizes_by_op": {o: _sizes_json(v) for o, v in by_op.items()}} if by_op else {}),
        "dtypes": dtypes, "threads": threads, **dataclasses.asdict(settings)})
    done: dict[tuple[str, str, str, str], Record] = {}
    if journal is not None:
        request = {"ops": list(ops) if ops is not None else None,
                   "backends": list(backends) if backends is not None else None,
                   "sizes": _sizes_json(sizes),
                   "sizes_by_op": {o: _sizes_json(v) for o, v in by_op.items()} if by_op else None,
                   "dtypes": dtypes, "threads": threads,
                   "settings": dataclasses.asdict(settings), "bandwidth": bandwidth}
        journal.begin(request, results.created, __version__)
        results.created = journal.created or results.created
        done = {(r.op, r.backend, r.label, r.dtype): r for r in journal.records}
    for k in unavailable:
        results.records.append(Record(k.op.name, k.backend.name, {}, "-", dtypes[0], 0, status="skipped",
                                      reason=k.backend.install_hint))
    bar = _Progress(sum(len(s) for _, s, _ in plan), progress)
    measurer: Any = _Isolated(timeout_s, worker) if isolate else _InProcess(settings.seed)
    try:
        with thread_limit(threads, {k.backend.name for k, _, _ in plan}) as nthreads, bar, measurer:
            if bandwidth and journal is not None and journal.bandwidth_gbps:
                results.bandwidth_gbps = dict(journal.bandwidth_gbps)
            elif bandwidth:
                bar.describe("memory bandwidth probe")
                from .bandwidth import measure_bandwidth

                results.bandwidth_gbps = measure_bandwidth()
                if journal is not None:
                    journal.add_bandwidth(results.bandwidth_gbps)
            if bandwidth:  # the roofline's compute roof, beside the memory one (cheap: re-measured on --resume)
                bar.describe("compute peak probe (dgemm)")
                from .bandwidth import measure_peak_gflops

                results.peak_gflops = measure_peak_gflops()
            swept = time.monotonic()
            for k, sweep, dt in plan:
                last: list[Record] = []  # this kernel's measured sizes: the budget predictor's points
                for size in sweep:
                    bar.describe(f"{k.op.name} {k.backend.name} {k.op.label(size)} {dt}")
                    rec = done.get((k.op.name, k.backend.name, k.op.label(size), dt))
                    if rec is not None:  # measured before the run was interrupted
                        if rec.status != "skipped":
                            last.append(rec)
                    elif reason := (k.backend.skip_reason(k.op.name, size)
                                    or _skip_reason(k.op, size, dt, last, settings, static_estimate_s(k, size))):
                        rec = new_record(k, size, dt, nthreads, status="skipped", reason=reason)
                    else:
                        rec = measurer.measure(k, size, dt, settings, nthreads, threads)
                        last.append(rec)
                    if journal is not None and (k.op.name, k.backend.name, rec.label, dt) not in done:
                        journal.add_record(rec)
                    results.records.append(rec)
                    if on_record:
                        on_record(rec)
                    bar.advance()
            _after_sweep(results, measurer, settings, nthreads, threads, journal, bar, time.monotonic() - swept)
            # After the kernels ran, where they ran: some facts (a threading layer) are known only then.
            results.machine = measurer.machine_info()
    except KeyboardInterrupt:
        results.interrupted = True
    finally:
        for b in {id(k.backend): k.backend for k in selected}.values():
            b.close()  # what a backend started in this process (a cluster, with isolate=False)
    if not results.machine:
        results.machine = machine_info()
    return results


def _jsonable_sizes(sizes: SizesArg) -> Any:
    if isinstance(sizes, str):
        return sizes
    return [dict(x) if isinstance(x, Mapping) else str(x) for x in sizes]


class _Progress:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, total: int, enabled: bool):
        self._bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            # stderr: stdout stays for what the command prints (tables, file names), pipeable.
            self._bar = Progress(TextColumn("{task.description:<44}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=False)
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
