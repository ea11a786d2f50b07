"""Two source trees' engines loaded in one process and run alternately: an A/B of the engine
that a busy machine disturbs less than `ab.py`'s separate processes.

    git worktree add --detach /tmp/base b430ccf
    python benchmarks/ab_inprocess.py /tmp/base --case mmc --rounds 12
    python benchmarks/ab_inprocess.py /tmp/base --case day --scale 0.25 --rounds 10

Each tree's `sim` package is imported under its own modules (the first tree's are set aside
before the second is imported), the customers of replication 0 are drawn once per tree, and
the rounds alternate which tree runs first. Both trees meet the same load at nearly the same
moments, so the ratio of the fastest runs (and the median of per-round ratios) is steadier
than timings taken minutes apart. Works with the old single-module engine (`sim/engine.py`,
commit b430ccf) and with the package (`sim/engine/`). CPU seconds of `DeskRun.run` only.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def load(root: Path, case: str, scale: float):
    """`DeskRun`, the scenario and its customers, from the tree at `root`."""
    for name in [k for k in sys.modules
                 if k == "sim" or k.startswith("sim.") or k in ("baselines", "run")]:
        del sys.modules[name]
    sys.path[:0] = [str(root), str(root / "benchmarks")]
    try:
        import baselines
        import run as bench

        from sim import engine
        from sim.arrivals import sample_customers, streams
        try:
            from sim.scenario import rate_table
        except ImportError:  # the layout of b430ccf
            from sim.arrivals import rate_table
        if case == "mmc":
            mmc = baselines.MMc(customers=int(200_000 * scale))
            scenario, seed = baselines.mmc_scenario(mmc), mmc.seed
        else:
            scenario = bench.scaled_scenario(scale)
            seed = scenario.seed
        customers = sample_customers(scenario, streams(seed, 0), rate_table(scenario))
        return engine.DeskRun, scenario, customers
    finally:
        del sys.path[:2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the other source tree (the baseline)")
    parser.add_argument("--case", choices=["mmc", "day"], default="mmc")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="M/M/c: share of 200,000 customers; day: volume factor")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    runners = [load(args.base.resolve(), args.case, args.scale),
               load(HERE, args.case, args.scale)]
    times: list[list[float]] = [[], []]
    counts = []
    for r in range(args.rounds):
        for j in (0, 1) if r % 2 == 0 else (1, 0):
            desk_run, scenario, customers = runners[j]
            gc.collect()
            run = desk_run(scenario, customers)
            start = time.process_time()
            records = run.run()
            times[j].append(time.process_time() - start)
            if r == 0:
                counts.append(records.counts())
    if counts[0] != counts[1]:
        print(f"warning: the trees' outcomes differ: {counts}")
    base, this = times
    ratios = [t / b for b, t in zip(base, this)]
    print(f"{args.case} x{args.scale:g}, {args.rounds} rounds: base min {min(base):.3f} s, "
          f"median {statistics.median(base):.3f} s | this min {min(this):.3f} s, median "
          f"{statistics.median(this):.3f} s | this/base: ratio of minima "
          f"{min(this) / min(base):.3f}, median of per-round ratios "
          f"{statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
