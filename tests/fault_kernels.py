"""Test-only ops whose ``numpy`` kernel (or reference, or input generator) misbehaves.

Importing this module registers them; :mod:`vecbench.worker` imports it in the
worker process because the kernels are defined here, which is how a plug-in's
kernels are found there too. Each op's ``python`` kernel is correct, so a
sweep shows the run going on (in a fresh worker) after the fault.
Tests remove the ops again with :func:`unregister` (the registry is global).
"""

from __future__ import annotations

import ctypes
import os
import time
from typing import Any

import numpy as np

from vecbench import registry
from vecbench.registry import Call, OpSpec


def _validate(x: Any) -> Call:
    return Call((np.asarray(x, dtype=np.float64),), post=float)


def _inputs(size, dtype, rng):
    return (rng.random(size["n"]).astype(dtype),)


def _reference(x):
    return float(np.sum(x, dtype=np.float64))


def _good(x):
    return float(sum(x))


def _segfault(x):
    return ctypes.string_at(0)  # reads address 0: SIGSEGV


def _hang(x):
    time.sleep(3600)


def _memory(x):
    raise MemoryError("pretend the kernel ran out of memory")


def _os_exit(x):
    os._exit(7)


def _system_exit(x):
    raise SystemExit(3)


def _wrong(x):
    return float("nan")


def _bad_reference(x):
    raise ValueError("the reference broke")


def _bad_inputs(size, dtype, rng):
    raise RuntimeError("make_inputs broke")


# op name -> (numpy kernel, reference, make_inputs)
FAULTS = {
    "fault_segfault": (_segfault, _reference, _inputs),
    "fault_hang": (_hang, _reference, _inputs),
    "fault_memory": (_memory, _reference, _inputs),
    "fault_os_exit": (_os_exit, _reference, _inputs),
    "fault_system_exit": (_system_exit, _reference, _inputs),
    "fault_wrong": (_wrong, _reference, _inputs),
    "fault_reference": (_good, _bad_reference, _inputs),
    "fault_inputs": (_good, _reference, _bad_inputs),
}


def register_all() -> None:
    for name, (kernel, reference, make_inputs) in FAULTS.items():
        spec = OpSpec(name=name, summary=f"test-only: {name}", validate=_validate, reference=reference,
                      make_inputs=make_inputs, sizes={"quick": [{"n": 10}], "default": [{"n": 10}]},
                      nbytes=lambda size, item: size["n"] * item, flops=lambda size: size["n"])
        registry.register(spec, numpy=kernel, python=_good)


def unregister() -> None:
    for name in FAULTS:
        registry._OPS.pop(name, None)
        for backend in list(registry.BACKENDS):
            registry._KERNELS.pop((name, backend), None)


registry.ops()  # the built-in ops first, so listing order stays theirs
register_all()
