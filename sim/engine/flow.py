"""The conversation flow: a buyer arrives, meets the bot or goes to people, waits, is answered
message by message, and ends served, deflected or abandoned.

Every step is an event on SimPy's calendar whose callback moves plain objects. Events are
`Step`s (`simpy.Timeout`s naming their target), armed again for a later use once processed
instead of being allocated anew: the arrival event for the next buyer, an agent's reply event
for its next reply, a conversation's own event for the bot's decision, and spare ones (a closed
conversation's, a fired patience timer or wake-up) for whatever comes next. The callbacks they
carry are lists built once per run, so that the run can drop them all when it ends.

A buyer's next message has no event of its own: when a reply ends, the buyer's next message
(its send time drawn in advance) is filed in the agent's heap of waiting messages at once, and
the agent takes it up when it is the oldest one sent. Only an agent with nothing to type is
woken by an event, when its next message is sent; a busy agent finds the message waiting when
its reply ends. So the message costs no event when the agent is busy (most of them, on a busy
desk), and the agent answers exactly what it would if the message were an event of its own.
"""

from __future__ import annotations

from heapq import heappop, heappush

import numpy as np

from sim.engine.calendar import NORMAL, Step, delay_until, exact_gaps
from sim.engine.conversation import Conversation
from sim.engine.recorder import items
from sim.engine.records import ABANDONED, DEFLECTED, SERVED

INF = float("inf")


