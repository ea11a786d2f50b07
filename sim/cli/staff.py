"""`supportsim staff`: the least headcount per interval that meets a target, by simulation."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.analysis.targets import TargetError, scenario_targets
from sim.cli.common import (
    EXIT_OK,
    UsageError,
    add_executor_arguments,
    add_no_warnings,
    add_quiet,
    command_line,
    non_negative_int,
    only_with,
    output_folder,
    output_folder_or,
    positive_int,
    print_scenario_warnings,
)
from sim.scenario import ScenarioError, load_document, scenario_from_dict
from sim.tools.staffing import (
    StaffingError,
    find_staffing,
    format_report,
    parse_target,
    write_outputs,
)

HELP = "find the minimal headcount per interval for a target"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    parser.add_argument("--target", required=True, metavar="EXPR",
                        help="e.g. 'reply_rate_5min>=0.95', 'first_response_30s_rate>=0.8', "
                             "'abandon_rate<=0.05', 'first_response_mean_s<=20'")
    parser.add_argument("--group", action="append", dest="groups", metavar="G",
                        help="staff this group (repeatable; default: every scheduled group)")
    parser.add_argument("--out", type=output_folder,
                        help="output folder (default out/<scenario name>/staffing/)")
    parser.add_argument("--replications", type=positive_int, metavar="R",
                        help="replications per candidate (default: the scenario's)")
    parser.add_argument("--seed", type=non_negative_int, help="override the scenario's seed")
    parser.add_argument("--all-day", action="store_true",
                        help="count every interval, not only the metric's counted hours")
    parser.add_argument("--max-passes", type=positive_int, metavar="N",
                        help="search passes (default 1 with partial simulations, which end "
                             "with whole-horizon rounds, 4 with --method full)")
    parser.add_argument("--max-agents", type=positive_int, metavar="N",
                        help="give up when an interval needs more agents than this "
                             "(default 4 x the largest MOL estimate + 20, at least 50)")
    parser.add_argument("--start", choices=("isa", "mol"), default="isa",
                        help="starting schedule: the iterative staffing algorithm (default) or "
                             "the MOL Erlang C estimate")
    parser.add_argument("--method", choices=("partial", "full"), default="partial",
                        help="simulate a candidate from a snapshot over a few intervals "
                             "(default) or over the whole horizon; the result is always "
                             "checked by a full simulation")
    parser.add_argument("--lookahead", type=positive_int, metavar="N",
                        help="intervals a partial simulation runs past the changed one "
                             "(default: half an hour's worth)")
    add_no_warnings(parser)
    add_executor_arguments(parser)
    add_quiet(parser)


def _command(args: argparse.Namespace) -> str:
    """The command line that finds this staffing again: the scenario as it was given, and the
    options that change the result when they were given."""
    return command_line("staff", [args.scenario], [
        ("--target", args.target, None), ("--group", args.groups, None),
        ("--replications", args.replications, None), ("--seed", args.seed, None),
        ("--all-day", args.all_day, False), ("--max-passes", args.max_passes, None),
        ("--max-agents", args.max_agents, None), ("--start", args.start, "isa"),
        ("--method", args.method, "partial"), ("--lookahead", args.lookahead, None)])


def main(args: argparse.Namespace) -> int:
    if args.lookahead is not None and args.method == "full":
        raise UsageError(only_with(["--lookahead"], "--method partial (the default): "
                                   "whole-horizon candidates run to the end"))
    target = parse_target(args.target)
    document, path = load_document(args.scenario)
    scenario = scenario_from_dict(document, source=str(path), base_dir=path.parent)
    scenario_targets(scenario, str(path))  # a broken file is refused even if staff ignores them
    print_scenario_warnings(scenario, str(path), args)
    out_dir = output_folder_or(args.out, Path("out") / scenario.name / "staffing")
    try:
        result = find_staffing(scenario, target, args.groups, replications=args.replications,
                               seed=args.seed, all_day=args.all_day,
                               workers=args.workers, dask=args.dask,
                               max_passes=args.max_passes, max_agents=args.max_agents,
                               progress=not args.quiet, start=args.start, method=args.method,
                               lookahead=args.lookahead)
    except (TargetError, StaffingError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    try:
        written = write_outputs(result, document, path, out_dir, command=_command(args))
    except ScenarioError as exc:  # the written scenario must load; say so plainly if not
        raise UsageError(f"cannot write a runnable staffed scenario: {exc}") from None
    print(format_report(result))
    print(f"\nwrote {', '.join(p.name for p in written)} to {out_dir}/")
    return EXIT_OK
