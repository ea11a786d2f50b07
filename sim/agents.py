"""Agents and when they work: schedules compiled to duty periods, and an agent's live state."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from sim.scenario import Group, Scenario, Schedule
from sim.units import DAY_S


@dataclass(frozen=True)
class Duty:
    """One agent on duty from `start_s` to `end_s` (seconds since day-0 midnight)."""

    slot: int
    start_s: float
    end_s: float


def duty_periods(schedule: Schedule, scenario: Scenario) -> list[Duty]:
    """Duty periods of a group's scheduled agents, clipped to the horizon.

    A headcount table becomes agent slots: slot k is on duty whenever the headcount exceeds k,
    so raising the headcount adds agents and lowering it sends the most recently added home.
    """
    start, end = scenario.horizon.start_s, scenario.horizon.end_s
    if schedule.headcount is not None:
        return _from_headcount(schedule, scenario, start, end)
    periods: list[Duty] = []
    slot = 0
    day0 = scenario.horizon.day0
    for shift in schedule.shifts or []:
        if shift.start.date is None:
            days = range(-2, scenario.horizon.days + 1)
            origins = [day * DAY_S + shift.start.seconds_of_day for day in days]
        else:
            origins = [shift.start.seconds(day0)]
        pieces = _shift_pieces(shift)
        for index in range(shift.agents):
            for origin in origins:
                for begin, finish in pieces:
                    lo, hi = max(origin + begin, start), min(origin + finish, end)
                    if hi > lo:
                        periods.append(Duty(slot + index, lo, hi))
        slot += shift.agents
    return _merge(periods)


def _shift_pieces(shift) -> list[tuple[float, float]]:
    pieces, cursor = [], 0.0
    for brk in sorted(shift.breaks, key=lambda b: b.after):
        if brk.after > cursor:
            pieces.append((cursor, brk.after))
        cursor = max(cursor, brk.after + brk.length)
    if shift.length > cursor:
        pieces.append((cursor, shift.length))
    return pieces


def _from_headcount(schedule: Schedule, scenario: Scenario, start: float, end: float) -> list[Duty]:
    steps = schedule.steps()
    day0 = scenario.horizon.day0
    if steps[0][0].date is None:
        points = []
        for day in range(-1, scenario.horizon.days + 1):
            points += [(day * DAY_S + t.seconds_of_day, n) for t, n in steps]
    else:
        points = [(t.seconds(day0), n) for t, n in steps]
        if points[0][0] > start:
            points.insert(0, (start, 0))
    points.sort()
    # Headcount in force on each [t_i, t_{i+1}) clipped to the horizon.
    spans = []
    for (t, n), nxt in zip(points, points[1:] + [(float("inf"), 0)]):
        lo, hi = max(t, start), min(nxt[0], end)
        if hi > lo:
            spans.append((lo, hi, n))
    return _slot_periods(spans)


def _slot_periods(spans: list[tuple[float, float, int]]) -> list[Duty]:
    """The duty periods of headcount `spans` (lo, hi, n) in time order: slot k is on duty
    while n > k, and its back-to-back spans make one period (as `_merge` joins them). Walks
    the spans once, opening and closing only the slots whose duty changes."""
    by_slot: list[list[Duty]] = []
    opened: list[float] = []  # start of the open period of slots 0 .. len(opened) - 1
    until = None  # end of the spans walked so far (the open periods run to it)
    for lo, hi, n in spans:
        if until is not None and lo > until + 1e-9:
            n_keep = 0  # a gap in the spans ends every period
        else:
            n_keep = n
        while len(opened) > n_keep:
            slot = len(opened) - 1
            by_slot[slot].append(Duty(slot, opened.pop(), until))
        while len(opened) < n:
            if len(by_slot) <= len(opened):
                by_slot.append([])
            opened.append(lo)
        until = hi
    while opened:
        slot = len(opened) - 1
        by_slot[slot].append(Duty(slot, opened.pop(), until))
    return [duty for periods in by_slot for duty in periods]


def _merge(periods: list[Duty]) -> list[Duty]:
    """Join back-to-back periods of one slot so a table step does not end a shift."""
    merged: list[Duty] = []
    for duty in sorted(periods, key=lambda d: (d.slot, d.start_s)):
        last = merged[-1] if merged else None
        if last and last.slot == duty.slot and duty.start_s <= last.end_s + 1e-9:
            merged[-1] = Duty(last.slot, last.start_s, max(last.end_s, duty.end_s))
        else:
            merged.append(duty)
    return merged


def headcount_at(periods: list[Duty], times) -> list[int]:
    """Scheduled agents on duty at each time (for estimates and plots)."""
    return [sum(1 for d in periods if d.start_s <= t < d.end_s) for t in times]


@dataclass(eq=False, slots=True)
class Agent:
    """One agent's live state during a run.

    `pending` is a heap of (sent_s, tiebreak, conversation) for customer messages waiting for
    this agent's reply, so the oldest waiting message is always typed next; it also holds the
    next message of each of its buyers who are still typing it (`sent_s` after the clock),
    which the agent takes up when it is sent. A policy reads
    `open` (conversations held), `on_duty`, `leaving` (past the end of its duty, finishing or
    handing back), `phone` (on a call, alone), `last_assigned_s` and `has_slot`.
    """

    id: int
    group: GroupState
    standby: bool = False
    open: int = 0
    pending: list = field(default_factory=list)
    typing: object | None = None
    on_duty: bool = False
    leaving: bool = False
    phone: bool = False
    last_assigned_s: float = -1.0
    duty_start_s: float = 0.0
    conversations: set = field(default_factory=set)
    pending_start: bool = False  # a standby agent called in but not yet arrived
    level: int = -1  # index of the `GroupState.free` dict holding this agent, -1 if none
    reply_event: object = None  # the engine's calendar event for the reply being typed
    reply_due_s: float = 0.0  # when the reply being typed is done
    wake_event: object = None  # the engine's event for the next message due to this agent
    wake_s: float = float("inf")  # when `wake_event` is due (inf: none armed)
    slot: int = -1  # the schedule slot this agent fills (-1: standby or added during the run)
    events: object = None  # the engine's pending duty events of this agent (standby, added)

    @property
    def has_slot(self) -> bool:
        return self.on_duty and not self.leaving and self.open < self.group.concurrency

    def can_take(self, phone: bool = False) -> bool:
        """Whether the agent may take one more conversation now: a free slot and not on a
        call, and for a call (`phone`) no open chat at all. What a policy asks of an agent."""
        return self.has_slot and not self.phone and (not phone or self.open == 0)


@dataclass(eq=False, slots=True)
class GroupState:
    """A group during a run: its settings, agents, and agents with a free slot.

    Agents with a free slot sit in `free[k]` by their number of open conversations k, in the
    order they arrived at that level, so within one level the agent waiting longest comes
    first. The levels are `OrderedDict`s, not dicts: taking the first agent and filing it again
    at the end is constant time there, while a plain dict's first key is found by skipping
    every key deleted since it last resized, a cost that grows with the number of agents.
    """

    index: int
    name: str
    spec: Group
    concurrency: int
    agents: list[Agent] = field(default_factory=list)
    free: list[OrderedDict] = field(default_factory=list)

    def __post_init__(self):
        self.free = [OrderedDict() for _ in range(self.concurrency)]

    def refresh(self, agent: Agent) -> None:
        """Re-file `agent` after its load or duty changed: the one place the free levels are
        kept (an agent with a free slot and not on a call is in `free[agent.open]`)."""
        level = agent.level
        if level >= 0:
            del self.free[level][agent]
        if agent.open < self.concurrency and agent.on_duty and not agent.leaving and not agent.phone:
            self.free[agent.open][agent] = None
            agent.level = agent.open
        else:
            agent.level = -1

    def least_busy(self, phone: bool = False) -> Agent | None:
        if phone:
            return next(iter(self.free[0]), None)
        for level in self.free:
            if level:
                return next(iter(level))
        return None

    def longest_idle(self, phone: bool = False) -> Agent | None:
        levels = self.free[:1] if phone else self.free
        best = None
        for level in levels:
            for agent in level:
                if best is None or agent.last_assigned_s < best.last_assigned_s:
                    best = agent
        return best
