"""The SimPy run of one scenario and one replication. It emits records and computes nothing else.

`DeskRun` puts the desk on a `simpy.Environment` and runs it with `Environment.run(until=...)`:
the conversation flow (`flow.py`), the agent pool (`pool.py`), the bot (`bot.py`), shifts and
standby (`shifts.py`) and the record writer (`recorder.py`) each own their part, and the
routing policy (`sim.policies`) is an object the flow calls. Only SimPy's public API is used:
events are `Timeout`s scheduled with `Environment.schedule`, so a user's own SimPy processes
run on the same environment and act on the desk through `Desk` (docs/extending.md).
"""

from __future__ import annotations

import datetime as dt
import gc
import numbers
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import simpy

from sim.arrivals import Customers, sample_customers, streams
from sim.engine.bot import BotDesk
from sim.engine.calendar import delay_until, until_value
from sim.engine.flow import ConversationFlow
from sim.engine.pool import AgentPool
from sim.engine.recorder import Recorder
from sim.engine.records import Records
from sim.engine.shifts import Shifts
from sim.policies import Router, RoutingPolicy, TopicQueues, checked
from sim.scenario import Scenario, ScenarioError, rate_table
from sim.scenario.arguments import (
    processes_argument,
    require_scenario,
    whole_number,
)
from sim.units import format_clock, moment_seconds

#: A user's process: called with the environment and the desk, returns a SimPy generator.
Process = Callable[[simpy.Environment, "Desk"], object]


class DeskRun:
    """One replication of one scenario on a SimPy environment.

    `routing` is the policy object (default: the built-in `Router` for the scenario's
    `routing:` section); `processes` are user processes started on the same environment.
    `start_s` starts the clock later than the horizon's start (a resumed state's time), and
    `blocks` says that the customers are the replication's pre-drawn buyers (that many rows)
    followed by others (buyers of a resumed state): their reply lengths are computed apart, so
    the first block's are the numbers the replication's own run computes.
    """

    def __init__(self, scenario: Scenario, customers: Customers,
                 routing: RoutingPolicy | None = None, processes: Iterable[Process] = (),
                 start_s: float | None = None, blocks: int | None = None):
        self.scenario = scenario
        self.customers = c = customers
        horizon = scenario.horizon
        self.stop_s = horizon.end_s + horizon.drain
        self.env = env = simpy.Environment(
            initial_time=horizon.start_s if start_s is None else start_s)
        self.recorder = Recorder(c.count, c.total_messages, len(scenario.groups))
        self.pool = AgentPool(scenario, self.recorder)
        self.policy = Router() if routing is None else checked(routing)
        self.policy.setup(scenario, self.pool.groups, c.topics)
        self.queues = TopicQueues(len(c.topics))
        self.blocks_first = c.count if blocks is None else blocks
        self.reply_time = self._reply_times()
        self.bot = BotDesk(scenario, c, self.blocks_first)
        self.flow = ConversationFlow(env, scenario, c, self.pool, self.bot, self.policy,
                                     self.queues, self.recorder, self.reply_time,
                                     arriving=self.blocks_first)
        self.shifts = Shifts(env, scenario, self.pool, self.flow, self.policy, self.recorder)
        self.processes = list(processes)
        self.desk = Desk(self)
        self.started = False

    def _reply_times(self) -> list[np.ndarray]:
        """Reply length of every message for every group that could answer it."""
        c = self.customers
        split = int(c.msg_start[self.blocks_first]) if self.blocks_first < c.count else None
        message_topic = np.repeat(c.topic, c.n_messages)
        times = []
        for group in self.pool.groups:
            parts = []
            for lo, hi in ((0, split), (split, None)) if split is not None else ((0, None),):
                topic_of, reply_u = message_topic[lo:hi], c.reply_u[lo:hi]
                column = np.full(len(reply_u), np.nan)
                for code, topic in enumerate(c.topics):
                    if group in self.policy.groups_for(code):
                        mask = topic_of == code
                        column[mask] = group.spec.reply_dist(topic).from_uniform(reply_u[mask])
                parts.append(column / group.spec.proficiency)
            times.append(np.concatenate(parts) if len(parts) > 1 else parts[0])
        return times

    # --- running -----------------------------------------------------------------------------

    def start(self) -> None:
        """Plan the day and put its first events on the calendar (a fresh run)."""
        self.flow.stop_s = self.stop_s  # messages due after the stop are never sent
        self.shifts.plan_duty(self.stop_s)
        self.shifts.start_plan()
        self.shifts.start_standby()
        self.flow.start_arrivals(0)
        self.start_processes()

    def start_processes(self) -> None:
        for make in self.processes:
            self.env.process(make(self.env, self.desk))

    def run(self, pause_at: Sequence[float] = (), on_pause=None) -> Records:
        """Run to the end of the drain and return the records.

        At each time of `pause_at` (between the clock and the end) the run stops, calls
        `on_pause(self)` (e.g. to take a snapshot) and goes on: pausing changes nothing.
        """
        if not self.started:
            self.start()
            self.started = True
        env, stop = self.env, self.stop_s
        # The loop frees what it drops by reference counting: the only cycles it makes are a
        # conversation and its agent or its own event until it closes, and the run's own
        # structure (broken by `close_down` at the end), so the cyclic collector would only
        # walk the growing heap of live objects again and again, at a cost that grows faster
        # than the run.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for at in sorted(pause_at):
                if env.now < at < stop:
                    env.run(until=until_value(env.now, at))
                    on_pause(self)
            env.run(until=until_value(env.now, stop))
        finally:
            if collecting:
                gc.enable()
            self.close_down()
        return self.finish()

    def finish(self) -> Records:
        """The records of the run (stopped at the end of the drain), conservation checked."""
        records = self.recorder.records(self.scenario, self.customers, self.pool.groups,
                                        self.pool.agents, self.reply_time, self.stop_s)
        records.check_conservation()
        return records

    def close_down(self) -> None:
        """Drop what the calendar holds of this run, so it is freed by reference counting."""
        self.flow.close_down()
        self.shifts.close_down()
        self.desk.run = None
        self.processes = []


