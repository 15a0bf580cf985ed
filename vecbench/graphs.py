"""The lecture's computation graph ``J = 3(a + bc)``, built in NumPy, JAX and PyTorch.

The lecture draws the graph ::

    a ----------------\\
    b --\\               v = a + u --> J = 3v
         u = b c ------/
    c --/

at ``a = 5, b = 3, c = 2`` (``u = 6, v = 11, J = 33``), then walks it
backwards with the chain rule: ``dJ/dv = 3``, ``dJ/du = dJ/dv dv/du = 3``,
``dJ/da = 3``, ``dJ/db = dJ/du c = 6``, ``dJ/dc = dJ/du b = 9``, and checks a
derivative by nudging an input: ``a`` from 5 to 5.001 moves ``J`` to 33.003
(3 times the nudge); ``b`` from 3 to 3.001 moves ``u`` to 6.002 and ``J`` to
33.006 (6 times).

:func:`lecture_graph` reproduces all of it in one framework:

- ``"numpy"``: the backward pass written out by hand, as on the slide;
- ``"jax"``: ``jax.grad`` of the traced function (the static graph); the
  derivatives with respect to the intermediate nodes ``u`` and ``v`` are those
  with respect to zero offsets added to them;
- ``"torch"``: the graph recorded while the forward pass runs (the dynamic
  graph), then ``J.backward()``; ``u`` and ``v`` keep their gradients
  (``retain_grad``).

The nudge table re-runs the framework's forward pass with one input moved by
``h`` and reports the finite difference ``(J' - J) / h``. Everything is float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FRAMEWORKS", "LectureGraph", "Nudge", "lecture_graph"]

FRAMEWORKS = ("numpy", "jax", "torch")


@dataclass(frozen=True)
class Nudge:
    """One row of the slide's table: one input moved by ``h``, the graph run forward again."""

    name: str
    before: float
    after: float
    u: float
    v: float
    J: float
    slope: float  # (J' - J) / h, the finite-difference dJ/d<name>


@dataclass(frozen=True)
class LectureGraph:
    """Forward values, backward derivatives and the nudge table of ``J = 3(a + bc)``.

    Attributes
    ----------
    framework : str
    inputs : dict
        ``{"a": 5.0, "b": 3.0, "c": 2.0}``.
    u, v, J : float
        The forward pass: ``u = bc``, ``v = a + u``, ``J = 3v``.
    grads : dict
        ``{"v": dJ/dv, "u": dJ/du, "a": dJ/da, "b": dJ/db, "c": dJ/dc}``, from
        the framework's backward pass.
    h : float
        The nudge.
    nudges : tuple of Nudge
        One row per input, in the order a, b, c.
    """

    framework: str
    inputs: dict[str, float]
    u: float
    v: float
    J: float
    grads: dict[str, float]
    h: float
    nudges: tuple[Nudge, ...]


def _forward_numpy(a: float, b: float, c: float) -> tuple[float, float, float]:
    import numpy as np

    u = np.float64(b) * np.float64(c)
    v = np.float64(a) + u
    return float(u), float(v), float(3.0 * v)


def _numpy(a: float, b: float, c: float) -> tuple[Callable[..., tuple[float, float, float]], dict[str, float]]:
    # The slide's backward pass, one local derivative per edge.
    dJ_dv = 3.0                # J = 3v
    dJ_du = dJ_dv * 1.0        # v = a + u
    grads = {"v": dJ_dv, "u": dJ_du, "a": dJ_dv * 1.0, "b": dJ_du * c, "c": dJ_du * b}
    return _forward_numpy, grads


def _jax(a: float, b: float, c: float) -> tuple[Callable[..., tuple[float, float, float]], dict[str, float]]:
    import jax

    def graph(a: Any, b: Any, c: Any, du: Any = 0.0, dv: Any = 0.0) -> tuple[Any, Any, Any]:
        u = b * c + du  # du, dv: zero offsets whose gradients are dJ/du, dJ/dv
        v = a + u + dv
        return u, v, 3.0 * v

    def forward(a: float, b: float, c: float) -> tuple[float, float, float]:
        with jax.enable_x64(True):
            return tuple(float(t) for t in jax.jit(graph)(a, b, c))  # type: ignore[return-value]

    with jax.enable_x64(True):
        g = jax.grad(lambda *x: graph(*x)[2], argnums=(0, 1, 2, 3, 4))(a, b, c, 0.0, 0.0)
    grads = {"v": float(g[4]), "u": float(g[3]), "a": float(g[0]), "b": float(g[1]), "c": float(g[2])}
    return forward, grads


def _torch(a: float, b: float, c: float) -> tuple[Callable[..., tuple[float, float, float]], dict[str, float]]:
    import torch

    def forward(a: float, b: float, c: float) -> tuple[float, float, float]:
        with torch.no_grad():
            u = torch.tensor(b, dtype=torch.float64) * c
            v = a + u
            return float(u), float(v), float(3.0 * v)

    ta, tb, tc = (torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (a, b, c))
    u = tb * tc  # the graph is recorded as these lines run
    v = ta + u
    u.retain_grad()
    v.retain_grad()
    J = 3.0 * v
    J.backward()
    grads = {name: _grad_of(t) for name, t in (("v", v), ("u", u), ("a", ta), ("b", tb), ("c", tc))}
    return forward, grads


def _grad_of(t: Any) -> float:
    # ``Tensor.grad`` is Optional in torch's stubs; every tensor here took part in backward().
    if t.grad is None:
        raise RuntimeError("lecture graph: a tensor received no gradient")
    return float(t.grad)


def lecture_graph(framework: str = "numpy", a: float = 5.0, b: float = 3.0, c: float = 2.0,
                  h: float = 1e-3) -> LectureGraph:
    """Build ``J = 3(a + bc)`` in ``framework``, run it forward and backward, and nudge each input.

    Parameters
    ----------
    framework : {"numpy", "jax", "torch"}
    a, b, c : float
        The inputs (the slide's 5, 3, 2 by default).
    h : float
        The nudge of the finite-difference table (the slide's 0.001).

    Returns
    -------
    LectureGraph

    Raises
    ------
    ValueError
        For an unknown framework.
    ImportError
        When the framework is not installed, with the pip command.

    Examples
    --------
    >>> g = lecture_graph("numpy")
    >>> g.u, g.v, g.J, g.grads["c"], round(g.nudges[1].J, 9)
    (6.0, 11.0, 33.0, 9.0, 33.006)
    """
    builders = {"numpy": _numpy, "jax": _jax, "torch": _torch}
    if framework not in builders:
        raise ValueError(f"lecture_graph: framework must be one of {list(FRAMEWORKS)}; got {framework!r}")
    if not h > 0:
        raise ValueError(f"lecture_graph: h must be > 0; got {h!r}")
    import importlib.util

    if framework != "numpy" and importlib.util.find_spec(framework) is None:
        raise ImportError(f"lecture_graph: framework {framework!r} is not installed: pip install 'vecbench[{framework}]'")
    a, b, c = float(a), float(b), float(c)
    forward, grads = builders[framework](a, b, c)
    u, v, J = forward(a, b, c)
    point = {"a": a, "b": b, "c": c}
    nudges = []
    for name in ("a", "b", "c"):
        moved = dict(point, **{name: point[name] + h})
        u2, v2, J2 = forward(moved["a"], moved["b"], moved["c"])
        nudges.append(Nudge(name, point[name], moved[name], u2, v2, J2, (J2 - J) / h))
    return LectureGraph(framework, point, u, v, J, grads, h, tuple(nudges))
