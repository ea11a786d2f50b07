"""What every sub-command shares: exit codes, argument checks, the executor options, and the
mapping from library errors to exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from shlex import quote

#: Exit codes of every command (listed in the README).
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_CHECK_FAILED = 3  # a validation check or a target was not met
EXIT_TASKS_FAILED = 4  # some sweep tasks failed twice; the rest were written
EXIT_INTERRUPTED = 130

EXIT_CODES_TEXT = ("exit codes: 0 ok, 1 internal error, 2 bad input, 3 a validation or target "
                   "check failed, 4 some sweep tasks failed, 130 interrupted")

ALLOW_LARGE_FLAG = "--allow-large"


class UsageError(Exception):
    """Bad command-line input (exit code 2)."""


def only_with(flags: list[str], what: str) -> str:
    """The message for options given without the one they belong to."""
    verb = "applies" if len(flags) == 1 else "apply"
    return f"{', '.join(flags)} only {verb} with {what}"


def command_line(command: str, words: Iterable[str | Path],
                 options: Iterable[tuple[str, object, object]]) -> str:
    """A command line that does again what this one did, for the headers of its files:
    `supportsim COMMAND`, then `words` (paths as they were given, quoted for a shell where
    needed), then each `(flag, value, default)` whose value was given and is not the default:
    a flag alone for True, once per item for a list (a repeatable option), every value quoted
    like the words, a float to its last digit."""
    parts = [f"supportsim {command}"]
    parts += [quote(str(word)) for word in words]
    for flag, value, default in options:
        if value is None or value is False or value == default:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            # A float as Python writes it back (the shortest text that reads as the same
            # number); anything else as text, quoted where a shell would read it otherwise.
            if item is True:
                parts.append(flag)
            else:
                text = repr(item) if isinstance(item, float) else str(item)
                parts.append(f"{flag} {quote(text)}")
    return " ".join(parts)


def _whole_number(text: str, least: int, why: str = "") -> int:
    """A whole number >= `least`, or an argparse error naming that bound (and `why`)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {least}{why}, "
                                         f"got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    return _whole_number(text, 0)


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    return _whole_number(text, 1)


def at_least_two(text: str) -> int:
    """argparse type: a replication count a confidence interval can be built from."""
    return _whole_number(text, 2, " (a CI needs two replications)")


def _not_dangling(path: Path) -> None:
    """Refuse a path that is, or lies under, a symbolic link pointing nowhere (it exists for
    nothing that would write through it, yet cannot be created either)."""
    for part in (path, *path.parents):
        if os.path.lexists(part) and not part.exists():
            raise argparse.ArgumentTypeError(f"{path}: {part} is a symbolic link to nothing")


def _writable_place(path: Path) -> None:
    """Refuse `path` when it cannot be made: under something that is not a folder, or in a
    folder this user may not write to (the nearest part of it that exists decides)."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(f"{path}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise argparse.ArgumentTypeError(f"{path}: cannot write in {parent} "
                                                 "(permission denied)")
            return


def output_folder(text: str) -> Path:
    """argparse type: a folder to write into, existing or not, refused before any work is
    done when it cannot be (a file of that name, or a place this user cannot write)."""
    path = Path(text)
    _not_dangling(path)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file; give a folder to write into")
    if not path.exists():
        _writable_place(path)
    elif not os.access(path, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write in {path} (permission denied)")
    return path


def output_folder_or(given: Path | None, default: Path) -> Path:
    """The output folder: `--out` when given (checked as the options were read), else
    `default`, checked now, before any work (a bad input, exit 2, if it cannot be made)."""
    if given is not None:
        return given
    try:
        return output_folder(str(default))
    except argparse.ArgumentTypeError as exc:
        why = str(exc).removeprefix(f"{default}: ")
        raise UsageError(f"cannot write the default output folder {default}: {why} (give "
                         "--out)") from None


def output_file(text: str) -> Path:
    """argparse type: a file to write (replaced if it exists), refused before any work is done
    when it cannot be (a folder of that name, or a place this user cannot write)."""
    path = Path(text)
    _not_dangling(path)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name")
    _writable_place(path)
    return path


def output_path(text: str) -> Path:
    """argparse type: a file or a folder to write (the command decides which by the name)."""
    path = Path(text)
    _not_dangling(path)
    if not path.is_dir():
        _writable_place(path)
    return path


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def replications_or_auto(text: str) -> int | str:
    """argparse type: a whole number >= 1, or 'auto'."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number >= 1 or 'auto', got {text!r}") from None


def relative_precision(text: str) -> float:
    """argparse type: a share of the mean between 0 and 1, as 0.01 or 1%."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a share of the mean such as 0.01 or 1%, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a share of the mean between 0 and 1 (e.g. 0.01 or 1%), got {text!r}")
    return value


def dask_address(text: str) -> str:
    """argparse type: 'local' or a scheduler address such as tcp://host:8786."""
    if text != "local" and "://" not in text:
        raise argparse.ArgumentTypeError(
            f"expected 'local' or an address such as tcp://host:8786, got {text!r}")
    return text


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """--workers and --dask, the same on every command that runs simulations: by default every
    core this process may use (never more workers than tasks; one worker runs in-process)."""
    parser.add_argument("--workers", type=positive_int, metavar="N",
                        help="local worker processes, or LocalCluster workers with --dask local "
                             "(default: every core; 1 runs in this process)")
    parser.add_argument("--dask", type=dask_address, metavar="ADDRESS|local",
                        help="run on a Dask scheduler (tcp://host:8786) or a LocalCluster")


def check_executor_arguments(args: argparse.Namespace) -> None:
    """--workers means local processes (or LocalCluster workers): with a scheduler's address
    the cluster's own workers run the tasks, so a count given there would be ignored."""
    dask = getattr(args, "dask", None)
    if dask is not None and dask != "local" and getattr(args, "workers", None) is not None:
        raise UsageError(f"--workers {args.workers} has no effect with --dask {dask}: the "
                         "scheduler's own workers run the tasks (start more of them there, "
                         "or use --dask local --workers N)")


def add_allow_large(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(ALLOW_LARGE_FLAG, action="store_true", dest="allow_large",
                        help="run even when the work estimate is over the safety limits "
                             "(see docs/robustness.md)")


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """--target, adding to (or replacing one of) the scenario's `targets:`."""
    parser.add_argument("--target", action="append", dest="targets", metavar="EXPR",
                        help="judge the results against this target, e.g. "
                             "'reply_rate_5min>=0.95' (repeatable; added to the scenario's "
                             "targets:, replacing one on the same metric and bound)")


def add_no_warnings(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-warnings", action="store_true", dest="no_warnings",
                        help="do not print scenario warnings (legal settings that are almost "
                             "certainly mistakes; a scenario silences one kind with "
                             "warnings: {ignore: [CODE]})")


def print_scenario_warnings(scenario, source: str, args: argparse.Namespace) -> None:
    """The scenario's warnings (`sim.lint`) on stderr, one line each, unless --no-warnings."""
    if getattr(args, "no_warnings", False):
        return
    from sim.lint import scenario_warnings

    for warning in scenario_warnings(scenario, source):
        print(f"warning: {warning}", file=sys.stderr)
