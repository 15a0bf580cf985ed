"""Check the harness against timeit, and that JIT compile time stays out of samples.

Run: ``python benchmarks/accuracy.py``. Prints both medians and their ratio
for ``np.dot`` at n = 1e6 measured in this one process, and a cold Numba
compile next to the samples of the same kernel. Exits 1 if the harness is
more than 5% away from timeit or a sample contains the compile.
"""

from __future__ import annotations

import os
import sys
import tempfile
import timeit

# A fresh cache dir so the Numba kernel below really compiles (set before numba loads).
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="vecbench-accuracy-")

import vecbench as vb  # noqa: E402
from vecbench.data import inputs  # noqa: E402
from vecbench.harness import Settings, measure  # noqa: E402

N = 10**6


def main() -> int:
    import numpy as np

    a, b = inputs("dot", {"n": N})
    settings = Settings(min_sample_s=0.01, repeats=15)
    ok = True
    ratios = []
    for attempt in range(3):  # interleave so drift on a shared machine hits both
        rec = measure(vb.kernel("dot", "numpy"), {"n": N}, settings=settings)
        number = rec.loops_per_sample
        times = timeit.repeat(lambda: np.dot(a, b), number=number, repeat=15)
        ref = min(times) / number  # timeit's recommended statistic: min of the means
        ratios.append(rec.median_s / ref)
        print(f"np.dot n=1e6 try {attempt + 1}: harness median {rec.median_s * 1e3:.4f} ms, "
              f"harness min {rec.min_s * 1e3:.4f} ms, timeit min-of-means {ref * 1e3:.4f} ms, "
              f"ratio median/timeit {ratios[-1]:.3f}")
    mid = sorted(ratios)[1]
    within = abs(mid - 1) <= 0.05
    ok &= within
    print(f"median of the three ratios {mid:.3f}: {'within' if within else 'OUTSIDE'} 5%")

    rec = measure(vb.kernel("dot", "numba"), {"n": N}, settings=Settings(repeats=7))
    clean = max(rec.samples_s) < 0.5 * rec.first_call_s
    ok &= clean and rec.from_cache is False
    print(f"numba dot n=1e6, cold cache: first call {rec.first_call_s * 1e3:.1f} ms "
          f"(compile_time_s {rec.compile_time_s * 1e3:.1f} ms, from_cache={rec.from_cache}); "
          f"samples {min(rec.samples_s) * 1e3:.3f}..{max(rec.samples_s) * 1e3:.3f} ms: "
          f"{'compile excluded' if clean else 'COMPILE LEAKED INTO A SAMPLE'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
