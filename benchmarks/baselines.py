"""The M/M/c reference workload and the engines it is run on, for `benchmarks/run.py`.

One queue: `servers` agents, Poisson arrivals at load `rho`, exponential service, first come
first served, no abandonment, starting empty, arrivals for `horizon_s`. The same case runs on
supportsim's engine and on five references:

- Ciw 3.x, a full-featured queueing-network library (`ciw.Simulation`);
- idiomatic SimPy: a generator process per customer holding a `simpy.Resource`, draws from
  `random` as in SimPy's own examples;
- SimPy driven by callbacks only: timeouts whose callbacks move plain state, no processes;
- SimPy's calendar driven as supportsim's engine drives it: reused events, one callback each;
- a minimal hand-written `heapq` event loop: the yardstick for what pure Python can do.

Every engine returns the queue waits of the customers that reached service, so the harness can
check all of them against Erlang C, and times only its simulation (random draws included),
not the extraction of results afterwards, in wall seconds and in CPU seconds of the process.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.events import NORMAL

from sim.analysis.queueing import ErlangC, erlang_c
from sim.scenario import Scenario, scenario_from_dict

_DAY0 = dt.datetime(2026, 1, 1)


@dataclass(frozen=True)
class MMc:
    """An M/M/c case: `customers` is the expected number of arrivals in the horizon."""

    servers: int = 50
    rho: float = 0.9
    mean_service_s: float = 60.0
    customers: int = 200_000
    seed: int = 20260311

    @property
    def service_rate_per_s(self) -> float:
        return 1.0 / self.mean_service_s

    @property
    def arrival_rate_per_s(self) -> float:
        return self.rho * self.servers * self.service_rate_per_s

    @property
    def horizon_s(self) -> float:
        # Whole minutes, because supportsim's horizon is written as a clock time.
        return 60.0 * math.ceil(self.customers / self.arrival_rate_per_s / 60.0)

    def erlang_c(self) -> ErlangC:
        return erlang_c(self.servers, self.arrival_rate_per_s, self.service_rate_per_s)

    def arrivals_and_services(self, rng: np.random.Generator) -> tuple[list[float], list[float]]:
        """Arrival times in [0, horizon) and one service time per arrival, as Python floats.

        Drawn in numpy blocks: a few standard deviations more gaps than expected, then cut at
        the horizon (topped up in the vanishingly rare case the block falls short).
        """
        expected = self.arrival_rate_per_s * self.horizon_s
        block = int(expected + 6 * math.sqrt(expected) + 10)
        times = np.cumsum(rng.exponential(1.0 / self.arrival_rate_per_s, block))
        while times[-1] < self.horizon_s:
            more = np.cumsum(rng.exponential(1.0 / self.arrival_rate_per_s, block)) + times[-1]
            times = np.concatenate([times, more])
        times = times[times < self.horizon_s]
        services = rng.exponential(self.mean_service_s, len(times))
        return times.tolist(), services.tolist()


class Stopwatch:
    """Wall and CPU time since creation; CPU time (user + system of this process) is what a
    run costs on a core of its own, whatever else the machine is doing."""

    def __init__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall0, time.process_time() - self.cpu0


@dataclass
class Run:
    """One timed run: wall and CPU seconds of simulation, customers arrived, queue waits of
    those served."""

    engine: str
    timing: tuple[float, float]  # (wall seconds, CPU seconds)
    customers: int
    waits_s: np.ndarray  # in order of service start (= arrival order under FCFS)

    @property
    def seconds(self) -> float:
        return self.timing[0]

    @property
    def cpu_s(self) -> float:
        return self.timing[1]

    @property
    def customers_per_s(self) -> float:
        """Customers per CPU second."""
        return self.customers / self.cpu_s


# --- supportsim --------------------------------------------------------------------------------


def mmc_scenario(case: MMc) -> Scenario:
    """The M/M/c case as a supportsim scenario: one message, concurrency 1, no bot, no patience,
    a constant rate table and exponential reply times."""
    end = _DAY0 + dt.timedelta(seconds=case.horizon_s)
    document = {
        "name": "mmc_benchmark",
        "horizon": {
            "start": _DAY0.strftime("%Y-%m-%d %H:%M"),
            "end": end.strftime("%Y-%m-%d %H:%M"),
            "drain": "1h",
        },
        "seed": case.seed,
        "arrivals": {
            "interval": "1h",
            "rates_per_hour": [case.arrival_rate_per_s * 3600.0] * 24,
            "mix": {"query": 1.0},
        },
        "topics": {
            "query": {
                "messages": {"dist": "deterministic", "value": 1},
                "think_time": {"dist": "deterministic", "value": 0},
            }
        },
        "groups": {
            "desk": {
                "skills": ["query"],
                "concurrency": 1,
                "reply_time": {"dist": "exponential", "mean": case.mean_service_s},
                "schedule": {"headcount": {"00:00": case.servers}},
            }
        },
    }
    return scenario_from_dict(document, source="benchmarks/baselines.py:mmc_scenario")


def supportsim_waits(records) -> np.ndarray:
    """Queue waits (assignment minus queueing) of conversations that reached an agent."""
    assigned = np.isfinite(records.assigned_s)
    return (records.assigned_s - records.queued_s)[assigned]


def run_supportsim(case: MMc, scenario: Scenario) -> Run:
    """`sim.engine.simulate` alone: sampling, the SimPy run and the records."""
    from sim.engine import simulate

    watch = Stopwatch()
    records = simulate(scenario, 0, case.seed)
    timing = watch.read()
    return Run("supportsim", timing, len(records.arrival_s), supportsim_waits(records))


def run_supportsim_with_metrics(case: MMc, scenario: Scenario) -> Run:
    """A whole replication as `sim.experiment` runs it: simulate, then every metric and series."""
    from sim.experiment import run_one

    watch = Stopwatch()
    _, _, tables = run_one(scenario, 0, case.seed, keep_records=True)
    timing = watch.read()
    conv = tables.conversations
    assigned = conv["assigned_s"].notna().to_numpy()
    waits = (conv["assigned_s"] - conv["queued_s"]).to_numpy()[assigned]
    return Run("supportsim+metrics", timing, len(conv), waits)


# --- Ciw -------------------------------------------------------------------------------------------


def ciw_simulation(case: MMc):
    """Ciw's own M/M/c, run to the horizon: one node, exponential arrivals and services,
    `servers` servers (the part `run_ciw` times; `instructions.py --ciw` counts it)."""
    import ciw

    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=case.arrival_rate_per_s)],
        service_distributions=[ciw.dists.Exponential(rate=case.service_rate_per_s)],
        number_of_servers=[case.servers],
    )
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(case.horizon_s)
    return simulation


def run_ciw(case: MMc) -> Run:
    """Ciw's own M/M/c, timed from the network's start to the horizon."""
    import ciw

    ciw.seed(case.seed)
    watch = Stopwatch()
    simulation = ciw_simulation(case)
    timing = watch.read()
    customers = simulation.nodes[0].number_of_individuals
    records = sorted(simulation.get_all_records(), key=lambda r: r.arrival_date)
    waits = np.array([r.waiting_time for r in records], dtype=float)
    return Run("ciw", timing, customers, waits)


# --- SimPy ----------------------------------------------------------------------------------------


def run_simpy_processes(case: MMc) -> Run:
    """SimPy as its tutorials write it: a source process and a process per customer."""
    rng = random.Random(case.seed)
    expovariate = rng.expovariate
    lam, mu, horizon = case.arrival_rate_per_s, case.service_rate_per_s, case.horizon_s
    waits: list[float] = []
    arrived = 0

    def customer(env, desk):
        arrive = env.now
        with desk.request() as request:
            yield request
            waits.append(env.now - arrive)
            yield env.timeout(expovariate(mu))

    def source(env, desk):
        nonlocal arrived
        while True:
            yield env.timeout(expovariate(lam))
            arrived += 1
            env.process(customer(env, desk))

    watch = Stopwatch()
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=case.servers)
    env.process(source(env, desk))
    env.run(until=horizon)
    timing = watch.read()
    return Run("simpy-process", timing, arrived, np.array(waits))


def run_simpy_callbacks(case: MMc) -> Run:
    """SimPy's event calendar with callbacks only: no processes, no Resource."""
    watch = Stopwatch()
    arrivals, services = case.arrivals_and_services(np.random.default_rng(case.seed))
    n = len(arrivals)
    env = simpy.Environment()
    timeout = env.timeout
    waiting: deque[int] = deque()
    waits = [math.nan] * n
    free = case.servers

    def arrive(event):
        nonlocal free
        i = event.value
        if i + 1 < n:
            timeout(arrivals[i + 1] - env.now, i + 1).callbacks.append(arrive)
        if free:
            free -= 1
            begin(i)
        else:
            waiting.append(i)

    def begin(i):
        waits[i] = env.now - arrivals[i]
        timeout(services[i]).callbacks.append(depart)

    def depart(event):
        nonlocal free
        if waiting:
            begin(waiting.popleft())
        else:
            free += 1

    if n:
        timeout(arrivals[0], 0).callbacks.append(arrive)
    env.run(until=case.horizon_s)
    timing = watch.read()
    waits_s = np.array(waits)
    return Run("simpy-callbacks", timing, n, waits_s[np.isfinite(waits_s)])


