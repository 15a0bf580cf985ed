"""Run a sweep: sizes, order, time budget, the journal, re-measuring and rounds; one kernel at a time.

Each measurement itself (warm-up, validation against the float64 reference, calibration,
samples) is :func:`vecbench.measuring.measure`, run in a worker process (:mod:`vecbench.worker`)
or, with ``isolate=False``, here; its names are re-exported from this module. What this
module adds:

- a time budget per measurement: a size whose predicted cost (a least-squares fit over the
  sizes measured so far, times the calls a measurement makes) would exceed it is ``skipped``
  with the reason (pure Python at n = 1e8), never silently; so are sizes whose inputs would
  not fit in memory;
- one failing kernel does not stop a run; each finished record goes to the journal.

The harness never imports matplotlib.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from . import __version__
from .backends.base import Backend, inputs_fit
from .journal import Journal
from .machine import machine_info, thread_limit
from .measuring import (  # noqa: F401  (re-exported: harness.measure & co. are what callers and tests name)
    Prepared,
    References,
    Settings,
    compile_time,
    measure,
    measure_rounds,
    new_record,
    prepare,
)
from .memory import available_bytes
from .records import UNAVAILABLE_LABEL, UNTRUSTED_PREDICTION
from .registry import Kernel, OpSpec, Size, kernel, spec
from .registry import selected as registry_selected
from .results import Record, Results

__all__ = ["Settings", "Prepared", "prepare", "run", "measure", "measure_rounds", "resolve_sizes", "sweep_of", "budget_reason",
           "static_estimate_s", "compile_time", "new_record"]


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


def _available_memory() -> int:
    return available_bytes()  # free memory, capped by an address-space limit (vecbench.memory)


def _too_big(op: OpSpec, size: Size, dtype: str, backend: Backend | None = None) -> str:
    """The "would not fit in memory" rule, as ``backend`` states it (:meth:`Backend.fits`: a backend
    streaming its inputs from disk holds chunks only); without one, the default rule."""
    fits = backend.fits if backend is not None else inputs_fit
    return fits(op, size, dtype, _available_memory())


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


def _budget_calls(op: OpSpec, size: Size, settings: Settings) -> int:
    """Calls the time budget is counted over: a sweep over steps (an epoch) is budgeted per call,
    any other size over warm-up, calibration and the minimum samples."""
    return 1 if _cut_into_steps(op, size) else settings.repeats + 2


def _skip_reason(op: OpSpec, size: Size, dtype: str, last: Record | Sequence[Record] | None,
                 settings: Settings, cap_s: float | None = None, backend: Backend | None = None) -> str:
    """Why ``size`` is not measured (memory, an earlier failure, the time budget), or "".

    ``last`` is the kernel's records so far in this sweep (or just the last one); ``backend``
    the one measuring (its memory rule: :meth:`Backend.fits`).
    """
    too_big = _too_big(op, size, dtype, backend)
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

    def __init__(self) -> None:
        self.refs = References()

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.refs.clear()

    def measure(self, k: Kernel, size: Size, dt: str, settings: Settings, nthreads: int | None,
                threads: int | None) -> Record:
        return measure(k, size, dt, settings, nthreads or 1, self.refs.expected(k, size, dt, settings.seed))

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
                self.local = _InProcess()
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


class _PhaseClock:
    """Wall seconds per phase of a run, added into ``phases`` (``Results.phases_s``): where a run's time goes."""

    def __init__(self, phases: dict[str, float]):
        self._phases = phases
        self._last = time.monotonic()

    def lap(self, phase: str) -> None:
        now = time.monotonic()
        self._phases[phase] = self._phases.get(phase, 0.0) + (now - self._last)
        self._last = now


