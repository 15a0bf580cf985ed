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

import numpy as np

__all__ = ["make_classification", "breast_cancer", "FEATURES"]

_KINDS = ["radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
          "concave points", "symmetry", "fractal dimension"]
FEATURES = [f"mean {k}" for k in _KINDS] + [f"{k} error" for k in _KINDS] + [f"worst {k}" for k in _KINDS]


def make_classification(n_features: int = 30, m: int = 100_000, seed: int = 0,
                        noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded logistic-regression problem that is not linearly separable.

    Features are standard normal; labels are drawn from a logistic model
    ``P(y=1) = sigmoid(w_true . x + b_true)`` whose logit spread is set by
    ``1 / noise``, so some examples always sit on the wrong side.

    Returns
    -------
    X : ndarray, shape (n_features, m)
    y : ndarray of 0.0/1.0, shape (m,)
    """
    if n_features < 1 or m < 1:
        raise ValueError(f"make_classification: need n_features >= 1 and m >= 1; got {n_features}, {m}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_features, m))
    w_true = rng.standard_normal(n_features) * (2.0 / math.sqrt(n_features)) / noise
    z = w_true @ X + 0.5
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return X, y


def breast_cancer(features: str | list[str] = "mean") -> tuple[np.ndarray, np.ndarray]:
    """The bundled breast-cancer data, raw (not standardized).

    Parameters
    ----------
    features : "all", "mean" or list of names
        ``"mean"`` (default) is the ten "mean ..." features, on which the two
        classes overlap, so unregularized logistic regression has a finite
        optimum. With all 30 features the data is linearly separable: the
        cost keeps falling towards 0 as ``|w|`` grows and gradient descent
        never converges to a finite ``w``.

    Returns
    -------
    X : ndarray, shape (n_features, 569)
    y : ndarray of 0.0/1.0, shape (569,)
    """
    with resources.files("vecbench").joinpath("_data/breast_cancer.csv").open() as f:
        data = np.loadtxt(f, delimiter=",", skiprows=1)
    X, y = data[:, :-1], data[:, -1]
    if features == "all":
        names = FEATURES
    elif features == "mean":
        names = FEATURES[:10]
    else:
        names = list(features)
        unknown = sorted(set(names) - set(FEATURES))
        if unknown:
            raise ValueError(f"breast_cancer: unknown features {unknown}; available: {FEATURES}")
    cols = [FEATURES.index(n) for n in names]
    return np.ascontiguousarray(X[:, cols].T), y
