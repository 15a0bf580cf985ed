"""Seeded, cached input generation: every backend sees the same arrays.

Inputs are built by the op's ``make_inputs`` from ``np.random.default_rng(seed)``
and cached per (generator, size, dtype, seed), so all backends of an op (and
ops that share a generator, like ``logreg_cost`` and ``logreg_grad``) get the
very same arrays, and generation is never inside a timing. Cached arrays are
made read-only so that no kernel can change what the next one sees.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from .registry import OpSpec, Size, spec

__all__ = ["inputs", "inputs_dir", "clear_cache", "CACHE_LIMIT_BYTES"]

# Large sweeps (X of 100 x 1e6 float64 is 800 MB) must not pile up in memory.
CACHE_LIMIT_BYTES = 3 << 30

_cache: OrderedDict[tuple[Any, ...], tuple[Any, ...]] = OrderedDict()


def _nbytes(args: tuple[Any, ...]) -> int:
    return sum(a.nbytes for a in args if isinstance(a, np.ndarray))


def inputs(op: str | OpSpec, size: Size, dtype: Any = "float64", seed: int = 0) -> tuple[Any, ...]:
    """The public arguments of ``op`` for one problem size.

    Parameters
    ----------
    op : str or OpSpec
    size : mapping
        e.g. ``{"n": 1_000_000}`` or ``{"n_x": 100, "m": 10_000}``.
    dtype : dtype-like
        ``float64`` or ``float32``.
    seed : int
        Seed of ``np.random.default_rng``.

    Returns
    -------
    tuple
        Arguments to pass to any backend of ``op`` (read-only arrays).
    """
    s = spec(op) if isinstance(op, str) else op
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"inputs: dtype must be float32 or float64; got {dt}")
    key = (s.make_inputs, tuple(sorted(size.items())), dt.name, seed)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    args = s.make_inputs(size, dt, np.random.default_rng(seed))
    for a in args:
        if isinstance(a, np.ndarray):
            a.setflags(write=False)
    _cache[key] = args
    while len(_cache) > 1 and sum(_nbytes(v) for v in _cache.values()) > CACHE_LIMIT_BYTES:
        _cache.popitem(last=False)
    return args


def clear_cache() -> None:
    """Drop every cached input."""
    _cache.clear()


def inputs_dir() -> Path:
    """Where inputs kept on disk live (a backend streaming data larger than memory writes them once, here).

    ``VECBENCH_INPUTS_DIR``, else ``$XDG_CACHE_HOME/vecbench/inputs`` (``~/.cache/vecbench/inputs``).
    Each dataset is a folder named by its generator, size, dtype and seed: a later run finds it.
    """
    set_dir = os.environ.get("VECBENCH_INPUTS_DIR")
    if set_dir:
        return Path(set_dir)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vecbench" / "inputs"
