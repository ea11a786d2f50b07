"""Options every command that reads a chat log shares: the format file, encoding, time zone,
duty file and the end of the log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.chatlog import ChatLog, read_log
from sim.cli.common import UsageError
from sim.units import parse_duration


def add_log_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log", type=Path, help="chat log: CSV or Parquet (docs/chat-log.md)")
    parser.add_argument("--columns", type=Path, metavar="MAP",
                        help="format file (YAML) naming the export's columns and values")
    parser.add_argument("--encoding", metavar="E",
                        help="text encoding of CSV files: utf-8 (default), gb18030, gbk, ...")
    parser.add_argument("--timezone", metavar="TZ",
                        help="time zone of the log's local times (default Asia/Shanghai)")
    parser.add_argument("--duty", type=Path, metavar="FILE",
                        help="duty file (agent_id, group, start, end); without it duty is "
                             "inferred from the agents' replies")
    parser.add_argument("--until", metavar="TIME",
                        help="when the log ends, 'YYYY-MM-DD HH:MM:SS' (default: its last row)")


def interval_seconds(text: str) -> float:
    """argparse type: 15min, 30min or 1h."""
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value not in (900, 1800, 3600):
        raise argparse.ArgumentTypeError(f"expected 15min, 30min or 1h, got {text!r}")
    return float(value)


def load_log(args: argparse.Namespace) -> ChatLog:
    """The log the arguments name, its notes printed to stderr."""
    if args.until is not None:
        import pandas as pd

        try:
            pd.Timestamp(args.until)
        except ValueError:
            raise UsageError(f"--until: cannot read {args.until!r} as YYYY-MM-DD HH:MM:SS"
                             ) from None
    log = read_log(args.log, args.columns, encoding=args.encoding, timezone=args.timezone,
                   duty=args.duty, until=args.until, progress=not args.quiet)
    for note in log.notes:
        print(f"note: {note}", file=sys.stderr)
    return log
