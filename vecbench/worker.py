"""Measure each kernel in a long-lived worker process, so that its crash costs that kernel only.

The parent (:func:`vecbench.harness.run`) sends one :class:`Task` at a time
over a pipe; the worker generates the inputs, computes the reference, runs
:func:`vecbench.measuring.measure` and sends back the :class:`~vecbench.results.Record`.
As in pyperf and pytest-xdist, the worker is started once (a fresh interpreter:
no state forked from the parent) and reused, so imports,
Numba compiles and cached inputs are paid once; it is replaced only after it
died. What one kernel can do to the worker, and what is recorded:

- a signal (segfault in native code, abort): ``failed``, "worker process killed by SIGSEGV";
- a hang: the worker is killed after ``timeout_s``, "timed out after N s";
- ``os._exit(n)`` or a fatal error: "worker process exited with status n";
- an exception of any kind (``MemoryError``, ``SystemExit``, ``KeyboardInterrupt``
  included), in the kernel, in ``make_inputs`` or in ``reference``: its type and
  text, and where it happened.

Kernels registered outside vecbench (plug-ins, test kernels) are found in the
worker by importing the modules that define them: the parent sends the
modules of each kernel's core, reference and input generator, and registering
at import time of such a module is all a plug-in needs. A kernel the worker
resolves to different code (e.g. one patched into the registry at run time)
is reported, never silently replaced by the registered one; measure those
in-process (``run(..., isolate=False)``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import multiprocessing
import os
import signal
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RoundsTask", "Task", "Worker", "default_timeout", "kernel_modules"]

# Seconds a new worker may take to start (interpreter, numpy, vecbench imports).
STARTUP_TIMEOUT_S = 120.0


def default_timeout(budget_s: float) -> float:
    """Per-kernel timeout: a few budgets, plus room for a cold JIT compile and a worker start."""
    return 60.0 + 4.0 * budget_s


@dataclass(frozen=True)
class Task:
    """One measurement: what :func:`vecbench.measuring.measure` needs, by name."""

    op: str
    backend: str
    size: dict[str, int]
    dtype: str
    threads: int | None
    settings: Any  # harness.Settings (picklable, frozen)
    module: str = ""  # the kernel core's module as the parent sees it
    imports: tuple[str, ...] = field(default_factory=tuple)
    # An op defined at run time (OpSpec.ship): a pickled callable that registers it here, run once.
    payload: bytes = b""


@dataclass(frozen=True)
class RoundsTask:
    """Interleaved rounds of one op and size (:class:`vecbench.rounds.Group`), answered with its ``paired`` entry."""

    group: Any
    threads: int | None
    settings: Any
    imports: tuple[str, ...] = field(default_factory=tuple)
    payload: bytes = b""  # never sent with rounds: the kernels' measurement installed any computation before


def kernel_modules(k: Any) -> tuple[str, ...]:
    """Modules outside vecbench that define ``k`` (core, reference, inputs): the worker imports them."""
    names = [k.module, getattr(k.op.reference, "__module__", ""), getattr(k.op.make_inputs, "__module__", "")]
    return tuple(dict.fromkeys(m for m in names if m and not m.startswith("vecbench") and m not in _MAIN))


_MAIN = ("__main__", "__mp_main__")


# ---------------------------------------------------------------- worker side
def _die_with_parent() -> None:
    # A worker whose parent was SIGKILLed must not run on (Linux only).
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Threads:
    """The parent's thread limit, entered once per distinct value and kept (threadpoolctl is slow to enter)."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._current: tuple[int | None] | None = None
        self.count = 1

    def set(self, threads: int | None) -> int:
        from .machine import thread_limit

        if self._current != (threads,):
            self._stack.close()
            self._stack = contextlib.ExitStack()
            self.count = self._stack.enter_context(thread_limit(threads))
            self._current = (threads,)
        return self.count


def _measure(task: Task, threads: _Threads, refs: Any, stage: list[str]) -> Any:
    from . import registry
    from .measuring import measure

    stage[0] = "importing the kernel's modules"
    for name in task.imports:
        importlib.import_module(name)
    if task.payload:
        stage[0] = "installing the computation sent by the parent (unpickling it)"
        _install(task.payload)
    stage[0] = "looking up the kernel"
    k = registry.kernel(task.op, task.backend)
    here = "__main__" if k.module in _MAIN else k.module
    there = "__main__" if task.module in _MAIN else task.module
    if task.module and here != there:
        raise LookupError(f"{task.op}/{task.backend} resolves to {here} in the worker process but to {there} "
                          "in the parent; register it at import time of its module, or measure in-process "
                          "(isolate=False)")
    nthreads = threads.set(task.threads)
    expected = refs.expected(k, task.size, task.dtype, task.settings.seed, stage)
    stage[0] = "measuring"
    return measure(k, task.size, task.dtype, task.settings, nthreads, expected)


_INSTALLED: set[str] = set()


def _install(payload: bytes) -> None:
    """Run a pickled registration from the parent once (its inputs and compiles are then reused)."""
    import hashlib
    import pickle

    digest = hashlib.sha256(payload).hexdigest()
    if digest not in _INSTALLED:
        pickle.loads(payload)()  # noqa: S301  the parent's own objects, sent over its own pipe
        _INSTALLED.add(digest)