class Desk:
    """The desk as a user's SimPy process sees it: read the queues, put agents on or off duty,
    change the bot. Times are seconds since the scenario's day-0 midnight; groups and topics
    are named as in the scenario."""

    def __init__(self, run: DeskRun):
        self.run = run
        self.env = run.env

    # --- reading ----------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.env.now

    def time(self, clock: float | str | dt.datetime) -> float:
        """A moment of the scenario in seconds: a clock time ("2026-11-11 00:05", or "08:00"
        on day 0), a `datetime`, or seconds already."""
        try:
            return moment_seconds(clock, self.run.scenario.horizon.day0)
        except ValueError as exc:
            raise ScenarioError(f"desk: {exc}") from None

    def until(self, at: float | str | dt.datetime) -> simpy.Timeout:
        """A SimPy timeout that fires at `at` (seconds, a clock time or a `datetime`), or now
        if it is past: `yield desk.until("2026-11-11 00:05")` in a process."""
        at = self.time(at)
        return self.env.timeout(delay_until(self.env.now, at) if at > self.env.now else 0)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.run.pool.groups)

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(self.run.customers.topics)

    def _topic_codes(self, topic: str | None) -> list[int]:
        topics = self.topics
        if topic is None:
            return list(range(len(topics)))
        if topic not in topics:
            raise ScenarioError(f"desk: unknown topic {topic!r} (topics: {', '.join(topics)})")
        return [topics.index(topic)]

    def _group(self, name: str):
        group = self.run.pool.by_name.get(name)
        if group is None:
            raise ScenarioError(
                f"desk: unknown group {name!r} (groups: {', '.join(self.groups)})")
        return group

    def waits(self, topic: str | None = None) -> list[float]:
        """How long each conversation waiting for an agent (of `topic`, or any) has waited
        since it first reached people, longest first."""
        now = self.env.now
        waiting = [now - conv.queued_s for t in self._topic_codes(topic)
                   for conv in self.run.queues.waiting(t)]
        return sorted(waiting, reverse=True)

    def queue_length(self, topic: str | None = None) -> int:
        """Conversations waiting for an agent (of `topic`, or any)."""
        if topic is None:
            return self.run.queues.length
        return len(self.waits(topic))

    def oldest_wait(self, topic: str | None = None) -> float:
        """The longest wait in the queue (0 when nobody waits)."""
        waits = self.waits(topic)
        return waits[0] if waits else 0.0

    def backlog(self, group: str) -> tuple[int, float]:
        """Messages of `group`'s topics awaiting a reply, in the queue or at an agent, and the
        longest of their waits: what triggers the group's standby agents."""
        g = self._group(group)
        count, oldest_s = self.run.shifts.backlog(self.run.policy.topics_for(g))
        return count, self.env.now - oldest_s

    def on_duty(self, group: str | None = None) -> int:
        """Agents on duty and taking conversations (of `group`, or all)."""
        groups = self.run.pool.groups if group is None else [self._group(group)]
        return sum(1 for g in groups for a in g.agents if a.on_duty and not a.leaving)

    def open_chats(self, group: str | None = None) -> int:
        """Conversations held by agents (of `group`, or all)."""
        groups = self.run.pool.groups if group is None else [self._group(group)]
        return sum(a.open for g in groups for a in g.agents)

    # --- acting -------------------------------------------------------------------------------

    def add_agents(self, group: str, count: int, until: float | str | dt.datetime | None = None
                   ) -> list[int]:
        """Put `count` more agents of `group` on duty now, until `until` (seconds, a clock
        time or a `datetime`, as `until()` takes) or the end of the run; returns their ids.
        Their hours count in the group's cost."""
        g = self._group(group)
        count = whole_number(count, "count", 0, "desk: add_agents")
        if until is not None:
            until = self.time(until)
        if until is not None and not until > self.env.now:
            # A clock time without a date is on day 0: on a later day it is already past.
            day0 = self.run.scenario.horizon.day0
            raise ScenarioError(f"desk: add_agents: until {format_clock(until, day0)} is not "
                                f"after now ({format_clock(self.env.now, day0)})")
        shifts, pool = self.run.shifts, self.run.pool
        ids = []
        for _ in range(count):
            agent = pool.new_agent(g)
            shifts.duty_on(agent)
            if until is not None:
                shifts.send_home_at(agent, until)
            ids.append(agent.id)
        return ids

    def remove_agents(self, group: str, count: int) -> list[int]:
        """Send `count` on-duty agents of `group` off duty now, fewest open chats first (they
        finish or hand back their chats as at a shift's end); returns their ids. Scheduled
        agents come back with their next shift."""
        g = self._group(group)
        count = whole_number(count, "count", 0, "desk: remove_agents")
        working = sorted((a for a in g.agents if a.on_duty and not a.leaving),
                         key=lambda a: (a.open, -a.id))
        chosen = working[:count]
        for agent in chosen:
            self.run.shifts.duty_off(agent)
        return [a.id for a in chosen]

    @property
    def bot_enabled(self) -> bool:
        """Whether the bot answers buyers arriving from now on."""
        return self.run.bot.enabled

    @bot_enabled.setter
    def bot_enabled(self, on: bool) -> None:
        if not isinstance(on, bool | np.bool_):
            # bool("false") is True: only a real truth value says what is meant.
            raise ScenarioError(f"desk: bot_enabled must be True or False, got {on!r}")
        self.run.bot.enabled = bool(on)

    def set_deflection(self, topic: str, probability: float) -> None:
        """The share of `topic`'s buyers the bot settles, for buyers arriving from now on."""
        (code,) = self._topic_codes(topic)
        if isinstance(probability, bool) or not isinstance(probability, numbers.Real):
            raise ScenarioError(f"desk: deflection must be a number in [0, 1], got "
                                f"{probability!r}")
        if not 0.0 <= probability <= 1.0:
            raise ScenarioError(f"desk: deflection {probability!r} is not a probability")
        self.run.bot.deflection[code] = float(probability)

    def bot_hand_over(self) -> int:
        """Hand every conversation now with the bot to people at once (the bot has failed);
        returns how many."""
        flow = self.run.flow
        with_bot = list(flow.bots.values())
        flow.bots.clear()
        for conv in with_bot:
            conv.event = None  # its pending decision will do nothing
            flow.to_people(conv, self.env.now)
        return len(with_bot)


