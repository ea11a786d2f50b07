"""The SimPy run of one scenario and one replication. It emits records and computes nothing else.

The flow is driven by callbacks on SimPy's event calendar rather than by a generator process
per conversation: every step (a customer message, an agent finishing a reply, a buyer giving
up, a shift ending) is a bare event on `Environment._queue` whose one callback updates plain
objects. The run loop pops that calendar in SimPy's own order (time, priority, insertion) and
calls the callback directly, which is what `Environment.step` does for such events without
its per-event bookkeeping. Records go straight into preallocated numpy columns.
"""

from __future__ import annotations

import gc
from heapq import heapify, heappop, heappush

import numpy as np
import simpy

from sim.agents import Agent, GroupState, duty_periods
from sim.arrivals import Customers, sample_customers, streams
from sim.engine.records import ABANDONED, DEFLECTED, SERVED, Records
from sim.policies import Router, TopicQueues
from sim.scenario import Scenario, rate_table
from sim.scenario.model import bot_active

INF = float("inf")


class Conversation:
    """Live state of one conversation (its records live in `Records`)."""

    __slots__ = (
        "agent",
        "answered",
        "base",
        "done",
        "id",
        "n",
        "phone",
        "queued",
        "queued_s",
        "seen_agent",
        "ticket",
        "timer",
        "topic",
        "typing",
        "waiting_s",
    )

    def __init__(self, index: int, topic: int, n: int, base: int, phone: bool):
        self.id = index
        self.topic = topic
        self.n = n
        self.base = base
        self.answered = 0
        self.agent: Agent | None = None
        self.queued = False
        self.queued_s = 0.0
        self.ticket = 0
        self.done = False
        self.typing = False
        self.waiting_s: float | None = None  # send time of a message awaiting a reply
        self.phone = phone
        self.seen_agent = False
        self.timer = False  # a patience timer is on the calendar and can still fire


class _Step:
    """A bare SimPy event carrying one callback and one value.

    It goes straight onto SimPy's calendar (`Environment._queue`, as `(time, priority,
    insertion number, event)` exactly as `Environment.schedule` files it), skipping the
    bookkeeping of `Timeout` that this engine never uses. `DeskRun._dispatch` processes it as
    `Environment.step` would, but leaves it intact, so that an arrival's event and an agent's
    reply event can go back on the calendar instead of being allocated anew.
    """

    __slots__ = ("callbacks", "value")
    _ok = True

    def __init__(self, callbacks: tuple, value):
        self.callbacks = callbacks
        self.value = value


class _Timer(_Step):
    """A buyer's patience timer: a `_Step` that `DeskRun._drop_spent_timers` can recognise."""

    __slots__ = ()


_URGENT, _NORMAL = 0, 1  # simpy.events.URGENT, simpy.events.NORMAL


#: Spent patience timers tolerated on the calendar before they are removed (besides half the
#: calendar's size at the previous removal, so that removing costs O(1) per timer over a run).
_MIN_SPENT_TIMERS = 1024

#: How far ahead planned shift starts and ends are put on the calendar.
_DUTY_FEED_S = 3600.0


def _items(array: np.ndarray) -> memoryview:
    """A read view of a numpy column whose items are plain Python numbers.

    The event loop reads inputs through such views: numpy scalars would leak into the clock
    and slow every later computation, and a list of Python floats costs four times the memory
    and, on a large day, more cache misses per read than the packed column.
    """
    return memoryview(np.ascontiguousarray(array))


class _StopRun(Exception):
    """Raised by the stop event to end `DeskRun._dispatch`."""


def _stop_run(event) -> None:
    raise _StopRun


