"""`supportsim`: the command line, a thin shell over the Python API.

One module per command (`sim.cli.run`, `sim.cli.compare`, ...), each with `HELP`,
`add_arguments(parser)` and `main(args) -> exit code`. This package is the only code that knows
argparse and exit codes; library errors are mapped to exit codes here (see `sim.cli.common`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from sim.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_CODES_TEXT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UsageError,
)

#: Sub-command names and the modules implementing them.
COMMANDS = {
    "run": "sim.cli.run",
    "compare": "sim.cli.compare",
    "sweep": "sim.cli.sweep",
    "validate": "sim.cli.validate",
    "staff": "sim.cli.staff",
    "roster": "sim.cli.roster",
    "export-log": "sim.cli.export_log",
    "metrics": "sim.cli.metrics",
    "fit": "sim.cli.fit",
    "backtest": "sim.cli.backtest",
    "snapshot": "sim.cli.snapshot",
    "whatif": "sim.cli.whatif",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; given the command line, only its command's module is
    imported (the others are named, not loaded: `fit` and `backtest` alone take most of a
    second to import `scipy.stats` and `scipy.optimize`, which a `run` never needs)."""
    chosen = _command_in(argv)
    parser = argparse.ArgumentParser(
        prog="supportsim",
        description="Simulate an online shop's chat service desk and report platform metrics.",
        epilog=EXIT_CODES_TEXT,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if chosen is not None and name != chosen:
            sub.add_parser(name)
            continue
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP,
                                 epilog=EXIT_CODES_TEXT)
        module.add_arguments(command)
        command.set_defaults(handler=module.main)
    return parser


def _command_in(argv: list[str] | None) -> str | None:
    """The command `argv` starts with, or None when it starts with anything else (the top
    level's own `--help`, an unknown command, nothing): then every command is loaded, for
    the list of commands in the help or the error."""
    argv = sys.argv[1:] if argv is None else argv
    return argv[0] if argv and argv[0] in COMMANDS else None


def _bad_input_errors() -> tuple[type[BaseException], ...]:
    """Library errors that mean the input was wrong (exit 2), each raised by its own module."""
    from sim.analysis.targets import TargetError
    from sim.chatlog import ChatLogError
    from sim.experiment import PrecisionError
    from sim.parallel import ExecutorError
    from sim.scenario import ScenarioError
    from sim.tools.roster_rules import RosterError
    from sim.tools.staffing import StaffingError

    return (UsageError, ScenarioError, ExecutorError, TargetError, StaffingError,
            PrecisionError, RosterError, ChatLogError)


def _message(exc: BaseException) -> str:
    from sim.engine.limits import WorkloadError

    if isinstance(exc, WorkloadError):
        return (f"{exc.source}: refused before simulating: {'; '.join(exc.problems)} "
                "(pass --allow-large to run it anyway)")
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    """Parse `argv`, run the command, and turn what happened into an exit code."""
    try:
        # Inside the try: a Ctrl-C while the options are read (imports can take a moment on a
        # loaded machine) is an interruption like any other, not a traceback.
        args = build_parser(argv).parse_args(argv)
        return args.handler(args)
    except _bad_input_errors() as exc:
        print(f"error: {_message(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        from sim.output.files import written

        if written:
            kept = ", ".join(str(p) for p in dict.fromkeys(written))
            print(f"\ninterrupted: kept these complete files: {kept}; no file is left "
                  "half-written", file=sys.stderr)
        else:
            print("\ninterrupted: nothing was written (no file is left half-written)",
                  file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence, reported plainly
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("SUPPORTSIM_DEBUG"):
            traceback.print_exc()
        else:
            print("(set SUPPORTSIM_DEBUG=1 to see the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def console() -> None:
    sys.exit(main())
