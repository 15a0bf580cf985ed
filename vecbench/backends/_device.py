"""What the GPU backends share: a time-limited availability probe, timed copies, device facts.

A GPU backend (``cupy``, ``torch_cuda``, ``jax_gpu``, ``numba_cuda``) is a
:class:`DeviceBackend`: it says how to copy an array to its device and back,
how to wait for the device, and how to start it; this class does the rest,
the same way for all four:

- **Availability**, asked once per process: the packages must be importable,
  then a fresh interpreter runs the backend's probe code (a tiny kernel on
  device 0) under a time limit (:data:`PROBE_TIMEOUT_S`, environment
  ``VECBENCH_GPU_PROBE_TIMEOUT``): CUDA device detection can hang on a
  broken driver, and a hang must cost a clear reason, never the run. On Linux
  a machine without NVIDIA device nodes (``/dev/nvidia*``, WSL's ``/dev/dxg``)
  is answered "no CUDA GPU found" at once, without starting any CUDA library.
- **Honest timing**: :meth:`DeviceBackend.prepare` (untimed) first creates
  the device context, timed apart (the harness adds it to ``compile_time_s``),
  then copies the inputs to the device and waits until the copy is complete:
  that time is the record's ``transfer_in_s``. :meth:`DeviceBackend.finalize`
  (untimed) copies the result back: ``transfer_out_s``. The timed call is the
  kernel followed by :meth:`DeviceBackend.sync`, so every sample ends with the
  device idle.
- **Facts** for the machine block: the device's name, driver, memory and
  clocks (``nvidia-smi`` where it is installed, and the framework's own
  report), and a STREAM-style copy probe: device-to-device copy bandwidth and
  the host-to-device and device-to-host copy rates.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from .base import Backend

__all__ = ["DeviceBackend", "PROBE_TIMEOUT_S", "no_driver_reason", "nvidia_smi", "run_probe"]

PROBE_TIMEOUT_S = 60.0
NO_GPU = "no CUDA GPU found"
_PROBES: dict[str, dict[str, Any]] = {}  # backend name -> the probe's answer, once per process
_INHERITED = "VECBENCH_GPU_PROBED"  # the answers, handed to child processes through the environment


def probe_timeout() -> float:
    """The probe's time limit: ``VECBENCH_GPU_PROBE_TIMEOUT`` seconds, else :data:`PROBE_TIMEOUT_S`."""
    try:
        t = float(os.environ.get("VECBENCH_GPU_PROBE_TIMEOUT", PROBE_TIMEOUT_S))
    except ValueError:
        return PROBE_TIMEOUT_S
    return t if t > 0 else PROBE_TIMEOUT_S


def no_driver_reason() -> str:
    """Why no NVIDIA GPU can be used here, decided without loading any CUDA library ("" when one may be)."""
    if not sys.platform.startswith("linux"):
        return ""  # no device nodes to look at: the probe asks the framework
    if os.path.exists("/dev/nvidiactl") or glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/dxg"):
        return ""
    return f"{NO_GPU} (no NVIDIA device node /dev/nvidia*: no GPU or no driver here)"


def run_probe(code: str, timeout_s: float) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its last line of output is a JSON ``{"ok": bool, "reason": ...}``.

    A probe that does not answer within ``timeout_s`` is killed and answered
    ``{"ok": False, "reason": "... did not answer within N s ..."}``; one that
    crashes is answered with its last line of error output. The simulator
    switch ``NUMBA_ENABLE_CUDASIM`` is removed from the probe's environment:
    availability means a real device.
    """
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout_s,
                              env=env, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return {"ok": False, "reason": f"the CUDA device probe did not answer within {timeout_s:g} s (a hung driver "
                                       "or device?); VECBENCH_GPU_PROBE_TIMEOUT sets the limit"}
    for line in reversed(proc.stdout.strip().splitlines()):
        try:
            answer = json.loads(line)
        except ValueError:
            continue
        if isinstance(answer, dict) and "ok" in answer:
            return answer
    last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    return {"ok": False, "reason": f"the CUDA device probe failed: {last}"}


# The wrapper every backend's probe body runs in: a JSON answer whatever happens.
_PROBE = """
import json, sys
try:
{body}
    print(json.dumps({{"ok": True, **facts}}))
