"""A peer, side by side: scikit-learn's ``SGDClassifier`` against ``vb.train`` at batch size 1 (SGD).

Run: ``python benchmarks/sklearn_peer.py [--m 2e4] [--n-x 30] [--epochs 5] [--rounds 31] [--backend numba]``
(needs scikit-learn: ``pip install 'vecbench[peers]'``). On the same seeded data
(``vb.datasets.make_classification``, stored once example-major: scikit-learn gets the C-ordered
``(m, n_x)`` array, ``vb.train`` its transpose, a Fortran-ordered view; neither copies it), the same
algorithm (plain SGD on the unregularized cross-entropy, constant learning rate ``lr``, one example per
step, a fresh random order of the examples every epoch, the intercept fitted) and the same epochs:

- scikit-learn: ``SGDClassifier(loss="log_loss", penalty=None, learning_rate="constant", eta0=lr,
  tol=None, shuffle=True, max_iter=E)``, ``fit`` for a call of ``E`` epochs, and ``partial_fit`` (one
  epoch per call) for the cost of an epoch when a caller drives the epochs;
- vecbench: ``vb.train(X, y, batch_size=1, epochs=E, lr=lr, backend=...)``, which also records the cost
  on the whole training set before training and after every epoch (``Model.history``), and the time of
  each epoch's kernel (``Model.epoch_times_s``).

Each round times every call once, all of them back to back, so a slow moment of the machine hits both
libraries; each row gives the median over rounds with its 95% interval (:func:`vecbench.stats.median_ci`)
and the ratio vecbench / scikit-learn with the interval of the per-round ratios
(:func:`vecbench.stats.paired_ratio_ci`): below 1, vecbench is faster. The fixed cost per call and the
cost per epoch come from a least-squares line through the times of calls of 1..E epochs, per round.
The cost each library reaches after E epochs is printed too: the two trajectories differ (each
library draws its own orders), the costs should be close. Nothing is asserted; timing on a busy machine
says so in wide intervals.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import vecbench as vb
from vecbench.results import format_time
from vecbench.stats import median_ci, paired_ratio_ci

Samples = dict[str, list[float]]


def _clock(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def _sgd(lr: float, epochs: int, seed: int) -> Any:
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", penalty=None, learning_rate="constant", eta0=lr, tol=None,
                         shuffle=True, max_iter=epochs, random_state=seed)


def _line(epochs: Sequence[int], times: Sequence[float]) -> tuple[float, float]:
    """(fixed cost per call, cost per epoch): least squares ``t = fixed + E * per_epoch``."""
    slope, intercept = np.polyfit(np.asarray(epochs, dtype=float), np.asarray(times), 1)
    return float(intercept), float(slope)


def measure(A: np.ndarray, y: np.ndarray, lr: float, epochs: int, rounds: int, backend: str, seed: int) -> Samples:
    """Samples (seconds) per quantity, one per round; see the module docstring."""
    X = A.T  # vecbench's layout (n_x, m): here a Fortran-ordered view, no copy
    classes = np.array([0.0, 1.0])
    s: Samples = {}

    def add(key: str, value: float) -> None:
        s.setdefault(key, []).append(value)

    # Warm-up: Numba's compile (or cache load), scikit-learn's first-call imports and checks.
    vb.train(X, y, batch_size=1, epochs=1, lr=lr, backend=backend, seed=seed)
    _sgd(lr, 1, seed).fit(A, y)
    span = range(1, epochs + 1)
    for r in range(rounds):
        t_vb, t_sk = [], []
        for e in span:
            dt, model = _clock(vb.train, X, y, batch_size=1, epochs=e, lr=lr, backend=backend, seed=seed + r)
            t_vb.append(dt)
            dt, clf = _clock(_sgd(lr, e, seed + r).fit, A, y)  # the estimator's construction stays outside
            t_sk.append(dt)
        add("vb one-epoch call", t_vb[0])
        add("sk one-epoch call", t_sk[0])
        add(f"vb {epochs}-epoch call / {epochs}", t_vb[-1] / epochs)
        add(f"sk {epochs}-epoch call / {epochs}", t_sk[-1] / epochs)
        add("vb epoch kernel", float(np.median(model.epoch_times_s)))
        add("vb cost", model.history[-1])
        add("sk cost", vb.kernel("logreg_cost", "numpy")(clf.coef_.ravel(), clf.intercept_[0], X, y))
        for lib, times in (("vb", t_vb), ("sk", t_sk)):
            fixed, per_epoch = _line(list(span), times)
            add(f"{lib} fixed per call", fixed)
            add(f"{lib} per epoch (slope)", per_epoch)
        partial = _sgd(lr, 1, seed + r)
        partial.partial_fit(A, y, classes=classes)  # the first call sets the classes up; not counted
        walls = [_clock(partial.partial_fit, A, y)[0] for _ in span]
        add("sk partial_fit epoch", float(np.median(walls)))
    return s


ROWS = (
    # (label, vecbench key, scikit-learn key, what scikit-learn ran)
    ("one-epoch call", "vb one-epoch call", "sk one-epoch call", "fit, max_iter=1"),
    ("per epoch: {E}-epoch call / {E}", "vb {E}-epoch call / {E}", "sk partial_fit epoch", "partial_fit (one epoch)"),
    ("per epoch: {E}-epoch call / {E}", "vb {E}-epoch call / {E}", "sk {E}-epoch call / {E}", "fit, max_iter={E}, / {E}"),
    ("per epoch: slope over 1..{E} epochs", "vb per epoch (slope)", "sk per epoch (slope)", "fit, max_iter=1..{E}"),
    ("fixed cost per call: intercept", "vb fixed per call", "sk fixed per call", "fit, max_iter=1..{E}"),
)


def _time(t: float) -> str:
    return format_time(t) if t >= 0 else f"-{format_time(-t)}"  # a fitted intercept can come out below 0


def _cell(xs: Sequence[float], fmt: Callable[[float], str] = _time) -> str:
    ci = median_ci(xs)
    if ci is None:
        return "-"
    return f"{fmt(statistics.median(xs))} [{fmt(ci[0])}, {fmt(ci[1])}]"


def _ratio(a: Sequence[float], b: Sequence[float]) -> str:
    r = paired_ratio_ci(a, b)
    return "-" if r is None else f"{r[1]:.2f} [{r[0]:.2f}, {r[2]:.2f}]"


def table(s: Samples, epochs: int, backend: str) -> list[str]:
    """Markdown lines: one row per quantity, medians with 95% intervals, and the paired ratio."""
    lines = [f"| quantity | vb.train ({backend}) | scikit-learn | scikit-learn call | vecbench / scikit-learn |",
             "|---|---:|---:|---|---:|"]
    for label, vk, sk, call in ROWS:
        vk, sk = vk.format(E=epochs), sk.format(E=epochs)
        lines.append(f"| {label.format(E=epochs)} | {_cell(s[vk])} | {_cell(s[sk])} | {call.format(E=epochs)} | "
                     f"{_ratio(s[vk], s[sk])} |")
    lines.append(f"| epoch kernel alone (`Model.epoch_times_s`) | {_cell(s['vb epoch kernel'])} | | | |")
    cost = lambda v: f"{v:.4f}"
    lines.append(f"| training cost after {epochs} epochs | {_cell(s['vb cost'], cost)} | {_cell(s['sk cost'], cost)} "
                 "| | |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--m", type=float, default=2e4, help="examples (default 2e4)")
    p.add_argument("--n-x", type=int, default=30, help="features (default 30)")
    p.add_argument("--epochs", type=int, default=5, help="E: the longest call, in epochs (default 5)")
    p.add_argument("--rounds", type=int, default=31, help="rounds, each timing every call once (default 31)")
    p.add_argument("--lr", type=float, default=0.1, help="constant learning rate of both (default 0.1, vb.train's)")
    p.add_argument("--backend", default="numba", help="vb.train's backend (default numba)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.epochs < 2 or args.rounds < 1 or args.m < 2 or args.n_x < 1:
        p.error(f"need --epochs >= 2, --rounds >= 1, --m >= 2, --n-x >= 1; got {args.epochs}, {args.rounds}, "
                f"{args.m:g}, {args.n_x}")
    try:
        import sklearn
    except ImportError:
        print("sklearn_peer: needs scikit-learn: pip install 'vecbench[peers]'", file=sys.stderr)
        return 2
    try:
        vb.kernel("train_epoch", args.backend)
    except (KeyError, ImportError) as exc:
        p.error(f"--backend: {exc.args[0] if exc.args else exc}")
    m, n_x = int(args.m), args.n_x
    X, y = vb.datasets.make_classification(n_features=n_x, m=m, seed=args.seed)
    A = np.ascontiguousarray(X.T)  # example-major, as both libraries read it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached: intended, the epochs are fixed
        s = measure(A, y, args.lr, args.epochs, args.rounds, args.backend, args.seed)
    print(f"### SGD (batch size 1), n_x = {n_x}, m = {m:g}, lr = {args.lr:g}, {args.rounds} rounds; "
          f"vecbench {vb.__version__}, scikit-learn {sklearn.__version__}\n")
    print("\n".join(table(s, args.epochs, args.backend)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
