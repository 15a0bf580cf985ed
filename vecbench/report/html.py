"""``report.html``: the report as one self-contained page, and the code beside what it costs.

The page carries everything inline (CSS, the SVG figures; no script, font,
image or stylesheet from anywhere), so it opens from a file, a CI artifact or
an e-mail attachment alike. Its text is the README's, converted here, so the
two never disagree; then, for every op, the source of each backend's kernel
(read from the registry with :mod:`inspect`) beside its time and speedups at
the headline size: the loop, the vectorized line and the compiled loop next
to what each costs. Every piece of text is escaped.

It reads on a phone (one column, tables and code scroll sideways) and prints
(figures and code blocks are not split across pages, long lines wrap).
"""

from __future__ import annotations

import html
import inspect
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import registry
from ..results import Results
from ..results import format_speedup as _x
from ..results import format_time as _fmt_time

__all__ = ["kernel_source", "markdown_to_html", "page", "svg_inline"]

CSS = """
:root { --fg: #1b1b1b; --muted: #5f6368; --line: #d9dde3; --code: #f6f8fa; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0 auto; padding: 1rem; max-width: 72rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem;
       margin-top: 2rem; } h3 { font-size: 1.1rem; } h4 { font-size: 1rem; font-weight: 600; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { background: var(--code); padding: 0 .2em; border-radius: 3px; }
pre { background: var(--code); padding: .6rem .8rem; border-radius: 6px; overflow-x: auto; margin: .4rem 0;
      max-height: 32rem; }
pre code { background: none; padding: 0; }
.table { overflow-x: auto; margin: .6rem 0; }
table { border-collapse: collapse; font-size: .88rem; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f2f5; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; break-inside: avoid; }
figure svg { width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { color: var(--muted); font-size: .9rem; }
nav ul { columns: 2; padding-left: 1.2rem; }
nav summary, details > summary { cursor: pointer; color: var(--accent); }
details { margin: .6rem 0; }
.banner { border-left: 4px solid #d62728; background: #fdecea; padding: .5rem .8rem; border-radius: 4px; }
.lead { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 7fr); gap: 1.5rem; align-items: start; }
.lead h2 { margin-top: .8rem; }
@media (max-width: 60rem) { .lead { grid-template-columns: 1fr; } }
.kernels { display: grid; grid-template-columns: repeat(auto-fit, minmax(28rem, 1fr)); gap: .8rem; }
.kernel { border: 1px solid var(--line); border-radius: 8px; padding: .5rem .7rem; min-width: 0; break-inside: avoid; }
.kernel h4 { margin: .2rem 0; } .cost { color: var(--muted); font-size: .9rem; margin: 0 0 .3rem; }
.cost strong { color: var(--fg); }
@media (max-width: 40rem) {
  body { padding: .6rem; font-size: 15px; }
  .kernels { grid-template-columns: 1fr; }
  nav ul { columns: 1; }
}
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  nav { display: none; }
  pre { max-height: none; overflow: visible; white-space: pre-wrap; word-break: break-all; }
  .table { overflow: visible; }
  h2, h3, h4 { break-after: avoid; }
  .kernels { display: block; } .kernel { margin-bottom: .6rem; }
  a { color: inherit; text-decoration: none; }
}
"""


