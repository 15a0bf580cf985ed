"""``vecbench compare``: a regression gate that a busy machine or a lost kernel cannot fool.

:func:`compare` returns data (a :class:`Comparison`); the CLI only prints it.

Every kernel of the base is accounted for. A kernel that was ``ok`` in the
base and is ``failed``, ``skipped`` or missing in the new file fails the gate
(except a skip the time budget predicted only from sizes timed on a busy
machine: inconclusive); kernels only in the new file are listed.

For a kernel ``ok`` in both, the verdict combines a significance test and an
effect threshold ``t`` (``--fail-above``, default 1.10, per-op overrides):

- ``p``: the two-sided Mann-Whitney U test on the stored samples (as asv
  does); where a file holds only summary statistics, or too few samples for
  the test to reach ``ALPHA`` (3 and 3), significance is "the ratio's 99%
  interval excludes 1" instead;
- ``[lo, hi]``: the 95% interval of ``ratio = new median / base median``
  (:func:`vecbench.stats.ratio_ci`, the two medians' order-statistic intervals
  combined on the log scale);

then

- **slower**: ``p < ALPHA`` (0.01), the ratio is at least halfway to ``t``
  (``ratio >= 1 + (t - 1) / 2``) and the upper end of the ratio's 99%
  interval reaches ``t`` (a slowdown of the threshold's size is not
  excluded); the gate fails. A true slowdown of exactly ``t`` is caught
  this way; a median ratio above ``t`` alone would catch it half the time;
- **faster**: the mirror image (``ratio <= 1 / (1 + (t - 1) / 2)``, 99% lower end ``<= 1 / t``);
- **same**: the whole interval lies within ``(1 / t, t)``;
- **inconclusive**: anything else (an interval too wide to tell).

A busy machine only ever makes a kernel slower, so a "slower" whose new record
was contended, or a "faster" whose base record was, becomes **inconclusive**;
so does either verdict when either record is noisy (IQR above 10% of the
median). Inconclusive passes the gate unless ``strict``.

With the default sampling, on synthetic samples with outliers, the gate's
false-alarm rate on unchanged code and its power against a 10% slowdown are
measured in ``tests/test_compare.py`` and quoted in docs/compare.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .records import skipped_on_a_busy_machine
from .results import Record, Results, interval
from .stats import (
    CONFIDENCE,
    mann_whitney_p,
    ratio_ci,
)

__all__ = ["ALPHA", "DEFAULT_FAIL_ABOVE", "Comparison", "Row", "compare", "parse_fail_above", "verdict"]

ALPHA = 0.01
# "A slowdown of the threshold's size is not excluded" is judged on this interval of the ratio.
GATE_CONFIDENCE = 0.99
DEFAULT_FAIL_ABOVE = 1.10
# Verdicts that fail the gate; "inconclusive" joins them with strict=True.
FAILING = ("slower", "failed", "skipped", "missing")


@dataclass(frozen=True)
class Row:
    """One kernel of the comparison."""

    key: tuple[str, str, str, str, int]
    verdict: str  # slower faster same inconclusive | failed skipped missing (lost) | new | not compared
    base: Record | None
    new: Record | None
    threshold: float = DEFAULT_FAIL_ABOVE
    ratio: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None
    p: float | None = None
    note: str = ""

    @property
    def op(self) -> str:
        return self.key[0]


@dataclass
class Comparison:
    """Every kernel of both files with its verdict, and what differs between the two runs."""

    rows: list[Row]
    warnings: list[str] = field(default_factory=list)
    strict: bool = False

    def by_verdict(self, *verdicts: str) -> list[Row]:
        return [r for r in self.rows if r.verdict in verdicts]

    @property
    def failing(self) -> list[Row]:
        """Rows that fail the gate."""
        return self.by_verdict(*FAILING, *(("inconclusive",) if self.strict else ()))

    @property
    def compared(self) -> list[Row]:
        return self.by_verdict("slower", "faster", "same", "inconclusive")

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0


def parse_fail_above(values: Iterable[str] | None) -> tuple[float, dict[str, float]]:
    """``["1.10", "dot=1.05,matvec=1.2"]`` -> ``(1.10, {"dot": 1.05, "matvec": 1.2})``.

    Raises
    ------
    ValueError
        For a value that is not a finite ratio above 1.
    """
    default, per_op = DEFAULT_FAIL_ABOVE, {}
    for text in values or ():
        for item in (t.strip() for t in str(text).split(",")):
            if not item:
                continue
            op, _, num = item.rpartition("=")
            try:
                value = float(num)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and value > 1.0) or (op == "" and "=" in item):
                raise ValueError(f"compare: --fail-above takes a ratio above 1 (1.10) or OP=RATIO (dot=1.05); "
                                 f"got {item!r}")
            if op:
                per_op[op.strip()] = value
            else:
                default = value
    return default, per_op


def _interval(rec: Record, where: str, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(low, median, high) of a record's median (:func:`vecbench.records.interval`, with the IQR's summary
    interval for old files); raises for a median that is not a positive time."""
    name = f"{where}: {rec.op} {rec.backend} {rec.label} {rec.dtype}"
    med = rec.median_s
    if med is None or not math.isfinite(med) or med <= 0:
        raise ValueError(f"compare: {name} has median {med!r}; need a positive, finite time")
    if rec.samples_s and not all(math.isfinite(x) for x in rec.samples_s):
        raise ValueError(f"compare: {name} has non-finite samples; need positive, finite times")
    lo, _, hi = interval(rec, confidence, summary=True)
    tiny = med * 1e-6  # a zero lower end (summary approximation) would make the ratio's interval infinite
    return max(min(lo, med), tiny), med, max(hi, med)


