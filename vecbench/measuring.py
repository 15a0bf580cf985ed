"""One measurement, where it runs (this process or a worker): warm up, validate, calibrate, time.

The rules this module exists for:

- inputs come from :mod:`vecbench.data` (seeded, cached): every backend gets
  the same arrays and generation is never timed; nor are validation and the
  ``python`` backend's list conversion (:meth:`Kernel.bind`);
- each kernel's first call is its warm-up: JIT compilation (or loading from
  Numba's disk cache) happens there and is stored as ``compile_time_s``,
  never inside a sample;
- the warm-up result is compared with the float64 NumPy reference before any
  timing; a mismatch or an exception marks the record ``failed``;
- ``time.perf_counter_ns``, with the loop count calibrated so one sample lasts
  at least ``min_sample_s``; samples until the median's interval is tight enough.

Both sides of the process boundary use it: :mod:`vecbench.harness` (which schedules,
budgets and runs a sweep) in-process, :mod:`vecbench.worker` in a worker process, with
the same :class:`References` cache. It never imports the harness or matplotlib.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import math
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .contention import Contention, Probe, wait_quiet
from .data import inputs
from .memory import available_bytes, not_measured, unit_elements, unit_name
from .records import NOISY_SPREAD, NOISY_WARNING, Record, Timing
from .registry import Kernel, OpSpec, Size
from .stats import relative_halfwidth, sample_until

__all__ = ["Settings", "Prepared", "References", "prepare", "streamed", "measure", "measure_rounds", "compile_time", "new_record"]


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
    # One extra untimed call per record for its temporary memory (vecbench.memory), made where that call (one
    # call's time x its backend's memory_cost) takes at most this share of budget_s; 0: never.
    memory_share: float = 0.1

    @classmethod
    def quick(cls) -> Settings:
        # A smoke run of everything (eight backends, ten ops) in well under 20 s warm: a looser interval target
        # and fewer samples than a full sweep; the intervals stored say how precise each median is.
        return cls(min_sample_s=0.003, repeats=3, budget_s=0.3, ci_target=0.05, max_samples=6, remeasure=2,
                   rounds=7)


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
    backend = k.backend
    disk = streamed(k, size, dtype)
    args = () if disk else inputs(k.op, size, dtype, seed=seed)
    try:
        if disk:  # inputs larger than memory: read from disk at each call, the reference chunk by chunk
            s = backend.stream(k.op, size, dtype, seed)
            core, core_args, finish, expected = s.core, s.args, _as_is, s.reference()
        else:
            core, core_args, call = k.bind(*args)  # validation, list conversion, out=
            finish = functools.partial(k.finish, call=call)
            if expected is None:
                expected = k.op.reference(*args)
        before = backend.compile_state(k)
        t0 = time.perf_counter_ns()
        raw = core(*core_args)
        first = (time.perf_counter_ns() - t0) * 1e-9
        compiled, from_cache = backend.compiled(k, before, backend.compile_state(k), core_args)
        reason = _check(k, finish(raw), expected, dtype)
        facts = backend.record_facts(k.op.name, core_args)
        rec = dataclasses.replace(rec, facts=facts) if facts else rec
        return Prepared(core, core_args, rec, first, backend.jit, compiled, from_cache, reason,
                        dict(backend.transfer_times()))
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # a broken kernel is reported, the run goes on
        rec = dataclasses.replace(rec, warnings=(traceback.format_exc(limit=-3),))
        return Prepared(None, (), rec, reason=f"{type(exc).__name__}: {exc}".strip())


def streamed(k: Kernel, size: Size, dtype: str) -> bool:
    """Whether ``k`` measures ``size`` on inputs its backend streams from disk (:meth:`Backend.streams`).

    Decided where the measurement runs, with the memory that process has left: the inputs of such a
    size are never made in memory, nor is its reference computed from them.
    """
    return k.backend.streams(k.op, size, dtype, available_bytes())


def _as_is(result: Any) -> Any:
    return result


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
    # After the samples, never inside one: tracemalloc (or a profiler) slows the call it watches.
    memory = _memory(k, p, size, settings, samples) if settings.memory_share > 0 else {}
    timing = p.timing(samples, loops)
    rec = dataclasses.replace(rec, memory=memory) if memory else rec
    notes = []
    if timing.spread > NOISY_SPREAD and len(samples) >= 3:
        notes.append(f"{NOISY_WARNING}: IQR is {timing.spread:.0%} of the median")
    width = relative_halfwidth(samples)
    if settings.ci_target > 0 and width > settings.ci_target:
        notes.append(f"imprecise: the median's 95% interval is +-{width:.1%} after {len(samples)} samples "
                     f"(target +-{settings.ci_target:.0%})")
    return _with_contention(rec.with_timing(timing, *notes), probe.stop())


def _memory(k: Kernel, p: Prepared, size: Size, settings: Settings, samples: Sequence[float]) -> dict[str, Any]:
    """The record's ``memory`` entry: one more call of the validated kernel, measured by its backend.

    Where that call would take more than ``settings.memory_share`` of the time budget (a tenth by
    default; a steady call's median times the backend's ``memory_cost``, what watching the call
    slows it by) it is not made (``reason`` says so); a backend's failure to measure costs the
    figure, never the record.
    """
    op = k.op
    try:
        unit: dict[str, Any] = {"unit": unit_name(size, op.temporary_unit, op.axis_names),
                                "unit_elements": unit_elements(size, op.temporary_unit, op.axis_names)}
    except ValueError as exc:  # an op whose temporary_unit names a key it has not: bytes without the unit
        unit = {"unit": "", "unit_elements": None, "unit_error": str(exc)}
    call_s = float(np.median(samples)) * k.backend.memory_cost
    if call_s > settings.budget_s * settings.memory_share:
        return {**not_measured(f"not measured where the measured call would take over {settings.memory_share:.0%} "
                               f"of the time budget ({settings.budget_s:g} s)"), **unit}
    gc_was = gc.isenabled()
    gc.disable()  # a collection inside the call would free memory that is not the call's
    try:
        entry = k.backend.memory_per_call(k, p.args)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001  the figure is lost, the timing stands
        entry = not_measured(f"the memory call failed: {type(exc).__name__}: {exc}")
    finally:
        if gc_was:
            gc.enable()
    return {**entry, **unit}


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
    note = c.warning() if measured else f"contention not measured ({c.method})"
    return dataclasses.replace(
        rec,
        contention=None if c.fraction is None else round(c.fraction, 4),
        cpu_pressure=None if c.cpu_pressure is None else round(c.cpu_pressure, 4),
        loadavg=c.loadavg,
        contended=c.contended if measured else None,
        warnings=(*rec.warnings, note) if note else rec.warnings,
    )


class References:
    """The float64 reference of each (op, size, dtype, seed), computed once; one op's references kept at a time.

    The one cache of references, in-process and in a worker: every backend of an op at a size is
    validated against the same result, and memory holds one op's references at most.
    """

    def __init__(self) -> None:
        self._refs: dict[tuple[Any, ...], Any] = {}

    def get(self, op: OpSpec, size: Size, dtype: str, seed: int, stage: list[str] | None = None) -> Any:
        """The reference for these inputs; ``stage[0]`` says what is being done (for a worker's error message)."""
        key = (op.name, tuple(sorted(size.items())), dtype, seed)
        if key not in self._refs:
            for old in [r for r in self._refs if r[0] != op.name]:
                del self._refs[old]
            if stage is not None:
                stage[0] = "generating the inputs (make_inputs)"
            args = inputs(op, size, dtype, seed=seed)
            if stage is not None:
                stage[0] = "computing the reference"
            self._refs[key] = op.reference(*args)
        return self._refs[key]

    def expected(self, k: Kernel, size: Size, dtype: str, seed: int, stage: list[str] | None = None) -> Any:
        """:meth:`get` for kernel ``k``; None where ``k`` streams its inputs (its reference is made from disk)."""
        return None if streamed(k, size, dtype) else self.get(k.op, size, dtype, seed, stage)

    def clear(self) -> None:
        self._refs.clear()