def customers_for(scenario: Scenario, replication: int = 0, seed: int | None = None
                  ) -> Customers:
    """The buyers of replication `replication` (they depend only on the seed, the replication
    and the scenario's arrival and topic fields)."""
    rngs = streams(scenario.seed if seed is None else seed, replication)
    return sample_customers(scenario, rngs, rate_table(scenario))


def simulate(scenario: Scenario, replication: int = 0, seed: int | None = None, *,
             routing: RoutingPolicy | None = None, processes: Iterable[Process] = ()
             ) -> Records:
    """Run replication `replication` of `scenario` and return its records.

    Customers depend only on (seed, replication) and the scenario's arrival and topic fields,
    so variants that change staffing, routing or the bot meet the same buyers. `routing` is a
    policy object replacing the scenario's built-in rules; `processes` are functions
    `fn(env, desk)` returning SimPy generators run beside the desk (docs/extending.md).
    """
    scenario = require_scenario(scenario, "simulate")
    replication = whole_number(replication, "replication", 0, "simulate")
    if seed is not None:
        seed = whole_number(seed, "seed", 0, "simulate")
    processes = processes_argument(processes, "simulate")
    customers = customers_for(scenario, replication, seed)
    return DeskRun(scenario, customers, routing=routing, processes=processes).run()
