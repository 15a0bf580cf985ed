"""The ``vecbench`` command line: one module per command, each parsing and printing around the library.

::

    vecbench list                      ops, backends, default sizes
    vecbench info                      machine, BLAS/threads, measured bandwidth
    vecbench run [--quick] [...]       measure; write a results JSON
    vecbench run --from mykernels.py   measure your own computations (@vecbench.bench in that file)
    vecbench compare BASE NEW          ratios; exit 1 on a regression
    vecbench report FILES -o DIR       figures, DIR/README.md and DIR/report.html (default DIR: vecbench-report)
    vecbench train ...                 train logistic regression, print the cost
    vecbench graph [--framework F]     the lecture's graph J = 3(a + bc): forward, backward, nudges

Each command module (as asv's ``commands/``) has ``setup_arguments(subparsers, parents)`` and
``run(args) -> int``; option types and shared options live in :mod:`vecbench.cli.options`, tables
and printing in :mod:`vecbench.cli.console`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from collections.abc import Sequence

from . import compare, graph, info, list_, report, run, train
from .options import Parser, UsageError

__all__ = ["build_parser", "main"]

COMMANDS = (list_, info, run, compare, report, train, graph)  # in the order --help lists them


def build_parser() -> argparse.ArgumentParser:
    """The ``vecbench`` parser: every option checked by its type before any work."""
    from .. import __version__

    parser = Parser(prog="vecbench", description="What vectorization buys, measured honestly.")
    parser.add_argument("--version", action="version", version=f"vecbench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an internal error")
    common = Parser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{list,info,run,compare,report,train}")
    for command in COMMANDS:
        command.setup_arguments(sub, [common])
    return parser


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if args.command == "report" and args.baseline is not None:
        if len(args.baseline) != 1:
            raise UsageError(f"vecbench report: error: --baseline: one backend; got {','.join(args.baseline)!r}")
        args.baseline = args.baseline[0]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vecbench`` command: every error is one line, never a traceback.

    Exit codes: 0 done, 1 a measurement failed or a regression (or an
    internal error), 2 a bad option or input file, 130 interrupted.
    """
    raw = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in raw
    command = "vecbench"
    try:
        try:
            args = _parse(raw)
        except SystemExit as exc:  # --help, --version
            return exc.code if isinstance(exc.code, int) else 0
        command = f"vecbench {args.command}"
        return int(args.fn(args) or 0)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if argv is None:  # the console script: a further Ctrl-C while exiting must not end in a traceback
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except (KeyError, ValueError, FileNotFoundError, ImportError) as exc:
        if debug:
            traceback.print_exc()
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"{command}: error: {msg}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001  a bug, still one line (the traceback with --debug)
        if debug:
            traceback.print_exc()
        print(f"{command}: error: {type(exc).__name__}: {exc} (an internal error; rerun with --debug to see where)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
