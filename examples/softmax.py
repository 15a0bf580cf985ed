"""Softmax three ways (a loop over Python floats, NumPy, Numba), checked against each other, then timed.

``softmax(x)_i = exp(x_i - max x) / sum_j exp(x_j - max x)`` (shifted by the
maximum so that no exp overflows)::

    python examples/softmax.py                # then: vecbench report softmax.json
"""

import math
import os

import numpy as np
from numba import njit

import vecbench as vb

TINY = os.environ.get("VECBENCH_EXAMPLES_TINY") == "1"  # the tests run every example in seconds


def setup(n):
    return np.random.default_rng(0).standard_normal(n) * 10  # one array: each kernel is called as f(x)


def loop(x):
    m = max(x)
    e = [math.exp(v - m) for v in x]
    s = sum(e)
    return [v / s for v in e]


def vectorized(x):
    e = np.exp(x - x.max())
    return e / e.sum()


@njit(cache=True)
def compiled(x):
    m = x[0]
    for v in x:
        m = max(m, v)
    out = np.empty_like(x)
    s = 0.0
    for i in range(x.shape[0]):
        out[i] = math.exp(x[i] - m)
        s += out[i]
    for i in range(x.shape[0]):
        out[i] /= s
    return out


if __name__ == "__main__":
    sizes = [10, 100] if TINY else [10**k for k in range(2, 7)]
    results = vb.benchmark({"loop": loop, "numpy": vectorized, "numba": compiled}, setup=setup, sizes=sizes,
                         name="softmax", summary="y = exp(x - max x) / sum exp(x - max x)",
                         nbytes=lambda n: 16 * n, flops=lambda n: 4 * n, quick=TINY)
    for r in results:
        print(f"{r.backend:>6} n={r.label:>5}: {vb.results.format_time(r.median_s):>9}  {r.status} {r.reason}")
    results.save("softmax.json")
    results.plot().savefig("softmax.png")
    print("wrote softmax.json and softmax.png; draw the report with: vecbench report softmax.json")
