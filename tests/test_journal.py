"""Nothing measured is lost: a journal on disk as each kernel finishes, --resume, saves that never destroy."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from vecbench.cli import main
from vecbench.journal import Journal, journal_path
from vecbench.results import Record, Timing, load

RUN = ["run", "--ops", "dot,sigmoid", "--backends", "numpy,python", "--sizes", "1e2,1e3,1e4", "--repeats", "2",
       "--min-time", "0.002", "--no-bandwidth", "--no-progress"]


def _keys(path):
    return sorted((r.op, r.backend, r.label, r.dtype, r.status) for r in load(path))


def _cli(*args):
    return [sys.executable, "-m", "vecbench", *args]


def test_sigkill_then_resume_gives_the_same_records(tmp_path):
    full = tmp_path / "full.json"
    t0 = time.perf_counter()
    subprocess.run(_cli(*RUN, "-o", str(full)), check=True, capture_output=True)
    wall = time.perf_counter() - t0
    out = tmp_path / "killed.json"
    proc = subprocess.Popen(_cli(*RUN, "-o", str(out)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.uniform(0.3, 0.9) * wall)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if out.exists() and not journal_path(out).exists():  # finished before the kill: nothing to resume
        assert _keys(out) == _keys(full)
        return
    before = len(Journal.load(journal_path(out)).records)
    r = subprocess.run(_cli("run", "--resume", str(out), "--no-progress"), capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert _keys(out) == _keys(full)
    assert not journal_path(out).exists()  # removed once the results file was written
    assert len(load(out).records) == len(load(full).records) >= before


def _journal_with(tmp_path, n: int) -> Journal:
    j = Journal(tmp_path / "r.json.journal.jsonl")
    j.begin({"ops": ["dot"], "settings": {"repeats": 3}}, "now", "0.1.0")
    for i in range(n):
        j.add_record(Record("dot", "numpy", {"n": 10 + i}, str(10 + i), "float64", 1,
                            timing=Timing.from_samples([1e-6] * 3, 1)))
    j.close()
    return j


def test_a_torn_last_line_is_ignored_and_cut_before_appending(tmp_path):
    j = _journal_with(tmp_path, 2)
    with open(j.path, "a") as f:
        f.write('{"kind": "record", "rec')  # the kill hit mid-write
    again = Journal.load(j.path)
    assert len(again.records) == 2
    again.begin({"ops": ["dot"], "settings": {"repeats": 3}}, "later", "0.1.0")
    again.add_record(Record("dot", "numpy", {"n": 99}, "99", "float64", 1, status="skipped", reason="test"))
    again.close()
    assert [r.label for r in Journal.load(j.path).records] == ["10", "11", "99"]
    assert all(json.loads(line) for line in j.path.read_text().splitlines())


def test_resume_with_other_settings_is_refused(tmp_path):
    j = _journal_with(tmp_path, 1)
    with pytest.raises(ValueError, match=r"resume: .* was started with other settings \(settings: the run was "):
        Journal.load(j.path).begin({"ops": ["dot"], "settings": {"repeats": 5}}, "later", "0.1.0")


def test_cli_resume_refuses_different_options_in_one_line(tmp_path, capsys):
    out = tmp_path / "r.json"
    j = Journal(journal_path(out))
    j.begin({"ops": ["dot"]}, "now", "0.1.0")
    j.close()
    assert main(["run", "--resume", str(out), "--ops", "sigmoid", "--no-progress", "--no-bandwidth"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vecbench run: error: resume: ") and len(err.strip().split("\n")) == 1
    assert main(["run", "-o", str(out), "--ops", "dot"]) == 2  # never overwrites an interrupted run's journal
    assert "--resume" in capsys.readouterr().err
    assert main(["run", "--resume", str(tmp_path / "nothing.json")]) == 2
    assert "no journal here" in capsys.readouterr().err


def test_a_failed_save_keeps_the_journal(tmp_path, monkeypatch, capsys):
    from vecbench.results import Results

    out = tmp_path / "r.json"

    def full_disk(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Results, "save", full_disk)
    args = ["--ops", "dot", "--backends", "numpy", "--sizes", "100", "--quick", "--no-bandwidth", "--no-progress"]
    assert main(["run", *args, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and str(journal_path(out)) in err and "--resume" in err
    assert [r.op for r in Journal.load(journal_path(out)).records] == ["dot"]
    monkeypatch.undo()
    assert main(["run", "--resume", str(out), "--no-progress"]) == 0  # nothing re-measured, the file written
    assert [r.op for r in load(out)] == ["dot"] and not journal_path(out).exists()


def test_interrupted_before_anything_was_measured_leaves_the_file_alone(tmp_path, monkeypatch):
    import vecbench.harness

    out = tmp_path / "r.json"
    out.write_text("precious")

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(vecbench.harness._Isolated, "measure", interrupt)
    assert main(["run", "--ops", "dot", "--backends", "numpy", "--sizes", "100", "--no-bandwidth",
                 "--no-progress", "-o", str(out)]) == 130
    assert out.read_text() == "precious" and not journal_path(out).exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_never_replaced(tmp_path, capsys):
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    assert main(["run", "--ops", "dot", "-o", str(fifo)]) == 2
    assert "is a FIFO" in capsys.readouterr().err
    assert fifo.is_fifo()


def test_report_run_keeps_what_it_measured_and_resumes(tmp_path, monkeypatch, capsys):
    """``report --run`` measures through the run path of ``run``: its journal keeps each finished kernel, so a
    Ctrl-C loses nothing and the next ``report --run`` into the same folder measures only the rest."""
    import vecbench.coldcompile
    import vecbench.harness
    import vecbench.report.write
    import vecbench.training
    from vecbench.harness import Settings

    real_run = vecbench.harness.run

    def small(**kw):  # the default sweep, cut to four tiny kernels measured in this process
        kw.update(ops=["dot"], backends=["numpy", "python"], sizes=[100, 1000], bandwidth=False, isolate=False,
                  settings=Settings(min_sample_s=0.0005, repeats=3, max_samples=3, ci_target=0, remeasure=0,
                                    rounds=0, wait_quiet_s=kw["settings"].wait_quiet_s))
        return real_run(**kw)

    monkeypatch.setattr(vecbench.harness, "run", small)
    monkeypatch.setattr(vecbench.coldcompile, "measure_cold_compile", lambda *a, **k: {})
    monkeypatch.setattr(vecbench.training, "convergence_histories", lambda *a, **k: {})
    monkeypatch.setattr(vecbench.report.write, "write_report", lambda *a, **k: [])
    real_measure = vecbench.harness._InProcess.measure
    calls = []

    def ctrl_c_at_the_second(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_measure(self, *a, **k)

    monkeypatch.setattr(vecbench.harness._InProcess, "measure", ctrl_c_at_the_second)
    folder = tmp_path / "rep"
    out = folder / "results.json"
    assert main(["report", "--run", "-o", str(folder)]) == 130
    said = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert f"'vecbench report --run -o {folder}' measures the rest" in said
    kept = Journal.load(journal_path(out)).records
    assert len(kept) == 1 and [r.key for r in load(out)] == [kept[0].key]  # the partial file, and its journal
    monkeypatch.setattr(vecbench.harness._InProcess, "measure", real_measure)
    assert main(["report", "--run", "-o", str(folder)]) == 0
    final = load(out)
    assert len(final.records) == 4 and not journal_path(out).exists()
    again = next(r for r in final if r.key == kept[0].key)
    assert again.timing is not None and kept[0].timing is not None
    assert again.timing.samples_s == kept[0].timing.samples_s  # resumed: kept, not measured again
