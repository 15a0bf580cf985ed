"""Ops declare their kernels beside their code: the backends name no op, a new op module is one file.

The op modules of ``vecbench/operations/`` are discovered (no hand list); each says, in ``KERNELS``,
which function implements it in each built-in backend. These tests hold that layout in place.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

import pytest
from cases import outside_env

import vecbench as vb
from vecbench import registry
from vecbench.backends import Backend
from vecbench.operations import discover

ROOT = Path(__file__).resolve().parents[1]


def _string_constants(path: Path) -> set[str]:
    """The values of the short string literals of a module's code (docstrings and comments are prose)."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return {tok.string[1:-1] for tok in tokens if tok.type == tokenize.STRING and tok.string[:1] in "'\""}


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "vecbench" / "backends").glob("*.py")))
def test_builtin_backend_modules_name_no_op(module):
    # Adding an op touches its module(s) in vecbench/operations/ only: no backend lists ops by name.
    named = _string_constants(ROOT / "vecbench" / "backends" / module) & {s.name for s in discover()[0]}
    assert not named, f"vecbench/backends/{module} names ops {sorted(named)}; declare them in the op's KERNELS"


def test_builtin_backends_have_no_kernels_table_and_discovery_finds_every_op():
    specs, declared = discover()
    assert [s.name for s in specs] == vb.ops()[:len(specs)]  # the listing order is the specs' order
    builtin = [n for n in vb.backends() if type(vb.backend(n)).__module__.startswith("vecbench.backends.")]
    assert len(builtin) >= 10
    for name in builtin:
        assert dict(vb.backend(name).kernels) == {}, name
        for op in (s.name for s in specs):  # each built-in backend has exactly the kernels the ops declare for it
            assert (name in declared.get(op, {})) == (name in vb.backends(op)), (op, name)


_NEW_OP = '''
from vecbench.operations.dot import SPEC as _DOT
import dataclasses

SPEC = dataclasses.replace(_DOT, name="myop", summary="c = sum_i a_i b_i, again", order=15)
SPECS = (SPEC,)


def myop_numpy(a, b):
    return a @ b


KERNELS = {
    "myop": {
        "python": "vecbench.operations.dot:dot_python",
        "numpy": "vecbench.operations.myop:myop_numpy",
        "numba_parallel": "vecbench.operations.dot_numba:dot_parallel",
        "torch": "vecbench.operations.torch_kernels:dot",
    },
}
'''


def test_a_new_op_module_is_discovered_with_every_kernel_it_declares(tmp_path):
    # One file dropped where the op modules live (here a second folder of the package's path):
    # no other edit, and its companions (a *_numba module that cannot even import) are left alone.
    (tmp_path / "myop.py").write_text(textwrap.dedent(_NEW_OP))
    (tmp_path / "myop_numba.py").write_text("raise RuntimeError('a companion is imported on first use only')\n")
    code = (
        "import json, sys, numpy as np, vecbench as vb, vecbench.operations as o\n"
        f"o.__path__.append({str(tmp_path)!r})\n"
        "a, b = np.arange(3.0), np.ones(3)\n"
        "print(json.dumps({'ops': vb.ops(), 'backends': vb.backends('myop'),\n"
        "                  'targets': [vb.registry._KERNELS['myop', n]._target for n in vb.backends('myop')],\n"
        "                  'value': vb.kernel('myop', 'numpy')(a, b),\n"
        "                  'companion': 'vecbench.operations.myop_numba' in sys.modules}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=outside_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    ops = got["ops"]  # order=15: between dot (10) and matvec (20), whatever other ops were added
    assert ops.index("dot") < ops.index("myop") < ops.index("matvec")
    assert got["backends"] == ["python", "numpy", "numba_parallel", "torch"]  # in column order
    assert got["targets"] == ["vecbench.operations.dot:dot_python", "vecbench.operations.myop:myop_numpy",
                              "vecbench.operations.dot_numba:dot_parallel", "vecbench.operations.torch_kernels:dot"]
    assert got["value"] == 3.0
    assert got["companion"] is False


def test_a_kernel_given_by_the_op_and_by_the_backend_is_an_error():
    class Both(Backend):
        name = "both_test"
        description = "declares a dot kernel of its own"
        kernels = {"dot": "vecbench.operations.dot:dot_numpy"}

    vb.register_backend(Both)
    try:
        with pytest.raises(ValueError, match=r"backend 'both_test': the kernel of \['dot'\] is given twice"):
            registry.register(vb.spec("dot"), both_test="vecbench.operations.dot:dot_python")
        assert registry._KERNELS["dot", "both_test"]._target == "vecbench.operations.dot:dot_numpy"
    finally:
        registry.BACKENDS.pop("both_test", None)
        registry._KERNELS.pop(("dot", "both_test"), None)
