"""`supportsim validate`: the engine against Erlang C / Erlang A, PASS or FAIL per check."""

from __future__ import annotations

import argparse

from sim.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    add_executor_arguments,
    add_quiet,
    at_least_two,
    non_negative_int,
    output_folder,
    positive_float,
)
from sim.tools.validation import DEFAULT_SEED, format_table, run_grid, write_outputs

HELP = "check the engine against Erlang C / Erlang A"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="a handful of cases (seconds) instead of the full grid (minutes)")
    parser.add_argument("--out", type=output_folder, default="out/validation",
                        help="output folder (default out/validation/)")
    parser.add_argument("--replications", type=at_least_two, metavar="R",
                        help="replications per case (default: per case)")
    parser.add_argument("--seed", type=non_negative_int, default=DEFAULT_SEED,
                        help="random seed")
    parser.add_argument("--service-time-factor", type=positive_float, default=1.0, metavar="F",
                        help="multiply the simulated service time, theory unchanged: a "
                             "deliberate mis-configuration to see the checks fail")
    add_executor_arguments(parser)
    add_quiet(parser)


def main(args: argparse.Namespace) -> int:
    table = run_grid(quick=args.quick, seed=args.seed, replications=args.replications,
                     workers=args.workers, dask=args.dask,
                     service_time_factor=args.service_time_factor, progress=not args.quiet)
    written = write_outputs(table, args.out)
    print(format_table(table))
    print(f"\nwrote {', '.join(p.name for p in written)} to {args.out}/")
    if (table["censored"] > 0).any():
        print("note: some counted buyers were still waiting at the end (censored waits)")
    return EXIT_OK if (table["status"] == "PASS").all() else EXIT_CHECK_FAILED