except BaseException as exc:
    text = f"{{type(exc).__name__}}: {{exc}}".strip().splitlines()[0][:300]
    print(json.dumps({{"ok": False, "reason": "{no_gpu} (" + text + ")"}}))
"""

_SMI_FIELDS = ("name", "driver_version", "memory.total", "clocks.max.sm", "clocks.max.memory", "pci.bus_id",
               "compute_cap")


def nvidia_smi(timeout_s: float = 10.0) -> list[dict[str, str]]:
    """Each GPU as ``nvidia-smi`` reports it (name, driver, memory in MiB, max clocks in MHz); [] without it."""
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={','.join(_SMI_FIELDS)}", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=timeout_s, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [dict(zip(_SMI_FIELDS, (v.strip() for v in line.split(",")))) for line in out.strip().splitlines()]


def _packed(a: np.ndarray) -> np.ndarray:
    return a if a.flags.c_contiguous or a.flags.f_contiguous else np.ascontiguousarray(a)


class DeviceBackend(Backend):
    """A backend whose kernels run on a CUDA device; subclasses say how to copy, wait and start.

    Subclasses set ``probe_body`` (Python source, indented four spaces, that
    raises when no usable device is there and else sets ``facts``, a dict)
    and implement :meth:`start`, :meth:`to_device`, :meth:`to_host`,
    :meth:`wait` and :meth:`sync`.
    """

    device: ClassVar[str] = "cuda"
    jit = True  # a first call loads or compiles device code: stored as compile time, never in a sample
    probe_body: ClassVar[str] = "    facts = {}"
    _started: ClassVar[dict[str, float]] = {}
    _bandwidth: ClassVar[dict[str, dict[str, float]]] = {}

    def __init__(self) -> None:
        super().__init__()
        self._transfers: dict[str, float] = {}

    # ------------------------------------------------------------ availability
    @property
    def packages_installed(self) -> bool:
        """Whether every package in ``requires`` can be imported (the base class's availability)."""
        return all(importlib.util.find_spec(p) is not None for p in self.requires)

    def probe(self, timeout_s: float | None = None, refresh: bool = False) -> dict[str, Any]:
        """The availability probe's answer (``refresh`` runs it again).

        Run once per process tree: the answer is also put in the environment
        (``VECBENCH_GPU_PROBED``), so the worker processes a run starts, which
        inherit it, do not start a framework again just to ask.
        """
        if not refresh and self.name not in _PROBES:
            with contextlib.suppress(ValueError, TypeError):
                inherited = json.loads(os.environ.get(_INHERITED, "{}")).get(self.name)
                if isinstance(inherited, dict) and "ok" in inherited:
                    _PROBES[self.name] = inherited
        if refresh or self.name not in _PROBES:
            why = no_driver_reason()
            if why:
                _PROBES[self.name] = {"ok": False, "reason": why}
            else:
                code = _PROBE.format(body=self.probe_body, no_gpu=NO_GPU)
                _PROBES[self.name] = run_probe(code, probe_timeout() if timeout_s is None else timeout_s)
                os.environ[_INHERITED] = json.dumps(_PROBES)
        return _PROBES[self.name]

    @property
    def available(self) -> bool:
        """The packages are installed and a CUDA device answered the probe."""
        return self.packages_installed and bool(self.probe().get("ok"))

    @property
    def install_hint(self) -> str:
        if not self.packages_installed:
            return f"the {self.name} backend needs {self.install_what}: pip install '{self.install}' (see docs/gpu.md)"
        reason = self.probe().get("reason", NO_GPU)
        return (f"the {self.name} backend needs a CUDA GPU: {reason}; on a machine with one: "
                f"pip install '{self.install}' (see docs/gpu.md)")

    install_what: ClassVar[str] = ""

    # ------------------------------------------------------------ what a subclass provides
    def start(self) -> None:
        """Create the device context (the first use of the device in this process)."""

    def to_device(self, a: np.ndarray) -> Any:
        """A device copy of host array ``a`` (may return before the copy ends: :meth:`wait` follows)."""
        raise NotImplementedError

    def to_host(self, r: Any) -> Any:
        """One result (a device array or number) as a NumPy array or float; returns when it is on the host."""
        raise NotImplementedError

    def wait(self, values: tuple[Any, ...]) -> None:
        """Wait until the copies or work producing ``values`` are complete."""
        self.sync(values)

    # ------------------------------------------------------------ the untimed steps around a call
    def _start_once(self) -> float:
        """Seconds this call spent creating the device context (0 when done before in this process)."""
        if self.name in self._started:
            return 0.0
        t0 = time.perf_counter_ns()
        self.start()
        self._started[self.name] = (time.perf_counter_ns() - t0) * 1e-9
        return self._started[self.name]

    def prepare(self, args: tuple[Any, ...], has_out: bool) -> tuple[Any, ...]:
        startup = self._start_once()
        args = args[:-1] if has_out else args  # out= is filled on the host by finalize
        t0 = time.perf_counter_ns()
        # Contiguous arrays keep their layout (train_epoch's X is example-major); strided views are packed first.
        moved = tuple(self.to_device(_packed(a)) if isinstance(a, np.ndarray) else a for a in args)
        self.wait(moved)
        self._transfers = {"in": (time.perf_counter_ns() - t0) * 1e-9}
        if startup:
            self._transfers["startup"] = startup
        return moved

    def finalize(self, result: Any, args: tuple[Any, ...], has_out: bool) -> Any:
        t0 = time.perf_counter_ns()
        host = tuple(self.to_host(r) for r in result) if isinstance(result, tuple) else self.to_host(result)
        self._transfers["out"] = (time.perf_counter_ns() - t0) * 1e-9
        if has_out:
            out = args[-1]
            out[...] = host
            return out
        return host

    def transfer_times(self) -> Mapping[str, float]:
        return dict(self._transfers)

    # ------------------------------------------------------------ facts
    def device_bandwidth(self, nbytes: int = 1 << 28, repeats: int = 5) -> dict[str, float]:
        """GB/s of a device-to-device copy (read + write counted, as STREAM's copy) and of host<->device copies.

        Best of ``repeats``; ``nbytes`` per array (256 MiB: far beyond any cache). Measured once per process.
        """
        if self.name in self._bandwidth:
            return self._bandwidth[self.name]
        self._start_once()
        host = np.ones(nbytes // 8)
        best = {"device_copy": 0.0, "host_to_device": 0.0, "device_to_host": 0.0}
        dev = self.to_device(host)
        self.wait((dev,))
        for _ in range(repeats):
            t0 = time.perf_counter_ns()
            dev = self.to_device(host)
            self.wait((dev,))
            t1 = time.perf_counter_ns()
            copy = self.device_copy(dev)
            self.wait((copy,))
            t2 = time.perf_counter_ns()
            self.to_host(copy)
            t3 = time.perf_counter_ns()
            best["host_to_device"] = max(best["host_to_device"], nbytes / (t1 - t0))  # bytes per ns = GB/s
            best["device_copy"] = max(best["device_copy"], 2 * nbytes / (t2 - t1))
            best["device_to_host"] = max(best["device_to_host"], nbytes / (t3 - t2))
        self._bandwidth[self.name] = {k: round(v, 2) for k, v in best.items()} | {"array_bytes": float(nbytes)}
        return self._bandwidth[self.name]

    def device_copy(self, x: Any) -> Any:
        """A new device array equal to device array ``x`` (the bandwidth probe's copy)."""
        raise NotImplementedError

    def device_facts(self) -> dict[str, Any]:
        """What the framework says about the device (name, memory, clocks...)."""
        return {}

    def metadata(self) -> dict[str, Any]:
        if not self.available:
            return {"available": False, ("reason" if self.packages_installed else "install"): self.install_hint}
        answer = _PROBES.get(self.name, {})
        facts: dict[str, Any] = {"available": True, "device": self.device,
                                 **{k: v for k, v in answer.items() if k != "ok"}}
        facts["nvidia_smi"] = nvidia_smi()
        facts.update(self.device_facts())
        if self.name in self._started:
            facts["context_start_s"] = round(self._started[self.name], 4)
        try:
            facts["bandwidth_gbps"] = self.device_bandwidth()
        except Exception as exc:  # the probe must not lose a run's results
            facts["bandwidth_gbps"] = {"error": f"{type(exc).__name__}: {exc}"}
        return facts
