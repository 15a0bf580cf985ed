"""A STREAM-style memory-bandwidth probe, so reports can say "X% of this machine's bandwidth".

STREAM counts the bytes a kernel must move (copy: 2 arrays, triad
``a = b + s c``: 3 arrays) and ignores write-allocate traffic; so do we, and so
do the per-op byte counts, so the two are comparable. Each array is sized by
STREAM's rule, at least four times the last-level cache (bounded by the memory
available), so it measures memory, not cache; the probe is repeated in rounds,
each under a contention probe, and says what it could measure (:func:`describe`).
"""

from __future__ import annotations

import functools
import importlib.util
import time
from collections.abc import Callable

import numpy as np

__all__ = ["array_elements", "combine", "contended", "describe", "measure_bandwidth", "measure_peak_gflops", "rates"]


def _best(fn: Callable[[], object], repeats: int) -> float:
    fn()  # first touch / page faults / compile happen here, untimed
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn()
        best = min(best, (time.perf_counter_ns() - t0) * 1e-9)
    return best


# STREAM's rule: each array at least four times the largest cache, so the timing is of memory, not cache.
STREAM_FACTOR = 4
# Never less than this per array (machines whose cache size is unknown), never more than this share of the
# memory available for all three arrays together.
MIN_ARRAY_BYTES = 80_000_000
MEMORY_SHARE = 0.25
# The keys of a probe's dict that are rates (GB/s), as opposed to what the probe says about itself.
RATES = ("copy_", "triad_")


