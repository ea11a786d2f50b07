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
    check_executor_arguments,
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
    """The parser of every command. Given a command line that starts with a command, only
    that command's module is imported (the others are named, not loaded: `fit` and
    `backtest` alone take most of a second to import `scipy.stats` and `scipy.optimize`,
    which a `run` never needs); otherwise (the top level's `--help`, an unknown command,
    no line at all) every command is loaded, for the list of commands."""
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
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


#: Library errors that mean the input was wrong (exit 2): the module defining each, and its name.
BAD_INPUT_ERRORS = (
    ("sim.cli.common", "UsageError"),
    ("sim.scenario.errors", "ScenarioError"),
    ("sim.parallel", "ExecutorError"),
    ("sim.analysis.targets", "TargetError"),
    ("sim.tools.staffing", "StaffingError"),
    ("sim.experiment", "PrecisionError"),
    ("sim.tools.roster_rules", "RosterError"),
    ("sim.chatlog.errors", "ChatLogError"),
)


def _bad_input(exc: Exception) -> bool:
    """Whether `exc` is one of `BAD_INPUT_ERRORS`. Only modules already loaded are looked at:
    an error can come only from a module that was imported, and importing the others here
    would cost a command that fails a third of a second (staffing, scipy.optimize, ...)."""
    return any(isinstance(exc, getattr(sys.modules[module], name))
               for module, name in BAD_INPUT_ERRORS if module in sys.modules)


def _message(exc: BaseException) -> str:
    from sim.engine.limits import WorkloadError

    if isinstance(exc, WorkloadError):
        return (f"{exc.source}: refused before simulating: {'; '.join(exc.problems)} "
                "(pass --allow-large to run it anyway)")
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    """Parse `argv`, run the command, and turn what happened into an exit code."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        # Inside the try: a Ctrl-C while the options are read (imports can take a moment on a
        # loaded machine) is an interruption like any other, not a traceback.
        args = build_parser(argv).parse_args(argv)
        check_executor_arguments(args)
        return args.handler(args)
    except KeyboardInterrupt:
        # Nothing imported here: a file was written only if the module writing them is loaded.
        files = sys.modules.get("sim.output.files")
        written = files.written if files is not None else []
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
        if _bad_input(exc):
            print(f"error: {_message(exc)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("SUPPORTSIM_DEBUG"):
            traceback.print_exc()
        else:
            print("(set SUPPORTSIM_DEBUG=1 to see the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def console() -> None:
    sys.exit(main())
