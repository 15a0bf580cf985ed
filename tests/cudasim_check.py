"""Run the ``numba_cuda`` kernels in Numba's CUDA simulator and check them against the float64 reference.

Run as a script with ``NUMBA_ENABLE_CUDASIM=1`` (tests/test_numba_cuda_sim.py
does, in a subprocess, so that the simulator never replaces a real device in
the test process): it prints one JSON line per case, ``{"case": id,
"error": ""}`` when the kernel agreed with the reference. Each case goes
through the real harness's ``prepare`` (copies, the first call, ``sync``,
``finalize`` and the comparison with the op's tolerance), never timed; the
odd-value cases call the kernel and compare with the reference NaN for NaN.
Importing this module defines the cases only (no Numba).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

# (op, size): one element; an odd shape; one larger than the simulator's grid (4 blocks x 32 threads), so the
# grid-stride loops, several blocks and the second reduction pass all run.
SIZES: dict[str, list[dict[str, int]]] = {
    "dot": [{"n": 1}, {"n": 37}, {"n": 300}],
    "sigmoid": [{"n": 1}, {"n": 300}],
    "matvec": [{"n": 1, "k": 1}, {"n": 3, "k": 70}],
    "col_percent": [{"m": 1, "n": 1}, {"m": 7, "n": 150}],
    "standardize": [{"n_x": 1, "m": 1}, {"n_x": 3, "m": 70}],
    "logreg_cost": [{"n_x": 1, "m": 1}, {"n_x": 3, "m": 150}],
    "logreg_grad": [{"n_x": 1, "m": 1}, {"n_x": 3, "m": 150}],
    "logreg_step": [{"n_x": 2, "m": 150}],
    "train_epoch": [{"n_x": 1, "m": 1, "batch": 1}, {"n_x": 3, "m": 70, "batch": 32}],
    "mlp_step": [{"N": 1, "D_in": 1, "H": 1, "D_out": 1}, {"N": 5, "D_in": 7, "H": 4, "D_out": 3}],
}
DTYPES = ("float64", "float32")

INF, NAN = np.inf, np.nan
# Odd values, each op's NaN/inf rule (float64).
ODD: dict[str, list[tuple[Any, ...]]] = {
    "dot": [(np.array([1e308, 1e308, -1e308]), np.ones(3)), (np.array([0.0, 1.0]), np.array([INF, 1.0])),
            (np.array([NAN, 1.0]), np.ones(2)), (np.array([INF, 1.0]), np.array([1.0, -INF]))],
    "sigmoid": [(np.array([NAN, INF, -INF, 0.0, 800.0, -800.0, 1e-310]),)],
    "matvec": [(np.array([[1e308, 1e308], [NAN, 1.0], [INF, 0.0]]), np.array([1.0, -1.0]))],
    "col_percent": [(np.array([[1e308, 1.0, NAN, INF, 0.0, 1e-310], [1e308, 3.0, 1.0, 2.0, 0.0, 1e-310]]),)],
    "standardize": [(np.array([[1e300, -1e300, 3e300], [5.0, 5.0, 5.0], [1.0, NAN, 2.0], [1e-200, 2e-200, 0.0]]),)],
    "logreg_grad": [(np.array([1.0, 2.0]), 0.1, np.array([[1.0, NAN, 0.5], [0.2, 0.3, 0.4]]), np.array([1.0, 0.0, 1.0])),
                    (np.array([1e200, 1.0]), 0.0, np.array([[1e200, -1e200, 1.0], [1.0, 1.0, 1.0]]),
                     np.array([1.0, 0.0, 1.0]))],
    "mlp_step": [(np.array([[1.0, NAN]]), np.ones((1, 2)), np.ones((2, 3)), np.ones((3, 2)), 0.1)],
}


def _cases() -> list[tuple[str, dict[str, int], str]]:
    """(op, size, dtype): every size in float64, the larger one in float32 too (the simulator is slow)."""
    return [(op, s, dt) for op, sizes in SIZES.items() for i, s in enumerate(sizes) for dt in DTYPES
            if dt == "float64" or i == len(sizes) - 1]


def _id(op: str, size: dict[str, int], dtype: str) -> str:
    return f"{op}-{'x'.join(map(str, size.values()))}-{dtype}"


def case_ids() -> list[str]:
    return [_id(*c) for c in _cases()] + [f"{op}-odd{i}" for op, cases in ODD.items() for i in range(len(cases))]


def _compare(got: Any, want: Any) -> str:
    pairs = list(zip(got, want)) if isinstance(want, tuple) else [(got, want)]
    for g, w in pairs:
        g, w = np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64)
        if g.shape != w.shape or not np.allclose(g, w, rtol=1e-12, atol=0.0, equal_nan=True):
            return f"got {g.tolist()}, reference {w.tolist()}"
    return ""


def main() -> None:
    from numba import config

    if not config.ENABLE_CUDASIM:
        sys.exit("cudasim_check: set NUMBA_ENABLE_CUDASIM=1")
    import vecbench as vb
    from vecbench import registry
    from vecbench.backends.numba_cuda import NumbaCudaBackend
    from vecbench.harness import prepare

    class Simulated(NumbaCudaBackend):
        """The numba_cuda backend, made available for the simulator (never the case outside this script)."""

        @property
        def available(self) -> bool:
            return True

    backend = Simulated()

    def say(case: str, error: str) -> None:
        print(json.dumps({"case": case, "error": error}), flush=True)

    for op, size, dt in _cases():
        k = registry.Kernel(vb.spec(op), backend, vb.kernels([op], ["numba_cuda"])[0].target)
        case = _id(op, size, dt)
        try:
            p = prepare(k, size, dt)
            say(case, p.reason or ("" if p.transfers.get("out") is not None else "no copy back recorded"))
        except Exception as exc:  # noqa: BLE001  reported per case
            say(case, f"{type(exc).__name__}: {exc}")
    for op, cases in ODD.items():
        k = registry.Kernel(vb.spec(op), backend, vb.kernels([op], ["numba_cuda"])[0].target)
        for i, args in enumerate(cases):
            try:
                with np.errstate(all="ignore"):  # the simulator computes with NumPy scalars, which warn
                    say(f"{op}-odd{i}", _compare(k(*args), k.op.reference(*args)))
            except Exception as exc:  # noqa: BLE001
                say(f"{op}-odd{i}", f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
