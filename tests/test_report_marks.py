"""Every number knows its source; the report leads with pictures; the console speaks to people.

Synthetic records only: nothing is timed, nothing depends on the machine's speed.
"""

from __future__ import annotations

import dataclasses
import io
import json

import pytest

import vecbench as vb
from vecbench import registry
from vecbench.backends import Backend
from vecbench.cli import main
from vecbench.cli.console import print_reasons, print_spoiled
from vecbench.report import beside_reference, break_even, headline, lecture_dot, write_report
from vecbench.report.analysis import CONTENDED_MARK, FIX_COMMAND, NOISY_MARK, summary_rows
from vecbench.report.html import markdown_to_html
from vecbench.report.markdown import banner_lines, render
from vecbench.results import Record, Results, Timing

LOOP, VEC = registry.baseline("loop"), registry.baseline("vectorized")
COMPILED = registry.by_role("compiled")[0]


def rec(backend: str, t: float, n: int = 10**6, op: str = "dot", **kw) -> Record:
    return Record(op, backend, {"n": n}, f"1e{len(str(n)) - 1}", "float64", 2, bytes=16 * n, flops=2 * n,
                  timing=Timing.from_samples([t * (1 + 0.002 * i) for i in range(9)], 1,
                                             compile_time_s=0.5 if backend == COMPILED else None), **kw)


def lecture(busy: bool) -> Results:
    extra = {"contended": True, "contention": 0.6} if busy else {}
    return Results(records=[rec(LOOP, 0.09), rec(VEC, 0.008, **extra), rec(COMPILED, 0.0004),
                            rec(LOOP, 0.009, n=10**5), rec(VEC, 0.008, n=10**5, **extra)],
                   created="2026-01-01T00:00:00+00:00", machine={"cpu": "test cpu", "cores": 2})


@pytest.mark.parametrize("busy", [True, False])
def test_the_lecture_sentence_and_everything_derived_carry_the_mark(busy):
    res = lecture(busy)
    lec = lecture_dot(res)
    assert lec["untrusted"] is busy and (CONTENDED_MARK in lec["mark"]) is busy
    rows = {h["backend"]: h for h in headline(res)}
    assert (CONTENDED_MARK in rows[COMPILED]["mark"]) is busy  # its vs-numpy speedup divides a contended time
    assert all((CONTENDED_MARK in r["mark"]) is busy for r in break_even(res))
    assert all((CONTENDED_MARK in r["mark"]) is busy for r in summary_rows(res))
    ref = dataclasses.replace(lecture(False), created="2025-01-01T00:00:00+00:00")
    assert all((CONTENDED_MARK in r["mark"]) is busy for r in beside_reference(res, ref))
    text = render(res, {"lecture": "lecture.png", "summary": "summary.png", "time_vs_size": "t.png"}, [], LOOP)
    sentence = next(line for line in text.splitlines() if line.startswith("On this machine: for-loop"))
    assert (CONTENDED_MARK in sentence) is busy
    assert (FIX_COMMAND in text.split("## Figures")[0]) is busy  # the banner's command, on the first screen


def test_banner_only_when_much_of_a_run_stayed_contended_or_the_probe_was():
    quiet = lecture(False)
    assert banner_lines(quiet) == []
    assert "stayed contended" in banner_lines(lecture(True))[0]  # 2 of 5
    probe = dataclasses.replace(quiet, bandwidth_gbps={"best": 12.0, "copy_numpy": 12.0, "contended": 1.0})
    line = banner_lines(probe)[0]
    assert "bandwidth probe was contended" in line and FIX_COMMAND in line


def test_bandwidth_probe_marks_percent_of_bandwidth_and_the_machine_line():
    res = dataclasses.replace(lecture(False), bandwidth_gbps={
        "best": 12.0, "copy_numpy": 12.0, "contended": 1.0, "contention": 0.5, "rounds": 3.0, "spread": 0.3,
        "array_bytes": 80e6, "llc_bytes": float(300 << 20), "memory": 0.0})
    text = render(res, {}, [], LOOP)
    assert "% of bandwidth ⚠ probe contended, ⚠ probe partly in cache |" in text
    assert "CONTENDED" in text and "partly cache bandwidth" in text
    from vecbench.report.figures import _roof_note

    assert "probe contended" in _roof_note(res) and _roof_note(lecture(False)) == ""


def test_report_order_pictures_first_tables_after_long_lists_folded(tmp_path):
    res = lecture(True)
    res.records += [Record("dot", "not_here", {}, "-", "float64", 0, status="skipped", reason="needs x")
                    for _ in range(3)]
    res.records.append(Record("dot", LOOP, {"n": 10**8}, "1e8", "float64", 2, status="skipped", reason="budget"))
    write_report(res, tmp_path)
    text = (tmp_path / "README.md").read_text()
    order = ["## The lecture's experiment", "![lecture]", "## What vectorization buys", "![summary]", "## Figures",
             "## Headline", "## Measurements to treat with care", "## Failures and skips", "## Machine"]
    at = [text.index(s) for s in order]
    assert at == sorted(at), order
    assert "<summary>2 measurement(s) to treat with care</summary>" in text
    assert "<summary>0 failed, 1 skipped, 1 backend(s) not installed</summary>" in text
    assert "| (1 op) | not_here | - | - | not installed |" in text
    page = (tmp_path / "report.html").read_text()
    assert "<details><summary>Contents" in page and '<div class="lead">' in page
    assert page.index('<div class="lead">') < page.index("<nav>") < page.index('id="figures"')
    assert (tmp_path / "lecture.png").exists() and (tmp_path / "summary.png").exists()
    card = page.split('id="code-dot"')[1]
    assert f"<strong>{CONTENDED_MARK}</strong>" in card  # the code beside its cost carries the mark too


