"""No input gives a traceback: every option checked up front, odd files reported in one line."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vecbench.cli import build_parser, main
from vecbench.results import Record, Results, Timing, load

FIXTURES = Path(__file__).parent / "fixtures"
GARBAGE = ["", " ", "0", "-1", "-5", "1", "2", "2.5", "1e3", "1e400", "inf", "nan", "abc", "both", "float32",
           "float16", "int32", "full", "99999", "dot", "numpy", "numba", "dot,foo", ",", "quick", "targets",
           "median", "synthetic", "/dev/null", ".", "a\x00b", "ü", "--", str(FIXTURES / "results_small.json"),
           str(FIXTURES / "pytest_benchmark_small.json"), str(FIXTURES)]


def _options() -> dict[str, list[tuple[str, bool]]]:
    """Per subcommand, the real option strings and whether each takes a value (from the parser itself)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: [(s, a.nargs != 0) for a in p._actions for s in a.option_strings if s not in ("-h", "--help")]
            for name, p in sub.choices.items()}


OPTIONS = _options()


@st.composite
def argvs(draw) -> list[str]:
    cmd = draw(st.sampled_from([*OPTIONS, "bogus"]))
    argv = [cmd]
    for _ in range(draw(st.integers(0, 4))):
        if cmd in OPTIONS and OPTIONS[cmd] and draw(st.booleans()):
            flag, takes = draw(st.sampled_from(OPTIONS[cmd]))
            argv.append(flag)
            if takes or draw(st.booleans()):
                argv.append(draw(st.sampled_from(GARBAGE) | st.text(max_size=6)))
        else:
            argv.append(draw(st.sampled_from(GARBAGE)))
    return argv


def _one_record(**kwargs) -> Results:
    """What a patched harness.run returns after doing the real argument checks."""
    from vecbench.harness import _check_run_args, sweep_of
    from vecbench.registry import kernels

    _check_run_args(kwargs.get("dtypes", ["float64"]), kwargs.get("threads"))
    by_op = kwargs.get("sizes_by_op") or {}
    for k in kernels(kwargs.get("ops"), kwargs.get("backends")):
        sweep_of(k.op, by_op.get(k.op.name, kwargs.get("sizes", "default")))
    rec = Record("dot", "numpy", {"n": 10}, "10", "float64", 1, timing=Timing.from_samples([1e-6] * 3, 1))
    return Results(records=[rec], machine={"cpu": "test"})