def verdict(base: Record, new: Record, threshold: float = DEFAULT_FAIL_ABOVE, alpha: float = ALPHA) -> Row:
    """The verdict for one kernel measured ``ok`` in both files (see the module docstring)."""
    b, n = _interval(base, "base"), _interval(new, "new")
    lo, ratio, hi = ratio_ci(n, b)
    # Whether an effect of the threshold's size is excluded is decided at GATE_CONFIDENCE.
    glo, _, ghi = ratio_ci(_interval(new, "new", GATE_CONFIDENCE), _interval(base, "base", GATE_CONFIDENCE))
    p = None
    n1, n2 = len(base.samples_s), len(new.samples_s)
    if n1 and n2 and 2 / math.comb(n1 + n2, n1) < alpha:
        p = mann_whitney_p(new.samples_s, base.samples_s)
        significant = p < alpha
    else:  # summary statistics only, or too few samples for the rank test to reach alpha: the interval is the test
        significant = glo > 1.0 or ghi < 1.0
    half = 1.0 + (threshold - 1.0) / 2.0
    if significant and ratio >= half and ghi >= threshold:
        v, note = "slower", ""
        if new.is_contended or new.noisy or base.noisy:
            v, note = "inconclusive", _why(new, base, "new")
    elif significant and ratio <= 1.0 / half and glo <= 1.0 / threshold:
        v, note = "faster", ""
        if base.is_contended or base.noisy or new.noisy:
            v, note = "inconclusive", _why(base, new, "base")
    elif 1.0 / threshold < lo and hi < threshold:
        v, note = "same", ""
    else:
        v, note = "inconclusive", f"interval {lo:.3f}-{hi:.3f} too wide to tell against {threshold:g}"
    if p is None:
        why = "summary statistics only" if not (n1 and n2) else f"{min(n1, n2)} samples are too few"
        note = "; ".join(x for x in (note, f"{why}: no rank test, the 99% interval decides") if x)
    return Row(base.key, v, base, new, threshold, ratio, lo, hi, p, note)


def _why(slowed: Record, other: Record, side: str) -> str:
    """Why a verdict could not be trusted: ``slowed`` is the side contention would have inflated."""
    reasons = []
    if slowed.is_contended:
        reasons.append(f"{side} was contended")
    for name, rec in (("base", other if side == "new" else slowed), ("new", slowed if side == "new" else other)):
        if rec.noisy:
            reasons.append(f"{name} is noisy")
    return ", ".join(reasons)


def _lost(base: Record, new: Record | None) -> Row:
    if new is None:
        return Row(base.key, "missing", base, None, note="not in the new file")
    if skipped_on_a_busy_machine(new):
        # The budget predictor had only sizes timed on a busy machine to go by.
        return Row(base.key, "inconclusive", base, new, note=f"skipped on a busy machine: {new.reason}")
    return Row(base.key, new.status, base, new, note=new.reason)


