"""``vecbench train``: train logistic regression (batch, mini-batch or stochastic GD), the cost per epoch."""

from __future__ import annotations

import argparse
from typing import Any

from .console import new_console
from .options import bad, names, positive, whole


def setup_arguments(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``train`` to the command's subparsers."""
    p = subparsers.add_parser("train", parents=parents, help="train logistic regression with batch, mini-batch or "
                              "stochastic GD")
    _add_train_options(p)
    p.set_defaults(fn=run)


def batch_arg(text: str) -> int | str:
    """Type: a batch size, a whole number >= 1 or ``full``."""
    if text.strip() == "full":
        return "full"
    try:
        return whole(1)(text)
    except argparse.ArgumentTypeError:
        raise bad("a whole number >= 1 or full", text) from None


def run(args: argparse.Namespace) -> int:
    """``vecbench train``: fit and print the cost per epoch."""
    import numpy as np
    from rich.table import Table

    import vecbench as vb

    from ..datasets import breast_cancer, make_classification
    from ..training import train

    if args.data == "breast-cancer":
        X, y = breast_cancer("mean")
        _check_train_args(args, X.shape[1])
        X = vb.kernel("standardize", vb.registry.baseline("vectorized"))(X)
    else:
        _check_train_args(args, None)
        X, y = make_classification(args.features, args.examples, seed=args.seed)
    model = train(X, y, batch_size=args.batch_size, epochs=args.epochs, lr=args.lr, backend=args.backend,
                  seed=args.seed)
    table = Table(title=f"{args.data} data, n_x={X.shape[0]}, m={X.shape[1]}: backend {args.backend}, "
                        f"batch {model.batch_size}, lr {args.lr}")
    for col in ("epoch", "cost J", "epoch time"):
        table.add_column(col, justify="right")
    table.add_row("0", f"{model.history[0]:.6f}", "-")
    for i, (c, t) in enumerate(zip(model.history[1:], model.epoch_times_s), 1):
        table.add_row(str(i), f"{c:.6f}", f"{t * 1e3:.2f} ms")
    console = new_console()
    console.print(table)
    console.print(f"training accuracy {model.accuracy(X, y):.4f}; |w| = {np.linalg.norm(model.w):.4g}, "
                  f"b = {model.b:.4g}")
    return 0


def _add_train_options(p: argparse.ArgumentParser) -> None:
    from ..registry import backends, baseline

    choices = backends("train_epoch")
    default = baseline("vectorized")
    p.add_argument("--backend", type=names(lambda: choices), default=[default], metavar="BACKEND",
                   help=f"one of {', '.join(choices)} (default: {default})")
    p.add_argument("--batch-size", type=batch_arg, default=32, metavar="N",
                   help="1 (SGD), N (mini-batch) or full (BGD), at most m (default: 32)")
    p.add_argument("--epochs", type=whole(1, 100_000), default=10, metavar="N", help="passes over the data (default: 10)")
    p.add_argument("--lr", type=positive(1e6, unit=""), default=0.1, metavar="RATE",
                   help="learning rate > 0 (default: 0.1)")
    p.add_argument("--data", choices=["synthetic", "breast-cancer"], default="synthetic",
                   help="choices: synthetic, breast-cancer (default: synthetic)")
    p.add_argument("--features", type=whole(1, 100_000), default=30, metavar="N",
                   help="synthetic data: n_x (default: 30)")
    p.add_argument("-m", "--examples", type=whole(1), default=100_000, metavar="M",
                   help="synthetic data: m (default: 100000)")
    p.add_argument("--seed", type=whole(0, 2**63 - 1), default=0, metavar="N",
                   help="data and shuffling seed (default: 0)")


def _check_train_args(args: argparse.Namespace, m: int | None) -> None:
    """Combinations checked before any work (one-line ValueErrors naming the option)."""
    if isinstance(args.backend, list):
        if len(args.backend) != 1:
            raise ValueError(f"--backend: one backend; got {','.join(args.backend)!r}")
        args.backend = args.backend[0]
    if m is None:  # synthetic data: X is n_x x m float64, plus copies while training
        from ..harness import _available_memory

        need = 3 * 8 * args.features * args.examples
        if need > _available_memory():
            raise ValueError(f"-m/--examples: {args.features} x {args.examples} examples need ~{need / 1e9:.3g} GB; "
                             f"only {_available_memory() / 1e9:.3g} GB of memory is available")
        m = args.examples
    if args.batch_size != "full" and args.batch_size > m:
        raise ValueError(f"--batch-size: from 1 to m = {m} or full; got {args.batch_size}")
