"""How busy the rest of the machine was while a kernel was timed.

A kernel timed beside a test suite, a browser or another benchmark is slowed
down, and two-thread kernels (OpenBLAS, ``numba_parallel``) stall at their
thread barriers when one core is taken: a 6.8x slower ``np.dot`` was measured
that way. Nothing in the samples says so; this module does.

:class:`Probe` wraps a measurement and reports a :class:`Contention`:

- ``fraction``: CPU time the *other* processes used during the window, as a
  fraction of the machine's capacity (wall time x cores): system-wide busy
  time from ``/proc/stat`` (Linux) or ``psutil.cpu_times()`` (elsewhere)
  minus this process's own CPU time, all its threads included
  (``time.process_time``). 0 on an idle machine; 0.5 when one of two cores
  was taken by something else for the whole window. The system counters tick
  at ``1 / CLK_TCK`` (10 ms), so on a short window the figure is uncertain by
  about ``tick / window``; that uncertainty is subtracted (the figure is what
  the others used *at least*), so a short window is marked contended only when
  the evidence is clear.
- ``cpu_pressure``: where Linux exposes pressure-stall information
  (``/proc/pressure/cpu``), the fraction of the window during which at least
  one runnable task waited for a CPU (microsecond resolution).
- ``loadavg``: the 1-minute load average at the end of the window.

A record is **contended** when ``fraction`` exceeds
:data:`CONTENDED_ABOVE` or ``cpu_pressure`` exceeds :data:`PRESSURE_ABOVE`,
unless the counters prove the others nearly idle (at most
:data:`SELF_ONLY_BELOW` of the machine, tick uncertainty *added*): pressure
counts this process's own runnable threads as well, and a backend that runs
more threads than cores (XLA's pools, a Dask cluster inside the worker) makes
its own. That is the kernel's behaviour, not a busy machine: such a window is
**oversubscribed** (a note on the record), not contended.
Where neither ``/proc/stat`` nor ``psutil`` is available, ``fraction`` is
None and ``method`` says that contention could not be measured.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

__all__ = ["CONTENDED_ABOVE", "PRESSURE_ABOVE", "SELF_ONLY_BELOW", "Contention", "Probe", "cpu_busy_s", "wait_quiet"]

# Other processes using more than a quarter of the machine (half a core on two
# cores) slow multi-threaded kernels measurably; below that the noise flag
# (IQR / median) is the better witness.
CONTENDED_ABOVE = 0.25
# Some task waiting for a CPU during more than a fifth of the window.
PRESSURE_ABOVE = 0.20
# Others' CPU use proven below this (the counters' uncertainty added): pressure above is the process's own.
SELF_ONLY_BELOW = 0.05

_PROC_STAT = "/proc/stat"
_PRESSURE = "/proc/pressure/cpu"


@dataclass(frozen=True)
class Contention:
    """What the rest of the machine did during one measurement window."""

    fraction: float | None
    loadavg: float | None
    cpu_pressure: float | None
    window_s: float
    method: str
    contended: bool
    # Pressure above PRESSURE_ABOVE while the others provably used under SELF_ONLY_BELOW: its own threads waited.
    oversubscribed: bool = False

    def warning(self) -> str:
        """A one-line warning for a record ("" when neither contended nor oversubscribed)."""
        if self.oversubscribed and not self.contended:
            return (f"oversubscribed: its own threads waited for a CPU {self.cpu_pressure or 0:.0%} of the time "
                    f"while other processes used under {SELF_ONLY_BELOW:.0%} of the machine (the backend runs "
                    "more threads than cores; not a busy machine)")
        if not self.contended:
            return ""
        parts = []
        if self.fraction is not None:
            parts.append(f"other processes used {self.fraction:.0%} of the machine's CPU time")
        if self.cpu_pressure is not None:
            parts.append(f"tasks waited for a CPU {self.cpu_pressure:.0%} of the time")
        if self.loadavg is not None:
            parts.append(f"load average {self.loadavg:.2f}")
        return "contended: " + ", ".join(parts) + " while this kernel was timed"


def cpu_busy_s() -> tuple[float, float, str] | None:
    """(busy CPU seconds, total CPU seconds, source) summed over all cores since boot, or None."""
    try:
        with open(_PROC_STAT) as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        tick = os.sysconf("SC_CLK_TCK")
        # user nice system idle iowait irq softirq steal (guest time is inside user)
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        busy = sum(fields[:8]) - idle
        return busy / tick, (busy + idle) / tick, "/proc/stat"
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    total = sum(t)
    return total - idle, total, "psutil"


def _pressure_us() -> float | None:
    try:
        with open(_PRESSURE) as f:
            line = f.readline()  # some avg10=0.00 avg60=0.00 avg300=0.00 total=12345
        return float(line.rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        return None


def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


class Probe:
    """Context manager: ``with Probe() as p: ...``; then ``p.result`` is a :class:`Contention`.

    Also usable as ``p = Probe().start(); ...; c = p.stop()``.
    """

    def __init__(self, threshold: float = CONTENDED_ABOVE, pressure_threshold: float = PRESSURE_ABOVE):
        self.threshold = threshold
        self.pressure_threshold = pressure_threshold
        self.result: Contention | None = None

    def start(self) -> Probe:
        self._sys = cpu_busy_s()
        self._own = time.process_time()
        self._psi = _pressure_us()
        self._wall = time.perf_counter()
        return self

    def stop(self) -> Contention:
        wall = time.perf_counter() - self._wall
        own = time.process_time() - self._own
        sys_now, psi_now = cpu_busy_s(), _pressure_us()
        fraction = at_most = None
        method = "unavailable: neither /proc/stat nor psutil"
        if self._sys is not None and sys_now is not None:
            busy, total, method = sys_now[0] - self._sys[0], sys_now[1] - self._sys[1], sys_now[2]
            cores = os.cpu_count() or 1
            capacity = max(total, wall * cores, 1e-9)
            # One tick per core at each end of the window is the counters' resolution:
            # it is subtracted, so the figure is what the others used at least (and added for at most).
            tick = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
            fraction = min(1.0, max(0.0, (busy - own - 2 * tick * cores) / capacity))
            at_most = max(0.0, (busy - own + 2 * tick * cores) / capacity)
        pressure = None
        if self._psi is not None and psi_now is not None and wall > 0:
            pressure = min(1.0, max(0.0, (psi_now - self._psi) * 1e-6 / wall))
        pressured = pressure is not None and pressure > self.pressure_threshold
        self_only = at_most is not None and at_most < SELF_ONLY_BELOW
        contended = bool((fraction is not None and fraction > self.threshold) or (pressured and not self_only))
        self.result = Contention(fraction, _loadavg(), pressure, wall, method, contended,
                                 oversubscribed=pressured and self_only)
        return self.result

    def __enter__(self) -> Probe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_quiet(max_wait_s: float, window_s: float = 0.25, threshold: float = CONTENDED_ABOVE) -> float:
    """Sleep in ``window_s`` steps until a window is not contended or ``max_wait_s`` has passed.

    Returns the seconds waited. Where contention cannot be measured it returns at once.
    """
    start = time.perf_counter()
    while time.perf_counter() - start < max_wait_s:
        with Probe(threshold) as p:
            time.sleep(min(window_s, max(0.0, max_wait_s - (time.perf_counter() - start))))
        c = p.result
        if c is None or c.fraction is None or not c.contended:
            break
    return time.perf_counter() - start
