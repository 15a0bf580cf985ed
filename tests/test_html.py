"""report.html: self-contained, escaped, the code beside its timings; loaded in a real headless browser."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cases import available_backends

import vecbench as vb
from vecbench import registry
from vecbench.report import write_report
from vecbench.report.html import kernel_source, markdown_to_html, svg_inline
from vecbench.results import load

FIXTURES = Path(__file__).parent / "fixtures"
VB = FIXTURES / "results_small.json"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    res = load(VB)
    # A failure reason with markup in it: the page must show it as text, never run it.
    bad = dataclasses.replace(res.records[0], status="failed", reason="<script>alert(1)</script> & <b>x</b>",
                              timing=None, label="<i>odd</i>")
    res = dataclasses.replace(res, records=[*res.records, bad])
    folder = tmp_path_factory.mktemp("html") / "report"
    write_report(res, folder, sources=[str(VB)])
    return folder / "report.html"


def test_page_is_self_contained(report):
    text = report.read_text()
    assert text.startswith("<!DOCTYPE html>")
    # Nothing is fetched: no scripts, stylesheets, images or fonts from files or the network.
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\((?!#)", text), "external or active content"
    assert not re.search(r"""(src|href)=["'](?!#|data:)""", text), "a link to something outside the page"
    assert 'name="viewport"' in text and "@media print" in text and "@media (max-width" in text
    svgs = re.findall(r"<svg\b", text)
    figures = sorted(p.stem for p in report.parent.glob("*.svg"))
    assert len(svgs) == len(figures) > 0
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "figures share element ids"


def test_everything_is_escaped(report):
    text = report.read_text()
    assert "<script>alert(1)" not in text and "<b>x</b>" not in text and "<i>odd</i>" not in text
    assert html.escape("<script>alert(1)</script> & <b>x</b>") in text


def test_code_beside_its_cost(report):
    text = report.read_text()
    for op in ("dot", "matvec", "logreg_grad"):
        for b in available_backends(op):
            src = kernel_source(op, b)
            assert src is not None and src.lstrip().startswith(("def ", "@")), (op, b)
            assert html.escape(src) in text, (op, b)
        section = text.split(f'id="code-{op}"')[1].split("<h3")[0]
        loop, vec = registry.baseline("loop"), registry.baseline("vectorized")
        # Each kernel's card says what one call cost and its speedups at the headline size.
        assert f"vs {loop}" in section and f"vs {vec}" in section and "per call at" in section


def test_numba_source_is_the_python_function():
    b = registry.by_role("compiled")[0]
    core = vb.kernel("dot", b).core
    fn = getattr(core, "py_func", core)
    assert kernel_source("dot", b) == __import__("inspect").getsource(fn)


def test_markdown_subset():
    out = markdown_to_html("## A & B\n\n| a | b |\n|---|---:|\n| `x<y` | **2** |\n\n- one\n- two\n\n"
                           "#### cap\n\n![f](f.png)\n", {"f": "<svg></svg>"})
    assert '<h2 id="a-b">A &amp; B</h2>' in out
    assert "<code>x&lt;y</code>" in out and '<td class="num"><strong>2</strong></td>' in out
    assert "<ul><li>one</li><li>two</li></ul>" in out
    assert '<figure id="fig-f"><svg></svg><figcaption>cap</figcaption></figure>' in out


def test_svg_inline_prefixes_ids_and_drops_fixed_size():
    svg = ('<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg width="10pt" height="5pt" viewBox="0 0 10 5">'
           '<defs><path id="a"/></defs><use xlink:href="#a"/><g clip-path="url(#c)"/></svg>')
    out = svg_inline(svg, "f1")
    assert out.startswith("<svg viewBox") and "max-width: 10pt" in out
    assert 'id="f1-a"' in out and 'href="#f1-a"' in out and "url(#f1-c)" in out
    assert 'width="10pt"' not in out
    with pytest.raises(ValueError, match="not an SVG"):
        svg_inline("<html/>", "f2")


# ---------------------------------------------------------------- a real browser
_PROBE_HEAD = """<script>window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || (e.target && (e.target.src || e.target.href)))), true);
const _ce = console.error; console.error = (...a) => { window.__errors.push(a.join(' ')); _ce(...a); };
</script>"""
_PROBE_BODY = """<script>window.addEventListener('load', () => {
  const figs = [...document.querySelectorAll('figure')].map(f => { const s = f.querySelector('svg');
    const r = s ? s.getBoundingClientRect() : {width: 0, height: 0}; return [f.id, r.width, r.height]; });
  const out = document.createElement('pre'); out.id = 'vb-probe';
  out.textContent = JSON.stringify({figs, errors: window.__errors,
    resources: performance.getEntriesByType('resource').map(e => e.name),
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth});
  document.body.appendChild(out); });
</script>"""


def _browser() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def _chrome(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-extensions",
             "--no-first-run", "--disable-sync", "--hide-scrollbars", "--mute-audio", "--enable-logging=stderr",
             "--v=0", "--virtual-time-budget=5000"]
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=90)


def test_page_in_a_headless_browser(report, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium here (.ci/run installs Debian's chromium package; apt-get install chromium)")
    page = report.read_text()
    probed = tmp_path / "probed.html"
    # The probe goes into a copy: the page itself has no script.
    probed.write_text(page.replace("<head>", "<head>" + _PROBE_HEAD, 1).replace("</body>", _PROBE_BODY + "</body>"))
    # A phone's width: 412 CSS pixels.
    run = _chrome(browser, "--window-size=412,900", "--dump-dom", probed.as_uri())
    m = re.search(r'<pre id="vb-probe">(.*?)</pre>', run.stdout, re.S)
    assert m, f"the page did not finish loading in {browser}: {run.stderr[-2000:]}"
    probe = json.loads(html.unescape(m.group(1)))
    assert probe["errors"] == [], probe["errors"]
    console = [ln for ln in run.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert console == [], console
    assert probe["resources"] == [], "the page loaded something from outside itself"
    assert len(probe["figs"]) == len(list(report.parent.glob("*.svg"))) > 0
    for name, w, h in probe["figs"]:
        assert w > 100 and h > 50, f"figure {name} is {w} x {h} px"
        assert w <= probe["innerWidth"], f"figure {name} is wider than a phone's screen"
    assert probe["scrollWidth"] <= probe["innerWidth"] + 1, "the page scrolls sideways on a phone"
    shot = tmp_path / "phone.png"
    _chrome(browser, "--window-size=412,2000", f"--screenshot={shot}", report.as_uri())
    assert shot.exists() and shot.stat().st_size > 10_000