# ---------------------------------------------------------------- markdown -> HTML (the README's subset)
def _inline(text: str) -> str:
    """Escape, then **bold** and `code` (the only inline markup the report writes)."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for p in parts:
        if len(p) >= 2 and p.startswith("`") and p.endswith("`"):
            out.append(f"<code>{html.escape(p[1:-1])}</code>")
        else:
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(p)))
    return "".join(out)


def _table(rows: list[str]) -> str:
    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split("|")]

    head, align, body = cells(rows[0]), cells(rows[1]), [cells(r) for r in rows[2:]]
    num = [a.endswith(":") and not a.startswith(":") for a in align]

    def cls(i: int) -> str:
        return ' class="num"' if i < len(num) and num[i] else ""

    out = ['<div class="table"><table><thead><tr>']
    out += [f"<th{cls(i)}>{_inline(c)}</th>" for i, c in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for r in body:
        out.append("<tr>" + "".join(f"<td{cls(i)}>{_inline(c)}</td>" for i, c in enumerate(r)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def markdown_to_html(text: str, figures: Mapping[str, str] | None = None) -> str:
    """The report's markdown as HTML: headings, paragraphs, lists, tables, fenced code, and images
    ``![name](file)`` replaced by ``figures[name]`` (inline SVG) when given. Everything is escaped."""
    figures = figures or {}
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    caption = ""
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append(f"<pre><code>{html.escape(chr(10).join(lines[i + 1:j]))}</code></pre>")
            i = j + 1
            continue
        if line.strip() in ("<details>", "</details>"):  # folded lists (their count in the summary)
            out.append(line.strip())
            i += 1
            continue
        if m := re.match(r"<summary>(.*)</summary>$", line.strip()):
            out.append(f"<summary>{_inline(m.group(1))}</summary>")
            i += 1
            continue
        if line.startswith("> "):  # the banner
            out.append(f'<p class="banner">{_inline(line[2:])}</p>')
            i += 1
            continue
        if m := re.match(r"!\[([^\]]*)\]\(([^)]*)\)$", line.strip()):
            name = m.group(1)
            body = figures.get(name, f"<p>(figure {html.escape(name)} not embedded)</p>")
            out.append(f'<figure id="fig-{html.escape(name)}">{body}<figcaption>{_inline(caption)}</figcaption></figure>')
            caption = ""
            i += 1
            continue
        if m := re.match(r"(#{1,6}) (.*)$", line):
            level = len(m.group(1))
            nxt = next((x for x in lines[i + 1:] if x.strip()), "")
            if level == 4 and nxt.startswith("!["):  # a figure's caption heading: becomes its figcaption
                caption = m.group(2)
            else:
                anchor = re.sub(r"[^a-z0-9]+", "-", m.group(2).lower()).strip("-")
                out.append(f'<h{level} id="{html.escape(anchor)}">{_inline(m.group(2))}</h{level}>')
            i += 1
            continue
        if line.startswith("|"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            out.append(_table(lines[i:j]))
            i = j
            continue
        if line.startswith("- "):
            j = i
            while j < len(lines) and lines[j].startswith("- "):
                j += 1
            out.append("<ul>" + "".join(f"<li>{_inline(x[2:])}</li>" for x in lines[i:j]) + "</ul>")
            i = j
            continue
        if line.strip():
            j = i
            while j < len(lines) and lines[j].strip() and not re.match(r"(#|\||- |!\[|```|> |<)", lines[j]):
                j += 1
            out.append(f"<p>{_inline(' '.join(lines[i:j]))}</p>")
            i = max(j, i + 1)
            continue
        i += 1
    return "\n".join(out)


# ---------------------------------------------------------------- figures
def svg_inline(svg: str, prefix: str) -> str:
    """A matplotlib SVG file as an element for the page: XML prolog and DOCTYPE dropped, fixed width/height
    removed (the viewBox scales it to the column), every id prefixed so figures never share one."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError(f"figure {prefix}: not an SVG document")
    svg = svg[start:]
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    head, rest = svg.split(">", 1)
    width = re.search(r'\swidth="([0-9.]+)(pt|px)?"', head)
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    # As wide as the column allows, never wider than drawn (a small figure is not blown up).
    style = f' style="max-width: {float(width.group(1)):.0f}{width.group(2) or "px"}"' if width else ""
    return f'{head}{style} role="img" aria-label="{html.escape(prefix)}">{rest}'


# ---------------------------------------------------------------- the code beside its cost
def _source(obj: Any) -> str | None:
    fn = getattr(obj, "py_func", obj)  # Numba dispatchers keep the Python function they compile
    try:
        return inspect.getsource(inspect.unwrap(fn))
    except (OSError, TypeError, AttributeError):
        return None


