"""Data for training: a seeded synthetic problem and a small real one.

``breast_cancer`` is the Breast Cancer Wisconsin (Diagnostic) data set
(W. H. Wolberg, W. N. Street, O. L. Mangasarian; UCI Machine Learning
Repository, CC BY 4.0): 569 examples, 30 features, the same file that
scikit-learn ships, bundled here so that no download and no scikit-learn is
needed. Label 1 is benign, 0 malignant (scikit-learn's coding).

Shapes follow the lecture: ``X`` is ``(n_x, m)`` with one example per column,
``y`` is ``(m,)`` of 0/1 labels.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import Any

import numpy as np

from ._checks import check_count, check_positive

__all__ = ["make_classification", "breast_cancer", "FEATURES", "GROUPS"]

_KINDS = ["radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
          "concave points", "symmetry", "fractal dimension"]
FEATURES = [f"mean {k}" for k in _KINDS] + [f"{k} error" for k in _KINDS] + [f"worst {k}" for k in _KINDS]


GROUPS = {
    "all": FEATURES,
    "mean": FEATURES[:10],
    "error": FEATURES[10:20],
    "worst": FEATURES[20:],
}


def make_classification(n_features: int = 30, m: int = 100_000, seed: int = 0,
                        noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded logistic-regression problem that is not linearly separable.

    Features are standard normal; labels are drawn from a logistic model
    ``P(y=1) = sigmoid(w_true . x + b_true)`` whose logit spread is set by
    ``1 / noise``, so some examples always sit on the wrong side.

    Parameters
    ----------
    n_features : int, >= 1
    m : int, >= 2
        Examples; at least two, one of each class.
    seed : int, >= 0
    noise : float, finite and > 0
        Larger is noisier. ``0`` would make the labels a deterministic
        function of ``x`` (separable data) and is refused.

    Returns
    -------
    X : ndarray, shape (n_features, m)
    y : ndarray of 0.0/1.0, shape (m,)
        Always holds both classes: should the draw give one class only (a
        small ``m`` or a tiny ``noise``), the example most likely to belong
        to the other class is given that label.
    """
    op = "make_classification"
    n_features = check_count(op, "n_features", n_features, 1)
    m = check_count(op, "m", m, 2)
    seed = check_count(op, "seed", seed, 0)
    noise = check_positive(op, "noise", noise)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_features, m))
    w_dir = rng.standard_normal(n_features) * (2.0 / math.sqrt(n_features))
    # A tiny noise sends z to +-inf: exp(-z) = inf or 0, P(y=1) = 0 or 1, as it should.
    with np.errstate(over="ignore"):
        z = (w_dir @ X) / noise + 0.5
        p = 1.0 / (1.0 + np.exp(-z))
    y = (rng.random(m) < p).astype(np.float64)
    if y.min() == y.max():  # one class only: relabel the most ambiguous example
        j = int(np.argmin(z)) if y[0] == 1.0 else int(np.argmax(z))
        y[j] = 1.0 - y[0]
    return X, y


def _feature_names(features: Any) -> list[str]:
    groups = ", ".join(repr(g) for g in GROUPS)
    if isinstance(features, str):
        if features in GROUPS:
            return list(GROUPS[features])
        if features in FEATURES:
            return [features]
        raise ValueError(f"breast_cancer: features must be a group ({groups}), a feature name or a list of "
                         f"names; got {features!r}. Feature names: {FEATURES}")
    if not isinstance(features, (list, tuple)):
        raise TypeError(f"breast_cancer: features must be a str or a list of str; got {type(features).__name__}")
    names = list(features)
    if not names:
        raise ValueError(f"breast_cancer: features must name at least one feature; got an empty "
                         f"{type(features).__name__}. Groups: {groups}; feature names: {FEATURES}")
    bad_types = [n for n in names if not isinstance(n, str)]
    if bad_types:
        raise TypeError(f"breast_cancer: features must be a list of str; got {bad_types[0]!r} "
                        f"({type(bad_types[0]).__name__})")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"breast_cancer: unknown features {unknown}; available: {FEATURES} "
                         f"(or one group: {groups})")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"breast_cancer: features must not repeat a name; got {twice} more than once")
    return names


def breast_cancer(features: str | list[str] = "mean") -> tuple[np.ndarray, np.ndarray]:
    """The bundled breast-cancer data, raw (not standardized).

    Parameters
    ----------
    features : str or list of str
        A group: ``"mean"`` (default, the ten "mean ..." features),
        ``"error"``, ``"worst"`` or ``"all"`` (30); one feature name such as
        ``"mean radius"``; or a non-empty list of distinct names (see
        :data:`FEATURES`), in the order wanted. On the "mean" features the
        two classes overlap, so unregularized logistic regression has a
        finite optimum. With all 30 features the data is linearly separable:
        the cost keeps falling towards 0 as ``|w|`` grows and gradient
        descent never converges to a finite ``w``.

    Returns
    -------
    X : ndarray, shape (n_features, 569)
    y : ndarray of 0.0/1.0, shape (569,)
    """
    names = _feature_names(features)
    with resources.files("vecbench").joinpath("_data/breast_cancer.csv").open() as f:
        data = np.loadtxt(f, delimiter=",", skiprows=1)
    X, y = data[:, :-1], data[:, -1]
    cols = [FEATURES.index(n) for n in names]
    return np.ascontiguousarray(X[:, cols].T), y
