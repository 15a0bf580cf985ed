"""Test cases generated from the registry, shared by the test modules."""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np
import pytest

import vecbench as vb

ALL_KERNELS = vb.kernels()


def available_backends(op: str | None = None) -> list[str]:
    """The backends (of ``op``, or all) whose packages are installed here.

    The one place tests take a list of backends to loop over: a test that loops
    inside its body (rather than being parametrized, where conftest skips
    unavailable kernels with their install hint) must use this, so the suite
    passes with ``.[test]`` alone as with every extra.
    """
    return [b for b in vb.backends(op) if vb.backend(b).available]


def outside_env(**extra: str) -> dict[str, str]:
    """This process's environment without the variables of the running pytest, plus ``extra``.

    A command a test starts (a child pytest above all) must see what a user's shell would:
    pytest-xdist's ``PYTEST_XDIST_WORKER`` makes a child pytest-benchmark disable itself.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTEST_XDIST"))}
    env.update(extra)
    return env


def unavailable_backends(op: str | None = None) -> list[str]:
    """The registered backends (of ``op``, or all) that cannot run here."""
    return [b for b in vb.backends(op) if not vb.backend(b).available]


def kernel_id(k: vb.Kernel) -> str:
    return f"{k.op.name}-{k.backend.name}"


def small_sizes(op: vb.OpSpec) -> list[dict[str, int]]:
    """Small sizes for every op, built from the keys of its sweep.

    One element, odd sizes, and one size big enough (~3e5 elements) that the
    parallel kernels split it into several chunks.
    """
    if "test" in op.sizes:
        return list(op.sizes["test"])
    keys = list(op.sizes["quick"][0])
    shapes = {1: [(1,), (7,), (300_007,)], 2: [(1, 1), (7, 3), (3, 8), (501, 401)]}[len(keys)]
    return [dict(zip(keys, s)) for s in shapes]


def compare(result: Any, expected: Any, rtol: float, atol: float) -> None:
    """assert_allclose for a result that may be a tuple of arrays and floats."""
    if isinstance(expected, tuple):
        assert isinstance(result, tuple) and len(result) == len(expected)
        for r, e in zip(result, expected):
            compare(r, e, rtol, atol)
        return
    np.testing.assert_allclose(np.asarray(result, dtype=np.float64), expected, rtol=rtol, atol=atol)


def noncontiguous(a: Any) -> Any:
    """A strided view holding the same values as ``a`` (every other element of the last axis)."""
    if not isinstance(a, np.ndarray) or a.ndim == 0:
        return a
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    big[..., ::2] = a
    view = big[..., ::2]
    assert not view.flags.c_contiguous or a.size == 1
    return view


def fortran(a: Any) -> Any:
    return np.asfortranarray(a) if isinstance(a, np.ndarray) and a.ndim == 2 else a


LAYOUTS = {"contiguous": lambda a: a, "strided": noncontiguous, "fortran": fortran}

# Backends that compile a graph per shape, strides and dtype, seconds each (Inductor's C++ build): the
# case grid gives them one case per op (float64, C order, the largest small size) and, with --exhaustive,
# each other layout and float32 once; sweeps over random shapes leave them out. tests/test_torch_compile.py
# checks their odd values at one shape per op.
COMPILE_PER_SHAPE = ("torch_compile",)


def shape_sweep_backends(op: str) -> list[str]:
    """:func:`available_backends` of ``op`` without those that compile per shape (for random-shape sweeps)."""
    return [b for b in available_backends(op) if b not in COMPILE_PER_SHAPE]


def _case_marks(k: vb.Kernel, size: dict[str, int], layout: str, dtype: str) -> list[Any] | None:
    """The marks of a case of the grid below (None: not in the grid)."""
    if k.backend.name not in COMPILE_PER_SHAPE:
        return []
    sizes = small_sizes(k.op)
    if size == sizes[-1] and layout == "contiguous" and dtype == "float64":
        return []
    if size == sizes[min(1, len(sizes) - 1)] and (layout == "contiguous") != (dtype == "float64"):
        return [pytest.mark.exhaustive]
    return None


CASES = [
    pytest.param(k, size, layout, dtype, id=f"{kernel_id(k)}-{vb.registry.size_label(size)}-{layout}-{dtype}",
                 marks=_case_marks(k, size, layout, dtype) or ())
    for k in ALL_KERNELS
    for size, layout, dtype in itertools.product(
        small_sizes(k.op), LAYOUTS, ["float64", "float32"]
    )
    # The big size only in float64/contiguous keeps the pure-Python loops quick.
    if not (max(size.values()) > 1000 and (layout != "contiguous" or dtype != "float64")
            and k.backend.name == "python")
    # dask copies its inputs into chunks (the layout never reaches a kernel) and each call is a
    # scheduler round trip: contiguous inputs only.
    and not (k.backend.name == "dask" and layout != "contiguous")
    and _case_marks(k, size, layout, dtype) is not None
]
