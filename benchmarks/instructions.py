"""Instructions per customer of two source trees' engines, counted by Valgrind: an A/B that a
busy machine does not disturb.

    git worktree add --detach /tmp/base <commit>
    python benchmarks/instructions.py /tmp/base                 # M/M/c and the day
    python benchmarks/instructions.py /tmp/base --case mmc
    python benchmarks/instructions.py /tmp/base --case mmc --ciw     # and Ciw's count

Timings on a shared machine move by 10-30% from run to run (`ab.py` and `ab_inprocess.py`
take medians and minima against that); a change worth 1-3% drowns in it. Valgrind's
cachegrind counts the instructions the interpreter executes instead, which do not depend on
the load. Each count is one fresh interpreter under `valgrind --tool=cachegrind
--cache-sim=no` simulating a small and a larger case; the difference of the two, divided by
the difference in customers (or messages), leaves imports and set-up out. Runs are made
repeatable by a fixed hash seed (`PYTHONHASHSEED=0`), no address randomisation (`setarch -R`),
single-threaded numerical libraries (a BLAS thread spinning would count too) and no bytecode
written (`PYTHONDONTWRITEBYTECODE=1`: otherwise the first run of a fresh tree compiles its
sources and the second does not, which would read as a few thousand instructions per
customer): the same tree counted twice agrees to about 0.01%.

Instructions are not time (a cache miss costs no instruction), so this says which of two
trees does less work, not by how many seconds; confirm a real gain with `ab.py`. Needs
`valgrind` and `setarch` (util-linux) on the PATH; a run takes one to two minutes per tree and
case (under Valgrind the interpreter is about 50 times slower).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

#: (small, large) sizes per case: customers of the M/M/c case, per-mille volume of the day.
SIZES = {"mmc": (5_000, 25_000), "day": (30, 90), "ciw": (5_000, 25_000)}

CHILD = r"""
import json, sys
root, case, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, root)
sys.path.insert(0, root + "/benchmarks")
import baselines
if case == "ciw":
    import ciw
    mmc = baselines.MMc(customers=size)
    ciw.seed(mmc.seed)
    simulation = baselines.ciw_simulation(mmc)
    print(json.dumps({"customers": int(simulation.nodes[0].number_of_individuals)}))
    sys.exit(0)
try:
    from sim.engine import simulate
except ImportError:
    from sim import simulate
if case == "mmc":
    mmc = baselines.MMc(customers=size)
    scenario, seed = baselines.mmc_scenario(mmc), mmc.seed
else:
    import run as bench
    from sim.scenario import scenario_from_dict
    document = bench.scaled_document(size / 1000)
    scenario = scenario_from_dict(document, source=str(bench.LARGE_SHOP),
                                  base_dir=bench.LARGE_SHOP.parent)
    seed = scenario.seed
records = simulate(scenario, 0, seed)
print(json.dumps({"customers": int(len(records.arrival_s)),
                  "messages": int(records.n_messages.sum())}))
"""

REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def count(root: Path, case: str, size: int) -> tuple[int, dict]:
    """Instructions of one fresh interpreter simulating `case` at `size`, and what it ran."""
    import json

    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = ["setarch", os.uname().machine, "-R", "valgrind", "--tool=cachegrind",
               "--cache-sim=no", "--cachegrind-out-file=/dev/null",
               sys.executable, "-c", CHILD, str(root), case, str(size)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{root} {case} {size} failed:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", "")), json.loads(done.stdout.strip().splitlines()[-1])


def per_unit(root: Path, case: str) -> tuple[float, str]:
    """Instructions per customer (M/M/c) or per message (the day) between the two sizes."""
    small, large = SIZES[case]
    (a, ran_a), (b, ran_b) = (count(root, case, small), count(root, case, large))
    unit = "messages" if case == "day" else "customers"
    return (b - a) / (ran_b[unit] - ran_a[unit]), unit[:-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the other source tree (the baseline)")
    parser.add_argument("--case", action="append", choices=("day", "mmc"),
                        help="mmc (per customer) or day (per message); default both")
    parser.add_argument("--ciw", action="store_true",
                        help="also count Ciw's own M/M/c (the benchmark's reference) and "
                             "print how many times this tree's instructions per customer it "
                             "takes: the `vs Ciw` ratio of benchmarks/run.py, in instructions")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("valgrind", "setarch") if shutil.which(tool) is None]
    if missing:
        print(f"error: {' and '.join(missing)} not found on the PATH", file=sys.stderr)
        return 2
    if not (args.base / "sim").is_dir():
        print(f"error: {args.base}: no sim/ package there (a checkout of the project?)",
              file=sys.stderr)
        return 2
    cases = sorted(set(args.case or ("day", "mmc")))
    if args.ciw and "mmc" not in cases:
        cases.append("mmc")
    trees = {"base": args.base.resolve(), "this": HERE}
    if trees["base"] == trees["this"]:
        print("note: the baseline is this tree; the ratio will be 1", file=sys.stderr)
    # Two counts at once: one per core, and counts do not depend on the load.
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {(case, name): pool.submit(per_unit, root, case)
                   for case in cases for name, root in trees.items()}
        if args.ciw:
            futures[("ciw", "this")] = pool.submit(per_unit, HERE, "ciw")
        try:
            results = {key: future.result() for key, future in futures.items()}
        except RuntimeError as exc:
            for future in futures.values():
                future.cancel()
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(f"base {trees['base']}  this {trees['this']}")
    print(f"{'case':6} {'unit':9} {'base':>12} {'this':>12} {'this/base':>10}")
    for case in cases:
        base, unit = results[(case, "base")]
        this, _ = results[(case, "this")]
        print(f"{case:6} {unit:9} {base:12,.0f} {this:12,.0f} {this / base:10.4f}")
    if args.ciw:
        ciw_count, _ = results[("ciw", "this")]
        for name in ("base", "this"):
            mine, _ = results[("mmc", name)]
            print(f"Ciw's M/M/c: {ciw_count:,.0f} instructions per customer, "
                  f"{ciw_count / mine:.2f}x {name}'s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
