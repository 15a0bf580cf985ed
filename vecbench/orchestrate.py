"""One run path to a results file: the output rules, the journal, resume and the final save.

``vecbench run`` (vecbench's ops or ``--from`` your own) and ``vecbench report --run`` measure
through these three steps, so they keep the same journal and obey the same rules::

    out, journal = open_output("r.json")                   # every check before any work
    results = measure_into(journal, lambda j: vb.run(..., journal=j))
    save(results, out, journal)                            # the journal goes once the file is written

The measuring itself is :func:`vecbench.harness.run` (``vb.run``); given ``output=`` (or
``resume=``) it takes these same three steps itself, so the library and the targets preset
keep the same journal and obey the same rules. Without it, the results stay in memory.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

from .journal import JOURNAL_SUFFIX, Journal, journal_path
from .results import Results, check_writable

__all__ = ["default_output", "measure_into", "open_output", "save"]

PathLike = str | os.PathLike[str]


def default_output() -> Path:
    """``results/vecbench-<local time>.json``."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"vecbench-{stamp}.json"


def open_output(output: PathLike | None, resume: PathLike | None = None,
                again: str = "vecbench run --resume {out}",
                names: tuple[str, str] = ("--output", "--resume")) -> tuple[Path, Journal]:
    """The results path and its journal, new or (``resume``: that results file or its journal) loaded.

    Everything is checked before any work: a path that is not a writable regular file, a folder that
    cannot be made, or a journal left by an interrupted run that a new run would overwrite (``again``,
    with ``{out}`` filled in, is the command the message offers to continue it) raise ``ValueError``
    naming the output option (``names``: the output's and the resume's, as the caller calls them).
    """
    option = names[0]
    if resume:
        out = Path(os.fspath(resume).removesuffix(JOURNAL_SUFFIX))
        if output and Path(output) != out:
            raise ValueError(f"{option}: with {names[1]} the results go to {out}; got {os.fspath(output)!r}")
        journal = Journal.load(journal_path(out))
    else:
        out = Path(output) if output else default_output()
        journal = Journal(journal_path(out))
        if journal.path.exists():
            raise ValueError(f"{option}: {journal.path} holds the measurements of an interrupted run; continue it "
                             f"with '{again.format(out=out)}', or delete that file")
    try:
        check_writable(out)
        check_writable(journal.path)
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from None
    try:  # before any work, so a folder that cannot be made costs nothing
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{option}: cannot create the folder {out.parent}: {exc.strerror or exc}") from None
    return out, journal


def measure_into(journal: Journal, measure: Callable[[Journal], Results]) -> Results:
    """``measure(journal)``, which appends each finished record to ``journal`` (``vb.run(..., journal=j)``).

    Whatever ends it early, the journal is closed; one that holds no measurement is removed (a
    resumed one only on Ctrl-C), so that a failed start leaves nothing behind to refuse the next run.
    """
    resumed = journal.request is not None
    try:
        return measure(journal)
    except BaseException as exc:
        journal.close()
        if not journal.records and (not resumed or isinstance(exc, KeyboardInterrupt)):
            with contextlib.suppress(OSError):
                journal.remove()
        raise


def save(results: Results, out: PathLike, journal: Journal) -> bool:
    """Write ``results`` to ``out`` atomically, then drop the journal; ``False`` when there was nothing to write.

    An interrupted run's journal is kept (resuming it measures the rest); one interrupted before
    anything was measured is removed and ``out`` left untouched. A Ctrl-C during the save waits until
    it is done. ``OSError``/``ValueError`` from the save propagate with the journal closed and kept.
    """
    if results.interrupted and not journal.records:
        journal.remove()
        return False
    with _sigint_deferred():
        try:
            results.save(out)
        except BaseException:
            journal.close()
            raise
        if results.interrupted:
            journal.close()
        else:
            journal.remove()
    return True


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C until the block is done (the final save is never cut in half)."""
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    except (AttributeError, ValueError):  # not the main thread, not POSIX
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
