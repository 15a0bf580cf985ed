"""Option types and the options commands share: each type parses one option's text or says what is allowed.

Each type raises ``ArgumentTypeError`` with "what is allowed; got 'X'"; :class:`Parser` turns that into
``vecbench <cmd>: error: --option: ...`` and exit 2, before any work.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

PRESETS = ("quick", "default", "large")


def csv_items(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


# Each parses one option's text or raises ArgumentTypeError with "what is allowed; got 'X'";
# the parser turns that into "vecbench <cmd>: error: --option: ..." and exit 2, before any work.
class UsageError(Exception):
    """A bad command line: one line for the user, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        # "argument -o/--output: ..." -> "--output: ..."
        message = re.sub(r"^argument (?:\S+/)?(\S+): ", r"\1: ", message)
        raise UsageError(f"{self.prog}: error: {message}")


def bad(what: str, text: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{what}; got {text!r}")


def whole(lo: int, hi: int | Callable[[], int] | None = None, unit: str = "") -> Callable[[str], int]:
    """Type: a whole number in ``[lo, hi]`` (``1e3`` allowed)."""
    def parse(text: str) -> int:
        top = hi() if callable(hi) else hi
        span = f"from {lo} to {top}" if top is not None else f">= {lo}"
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        if not (math.isfinite(x) and x == int(x) and x >= lo and (top is None or x <= top)):
            raise bad(f"a whole number {span}{unit}", text)
        return int(x)
    return parse


def positive(hi: float | None = None, unit: str = " seconds") -> Callable[[str], float]:
    """Type: a finite number > 0 (and <= ``hi``)."""
    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        if not (math.isfinite(x) and x > 0 and (hi is None or x <= hi)):
            raise bad(f"a number > 0{f' and <= {hi:g}' if hi else ''}{unit}", text)
        return x
    return parse


def names(known: Callable[[], Sequence[str]], aliases: dict[str, list[str]] | None = None
          ) -> Callable[[str], list[str]]:
    """Type: a comma-separated, non-empty list of known names."""
    def parse(text: str) -> list[str]:
        allowed = list(known())
        items = csv_items(text)
        unknown = [i for i in items if i not in allowed and i not in (aliases or {})]
        if not items or unknown:
            shown = ", ".join([*allowed, *(aliases or {})])
            raise bad(f"one or more of {shown} (comma-separated)", text)
        out: list[str] = []
        for i in items:
            out += (aliases or {}).get(i, [i])
        return list(dict.fromkeys(out))
    return parse


def sizes_arg(text: str) -> str | list[str]:
    """Type: a preset name or comma-separated whole numbers >= 1 (``1e3,1e5``)."""
    if text.strip() in PRESETS:
        return text.strip()
    items = csv_items(text)
    try:
        for i in items:
            whole(1)(i)
    except argparse.ArgumentTypeError:
        items = []
    if not items:
        raise bad(f"{', '.join(PRESETS)}, or whole numbers >= 1 such as 1e3,1e5 (comma-separated)", text)
    return items


def op_names() -> list[str]:
    import vecbench as vb

    return vb.ops()


def backend_names() -> list[str]:
    import vecbench as vb

    return vb.backends()


def cores() -> int:
    from ..machine import cpu_count

    return cpu_count()


def ci_target_arg(text: str) -> float:
    """Type: ``2%`` or ``0.02`` -> 0.02; 0 turns adaptive sampling off."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value < 1):
        raise bad("a relative half-width such as 2% or 0.02 (0: off)", text)
    return value


def wait_quiet_arg(text: str) -> float:
    """Type: seconds to wait at most for a quiet machine, >= 0."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 <= seconds <= 3600):
        raise bad("seconds to wait at most, from 0 to 3600", text)
    return seconds


def nonempty_csv(text: str) -> list[str]:
    items = csv_items(text)
    if not items:
        raise bad("one or more comma-separated values", text)
    return items


def fail_above_arg(text: str) -> str:
    from ..compare import parse_fail_above

    try:
        parse_fail_above([text])
    except ValueError as exc:
        msg = str(exc).removeprefix("compare: ").removeprefix("--fail-above: ").removeprefix("--fail-above takes ")
        raise argparse.ArgumentTypeError(msg) from None
    return text


def loop_backend() -> str:
    from ..registry import baseline

    return baseline("loop")



# Options that define what a run measures: with --resume, they come from the journal.
RUN_OPTIONS = ("ops", "backends", "sizes", "quick", "dtype", "threads", "repeats", "min_time", "budget", "seed",
               "no_bandwidth", "bandwidth", "ci_target", "wait_quiet", "no_remeasure")


def settings_from(args: argparse.Namespace) -> Any:
    from ..harness import Settings

    base = Settings.quick() if args.quick else Settings()
    return Settings(
        min_sample_s=args.min_time if args.min_time is not None else base.min_sample_s,
        repeats=args.repeats if args.repeats is not None else base.repeats,
        budget_s=args.budget if args.budget is not None else base.budget_s,
        seed=args.seed if args.seed is not None else base.seed,
        ci_target=args.ci_target if args.ci_target is not None else base.ci_target,
        max_samples=base.max_samples,
        wait_quiet_s=args.wait_quiet if args.wait_quiet is not None else 0.0,
        remeasure=0 if getattr(args, "no_remeasure", False) else base.remeasure,
        rounds=base.rounds,
    )


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options that say what a sweep measures and how (``run``; ``report --run`` shares :func:`add_quiet_options`)."""
    p.add_argument("--ops", type=names(op_names), metavar="OPS",
                   help="comma-separated ops (default: all; see 'vecbench list')")
    p.add_argument("--backends", type=names(backend_names), metavar="BACKENDS",
                   help=f"comma-separated backends (default: all; choices: {', '.join(backend_names())})")
    p.add_argument("--sizes", type=sizes_arg, metavar="SIZES",
                   help="quick, default, large, or whole numbers such as 1e3,1e5,1e7 (n for dot; m for logreg ops) "
                        "(default: default; quick with --quick)")
    p.add_argument("--quick", action="store_true", help="small sweep of everything, well under a minute")
    p.add_argument("--dtype", type=names(lambda: ["float64", "float32"], {"both": ["float64", "float32"]}),
                   metavar="DTYPES", help="float64, float32 or both (comma-separated) (default: float64)")
    p.add_argument("--threads", type=whole(1, cores), metavar="N",
                   help=f"BLAS and Numba threads, 1 to {cores()} (default: all cores)")
    p.add_argument("--repeats", type=whole(1, 100_000), metavar="N",
                   help="samples per measurement at least, more until --ci-target (default: 7; 3 with --quick)")
    p.add_argument("--min-time", type=positive(60.0), metavar="SECONDS",
                   help="seconds one sample lasts at least (default: 0.01; 0.005 with --quick)")
    p.add_argument("--budget", type=positive(), metavar="SECONDS",
                   help="seconds one measurement may take; sizes predicted to exceed it are skipped "
                        "(default: 5; 0.5 with --quick)")
    p.add_argument("--seed", type=whole(0, 2**63 - 1), metavar="N", help="input seed (default: 0)")
    p.add_argument("--ci-target", type=ci_target_arg, metavar="FRACTION",
                   help="sample until the median's 95%% interval is within this of the median, or the budget is "
                        "spent, e.g. 2%% or 0.02; 0: exactly --repeats samples (default: 2%%)")
    add_quiet_options(p)
    p.add_argument("--no-bandwidth", action="store_true",
                   help="skip the memory-bandwidth and compute-peak probes (default with --quick: they take ~10 s)")
    p.add_argument("--bandwidth", action="store_true", help="run the probes with --quick too")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--cold-compile", action="store_true",
                   help="also time each JIT kernel's first call in a fresh process with empty compile caches "
                        "(what a first-time user waits; ~5 s per kernel) (default: off)")


def add_quiet_options(p: argparse.ArgumentParser, when: str = "") -> None:
    """``--wait-quiet`` and ``--no-remeasure``: how a sweep copes with a busy machine (``when``: "with --run: ")."""
    p.add_argument("--wait-quiet", type=wait_quiet_arg, nargs="?", const=30.0, metavar="SECONDS",
                   help=f"{when}before each kernel, wait up to SECONDS (default when given: 30) for other processes "
                        "to go quiet (default: no waiting)")
    p.add_argument("--no-remeasure", action="store_true",
                   help=f"{when}do not measure contended or noisy kernels again after the sweep" + (
                        "" if when else " (default: up to 3 measurements each, after waiting for a quiet machine, "
                        "at most half the sweep's time)"))


def add_axis_options(p: argparse.ArgumentParser) -> None:
    """One option per extra size axis an op declares (``--batch-sizes`` for train_epoch)."""
    import vecbench as vb

    seen: set[str] = set()
    for op in vb.ops():
        for axis in vb.spec(op).axes:
            if axis.option not in seen:
                seen.add(axis.option)
                p.add_argument(f"--{axis.option}", dest=dest(axis.option), type=nonempty_csv, metavar="VALUES",
                               help=f"{op}: {axis.help}")


def add_backend_options(p: argparse.ArgumentParser) -> None:
    """One option per setting a backend declares (``--dask-scheduler``), checked by that backend."""
    import vecbench as vb

    for b in vb.iter_backends():
        for option, text in b.options.items():
            def check(value: str, b: Any = b, option: str = option) -> str:
                try:
                    return str(b.check_option(option, value))
                except ValueError as exc:
                    raise argparse.ArgumentTypeError(str(exc)) from None

            p.add_argument(f"--{b.name}-{option}", dest=f"backend_option:{b.name}_{option}", type=check,
                           metavar="VALUE", help=f"{text} (also {b.option_env(option)})")


def backend_option_values(args: argparse.Namespace) -> dict[str, str]:
    """``{"<backend>_<option>": value}`` given on the command line (for ``harness.run``)."""
    prefix = "backend_option:"
    return {k.removeprefix(prefix): v for k, v in vars(args).items() if k.startswith(prefix) and v is not None}


def dest(option: str) -> str:
    return option.replace("-", "_")
