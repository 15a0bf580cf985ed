"""Check the harness against timeit, and that JIT compile time stays out of samples.

Run: ``python benchmarks/accuracy.py``. Prints both medians and their ratio
for ``np.dot`` at n = 1e6, the harness measuring in its worker process as
``vecbench run`` does and timeit in this process, and a cold Numba compile
next to the samples of the same kernel (in the worker too). Exits 1 if the harness is
more than 5% away from timeit or a sample contains the compile.
"""

from __future__ import annotations

import os
import sys
import tempfile
import timeit

# A fresh cache dir so the Numba kernel below really compiles (set before numba loads).
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="vecbench-accuracy-")

from vecbench.data import inputs  # noqa: E402
from vecbench.harness import Settings  # noqa: E402
from vecbench.worker import Task, Worker  # noqa: E402

N = 10**6


def _measure(worker: Worker, backend: str, settings: Settings):
    rec, reason, _ = worker.measure(Task("dot", backend, {"n": N}, "float64", None, settings), timeout_s=300)
    if rec is None:
        raise SystemExit(f"accuracy: dot {backend} failed in the worker: {reason}")
    return rec


def main() -> int:
    with Worker() as worker:  # where `vecbench run` measures
        return _check(worker)


def _check(worker: Worker) -> int:
    import numpy as np

    a, b = inputs("dot", {"n": N})
    settings = Settings(min_sample_s=0.01, repeats=15)
    ok = True
    ratios = []
    for attempt in range(3):  # interleave so drift on a shared machine hits both
        rec = _measure(worker, "numpy", settings)
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

    rec = _measure(worker, "numba", Settings(repeats=7))
    clean = max(rec.samples_s) < 0.5 * rec.first_call_s
    ok &= clean and rec.from_cache is False
    print(f"numba dot n=1e6, cold cache: first call {rec.first_call_s * 1e3:.1f} ms "
          f"(compile_time_s {rec.compile_time_s * 1e3:.1f} ms, from_cache={rec.from_cache}); "
          f"samples {min(rec.samples_s) * 1e3:.3f}..{max(rec.samples_s) * 1e3:.3f} ms: "
          f"{'compile excluded' if clean else 'COMPILE LEAKED INTO A SAMPLE'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
