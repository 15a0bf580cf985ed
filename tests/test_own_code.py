"""Your own computation: vb.benchmark, vecbench run --from, benchmark_tests, and what reads their results.

Worker processes are real: a crash (os._exit) and a hang cost only their kernel, and functions defined in a
notebook-like ``__main__`` module travel to the worker by cloudpickle. Sizes are tiny and settings minimal:
the tests check what is recorded, never how fast anything is.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
from cases import outside_env

import vecbench as vb
from vecbench import own
from vecbench.cli import main
from vecbench.harness import Settings
from vecbench.results import load

FAST = Settings(min_sample_s=0.001, repeats=3, budget_s=0.5, ci_target=0.0, max_samples=3)


def setup(n):
    rng = np.random.default_rng(0)
    return rng.random(n), rng.random(n)


def loop(a, b):
    c = 0.0
    for i in range(len(a)):
        c += a[i] * b[i]
    return c


def vectorized(a, b):
    return np.dot(a, b)


def off_by_one_percent(a, b):
    return np.dot(a, b) * 1.01


def mutates(a, b):
    a[0] = 123.0
    return np.dot(a, b)


def wrong_shape(a, b):
    return np.array([np.dot(a, b), 0.0])


def raises(a, b):
    raise ZeroDivisionError("no luck")


def _njit():
    numba = pytest.importorskip("numba")

    @numba.njit
    def nb_dot(a, b):
        c = 0.0
        for i in range(a.shape[0]):
            c += a[i] * b[i]
        return c

    return nb_dot


# Defined as a notebook cell or a `python script.py` defines them: in a module named __main__ that no worker
# process can import, so they reach the worker only by value (cloudpickle).
NOTEBOOK_CELL = '''
import os
import numpy as np

def notebook_dot(a, b):
    return float(np.sum(a * b))

def notebook_crash(a, b):
    os._exit(7)
'''


def _notebook_functions():
    import linecache

    name = "<ipython-input-24-cell>"  # as IPython does: the cell's text in linecache, so its source can be read
    linecache.cache[name] = (len(NOTEBOOK_CELL), None, NOTEBOOK_CELL.splitlines(True), name)
    module = types.ModuleType("__main__")
    exec(compile(NOTEBOOK_CELL, name, "exec"), module.__dict__)  # noqa: S102  the test's own text
    return module.notebook_dot, module.notebook_crash


@pytest.fixture(scope="module")
def mixed():
    """One run with good, wrong, mutating, misshapen, raising, compiled, notebook-defined and crashing kernels."""
    nb_dot = _njit()
    notebook_dot, notebook_crash = _notebook_functions()
    lock = threading.Lock()

    def locked(a, b):  # a closure over a lock: cloudpickle cannot send it, so it is measured here
        with lock:
            return np.dot(a, b)

    kernels = {"loop": loop, "numpy": vectorized, "numba": nb_dot, "notebook": notebook_dot, "locked": locked,
               "bad": off_by_one_percent, "mutates": mutates, "shape": wrong_shape, "raises": raises,
               "crash": notebook_crash}  # the crash last: its worker is not needed afterwards
    with pytest.warns(UserWarning) as caught:
        res = vb.benchmark(kernels, setup=setup, sizes=[30, 60], name="mydot", settings=FAST,
                         nbytes=lambda n: 16 * n, flops=lambda n: 2 * n, bandwidth=False)
    return res, [str(w.message) for w in caught]


def _by(res, backend, label="30"):
    (r,) = [r for r in res if r.backend == backend and r.label == label]
    return r


def test_equal_kernels_are_timed_in_the_worker(mixed):
    res, _ = mixed
    for b in ("loop", "numpy", "numba", "notebook"):
        for label in ("30", "60"):
            r = _by(res, b, label)
            assert r.ok, (b, label, r.reason)
            assert r.median_s > 0 and r.bytes == 16 * r.size["n"] and r.flops == 2 * r.size["n"]
    kernels = res.own_ops["mydot"]["kernels"]
    assert {k for k, v in kernels.items() if v["measured_in"] != own.IN_WORKER} == {"locked"}
    assert "def notebook_dot" in kernels["notebook"]["source"]
    assert "def nb_dot" in kernels["numba"]["source"] and kernels["numba"]["jit"]


def test_numba_compile_time_is_kept_apart(mixed):
    res, _ = mixed
    first, second = _by(res, "numba", "30"), _by(res, "numba", "60")
    assert first.compile_time_s is not None and first.compile_time_s > 0
    assert first.first_call_s > first.median_s  # the compile was in the warm-up call, not in the samples
    assert second.compile_time_s == 0.0  # same signature: compiled once
    assert _by(res, "numpy").compile_time_s is None  # not a JIT


def test_a_kernel_that_disagrees_is_refused_with_how_much(mixed):
    res, messages = mixed
    r = _by(res, "bad")
    assert r.status == "failed" and r.timing is None
    assert r.reason.startswith("result differs from the reference kernel 'loop' by ")
    assert re.search(r"max abs error [0-9.e+-]+, max rel error 0\.01 \(rtol=1e-05, atol=1e-08\)$", r.reason)
    assert f"mydot: kernel 'bad' failed at n=30: {r.reason}" in messages
    assert _by(res, "bad", "60").status == "skipped"  # not tried again at a larger size


def test_mutation_wrong_shape_and_exceptions_are_refused(mixed):
    res, _ = mixed
    assert _by(res, "mutates").reason == ("ValueError: changed its input (argument 0, ndarray (30,) float64: max abs "
                                         f"change {123.0 - setup(30)[0][0]:.3g}); a kernel must not modify its inputs "
                                         "(work on a copy)")
    assert _by(res, "shape").reason == "wrong result shape (2,), expected ()"
    assert _by(res, "raises").reason == "ZeroDivisionError: no luck"


def test_a_crash_costs_only_its_kernel(mixed):
    res, _ = mixed
    assert _by(res, "crash").reason == "worker process exited with status 7"
    assert _by(res, "notebook").ok and _by(res, "numba", "60").ok


def test_a_hang_costs_only_its_kernel_and_its_timeout():
    def hangs(a, b):
        import time

        time.sleep(600)

    with pytest.warns(UserWarning, match=re.escape("hang: kernel 'hangs' failed at n=20: timed out after 3 s")):
        res = vb.benchmark({"loop": loop, "hangs": hangs}, setup=setup, sizes=[20], name="hang", settings=FAST,
                           timeout=3, bandwidth=False)
    assert _by(res, "loop", "20").ok
    r = _by(res, "hangs", "20")
    assert r.status == "failed" and r.reason.startswith("timed out after 3 s")


def test_an_unpicklable_kernel_is_measured_here_with_a_warning(mixed):
    res, messages = mixed
    (note,) = [m for m in messages if "cannot be sent" in m]
    assert re.fullmatch(r"mydot: kernel 'locked' \(.*locked\) cannot be sent to a worker process \(TypeError: .*lock.*\); "
                        r"it is measured in this process, so a crash or hang in it ends the run \(no isolation\)", note)
    r = _by(res, "locked")
    assert r.ok and any(w.startswith("measured in this process: not picklable") for w in r.warnings)
    where = res.own_ops["mydot"]["kernels"]
    assert where["locked"]["measured_in"].startswith("this process: not picklable (TypeError")


def test_in_process_measurement_is_the_same_check():
    with pytest.warns(UserWarning, match="kernel 'off_by_one_percent' failed at n=10"):
        res = vb.benchmark([loop, off_by_one_percent], setup=setup, sizes=[10], settings=FAST, isolate=False,
                           reference=vectorized)
    assert _by(res, "loop", "10").ok
    assert _by(res, "off_by_one_percent", "10").reason.startswith(
        "result differs from the reference function 'vectorized' by ")
    assert res.own_ops["computation"]["kernels"]["loop"]["measured_in"] == "this process (isolate=False)"


@pytest.mark.parametrize(("kwargs", "error", "text"), [
    ({"kernels": {"a": 3}}, TypeError, "mydot: kernel 'a' must be callable; got int 3"),
    ({"kernels": {}}, ValueError, "mydot: no kernels; give at least one function"),
    ({"kernels": [loop, loop]}, ValueError, "mydot: two kernels are both called 'loop'"),
    ({"sizes": [10, 0]}, ValueError, "mydot: sizes must be positive whole numbers such as [100, 1000, 10000]; "
                                     "got 0 at position 1"),
    ({"sizes": [10, 2.5]}, ValueError, "got 2.5 at position 1"),
    ({"sizes": [True]}, ValueError, "got True at position 0"),
    ({"sizes": "1000"}, TypeError, "mydot: sizes must be a list of positive whole numbers"),
    ({"sizes": []}, ValueError, "mydot: sizes is empty"),
    ({"setup": None}, TypeError, "mydot: setup must be a function of n"),
    ({"reference": "nope"}, ValueError, "mydot: reference must be one of the kernels ['loop'] or a function; got 'nope'"),
    ({"rtol": -1}, ValueError, "mydot: rtol must be a number >= 0; got -1"),
    ({"nbytes": lambda n: -n}, ValueError, "mydot: nbytes(10) must return a whole number >= 0; got -10"),
    ({"flops": lambda n: 1 / 0}, ValueError, "mydot: flops(10) raised ZeroDivisionError: division by zero"),
    ({"setup": lambda n: np.ones(n) / (n - 10)}, ValueError, None),
    ({"name": "dot"}, ValueError, "'dot' is an operation of vecbench; give your computation another name"),
])
def test_bad_arguments_are_one_clear_error_before_any_work(kwargs, error, text):
    args = {"kernels": {"loop": loop}, "setup": setup, "sizes": [10, 20], "name": "mydot", **kwargs}
    with np.errstate(divide="raise"), pytest.raises(error, match=re.escape(text or "mydot: setup(10) raised "
                                                                                   "FloatingPointError: divide by zero")):
        vb.benchmark(args.pop("kernels"), **args)


def test_results_as_a_dataframe(mixed):
    res, _ = mixed
    pd = pytest.importorskip("pandas", reason="pip install 'vecbench[pandas]'")
    df = res.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == len(res.records)
    assert list(df.columns) == list(__import__("vecbench.display", fromlist=["COLUMNS"]).COLUMNS)
    ok = df[df.status == "ok"]
    assert set(ok.backend) == {"loop", "numpy", "numba", "notebook", "locked"} and set(ok.n) == {30, 60}
    assert (df[df.backend == "loop"].speedup.dropna() == 1.0).all() and set(df.baseline) == {"loop"}
    assert df.loc[df.backend == "bad", "reason"].iloc[0].startswith("result differs")


def test_results_as_a_table_and_a_figure(mixed):
    res, _ = mixed
    page = res._repr_html_()
    assert page.count("<tr") == len(res.records) + 1 and "failed: worker process exited with status 7" in page
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = res.plot()
    assert isinstance(fig, Figure) and [ax.get_title() for ax in fig.axes] == [
        "mydot: time per call", "mydot: speedup over loop (above 1x: faster)"]
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} == {"loop", "numpy", "numba", "notebook",
                                                                          "locked"}


def test_to_pandas_without_pandas_says_how_to_install(mixed, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=re.escape("Results.to_pandas needs pandas: pip install 'vecbench[pandas]'")):
        mixed[0].to_pandas()


def test_saved_results_open_in_the_report_with_the_sources(mixed, tmp_path, capsys):
    res, _ = mixed
    path = res.save(tmp_path / "mine.json")
    again = load(path)
    assert again.own_ops == json.loads(json.dumps(res.own_ops)) and len(again) == len(res)
    assert main(["report", str(path), "-o", str(tmp_path / "rep")]) == 0
    readme = (tmp_path / "rep" / "README.md").read_text()
    assert "## Your computations" in readme and "| numba (hollow)" in readme or "| numba |" in readme
    assert "![your_computations](your_computations.png)" in readme
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "Your code beside its cost" in page and "def notebook_dot(a, b):" in page
    assert "worker process exited with status 7" in page
    assert main(["compare", str(path), str(path)]) == 0


BENCH_FILE = '''
import numpy as np
import vecbench as vb


def make(n):
    return np.arange(n, dtype=float)


@vb.bench("double", setup=make, sizes=[10, 20], nbytes=lambda n: 16 * n)
def loop(x):
    return np.array([2 * v for v in x])


@vb.bench("double", label="numpy")
def twice(x):
    return x + x


@vb.bench("double")
def wrong(x):
    return x * 3
'''


def test_cli_run_from_a_file(tmp_path, capsys, monkeypatch):
    (tmp_path / "mykernels_24.py").write_text(BENCH_FILE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    out = tmp_path / "out.json"
    code = main(["run", "--from", "mykernels_24.py", "--quick", "--no-progress", "--no-bandwidth", "--repeats", "2",
                 "-o", str(out)])
    text = capsys.readouterr()
    assert code == 1, text  # a kernel failed
    assert "failed double wrong 10 float64: result differs from the reference kernel 'loop' by" in text.out
    res = load(out)
    assert {(r.backend, r.status) for r in res} == {("loop", "ok"), ("numpy", "ok"), ("wrong", "failed"),
                                                   ("wrong", "skipped")}
    assert res.own_ops["double"]["kernels"]["numpy"]["source"].startswith('@vb.bench("double", label="numpy")')
    assert main(["report", str(out), "-o", str(tmp_path / "rep")]) == 0


@pytest.mark.parametrize(("argv", "text"), [
    (["--from", "nothere.py"], "vecbench run: error: --from: nothere.py: no such file"),
    (["--from", "no_such_module_24"], "vecbench run: error: --from: no_such_module_24: no such file or importable module"),
    (["--from", "empty_24.py"], "vecbench run: error: --from: empty_24.py marks no computation; decorate each "
                                "implementation with @vecbench.bench('name', setup=..., sizes=...)"),
    (["--from", "broken_24.py"], "vecbench run: error: --from: importing broken_24.py raised NameError: name "
                                 "'undefined_name' is not defined"),
    (["--from", "empty_24.py", "--ops", "dot"], "vecbench run: error: --ops: not used with --from"),
    (["--from", "empty_24.py", "--sizes", "quick"], "vecbench run: error: --sizes: with --from, whole numbers"),
])
def test_cli_run_from_errors_are_one_line(tmp_path, capsys, monkeypatch, argv, text):
    (tmp_path / "empty_24.py").write_text("x = 1\n")
    (tmp_path / "broken_24.py").write_text("import vecbench\nundefined_name\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(text) and err.count("\n") == 1 and "Traceback" not in err


def test_the_time_budget_sees_a_loop_grow_with_n_without_flops():
    from vecbench.harness import _skip_reason, new_record
    from vecbench.results import Timing

    comp = own.Computation.build({"loop": loop}, setup, [1000, 10**7], name="budget")
    k = comp.kernel_objects()["loop"]
    timing = Timing.from_samples([1e-3] * 5, 1)
    seen = new_record(k, {"n": 1000}, "float64", 1, status="skipped").with_timing(timing)
    reason = _skip_reason(k.op, {"n": 10**7}, "float64", [seen], Settings(budget_s=1.0))
    assert reason.startswith("time budget: ~10 s per call predicted (from 1000)")


def test_bench_options_given_twice_differently():
    vb.bench("twice_24", sizes=[1])(loop)
    with pytest.raises(ValueError, match=re.escape("bench('twice_24'): sizes is given twice, differently (on 'loop' "
                                                   "and 'vectorized'); give it once")):
        vb.bench("twice_24", sizes=[2])(vectorized)


PYTEST_FILE = '''
import numpy as np
import vecbench as vb


def make(n):
    return (np.arange(n, dtype=float),)


def loop(x):
    return np.array([2 * v for v in x])


def numpy(x):
    return x + x


def wrong(x):
    return x * 3


test_double = vb.benchmark_tests({"loop": loop, "numpy": numpy, "wrong": wrong}, setup=make, sizes=[8, 16],
                                 name="double", nbytes=lambda n: 16 * n)
'''


def test_benchmark_tests_in_a_users_repository(tmp_path):
    pytest.importorskip("pytest_benchmark", reason="pip install 'vecbench[test]'")
    import subprocess

    (tmp_path / "test_mine.py").write_text(PYTEST_FILE)
    env = outside_env(PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--benchmark-only",
                           "--benchmark-min-rounds=1", "--benchmark-max-time=0.001", "--benchmark-warmup=off",
                           "--benchmark-json=out.json", "test_mine.py", "-o", "addopts="],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 failed, 4 passed" in done.stdout, done.stdout
    assert "double: kernel 'wrong' refused at n=8: result differs from the reference kernel 'loop' by" in done.stdout
    bench = json.loads((tmp_path / "out.json").read_text())["benchmarks"]
    assert sorted(b["param"] for b in bench) == ["double-loop-16", "double-loop-8", "double-numpy-16", "double-numpy-8"]
    assert {b["group"] for b in bench} == {"double 8 float64", "double 16 float64"}
    res = load(tmp_path / "out.json")
    assert {r.op for r in res} == {"double"} and "def numpy(x):" in res.own_ops["double"]["kernels"]["numpy"]["source"]
    assert res.baseline_of("double") == "loop"


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("script", ["lecture_dot.py", "softmax.py", "pairwise_distances.py"])
def test_examples_run(script, tmp_path, monkeypatch, capsys):
    import runpy

    monkeypatch.setenv("VECBENCH_EXAMPLES_TINY", "1")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    out = capsys.readouterr().out
    stem = script.removesuffix(".py")
    res = load(tmp_path / f"{stem}.json")
    assert res.records and all(r.ok for r in res), out
    assert (tmp_path / f"{stem}.png").stat().st_size > 0


def test_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="pip install 'vecbench[test]'")
    nbclient = pytest.importorskip("nbclient", reason="pip install 'vecbench[test]'")
    pytest.importorskip("ipykernel", reason="pip install 'vecbench[test]'")
    nb = nbformat.read(EXAMPLES / "your_own_code.ipynb", as_version=4)
    env_cell = nbformat.v4.new_code_cell("import os; os.environ['VECBENCH_EXAMPLES_TINY'] = '1'")
    nb.cells.insert(0, env_cell)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o for o in outputs if "text/html" in o.get("data", {})]
    assert any("vecbench results" in o["data"]["text/html"] for o in html)
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the figure, inline
    assert load(tmp_path / "softmax.json").own_ops["softmax"]["kernels"]["numpy"]["measured_in"] == own.IN_WORKER
