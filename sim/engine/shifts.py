"""Shifts and standby: scheduled agents coming on and going off duty, and on-call agents called
in when the backlog or the oldest wait passes a threshold.

A day's duty changes are planned at set-up, one entry per agent and change, and run by one
event per distinct time (the tick), armed for the next time once it has run. It is urgent, so
it runs before anything else due at that time, as the plan's entries would if each were an
ordinary event scheduled at set-up, ahead of everything the run schedules later.
"""

from __future__ import annotations

from sim.agents import duty_periods
from sim.engine.calendar import URGENT, Step, delay_until


class Shifts:
    """The duty plan, the standby pools, and the duty changes of the run."""

    def __init__(self, env, scenario, pool, flow, policy, recorder):
        self.env = env
        self.scenario = scenario
        self.pool = pool
        self.flow = flow
        self.policy = policy
        self.recorder = recorder
        self.plan: list[tuple[float, bool, object]] = []  # (time, on duty?, agent), in order
        self.next_entry = 0
        self.tick_event = None
        self.end_s = scenario.horizon.end_s
        self.hands_back = [g.spec.end_of_shift == "hand_back" for g in pool.groups]
        #: Pending standby events: the next check per group index, and per called agent its
        #: arrival, per standby agent on duty its going home; each as (event, due time).
        self.checks: dict[int, tuple] = {}
        self.arriving: dict[object, tuple] = {}
        self.staying: dict[object, tuple] = {}
        self.on_tick = [self.tick]
        self.on_check = [self.standby_check]
        self.on_arrive = [self.standby_on]
        self.on_stay_over = [self.stay_over]

    def close_down(self) -> None:
        for callbacks in (self.on_tick, self.on_check, self.on_arrive, self.on_stay_over):
            callbacks.clear()
        self.checks.clear()
        self.arriving.clear()
        self.staying.clear()
        self.plan = []
        self.tick_event = None

    # --- the plan -----------------------------------------------------------------------------

    def plan_duty(self, stop: float) -> None:
        """Create the scheduled agents (group by group, slot by slot) and plan their duty;
        changes due at `stop` or later never happen and are left out."""
        plan = []
        for group in self.pool.groups:
            if group.spec.schedule is None:
                continue
            slots = {}
            for duty in duty_periods(group.spec.schedule, self.scenario):
                agent = slots.get(duty.slot)
                if agent is None:
                    agent = slots[duty.slot] = self.pool.new_agent(group, slot=duty.slot)
                plan.append((duty.start_s, len(plan), True, agent))
                plan.append((duty.end_s, len(plan), False, agent))
        plan.sort(key=lambda entry: entry[:2])
        self.plan = [(t, on, agent) for t, _, on, agent in plan if t < stop]

    def start_plan(self, after: float | None = None, include_now: bool = False) -> None:
        """Put the first duty change on the calendar: the first of the plan, or (resuming a
        state taken at `after`) the first due later than `after` (or at `after` itself, with
        `include_now`)."""
        i = 0
        if after is not None:
            while i < len(self.plan) and (self.plan[i][0] < after or (
                    self.plan[i][0] == after and not include_now)):
                i += 1
        self.next_entry = i
        if i < len(self.plan):
            self._arm_tick(self.plan[i][0])

    def _arm_tick(self, time_s: float) -> None:
        delay = delay_until(self.env.now, time_s)
        event = self.tick_event
        if event is None:
            # The first tick is a Timeout, which SimPy files at normal priority: made before
            # anything else is scheduled, it still runs before everything due at its time.
            self.tick_event = event = Step(self.env, delay)
        else:
            self.env.schedule(event, URGENT, delay)
        event.callbacks = self.on_tick

    def tick(self, event) -> None:
        plan, i = self.plan, self.next_entry
        now = self.env.now
        while i < len(plan) and plan[i][0] == now:
            _, on, agent = plan[i]
            i += 1
            if on:
                self.duty_on(agent)
            else:
                self.duty_off(agent)
        self.next_entry = i
        if i < len(plan):
            self._arm_tick(plan[i][0])

    # --- duty changes -------------------------------------------------------------------------

    def duty_on(self, agent) -> None:
        now = self.env.now
        if self.pool.on(agent, now):
            self.flow.pull(agent, now)

    def duty_off(self, agent) -> None:
        if not self.pool.off(agent):
            return
        now = self.env.now
        if self.hands_back[agent.group.index]:
            self.flow.hand_back(agent, now)
        self.pool.release_if_done(agent, now)

    # --- standby --------------------------------------------------------------------------------

    def start_standby(self, due: dict[int, float] | None = None) -> None:
        """Schedule each standby pool's first check: now, or at the time given per group."""
        for group in self.pool.groups:
            if group.spec.standby is not None:
                at = self.env.now if due is None else due.get(group.index, self.env.now)
                self.schedule_check(group, at)

    def schedule_check(self, group, at: float) -> None:
        event = Step(self.env, delay_until(self.env.now, at))
        event.target = group
        event.callbacks = self.on_check
        self.checks[group.index] = (event, at)

    def standby_check(self, event) -> None:
        group = event.target
        self.checks.pop(group.index, None)
        spec = group.spec.standby
        now = self.env.now
        active = sum(1 for a in group.agents if a.standby and (a.on_duty or a.pending_start))
        waiting, oldest_s = self.backlog(self.policy.topics_for(group))
        triggered = (spec.queue_length is not None and waiting >= spec.queue_length) or (
            spec.oldest_wait is not None and now - oldest_s >= spec.oldest_wait
        )
        if triggered and active < spec.cap and now < self.end_s:
            for _ in range(min(spec.batch, spec.cap - active)):
                self.call_in(group, now + spec.activation_delay, spec.activation_delay)
        if now + spec.check_every < self.end_s:
            next_check = Step(self.env, spec.check_every)
            next_check.target = group
            next_check.callbacks = self.on_check
            self.checks[group.index] = (next_check, now + spec.check_every)

    def call_in(self, group, due: float, delay: float | None = None, agent=None):
        """Call a standby agent of `group` in, online at `due` (a new agent unless given)."""
        if agent is None:
            agent = self.pool.new_agent(group, standby=True)
            self.recorder.activations[group.index] += 1
        agent.pending_start = True
        now = self.env.now
        event = Step(self.env, delay_until(now, due) if delay is None else delay)
        event.target = agent
        event.callbacks = self.on_arrive
        self.arriving[agent] = (event, due)
        return agent

    def standby_on(self, event) -> None:
        agent = event.target
        self.arriving.pop(agent, None)
        agent.pending_start = False
        self.duty_on(agent)
        stay = agent.group.spec.standby.stay
        self.send_home_at(agent, self.env.now + stay, stay)

    def send_home_at(self, agent, due: float, delay: float | None = None) -> None:
        """`agent` (a standby agent or one added during the run) goes off duty at `due`."""
        now = self.env.now
        event = Step(self.env, delay_until(now, due) if delay is None else delay)
        event.target = agent
        event.callbacks = self.on_stay_over
        self.staying[agent] = (event, due)

    def stay_over(self, event) -> None:
        agent = event.target
        if self.staying.get(agent, (None,))[0] is event:
            del self.staying[agent]
        self.duty_off(agent)

    def backlog(self, topics) -> tuple[int, float]:
        """Customer messages of `topics` awaiting a reply, in the queue or at an agent, and the
        send time of the oldest. In chat most of the backlog sits in agents' open
        conversations, not in the queue, so both places count."""
        wanted = set(topics)
        now = self.env.now
        count, oldest = 0, now
        queues = self.flow.queues
        for t in topics:
            for ticket, conv in queues.queues[t]:
                if conv.queued and ticket == conv.ticket:
                    count += 1
                    oldest = min(oldest, conv.queued_s)
        for agent in self.pool.agents:
            for sent_s, _, conv in agent.pending:
                if (
                    conv.agent is agent
                    and conv.waiting_s == sent_s
                    and sent_s <= now  # sent (not a buyer still typing it)
                    and not conv.done
                    and not conv.typing
                    and conv.topic in wanted
                ):
                    count += 1
                    oldest = min(oldest, sent_s)
        return count, oldest
