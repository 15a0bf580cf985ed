"""Smoke run of the scikit-learn peer script (tiny sizes): it runs, prints its table, refuses bad options."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="pip install 'vecbench[peers]'")
pytest.importorskip("numba", reason="pip install numba")


def _script():
    spec = importlib.util.spec_from_file_location("sklearn_peer", Path(__file__).with_name("sklearn_peer.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sklearn_peer_prints_both_side_by_side(capsys):
    assert _script().main(["--m", "400", "--n-x", "4", "--epochs", "2", "--rounds", "2"]) == 0
    out = capsys.readouterr().out
    assert "| one-epoch call |" in out and "fit, max_iter=1 |" in out and "partial_fit (one epoch)" in out
    assert "| fixed cost per call: intercept |" in out and "training cost after 2 epochs" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "quantity" not in line]
    assert len(rows) == 7 and all(line.count("|") == 6 for line in rows)


def test_sklearn_peer_refuses_bad_options(capsys):
    with pytest.raises(SystemExit) as exc:
        _script().main(["--epochs", "1"])
    assert exc.value.code == 2
    assert "need --epochs >= 2" in capsys.readouterr().err
