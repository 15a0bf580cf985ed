"""What a user sees of a backend this environment cannot run: the real ones, not a stand-in.

With ``.[test]`` alone the framework backends are unavailable; with every extra
installed there may be none (then these cases do not exist, and
tests/test_plugin.py's registered stand-in still checks the same rules).
"""

from __future__ import annotations

import pytest
from cases import available_backends, unavailable_backends

import vecbench as vb
from vecbench.cli import main


def test_the_two_lists_split_the_registry():
    assert sorted(available_backends() + unavailable_backends()) == sorted(vb.backends())
    assert "numpy" in available_backends() and "python" in available_backends()


@pytest.mark.parametrize("name", unavailable_backends() or [pytest.param(None, marks=pytest.mark.skip(
    reason="every registered backend is installed here"))])
def test_an_unavailable_backend_is_listed_refused_and_skipped_with_its_install_command(name, capsys):
    b = vb.backend(name)
    hint = b.install_hint
    assert "pip install" in hint and name in hint
    op = next(o for o in vb.ops() if name in vb.backends(o))
    with pytest.raises(ImportError) as err:
        vb.kernel(op, name)
    assert str(err.value) == hint
    assert main(["list"]) == 0
    # Compared with whitespace normalised: the console wraps long hints, keeping a space at a line's end or not.
    assert " ".join(hint.split(": ", 1)[1].split()) in " ".join(capsys.readouterr().out.split())
    res = vb.run(ops=[op], backends=[name], sizes="quick", bandwidth=False, isolate=False)
    assert res.records and all(r.status == "skipped" and r.reason == hint for r in res)