def array_elements(llc_bytes: int | None, available_bytes: int | None, arrays: int = 3) -> tuple[int, bool]:
    """Float64 elements per array, and whether that meets STREAM's rule (>= 4x the last-level cache).

    The arrays take at most :data:`MEMORY_SHARE` of ``available_bytes``
    together; when that is less than STREAM's rule asks, the probe measures
    partly cache and says so. An unknown cache size: :data:`MIN_ARRAY_BYTES`
    per array and the rule counted as unknown (False).
    """
    want = max(STREAM_FACTOR * (llc_bytes or 0), MIN_ARRAY_BYTES)
    if available_bytes:
        want = min(want, int(available_bytes * MEMORY_SHARE / arrays))
    n = max(1, want // 8)
    return n, bool(llc_bytes) and 8 * n >= STREAM_FACTOR * (llc_bytes or 0)


def _available_bytes() -> int | None:
    try:
        import psutil
    except ImportError:  # a dependency, but a stripped environment must still measure
        return None
    return int(psutil.virtual_memory().available)


def combine(rounds: list[tuple[dict[str, float], bool, float | None]]) -> dict[str, float]:
    """One probe's result from its rounds ``(rates, contended, others' CPU share)``.

    Rounds timed on a quiet machine are kept when there are any (else all,
    and the result is marked contended); each rate is the best of the kept
    rounds (STREAM's convention); ``spread`` is how far the kept rounds' best
    rates lie apart, as a fraction of the largest.
    """
    quiet = [r for r in rounds if not r[1]]
    kept = quiet or rounds
    names = list(dict.fromkeys(k for rates, _, _ in kept for k in rates))
    out = {k: max(rates[k] for rates, _, _ in kept if k in rates) for k in names}
    bests = [max(rates.values()) for rates, _, _ in kept if rates]
    out["best"] = max(out.values()) if out else 0.0
    out["spread"] = (max(bests) - min(bests)) / max(bests) if bests and max(bests) > 0 else 0.0
    out["rounds"] = float(len(rounds))
    out["contended"] = 0.0 if quiet else 1.0
    shares = [c for _, _, c in kept if c is not None]
    if shares:
        out["contention"] = round(max(shares), 4)
    return out


def measure_bandwidth(n: int | None = None, repeats: int = 3, rounds: int = 3) -> dict[str, float]:
    """Measure copy and triad bandwidth in GB/s (1 GB = 1e9 bytes), repeated and with its own contention.

    Parameters
    ----------
    n : int, optional
        Elements per float64 array (default: :func:`array_elements` of this
        machine's last-level cache and available memory).
    repeats : int
        Timed calls per kernel and round; the best is kept (STREAM's convention).
    rounds : int
        Rounds of all kernels, each timed under a :class:`vecbench.contention.Probe`:
        the best of the quiet rounds is kept (all rounds when none was quiet).

    Returns
    -------
    dict
        Rates: ``copy_numpy``, ``triad_numba`` and ``triad_numba_parallel``
        (when Numba is installed), ``best`` (the largest). About the probe:
        ``array_bytes``, ``llc_bytes`` (0: unknown), ``memory`` (1 when the
        arrays were at least 4x the last-level cache, so this is memory
        bandwidth; 0 when they may sit partly in cache), ``rounds``,
        ``contended`` (1 when every round was), ``contention`` (others' CPU
        share in the kept rounds, at most) and ``spread`` of the kept rounds.
    """
    from .contention import Probe
    from .machine import cache_sizes

    llc = max(cache_sizes().values(), default=0)
    memory = False
    if n is None:
        n, memory = array_elements(llc, _available_bytes())
    else:
        memory = bool(llc) and 8 * n >= STREAM_FACTOR * llc
    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    kernels: list[tuple[str, int, Callable[[], object]]] = [("copy_numpy", 2, lambda: np.copyto(a, b))]
    if importlib.util.find_spec("numba") is not None:
        from .operations import stream_numba

        for name, fn in (("triad_numba", stream_numba.triad), ("triad_numba_parallel", stream_numba.triad_parallel)):
            kernels.append((name, 3, functools.partial(fn, a, b, c, 3.0)))
    measured = []
    for _ in range(max(1, rounds)):
        with Probe() as p:
            rates = {name: arrays * 8 * n / _best(fn, repeats) / 1e9 for name, arrays, fn in kernels}
        assert p.result is not None
        measured.append((rates, p.result.contended, p.result.fraction))
    out = combine(measured)
    out.update(array_bytes=float(8 * n), llc_bytes=float(llc), memory=1.0 if memory else 0.0)
    return out


def rates(bw: dict[str, float]) -> dict[str, float]:
    """The GB/s figures of a probe's dict (copy and triad per kernel), without ``best`` and what describes it."""
    return {k: v for k, v in bw.items() if k.startswith(RATES)}


def contended(bw: dict[str, float]) -> bool:
    """Whether every round of the probe was timed while other processes were busy."""
    return bool(bw.get("contended"))


def describe(bw: dict[str, float]) -> str:
    """What the probe measured, in words: array size against the last-level cache, rounds, contention."""
    if not bw.get("best"):
        return "not measured"
    size = bw.get("array_bytes", 0.0)
    llc = bw.get("llc_bytes", 0.0)
    parts = [f"{size / 1e6:,.0f} MB arrays"]
    if llc and "memory" in bw:
        times = size / llc
        parts.append(f"{times:.1f}x the {llc / (1 << 20):.0f} MiB last-level cache: "
                     + ("memory bandwidth (STREAM's rule: >= 4x)" if bw["memory"]
                        else "not enough memory free for STREAM's 4x, so partly cache bandwidth"))
    else:
        parts.append("array size against the cache unknown (a file from before the probe recorded it)")
    if "rounds" in bw:
        parts.append(f"best of {bw['rounds']:.0f} rounds, spread {bw.get('spread', 0.0):.0%}")
    if contended(bw):
        parts.append(f"CONTENDED: other processes used {bw.get('contention', 0.0):.0%} of the CPU in every round")
    return "; ".join(parts)


def measure_peak_gflops(n: int = 1024, repeats: int = 3) -> dict[str, float]:
    """Measure the compute roof in GFLOP/s: NumPy's BLAS ``dgemm`` on ``n x n`` float64 matrices.

    A matrix product does ``2 n^3`` flops on ``3 n^2`` numbers, so at this size
    it is limited by arithmetic, not memory: the practical peak of the FMA
    units on the threads BLAS uses (the roofline's flat roof). It takes about
    ``repeats + 1`` products (0.1-0.5 s on a laptop core).

    Returns
    -------
    dict
        ``dgemm_numpy`` (GFLOP/s, best of ``repeats``), ``best`` and ``n``.
    """
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)), rng.random((n, n))
    c = np.empty((n, n))
    gflops = 2.0 * n**3 / _best(lambda: np.matmul(a, b, out=c), repeats) / 1e9
    return {"dgemm_numpy": gflops, "best": gflops, "n": float(n)}