def test_markdown_details_and_banner_become_html():
    out = markdown_to_html("> ⚠ **busy**: run `x`\n\n<details>\n<summary>3 things</summary>\n\n| a |\n|---|\n| 1 |\n\n"
                           "</details>\n")
    assert '<p class="banner">⚠ <strong>busy</strong>: run <code>x</code></p>' in out
    assert "<details>\n<summary>3 things</summary>" in out and out.rstrip().endswith("</details>")


# ---------------------------------------------------------------- the console
def _capture() -> tuple[object, io.StringIO]:
    from rich.console import Console

    buf = io.StringIO()
    return Console(file=buf, width=300, color_system=None), buf


def test_missing_backend_is_one_line_with_the_install_command_as_written():
    hint = "the jax backend needs jax: pip install 'vecbench[jax]' (or pip install jax)"
    res = Results(records=[Record(op, "jax", {}, "-", "float64", 0, status="skipped", reason=hint)
                           for op in ("dot", "matvec", "sigmoid")])
    console, buf = _capture()
    print_reasons(res, console)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 1 and "pip install 'vecbench[jax]'" in lines[0]


def test_cli_run_prints_the_install_command_of_a_missing_backend_once(tmp_path, capsys):
    class Missing(Backend):
        name = "missing_test23"
        requires = ("no_such_package_23",)
        install = "'vecbench[missing_test23]'"
        kernels = {"dot": "no_such_package_23:dot", "matvec": "no_such_package_23:matvec"}

    try:
        vb.register_backend(Missing)
        code = main(["run", "--ops", "dot,matvec", "--backends", "missing_test23", "--sizes", "100",
                     "--no-bandwidth", "--no-progress", "-o", str(tmp_path / "r.json")])
        out = capsys.readouterr().out
    finally:
        registry.BACKENDS.pop("missing_test23", None)
        for op in ("dot", "matvec"):
            registry._KERNELS.pop((op, "missing_test23"), None)
    assert code == 0
    hits = [line for line in out.splitlines() if "pip install" in line]
    assert len(hits) == 1 and "pip install 'vecbench[missing_test23]'" in hits[0], out


def test_info_is_tables_for_people_and_json_for_machines(capsys):
    assert main(["info", "--no-bandwidth"]) == 0
    text = capsys.readouterr().out
    assert "backends" in text and "machine" in text and '"machine":' not in text
    assert all(b in text for b in vb.backends())
    assert main(["info", "--no-bandwidth", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["machine"]["backends"]) == set(vb.backends())


def test_run_summary_names_the_worst_spoiled_and_what_was_remeasured():
    fixed = dataclasses.replace(rec(VEC, 3e-4), attempts=({"kept": False}, {"kept": True}))
    still = dataclasses.replace(rec(COMPILED, 8e-3, n=10**5, contended=True, contention=0.9),
                                attempts=({"kept": True}, {"kept": False}, {"kept": False}))
    flat = rec(COMPILED, 8.1e-3, n=10**6, contended=True, contention=0.4)
    console, buf = _capture()
    print_spoiled(Results(records=[fixed, still, flat]), console)
    out = buf.getvalue()
    assert "re-measured 2 contended or noisy kernel(s) after the sweep: 1 now trusted (dot numpy 1e6)" in out
    assert f"worst still spoiled: dot {COMPILED} 1e5 (8.06 ms, 90% contention, 3 attempt(s)); dot {COMPILED} 1e6" in out
    assert "time-slice wait:" in out and "waited for CPU time slices" in out


def test_remeasure_is_on_by_default_and_an_option_turns_it_off():
    from vecbench.cli import build_parser
    from vecbench.cli.options import settings_from

    parser = build_parser()
    assert settings_from(parser.parse_args(["run"])).remeasure > 1
    assert settings_from(parser.parse_args(["run", "--quick"])).rounds > 0
    assert settings_from(parser.parse_args(["run", "--no-remeasure"])).remeasure == 0
    args = parser.parse_args(["report", "--run", "--wait-quiet", "60", "--no-remeasure"])
    assert (args.wait_quiet, args.no_remeasure) == (60.0, True)


@pytest.mark.parametrize("vec_s, contended, disagree", [
    (0.008, False, False),   # the rounds agree with the medians (0.09 / 0.008 = 11x): the rounds' ratio leads
    (0.015, False, True),    # 6x in the rounds beside 11x in the medians: both shown, marked
    (0.008, True, True),     # contended rounds: the medians lead, the rounds beside them
])
def test_the_lecture_sentence_never_puts_a_rounds_ratio_beside_medians_it_contradicts(vec_s, contended, disagree):
    entry = {"op": "dot", "label": "1e6", "dtype": "float64", "backends": [LOOP, VEC], "contended": contended,
             "rounds_s": [[0.09 * (1 + 0.001 * i), vec_s] for i in range(9)]}
    res = dataclasses.replace(lecture(False), paired=[entry])
    lec = lecture_dot(res)
    sentence = next(line for line in render(res, {}, [], LOOP).splitlines() if line.startswith("On this machine"))
    assert "**11x** faster" in sentence  # the ratio of the two medians the sentence shows
    assert (lec["rounds_disagree"] is not None) is disagree
    assert lec["paired"] is not disagree and lec["untrusted"] is disagree
    assert ("median of paired rounds" in sentence) is not disagree
    assert ("interleaved rounds timed after the sweep gave" in sentence) is disagree
    assert ("with the machine busy" in sentence) is contended
    assert (CONTENDED_MARK in lec["mark"]) is contended and (NOISY_MARK in lec["mark"]) is (disagree and not contended)
