"""Pairwise Euclidean distances of n points in 3-D: loops, NumPy broadcasting, Numba.

``D[i, j] = sqrt(sum_k (X[i, k] - X[j, k])**2)`` for an (n, 3) array X: the
loop visits every pair, NumPy broadcasts ``X[:, None, :] - X[None, :, :]``
(an n x n x 3 temporary), Numba compiles the loop::

    python examples/pairwise_distances.py     # then: vecbench report pairwise_distances.json
"""

import math
import os

import numpy as np
from numba import njit

import vecbench as vb

TINY = os.environ.get("VECBENCH_EXAMPLES_TINY") == "1"  # the tests run every example in seconds


def setup(n):
    return np.random.default_rng(0).random((n, 3))


def loop(X):
    n = len(X)
    D = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(3):
                d = X[i, k] - X[j, k]
                s += d * d
            D[i, j] = math.sqrt(s)
    return D


def broadcasting(X):
    diff = X[:, None, :] - X[None, :, :]
    return np.sqrt((diff**2).sum(axis=-1))


@njit(cache=True)
def compiled(X):
    n, dims = X.shape
    D = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(dims):
                d = X[i, k] - X[j, k]
                s += d * d
            D[i, j] = math.sqrt(s)
    return D


if __name__ == "__main__":
    sizes = [5, 10] if TINY else [10, 30, 100, 300, 1000, 3000]
    results = vb.benchmark({"loop": loop, "numpy": broadcasting, "numba": compiled}, setup=setup, sizes=sizes,
                         name="pairwise_distances", summary="D[i, j] = |X[i] - X[j]| for n points in 3-D",
                         nbytes=lambda n: 8 * (3 * n + n * n), flops=lambda n: 9 * n * n, quick=TINY)
    for r in results:
        print(f"{r.backend:>6} n={r.label:>5}: {vb.results.format_time(r.median_s):>9}  {r.status} {r.reason}")
    results.save("pairwise_distances.json")
    results.plot().savefig("pairwise_distances.png")
    print("wrote pairwise_distances.json and pairwise_distances.png; draw the report with: "
          "vecbench report pairwise_distances.json")
