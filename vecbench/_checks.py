"""Input validation shared by every backend.

Every public kernel validates its arguments here, in Python, before any loop or
compiled code runs, so all backends raise the same ``ValueError``/``TypeError``
with the same text, and a Numba kernel is never handed shapes it could read out
of bounds with. Messages follow one pattern: ``"<op>: <param> <what was
expected>; got <what was given>"``.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "as_array",
    "as_vector",
    "as_scalar",
    "as_out",
    "common_float",
    "check_positive",
    "check_count",
    "check_finite",
    "scratch_out",
    "copy_back",
]

# Dtype kinds accepted as numeric input: bool, signed/unsigned int, float.
_NUMERIC_KINDS = "biuf"


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"{x.ndim}-D array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__}"


def _numeric(op: str, name: str, x: Any) -> np.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{op}: {name} must be a real numeric array; got {_describe(x)}")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        # Ragged nested sequences: NumPy's own text names neither op nor parameter.
        raise ValueError(
            f"{op}: {name} must be a rectangular real numeric array; got a ragged "
            f"{type(x).__name__} ({exc})"
        ) from None
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"{op}: {name} must be a real numeric array (bool, int or float dtype); "
            f"got dtype {arr.dtype}"
        )
    return arr


def _nonempty(op: str, name: str, arr: np.ndarray) -> np.ndarray:
    if arr.size == 0:
        raise ValueError(f"{op}: {name} must not be empty; got shape {arr.shape}")
    return arr


def as_array(op: str, name: str, x: Any, ndim: int) -> np.ndarray:
    """Return ``x`` as a non-empty real numeric array with ``ndim`` dimensions.

    Integers and bools are accepted as numbers; the float conversion happens
    in :func:`common_float`. Views are kept as views (no copy).
    """
    arr = _numeric(op, name, x)
    if arr.ndim != ndim:
        raise ValueError(f"{op}: {name} must be {ndim}-D; got {_describe(arr)}")
    return _nonempty(op, name, arr)


def as_vector(op: str, name: str, x: Any) -> np.ndarray:
    """Return ``x`` as a non-empty 1-D array.

    The lecture writes vectors as ``(n, 1)`` columns or ``(1, n)`` rows; both
    are accepted and viewed as 1-D ``(n,)``, which is the library's convention.
    """
    arr = _numeric(op, name, x)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(
            f"{op}: {name} must be a vector of shape (n,), (1, n) or (n, 1); got {_describe(arr)}"
        )
    return _nonempty(op, name, arr)


def as_scalar(op: str, name: str, x: Any) -> float:
    """Return ``x`` (a real number or a one-element array) as a finite Python float."""
    if isinstance(x, np.ndarray) and x.size == 1 and x.dtype.kind in _NUMERIC_KINDS:
        x = x.reshape(()).item()
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number; got {_describe(x)}")
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"{op}: {name} must be finite; got {value}")
    return value


def check_positive(op: str, name: str, x: Any) -> float:
    """Return ``x`` as a float, requiring ``x > 0``."""
    value = as_scalar(op, name, x)
    if value <= 0:
        raise ValueError(f"{op}: {name} must be > 0; got {value}")
    return value


def check_count(op: str, name: str, x: Any, lo: int, hi: int | None = None) -> int:
    """Return ``x`` as an int in ``[lo, hi]``; ``bool`` is refused (``True`` is not a count)."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be an int; got bool {x!r}")
    try:
        value = operator.index(x)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int; got {_describe(x)}") from None
    if value < lo or (hi is not None and value > hi):
        bound = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{op}: {name} must be an int {bound}; got {value}")
    return value


def check_finite(op: str, name: str, arr: np.ndarray) -> np.ndarray:
    """Refuse an array holding NaN or an infinity (where the op has no meaning for them)."""
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = arr[~np.isfinite(arr)].ravel()[0]
        count = int((~np.isfinite(arr)).sum())
        raise ValueError(f"{op}: {name} must hold only finite numbers; got {count} non-finite value(s) such as {bad}")
    return arr


def scratch_out(out: np.ndarray, *inputs: np.ndarray) -> np.ndarray:
    """``out`` itself, or a fresh array like it when it shares memory with an input.

    An ``out`` that is, or overlaps, an input would be overwritten while the
    kernel still reads that input (a different wrong answer per backend). The
    rule for every op with ``out=``: the kernel then computes into this scratch
    array and the result is copied into ``out`` afterwards, as NumPy's ufuncs
    do, so aliasing never changes the answer.
    """
    # may_share_memory compares address bounds: cheap, never "too hard", and
    # conservative (interleaved views also take the scratch path, still correct).
    if any(np.may_share_memory(out, a) for a in inputs if isinstance(a, np.ndarray)):
        return np.empty(out.shape, dtype=out.dtype)
    return out


def copy_back(scratch: np.ndarray, out: np.ndarray) -> Callable[[Any], np.ndarray]:
    """A ``Call.post`` that returns ``out``, first copying ``scratch`` into it when they differ."""
    if scratch is out:
        return lambda r: out

    def post(r: Any) -> np.ndarray:
        out[...] = scratch
        return out

    return post


def common_float(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cast arrays to one float dtype: float32 if every input is float32, else float64.

    Float arrays already of that dtype are returned unchanged (no copy), so
    non-contiguous views reach the kernels as views.
    """
    all32 = all(a.dtype == np.float32 for a in arrays)
    dtype = np.float32 if all32 else np.float64
    return tuple(a if a.dtype == dtype else a.astype(dtype) for a in arrays)


def as_out(op: str, out: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Validate a caller-provided ``out`` array, or allocate one.

    ``out`` must match the result's shape and dtype exactly and be writeable,
    as NumPy's ufuncs require; no silent casting.
    """
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{op}: out must be a numpy.ndarray; got {_describe(out)}")
    if out.shape != shape:
        raise ValueError(f"{op}: out must have shape {shape}; got shape {out.shape}")
    if out.dtype != dtype:
        raise TypeError(f"{op}: out must have dtype {np.dtype(dtype)}; got dtype {out.dtype}")
    if not out.flags.writeable:
        raise ValueError(f"{op}: out must be writeable; got a read-only array")
    return out
