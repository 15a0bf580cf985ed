"""A fake device backend on a virtual clock: proves where the harness puts copies, syncs and start-up.

The fake "device" runs nothing asynchronously; instead each action advances
a virtual offset added to ``time.perf_counter_ns`` (installed by the test in
its own process with monkeypatch, or in the worker process when the
environment says ``VECBENCH_FAKE_CLOCK=1``):

- a kernel call returns at once and owes ``DEVICE_S`` of device work, paid
  only by ``sync`` (as a real asynchronous launch is paid by the wait);
- each copy to or from the device costs ``COPY_S``, the context ``START_S``.

Those virtual costs are far larger than anything real in a sample, so the
record says exactly where each went: samples >= DEVICE_S (the sync is timed)
but far below COPY_S (no copy is), transfers >= COPY_S, compile time >= START_S.
Importing this module registers the backend (kernels ``dot`` and ``sigmoid``,
the latter with ``out=``); :func:`unregister` removes it again.
"""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

import numpy as np

from vecbench import registry
from vecbench.backends._device import DeviceBackend

DEVICE_S = 1e-3
COPY_S = 100.0
START_S = 1000.0

_REAL = time.perf_counter_ns
_OFFSET_NS = [0]
LOG: list[str] = []  # what the fake device did, in order


def clock() -> int:
    return _REAL() + _OFFSET_NS[0]


def _advance(seconds: float) -> None:
    _OFFSET_NS[0] += int(seconds * 1e9)


class FakeDeviceBackend(DeviceBackend):
    name = "fake_device"
    description = "test-only: a device on a virtual clock"
    kernels: ClassVar[dict[str, Any]] = {"dot": f"{__name__}:dot", "sigmoid": f"{__name__}:sigmoid"}
    owed = 0

    @property
    def available(self) -> bool:
        return True

    def start(self) -> None:
        LOG.append("start")
        _advance(START_S)

    def to_device(self, a: np.ndarray) -> Any:
        LOG.append("to_device")
        _advance(COPY_S)
        return a.copy()

    def to_host(self, r: Any) -> Any:
        LOG.append("to_host")
        _advance(COPY_S)
        return np.array(r)

    def wait(self, values: tuple[Any, ...]) -> None:
        pass  # the copies above are synchronous

    def sync(self, result: Any) -> Any:
        LOG.append("sync")
        _advance(self.owed * DEVICE_S)
        FakeDeviceBackend.owed = 0
        return result

    def device_copy(self, x: Any) -> Any:
        return x.copy()

    def device_bandwidth(self, nbytes: int = 1 << 16, repeats: int = 2) -> dict[str, float]:
        return super().device_bandwidth(nbytes, repeats)  # small: the probe's path, not a measurement


def _launch() -> None:
    LOG.append("launch")
    FakeDeviceBackend.owed += 1


def dot(a, b):
    _launch()
    return np.dot(a, b)


def sigmoid(z):
    _launch()
    return 1.0 / (1.0 + np.exp(-z))


def unregister() -> None:
    for op in FakeDeviceBackend.kernels:
        registry._KERNELS.pop((op, FakeDeviceBackend.name), None)
    registry.BACKENDS.pop(FakeDeviceBackend.name, None)


if os.environ.get("VECBENCH_FAKE_CLOCK") == "1":  # in the worker process of the isolated test
    time.perf_counter_ns = clock
registry.register_backend(FakeDeviceBackend)