def run_simpy_calendar(case: MMc) -> Run:
    """SimPy's calendar as supportsim's engine drives it, on the public API: `Timeout` events
    re-armed once processed (callbacks set, `Environment.schedule`) instead of new ones, one
    callback each, a plain attribute naming the target, and `Environment.run`. The floor for
    any engine on SimPy's public scheduling path."""
    watch = Stopwatch()
    arrivals, services = case.arrivals_and_services(np.random.default_rng(case.seed))
    n = len(arrivals)
    env = simpy.Environment()
    schedule = env.schedule
    waiting: deque[int] = deque()
    waits = [math.nan] * n
    free = case.servers
    spare: list = []

    def arrive(event):
        nonlocal free
        i = event.target
        if i + 1 < n:
            event.target = i + 1
            event.callbacks = on_arrive
            schedule(event, NORMAL, arrivals[i + 1] - env.now)
        if free:
            free -= 1
            begin(i)
        else:
            waiting.append(i)

    def begin(i):
        now = env.now
        waits[i] = now - arrivals[i]
        if spare:
            event = spare.pop()
            event.callbacks = on_depart
            schedule(event, NORMAL, services[i])
        else:
            event = simpy.Timeout(env, services[i])
            event.callbacks = on_depart

    def depart(event):
        nonlocal free
        spare.append(event)
        if waiting:
            begin(waiting.popleft())
        else:
            free += 1

    on_arrive, on_depart = [arrive], [depart]
    if n:
        first = simpy.Timeout(env, arrivals[0])
        first.target = 0
        first.callbacks = on_arrive
    env.run(until=case.horizon_s)
    timing = watch.read()
    waits_s = np.array(waits)
    return Run("simpy-calendar", timing, n, waits_s[np.isfinite(waits_s)])