def _env_warnings(base: Results, new: Results) -> list[str]:
    """What differs between the two runs that could explain a difference in time."""
    def machine(r: Results) -> dict[str, Any]:
        m = r.machine or {}
        facts: dict[str, Any] = {"CPU": m.get("cpu"), "cores": m.get("cores"), "Python": m.get("python"),
                                 "vecbench": r.vecbench or None, "source": r.source}
        # Whatever each backend says about itself: versions, its BLAS, threading layer, threads.
        for name, info in (m.get("backends") or {}).items():
            if not isinstance(info, dict):
                continue
            for key in ("version", "threading_layer", "num_threads"):
                if info.get(key) is not None:
                    facts[f"{name} {key.replace('_', ' ')}"] = info[key]
            for lib in info.get("blas") or []:
                if isinstance(lib, dict):
                    facts[f"{name} BLAS"] = " ".join(str(lib[k]) for k in ("internal_api", "version") if lib.get(k))
                    facts[f"{name} BLAS threads"] = lib.get("num_threads")
        return facts

    out = []
    mb, mn = machine(base), machine(new)
    for k in mb:
        if mb[k] is not None and mn.get(k) is not None and mb[k] != mn[k]:
            out.append(f"{k} differs: base {mb[k]}, new {mn[k]}")
    for what, get in (("dtypes", lambda r: r.dtype), ("thread counts", lambda r: r.threads)):
        sb, sn = {get(r) for r in base}, {get(r) for r in new}
        if sb != sn:
            out.append(f"{what} differ: base {sorted(sb)}, new {sorted(sn)}")
    for k in sorted(set(base.settings) | set(new.settings)):
        vb, vn = base.settings.get(k), new.settings.get(k)
        if k in base.settings and k in new.settings and vb != vn:
            out.append(f"setting {k} differs: base {vb}, new {vn}")
    summary = sum(1 for res in (base, new) for r in res if r.ok and not r.samples_s)
    if summary:
        out.append(f"{summary} record(s) carry summary statistics only (no raw samples; pytest-benchmark needs "
                   "--benchmark-save-data): their verdicts use approximate intervals and no rank test")
    return out


def compare(base: Results, new: Results, fail_above: float = DEFAULT_FAIL_ABOVE,
            per_op: dict[str, float] | None = None, strict: bool = False) -> Comparison:
    """Compare ``new`` with ``base``, kernel by kernel.

    Parameters
    ----------
    base, new : Results
        Loaded results files (vecbench or pytest-benchmark).
    fail_above : float
        Ratio new / base counted as a regression (above 1).
    per_op : dict, optional
        Per-op thresholds overriding ``fail_above``.
    strict : bool
        Count inconclusive verdicts as failures.

    Raises
    ------
    ValueError
        For a threshold that is not a finite ratio above 1, a per-op threshold
        for an op in neither file, a zero or NaN median, or files with no
        kernel in common.
    """
    per_op = dict(per_op or {})
    for name, t in [("--fail-above", fail_above), *((f"--fail-above {op}", v) for op, v in per_op.items())]:
        if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 1.0):
            raise ValueError(f"compare: {name} must be a finite ratio above 1 such as 1.10; got {t!r}")
    ops = {r.op for r in base} | {r.op for r in new}
    unknown = sorted(set(per_op) - ops)
    if unknown:
        raise ValueError(f"compare: --fail-above names op(s) {unknown} found in neither file; ops: {sorted(ops)}")
    new_by_key = {r.key: r for r in new}
    base_keys = {r.key for r in base}
    if base.records and new.records and not base_keys & set(new_by_key):
        warn = "; ".join(_env_warnings(base, new)) or "different ops, sizes or dtypes"
        raise ValueError(f"compare: no kernel in common between the two files ({warn})")
    rows: list[Row] = []
    for b in base:
        n = new_by_key.get(b.key)
        if not b.ok:
            rows.append(Row(b.key, "not compared", b, n, note=f"base {b.status}: {b.reason}"))
        elif n is None or not n.ok:
            rows.append(_lost(b, n))
        else:
            rows.append(verdict(b, n, per_op.get(b.op, fail_above)))
    rows += [Row(n.key, "new", None, n, note=n.status) for n in new if n.key not in base_keys]
    return Comparison(rows, _env_warnings(base, new), strict)


def flags(rec: Record | None) -> str:
    """Short marks for a record: ``C`` contended, ``N`` noisy."""
    if rec is None:
        return ""
    return ("C" if rec.is_contended else "") + ("N" if rec.noisy else "")


def summary_line(c: Comparison, sources: Sequence[str] = ()) -> str:
    """One line: counts per verdict and the gate's outcome."""
    counts = {v: len(c.by_verdict(v)) for v in ("slower", "faster", "same", "inconclusive")}
    lost = {v: len(c.by_verdict(v)) for v in ("failed", "skipped", "missing")}
    parts = [f"{len(c.compared)} compared: " + ", ".join(f"{n} {v}" for v, n in counts.items())]
    if any(lost.values()):
        parts.append("lost: " + ", ".join(f"{n} {v}" for v, n in lost.items() if n))
    if c.by_verdict("new"):
        parts.append(f"{len(c.by_verdict('new'))} new")
    gate = "FAIL" if c.failing else "pass"
    return "; ".join(parts) + f"; gate {gate}" + (" (strict)" if c.strict else "")
