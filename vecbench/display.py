"""Results where a Python user looks at them: a Jupyter table, a pandas DataFrame, an inline figure.

:meth:`Results._repr_html_ <vecbench.results.Results._repr_html_>`,
:meth:`~vecbench.results.Results.to_pandas` and
:meth:`~vecbench.results.Results.plot` are thin calls into this module, so
that ``import vecbench`` never imports pandas or matplotlib. Every row's
speedup is over its op's baseline (:meth:`~vecbench.results.Results.baseline_of`):
your computation's reference kernel, or the loop backend for vecbench's ops.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from .records import Record, RecordSet, format_time

__all__ = ["html_table", "plot", "rows", "to_pandas"]

COLUMNS = ("op", "backend", "n", "label", "dtype", "threads", "status", "reason", "median_s", "min_s", "iqr_s",
           "ci_low_s", "ci_high_s", "first_call_s", "compile_time_s", "samples", "loops_per_sample", "bytes",
           "flops", "gbps", "gflops", "baseline", "speedup", "contended", "warnings")


def _n(r: Record) -> int | None:
    """The size as one number: ``n`` of your computation, the element count of a vecbench op."""
    return r.elements if r.size else None


def rows(results: RecordSet) -> list[dict[str, Any]]:
    """One dict per record, with the op's baseline and the speedup over it (None where either is missing)."""
    base_of = {op: results.baseline_of(op) for op in dict.fromkeys(r.op for r in results)}
    medians = {(r.op, r.label, r.dtype, r.backend): r.median_s for r in results if r.ok}
    out = []
    for r in results:
        base = base_of[r.op]
        t = medians.get((r.op, r.label, r.dtype, base)) if base else None
        out.append({
            "op": r.op, "backend": r.backend, "n": _n(r), "label": r.label, "dtype": r.dtype, "threads": r.threads,
            "status": r.status, "reason": r.reason, "median_s": r.median_s, "min_s": r.min_s, "iqr_s": r.iqr_s,
            "ci_low_s": r.ci_low_s, "ci_high_s": r.ci_high_s, "first_call_s": r.first_call_s,
            "compile_time_s": r.compile_time_s, "samples": len(r.samples_s), "loops_per_sample": r.loops_per_sample,
            "bytes": r.bytes, "flops": r.flops, "gbps": r.gbps if r.bytes else None,
            "gflops": r.gflops if r.flops else None, "baseline": base,
            "speedup": t / r.median_s if t and r.median_s else None, "contended": r.contended,
            "warnings": "; ".join(r.warnings),
        })
    return out


def to_pandas(results: RecordSet) -> Any:
    """:func:`rows` as a pandas DataFrame (columns :data:`COLUMNS`)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("Results.to_pandas needs pandas: pip install 'vecbench[pandas]'") from None
    return pd.DataFrame(rows(results), columns=list(COLUMNS))


def _ci(row: dict[str, Any]) -> str:
    med, lo, hi = row["median_s"], row["ci_low_s"], row["ci_high_s"]
    if not med or lo is None or hi is None:
        return ""
    return f"±{max(med - lo, hi - med) / med:.1%}"


def html_table(results: RecordSet, limit: int = 500) -> str:
    """The records as an HTML table (Jupyter shows it for a Results value); failures say why."""
    rs = rows(results)
    head = ("op", "n", "kernel", "median", "95% CI", "speedup", "GB/s", "GFLOP/s", "compile", "status")
    out = [f"<div><p><b>vecbench results</b>: {len(rs)} record(s), {sum(r['status'] == 'ok' for r in rs)} ok, "
           f"{sum(r['status'] == 'failed' for r in rs)} failed, {sum(r['status'] == 'skipped' for r in rs)} skipped"
           f"{' (interrupted)' if results.interrupted else ''}. Speedup: over each op's baseline.</p>",
           "<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in rs[:limit]:
        status = r["status"] if r["status"] == "ok" else f"{r['status']}: {r['reason']}"
        sp = f"{r['speedup']:.3g}x vs {r['baseline']}" if r["speedup"] is not None and r["backend"] != r["baseline"] else ""
        cells = (r["op"], r["label"], r["backend"], format_time(r["median_s"]) if r["median_s"] else "-", _ci(r), sp,
                 f"{r['gbps']:.3g}" if r["gbps"] else "", f"{r['gflops']:.3g}" if r["gflops"] else "",
                 format_time(r["compile_time_s"]) if r["compile_time_s"] else "", status)
        style = "" if r["status"] == "ok" else ' style="color:#b00"' if r["status"] == "failed" else ' style="color:#a60"'
        out.append(f"<tr{style}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    if len(rs) > limit:
        out.append(f"<p>... and {len(rs) - limit} more (to_pandas() has them all)</p>")
    return "\n".join(out) + "</div>"


def plot(results: RecordSet, ops: Sequence[str] | None = None) -> Any:
    """:func:`vecbench.report.figures.fig_results`, detached from pyplot (so a notebook shows it once, where returned)."""
    from .report import figures as plotting

    fig = plotting.fig_results(results, ops)
    plotting.plt.close(fig)  # the caller owns it: no second copy drawn at the end of a notebook cell
    _show_in_ipython()
    return fig


def _show_in_ipython() -> None:
    """Let IPython draw a returned Figure as PNG even when pyplot's inline backend was never set up."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        formatter.for_type(Figure, _png)


def _png(fig: Any) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()
