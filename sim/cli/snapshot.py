"""`supportsim snapshot`: the desk of a simulated day at one moment, written as a state file."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import EXIT_OK, add_allow_large, non_negative_int, output_file
from sim.engine import limits
from sim.output.files import atomic_write_text
from sim.output.tables import text_table
from sim.scenario import load_scenario
from sim.tools.whatif import desk_summary, snapshot_at

HELP = "write the desk of a simulated day at one moment as a state file (docs/snapshots.md)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    parser.add_argument("--at", required=True, metavar="TIME",
                        help="the moment, e.g. '2026-11-11 00:10' (or seconds since day-0 "
                             "midnight)")
    parser.add_argument("-o", "--out", type=output_file, default="state.yaml",
                        help="state file to write (default state.yaml; a .json name writes "
                             "JSON)")
    parser.add_argument("--replication", type=non_negative_int, default=0,
                        help="which replication's day (default 0)")
    parser.add_argument("--seed", type=non_negative_int, help="override the scenario's seed")
    parser.add_argument("--variant", default="baseline",
                        help="the variant whose day it is (default baseline)")
    add_allow_large(parser)


def main(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    at: float | str = args.at
    try:
        at = float(args.at)
    except ValueError:
        pass
    limits.check(scenario, runs=1, allow_large=args.allow_large, source=str(args.scenario))
    state = snapshot_at(scenario, at, args.replication, args.seed, args.variant,
                        str(args.scenario))
    atomic_write_text(args.out, state.dumps(json_format=args.out.suffix.lower() == ".json"))
    print(f"desk of {scenario.name} at {state.time_label} (replication {args.replication}, "
          f"variant {args.variant})")
    print(text_table([["the desk", ""], *[list(row) for row in desk_summary(state)]]))
    print(f"\nwrote {args.out}")
    return EXIT_OK
