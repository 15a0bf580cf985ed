"""What an operation is: its spec (:class:`OpSpec`), its size axes (:class:`Axis`), a validated call (:class:`Call`).

The operation modules (:mod:`vecbench.operations`) build these and nothing else; the registry
(:mod:`vecbench.registry`) collects them. Keeping them here, below both, is what lets an op
module be written without importing the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Size = Mapping[str, int]

__all__ = ["DEFAULT_TOLERANCE", "Axis", "Call", "OpSpec", "Size", "size_label"]


def _identity_post(result: Any) -> Any:
    return result


@dataclass(frozen=True)
class Call:
    """Validated arguments for a kernel core, plus a post-processing step.

    ``args`` are what every backend's core receives (arrays already checked
    and cast to one float dtype, ``out`` allocated when the op has one);
    ``post`` turns the core's result into what the public function returns
    (e.g. ``float(...)`` for scalars, a reshape for :func:`sigmoid`).
    """

    args: tuple[Any, ...]
    post: Callable[[Any], Any] = _identity_post


def size_label(size: Size) -> str:
    """Readable label of a problem size: ``{"n": 10**6}`` -> ``"1e6"``, ``{"n_x": 100, "m": 1000}`` -> ``"100x1000"``."""
    return "x".join(_fmt(int(v)) for v in size.values())


def _fmt(v: int) -> str:
    if v >= 10_000:
        exp = len(str(v)) - 1
        lead, rest = divmod(v, 10**exp)
        if rest == 0:
            return f"{lead}e{exp}"
    return str(v)


# Default float tolerances against the float64 reference, by input dtype.
# float32 kernels compute in float32 (NumPy) or accumulate in float64 (loops,
# Numba), so they are compared at float32 precision.
DEFAULT_TOLERANCE: Mapping[str, tuple[float, float]] = {
    "float64": (1e-9, 1e-12),
    "float32": (2e-4, 1e-5),
}


@dataclass(frozen=True)
class Axis:
    """A size key that changes how an op's work is cut, not how much work there is.

    ``train_epoch``'s batch size is one: every batch size processes the same
    ``n_x x m`` examples. Reports draw such an axis as its own x axis, element
    counts leave it out, and the CLI offers ``--<option>`` to sweep it.

    Attributes
    ----------
    name : str
        The size key (``"batch"``).
    label : str
        Axis label in figures and tables.
    option : str
        Command-line option that sweeps it (``"batch-sizes"``).
    help : str
        Help text of that option.
    base : mapping
        The rest of the size when the command line gives no single number.
    parse : callable
        ``parse(text, base_size) -> int``: one value from the command line
        (e.g. ``"full"`` -> ``m``); raises ``ValueError`` naming what is allowed.
    steps : callable, optional
        ``steps(size) -> int``: how many pieces a call at ``size`` cuts its
        work into (gradient steps in an epoch), so the time budget can predict
        a call as steps x cost per step + elements x cost per element.
    """

    name: str
    label: str
    option: str
    help: str
    base: Mapping[str, int]
    parse: Callable[[str, Mapping[str, int]], int]
    steps: Callable[[Mapping[str, int]], int] | None = None


@dataclass(frozen=True)
class OpSpec:
    """What the registry knows about one operation.

    Attributes
    ----------
    name : str
        Operation name used everywhere (``"dot"``, ``"logreg_grad"``...).
    summary : str
        One line with the formula, shown by ``vecbench list`` and in reports.
    validate : callable
        ``validate(*args, **kwargs) -> Call``; raises ``ValueError``/``TypeError``
        naming the parameter. Shared by every backend.
    reference : callable
        ``reference(*inputs)`` -> float64 NumPy result for the op's inputs.
    make_inputs : callable
        ``make_inputs(size, dtype, rng) -> tuple`` of public arguments.
    sizes : mapping
        Sweeps by name: ``"quick"``, ``"default"``, ``"large"``.
    nbytes, flops : callable
        Minimum memory traffic ``nbytes(size, itemsize)`` and arithmetic
        ``flops(size)`` for one call: the basis of GB/s and GFLOP/s.
    has_out : bool
        Whether the op writes an array result and takes ``out=``.
    size_of : callable, optional
        Maps one number from the command line (``--sizes 1e3,1e5``) to a size;
        by default the op's only size key.
    tolerance : mapping
        ``{dtype name: (rtol, atol)}`` against the float64 reference.
    axes : tuple of Axis
        Size keys that cut the work without changing it (see :class:`Axis`).
    reference_label : str
        What ``reference`` is, in a disagreement message ("the float64
        reference"; for a user's computation, its reference kernel).
    temporary_unit : tuple of str
        Size keys whose product is the length of one temporary array of the op,
        the unit a call's temporary memory is counted in (:mod:`vecbench.memory`):
        ``("m",)`` for the logistic-regression ops (``z``, ``a``, ``dz`` hold one
        value per example). Default ``()``: every size key but the axes.
    ship : callable, optional
        For an op defined at run time (a user's computation, :func:`vecbench.compare`):
        ``ship(kernel name) -> bytes`` pickles a callable that registers the op in a
        worker process, or returns None for a kernel that cannot be sent there
        (it is then measured in the parent). None: the worker imports the op.
    order : int
        Where a built-in op comes in every listing (ascending): the op modules are
        discovered, not listed, so the lecture's order is stated here (spaced by
        ten, so a new op slots in without renumbering). 0 for an op from outside.
    """

    name: str
    summary: str
    validate: Callable[..., Call]
    reference: Callable[..., Any]
    make_inputs: Callable[[Size, np.dtype, np.random.Generator], tuple[Any, ...]]
    sizes: Mapping[str, Sequence[Size]]
    nbytes: Callable[[Size, int], int]
    flops: Callable[[Size], int]
    has_out: bool = False
    size_of: Callable[[int], dict[str, int]] | None = None
    tolerance: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: dict(DEFAULT_TOLERANCE)
    )
    axes: tuple[Axis, ...] = ()
    reference_label: str = "the float64 reference"
    temporary_unit: tuple[str, ...] = ()
    ship: Callable[[str], bytes | None] | None = None
    order: int = 0

    @property
    def size_keys(self) -> tuple[str, ...]:
        """The keys of a size of this op, extra axes included (``("n_x", "m", "batch")``)."""
        return tuple(self.sizes["default"][0])

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    def check_size(self, size: Mapping[str, Any]) -> dict[str, int]:
        """``size`` as a dict of ints, or ``ValueError`` naming the keys this op takes."""
        if not isinstance(size, Mapping):
            raise TypeError(f"{self.name}: a size must be a mapping such as "
                            f"{dict(self.sizes['default'][0])}; got {type(size).__name__}")
        keys = set(self.size_keys)
        if set(size) != keys:
            raise ValueError(f"{self.name}: a size needs the keys {sorted(keys)}; got {sorted(map(str, size))}")
        out = {}
        for k in self.size_keys:
            v = size[k]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{self.name}: size[{k!r}] must be a positive integer; got {v!r}")
            out[k] = int(v)
        return out

    def label(self, size: Size) -> str:
        """Readable label for ``size`` (used in ids, plots and JSON)."""
        return size_label(size)

    def size_from(self, value: int) -> dict[str, int]:
        """The size that one number ``value`` means for this op (see ``size_of``)."""
        if self.size_of is not None:
            return self.size_of(int(value))
        (key,) = self.size_keys
        return {key: int(value)}

    def tol(self, dtype: Any) -> tuple[float, float]:
        """``(rtol, atol)`` for inputs of ``dtype``."""
        return self.tolerance[np.dtype(dtype).name]
