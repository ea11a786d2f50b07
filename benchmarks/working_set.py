"""Whose is the large day's premium per message: the engine's, or the machine's memory?

    .venv/bin/python benchmarks/working_set.py               # about 6 minutes
    .venv/bin/python benchmarks/working_set.py --days 2 --rounds 1 --volume 0.25   # a minute

`benchmarks/run.py` (section c) finds that the large-shop day at 4x volume costs more per
message than at 1x. Two things grow with volume: what the engine does per event (a deeper
calendar, larger groups and queues) and how much live state it keeps (conversations, pending
events, agents). This script separates them. Each of the following runs in a fresh process
pinned to one core, and the four alternate for `--rounds` rounds:

- `one`: one day, driven by a `--days`-way loop that also watches `--days - 1` idle calendars;
- `interleaved`: `--days` independent days (replications 0, 1, ...) advanced together in
  simulated time by the same loop: the live state of all of them, while every calendar, group
  and queue stays the size of one day's;
- `1x` and `Nx`: the day and the day at `--days` times the volume through the engine's own loop
  (`DeskRun.run`, as in run.py section c).

`interleaved / one` is the cost of the live state alone, `Nx / 1x` the premium run.py judges;
when the two agree, the premium comes from the amount of live state, not from what the engine
does per event at volume. Ratios are medians of same-round pairs. Only the event loop is timed.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import simpy

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import run as bench  # a sibling file: the scaled large-shop day, pinning, child processes


def drive_together(runs: list, stop: float, idle: int = 0) -> None:
    """Run `runs` (new `DeskRun`s) together to `stop`, always stepping the environment whose
    next event is earliest (`Environment.peek`, `Environment.step`), watching `idle` empty
    environments besides. Each run goes through the same events in the same order as it would
    alone (events due at `stop` stay undone, as `Environment.run(until=stop)` leaves them);
    `DeskRun.finish` reads its records afterwards."""
    for run in runs:
        run.start()
        run.started = True
    envs = [run.env for run in runs] + [simpy.Environment() for _ in range(idle)]
    collecting = gc.isenabled()
    gc.disable()  # as DeskRun.run does
    try:
        while True:
            env = envs[0]
            due = env.peek()
            for other in envs:
                if other.peek() < due:
                    env, due = other, other.peek()
            if due >= stop:
                break
            env.step()
    finally:
        if collecting:
            gc.enable()
        for run in runs:
            run.close_down()


def probe_loop(days: int, real: int, volume: float) -> dict:
    """Child: `real` independent days (replications 0..real-1) and `days - real` idle calendars
    driven by one loop."""
    bench._one_core()
    from sim.arrivals import rate_table, sample_customers, streams
    from sim.engine import DeskRun

    scenario = bench.scaled_scenario(volume)
    table = rate_table(scenario)
    runs = [
        DeskRun(scenario, sample_customers(scenario, streams(scenario.seed, r), table))
        for r in range(real)
    ]
    stop = scenario.horizon.end_s + scenario.horizon.drain
    messages = sum(run.customers.total_messages for run in runs)
    watch = time.process_time()
    drive_together(runs, stop, idle=days - real)
    cpu_s = time.process_time() - watch
    for run in runs:
        run.finish()  # checks conservation: the loop drove every day to its end
    return {"cpu_us_per_message": 1e6 * cpu_s / messages, "messages": messages}


def probe_day(volume: float) -> dict:
    """Child: the day at `volume` through the engine's own loop."""
    bench._one_core()
    from sim.arrivals import rate_table, sample_customers, streams
    from sim.engine import DeskRun

    scenario = bench.scaled_scenario(volume)
    customers = sample_customers(scenario, streams(scenario.seed, 0), rate_table(scenario))
    run = DeskRun(scenario, customers)
    watch = time.process_time()
    run.run()
    cpu_s = time.process_time() - watch
    return {"cpu_us_per_message": 1e6 * cpu_s / customers.total_messages,
            "messages": customers.total_messages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=4, help="days interleaved, and the volume "
                        "factor of the large day (default 4)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the four runs (default 3)")
    parser.add_argument("--volume", type=float, default=1.0,
                        help="volume of one day, as a factor of large_shop.yaml (default 1)")
    parser.add_argument("--probe-loop", nargs=3, type=float, help=argparse.SUPPRESS)
    parser.add_argument("--probe-day", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe_loop:
        days, real, volume = args.probe_loop
        print(json.dumps(probe_loop(int(days), int(real), volume)))
        return 0
    if args.probe_day is not None:
        print(json.dumps(probe_day(args.probe_day)))
        return 0
    if args.days < 2 or args.rounds < 1 or args.volume <= 0:
        parser.error("--days must be at least 2, --rounds at least 1, --volume positive")

    script = Path(__file__).resolve()
    k, v = args.days, args.volume
    runs = {
        "one": ("--probe-loop", str(k), "1", repr(v)),
        "interleaved": ("--probe-loop", str(k), str(k), repr(v)),
        "1x": ("--probe-day", repr(v)),
        f"{k}x": ("--probe-day", repr(k * v)),
    }
    seen: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(args.rounds):
        for name, child_args in runs.items():
            us = bench.run_child(*child_args, script=script)["cpu_us_per_message"]
            seen[name].append(us)
            print(f"round {round_ + 1}/{args.rounds}: {name} {us:.2f} us/message",
                  file=sys.stderr, flush=True)

    def paired(top: str, bottom: str) -> float:
        return statistics.median(a / b for a, b in zip(seen[top], seen[bottom]))

    print(f"working set vs engine: {k} days of volume {v:g}, {args.rounds} round(s), "
          "CPU time of the event loop per customer message (median)")
    for name, label in (
        ("one", f"one day, {k}-way loop"),
        ("interleaved", f"{k} days interleaved, {k}-way loop"),
        ("1x", "1x volume, engine's loop"),
        (f"{k}x", f"{k}x volume, engine's loop"),
    ):
        print(f"  {label:36s} {statistics.median(seen[name]):6.2f} us")
    print(f"  {'live state of ' + str(k) + ' days / one':36s} {paired('interleaved', 'one'):6.2f}x")
    print(f"  {str(k) + 'x volume / 1x':36s} {paired(f'{k}x', '1x'):6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
