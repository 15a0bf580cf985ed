"""The README cannot drift from what works: each ``vecbench`` line it shows runs, as written, in an empty folder.

Only the sizes are made small (every size clipped, measured in this process with three
samples, no wait for a quiet machine), the memory-bandwidth probe reads a fixed number, the
cold-cache walls of the targets preset are left out (timings, which tests never take), and
figures are built but not rendered to PNG/SVG (tests/test_report.py and test_html.py render
them). Everything else (option parsing, default output folders, files read and written, the
report's markdown and HTML) is the real command.
And the README's test command is the very text ``.ci/run`` runs.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import vecbench as vb
from vecbench.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FIXTURES = Path(__file__).parent / "fixtures"
# The size of every non-axis dimension after clipping: one dimension up to LONG, the others SHORT.
LONG, SHORT = 2048, 16


def fenced_lines(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of every line inside a fenced code block."""
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            inside = not inside
        elif inside:
            yield number, line


def readme_commands() -> list[tuple[int, list[str]]]:
    """Every ``vecbench ...`` command line the README shows (``$ `` prompts and ``# comments`` dropped)."""
    found = []
    for number, line in fenced_lines(README.read_text(encoding="utf-8")):
        if not re.match(r"(\$ )?vecbench ", line):
            continue  # not a command (a file tree, Python, JSON, output)
        words = shlex.split(line.removeprefix("$ "), comments=True)
        if words[:1] == ["vecbench"] and "..." not in words:
            found.append((number, words[1:]))
    return found


COMMANDS = readme_commands()


def _clip(op: vb.OpSpec, size: dict[str, int]) -> dict[str, int]:
    keys = [k for k in size if k not in op.axis_names]
    longest = max(keys, key=lambda k: size[k])
    return {k: v if k in op.axis_names or not isinstance(v, int) else min(v, LONG if k == longest else SHORT)
            for k, v in size.items()}


def _unrendered(fig, folder: Path, name: str, formats=("png", "svg")) -> list[Path]:
    """``plotting.save`` without the rendering: the files a report links, each a placeholder."""
    import matplotlib.pyplot as plt

    plt.close(fig)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.{fmt}" for fmt in formats]
    for path in paths:
        path.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>' if path.suffix == ".svg" else "")
    return paths


@pytest.fixture
def small(monkeypatch, tmp_path):
    """The README's commands with small sizes, in an empty folder; see the module docstring."""
    import vecbench.bandwidth
    import vecbench.coldcompile
    import vecbench.harness
    import vecbench.report.figures
    import vecbench.targets
    import vecbench.training

    real_run, real_histories = vecbench.harness.run, vecbench.training.convergence_histories

    def small_run(ops=None, backends=None, sizes="default", sizes_by_op=None, settings=None, **kw):
        chosen = {k.op.name for k in vb.kernels(ops, backends)}
        by_op = {}
        for name in chosen:
            op = vb.spec(name)
            sweep = vecbench.harness.sweep_of(op, (sizes_by_op or {}).get(name, sizes))
            clipped = [_clip(op, s) for s in sweep]
            by_op[name] = [s for i, s in enumerate(clipped) if s not in clipped[:i]]
        base = settings or vecbench.harness.Settings()
        tiny = vecbench.harness.Settings(min_sample_s=0.0005, repeats=3, max_samples=3, ci_target=0, budget_s=1.0,
                                         seed=base.seed)
        kw.update(bandwidth=False, isolate=False)
        return real_run(ops=ops, backends=backends, sizes=sizes, sizes_by_op=by_op, settings=tiny, **kw)

    monkeypatch.setattr(vecbench.harness, "run", small_run)
    monkeypatch.setattr(vecbench.targets, "run", small_run)
    monkeypatch.setattr(vecbench.targets, "quick_walls", lambda: [])
    monkeypatch.setattr(vecbench.bandwidth, "measure_bandwidth", lambda *a, **k: {"copy": 10.0, "best": 10.0})
    monkeypatch.setattr(vecbench.coldcompile, "measure_cold_compile", lambda *a, **k: {})
    monkeypatch.setattr(vecbench.report.figures, "save", _unrendered)
    monkeypatch.setattr(vecbench.training, "convergence_histories",
                        lambda *a, **k: real_histories(n_features=5, m=300, epochs=2))
    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _inputs_for(argv: list[str], folder: Path) -> None:
    """Files a README line reads that an earlier line (or another tool) would have written."""
    if argv[:1] == ["compare"]:
        for name in argv[1:3]:
            shutil.copy(FIXTURES / "results_small.json", folder / name)
    if any(".benchmarks" in a for a in argv):  # written by the README's `pytest benchmarks` line
        (folder / ".benchmarks" / "Linux-CPython").mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / "pytest_benchmark_small.json", folder / ".benchmarks" / "Linux-CPython" / "0001.json")


def test_the_readme_shows_the_commands_a_newcomer_types():
    names = {tuple(argv[:1]) for _, argv in COMMANDS}
    assert {("run",), ("report",), ("compare",), ("list",), ("info",)} <= names, names
    assert any(argv == ["run", "--quick"] for _, argv in COMMANDS)


def test_every_readme_command_works_in_an_empty_folder(small, capsys):
    """All lines in README order, in one empty folder, as a newcomer would type them."""
    missing = {b.name for b in vb.iter_backends() if not b.available} | {
        name for name in ("jax", "torch") if importlib.util.find_spec(name) is None}
    for number, argv in COMMANDS:
        _inputs_for(argv, small)
        rc = main(argv)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, (number, argv, err)
        if missing & set(argv):  # a line for an extra that is not installed: refused with its install command
            assert rc == 2 and "pip install 'vecbench[" in err, (f"README.md:{number}", argv, rc, err)
            continue
        # compare's exit 1 is its verdict (the README line is a regression gate); anything else must succeed.
        assert rc == 0 or (argv[0] == "compare" and rc == 1), (f"README.md:{number}", argv, rc, err[-2000:])
    assert list(small.glob("results/*.json")), "the default output folder results/ was not created"


@pytest.mark.parametrize("output", ["results/dot.json", "some/new/dir/out.json"])
def test_run_creates_the_folders_of_its_output(small, output, capsys):
    assert main(["run", "--ops", "dot", "--backends", "numpy", "--sizes", "100", "--no-progress", "-o", output]) == 0
    assert (small / output).is_file()
    assert not list(small.rglob("*.journal.jsonl"))  # the journal is removed once the results are saved


def test_run_refuses_an_output_folder_it_cannot_make_naming_the_option(small, capsys):
    (small / "afile").write_text("x")
    assert main(["run", "--ops", "dot", "--backends", "numpy", "--sizes", "100", "-o", "afile/out.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vecbench run: error: --output: ") and "afile" in err and "Errno" not in err
    assert "journal" not in err


def _setup_commands(text: str) -> list[str]:
    """The README's set-up commands: the fenced lines that create a venv."""
    return [line.strip() for _, line in fenced_lines(text) if line.startswith("python3 -m venv .venv")]


def test_ci_runs_the_readme_test_command_verbatim():
    readme = _setup_commands(README.read_text(encoding="utf-8"))
    assert len(readme) == 2, readme  # one to measure and report, one to test
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # .ci/run holds the README's test command between markers, run as written in a clean folder.
    match = re.search(r"^README_TEST_COMMAND='([^']*)'$", ci, flags=re.MULTILINE)
    assert match, "no README_TEST_COMMAND='...' line in .ci/run"
    assert match.group(1) == readme[1]
