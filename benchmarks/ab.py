"""Side-by-side engine timing of two source trees: this one and another checkout (a worktree of
the commit a change started from), so a change's cost is a ratio measured in the same minutes.

    git worktree add /tmp/base <commit>
    python benchmarks/ab.py /tmp/base              # M/M/c and the large-shop day, 5 rounds

Each round runs one child process per tree, alternating which goes first; each child times
`simulate` (and, with --metrics, the metrics of the same run) on one core. The table gives the
median over rounds of each tree's CPU seconds and the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, sys, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
try:
    os.sched_setaffinity(0, {{{core}}})
except (AttributeError, OSError):
    pass
import sim
simulate = getattr(sim, "simulate", None)
if simulate is None:
    from sim.engine import simulate
import baselines, run as bench
case = {case}
if case == "mmc":
    mmc = baselines.MMc(customers={customers})
    scenario = baselines.mmc_scenario(mmc)
    seed = mmc.seed
else:
    scenario = bench.scaled_scenario(1.0)
    seed = scenario.seed
start = time.process_time()
records = simulate(scenario, 0, seed)
engine = time.process_time() - start
out = {{"engine": engine, "n": int(len(records.arrival_s))}}
if {metrics}:
    try:
        from sim.analysis import metrics
    except ImportError:
        from sim import metrics
    start = time.process_time()
    tables = metrics.Tables.from_records(records)
    metrics.summarize(tables, scenario, dict(zip(records.group_names, map(int, records.activations))))
    metrics.interval_series(tables, scenario)
    out["metrics"] = time.process_time() - start
print(json.dumps(out))
"""


def child(root: Path, case: str, core: int, customers: int, with_metrics: bool) -> dict:
    code = CHILD.format(root=str(root), bench=str(root / "benchmarks"), core=core,
                        case=repr(case), customers=customers, metrics=with_metrics)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=root, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{root}: {case} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the other source tree (the baseline)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--case", action="append", choices=["mmc", "day"],
                        help="default: both")
    parser.add_argument("--customers", type=int, default=200_000, help="M/M/c customers")
    parser.add_argument("--metrics", action="store_true", help="also time the metrics")
    args = parser.parse_args()
    trees = {"base": args.base.resolve(), "this": HERE}
    print(f"base {trees['base']}  this {trees['this']}  rounds {args.rounds}", flush=True)
    print(f"{'case':<6} {'part':<8} {'base s':>8} {'this s':>8} {'this/base':>10}  per-round")
    for case in args.case or ["mmc", "day"]:
        runs: dict[str, list[dict]] = {"base": [], "this": []}
        for r in range(args.rounds):
            order = ["base", "this"] if r % 2 == 0 else ["this", "base"]
            for i, name in enumerate(order):
                runs[name].append(child(trees[name], case, i % 2, args.customers, args.metrics))
        if runs["base"][0]["n"] != runs["this"][0]["n"]:
            print(f"warning: {case}: the trees simulated different numbers of conversations")
        for part in ["engine", "metrics"] if args.metrics else ["engine"]:
            base = [x[part] for x in runs["base"]]
            this = [x[part] for x in runs["this"]]
            ratios = [t / b for t, b in zip(this, base)]
            print(f"{case:<6} {part:<8} {statistics.median(base):8.3f} "
                  f"{statistics.median(this):8.3f} {statistics.median(ratios):10.3f}  "
                  + " ".join(f"{x:.2f}" for x in ratios), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
