"""``vecbench graph``: the lecture's computation graph J = 3(a + bc), forward, backward and nudges."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def setup_arguments(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``graph`` to the command's subparsers (without the per-command ``--debug``, as it always was)."""
    p = subparsers.add_parser("graph", help="the lecture's computation graph J = 3(a + bc): forward, backward, "
                              "nudge table")
    p.add_argument("--framework", choices=["numpy", "jax", "torch"], default="numpy",
                   help="numpy: chain rule by hand; jax: jax.grad (static graph); torch: backward() (dynamic graph)")
    p.add_argument("--h", type=float, default=1e-3, help="the nudge (default 0.001, the slide's)")
    p.set_defaults(fn=run)


def run(args: argparse.Namespace) -> int:
    from ..graphs import lecture_graph

    try:
        g = lecture_graph(args.framework, h=args.h)
    except ImportError as exc:
        print(f"vecbench graph: error: {exc}", file=sys.stderr)
        return 2
    a, b, c = (_num(g.inputs[k]) for k in "abc")
    how = {"numpy": "chain rule by hand", "jax": "jax.grad of the traced graph (static)",
           "torch": "J.backward() on the graph recorded while it ran (dynamic)"}[g.framework]
    print(f"J = 3(a + bc) at a = {a}, b = {b}, c = {c}   [{g.framework}]")
    print(f"forward:   u = bc = {_num(g.u)}   v = a + u = {_num(g.v)}   J = 3v = {_num(g.J)}")
    print("backward:  " + "   ".join(f"dJ/d{k} = {_num(g.grads[k])}" for k in ("v", "u", "a", "b", "c"))
          + f"   ({how})")
    print(f"nudges (h = {_num(g.h)}): each input moved alone, the graph run forward again")
    print(f"  {'input':<6}{'from -> to':<16}{'u':>10}{'v':>10}{'J':>10}{'(J - 33)/h':>14}".replace("33", _num(g.J)))
    for n in g.nudges:
        print(f"  {n.name:<6}{_num(n.before) + ' -> ' + _num(n.after):<16}{_num(n.u):>10}{_num(n.v):>10}"
              f"{_num(n.J):>10}{round(n.slope, 6):>14g}")
    return 0


def _num(x: float) -> str:
    """A value of the lecture's graph as the slide writes it (33.003, not 33.003000000000004)."""
    return f"{round(x, 9):g}"
