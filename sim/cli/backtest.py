"""`supportsim backtest`: a scenario simulated over a chat log's own period and duty, against
the log's measured rates, per day and per interval."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from sim.analysis.registry import format_value
from sim.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    UsageError,
    add_executor_arguments,
    add_quiet,
    at_least_two,
    non_negative_int,
    output_folder,
    output_folder_or,
)
from sim.cli.log_options import add_log_arguments, load_log
from sim.output.tables import text_table
from sim.scenario import load_scenario
from sim.tools.backtest import HEADLINE, BacktestError, backtest

HELP = "simulate a scenario over a chat log's period and compare with the log"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_log_arguments(parser)
    parser.add_argument("scenario", type=Path, help="scenario YAML file (e.g. from fit)")
    parser.add_argument("--replications", type=at_least_two, default=10, metavar="N",
                        help="replications of the log's period (default 10)")
    parser.add_argument("--seed", type=non_negative_int, help="override the scenario's seed")
    parser.add_argument("--scenario-duty", action="store_true",
                        help="keep the scenario's own schedules instead of the log's duty")
    parser.add_argument("--out", type=output_folder,
                        help="output folder (default out/<scenario name>/backtest/)")
    add_executor_arguments(parser)
    add_quiet(parser)


def format_backtest(result, period: str = "all") -> str:
    cells = [["metric", "simulated [95% PI]", "actual", "z", "agrees"]]
    for row in result.table[result.table["period"] == period].itertuples(index=False):
        if not math.isfinite(row.simulated_mean):
            continue
        agrees = "" if row.agrees != row.agrees else ("yes" if row.agrees else "NO")
        cells.append([row.metric, (f"{format_value(row.metric, row.simulated_mean)} "
                      f"[{format_value(row.metric, row.pi_low)}, "
                      f"{format_value(row.metric, row.pi_high)}]"),
                      format_value(row.metric, row.actual), f"{row.z:+.2f}",
                      agrees if row.metric in HEADLINE else ""])
    return text_table(cells, ["<", ">", ">", ">", "<"])


def main(args: argparse.Namespace) -> int:
    log = load_log(args)
    scenario = load_scenario(args.scenario)
    out = output_folder_or(args.out, Path("out") / scenario.name / "backtest")
    try:
        result = backtest(log, scenario, replications=args.replications, seed=args.seed,
                          duty="scenario" if args.scenario_duty else "log",
                          workers=args.workers, dask=args.dask, progress=not args.quiet)
    except BacktestError as exc:
        raise UsageError(f"{args.scenario}: {exc}") from None
    written = result.write(out)
    print(f"backtest of {args.scenario} against {log.source} "
          f"({result.replications} replications)")
    for note in result.notes:
        print(f"note: {note}")
    print()
    print(format_backtest(result))
    if len(log.days) > 1:
        print(f"\n(each day's rates are in {out / 'backtest.csv'})")
    if result.misses:
        print("\nwhere the model misses:")
        for sentence in result.misses:
            print(f"  {sentence}")
    verdict = "agrees with" if result.agrees else "MISSES"
    print(f"\nthe scenario {verdict} the log on the headline rates (whole log)")
    print(f"wrote {', '.join(p.name for p in written)} to {out}/")
    return EXIT_OK if result.agrees else EXIT_CHECK_FAILED
