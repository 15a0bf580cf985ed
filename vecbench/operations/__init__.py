"""The operations, one module each, found here by :func:`discover` (no hand list).

Each op module ``<op>.py`` holds the operation's spec (validation, inputs,
reference, byte/flop counts, its place in listings), its ``python`` and
``numpy`` kernels, the loop and the vectorized line side by side, and
``KERNELS``: which function implements each of its ops in each built-in
backend, as ``"module:attr"`` strings imported on first use. The compiled and
framework kernels live in companions that only those strings name, so
discovery never imports them: ``<op>_numba.py`` (serial and parallel Numba),
``*_kernels.py`` (every op per framework, and the dask backend's streamed
``logreg_grad`` in ``dask_stream_kernels.py``) and private ``_*.py`` helpers.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from types import ModuleType

from ..opspec import OpSpec

__all__ = ["COMPANION_SUFFIXES", "discover"]

# Module names that are never op modules: importing them may import a framework (Numba, JAX...).
COMPANION_SUFFIXES = ("_numba", "_kernels")


def _op_modules(package: ModuleType) -> list[ModuleType]:
    """The op modules of ``package``: every public module but the companions, imported."""
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                   if not m.name.startswith("_") and not m.name.endswith(COMPANION_SUFFIXES))
    modules = [importlib.import_module(f"{package.__name__}.{name}") for name in names]
    return [m for m in modules if hasattr(m, "SPECS")]  # a light public helper may declare no op


def discover(package: ModuleType | None = None) -> tuple[list[OpSpec], dict[str, Mapping[str, str]]]:
    """Every op spec of ``package`` (default this one) in listing order, and its declared kernels.

    Returns ``(specs, kernels)``: the specs sorted by :attr:`OpSpec.order` (then
    name), and ``{op: {backend name: "module:attr"}}`` merged from the modules'
    ``KERNELS``. An op declared twice, or kernels for an op its module does not
    define, raise ``ValueError`` naming the module.
    """
    specs: dict[str, OpSpec] = {}
    kernels: dict[str, Mapping[str, str]] = {}
    for module in _op_modules(package or importlib.import_module(__name__)):
        for spec in module.SPECS:
            if spec.name in specs:
                raise ValueError(f"op {spec.name!r} is defined twice (again in {module.__name__})")
            specs[spec.name] = spec
        declared = getattr(module, "KERNELS", {})
        stray = sorted(set(declared) - {s.name for s in module.SPECS})
        if stray:
            raise ValueError(f"{module.__name__}.KERNELS names ops it does not define: {stray}; "
                             f"its ops: {[s.name for s in module.SPECS]}")
        kernels.update(declared)
    return sorted(specs.values(), key=lambda s: (s.order, s.name)), kernels
