"""Backends as plug-ins: a toy backend installed from outside vecbench, and the registry's loading rules.

``tests/plugin_example`` is laid out as an installed distribution would be
(a package plus its ``.dist-info`` with an entry point in the
``vecbench.backends`` group); putting it on ``PYTHONPATH`` is what
``pip install`` of such a package amounts to. Nothing in vecbench is edited:
the backend must then be listed, validated, tested by the registry-generated
tests, benchmarked and drawn in the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cases import outside_env

import vecbench as vb
from vecbench import registry
from vecbench.backends import Backend

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = Path(__file__).resolve().parent / "plugin_example"


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(PLUGIN), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return outside_env(PYTHONPATH=path)


def _run(*args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def test_a_toy_backend_from_outside_is_listed_measured_tested_benchmarked_and_drawn(tmp_path):
    listed = _run("-m", "vecbench", "list")
    assert listed.returncode == 0, listed.stderr
    assert "toy" in listed.stdout

    out = tmp_path / "toy.json"
    ran = _run("-m", "vecbench", "run", "--ops", "dot,col_percent", "--backends", "numpy,toy", "--sizes", "1e3",
               "--quick", "--no-bandwidth", "--no-progress", "-o", str(out))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    records = json.loads(out.read_text())["results"]
    toy = [r for r in records if r["backend"] == "toy"]
    assert {r["op"] for r in toy} == {"dot", "col_percent"} and all(r["status"] == "ok" for r in toy)
    assert json.loads(out.read_text())["machine"]["backends"]["toy"]["available"] is True

    drawn = _run("-m", "vecbench", "report", str(out), "-o", str(tmp_path / "rep"))
    assert drawn.returncode == 0, drawn.stdout + drawn.stderr
    text = (tmp_path / "rep" / "README.md").read_text()
    assert "| dot | 1000 | toy" in text
    assert "toy" in (tmp_path / "rep" / "time_vs_size.svg").read_text()

    # The registry-generated tests and benchmarks pick it up with no edit.
    tested = _run("-m", "pytest", "tests/test_kernels.py", "tests/test_errors.py", "-q", "-k", "toy",
                  "-p", "no:cacheprovider")
    assert tested.returncode == 0, tested.stdout[-3000:]
    assert " passed" in tested.stdout and "toy" not in tested.stdout.split("short test summary")[-1].split("passed")[0]
    bench = _run("-m", "pytest", "benchmarks/test_benchmarks.py", "--benchmark-disable", "-q", "-k",
                 "toy and 1000", "-p", "no:cacheprovider")
    assert bench.returncode == 0 and " passed" in bench.stdout, bench.stdout[-3000:]


def test_a_wrong_toy_kernel_is_caught_by_validation(tmp_path):
    # The same backend with a kernel that is off by one: the harness refuses to time it.
    code = (
        "import vecbench as vb, toyvb\n"
        "toyvb.dot = lambda a, b: float(a @ b) + 1.0\n"
        "class Wrong(toyvb.ToyBackend):\n"
        "    name = 'toy_wrong'\n"
        "    kernels = {'dot': toyvb.dot}\n"
        "vb.register_backend(Wrong)\n"
        "r = vb.run(ops=['dot'], backends=['toy_wrong'], sizes=[100], bandwidth=False, isolate=False)\n"
        "print(r.records[0].status, r.records[0].reason)\n"
    )
    done = _run("-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("failed result differs from the float64 reference")


class _Half(Backend):
    name = "half_test"
    description = "a test backend declaring one kernel"
    kernels = {"dot": "vecbench.operations.dot:dot_numpy"}


def test_register_backend_adds_kernels_and_unknown_ops_are_loud():
    try:
        b = vb.register_backend(_Half)
        assert vb.backend("half_test") is b and "half_test" in vb.backends("dot")
        assert "half_test" not in vb.backends("matvec")
        assert vb.kernel("dot", "half_test")([1.0, 2.0], [3.0, 4.0]) == 11.0

        class Bad(Backend):
            name = "bad_test"
            kernels = {"no_such_op": "x:y"}

        with pytest.raises(KeyError, match=r"backend 'bad_test' .* unknown ops \['no_such_op'\]"):
            vb.register_backend(Bad)
        with pytest.raises(TypeError, match="expected a vecbench.backends.Backend subclass or instance"):
            vb.register_backend(object)  # type: ignore[arg-type]
    finally:
        registry.BACKENDS.pop("half_test", None)
        registry._KERNELS.pop(("dot", "half_test"), None)


def test_unavailable_backend_is_listed_with_its_install_hint():
    class Missing(Backend):
        name = "missing_test"
        requires = ("no_such_package_xyz",)
        install = "no-such-package-xyz"
        kernels = {"dot": "no_such_package_xyz:dot"}

    try:
        vb.register_backend(Missing)
        assert "missing_test" in vb.backends("dot")
        assert not vb.backend("missing_test").available
        with pytest.raises(ImportError, match="pip install no-such-package-xyz"):
            vb.kernel("dot", "missing_test")
        res = vb.run(ops=["dot"], backends=["missing_test"], sizes=[10], bandwidth=False, isolate=False)
        assert [(r.status, r.reason) for r in res] == [
            ("skipped", "the missing_test backend needs no_such_package_xyz: pip install no-such-package-xyz")]
    finally:
        registry.BACKENDS.pop("missing_test", None)
        registry._KERNELS.pop(("dot", "missing_test"), None)


def test_a_failing_op_module_leaves_no_half_filled_registry(tmp_path):
    # An op module that raises on import: the error names it, and nothing half-registered stays behind.
    pkg = tmp_path / "brokenops"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise RuntimeError('kaput on import')\n")
    code = (
        "import sys, vecbench.registry as r\n"
        "import vecbench.operations as ops\n"
        "orig = r.importlib.import_module\n"
        "def imp(name, *a):\n"
        "    if name == 'vecbench.operations':\n"
        "        orig('vecbench.operations.dot'); orig('brokenops')\n"
        "    return orig(name, *a)\n"
        "r.importlib.import_module = imp\n"
        "try:\n"
        "    r.ops()\n"
        "except ImportError as e:\n"
        "    print('ERR', e)\n"
        "print('OPS', len(r._OPS), 'KERNELS', len(r._KERNELS), 'BACKENDS', len(r.BACKENDS), 'LOADED', r._LOADED)\n"
        "r.importlib.import_module = orig\n"
        "print('RETRY', all(op in r.ops() for op in ('dot', 'matvec')))\n"
    )
    env = dict(_env(), PYTHONPATH=os.pathsep.join([str(tmp_path), _env()["PYTHONPATH"]]))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ERR vecbench: an operation module failed to import: RuntimeError: kaput on import" in done.stdout
    assert "KERNELS 0 BACKENDS 0 LOADED False" in done.stdout
    assert "RETRY True" in done.stdout


def test_core_modules_name_no_backend():
    # The harness, machine metadata and report ask the backend objects; they never name one.
    names = [b for b in vb.backends() if type(vb.backend(b)).__module__.startswith("vecbench.backends.")]
    for module in ("harness", "machine", "orchestrate", "crossover", "plotting_gpu", "scaling", "report/analysis",
                   "report/markdown", "report/html", "report/figures", "report/write"):
        text = (ROOT / "vecbench" / f"{module}.py").read_text()
        code = "\n".join(line.split("#")[0] for line in text.splitlines())
        # The interpreter's version in the machine block is not the backend of that name.
        code = code.replace("m.get('python'", "").replace('"python": sys.version', "")
        for name in names:
            assert f'"{name}"' not in code and f"'{name}'" not in code, (module, name)
