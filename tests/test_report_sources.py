"""Reports from any source: a foreign pytest-benchmark suite, merged files kept apart, the reference beside yours,
and the README quoting the committed results."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cases import outside_env

from vecbench import registry
from vecbench.cli import main
from vecbench.report import beside_reference, headline, reference, split
from vecbench.results import load

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
VB = FIXTURES / "results_small.json"

SUITE = textwrap.dedent('''
    import pytest

    @pytest.mark.parametrize("n", [10, 100, 1000])
    def test_sort(benchmark, n):
        benchmark.group = "test_sort"
        data = list(range(n, 0, -1))
        benchmark(sorted, data)

    @pytest.mark.parametrize("n", [10, 100, 1000])
    def test_sum(benchmark, n):
        benchmark.group = "test_sort"
        benchmark(sum, range(n))

    def test_join(benchmark):
        benchmark.group = "strings"
        benchmark.extra_info.update(bytes=4000, flops=0)
        benchmark(" ".join, ["x"] * 1000)

    def test_upper(benchmark):
        benchmark.group = "strings"
        benchmark(str.upper, "x" * 1000)
''')


@pytest.fixture(scope="module")
def foreign(tmp_path_factory) -> Path:
    """A pytest-benchmark JSON written by a suite that never imports vecbench."""
    folder = tmp_path_factory.mktemp("foreign")
    (folder / "test_foreign.py").write_text(SUITE)
    out = folder / "foreign.json"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "test_foreign.py"),
                    "--benchmark-json", str(out), "--benchmark-min-rounds=3", "--benchmark-max-time=0.01",
                    "--benchmark-warmup=off", "-o", "addopts="], check=True, cwd=folder, capture_output=True, timeout=120,
                   env=outside_env())
    assert "vecbench" not in (folder / "test_foreign.py").read_text()
    return out


def test_foreign_file_is_read_as_groups_and_series(foreign):
    res = load(foreign)
    by = {(r.op, r.backend, r.label) for r in res}
    # parametrized by n: group -> panel, test function -> series, n -> x axis
    sort = {(b, lab) for op, b, lab in by if op == "test_sort"}
    assert {("test_sort", f"n={n}") for n in (10, 100, 1000)} <= sort
    assert {("test_sum", f"n={n}") for n in (10, 100, 1000)} <= sort
    assert all(r.size == {"n": int(r.label[2:])} for r in res if r.op == "test_sort")
    strings = [r for r in res if r.op == "strings"]
    assert sorted(r.backend for r in strings) == ["test_join", "test_upper"] and all(not r.size for r in strings)
    join = next(r for r in strings if r.backend == "test_join")
    assert join.bytes == 4000 and join.gbps == pytest.approx(4000 / join.median_s / 1e9)


def test_foreign_file_is_reported(foreign, tmp_path, capsys):
    assert main(["report", str(foreign), "-o", str(tmp_path)]) == 0
    assert "drawing benchmarks" in capsys.readouterr().err  # says what it draws as it goes, on stderr
    assert (tmp_path / "benchmarks.svg").stat().st_size > 1000
    text = (tmp_path / "README.md").read_text()
    assert "`test_sort`:" in text and "`strings`:" in text and "| test_join |" in text
    assert "time_vs_size" not in text  # nothing of vecbench's own figures for a foreign suite
    assert "<svg" in (tmp_path / "report.html").read_text()


def test_numeric_tail_of_the_name_is_the_x_axis():
    from vecbench.foreign import from_benchmark

    stats = {"min": 1e-6, "median": 2e-6, "iqr": 1e-7, "rounds": 5, "iterations": 1}
    r = from_benchmark({"name": "test_fib_30", "fullname": "t.py::test_fib_30", "group": None, "params": None,
                        "stats": stats})
    assert (r.op, r.backend, r.size) == ("t.py", "test_fib_30", {"n": 30})
    r = from_benchmark({"name": "test_x[fast-1e3]", "fullname": "t.py::test_x[fast-1e3]", "group": "g",
                        "params": {"how": "fast", "n": 1000}, "stats": stats})
    assert (r.op, r.backend, r.size) == ("g", "test_x[how=fast]", {"n": 1000})
    with pytest.raises(ValueError, match="stats.median"):
        from_benchmark({"name": "t", "stats": {"min": 1.0, "median": None}})


def _as_float32(src: Path, dst: Path) -> Path:
    d = json.loads(src.read_text())
    for r in d["results"]:
        r["dtype"] = "float32"
    dst.write_text(json.dumps(d))
    return dst


def test_float32_and_float64_files_are_drawn_apart(tmp_path):
    f32 = _as_float32(VB, tmp_path / "f32.json")
    out = tmp_path / "report"
    assert main(["report", str(VB), str(f32), "-o", str(out)]) == 0
    for dt in ("float32", "float64"):
        assert (out / f"time_vs_size_{dt}.svg").exists() and (out / f"speedup_vs_numpy_{dt}.svg").exists()
    assert not (out / "time_vs_size.svg").exists()
    text = (out / "README.md").read_text()
    assert "## float32" in text and "## float64" in text
    # Each figure says where its data came from.
    svg = (out / "time_vs_size_float32.svg").read_text()
    assert "f32.json" in svg and "float32" in svg and str(VB.name) not in svg


def test_same_kernel_in_two_files_is_split_by_file(tmp_path):
    a, b = load(VB), load(VB)
    parts = split([("a.json", a), ("b.json", b)])
    assert [p.sources for p in parts] == [("a.json",), ("b.json",)]
    assert all("from a.json" in p.title or "from b.json" in p.title for p in parts)
    assert len({p.suffix for p in parts}) == 2
    # Files with different kernels of one machine and dtype are one part.
    nb = dataclasses.replace(a, records=[r for r in a if r.backend != registry.baseline("loop")])
    lp = dataclasses.replace(a, records=[r for r in a if r.backend == registry.baseline("loop")])
    (one,) = split([("x.json", nb), ("y.json", lp)])
    assert one.suffix == "" and len(one.results) == len(a)


def test_headline_vs_loop_from_the_largest_size_it_ran_at():
    res = load(VB)
    loop = registry.baseline("loop")
    top = {r["op"]: r["label"] for r in headline(res)}
    # Drop the loop backend's record at each op's headline size: as if it had been skipped there.
    kept = [r for r in res if not (r.backend == loop and r.label == top.get(r.op))]
    rows = headline(dataclasses.replace(res, records=kept))
    for row in rows:
        if row["backend"] != loop and row["status"] == "ok" and row["vs_loop"] is not None:
            assert row["vs_loop_label"] not in (None, row["label"])
            lp = next(r for r in kept if (r.op, r.backend, r.label) == (row["op"], loop, row["vs_loop_label"]))
            me = next(r for r in kept if (r.op, r.backend, r.label) == (row["op"], row["backend"], row["vs_loop_label"]))
            assert row["vs_loop"] == pytest.approx(lp.median_s / me.median_s)
    assert any(r["vs_loop"] is not None for r in rows if r["backend"] != loop)


def test_reference_is_installed_and_is_the_committed_one():
    packaged = ROOT / "vecbench" / "_data" / "reference.json"
    assert packaged.read_bytes() == (ROOT / "reports" / "results.json").read_bytes(), (
        "vecbench/_data/reference.json must be a copy of reports/results.json: cp reports/results.json "
        "vecbench/_data/reference.json")
    ref = reference()
    assert ref is not None and headline(ref)
    assert beside_reference(ref, ref) == []  # the reference is not shown beside itself
    rows = beside_reference(load(VB), ref)
    assert rows and any(r["ref_median_s"] for r in rows)


def _ms(x: float) -> str:
    return f"{x * 1e3:.1f}" if x >= 0.01 else f"{x * 1e3:.3f}"


def test_readme_numbers_are_the_committed_ones():
    """Every number the README and the docs quote from the reference report is computed here from reports/results.json."""
    readme = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    ref = load(ROOT / "reports" / "results.json")
    from vecbench.report import lecture_dot

    lec = lecture_dot(ref)
    assert lec is not None
    m = re.search(r"measures the for-loop at \*\*([\d.]+) ms\*\* and `np.dot` at \*\*([\d.]+) ms\*\*: \*\*(\d+)x\*\*", readme)
    assert m, "the README's lecture sentence changed: update this test"
    assert m.group(1) == f"{lec['loop_ms']:.1f}" and m.group(2) == f"{lec['vectorized_ms']:.3f}"
    assert int(m.group(3)) == round(lec["speedup"])
    m = re.search(r"Numba is (\d+)x faster than NumPy per\s+epoch at batch size 1, (\d+)x at 32, ([\d.]+)x at 1024", readme)
    assert m, "the README's training sentence changed: update this test"
    vec = registry.baseline("vectorized")
    epoch = {(r.backend, r.size.get("batch")): r.median_s for r in ref if r.op == "train_epoch" and r.ok}
    compiled = [b for b in registry.by_role("compiled")]
    for text, batch in zip(m.groups(), (1, 32, 1024)):
        fast = min(epoch[b, batch] for b in compiled if (b, batch) in epoch)
        ratio = epoch[vec, batch] / fast
        assert float(text) == pytest.approx(ratio, rel=0.05 if "." in text else 0.01, abs=0.5), (batch, ratio)
