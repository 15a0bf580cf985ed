"""Compile the Numba kernels once, before a parallel test run, so its workers load them from the cache.

A fresh clone has an empty Numba cache: every (kernel, layout, dtype) the
tests call is compiled on first use, and with pytest-xdist two workers that
need the same signature both compile it. ``tests/conftest.py`` runs this
module in a few processes (``python warm_cache.py OP:BACKEND ...``), each
compiling its share with ``cache=True``, before the workers start. Best
effort: a kernel that fails here is simply compiled again, or reported, by
the tests themselves.
"""

from __future__ import annotations

import contextlib
import sys
import warnings

import numpy as np


def warm(names: list[str]) -> None:
    from cases import LAYOUTS

    import vecbench as vb
    from vecbench.data import inputs

    for name in names:
        op, backend = name.split(":")
        k = vb.kernel(op, backend)
        size = {key: 3 for key in k.op.sizes["quick"][0]}
        for dtype in ("float64", "float32"):
            for layout in LAYOUTS.values():
                args = tuple(layout(a) for a in inputs(k.op, size, dtype))
                # The tests report a kernel that fails; here only its compiled code matters.
                with warnings.catch_warnings(), contextlib.suppress(Exception):
                    warnings.simplefilter("ignore")
                    k(*args)


def jit_kernels() -> list[str]:
    """``op:backend`` of every available kernel whose backend compiles to an on-disk cache (Numba's)."""
    import vecbench as vb
    from vecbench.backends.numba import NumbaBackend

    return [f"{k.op.name}:{k.backend.name}" for k in vb.kernels()
            if k.available and isinstance(k.backend, NumbaBackend)]


if __name__ == "__main__":
    np.seterr(all="ignore")
    warm(sys.argv[1:])