@pytest.fixture
def no_work(monkeypatch, tmp_path):
    """Everything that would measure, train or draw for long is replaced; option checking is real."""
    import vecbench.bandwidth
    import vecbench.datasets
    import vecbench.harness
    import vecbench.report.write
    import vecbench.targets
    import vecbench.training

    monkeypatch.setattr(vecbench.harness, "run", _one_record)
    monkeypatch.setattr(vecbench.bandwidth, "measure_bandwidth", lambda *a, **k: {"best": 10.0})
    monkeypatch.setattr(vecbench.targets, "measure", lambda *a, **k: _one_record())
    monkeypatch.setattr(vecbench.targets, "quick_walls", lambda: [])
    monkeypatch.setattr(vecbench.report.write, "write_report", lambda *a, **k: [])
    monkeypatch.setattr(vecbench.training, "convergence_histories", lambda *a, **k: {})
    import vecbench.coldcompile

    monkeypatch.setattr(vecbench.coldcompile, "measure_cold_compile", lambda *a, **k: {})
    real_train = vecbench.training.train
    monkeypatch.setattr(vecbench.training, "train", lambda X, y, **k: real_train(X[:, :50], y[:50], **{
        **k, "epochs": 1, "batch_size": min(k["batch_size"], 50) if k["batch_size"] != "full" else "full"}))
    real_data = vecbench.datasets.make_classification
    monkeypatch.setattr(vecbench.datasets, "make_classification",
                        lambda n, m, seed=0: real_data(min(n, 50), 100, seed=seed))
    monkeypatch.chdir(tmp_path)  # default output paths land here
    return tmp_path


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=argvs())
def test_fuzzed_command_lines_never_show_a_traceback(no_work, capsys, argv):
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc in (0, 1, 2, 130), (argv, rc)
    if "--debug" in argv:  # --debug may show a traceback; without it, never
        return
    assert "Traceback" not in out + err, argv
    assert "internal error" not in err, (argv, err)
    if rc == 2:
        lines = [line for line in err.split("\n") if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("vecbench"), (argv, err)


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "--sizes", ""], "vecbench run: error: --sizes: quick, default, large, or whole numbers >= 1"),
    (["run", "--sizes", "inf"], "got 'inf'"),
    (["run", "--ops", ""], "vecbench run: error: --ops: one or more of dot,"),
    (["run", "--repeats", "0"], "vecbench run: error: --repeats: a whole number from 1 to"),
    (["run", "--batch-sizes", "2.5"], "--batch-sizes: a whole number in [1, m=20000] or 'full'; got '2.5'"),
    (["run", "--batch-sizes", "99999", "--sizes", "1000"], "--batch-sizes: a whole number in [1, m=1000] or 'full'"),
    (["run", "--batch-sizes", "0"], "--batch-sizes: a whole number in [1, m=20000] or 'full'; got '0'"),
    (["run", "--batch-sizes", "8", "--ops", "dot"], "--batch-sizes: sweeps train_epoch, so --ops must include it"),
    (["run", "--dtype", "int32"], "--dtype: one or more of float64, float32, both"),
    (["run", "--threads", "999"], "--threads: a whole number from 1 to"),
    (["run", "-o", "/dev/null"], "--output: /dev/null is a character device"),
    (["compare", "a", "b", "--fail-above", "nan"], "--fail-above: a ratio above 1 (1.10) or OP=RATIO (dot=1.05); got 'nan'"),
    (["train", "--epochs", "0"], "--epochs: a whole number from 1 to"),
])
def test_bad_options_are_one_line(no_work, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_dtype_both_runs_both(no_work, capsys, monkeypatch):
    seen = {}
    monkeypatch.setattr("vecbench.harness.run", lambda **k: seen.update(k) or _one_record(**k))
    assert main(["run", "--dtype", "both", "--ops", "dot", "--no-progress", "-o", "r.json"]) == 0
    assert seen["dtypes"] == ["float64", "float32"]


def test_refuses_a_directory_as_output_before_measuring(no_work, capsys):
    (no_work / "d").mkdir()
    assert main(["run", "-o", str(no_work / "d"), "--ops", "dot"]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert list((no_work / "d").iterdir()) == []


# ---------------------------------------------------------------- odd files
def _rec(**over) -> dict:
    r = Record("dot", "numpy", {"n": 1000}, "1000", "float64", 1, bytes=16000, flops=2000,
               timing=Timing.from_samples([1e-6, 1.1e-6, 1.2e-6], 1))
    return {**r.to_dict(), **over}


def _file(records) -> dict:
    return {"schema": 1, "results": records}


ODD_FILES = {
    "one-backend-one-size": (_file([_rec()]), 0),
    "only-failed": (_file([_rec(status="failed", reason="boom", median_s=None, min_s=None)]), 0),
    "only-skipped": (_file([_rec(status="skipped", reason="budget")]), 0),
    "nan-median": (_file([_rec(median_s=math.nan), _rec(backend="numba")]), 0),
    "zero-median": (_file([_rec(median_s=0.0)]), 0),
    "missing-median": (_file([{k: v for k, v in _rec().items() if k != "median_s"}]), 0),
    "missing-op": (_file([{k: v for k, v in _rec().items() if k != "op"}]), 2),
    "wrong-type": (_file([_rec(median_s="fast")]), 2),
    "size-not-dict": (_file([_rec(size=[1, 2])]), 2),
    "results-not-list": ({"schema": 1, "results": {"a": 1}}, 2),
    "json-list": ([1, 2], 2),
    "json-null": (None, 2),
    "json-string": ("hello", 2),
    "no-records": (_file([]), 2),
    "bad-machine": ({**_file([_rec()]), "machine": {"caches": {"L1": "big"}}}, 0),
    "bad-bandwidth": ({**_file([_rec()]), "bandwidth_gbps": {"best": "x"}}, 2),
    "pytest-benchmark-no-stats": ({"benchmarks": [{"extra_info": _rec()}], "machine_info": {}}, 2),
}


@pytest.mark.parametrize("name", list(ODD_FILES))
def test_report_on_odd_files(tmp_path, capsys, name):
    data, rc = ODD_FILES[name]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    assert main(["report", str(path), "-o", str(tmp_path / "rep")]) == rc
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if rc == 2:
        assert err.startswith(f"vecbench report: error: {path}") or "no measurements in" in err, err
        assert not (tmp_path / "rep").exists()  # never half a report
    else:
        assert (tmp_path / "rep" / "README.md").exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rep.")]  # temp folder gone


def test_report_of_a_single_backend_lists_what_was_left_out(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(ODD_FILES["one-backend-one-size"][0]))
    assert main(["report", str(path), "-o", str(tmp_path / "rep")]) == 0
    text = (tmp_path / "rep" / "README.md").read_text()
    assert "Figures left out" in text and "`speedup_vs_python`" in text
    assert (tmp_path / "rep" / "time_vs_size.png").exists()


def test_report_on_a_directory_and_json_list(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "is a directory, not a results file" in capsys.readouterr().err
    (tmp_path / "l.json").write_text("[]")
    assert main(["report", str(tmp_path / "l.json"), "-o", str(tmp_path / "rep")]) == 2
    assert "expected a JSON object" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["nan-median", "zero-median", "missing-median"])
def test_unusable_medians_never_pass_compare(tmp_path, capsys, bad):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_file([_rec(), _rec(backend="numba")])))
    worse = tmp_path / "bad.json"
    worse.write_text(json.dumps(ODD_FILES[bad][0]))
    # NaN, zero or missing medians are errors: exit 2, one line naming the file and the record.
    assert main(["compare", str(good), str(worse)]) == 2
    assert main(["compare", str(worse), str(good)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("bad.json: dot numpy 1000 float64: unusable measurement in the file" in e for e in err)


def test_load_marks_unusable_records_failed(tmp_path):
    path = tmp_path / "n.json"
    path.write_text(json.dumps(ODD_FILES["nan-median"][0]))
    res = load(path)
    assert res.records[0].status == "failed" and "median_s is nan" in res.records[0].reason
    assert res.records[1].ok
