"""``vb.run(..., output=)`` and the targets preset go through the one run path (journal, atomic file, resume)."""

from __future__ import annotations

import pytest

import vecbench as vb
from vecbench import harness, targets
from vecbench.journal import Journal, journal_path
from vecbench.measuring import Settings
from vecbench.results import load

# remeasure=1: no re-measuring after the sweep, so each kernel is measured once
FAST = Settings(min_sample_s=0.001, repeats=3, budget_s=5.0, ci_target=0.0, max_samples=3, rounds=0, remeasure=1)
ARGS = {"ops": ["dot"], "backends": ["python", "numpy"], "sizes": [100, 1000], "bandwidth": False,
        "isolate": False, "settings": FAST}
KEYS = [("dot", b, str(n)) for b in ("python", "numpy") for n in (100, 1000)]


def _keys(results):
    return [(r.op, r.backend, r.label) for r in results]


def test_run_with_output_writes_the_file_and_removes_its_journal(tmp_path):
    out = tmp_path / "sub" / "r.json"  # the folder is made, as `vecbench run -o` makes it
    results = vb.run(**ARGS, output=out)
    assert _keys(results) == KEYS and not results.interrupted
    assert _keys(load(out)) == KEYS
    assert [r.median_s for r in load(out)] == [r.median_s for r in results]
    assert not journal_path(out).exists()


def test_run_without_output_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _keys(vb.run(**ARGS)) == KEYS
    assert list(tmp_path.iterdir()) == []


def test_resume_measures_only_what_the_journal_lacks(tmp_path, monkeypatch):
    out = tmp_path / "r.json"

    def stop(rec):  # Ctrl-C once the first record is journaled
        raise KeyboardInterrupt

    first = vb.run(**ARGS, output=out, on_record=stop)
    assert first.interrupted and _keys(first) == KEYS[:1]
    assert journal_path(out).exists() and load(out).interrupted  # the partial file, and its journal kept
    kept = Journal.load(journal_path(out)).records
    assert [(r.op, r.backend, r.label) for r in kept] == KEYS[:1]

    # A new run on the same file is refused before any work, naming how to continue it.
    with pytest.raises(ValueError, match=r"run: output: .* holds the measurements of an interrupted run; "
                                         r"continue it with 'vb.run\(\.\.\., resume="):
        vb.run(**ARGS, output=out)

    measured = []
    real = harness.measure

    def counting(k, size, *args, **kwargs):
        measured.append((k.op.name, k.backend.name, k.op.label(size)))
        return real(k, size, *args, **kwargs)

    monkeypatch.setattr(harness, "measure", counting)
    resumed = vb.run(**ARGS, resume=out)
    assert measured == KEYS[1:]  # the journaled kernel is not measured again
    assert _keys(resumed) == KEYS and not resumed.interrupted
    assert resumed.records[0].samples_s == kept[0].samples_s
    assert _keys(load(out)) == KEYS and not journal_path(out).exists()


def test_output_and_journal_together_are_refused(tmp_path):
    with pytest.raises(ValueError, match="give output= .* or journal=, not both"):
        vb.run(**ARGS, output=tmp_path / "r.json", journal=Journal(tmp_path / "j.jsonl"))
    assert list(tmp_path.iterdir()) == []


def test_the_targets_preset_is_one_run_covering_every_target():
    kw = targets.run_kwargs(threads=2)
    assert kw["threads"] == 2 and kw["settings"].repeats == targets.TARGET_REPEATS
    for t in targets.TARGETS:
        assert t.op in kw["ops"] and t.size in kw["sizes_by_op"][t.op]
        assert {targets.BASELINE, *t.backends} <= set(kw["backends"])
    assert sum(len(v) for v in kw["sizes_by_op"].values()) == len(targets.TARGETS)  # no size twice


def test_the_targets_preset_with_output_is_journaled_and_written_as_run_does(tmp_path, monkeypatch, capsys):
    from vecbench.cli import main

    monkeypatch.setattr(targets, "run_kwargs", lambda threads=None: dict(ARGS, threads=threads))
    monkeypatch.setattr(targets, "quick_walls", lambda: [])
    out = tmp_path / "t.json"
    journal_path(out).write_text("")  # an interrupted run's journal: refused before any work, naming how to go on
    assert main(["run", "--preset", "targets", "-o", str(out)]) == 2
    assert "vecbench run --preset targets --resume" in capsys.readouterr().err
    journal_path(out).unlink()
    assert main(["run", "--preset", "targets", "-o", str(out)]) == 0
    assert _keys(load(out)) == KEYS and not journal_path(out).exists()