def kernel_source(op: str, backend: str, helpers: int = 0) -> str | None:
    """The Python source of ``op``'s kernel in ``backend`` (a JIT dispatcher's original function), or None.

    ``helpers``: also the source of up to that many functions of the same
    module it calls (directly or through them), so a thin entry point
    (``return _run(...)``) shows the loop that does the work.
    """
    try:
        core: Any = registry.kernel(op, backend).core
    except (KeyError, ImportError):
        return None
    main = _source(core)
    if main is None:
        return None
    fn = getattr(core, "py_func", core)
    found: list[str] = []
    todo, seen = [fn], {id(fn)}
    while todo and len(found) < helpers:
        f = todo.pop(0)
        for name in getattr(getattr(f, "__code__", None), "co_names", ()):
            obj = getattr(f, "__globals__", {}).get(name)
            inner = getattr(obj, "py_func", obj)
            if (obj is None or id(inner) in seen or not inspect.isfunction(inner)
                    or inner.__module__ != fn.__module__):
                continue
            seen.add(id(inner))
            src = _source(obj)
            if src and len(found) < helpers:
                found.append(src)
                todo.append(inner)
    return "\n\n".join([main, *found])


def _cost_line(row: Mapping[str, Any] | None) -> str:
    if row is None:
        return "not measured in these results"
    if row["status"] != "ok":
        return f"{html.escape(row['status'])}: {html.escape(str(row.get('reason') or ''))}"
    loop, vec = registry.baseline("loop"), registry.baseline("vectorized")
    bits = [f"<strong>{html.escape(_fmt_time(row['median_s']))}</strong> per call at {html.escape(row['label'])}"]
    if row["backend"] != loop and row["vs_loop"] is not None:
        at = row.get("vs_loop_label")
        where = f" (at {html.escape(at)})" if at and at != row["label"] else ""
        bits.append(f"<strong>{html.escape(_x(row['vs_loop']))}</strong> vs {html.escape(loop)}{where}")
    if row["backend"] != vec and row["vs_vectorized"] is not None:
        bits.append(f"<strong>{html.escape(_x(row['vs_vectorized']))}</strong> vs {html.escape(vec)}")
    if row.get("gbps"):
        bits.append(f"{row['gbps']:.2f} GB/s")
    return ", ".join(bits) + (f" <strong>{html.escape(row['mark'].strip())}</strong>" if row.get("mark") else "")


def teaching_view(results: Results, headlines: Sequence[Sequence[Mapping[str, Any]]]) -> str:
    """For every vecbench op in ``results``: each backend's kernel source beside its time and speedups.

    ``headlines``: the report's headline rows of each part of the results, in the parts' order.
    """
    from ..foreign import is_foreign

    rows: dict[tuple[str, str], Mapping[str, Any]] = {}
    for part_rows in headlines:  # the first part (float64 first when present) that measured it
        for h in sorted(part_rows, key=lambda h: h["dtype"] != "float64"):
            rows.setdefault((h["op"], h["backend"]), h)
    ops = [op for op in dict.fromkeys(r.op for r in results) if not is_foreign(op)]
    if not ops:
        return ""
    out = ['<h2 id="the-code-beside-its-cost">The code beside its cost</h2>',
           "<p>For each operation, the kernel of every backend as it is written (the source the registry "
           "resolves; for compiled backends the Python function the JIT compiles) and what one call cost at the "
           "headline size.</p>"]
    for op in ops:
        spec = registry.spec(op)
        out.append(f'<h3 id="code-{html.escape(op)}"><code>{html.escape(op)}</code>: {_inline(spec.summary)}</h3>')
        out.append('<div class="kernels">')
        for b in registry.backends(op):
            src = kernel_source(op, b, helpers=3)
            role = registry.backend(b).role
            code = (f"<pre><code>{html.escape(src)}</code></pre>" if src is not None
                    else "<p>(source not available here: the backend is not installed)</p>")
            out.append(f'<section class="kernel"><h4>{html.escape(b)} <small>({html.escape(role)})</small></h4>'
                       f'<p class="cost">{_cost_line(rows.get((op, b)))}</p>{code}</section>')
        out.append("</div>")
    return "\n".join(out)


