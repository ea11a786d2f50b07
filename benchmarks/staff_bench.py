"""Benchmark: `supportsim staff` with the whole-horizon search against the partial search.

The old search starts from MOL and simulates every candidate over the whole horizon
(`--start mol --method full`); the new one starts from the iterative staffing algorithm and
simulates a candidate from a snapshot over a few intervals (the defaults). Both end with a
full simulation of their schedule, whose table the row reads. Each run is the real command in
a fresh interpreter; its wall time and its CPU time (the command and its worker processes)
are measured from outside. Runs of the two methods are interleaved (old, new, old, new, ...)
so that a change in the machine's background load hits both alike; the table shows medians
over the runs and the ratio old / new of the medians.

    python benchmarks/staff_bench.py                          # Double 11, both groups, 1 run
    python benchmarks/staff_bench.py --quick                  # normal day, presale team
    python benchmarks/staff_bench.py --runs 3 --workers 2
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = "reply_rate_5min>=0.95"
METHODS = {"old": ["--start", "mol", "--method", "full"], "new": []}


def run_once(scenario: str, groups: list[str], workers: int, extra: list[str]) -> dict:
    """One `supportsim staff` run: wall, CPU, simulations, agent-hours, missed cells."""
    command = [str(Path(sys.executable).parent / "supportsim"), "staff", str(ROOT / scenario),
               "--target",
               TARGET, "--workers", str(workers), "--quiet", *extra]
    for group in groups:
        command += ["--group", group]
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([*command, "--out", out], capture_output=True, text=True,
                              cwd=ROOT, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"staff failed ({done.returncode}): {done.stderr.strip()}")
    text = done.stdout
    row = re.search(r"^simulation search\s+([\d,.]+)\s+([\d,]+)\s+(\d+)", text, re.MULTILINE)
    sims = re.search(r"simulations: (\d+) full \(whole horizon\)(?: and (\d+) partial)?", text)
    cells = re.search(r"counted intervals missing the target \(of (\d+)", text)
    return {
        "wall_s": wall,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "full": int(sims.group(1)), "partial": int(sims.group(2) or 0),
        "agent_hours": float(row.group(1).replace(",", "")), "missed": int(row.group(3)),
        "cells": int(cells.group(1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="normal day, presale team")
    parser.add_argument("--runs", type=int, default=1, help="runs per method (default 1)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=tuple(METHODS), help="run one method only")
    args = parser.parse_args()
    scenario, groups = (("scenarios/normal_day.yaml", ["presale_team"]) if args.quick
                        else ("scenarios/double11.yaml", []))
    methods = [args.only] if args.only else list(METHODS)
    results: dict[str, list[dict]] = {m: [] for m in methods}
    for run in range(args.runs):
        for method in methods:
            print(f"run {run + 1}/{args.runs}: {method} ...", file=sys.stderr, flush=True)
            results[method].append(run_once(scenario, groups, args.workers, METHODS[method]))
    print(f"staff {scenario} --target \"{TARGET}\" {' '.join('--group ' + g for g in groups)}"
          f" --workers {args.workers}: medians of {args.runs} run(s) per method, "
          f"{os.cpu_count()} cores")
    keys = ("wall_s", "cpu_s", "full", "partial", "agent_hours", "missed")
    print(f"{'method':<6} {'wall s':>8} {'CPU s':>8} {'full sims':>10} {'partial sims':>13} "
          f"{'agent-hours':>12} {'missed (of counted)':>20}")
    medians = {}
    for method in methods:
        medians[method] = {k: statistics.median(r[k] for r in results[method]) for k in keys}
        m = medians[method]
        print(f"{method:<6} {m['wall_s']:>8.1f} {m['cpu_s']:>8.1f} {m['full']:>10.0f} "
              f"{m['partial']:>13.0f} {m['agent_hours']:>12.1f} "
              f"{m['missed']:>11.0f} (of {results[method][0]['cells']})")
    if len(methods) == 2:
        old, new = medians["old"], medians["new"]
        print(f"old / new: wall {old['wall_s'] / new['wall_s']:.1f}x, "
              f"CPU {old['cpu_s'] / new['cpu_s']:.1f}x; agent-hours new - old "
              f"{new['agent_hours'] - old['agent_hours']:+.1f}")


if __name__ == "__main__":
    main()