def _serve(conn: Any) -> None:
    """Worker main loop: one task in, one ``("record", Record)`` or ``("error", ...)`` out."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    from .measuring import References  # import cost paid before the first timeout starts

    threads = _Threads()
    threads.set(None)  # asks every backend for its threads (importing its framework): paid here too
    conn.send(("ready", os.getpid()))
    refs = References()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        if task == "machine":
            from .machine import machine_info

            conn.send(("machine", machine_info()))
            continue
        stage = ["starting"]
        try:
            if isinstance(task, RoundsTask):  # after the sweep: its kernels are compiled and validated here
                from .measuring import measure_rounds

                for name in task.imports:
                    importlib.import_module(name)
                conn.send(("rounds", measure_rounds(task.group, task.settings, threads.set(task.threads))))
                continue
            conn.send(("record", _measure(task, threads, refs, stage)))
        except BaseException as exc:  # noqa: BLE001  anything one kernel does costs that kernel only
            text = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            where = "" if stage[0] == "measuring" else f" while {stage[0]}"
            retire = not isinstance(exc, Exception)  # SystemExit, MemoryError...: a fresh worker next
            conn.send(("error", f"{text}{where}", traceback.format_exc(limit=-4), retire))
            if retire:
                return


# ---------------------------------------------------------------- parent side
def _death(exitcode: int | None) -> str:
    if exitcode is None:
        return "worker process stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"worker process killed by {name}"
    return f"worker process exited with status {exitcode}"


class Worker:
    """A long-lived measuring process, restarted when it dies or hangs.

    Use as a context manager; :meth:`measure` returns ``(record, reason, detail)``:
    the worker's record, or ``None`` and why the kernel was lost.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Any = None
        self._sent: list[bytes] = []  # payloads this worker process has installed (by identity; sent once)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        # A plain interpreter rather than multiprocessing's "spawn", which re-runs the
        # parent's __main__ (a user's script calling vb.run without a main guard) in the
        # child. Its own session: a Ctrl-C at the terminal is the parent's to handle.
        parent, child = multiprocessing.Pipe()
        boot = (f"import sys; from multiprocessing.connection import Connection; c = Connection({child.fileno()}); "
                "sys.path[:] = c.recv(); from vecbench.worker import _serve; _serve(c)")
        try:
            proc = subprocess.Popen([sys.executable, "-c", boot], pass_fds=[child.fileno()],
                                    start_new_session=True, stdin=subprocess.DEVNULL)
        finally:
            child.close()
        self._proc, self._conn = proc, parent
        self._sent = []
        try:
            parent.send(list(sys.path))  # import vecbench, plug-ins and test kernels from where the parent does
            if not parent.poll(STARTUP_TIMEOUT_S):
                self.kill()
                raise RuntimeError(f"vecbench worker process did not start within {STARTUP_TIMEOUT_S:g} s")
            parent.recv()
        except (EOFError, OSError):
            code = self._reap()
            raise RuntimeError(f"vecbench worker process could not start: {_death(code)}") from None

    def measure(self, task: Task | RoundsTask, timeout_s: float) -> tuple[Any, str, str]:
        """Run ``task`` in the worker; ``(record, "", "")`` or ``(None, reason, detail)``."""
        if not self._alive():
            self._reap()
            self._start()
        payload = task.payload
        if payload and any(p is payload for p in self._sent):  # installed there already: not sent again
            task = dataclasses.replace(task, payload=b"")
        try:
            self._conn.send(task)
            if not self._conn.poll(timeout_s):
                self.kill()
                return None, f"timed out after {timeout_s:g} s (the worker process was killed; see --timeout)", ""
            reply = self._conn.recv()
        except (EOFError, OSError):
            return None, _death(self._reap()), ""
        if reply[0] in ("record", "rounds"):
            if payload and task.payload:
                self._sent = [*self._sent[-3:], payload]
            return reply[1], "", ""
        if reply[3]:
            self._reap()  # the worker is exiting; the next kernel gets a fresh one
        return None, reply[1], reply[2]

    def machine_info(self, timeout_s: float = 30.0) -> dict[str, Any] | None:
        """:func:`vecbench.machine.machine_info` as the worker sees it (Numba's threading layer), or None."""
        if not self._alive():
            return None
        try:
            self._conn.send("machine")
            if self._conn.poll(timeout_s):
                kind, info = self._conn.recv()[:2]
                return info if kind == "machine" else None
        except (EOFError, OSError):
            self._reap()
        return None

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _reap(self) -> int | None:
        """Wait for a dead worker; its exit code (negative: the signal that killed it)."""
        proc, self._proc = self._proc, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if proc is None:
            return None
        try:
            return proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def kill(self) -> None:
        """Stop the worker now (a hang, Ctrl-C)."""
        if self._proc is not None and self._alive():
            self._proc.kill()
        self._reap()

    def close(self) -> None:
        """Ask the worker to finish, kill it if it does not."""
        if self._proc is not None and self._alive():
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(None)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(2)
        self.kill()

