"""Statistics of timing samples: the interval of a median, when to stop sampling, two-sample tests.

Everything here is distribution-free, because timing samples are not normal:
they are skewed to the right and carry outliers (an interrupt, a page fault,
another process taking the core).

- :func:`median_ci`: a 95% confidence interval of the median from order
  statistics. The number of samples below the true median is Binomial(n, 1/2),
  so ``[x_(j), x_(n-j+1)]`` (1-based, sorted) covers the median with
  probability ``1 - 2 P(B <= j - 1)``; ``j`` is the largest rank that keeps this
  at least 95%. No assumption about the shape of the distribution; an outlier
  moves the interval by at most one rank. Below 6 samples no pair of order
  statistics reaches 95% and the interval is ``[min, max]`` (its coverage,
  ``1 - 2^(1-n)``, is what :func:`median_ci_coverage` returns).
- :func:`median_ci_from_summary`: where only summary statistics exist (a
  pytest-benchmark file saved without ``--benchmark-save-data``), the notch
  approximation ``median +- 1.57 IQR / sqrt(n)`` (McGill, Tukey and Larsen
  1978, the notches of a box plot). Approximate, and said so where used.
- :func:`ratio_ci`: an interval of a ratio of two medians from their two
  intervals, combined in quadrature on the log scale (each side's half-widths
  treated as independent errors). Approximate; it is what the report's
  speedup intervals and ``vecbench compare`` use.
- :func:`mann_whitney_p`: the two-sided Mann-Whitney U test, as asv uses to
  decide a regression (SciPy's exact/asymptotic test where SciPy is installed,
  else the normal approximation with tie correction).
- :func:`sample_until`: adaptive sampling, shared by the harness and the
  gate's evidence test so that both use exactly one rule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import lru_cache
from statistics import NormalDist

__all__ = [
    "CONFIDENCE",
    "mann_whitney_p",
    "median_ci",
    "median_ci_coverage",
    "median_ci_from_summary",
    "min_samples_for",
    "paired_ratio_ci",
    "ratio_ci",
    "relative_halfwidth",
    "sample_until",
]

CONFIDENCE = 0.95
# For normal data the median's standard error is 1.2533 sigma / sqrt(n) and IQR = 1.349 sigma,
# so a 95% interval is median +- 1.96 * 1.2533 / 1.349 * IQR / sqrt(n). (A box plot's notch uses
# 1.58, chosen for comparing two notches, which covers one median only about 88% of the time.)
_NOTCH = 1.96 * 1.2533 / 1.349


@lru_cache(maxsize=512)
def _rank(n: int, confidence: float) -> int:
    """Largest 1-based rank ``j`` with ``2 P(Binomial(n, 1/2) <= j - 1) <= 1 - confidence`` (at least 1)."""
    alpha = 1.0 - confidence
    # Exact integers: 2.0**n overflows a float past n = 1023 (pytest-benchmark saves thousands of rounds).
    num, den = Fraction(alpha).limit_denominator(10**12).as_integer_ratio()
    limit = num * 2**n  # 2 cum / 2**n > num / den  <=>  2 cum den > num 2**n
    cum, j = 0, 1
    for k in range(n // 2 + 1):
        cum += math.comb(n, k)
        if 2 * cum * den > limit:
            break
        j = k + 1  # 2 P(B <= k) is small enough: the interval can start at rank k + 1
    return max(1, min(j, (n + 1) // 2))


def median_ci_coverage(n: int, confidence: float = CONFIDENCE) -> float:
    """Exact coverage of :func:`median_ci` for ``n`` samples (at least ``confidence`` from n = 6)."""
    if n < 1:
        return 0.0
    j = _rank(n, confidence)
    return 1.0 - float(Fraction(2 * sum(math.comb(n, k) for k in range(j)), 2**n))


def median_ci(samples: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Distribution-free interval of the median: the order statistics ``x_(j), x_(n-j+1)``.

    Parameters
    ----------
    samples : sequence of float
        Timing samples, in any order.
    confidence : float
        Target coverage (default 0.95).

    Returns
    -------
    (low, high) or None
        None when there are no samples.
    """
    xs = sorted(float(x) for x in samples)
    n = len(xs)
    if n == 0:
        return None
    j = _rank(n, confidence)
    return xs[j - 1], xs[n - j]


def median_ci_from_summary(median: float, iqr: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Approximate interval of a median from summary statistics only: ``median +- 1.82 IQR / sqrt(n)`` at 95%."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2) / 1.96
    half = z * _NOTCH * max(iqr, 0.0) / math.sqrt(max(n, 1))
    return max(median - half, 0.0), median + half


def relative_halfwidth(samples: Sequence[float], confidence: float = CONFIDENCE) -> float:
    """Half the width of :func:`median_ci` over the median (``inf`` without samples or at a zero median)."""
    ci = median_ci(samples, confidence)
    if ci is None:
        return math.inf
    xs = sorted(samples)
    n = len(xs)
    med = xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])
    return (ci[1] - ci[0]) / 2.0 / med if med > 0 else math.inf