class ConversationFlow:
    """The callbacks of conversations' events, and what they do to agents and queues."""

    # Slots, not an instance dict: the flow has more attributes than CPython 3.11 keeps in a
    # shared-key instance dict (30), past which every `self.x` of the callbacks is a hashed
    # dict lookup; a slot is read at a fixed offset (4% fewer instructions per M/M/c
    # customer, benchmarks/instructions.py).
    __slots__ = (
        "agent_for",
        "arrival_event",
        "arrival_of",
        "assigned_s",
        "base_of",
        "bot",
        "bot_reply_s",
        "bots",
        "conv_agent",
        "end_at_s",
        "env",
        "gap_of",
        "hands_back",
        "may_recheck",
        "msg_agent",
        "n_customers",
        "n_of",
        "next_arrival",
        "on_abandon",
        "on_arrive",
        "on_deflect",
        "on_duty_at_arrival",
        "on_escalate",
        "on_recheck",
        "on_replied",
        "on_wake",
        "open_factor",
        "outcome",
        "patience_of",
        "phone",
        "policy",
        "pool",
        "queued_s",
        "queues",
        "rechecks",
        "recorder",
        "reply_s",
        "scenario",
        "schedule",
        "sent_s",
        "spare",
        "stop_s",
        "think_of",
        "topic_of",
        "via_bot",
        "work_of",
        "work_used",
    )

    def __init__(self, env, scenario, customers, pool, bot, policy, queues, recorder,
                 reply_time, arriving: int | None = None):
        self.env = env
        self.schedule = env.schedule
        self.spare: list[Step] = []  # processed events, to be armed again
        #: Pending re-offers to agents (e.g. overflow checks) by conversation id: (event, due).
        self.rechecks: dict[int, list[tuple[Step, float]]] = {}
        self.may_recheck = getattr(policy, "rechecks", True)
        self.scenario = scenario
        self.pool = pool
        self.bot = bot
        self.policy = policy
        self.agent_for = policy.agent_for  # bound once: asked once per conversation
        self.queues = queues
        c = customers
        # Buyers 0 .. n_customers - 1 arrive one by one; rows after them (buyers already at
        # the desk when a state is resumed) never arrive.
        self.n_customers = c.count if arriving is None else arriving
        self.phone = [scenario.topics[t].channel == "phone" for t in c.topics]
        self.work_of = [items(column) for column in reply_time]
        # reply_time_factor_by_open: a group's replies slow down with the agent's open chats;
        # the time each reply actually took goes to its record (NaN: no factor applied).
        self.open_factor = [g.spec.reply_time_factor_by_open for g in pool.groups]
        self.work_used = (memoryview(np.full(len(reply_time[0]), np.nan))
                          if any(self.open_factor) and reply_time else None)
        self.arrival_of = items(c.arrival_s)
        self.gap_of = items(exact_gaps(c.arrival_s[:self.n_customers]))
        self.topic_of = items(c.topic)
        self.n_of = items(c.n_messages)
        self.base_of = items(c.msg_start)
        self.patience_of = items(c.patience_s)
        self.think_of = items(c.think_s)
        self.hands_back = [g.spec.end_of_shift == "hand_back" for g in pool.groups]
        r = self.recorder = recorder
        r.work_used = self.work_used
        self.outcome, self.via_bot, self.bot_reply_s = r.outcome, r.via_bot, r.bot_reply_s
        self.queued_s, self.assigned_s, self.end_at_s = r.queued_s, r.assigned_s, r.end_at_s
        self.conv_agent, self.on_duty_at_arrival = r.conv_agent, r.on_duty_at_arrival
        self.sent_s, self.reply_s, self.msg_agent = r.sent_s, r.reply_s, r.msg_agent
        #: Conversations with the bot (by id): the only open ones held by nothing but their
        #: own pending event (the others are in a queue or at an agent).
        self.bots: dict[int, Conversation] = {}
        self.next_arrival = 0  # the buyer whose arrival is on the calendar
        # A message sent at or after the end of the run is never sent (its record stays
        # empty); the desk sets this to its stop before running.
        self.stop_s = INF
        self.arrival_event = None
        # Callback lists of the recurring kinds of event, shared by every event of the kind.
        self.on_arrive = [self.arrive]
        self.on_wake = [self.wake]
        self.on_escalate = [self.escalate]
        self.on_deflect = [self.deflect]
        self.on_abandon = [self.abandon]
        self.on_replied = [self.replied]
        self.on_recheck = [self.recheck]

    def close_down(self) -> None:
        """Drop every callback the calendar still holds, so a finished run is freed."""
        for callbacks in (self.on_arrive, self.on_wake, self.on_escalate, self.on_deflect,
                          self.on_abandon, self.on_replied, self.on_recheck):
            callbacks.clear()
        self.bots.clear()
        self.spare.clear()
        self.rechecks.clear()
        for agent in self.pool.agents:
            agent.reply_event = None
            agent.wake_event = None
        self.arrival_event = None

    def later(self, delay: float, target, callbacks: list) -> Step:
        """An event for `target` due in `delay`, carrying `callbacks`: a spare one if any."""
        spare = self.spare
        if spare:
            event = spare.pop()
            event.target = target
            event.callbacks = callbacks
            self.schedule(event, NORMAL, delay)
        else:
            event = Step(self.env, delay)
            event.target = target
            event.callbacks = callbacks
        return event

    # --- arrivals and the bot ---------------------------------------------------------------

    def start_arrivals(self, first: int) -> None:
        """Put buyer `first`'s arrival on the calendar (the rest follow one by one)."""
        self.next_arrival = first
        if first < self.n_customers:
            now = self.env.now
            self.arrival_event = Step(self.env, delay_until(now, self.arrival_of[first]))
            self.arrival_event.callbacks = self.on_arrive

    def arrive(self, event) -> None:
        i = self.next_arrival
        now = self.arrival_of[i]  # the event's time, exactly (`delay_until`)
        if i + 1 < self.n_customers:
            # The next arrival reuses this event, which the calendar is done with.
            self.next_arrival = i + 1
            event.callbacks = self.on_arrive
            self.schedule(event, NORMAL, self.gap_of[i + 1])
        else:
            self.next_arrival = self.n_customers
            self.arrival_event = None
        topic = self.topic_of[i]
        conv = Conversation(i, topic, self.n_of[i], self.base_of[i], self.phone[topic])
        self.on_duty_at_arrival[i] = self.pool.on_duty
        bot = self.bot
        if bot.enabled and (not bot.windows or bot.answers(now)):
            self.bots[i] = conv
            self.via_bot[i] = True
            self.bot_reply_s[i] = now + bot.reply_delay
            if bot.u[i] < bot.deflection[topic]:
                delay, callbacks = bot.handling_s[i], self.on_deflect
            else:
                delay, callbacks = bot.handling_s[i] + bot.handover_delay, self.on_escalate
            # `later`, inlined (once per buyer the bot meets).
            spare = self.spare
            if spare:
                decision = spare.pop()
                decision.target = conv
                decision.callbacks = callbacks
                self.schedule(decision, NORMAL, delay)
            else:
                decision = Step(self.env, delay)
                decision.target = conv
                decision.callbacks = callbacks
            conv.event = decision
            conv.next_s = now + delay
            return
        if bot.auto_greeting:
            self.bot_reply_s[i] = now
        self.to_people(conv, now)

    def deflect(self, event) -> None:
        conv = event.target
        if conv.event is event:  # not taken from the bot in the meantime (Desk.bot_hand_over)
            del self.bots[conv.id]
            self.close(conv, DEFLECTED, conv.next_s)

    def escalate(self, event) -> None:
        conv = event.target
        if conv.event is event:
            del self.bots[conv.id]
            self.to_people(conv, conv.next_s)

    # --- reaching people ----------------------------------------------------------------------

    def to_people(self, conv: Conversation, now: float) -> None:
        i = conv.id
        # The first message's send time is this time too (`Recorder.records` writes it).
        self.queued_s[i] = now
        conv.queued_s = now
        conv.waiting_s = now
        # Patience runs out only while the first message waits: a buyer whose reply is being
        # typed at once gets no timer. The timer goes on the calendar before an overflow check,
        # so a buyer whose patience ends as the overflow wait does has left by then.
        agent = self.agent_for(conv, now)
        patience = self.patience_of[i]
        if agent is not None:
            self.assign(agent, conv, now)
            if patience != INF and not conv.typing:
                conv.timer = self.later(patience, conv, self.on_abandon)
            return
        self.queues.push(conv)
        if patience != INF:
            conv.timer = self.later(patience, conv, self.on_abandon)
        if self.may_recheck:
            due = self.policy.recheck_at(conv)
            if due is not None:
                self.recheck_later(conv, due, now)

    def recheck_later(self, conv: Conversation, due: float, now: float) -> None:
        """Offer `conv` to agents again at `due` (the policy asked: e.g. an overflow wait)."""
        event = self.later(delay_until(now, due), conv, self.on_recheck)
        self.rechecks.setdefault(conv.id, []).append((event, due))

    def recheck(self, event) -> None:
        conv = event.target
        self.spare.append(event)
        pending = self.rechecks[conv.id]
        pending[:] = [item for item in pending if item[0] is not event]
        if not pending:
            del self.rechecks[conv.id]
        if conv.queued and not conv.done:
            now = self.env.now
            agent = self.policy.agent_for(conv, now)
            if agent is not None:
                self.queues.take(conv)
                self.assign(agent, conv, now)

    def abandon(self, event) -> None:
        conv = event.target
        self.spare.append(event)
        if conv.timer is not event:
            return  # spent: the buyer is being answered
        conv.timer = None
        if conv.done or conv.answered > 0 or conv.typing:
            return
        if conv.queued:
            self.queues.take(conv)
        self.close(conv, ABANDONED, self.env.now)

    def assign(self, agent, conv: Conversation, now: float) -> None:
        """`agent` takes `conv` at `now` (`AgentPool.hold`, inlined: once per conversation)."""
        if not conv.seen_agent:
            conv.seen_agent = True
            self.assigned_s[conv.id] = now
            self.conv_agent[conv.id] = agent.id
        conv.agent = agent
        agent.open = held = agent.open + 1
        agent.phone = phone = conv.phone
        agent.conversations.add(conv)
        agent.last_assigned_s = now
        # GroupState.refresh, inlined (once per conversation): re-filed by its new load.
        group = agent.group
        level = agent.level
        if level >= 0:
            del group.free[level][agent]
        if held < group.concurrency and agent.on_duty and not agent.leaving and not phone:
            group.free[held][agent] = None
            agent.level = held
        else:
            agent.level = -1
        waiting_s = conv.waiting_s
        if waiting_s is not None:
            if waiting_s > now:
                # The buyer is still typing it (a conversation handed back between messages):
                # filed for when it is sent.
                heappush(agent.pending, (waiting_s, conv.id, conv))
                if agent.typing is None and waiting_s < agent.wake_s:
                    self.wake_at(agent, waiting_s, now)
            elif agent.typing is None and (not agent.pending or agent.pending[0][0] > now):
                self.begin_reply(agent, conv, now)  # nothing older waits: what `type_next` picks
            else:
                self.wait_at(agent, conv, waiting_s, now)

    # --- replies and messages -----------------------------------------------------------------

    def wait_at(self, agent, conv: Conversation, sent_s: float, now: float) -> None:
        """A message of `conv` sent at `sent_s` waits behind others for `agent`'s reply."""
        heappush(agent.pending, (sent_s, conv.id, conv))
        if agent.typing is None:
            self.type_next(agent, now)

    def begin_reply(self, agent, conv: Conversation, now: float) -> None:
        agent.typing = conv
        conv.typing = True
        # The buyer has an answer coming and will not give up: a timer still on the calendar
        # is spent and will do nothing.
        conv.timer = None
        # The one place a reply's duration is decided: the message's pre-drawn length for the
        # answering agent's group (Records.work_s is read back from the same columns).
        index = agent.group.index
        k = conv.base + conv.answered
        work = self.work_of[index][k]
        if self.work_used is not None and self.open_factor[index]:
            # reply_time_factor_by_open: the factor for the chats open now.
            factors = self.open_factor[index]
            work *= factors[min(agent.open, len(factors)) - 1]
            self.work_used[k] = work
        agent.reply_due_s = now + work
        event = agent.reply_event
        if event is None:
            agent.reply_event = event = Step(self.env, work)
            event.target = agent
        else:
            self.schedule(event, NORMAL, work)
        event.callbacks = self.on_replied

    def type_next(self, agent, now: float) -> None:
        """An agent with nothing to type takes the oldest message sent to it, or, when its
        buyers are all still typing, is woken when the next one is sent."""
        pending = agent.pending
        while pending:
            sent_s, _, conv = pending[0]
            # An entry is live only for the message it was pushed for: a conversation handed
            # back and returned to the same agent leaves a stale duplicate behind.
            if (
                conv.agent is agent
                and conv.waiting_s == sent_s
                and not conv.done
                and not conv.typing
            ):
                if sent_s > now:
                    if sent_s < agent.wake_s:
                        self.wake_at(agent, sent_s, now)
                    return
                heappop(pending)
                self.begin_reply(agent, conv, now)
                return
            heappop(pending)

    def wake_at(self, agent, at: float, now: float) -> None:
        """Wake `agent` at `at`, when its next message is sent (an earlier wake-up armed
        before stays on the calendar and does nothing more than look)."""
        agent.wake_s = at
        agent.wake_event = self.later(delay_until(now, at), agent, self.on_wake)

    def wake(self, event) -> None:
        agent = event.target
        self.spare.append(event)
        if agent.wake_event is event:
            agent.wake_event = None
            agent.wake_s = INF
        if agent.typing is None:
            self.type_next(agent, self.env.now)

    def replied(self, event) -> None:
        agent = event.target
        conv = agent.typing
        now = agent.reply_due_s  # the event's time, exactly
        k = conv.base + conv.answered
        self.reply_s[k] = now
        self.msg_agent[k] = agent.id
        conv.answered = answered = conv.answered + 1
        conv.typing = False
        agent.typing = None
        if answered == conv.n:
            conv.waiting_s = None
            self.close(conv, SERVED, now)
        else:
            # The buyer's next message, sent after a think time (the time its own event would
            # have had): filed now, taken up once sent (the module docstring).
            sent_s = now + self.think_of[k]
            conv.waiting_s = sent_s
            if sent_s < self.stop_s:
                self.sent_s[k + 1] = sent_s
            if agent.leaving and self.hands_back[agent.group.index]:
                # The reply in progress at the end of the shift is finished, then handed back.
                self.pool.drop(agent, conv)
                self.requeue(conv, now)
                self.pool.release_if_done(agent, now)
                return
            heappush(agent.pending, (sent_s, conv.id, conv))
        if agent.typing is None:
            # `type_next`, inlined (once per reply): the oldest live message sent is next.
            pending = agent.pending
            while pending:
                sent_s, _, waiting = pending[0]
                if (
                    waiting.agent is agent
                    and waiting.waiting_s == sent_s
                    and not waiting.done
                    and not waiting.typing
                ):
                    if sent_s > now:
                        if sent_s < agent.wake_s:
                            self.wake_at(agent, sent_s, now)
                        return
                    heappop(pending)
                    self.begin_reply(agent, waiting, now)
                    return
                heappop(pending)

    # --- closing, freed slots, hand-backs -------------------------------------------------------

    def close(self, conv: Conversation, outcome: int, now: float) -> None:
        conv.done = True
        i = conv.id
        self.outcome[i] = outcome
        self.end_at_s[i] = now
        if conv.event is not None:
            self.spare.append(conv.event)  # processed: its last step is done
            conv.event = None
        agent = conv.agent
        if agent is None:
            return
        # AgentPool.drop, inlined: once per conversation.
        conv.agent = None
        agent.conversations.discard(conv)
        agent.open = held = agent.open - 1
        agent.phone = False
        if agent.leaving:
            self.pool.release_if_done(agent, now)
            return
        # GroupState.refresh, inlined (the agent is not leaving and no longer on a call).
        group = agent.group
        level = agent.level
        if level >= 0:
            del group.free[level][agent]
        if held < group.concurrency and agent.on_duty:
            group.free[held][agent] = None
            agent.level = held
        else:
            agent.level = -1
        if self.queues.length:
            self.pull(agent, now)

    def pull(self, agent, now: float) -> None:
        """Give an agent with free slots waiting conversations until its slots are full."""
        queues = self.queues
        if not queues.length:
            return
        cap = agent.group.concurrency
        next_for = self.policy.next_for
        while agent.on_duty and not agent.leaving and agent.open < cap and not agent.phone:
            conv = next_for(agent, queues, now)
            if conv is None:
                return
            queues.take(conv)
            self.assign(agent, conv, now)

    def requeue(self, conv: Conversation, now: float) -> None:
        """A conversation handed back at the end of a shift goes to another agent or back to
        the front of its queue."""
        other = self.policy.agent_for(conv, now)
        if other is not None:
            self.assign(other, conv, now)
        else:
            self.queues.push(conv, front=True)
            due = self.policy.recheck_at(conv)
            if due is not None and due > now:
                # Handed back before its overflow wait is over: check again when it is.
                self.recheck_later(conv, due, now)

    def hand_back(self, agent, now: float) -> None:
        """At the end of `agent`'s duty, hand its open conversations back (all but the one it
        is typing, which follows when the reply is done), most recently queued first."""
        for conv in sorted(agent.conversations, key=lambda c: c.queued_s, reverse=True):
            if conv is agent.typing:
                continue
            self.pool.drop(agent, conv)
            self.requeue(conv, now)
