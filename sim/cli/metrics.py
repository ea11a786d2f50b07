"""`supportsim metrics`: the platform rates of a real chat log, per day and over the whole log,
measured by the same code as a simulation."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.analysis.registry import format_value
from sim.chatlog.measure import LOG_METRICS_SHOWN, log_metrics
from sim.cli.common import EXIT_OK, add_quiet, output_folder, output_folder_or
from sim.cli.log_options import add_log_arguments, interval_seconds, load_log
from sim.output.files import write_csv
from sim.output.tables import text_table
from sim.scenario import load_scenario

HELP = "platform rates of a chat log, per day and over the whole log"
#: Days printed beside the whole log (all of them go to metrics.csv).
PRINTED_DAYS = 7


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_log_arguments(parser)
    parser.add_argument("--settings", type=Path, metavar="SCENARIO",
                        help="take the metric rules (metrics:, bot.replies_count) from this "
                             "scenario file (default: the platforms' standard rules)")
    parser.add_argument("--interval", type=interval_seconds, default=1800.0, metavar="LEN",
                        help="length of the per-interval series: 15min, 30min (default), 1h")
    parser.add_argument("--out", type=output_folder,
                        help="output folder for metrics.csv and intervals.csv "
                             "(default out/<log name>/)")
    add_quiet(parser)


def format_log_metrics(values, names: list[str], days: int = PRINTED_DAYS) -> str:
    """One row per metric, one column per day (the first `days`) and the whole log."""
    periods = list(values.columns)
    shown = periods[:1] + periods[1:1 + days] if len(periods) > 2 else periods[:1]
    cells = [["metric", *shown]]
    for name in names:
        if name in values.index:
            cells.append([name, *(format_value(name, values.loc[name, p]) for p in shown)])
    text = text_table(cells, ["<"] + [">"] * len(shown))
    if len(periods) - 1 > len(shown) - 1 and len(periods) > 2:
        text += f"\n({len(periods) - 1} days; every day is in metrics.csv)"
    return text


def main(args: argparse.Namespace) -> int:
    log = load_log(args)
    out = output_folder_or(args.out, Path("out") / args.log.stem)
    settings = load_scenario(args.settings) if args.settings else None
    measured = log_metrics(log, settings, args.interval)
    write_csv(out / "metrics.csv", measured.long())
    write_csv(out / "intervals.csv", measured.intervals)
    conversations = len(log.conversations)
    print(f"{log.source}: {conversations:,} conversations, {len(log.rows.frame):,} rows, "
          f"{log.days[0]} to {log.days[-1]}")
    print(format_log_metrics(measured.values, LOG_METRICS_SHOWN))
    print(f"\nwrote metrics.csv, intervals.csv to {out}/")
    return EXIT_OK