class DeskRun:
    """One replication of one scenario on a SimPy environment."""

    def __init__(self, scenario: Scenario, customers: Customers):
        self.scenario = scenario
        self.customers = c = customers
        self.env = env = simpy.Environment(initial_time=scenario.horizon.start_s)
        self._queue = env._queue
        self._eid = env._eid
        n, m = c.count, c.total_messages
        self.n_customers = n
        # Record columns are numpy arrays that the event loop writes through memoryviews:
        # assigning an item of a memoryview costs about half as much as of a numpy array.
        self.outcome = memoryview(np.zeros(n, dtype=np.int8))
        self.via_bot = memoryview(np.zeros(n, dtype=bool))
        self.bot_reply_s = memoryview(np.full(n, np.nan))
        self.queued_s = memoryview(np.full(n, np.nan))
        self.assigned_s = memoryview(np.full(n, np.nan))
        self.end_at_s = memoryview(np.full(n, np.nan))
        self.conv_agent = memoryview(np.full(n, -1, dtype=np.int32))
        self.on_duty_at_arrival = memoryview(np.zeros(n, dtype=np.int32))
        self.sent_s = memoryview(np.full(m, np.nan))
        self.reply_s = memoryview(np.full(m, np.nan))
        self.msg_agent = memoryview(np.full(m, -1, dtype=np.int32))
        self.duty_rows: list[tuple[int, int, float, float, bool]] = []
        self.spent_timers = 0  # patience timers on the calendar that can no longer fire
        self.spent_limit = _MIN_SPENT_TIMERS
        self.on_duty = 0

        self.groups = [
            GroupState(i, name, spec, spec.concurrency)
            for i, (name, spec) in enumerate(scenario.groups.items())
        ]
        self.agents: list[Agent] = []
        self.router = Router(scenario, self.groups, c.topics)
        self.queues = TopicQueues(len(c.topics))
        self.activations = np.zeros(len(self.groups), dtype=np.int64)
        self.overflow_on = scenario.routing.mode == "overflow"
        self.phone = [scenario.topics[t].channel == "phone" for t in c.topics]
        self.reply_time = self._reply_times()
        self.work_of = [_items(column) for column in self.reply_time]
        # reply_time_factor_by_open: a group's replies slow down with the agent's open chats;
        # the time each reply actually took is kept for its record (NaN: no factor applied).
        self.open_factor = [spec.reply_time_factor_by_open for spec in scenario.groups.values()]
        self.work_used = memoryview(np.full(m, np.nan)) if any(self.open_factor) else None
        self.arrival_of = _items(c.arrival_s)
        self.topic_of = _items(c.topic)
        self.n_of = _items(c.n_messages)
        self.base_of = _items(c.msg_start)
        self.patience_of = _items(c.patience_s)
        self.think_of = _items(c.think_s)
        self._setup_bot()
        bot = scenario.bot
        self.auto_greeting = bot.auto_greeting
        self.bot_reply_delay = bot.reply_delay
        self.handover_delay = bot.handover_delay
        # The `callbacks` of the most frequent kinds of event, built once (`run` drops them).
        self._on_message = (self._message,)
        self._on_escalate = (self._escalate,)
        self._on_deflect = (self._deflect,)
        self._on_abandon = (self._abandon,)
        self._spare: list[_Step] = []  # events of `_later` done with, for reuse

    # --- set-up --------------------------------------------------------------------------

    def _reply_times(self) -> list[np.ndarray]:
        """Reply length of every message for every group that could answer it."""
        c = self.customers
        message_topic = np.repeat(c.topic, c.n_messages)
        times = []
        for group in self.groups:
            column = np.full(c.total_messages, np.nan)
            for code, topic in enumerate(c.topics):
                if group in self.router.all_groups[code]:
                    mask = message_topic == code
                    column[mask] = group.spec.reply_dist(topic).from_uniform(c.reply_u[mask])
            times.append(column / group.spec.proficiency)
        return times

    def _setup_bot(self) -> None:
        bot, c = self.scenario.bot, self.customers
        self.bot_on = bot.enabled
        self.bot_windows = bot.hours_s
        deflect = np.array([bot.deflection.get(t, 0.0) for t in c.topics])
        self.deflected = _items(c.bot_u < deflect[c.topic])
        if bot.handling_time is not None:
            self.bot_handling_s = _items(bot.handling_time.from_uniform(c.bot_handling_u))
        else:
            self.bot_handling_s = _items(np.zeros(c.count))

    def _bot_active(self, t: float) -> bool:
        return bot_active(self.bot_on, self.bot_windows, t)

    def _schedule_duty(self) -> None:
        plan = []
        for group in self.groups:
            if group.spec.schedule is None:
                continue
            slots: dict[int, Agent] = {}
            for duty in duty_periods(group.spec.schedule, self.scenario):
                agent = slots.get(duty.slot)
                if agent is None:
                    agent = slots[duty.slot] = self._new_agent(group)
                plan.append((duty.start_s, next(self._eid), self._duty_on, agent))
                plan.append((duty.end_s, next(self._eid), self._duty_off, agent))
        plan.sort(key=lambda entry: entry[:2])
        self._duty_plan = plan
        if plan:
            self._call_urgent(plan[0][0], self._feed_duty, 0)
        for group in self.groups:
            if group.spec.standby is not None:
                self._call(0.0, self._standby_check, group)

    def _feed_duty(self, event) -> None:
        """Put the shift starts and ends of the next `_DUTY_FEED_S` on the calendar.

        A day's shifts are planned at set-up, but kept off the calendar until shortly before
        they are due, so that they do not make every push and pop dearer all day. Each keeps
        the insertion number it was given at set-up, and this event is urgent, so it runs
        before anything else due at its time: the order of events is the same as if all had
        been scheduled at set-up.
        """
        plan, i = self._duty_plan, event.value
        until = plan[i][0] + _DUTY_FEED_S
        while i < len(plan) and plan[i][0] < until:
            time_s, eid, callback, agent = plan[i]
            heappush(self._queue, (time_s, _NORMAL, eid, _Step((callback,), agent)))
            i += 1
        if i < len(plan):
            self._call_urgent(plan[i][0], self._feed_duty, i)

    def _call_urgent(self, time_s: float, callback, value) -> None:
        heappush(self._queue, (time_s, _URGENT, next(self._eid), _Step((callback,), value)))

    def _new_agent(self, group: GroupState, standby: bool = False) -> Agent:
        agent = Agent(len(self.agents), group, standby=standby)
        # An agent types one reply at a time, so one event object serves all its replies.
        agent.reply_event = _Step((self._replied,), agent)
        self.agents.append(agent)
        group.agents.append(agent)
        return agent

    def _call(self, delay: float, callback, value) -> None:
        heappush(
            self._queue,
            (self.env._now + delay, _NORMAL, next(self._eid), _Step((callback,), value)),
        )

    def _call_at(self, time_s: float, callback, value) -> None:
        heappush(self._queue, (time_s, _NORMAL, next(self._eid), _Step((callback,), value)))

    def _later(self, delay: float, callbacks: tuple, conv: Conversation) -> None:
        """Schedule `callbacks` for `conv` (the bot's decision, a think time) on a spare event.

        The callbacks of these kinds hand their event back to `_spare` once they have read
        it, so a run allocates only as many as are ever pending at once.
        """
        spare = self._spare
        if spare:
            event = spare.pop()
            event.callbacks = callbacks
            event.value = conv
        else:
            event = _Step(callbacks, conv)
        heappush(self._queue, (self.env._now + delay, _NORMAL, next(self._eid), event))

    # --- running -----------------------------------------------------------------------------

    def run(self) -> Records:
        horizon = self.scenario.horizon
        self._schedule_duty()
        if self.customers.count:
            self._call_at(self.arrival_of[0], self._arrive, 0)
        stop = horizon.end_s + horizon.drain
        try:
            self._dispatch(stop)
        finally:
            # Events left on the calendar, agents' reply events, the shared callbacks and the
            # shift plan hold this run's methods: drop them so the run is freed by reference
            # counting, not left to the collector.
            self._queue.clear()
            for agent in self.agents:
                agent.reply_event = None
            self._on_message = self._on_escalate = self._on_deflect = self._on_abandon = None
            self._spare.clear()
            self._duty_plan = []
        return self._records(stop)

    def _dispatch(self, stop: float) -> None:
        """`Environment.run(until=stop)` for this engine's bare events.

        Like `run`, it puts an urgent stop event on the calendar at `stop`, so events due at
        `stop` or later stay unprocessed; then it pops the calendar in SimPy's order and calls
        each event's one callback, which is what `Environment.step` does for them.
        """
        env = self.env
        queue = self._queue
        heappush(queue, (stop, _URGENT, next(self._eid), _Step((_stop_run,), None)))
        # The loop frees what it drops by reference counting: the only cycles it makes are a
        # conversation and its agent until it closes and the run's own structure (broken by
        # `run` at the end), so the cyclic collector would only walk the growing heap of live
        # objects again and again, at a cost that grows faster than the run.
        collecting = gc.isenabled()
        gc.disable()
        try:
            while True:
                env._now, _, _, event = heappop(queue)
                event.callbacks[0](event)
        except _StopRun:
            pass
        finally:
            if collecting:
                gc.enable()

    def _arrive(self, event) -> None:
        i = event.value
        now = self.env._now
        if i + 1 < self.n_customers:
            # The next arrival reuses this event: the loop is done with it.
            event.value = i + 1
            heappush(self._queue, (self.arrival_of[i + 1], _NORMAL, next(self._eid), event))
        topic = self.topic_of[i]
        conv = Conversation(i, topic, self.n_of[i], self.base_of[i], self.phone[topic])
        self.on_duty_at_arrival[i] = self.on_duty
        if self.bot_on and self._bot_active(now):
            self.via_bot[i] = True
            self.bot_reply_s[i] = now + self.bot_reply_delay
            if self.deflected[i]:
                self._later(self.bot_handling_s[i], self._on_deflect, conv)
            else:
                self._later(self.bot_handling_s[i] + self.handover_delay, self._on_escalate, conv)
            return
        if self.auto_greeting:
            self.bot_reply_s[i] = now
        self._to_people(conv)

    def _deflect(self, event) -> None:
        conv = event.value
        self._spare.append(event)
        self._close(conv, DEFLECTED)

    def _escalate(self, event) -> None:
        conv = event.value
        self._spare.append(event)
        self._to_people(conv)

    def _to_people(self, conv: Conversation) -> None:
        now = self.env._now
        i = conv.id
        self.queued_s[i] = now
        conv.queued_s = now
        conv.waiting_s = now
        self.sent_s[conv.base] = now
        # Patience runs out only while the first message waits: a buyer whose reply is being
        # typed at once never abandons and gets no timer. The timer's place among events at
        # one instant is taken now, before routing schedules anything (an overflow check due
        # at the same time as the buyer gives up comes after it).
        patience = self.patience_of[i]
        if patience != INF:
            timer_eid = next(self._eid)
        group = self.router.only_group[conv.topic]
        if group is not None:
            # One group, least busy first: what Router.agent_for would pick, with
            # GroupState.least_busy inlined (the common case, once per conversation).
            agent = None
            for level in group.free[:1] if conv.phone else group.free:
                if level:
                    agent = next(iter(level))
                    break
        else:
            agent = self.router.agent_for(conv, now)
        if agent is not None:
            self._assign(agent, conv)
        else:
            self.queues.push(conv)
            if self.overflow_on and self.router.overflow[conv.topic]:
                self._call(self.router.overflow_after_s, self._overflow, conv)
        if patience != INF and not conv.typing:
            conv.timer = True
            heappush(self._queue, (now + patience, _NORMAL, timer_eid, _Timer(self._on_abandon, conv)))

    def _overflow(self, event) -> None:
        conv = event.value
        if conv.queued and not conv.done:
            agent = self.router.agent_for(conv, self.env._now)
            if agent is not None:
                self.queues.take(conv)
                self._assign(agent, conv)

    def _abandon(self, event) -> None:
        conv = event.value
        conv.timer = False
        if conv.done or conv.answered > 0 or conv.typing:
            return
        if conv.queued:
            self.queues.take(conv)
        self._close(conv, ABANDONED)

    def _assign(self, agent: Agent, conv: Conversation) -> None:
        now = self.env._now
        conv.agent = agent
        if not conv.seen_agent:
            conv.seen_agent = True
            self.assigned_s[conv.id] = now
            self.conv_agent[conv.id] = agent.id
        agent.open += 1
        agent.phone = conv.phone
        agent.conversations.add(conv)
        agent.last_assigned_s = now
        # GroupState.refresh, inlined: this is the hottest path of the engine.
        group = agent.group
        if agent.level >= 0:
            del group.free[agent.level][agent]
            agent.level = -1
        if agent.open < group.concurrency and not agent.phone and not agent.leaving:
            group.free[agent.open][agent] = None
            agent.level = agent.open
        if conv.waiting_s is not None:
            if agent.typing is None and not agent.pending:
                self._begin_reply(agent, conv)  # nothing older waits: what _type would pick
            else:
                self._wait_at(agent, conv, conv.waiting_s)

    def _wait_at(self, agent: Agent, conv: Conversation, sent_s: float) -> None:
        """A message of `conv` sent at `sent_s` waits behind others for `agent`'s reply."""
        heappush(agent.pending, (sent_s, conv.id, conv))
        if agent.typing is None:
            self._type(agent)

    def _begin_reply(self, agent: Agent, conv: Conversation) -> None:
        agent.typing = conv
        conv.typing = True
        if conv.timer:
            # The buyer has an answer coming and will not give up: the timer is spent.
            conv.timer = False
            self.spent_timers += 1
            if self.spent_timers > self.spent_limit:
                self._drop_spent_timers()
        work = self.work_of[agent.group.index][conv.base + conv.answered]
        factors = self.open_factor[agent.group.index]
        if factors:  # reply_time_factor_by_open: the factor for the chats open now
            work *= factors[min(agent.open, len(factors)) - 1]
            self.work_used[conv.base + conv.answered] = work
        heappush(
            self._queue, (self.env._now + work, _NORMAL, next(self._eid), agent.reply_event)
        )

    def _drop_spent_timers(self) -> None:
        """Take spent patience timers off the calendar.

        Most buyers are answered long before their patience runs out, and their timers would
        otherwise sit on the calendar until then, making every push and pop dearer. This runs
        once the spent timers outnumber half the calendar's size at the previous removal (and
        `_MIN_SPENT_TIMERS`). Events are popped in the strict order of (time, priority,
        insertion), so removing events that would do nothing leaves the run unchanged.
        """
        queue = self._queue
        queue[:] = [item for item in queue if type(item[3]) is not _Timer or item[3].value.timer]
        heapify(queue)
        self.spent_timers = 0
        self.spent_limit = max(_MIN_SPENT_TIMERS, len(queue) // 2)

    def _type(self, agent: Agent) -> None:
        pending = agent.pending
        while pending:
            sent_s, _, conv = heappop(pending)
            # An entry is live only for the message it was pushed for: a conversation handed
            # back and returned to the same agent leaves a stale duplicate behind.
            if (
                conv.agent is agent
                and conv.waiting_s == sent_s
                and not conv.done
                and not conv.typing
            ):
                self._begin_reply(agent, conv)
                return

    def _replied(self, event) -> None:
        agent = event.value
        conv = agent.typing
        now = self.env._now
        k = conv.base + conv.answered
        self.reply_s[k] = now
        self.msg_agent[k] = agent.id
        conv.answered += 1
        conv.waiting_s = None
        conv.typing = False
        agent.typing = None
        if conv.answered == conv.n:
            self._close(conv, SERVED)
        else:
            self._later(self.think_of[k], self._on_message, conv)
            if agent.leaving and agent.group.spec.end_of_shift == "hand_back":
                # The reply in progress at the end of the shift is finished, then handed back.
                agent.conversations.discard(conv)
                agent.open -= 1
                conv.agent = None
                self._requeue(conv)
                self._release_if_done(agent)
                return
        if agent.typing is None and agent.pending:
            self._type(agent)

    def _message(self, event) -> None:
        conv = event.value
        self._spare.append(event)
        if conv.done:
            return
        now = self.env._now
        self.sent_s[conv.base + conv.answered] = now
        conv.waiting_s = now
        agent = conv.agent
        if agent is not None:
            if agent.typing is None and not agent.pending:
                self._begin_reply(agent, conv)
            else:
                self._wait_at(agent, conv, now)

    def _close(self, conv: Conversation, outcome: int) -> None:
        conv.done = True
        self.outcome[conv.id] = outcome
        self.end_at_s[conv.id] = self.env._now
        agent = conv.agent
        if agent is None:
            return
        conv.agent = None
        agent.conversations.discard(conv)
        agent.open -= 1
        agent.phone = False
        if agent.leaving:
            self._release_if_done(agent)
            return
        group = agent.group  # GroupState.refresh, inlined (hot path)
        if agent.level >= 0:
            del group.free[agent.level][agent]
        group.free[agent.open][agent] = None
        agent.level = agent.open
        if self.queues.length:
            self._pull(agent)

    def _pull(self, agent: Agent) -> None:
        """Give a freed agent waiting conversations until its slots are full."""
        if not self.queues.length:
            return
        now = self.env._now
        cap = agent.group.concurrency
        while agent.on_duty and not agent.leaving and agent.open < cap and not agent.phone:
            conv = self.router.next_for(agent, self.queues, now)
            if conv is None:
                return
            self.queues.take(conv)
            self._assign(agent, conv)

    # --- shifts and standby ------------------------------------------------------------------

    def _duty_on(self, event) -> None:
        agent = event.value
        if not agent.on_duty:
            agent.duty_start_s = self.env._now
        agent.on_duty = True
        agent.leaving = False
        self.on_duty += 1
        agent.group.refresh(agent)
        self._pull(agent)

    def _duty_off(self, event) -> None:
        agent = event.value
        agent.leaving = True
        self.on_duty -= 1
        agent.group.refresh(agent)
        if agent.group.spec.end_of_shift == "hand_back":
            for conv in sorted(agent.conversations, key=lambda c: c.queued_s, reverse=True):
                if conv is agent.typing:
                    continue
                agent.conversations.discard(conv)
                agent.open -= 1
                conv.agent = None
                self._requeue(conv)
        self._release_if_done(agent)

    def _requeue(self, conv: Conversation) -> None:
        now = self.env._now
        other = self.router.agent_for(conv, now)
        if other is not None:
            self._assign(other, conv)
        else:
            self.queues.push(conv, front=True)
            due = conv.queued_s + self.router.overflow_after_s
            if self.overflow_on and self.router.overflow[conv.topic] and due > now:
                # Handed back before its overflow wait is over: check again when it is.
                self._call_at(due, self._overflow, conv)

    def _release_if_done(self, agent: Agent) -> None:
        if agent.leaving and not agent.conversations and agent.typing is None:
            agent.on_duty = False
            agent.leaving = False
            agent.phone = False
            self.duty_rows.append(
                (agent.id, agent.group.index, agent.duty_start_s, self.env._now, agent.standby)
            )

    def _standby_check(self, event) -> None:
        group = event.value
        spec = group.spec.standby
        router = self.router
        topics = router.takes[group.index] + router.takes_late[group.index]
        now = self.env._now
        active = sum(1 for a in group.agents if a.standby and (a.on_duty or a.pending_start))
        waiting, oldest_s = self._backlog(topics)
        triggered = (spec.queue_length is not None and waiting >= spec.queue_length) or (
            spec.oldest_wait is not None and now - oldest_s >= spec.oldest_wait
        )
        if triggered and active < spec.cap and now < self.scenario.horizon.end_s:
            for _ in range(min(spec.batch, spec.cap - active)):
                agent = self._new_agent(group, standby=True)
                agent.pending_start = True
                self.activations[group.index] += 1
                self._call(spec.activation_delay, self._standby_on, agent)
        if now + spec.check_every < self.scenario.horizon.end_s:
            self._call(spec.check_every, self._standby_check, group)

    def _backlog(self, topics: list[int]) -> tuple[int, float]:
        """Customer messages of `topics` awaiting a reply, in the queue or at an agent, and the
        send time of the oldest. In chat most of the backlog sits in agents' open
        conversations, not in the queue, so both places count."""
        wanted = set(topics)
        now = self.env._now
        count, oldest = 0, now
        for t in topics:
            for ticket, conv in self.queues.queues[t]:
                if conv.queued and ticket == conv.ticket:
                    count += 1
                    oldest = min(oldest, conv.queued_s)
        for agent in self.agents:
            for sent_s, _, conv in agent.pending:
                if (
                    conv.agent is agent
                    and conv.waiting_s == sent_s
                    and not conv.done
                    and not conv.typing
                    and conv.topic in wanted
                ):
                    count += 1
                    oldest = min(oldest, sent_s)
        return count, oldest

    def _standby_on(self, event) -> None:
        agent = event.value
        agent.pending_start = False
        self._duty_on(event)
        self._call(agent.group.spec.standby.stay, self._duty_off, agent)

    # --- results -------------------------------------------------------------------------------

    def _records(self, stop: float) -> Records:
        for agent in self.agents:
            if agent.on_duty:
                self.duty_rows.append(
                    (agent.id, agent.group.index, agent.duty_start_s, stop, agent.standby)
                )
        rows = self.duty_rows
        c = self.customers
        conv_agent, msg_agent = np.asarray(self.conv_agent), np.asarray(self.msg_agent)
        reply_s = np.asarray(self.reply_s)
        agent_group = np.array([a.group.index for a in self.agents] or [0], dtype=np.int16)
        conv_group = np.where(
            conv_agent >= 0, agent_group[np.maximum(conv_agent, 0)], -1
        ).astype(np.int16)
        # Typing time is fixed by the message and the answering agent's group: derive it here
        # rather than write it from the event loop.
        answered = np.flatnonzero(msg_agent >= 0)
        work_s = np.full(len(reply_s), np.nan)
        groups_of = agent_group[msg_agent[answered]]
        for group in self.groups:
            rows_of = answered[groups_of == group.index]
            work_s[rows_of] = self.reply_time[group.index][rows_of]
        if self.work_used is not None:  # replies slowed by open chats: the time they took
            used = np.asarray(self.work_used)[answered]
            work_s[answered[np.isfinite(used)]] = used[np.isfinite(used)]
        records = Records(
            topics=c.topics,
            group_names=tuple(g.name for g in self.groups),
            start_s=self.scenario.horizon.start_s,
            end_s=self.scenario.horizon.end_s,
            stop_s=stop,
            arrival_s=c.arrival_s,
            topic=c.topic,
            outcome=np.asarray(self.outcome),
            via_bot=np.asarray(self.via_bot),
            bot_reply_s=np.asarray(self.bot_reply_s),
            queued_s=np.asarray(self.queued_s),
            assigned_s=np.asarray(self.assigned_s),
            end_at_s=np.asarray(self.end_at_s),
            agent=conv_agent,
            group=conv_group,
            on_duty_at_arrival=np.asarray(self.on_duty_at_arrival),
            reported=c.reported,
            n_messages=c.n_messages,
            msg_start=c.msg_start,
            sent_s=np.asarray(self.sent_s),
            reply_s=reply_s,
            msg_agent=msg_agent,
            work_s=work_s,
            duty_agent=np.array([r[0] for r in rows], dtype=np.int32),
            duty_group=np.array([r[1] for r in rows], dtype=np.int16),
            duty_start_s=np.array([r[2] for r in rows], dtype=float),
            duty_end_s=np.array([r[3] for r in rows], dtype=float),
            duty_standby=np.array([r[4] for r in rows], dtype=bool),
            activations=self.activations,
        )
        records.check_conservation()
        return records


def simulate(scenario: Scenario, replication: int = 0, seed: int | None = None) -> Records:
    """Run replication `replication` of `scenario` and return its records.

    Customers depend only on (seed, replication) and the scenario's arrival and topic fields,
    so variants that change staffing, routing or the bot meet the same buyers.
    """
    rngs = streams(scenario.seed if seed is None else seed, replication)
    customers = sample_customers(scenario, rngs, rate_table(scenario))
    return DeskRun(scenario, customers).run()