# --- heapq ----------------------------------------------------------------------------------------


def run_heapq(case: MMc) -> Run:
    """A minimal event loop on one `heapq` calendar of (time, kind, customer) tuples."""
    watch = Stopwatch()
    arrivals, services = case.arrivals_and_services(np.random.default_rng(case.seed))
    n = len(arrivals)
    horizon = case.horizon_s
    push, pop = heapq.heappush, heapq.heappop
    calendar = [(arrivals[0], 0, 0)] if n else []
    waiting: deque[int] = deque()
    waits = [math.nan] * n
    free = case.servers
    while calendar:
        now, kind, i = pop(calendar)
        if now >= horizon:
            break
        if kind == 0:  # arrival
            if i + 1 < n:
                push(calendar, (arrivals[i + 1], 0, i + 1))
            if free:
                free -= 1
                waits[i] = 0.0
                push(calendar, (now + services[i], 1, i))
            else:
                waiting.append(i)
        elif waiting:  # departure with someone waiting
            j = waiting.popleft()
            waits[j] = now - arrivals[j]
            push(calendar, (now + services[j], 1, j))
        else:
            free += 1
    timing = watch.read()
    waits_s = np.array(waits)
    return Run("heapq", timing, n, waits_s[np.isfinite(waits_s)])


#: Reference engines by the name the table uses.
REFERENCES: dict[str, Callable[[MMc], Run]] = {
    "ciw": run_ciw,
    "simpy-process": run_simpy_processes,
    "simpy-callbacks": run_simpy_callbacks,
    "simpy-calendar": run_simpy_calendar,
    "heapq": run_heapq,
}
