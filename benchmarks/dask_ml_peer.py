"""A peer, side by side: dask-ml's gradient-descent logistic regression against vecbench's dask and NumPy BGD epochs.

Run: ``python benchmarks/dask_ml_peer.py [--m 1e6] [--n-x 30] [--workers N]`` (needs ``pip install 'vecbench[peers]'``:
dask-ml and the dask extra). On the same seeded data (``logreg_step``'s inputs, ``X`` of shape ``(n_x, m)``):

- dask-ml: ``LogisticRegression(solver="gradient_descent", tol=0)`` fitted with ``max_iter`` = 2 and 2 + K on
  ``X.T`` persisted in chunks of examples on an embedded LocalCluster like the dask backend's; time per
  iteration = (t(2 + K) - t(2)) / K (dask-glm's iteration includes its backtracking line search, so it
  evaluates the cost more than once: a different algorithm step, the same work per pass over the data);
- vecbench ``logreg_step`` (one step of batch gradient descent on the whole data: forward pass, gradient,
  update; no shuffle, as dask-ml's iteration has none; ``train_epoch`` with ``batch = m`` would add a gather of
  every column in a random order) on the ``dask`` and ``numpy`` backends, through ``vb.run`` (validated
  against the reference, calibrated, inputs persisted apart).

Prints a Markdown table (seconds per pass over the data); nothing is asserted.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings

import numpy as np

import vecbench as vb
from vecbench.data import inputs
from vecbench.harness import Settings
from vecbench.machine import cpu_count


def dask_ml_per_iteration(X: np.ndarray, y: np.ndarray, workers: int, chunk: int, k: int, repeats: int) -> float:
    import dask.array as da
    from dask_ml.linear_model import LogisticRegression
    from distributed import Client, LocalCluster, wait

    warnings.simplefilter("ignore", RuntimeWarning)  # dask-glm's own sigmoid overflows exp on this data
    # The data go to the workers once, in the graph, before any timing: distributed's advice against it does not apply.
    warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
    # CRITICAL: a worker closing after its scheduler logs a failed heartbeat (a harmless traceback) otherwise.
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, worker_dashboard_address="127.0.0.1:0",
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        Xd = client.persist(da.from_array(np.ascontiguousarray(X.T), chunks=(chunk, X.shape[0])))
        yd = client.persist(da.from_array(y, chunks=chunk))
        wait([Xd, yd])

        def fit(iters: int) -> float:
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                LogisticRegression(solver="gradient_descent", max_iter=iters, tol=0.0).fit(Xd, yd)
                best = min(best, time.perf_counter() - t0)
            return best

        return (fit(2 + k) - fit(2)) / k


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--m", type=float, default=1e6)
    p.add_argument("--n-x", type=int, default=30)
    p.add_argument("--workers", type=int, default=cpu_count())
    p.add_argument("--iterations", type=int, default=5, help="K: extra dask-ml iterations timed (default 5)")
    p.add_argument("--quick", action="store_true", help="quick harness settings (a smoke run)")
    args = p.parse_args(argv)
    try:
        import dask_ml  # noqa: F401
    except ImportError:
        print("dask_ml_peer: needs dask-ml: pip install 'vecbench[peers]'", file=sys.stderr)
        return 2
    m, n_x = int(args.m), args.n_x
    size = {"n_x": n_x, "m": m}
    w, b, X, y, lr = inputs("logreg_step", size)
    chunk = max(1, -(-m // (2 * args.workers)))
    settings = Settings.quick() if args.quick else Settings()
    res = vb.run(ops=["logreg_step"], backends=["numpy", "dask"], sizes=[size], threads=args.workers,
                 settings=settings, bandwidth=False, dask_chunks=chunk)
    rows = {r.backend: r.median_s if r.ok else f"{r.status}: {r.reason}" for r in res.records}
    rows["dask-ml gradient_descent"] = dask_ml_per_iteration(X, y, args.workers, chunk, args.iterations,
                                                             1 if args.quick else 3)
    print(f"### One pass of batch gradient descent, n_x = {n_x}, m = {m:g}, {args.workers} workers, "
          f"{chunk} examples per chunk\n")
    print("| implementation | time per iteration |\n|---|---:|")
    for name, t in rows.items():
        print(f"| {name} | {vb.results.format_time(t) if isinstance(t, float) else t} |")
    print(f"\nvecbench rows: median per call (validated, calibrated); dask-ml: best of {1 if args.quick else 3} fit(s), "
          f"(t({2 + args.iterations} iterations) - t(2)) / {args.iterations}. {_versions()}")
    busy = [r.backend for r in res.records if r.is_contended or r.noisy]
    if busy:
        print(f"Not quotable: the machine was busy or the samples noisy while measuring {', '.join(busy)}.")
    return 0


def _versions() -> str:
    import importlib.metadata as md
    import os

    names = ("numpy", "dask", "distributed", "dask-ml", "dask-glm")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (", ".join(f"{n} {md.version(n)}" for n in names) + f"; {cpu_count()} cores, load average {load:.2f} "
            "at the end.")


if __name__ == "__main__":
    sys.exit(main())
