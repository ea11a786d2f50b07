"""How much room the staffing search leaves: one agent off one cell at a time, on full runs.

`supportsim staff` ends with a schedule that meets the target in every counted cell on the
full simulation of its replications. This diagnostic runs the same search in this process
(`sim.tools.staffing.find_staffing`, the defaults), then tries to take one agent off one
counted cell at a time, the cells with the most room above the target first (the pooled
estimate minus the target), each trial a whole-horizon simulation of the same replications
under the same common random numbers. A trial is kept only when every counted cell still meets
the target; a cell is tried once. The table says how many trials were kept and what they saved.

If most trials were kept, the search would be stopping short of a cheaper schedule; if few
are, the schedule is close to the least one can reach by such moves (each kept trial saves one
agent for one interval).

    python benchmarks/staff_trim.py                 # Double 11, both groups, 40 trials
    python benchmarks/staff_trim.py --trials 100 --workers 2
    python benchmarks/staff_trim.py --quick         # normal day, presale team, 20 trials
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from sim.scenario import load_scenario
from sim.tools import staffing

ROOT = Path(__file__).resolve().parent.parent

TARGET = "reply_rate_5min>=0.95"


def trim(result: staffing.StaffingResult, trials: int, workers: int) -> dict:
    """Single-cell trials from `result`'s schedule (see the module docstring)."""
    scenario, target, groups = result.scenario, result.target, result.groups
    context = staffing._Context(scenario, target, groups,
                                {g: staffing.group_topics(scenario, g) for g in groups},
                                result.edges_s, result.seed)
    counted = result.counted
    current = {g: result.headcount[g].copy() for g in groups}
    kept, tried, seconds = [], set(), time.perf_counter()
    with staffing.Evaluator(context, result.replications, workers) as evaluate:
        state = evaluate(current)
        for _ in range(trials):
            schedule = np.array([current[g] for g in groups])
            room = np.where(counted & state.holds(target) & (schedule > 0),
                            state.estimate() - target.value, -np.inf)
            for cell in tried:
                room[cell] = -np.inf
            k, i = np.unravel_index(int(np.argmax(room)), room.shape)
            if not np.isfinite(room[k, i]):
                break
            tried.add((k, i))
            trial = {g: current[g].copy() for g in groups}
            trial[groups[k]][i] -= 1
            after = evaluate(trial)
            clock = staffing.clock_key(result.edges_s[i], scenario.horizon.day0)
            keep = not (counted & ~after.holds(target)).any()
            if keep:
                current, state = trial, after
                kept.append((groups[k], clock))
            print(f"trial {len(tried)}: {groups[k]} at {clock}, room {room[k, i]:.3f}: "
                  f"{'kept' if keep else 'a counted cell misses'}", file=sys.stderr, flush=True)
    return {"tried": len(tried), "kept": kept, "seconds": time.perf_counter() - seconds,
            "hours": sum(result.agent_hours(current).values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="normal day, presale team")
    parser.add_argument("--trials", type=int, help="cells tried (default 40, quick 20)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    path, groups = (("scenarios/normal_day.yaml", ["presale_team"]) if args.quick
                    else ("scenarios/double11.yaml", None))
    trials = args.trials or (20 if args.quick else 40)
    scenario = load_scenario(ROOT / path)
    print(f"staff search on {path} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    result = staffing.find_staffing(scenario, TARGET, groups, workers=args.workers)
    search_s = time.perf_counter() - start
    hours = sum(result.agent_hours(result.headcount).values())
    done = trim(result, trials, args.workers)
    print(f"staff {path} --target \"{TARGET}\" --workers {args.workers}, {result.replications} "
          "replications")
    print(f"search: {search_s:.1f} s wall, {hours:.2f} agent-hours, "
          f"{result.missed(result.evaluation)} counted cells missing (of "
          f"{int(result.counted.sum())})")
    print(f"single-cell trials: {done['tried']} tried, {len(done['kept'])} kept, "
          f"{done['seconds']:.1f} s wall; agent-hours {hours:.2f} -> {done['hours']:.2f}")
    for group, clock in done["kept"]:
        print(f"  kept: one agent off {group} at {clock}")


if __name__ == "__main__":
    main()
