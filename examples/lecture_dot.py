"""The lecture's first experiment, written as a user would: a for-loop dot product against ``np.dot``.

The slide timed one call of each at n = 1e6 with ``time.time()``: loop ~718 ms,
``np.dot`` ~33 ms. Here vecbench checks that they agree, then times both over a
sweep of sizes (median of calibrated samples, 95% intervals)::

    python examples/lecture_dot.py            # then: vecbench report lecture_dot.json
"""

import os

import numpy as np

import vecbench as vb

TINY = os.environ.get("VECBENCH_EXAMPLES_TINY") == "1"  # the tests run every example in seconds


def setup(n):
    rng = np.random.default_rng(0)
    return rng.random(n), rng.random(n)  # a tuple: each kernel is called as f(a, b)


def loop(a, b):
    c = 0.0
    for i in range(len(a)):
        c += a[i] * b[i]
    return c


def vectorized(a, b):
    return np.dot(a, b)


if __name__ == "__main__":
    sizes = [10, 100] if TINY else [10**k for k in range(2, 7)]
    results = vb.benchmark({"loop": loop, "np.dot": vectorized}, setup=setup, sizes=sizes, name="lecture_dot",
                         summary="c = sum_i a_i b_i", nbytes=lambda n: 16 * n, flops=lambda n: 2 * n, quick=TINY)
    for r in results:
        print(f"{r.backend:>7} n={r.label:>5}: {vb.results.format_time(r.median_s):>9}  {r.status} {r.reason}")
    n = max(sizes)
    t = {r.backend: r.median_s for r in results if r.size["n"] == n and r.ok}
    if len(t) == 2:
        print(f"at n = {n}: loop / np.dot = {t['loop'] / t['np.dot']:.0f}x (the slide, at n = 1e6: 718 ms / 33 ms)")
    results.save("lecture_dot.json")
    results.plot().savefig("lecture_dot.png")
    print("wrote lecture_dot.json and lecture_dot.png; draw the report with: vecbench report lecture_dot.json")
