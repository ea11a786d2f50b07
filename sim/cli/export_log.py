"""`supportsim export-log`: a scenario's simulated runs written as chat logs with known truth."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from sim.cli.common import (
    EXIT_OK,
    UsageError,
    add_quiet,
    non_negative_int,
    output_folder_or,
    output_path,
)
from sim.output.log_file import LogWriteError
from sim.scenario import load_scenario
from sim.tools.export_log import export_logs

HELP = "write a scenario's simulated runs as chat logs (with duty files)"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    parser.add_argument("--out", type=output_path,
                        help="the log file (.csv or .parquet) when one run is exported, else a "
                             "folder of <variant>-r<replication>.csv (default out/<name>/log/)")
    parser.add_argument("--variant", action="append", dest="variants", metavar="NAME",
                        help="export this variant (repeatable; default: every variant)")
    parser.add_argument("--replication", action="append", dest="replications",
                        type=non_negative_int, metavar="R",
                        help="export replication R (repeatable; default: every replication "
                             "of the scenario)")
    parser.add_argument("--seed", type=non_negative_int, help="override the scenario's seed")
    parser.add_argument("--date", type=_date, metavar="YYYY-MM-DD",
                        help="first day of the log when the horizon has no date "
                             "(default 2026-03-02)")
    parser.add_argument("--encoding", default="utf-8", metavar="E",
                        help="text encoding of the CSV files (default utf-8; gb18030, gbk)")
    parser.add_argument("--fractional", action="store_true",
                        help="times to the microsecond instead of whole seconds")
    add_quiet(parser)


def main(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    out = output_folder_or(args.out, Path("out") / scenario.name / "log")
    try:
        exported = export_logs(scenario, out, variants=args.variants,
                               replications=args.replications, seed=args.seed, date=args.date,
                               encoding=args.encoding, fractional=args.fractional,
                               source=str(args.scenario), progress=not args.quiet)
    except LookupError:
        raise UsageError(f"--encoding: unknown encoding {args.encoding!r}") from None
    except LogWriteError as exc:
        raise UsageError(str(exc)) from None
    for run in exported:
        print(f"{run.variant} replication {run.replication}: {run.conversations:,} "
              f"conversations, {run.rows:,} rows -> {run.log} (duty: {run.duty.name})")
    return EXIT_OK
