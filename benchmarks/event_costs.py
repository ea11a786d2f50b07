"""What each kind of event of a run costs, in microseconds: a sampling profile of one
replication, its time split by the callback that handled each event.

    python benchmarks/event_costs.py              # the large-shop Double-11 day and M/M/c
    python benchmarks/event_costs.py --case mmc --customers 50000

Three runs of the same replication: one with each callback list wrapped to count its events
(the counts only), one under pyinstrument with nothing wrapped (each kind's share of the
time), and one plain (the CPU seconds the shares divide: the profiler slows a run several
times over, so its own seconds are not the run's). A kind's cost is the time inside its
callback, everything it calls included (routing, bookkeeping, the `Environment.schedule` of
the events it plans), divided by its count; "dispatch" is SimPy's own part of every event,
`Environment.step` popping the calendar and calling the callback, divided by all events. The
figures are estimates: the profiler's overhead is per Python call, so kinds that make many
small calls look a little dearer than they are.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))

import baselines
import run as bench

from sim.engine.desk import DeskRun, customers_for

#: Callback names by the kind of event they handle, as docs/performance.md names them.
KINDS = {
    "arrive": "arrival", "escalate": "bot hands over", "deflect": "bot deflects",
    "wake": "agent wakes", "replied": "reply end", "abandon": "patience",
    "recheck": "overflow recheck", "tick": "shift change", "standby_check": "standby check",
    "standby_on": "standby arrives", "stay_over": "standby leaves",
}


def case_scenario(case: str, customers: int):
    if case == "mmc":
        mmc = baselines.MMc(customers=customers)
        return baselines.mmc_scenario(mmc), mmc.seed
    scenario = bench.scaled_scenario(1.0)
    return scenario, scenario.seed


def callback_lists(run: DeskRun):
    for part in (run.flow, run.shifts):
        for name in dir(part):  # the flow keeps its attributes in slots: no vars()
            value = getattr(part, name)
            if name.startswith("on_") and isinstance(value, list) and value:
                yield value


def count_events(scenario, seed) -> collections.Counter:
    run = DeskRun(scenario, customers_for(scenario, 0, seed))
    counts: collections.Counter = collections.Counter()
    for callbacks in callback_lists(run):
        original = callbacks[0]

        def counted(event, original=original, name=original.__name__):
            counts[name] += 1
            original(event)

        callbacks[0] = counted
    run.run()
    return counts


def plain_cpu(scenario, seed) -> float:
    run = DeskRun(scenario, customers_for(scenario, 0, seed))
    start = time.process_time()
    run.run()
    return time.process_time() - start


def profile_times(scenario, seed, interval: float) -> tuple[dict[str, float], float, float]:
    """Shares of the run inside each callback and in SimPy's dispatch, and the profiled
    run's CPU seconds."""
    from pyinstrument import Profiler

    run = DeskRun(scenario, customers_for(scenario, 0, seed))
    profiler = Profiler(interval=interval)
    start = time.process_time()
    profiler.start()
    run.run()
    profiler.stop()
    cpu = time.process_time() - start
    inside: dict[str, float] = collections.defaultdict(float)
    dispatch = 0.0

    def walk(frame):
        nonlocal dispatch
        if frame.function in ("step", "run") and "simpy" in (frame.file_path or ""):
            dispatch += frame.total_self_time
            for child in frame.children:
                if child.function in KINDS:
                    inside[child.function] += child.time
                else:
                    walk(child)
            return
        for child in frame.children:
            walk(child)

    walk(profiler.last_session.root_frame(trim_stem=False))
    total = profiler.last_session.duration
    return {k: v / total for k, v in inside.items()}, dispatch / total, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["day", "mmc"], action="append")
    parser.add_argument("--customers", type=int, default=200_000, help="M/M/c customers")
    parser.add_argument("--interval", type=float, default=0.0005, help="sampling, seconds")
    parser.add_argument("--repeats", type=int, default=3, help="plain runs timed")
    args = parser.parse_args()
    for case in args.case or ["day", "mmc"]:
        scenario, seed = case_scenario(case, args.customers)
        counts = count_events(scenario, seed)
        inside, dispatch, profiled = profile_times(scenario, seed, args.interval)
        cpu = min(plain_cpu(scenario, seed) for _ in range(args.repeats))
        unknown = sorted(set(counts) - set(KINDS))
        if unknown:  # a callback this table does not name would be profiled as dispatch
            raise SystemExit(f"event_costs.py: callbacks without a kind in KINDS: {unknown}")
        events = sum(counts.values())
        print(f"\n{case}: {events:,} events, {cpu:.2f} s CPU (best of {args.repeats}), "
              f"{cpu / events * 1e6:.2f} us per event in all; {profiled:.1f} s profiled")
        print(f"{'kind':<20} {'events':>10} {'per event us':>13} {'share':>7}")
        rows = [(KINDS[name], n, inside.get(name, 0.0)) for name, n in counts.items()]
        rows.append(("dispatch (SimPy)", events, dispatch))
        for label, n, share in sorted(rows, key=lambda r: -r[2]):
            print(f"{label:<20} {n:>10,} {share * cpu / n * 1e6:>13.2f} {share:>7.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
