"""`supportsim roster`: shifts and breaks covering a requirement, checked by simulation.

Two forms:

    supportsim roster --requirements REQ.csv --rules RULES.yaml
    supportsim roster SCENARIO --target EXPR --rules RULES.yaml [--requirements REQ.csv]

The first solves the integer program only. The second finds the requirement by the staffing
search (or takes REQ.csv, e.g. a `supportsim staff` staffing.csv of the same scenario),
solves the program and simulates the roster, raising the requirement where the target fails.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.analysis.targets import TargetError
from sim.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    UsageError,
    add_executor_arguments,
    add_quiet,
    command_line,
    non_negative_int,
    only_with,
    output_folder,
    output_folder_or,
    positive_float,
    positive_int,
)
from sim.scenario import ScenarioError, load_document, scenario_from_dict
from sim.tools.roster import TIME_LIMIT_S, read_requirements, solve_roster
from sim.tools.roster_plan import (
    MAX_ROUNDS,
    format_plan,
    format_roster,
    plan_roster,
    write_plan_outputs,
    write_roster_files,
)
from sim.tools.roster_rules import read_rules
from sim.tools.staffing import PARTIAL_PASSES, StaffingError, parse_target

HELP = "turn a headcount per interval into shifts with breaks, checked by simulation"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, nargs="?",
                        help="scenario YAML file (with --target: check the roster by simulation)")
    parser.add_argument("--rules", type=Path, required=True, metavar="RULES.yaml",
                        help="shift rules: lengths, starts, breaks, seats, costs per group")
    parser.add_argument("--requirements", type=Path, metavar="REQ.csv",
                        help="agents required per group and interval (staffing.csv of "
                             "`supportsim staff`, or columns group,clock,required)")
    parser.add_argument("--target", metavar="EXPR",
                        help="with SCENARIO: e.g. 'reply_rate_5min>=0.95'")
    parser.add_argument("--out", type=output_folder,
                        help="output folder (default out/<scenario name>/roster/, or "
                             "out/roster/ without a scenario)")
    parser.add_argument("--replications", type=positive_int, metavar="R",
                        help="replications of the search and the check (default: the "
                             "scenario's)")
    parser.add_argument("--seed", type=non_negative_int, help="override the scenario's seed")
    parser.add_argument("--all-day", action="store_true",
                        help="count every interval, not only the metric's counted hours")
    parser.add_argument("--max-rounds", type=positive_int, default=MAX_ROUNDS, metavar="N",
                        help=f"most rounds of program + simulation (default {MAX_ROUNDS})")
    parser.add_argument("--max-passes", type=positive_int, metavar="N",
                        help="staffing search passes (default as for `supportsim staff`: "
                             f"{PARTIAL_PASSES})")
    parser.add_argument("--max-agents", type=positive_int, metavar="N",
                        help="staffing search: give up beyond this many agents in an interval "
                             "(default 4 x the largest MOL estimate + 20, at least 50)")
    parser.add_argument("--time-limit", type=positive_float, default=TIME_LIMIT_S,
                        metavar="SECONDS",
                        help=f"time limit of one integer program (default {TIME_LIMIT_S:g})")
    add_executor_arguments(parser)
    add_quiet(parser)


def main(args: argparse.Namespace) -> int:
    if args.scenario is None:
        if args.target is not None:
            raise UsageError("--target needs a SCENARIO to simulate the roster in")
        if args.requirements is None:
            raise UsageError("give --requirements REQ.csv, or a SCENARIO with --target")
        given = [flag for flag, value in (("--replications", args.replications),
                                          ("--seed", args.seed),
                                          ("--all-day", args.all_day or None))
                 if value is not None]
        if given:
            raise UsageError(only_with(given, "a SCENARIO and --target"))
        return _requirements_only(args)
    if args.target is None:
        raise UsageError(f"{args.scenario}: give --target EXPR to check the roster by "
                         "simulation (or drop the scenario and give --requirements alone)")
    return _checked(args)


def _requirements_only(args: argparse.Namespace) -> int:
    requirement = read_requirements(args.requirements)
    rules = read_rules(args.rules)
    roster = solve_roster(requirement, rules, source=str(args.rules),
                          time_limit_s=args.time_limit)
    out_dir = output_folder_or(args.out, Path("out") / "roster")
    command = command_line("roster", [], [("--requirements", args.requirements, None),
                                          ("--rules", args.rules, None),
                                          ("--time-limit", args.time_limit, TIME_LIMIT_S)])
    header = (f"# Shifts found by `{command}` (not simulated).\n"
              "# Paste each group's `schedule:` into a scenario.\n")
    written = write_roster_files(roster, out_dir, header)
    print(format_roster(roster))
    print(f"\ncost {roster.cost():,.0f}, {roster.shift_count()} shifts, "
          f"{roster.duty_hours():,.1f} hours on duty; integer program {roster.solve_s:.2f} s")
    if any(rules.groups[g].shrinkage for g in rules.groups):
        print("note: shrinkage applies when a roster is simulated (give a SCENARIO and "
              "--target)")
    print(f"\nwrote {', '.join(p.name for p in written)} to {out_dir}/")
    return EXIT_OK


def _command(args: argparse.Namespace) -> str:
    """The command line that finds this roster again: files as they were given (the scenario
    and the rules may be in different folders), and the options that change the result when
    they were given."""
    return command_line("roster", [args.scenario], [
        ("--target", args.target, None), ("--rules", args.rules, None),
        ("--requirements", args.requirements, None), ("--replications", args.replications, None),
        ("--seed", args.seed, None), ("--all-day", args.all_day, False),
        ("--max-rounds", args.max_rounds, MAX_ROUNDS), ("--max-passes", args.max_passes, None),
        ("--max-agents", args.max_agents, None), ("--time-limit", args.time_limit, TIME_LIMIT_S)])


def _checked(args: argparse.Namespace) -> int:
    target = parse_target(args.target)
    rules = read_rules(args.rules)
    document, path = load_document(args.scenario)
    scenario = scenario_from_dict(document, source=str(path), base_dir=path.parent)
    requirement = read_requirements(args.requirements) if args.requirements else None
    out_dir = output_folder_or(args.out, Path("out") / scenario.name / "roster")
    try:
        plan = plan_roster(scenario, target, rules, requirement=requirement,
                           replications=args.replications, seed=args.seed,
                           all_day=args.all_day, workers=args.workers, dask=args.dask,
                           max_rounds=args.max_rounds, max_passes=args.max_passes,
                           max_agents=args.max_agents, time_limit_s=args.time_limit,
                           source=str(args.rules), progress=not args.quiet)
    except (TargetError, StaffingError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    try:
        written = write_plan_outputs(plan, document, path, out_dir, command=_command(args))
    except ScenarioError as exc:
        raise UsageError(f"cannot write a runnable rostered scenario: {exc}") from None
    print(plan.met_text())
    print(format_plan(plan))
    print(f"\nwrote {', '.join(p.name for p in written)} to {out_dir}/")
    return EXIT_OK if plan.met else EXIT_CHECK_FAILED
