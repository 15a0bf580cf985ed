"""A third-party vecbench backend, as a package outside vecbench would ship it.

One module: a Backend subclass declaring its kernels. vecbench finds it
through the ``vecbench.backends`` entry point in this package's metadata
(``toyvb-0.1.dist-info/entry_points.txt``), with no edit to vecbench.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from vecbench.backends import Backend


def dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum: a different vectorized route to the same sum.
    return float(np.einsum("i,i->", a, b))


def col_percent(A: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.multiply(A, 100.0 / A.sum(axis=0), out=out)
    return out


class ToyBackend(Backend):
    name = "toy"
    description = "einsum-based toy backend installed from outside vecbench"
    role = "other"
    style: ClassVar[dict[str, str]] = {"color": "#17becf", "marker": "P"}
    kernels: ClassVar[dict[str, Any]] = {"dot": dot, "col_percent": col_percent}