def _after_sweep(results: Results, measurer: Any, settings: Settings, nthreads: int | None, threads: int | None,
                 journal: Journal | None, bar: _Progress, sweep_s: float, clock: _PhaseClock) -> None:
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
        clock.lap("re-measuring contended or noisy kernels")
    start = time.monotonic()
    for group in rounds.plan(results.records, settings.rounds, settings.budget_s):
        if time.monotonic() - start > budget:
            break
        bar.describe(f"interleaved rounds {group.op} {group.label} {group.dtype}")
        entry = measurer.rounds(group, settings, nthreads, threads)
        if entry is not None:
            results.paired.append(entry)
    clock.lap("interleaved rounds")


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
    output: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    **backend_options: Any,
) -> Results:
    """Measure every selected (op, backend) over a size sweep.

    Parameters
    ----------
    ops, backends : sequence of str, optional
        Selection (default: everything registered, but the opt-in backends, e.g. ``torch_compile``,
        which run only when named). Unknown names raise ``KeyError``.
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
    output : str or path, optional
        Write the results to this JSON file, through the run path ``vecbench run``
        takes (:mod:`vecbench.orchestrate`): checked before any work, each finished
        record journaled to ``<output>.journal.jsonl``, the file written atomically
        at the end and the journal then removed (kept when interrupted). Without
        it (and ``resume``) the results stay in memory only.
    resume : str or path, optional
        Continue the interrupted run whose results file (or journal) this is, with
        the same arguments: what its journal holds is kept, only the rest measured,
        and the file written as with ``output``.
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
    if output is not None or resume is not None:
        if journal is not None:
            raise ValueError("run: give output= (or resume=) or journal=, not both (output= keeps its own journal)")
        from .orchestrate import measure_into, open_output, save

        out, own = open_output(output, resume, again="vb.run(..., resume='{out}')", names=("run: output", "resume"))
        results = measure_into(own, lambda j: run(
            ops=ops, backends=backends, sizes=sizes, dtypes=dtypes, threads=threads, settings=settings,
            bandwidth=bandwidth, progress=progress, on_record=on_record, sizes_by_op=sizes_by_op, isolate=isolate,
            timeout=timeout, journal=j, worker=worker, **backend_options))
        save(results, out, own)
        return results
    from .worker import default_timeout

    settings = settings or Settings()
    dtypes = list(dtypes)
    _check_run_args(dtypes, threads)
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"run: timeout must be a positive number of seconds; got {timeout!r}")
    timeout_s = timeout if timeout is not None else default_timeout(settings.budget_s)
    env = _option_env(backend_options)
    selected = registry_selected(ops, backends)  # a run that names no backend leaves out the opt-in ones
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
        results.records.append(Record(k.op.name, k.backend.name, {}, UNAVAILABLE_LABEL, dtypes[0], 0, status="skipped",
                                      reason=k.backend.install_hint))
    bar = _Progress(sum(len(s) for _, s, _ in plan), progress)
    measurer: Any = _Isolated(timeout_s, worker) if isolate else _InProcess()
    clock = _PhaseClock(results.phases_s)
    try:
        with thread_limit(threads, {k.backend.name for k, _, _ in plan}) as nthreads, bar, measurer:
            clock.lap("start (worker process, thread pools)")
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
                clock.lap("bandwidth and compute probes")
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
                                    or _skip_reason(k.op, size, dt, last, settings, static_estimate_s(k, size),
                                                    k.backend)):
                        rec = new_record(k, size, dt, nthreads, status="skipped", reason=reason)
                    else:
                        rec = measurer.measure(k, size, dt, settings, nthreads, threads)
                        last.append(rec)
                        clock.lap(f"sweep: {k.backend.name}")
                    if journal is not None and (k.op.name, k.backend.name, rec.label, dt) not in done:
                        journal.add_record(rec)
                    results.records.append(rec)
                    if on_record:
                        on_record(rec)
                    bar.advance()
            clock.lap(f"sweep: {k.backend.name}" if plan else "sweep")  # skips' bookkeeping since the last kernel
            _after_sweep(results, measurer, settings, nthreads, threads, journal, bar, time.monotonic() - swept, clock)
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
