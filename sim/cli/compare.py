"""`supportsim compare`: run a scenario like `run`, leading with the paired comparison."""

from __future__ import annotations

import argparse

from sim.analysis.registry import key_metrics
from sim.cli import run as run_command
from sim.output.tables import format_comparison

HELP = "compare a scenario's variants against a baseline"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    run_command.add_arguments(parser)
    parser.add_argument("--all-metrics", action="store_true",
                        help="print every metric, not only the key ones (the CSV has them all)")


def main(args: argparse.Namespace) -> int:
    output = run_command.execute(args, need_variants=True)
    run_command.print_headline(output)
    print()
    preset = output.results.scenario.metrics.preset
    targeted = [t.metric for t in output.results.targets]
    shown = None if args.all_metrics else list(dict.fromkeys(targeted + key_metrics(preset)))
    print(format_comparison(output.comparison, shown))
    run_command.print_footer(output)
    return run_command.target_exit(output, args)