def own_view(results: Results) -> str:
    """For each of your computations in ``results``: its setup, then each kernel's source (kept in the results
    file when it was measured) beside its time and speedup over the reference at the largest n it reached."""
    ops = [op for op in results.own_ops if isinstance(results.own_ops[op], dict) and any(r.op == op for r in results)]
    if not ops:
        return ""
    out = ['<h2 id="your-code-beside-its-cost">Your code beside its cost</h2>',
           "<p>Each of your computations as you wrote it (the source was read when it was measured) and what one "
           "call cost at the largest n it was measured at.</p>"]
    for op in ops:
        info = results.own_ops[op]
        base = results.baseline_of(op)
        recs = [r for r in results if r.op == op]
        out.append(f'<h3 id="own-{html.escape(op)}"><code>{html.escape(op)}</code>: '
                   f"{_inline(str(info.get('summary') or op))}</h3>")
        setup = info.get("setup_source")
        if setup:
            out.append(f"<p>Inputs of size n (never timed):</p><pre><code>{html.escape(setup)}</code></pre>")
        out.append('<div class="kernels">')
        for name, k in (info.get("kernels") or {}).items():
            k = k if isinstance(k, dict) else {}
            ok = [r for r in recs if r.backend == name and r.ok]
            if ok:
                r = max(ok, key=lambda r: r.elements)
                ref = next((x for x in recs if x.backend == base and x.label == r.label and x.ok), None)
                bits = [f"<strong>{html.escape(_fmt_time(r.median_s))}</strong> per call at n = {html.escape(r.label)}"]
                if ref is not None and name != base and ref.median_s and r.median_s:
                    bits.append(f"<strong>{ref.median_s / r.median_s:.3g}x</strong> vs {html.escape(str(base))}")
                compile_s = max((x.compile_time_s or 0.0 for x in ok), default=0.0)  # the first size compiled
                if compile_s:
                    bits.append(f"JIT compile {html.escape(_fmt_time(compile_s))} (timed apart)")
                cost = ", ".join(bits)
            else:
                bad = next((r for r in recs if r.backend == name), None)
                cost = (f"{html.escape(bad.status)}: {html.escape(bad.reason)}" if bad is not None
                        else "not measured in these results")
            src = k.get("source")
            code = (f"<pre><code>{html.escape(src)}</code></pre>" if src
                    else "<p>(source not available: it was not in a file Python could read)</p>")
            role = "reference" if name == base else "kernel"
            out.append(f'<section class="kernel"><h4>{html.escape(name)} <small>({role}; measured in '
                       f'{html.escape(str(k.get("measured_in", "?")))})</small></h4><p class="cost">{cost}</p>{code}</section>')
        out.append("</div>")
    return "\n".join(out)


# ---------------------------------------------------------------- the page
def page(results: Results, md: str, svgs: Mapping[str, Path], headlines: Sequence[Sequence[Mapping[str, Any]]]) -> str:
    """The whole report as one HTML document (str).

    ``md`` is the report's markdown (its ``README.md``, computed once by :mod:`vecbench.report.write`), each
    figure linked as ``<name>.png``; ``svgs``: figure name -> its SVG file, drawn inline in its place;
    ``headlines``: the headline rows of each part, for the code beside its cost.
    """
    figures = {name: svg_inline(Path(path).read_text(encoding="utf-8"), f"f{i}")
               for i, (name, path) in enumerate(svgs.items())}
    body = markdown_to_html(md, figures)
    nav = "".join(f'<li><a href="#{html.escape(a)}">{t}</a></li>'
                  for a, t in re.findall(r'<h2 id="([^"]*)">(.*?)</h2>', body))
    teach = teaching_view(results, headlines)
    if teach:
        nav += '<li><a href="#the-code-beside-its-cost">The code beside its cost</a></li>'
    own = own_view(results)
    if own:
        nav += '<li><a href="#your-code-beside-its-cost">Your code beside its cost</a></li>'
        teach = f"{teach}\n{own}"
    title = "vecbench report" + (f", {results.created}" if results.created else "")
    # The first screen is the report's start (banner, lecture, summary); the contents come after it, folded.
    later = [m.start() for m in re.finditer(r'<h2 id="([^"]*)"', body)
             if not m.group(1).startswith(("the-lecture-s-experiment", "what-vectorization-buys"))]
    cut = later[0] if later else len(body)
    first, rest = body[:cut], body[cut:]
    lec = first.find('<h2 id="the-lecture-s-experiment')
    summ = first.find('<h2 id="what-vectorization-buys')
    if 0 <= lec < summ:  # side by side on a wide screen, one column on a phone
        first = (f'{first[:lec]}<div class="lead"><section>{first[lec:summ]}</section>'
                 f"<section>{first[summ:]}</section></div>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            f"{first}<nav><details><summary>Contents ({nav.count('<li>')} sections)</summary><ul>{nav}</ul></details>"
            f"</nav>\n{rest}\n{teach}\n</body></html>\n")
