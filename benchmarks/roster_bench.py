"""Benchmark: `supportsim roster` on the Double-11 scenario, the integer program and the checks.

Rows, each against a baseline measured in the same run:

- the integer program alone (patterns built, then solved for both groups) on the Double-11
  requirement with the realistic rule set of scenarios/rules/double11.yaml (shift lengths
  4h to 10h on the half hour, starts every half hour, one 1-hour break 3h to 5h into shifts
  of 6h or more), with break starts on the half hour (as in the file) and on the
  quarter-hour grid; baseline: the LP relaxation of the same program (HiGHS on the same
  matrices, integrality dropped). Target: under 10 s.
- the roster's own part of the command: the program and the simulation checks of every
  round (`plan_roster` with the requirement given, the file's 5% shrinkage), on R
  replications; baseline: one simulation of the whole horizon per replication (what a
  `supportsim run` of the scenario costs). Target: under 5 minutes.
- with `--search`, the whole command, staffing search included (`plan_roster` without a
  requirement; the search takes most of it).

The requirement is a `supportsim staff` staffing.csv of double11.yaml given with
`--requirements` (so the search need not run again), or else the MOL (Erlang C) estimate per
interval, which has the same grid and shape but is not the simulated requirement.

    python benchmarks/roster_bench.py --requirements out/double11/staffing/staffing.csv
    python benchmarks/roster_bench.py --quick            # MOL requirement, 1 repeat
    python benchmarks/roster_bench.py --search           # also the whole command (slow)

Times are wall seconds on this machine with its current load (printed in the header); the
program rows give the median of `--repeats` runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.engine import simulate
from sim.scenario import load_scenario, rate_table
from sim.scenario.yaml_file import read_yaml
from sim.tools.roster import RosterProgram, read_requirements, requirement_from_headcounts
from sim.tools.roster_plan import plan_roster
from sim.tools.roster_rules import rules_from_dict
from sim.tools.staffing import analytic_staffing, parse_target

SCENARIO = ROOT / "scenarios" / "double11.yaml"
RULES = ROOT / "scenarios" / "rules" / "double11.yaml"
TARGET = "reply_rate_5min>=0.95"
GROUPS = ("presale_team", "aftersale_team")


def realistic_rules(break_every: str | None = None) -> dict:
    """scenarios/rules/double11.yaml: shift lengths 4h-10h on the half hour, any half-hour
    start, one 1h break 3h-5h into shifts of 6h or more, 5% shrinkage; `break_every` moves
    the break starts to another grid."""
    document = read_yaml(RULES)
    if break_every is not None:
        for group in document["groups"].values():
            for kind in group["shifts"]:
                kind["breaks"] = [dict(b, every=break_every) for b in kind["breaks"]]
    return document


def requirement_for(scenario, path: Path | None):
    if path is not None:
        return read_requirements(path), f"staffing.csv {path}"
    target = parse_target(TARGET)
    edges = rate_table(scenario).edges_s
    headcounts = {g: analytic_staffing(scenario, g, target, "mol") for g in GROUPS}
    return (requirement_from_headcounts(headcounts, edges, scenario.horizon.day0),
            "MOL (Erlang C) estimate per interval")


def time_program(scenario, requirement, rules, repeats: int) -> dict:
    costs = {g: scenario.groups[g].hourly_cost for g in GROUPS}
    program_s, lp_s, result = [], [], None
    for _ in range(repeats):
        began = time.perf_counter()
        program = RosterProgram(requirement, rules, costs, "bench rules")
        result = program.solve()
        program_s.append(time.perf_counter() - began)
        began = time.perf_counter()
        bound = program.relaxation_cost()
        lp_s.append(time.perf_counter() - began)
    patterns = sum(len(p.patterns) for p in program.groups.values())
    return {"seconds": statistics.median(program_s), "lp": statistics.median(lp_s),
            "patterns": patterns, "cost": result.cost(), "bound": bound,
            "shifts": result.shift_count(),
            "status": ", ".join(sorted({r.status for r in result.groups.values()}))}


def time_replications(scenario, replications: int) -> float:
    began = time.perf_counter()
    for r in range(replications):
        simulate(scenario, r)
    return time.perf_counter() - began


def row(what: str, value: str, baseline: str, ratio: str, target: str, result: str) -> list:
    return [what, value, baseline, ratio, target, result]


def render(rows: list[list[str]]) -> str:
    header = ["what", "value", "baseline", "ratio", "target", "result"]
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, help="a staffing.csv of double11.yaml")
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat, no search")
    parser.add_argument("--search", action="store_true",
                        help="also time the whole command with the staffing search")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    scenario = load_scenario(SCENARIO)
    requirement, source = requirement_for(scenario, args.requirements)
    print(f"# roster benchmark: {SCENARIO.name}, {TARGET}; requirement: {source}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    rows = []
    for every in ("30min", "15min"):
        timing = time_program(scenario, requirement, rules_from_dict(realistic_rules(every)),
                              repeats)
        rows.append(row(f"integer program, breaks every {every} ({timing['patterns']} "
                        f"patterns; {timing['shifts']} shifts, cost {timing['cost']:,.0f}, LP bound "
                        f"{timing['bound']:,.0f}, "
                        f"{timing['status']}; median of {repeats})",
                        f"{timing['seconds']:.2f} s", f"LP relaxation {timing['lp']:.2f} s",
                        f"{timing['seconds'] / timing['lp']:.1f}x", "< 10 s",
                        "PASS" if timing["seconds"] < 10 else "MISS"))
        print(render(rows[-1:]), file=sys.stderr, flush=True)
    rules = rules_from_dict(realistic_rules())
    one_run = time_replications(scenario, args.replications)
    began = time.perf_counter()
    plan = plan_roster(scenario, TARGET, rules, requirement=requirement,
                       replications=args.replications, workers=args.workers)
    checked = time.perf_counter() - began
    rows.append(row(f"roster without the search: program + checks, {len(plan.rounds)} "
                    f"round(s), {plan.runs} simulation runs on {args.workers} workers, "
                    f"target {'met' if plan.met else 'NOT met'} (program "
                    f"{plan.program_s:.1f} s, simulations {plan.simulation_s:.1f} s)",
                    f"{checked:.1f} s", f"{args.replications} replications {one_run:.1f} s",
                    f"{checked / one_run:.1f}x", "< 300 s",
                    "PASS" if checked < 300 else "MISS"))
    if args.search and not args.quick:
        began = time.perf_counter()
        whole = plan_roster(scenario, TARGET, rules, replications=args.replications,
                            workers=args.workers)
        total = time.perf_counter() - began
        rows.append(row(f"whole command with the staffing search ({whole.staffing_s:.0f} s "
                        f"of it), {len(whole.rounds)} round(s), target "
                        f"{'met' if whole.met else 'NOT met'}", f"{total:.0f} s",
                        f"{args.replications} replications {one_run:.1f} s",
                        f"{total / one_run:.0f}x", "< 300 s",
                        "PASS" if total < 300 else "MISS"))
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