def ratio_ci(num: tuple[float, float, float], den: tuple[float, float, float]) -> tuple[float, float, float]:
    """Interval of ``num_median / den_median`` from two ``(low, median, high)`` intervals.

    The log-scale half-widths of the two medians are combined in quadrature,
    the upper side of the ratio from ``num``'s upper and ``den``'s lower
    half-width and vice versa. Approximate: exact only for independent,
    symmetric (on the log scale) errors.

    Returns
    -------
    (low, ratio, high)
    """
    (nl, nm, nh), (dl, dm, dh) = num, den
    if not (nm > 0 and dm > 0 and nl > 0 and dl > 0):
        raise ValueError(f"ratio_ci: medians and lower bounds must be positive; got {num} / {den}")
    ratio = nm / dm
    up = math.hypot(math.log(nh / nm), math.log(dm / dl))
    down = math.hypot(math.log(nm / nl), math.log(dh / dm))
    return ratio * math.exp(-down), ratio, ratio * math.exp(up)


def paired_ratio_ci(num: Sequence[float], den: Sequence[float],
                    confidence: float = CONFIDENCE) -> tuple[float, float, float] | None:
    """Interval of a ratio from paired rounds: ``(low, median, high)`` of the per-round ratios ``num[i] / den[i]``.

    In interleaved rounds (:mod:`vecbench.rounds`) both kernels of round ``i``
    ran within moments of each other, so a slow minute of the machine slows
    both and cancels in their ratio; the per-round ratios are then one sample
    whose median gets :func:`median_ci`'s distribution-free interval. No
    independence between the two kernels is assumed (unlike :func:`ratio_ci`).

    Returns
    -------
    (low, ratio, high) or None
        None without a complete positive pair.
    """
    ratios = sorted(n / d for n, d in zip(num, den) if n > 0 and d > 0 and math.isfinite(n / d))
    if not ratios:
        return None
    k = len(ratios)
    med = ratios[k // 2] if k % 2 else 0.5 * (ratios[k // 2 - 1] + ratios[k // 2])
    ci = median_ci(ratios, confidence)
    assert ci is not None
    return min(ci[0], med), med, max(ci[1], med)


def _mwu_normal(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value, normal approximation with tie and continuity corrections."""
    n1, n2 = len(a), len(b)
    pooled = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2.0 + 1.0
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    r1 = sum(r for r, (_, g) in zip(ranks, pooled) if g == 0)
    u = r1 - n1 * (n1 + 1) / 2.0
    n = n1 + n2
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (abs(u - n1 * n2 / 2.0) - 0.5) / math.sqrt(var)
    return min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0)))


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test that ``a`` and ``b`` come from one distribution.

    Uses ``scipy.stats.mannwhitneyu`` when SciPy is installed (exact for small
    samples without ties), else the normal approximation.

    Raises
    ------
    ValueError
        When either sample is empty.
    """
    if not len(a) or not len(b):
        raise ValueError(f"mann_whitney_p: both samples need values; got {len(a)} and {len(b)}")
    try:
        from scipy.stats import mannwhitneyu
    except ImportError:  # SciPy is optional
        return _mwu_normal(a, b)
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def sample_until(
    draw: Callable[[], float],
    min_samples: int,
    target: float,
    max_samples: int,
    time_limit_s: float,
    clock: Callable[[], float] = time.perf_counter,
) -> list[float]:
    """Draw samples until the median's 95% interval is within ``target`` (relative half-width).

    At least ``min_samples`` are drawn; then more while the interval is wider
    than ``target``, fewer than ``max_samples`` are drawn and less than
    ``time_limit_s`` has passed since the first draw; an interval from fewer
    than :func:`min_samples_for` samples (6 at 95%) counts as too wide, since
    it does not reach 95%. ``target <= 0`` means "exactly ``min_samples``".
    """
    samples: list[float] = []
    start = clock()
    while len(samples) < min_samples:
        samples.append(draw())
    enough = min_samples_for(CONFIDENCE)
    while (target > 0 and len(samples) < max_samples and clock() - start < time_limit_s
           and (len(samples) < enough or relative_halfwidth(samples) > target)):
        samples.append(draw())
    return samples


def min_samples_for(confidence: float = CONFIDENCE) -> int:
    """Fewest samples whose ``[min, max]`` covers the median with at least ``confidence`` (6 at 95%)."""
    return max(1, math.ceil(1 - math.log2(1 - confidence)))
