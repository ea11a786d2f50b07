"""Snapshots of a run, and runs resumed from a desk state (docs/snapshots.md).

`snapshots` runs a replication and, at each requested time, writes down the desk as a
`DeskState`. Besides what a desk manager sees, a snapshot keeps what continues the run
exactly: each buyer's row among the replication's pre-drawn customers (a resumed run draws the
same customers from the same seed and replication, and starts the arrivals at the next one),
exact times, and the order of every pending event. SimPy runs events due at the same time in
the order they were scheduled; a snapshot cannot read SimPy's calendar, so it learns that order
by watching: it adds a callback to every pending event and lets the run go on, and the order in
which they run is their `order`. Resuming schedules them in that order, so events due at the
same time keep their order, and the resumed run is the uninterrupted one, record for record.

`resume` continues from any state: a snapshot, or a state written by hand, whose open buyers
get their remaining messages, think times, reply lengths and patience (given the wait so far)
drawn from the scenario's distributions, and whose later buyers arrive as the scenario's
curve says.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Iterable, Sequence
from heapq import heappush
from pathlib import Path

import numpy as np

from sim.arrivals import Customers, join_customers, open_customers, state_stream
from sim.engine.calendar import Step, delay_until
from sim.engine.conversation import Conversation
from sim.engine.desk import DeskRun, Process, customers_for
from sim.engine.records import Records
from sim.engine.state import FORMAT, VERSION, DeskState, StateError, load, resolve
from sim.engine.state import Agent as AgentSpec
from sim.policies import RoutingPolicy
from sim.scenario import Scenario
from sim.scenario.arguments import processes_argument, require_scenario
from sim.units import format_clock, moment_seconds

INF = math.inf


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _clock(seconds: float, day0) -> str:
    """A readable label of a time, to the second (the exact time is written beside it)."""
    day, rest = divmod(math.floor(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")
    if day0 is not None:
        return f"{(day0 + dt.timedelta(days=day)).isoformat()} {text}"
    return text if day == 0 else f"day{day} {text}"


class _Capture:
    """A snapshot being taken: the document, and its pending events waiting for an order."""

    def __init__(self):
        self.doc: dict = {}
        self.holders: list[tuple[dict, float]] = []
        self.ran: list[int] = []
        self.arrival: dict | None = None  # the next arrival's holder

    def watch(self, event, holder: dict, due: float) -> dict:
        """Note `event`'s place in the order events run (its callbacks get a private copy)."""
        k = len(self.holders)
        self.holders.append((holder, due))
        ran = self.ran
        event.callbacks = [*event.callbacks, lambda _event: ran.append(k)]
        return holder

    def note(self, holder: dict, due: float) -> dict:
        """A pending step with no event of its own (a buyer's next message, filed at the
        agent): ordered by its time after the events that ran."""
        self.holders.append((holder, due))
        return holder

    def finish(self) -> DeskState:
        order = {k: rank for rank, k in enumerate(self.ran)}
        # Events still pending when the run ended never ran: after the others, by time.
        late = sorted((k for k in range(len(self.holders)) if k not in order),
                      key=lambda k: (self.holders[k][1], k))
        for k in late:
            order[k] = len(order)
        for k, (holder, _) in enumerate(self.holders):
            holder["order"] = order[k]
        if self.arrival is not None:
            self.doc["source"]["arrival_order"] = self.arrival["order"]
        return DeskState.model_validate(self.doc)


def capture(run: DeskRun, seed: int, replication: int, variant: str = "baseline"
            ) -> _Capture:
    """Write down `run`'s desk now; the orders are filled in by `_Capture.finish` once the
    run has gone on past every pending event."""
    cap = _Capture()
    env, flow, pool, shifts, rec = run.env, run.flow, run.pool, run.shifts, run.recorder
    scenario, c = run.scenario, run.customers
    now = env.now
    day0 = scenario.horizon.day0
    topics = c.topics
    arrival_of, patience_of = c.arrival_s, c.patience_s

    def chat(conv: Conversation) -> dict:
        i = conv.id
        d: dict = {"id": i, "topic": topics[conv.topic], "arrived": float(arrival_of[i])}
        with_bot = i in flow.bots
        if not with_bot:
            d["queued"] = conv.queued_s
        # A buyer still typing the next message has its send time as `waiting_s` already.
        thinking = conv.waiting_s is not None and conv.waiting_s > now
        if conv.waiting_s is not None and not thinking:
            d["waiting_since"] = conv.waiting_s
        d["answered"] = conv.answered
        d["messages"] = conv.n
        if _finite(rec.assigned_s[i]) is not None:
            d["assigned"] = rec.assigned_s[i]
            d["first_agent"] = rec.conv_agent[i]
        if _finite(rec.bot_reply_s[i]) is not None:
            d["bot_reply"] = rec.bot_reply_s[i]
            if not rec.via_bot[i]:
                d["via_bot"] = False  # an automatic greeting, not the bot
        d["on_duty_at_arrival"] = rec.on_duty_at_arrival[i]
        history = []
        for j in range(conv.answered):
            k = conv.base + j
            sent = conv.queued_s if j == 0 else rec.sent_s[k]
            history.append({"sent": sent, "reply": rec.reply_s[k], "agent": rec.msg_agent[k]})
        if history:
            d["history"] = history
        event = conv.event
        if with_bot and event is not None and not event.processed:
            due = conv.next_s
            # The first callback says what the event does (an earlier snapshot of the same
            # run may have given the event a private copy of the shared list).
            d["bot"] = {"deflects": event.callbacks[0] == flow.deflect,
                        "decides": cap.watch(event, {"at": due}, due)}
        elif thinking:
            due = conv.waiting_s
            agent = conv.agent
            if agent is not None and agent.wake_s == due and agent.wake_event is not None:
                # The agent is idle and will be woken by this message.
                d["next_message"] = cap.watch(agent.wake_event, {"at": due}, due)
            else:
                d["next_message"] = cap.note({"at": due}, due)
        timer = getattr(conv, "timer", None)
        if timer is not None:
            due = conv.queued_s + patience_of[i]
            d["patience_ends"] = cap.watch(timer, {"at": due}, due)
        if i in flow.rechecks:
            d["rechecks"] = [cap.watch(ev, {"at": due}, due) for ev, due in flow.rechecks[i]]
        agent = conv.agent
        if agent is not None and agent.typing is conv:
            due = agent.reply_due_s
            d["typing"] = cap.watch(agent.reply_event, {"done_at": due}, due)
        return d

    groups: dict = {}
    for group in pool.groups:
        ranks = {}
        for level in group.free:
            for agent in level:
                ranks[agent] = len(ranks)
        agents = []
        for agent in group.agents:
            if not agent.on_duty:
                continue
            a: dict = {"id": agent.id}
            if agent.slot >= 0:
                a["slot"] = agent.slot
            if agent.standby:
                a["standby"] = True
            a["since"] = agent.duty_start_s
            if agent.leaving:
                a["leaving"] = True
            if agent.last_assigned_s >= 0:
                a["last_assigned"] = agent.last_assigned_s
            if agent in shifts.staying:
                event, due = shifts.staying[agent]
                a["until"] = cap.watch(event, {"at": due}, due)
            if agent in ranks:
                a["free_rank"] = ranks[agent]
            convs = sorted(agent.conversations, key=lambda conv: (conv.queued_s, conv.id))
            a["chats"] = [chat(conv) for conv in convs]
            agents.append(a)
        g: dict = {"agents": agents}
        if group.spec.standby is not None:
            g["activations"] = int(rec.activations[group.index])
            if group.index in shifts.checks:
                event, due = shifts.checks[group.index]
                g["next_check"] = cap.watch(event, {"at": due}, due)
            g["arriving"] = [cap.watch(event, {"id": agent.id, "at": due}, due)
                             for agent, (event, due) in shifts.arriving.items()
                             if agent.group is group]
        ahead: dict[float, list[int]] = {}
        for t, on, agent in shifts.plan[shifts.next_entry:]:
            if agent.group is group:
                ahead.setdefault(t, [0, 0])[0 if on else 1] += 1
        g["shifts_ahead"] = [{"at": _clock(t, day0), "start": s, "end": e}
                             for t, (s, e) in ahead.items()]
        groups[group.name] = g
    queues = {topics[t]: [chat(conv) for conv in run.queues.waiting(t)]
              for t in range(len(topics))}
    source: dict = {"seed": seed, "replication": replication, "variant": variant,
                    "next_arrival": flow.next_arrival,
                    "agents": [agent.group.name for agent in pool.agents]}
    plan, nxt = shifts.plan, shifts.next_entry
    if nxt < len(plan) and plan[nxt][0] == now:
        # The run stopped at a shift change's time before making it (SimPy ran the stop
        # first): the resumed run makes it first thing.
        source["duty_due_now"] = True
    if flow.next_arrival < c.count and flow.arrival_event is not None:
        due = float(arrival_of[flow.next_arrival])
        cap.arrival = cap.watch(flow.arrival_event, {}, due)
    cap.doc = {
        "format": FORMAT, "version": VERSION, "scenario": scenario.name, "time": now,
        "time_label": _clock(now, day0), "source": source, "groups": groups,
        "queues": {t: q for t, q in queues.items() if q},
        "with_bot": [chat(conv) for _, conv in sorted(flow.bots.items())],
    }
    return cap


def snapshots(scenario: Scenario, times: Sequence[float | str | dt.datetime], replication: int = 0,
              seed: int | None = None, *, routing: RoutingPolicy | None = None,
              processes: Iterable[Process] = (), variant: str = "baseline"
              ) -> tuple[list[DeskState], Records]:
    """Run replication `replication` of `scenario`, writing down the desk at each of `times`
    (seconds since day-0 midnight or clock times, inside the horizon); returns the states in
    time order and the run's records (the same as `simulate`'s: taking snapshots changes
    nothing)."""
    seed = scenario.seed if seed is None else seed
    stop = scenario.horizon.end_s + scenario.horizon.drain
    times = [_seconds(t, scenario) for t in times]
    for t in times:
        if not scenario.horizon.start_s < t < stop:
            raise StateError(f"snapshot time {format_clock(t, scenario.horizon.day0)} is not "
                             "inside the scenario's horizon (after its start, before the end "
                             "of the drain)")
    run = DeskRun(scenario, customers_for(scenario, replication, seed), routing=routing,
                  processes=processes)
    caps: list[_Capture] = []
    unique = sorted(set(times))
    records = run.run(pause_at=unique,
                      on_pause=lambda r: caps.append(capture(r, seed, replication, variant)))
    # One state per time asked for: a time given twice (as text and as seconds) shares one.
    by_time = dict(zip(unique, [cap.finish() for cap in caps]))
    return [by_time[t] for t in sorted(times)], records


def _seconds(at: float | str | dt.datetime, scenario: Scenario) -> float:
    """A snapshot time: seconds since day-0 midnight, or a clock time ("2026-11-11 00:10",
    or "08:00" on day 0, or a `datetime`)."""
    try:
        return moment_seconds(at, scenario.horizon.day0)
    except ValueError as exc:
        raise StateError(f"snapshot time: {exc}") from None


def snapshot(scenario: Scenario, at: float | str | dt.datetime, replication: int = 0,
             seed: int | None = None, *,
             routing: RoutingPolicy | None = None, processes: Iterable[Process] = ()
             ) -> DeskState:
    """The desk of replication `replication` of `scenario` at time `at` (seconds or a clock
    time)."""
    states, _ = snapshots(scenario, [at], replication, seed, routing=routing,
                          processes=processes)
    return states[0]


# --- resuming -------------------------------------------------------------------------------


class _Placed:
    """One open conversation of a state and where it is."""

    __slots__ = ("agent", "chat", "conv", "place", "row", "topic")

    def __init__(self, chat, place: str, agent=None):
        self.chat, self.place, self.agent = chat, place, agent
        self.row = -1
        self.conv = None


def prepare(scenario: Scenario, state: DeskState, replication: int | None = None,
            seed: int | None = None, *, routing: RoutingPolicy | None = None,
            processes: Iterable[Process] = (), source: str = "<state>",
            until_s: float | None = None, customers: Customers | None = None
            ) -> tuple[DeskRun, np.ndarray]:
    """A `DeskRun` set to `state`, ready to run (to `until_s`, default the end of the
    drain), and the rows its records are cut to. `customers`: the replication's buyers when
    the caller holds them already (they depend only on the seed, the replication and the
    scenario's arrival fields), else they are drawn."""
    state = resolve(state, scenario, source)
    src = state.source
    seed = seed if seed is not None else (src.seed if src is not None else scenario.seed)
    if replication is None:
        replication = src.replication if src is not None else 0
    now = state.time
    table = customers_for(scenario, replication, seed) if customers is None else customers
    n = table.count
    topics = table.topics
    code = {name: k for k, name in enumerate(topics)}
    same_streams = src is not None and src.seed == seed and src.replication == replication

    placed: list[_Placed] = []
    for group in state.groups.values():
        for agent in group.agents:
            placed += [_Placed(chat, "agent", agent) for chat in agent.chats]
    for chats in state.queues.values():
        placed += [_Placed(chat, "queue") for chat in chats]
    placed += [_Placed(chat, "bot") for chat in state.with_bot]

    extra_rows = []
    for p in placed:
        chat = p.chat
        i = chat.id
        if (same_streams and i is not None and i < n and table.arrival_s[i] == chat.arrived
                and table.topic[i] == code[chat.topic]
                and (chat.messages is None or table.n_messages[i] == chat.messages)):
            p.row = i
            continue
        # Not among the replication's buyers: its future is drawn (a buyer with the bot
        # keeps the decision the state gives, and draws its patience for when it reaches
        # people).
        waiting_first = chat.answered == 0 and chat.typing is None
        p.row = n + len(extra_rows)
        waited = None
        if p.place == "bot":
            waited = 0.0
        elif waiting_first and chat.patience_ends is None:
            waited = now - chat.queued
        extra_rows.append({
            "topic": code[chat.topic], "arrival_s": chat.arrived, "answered": chat.answered,
            "messages": chat.messages, "waited_s": waited,
        })
    extra = open_customers(scenario, state_stream(seed, replication), topics, extra_rows)
    customers = join_customers(table, extra) if extra_rows else table
    run = DeskRun(scenario, customers, routing=routing, processes=processes, start_s=now,
                  blocks=n if extra_rows else None)
    if until_s is not None:
        if until_s <= now:
            raise StateError(f"{source}: the run would end before the state's time")
        run.stop_s = min(run.stop_s, until_s)
    first_later = _restore(run, state, placed, src if same_streams else None, source)
    live = sorted((p.row for p in placed), key=lambda r: (customers.arrival_s[r], r))
    return run, np.array(live + list(range(first_later, n)), dtype=np.int64)


def _restore(run: DeskRun, state: DeskState, placed: list[_Placed], src, source: str):
    env, flow, pool, shifts, rec = run.env, run.flow, run.pool, run.shifts, run.recorder
    scenario, c = run.scenario, run.customers
    now = state.time
    topics = c.topics
    code = {name: k for k, name in enumerate(topics)}
    flow.stop_s = run.stop_s
    shifts.plan_duty(run.stop_s)
    planned = list(pool.agents)
    exact_agents = src is not None and [a.group.name for a in planned] == src.agents[
        :len(planned)]
    if exact_agents:
        for name in src.agents[len(planned):]:
            group = pool.by_name.get(name)
            if group is None:
                raise StateError(f"{source}: source.agents: unknown group {name!r}")
            pool.new_agent(group, standby=True)
    # Scheduled agents the plan has on duty now, per group, for agents given without an id.
    on_plan: dict[str, list] = {g.name: [] for g in pool.groups}
    for t, on, agent in shifts.plan:
        if t > now:
            break
        if on:
            on_plan[agent.group.name].append(agent)
        elif agent in on_plan[agent.group.name]:
            on_plan[agent.group.name].remove(agent)
    taken: set = set()
    idle = AgentSpec()  # an agent given only by count: no id, no slot

    def agent_for(name: str, spec) -> object:
        group = pool.by_name[name]
        if exact_agents and spec.id is not None and spec.id < len(pool.agents):
            agent = pool.agents[spec.id]
            if agent.group is group and agent not in taken:
                return agent
        if spec.slot is not None:
            for agent in group.agents:
                if agent.slot == spec.slot and agent not in taken:
                    return agent
        for agent in on_plan[name]:
            if agent not in taken:
                return agent
        return pool.new_agent(group, standby=spec.standby)

    pending: list[tuple[float, float, int, object]] = []  # (at, order, listing, arm)

    def later(at: float, order, arm) -> None:
        pending.append((at, INF if order is None else order, len(pending), arm))

    def step(target, callbacks, at: float) -> Step:
        event = Step(env, delay_until(now, at))
        event.target = target
        event.callbacks = callbacks
        return event

    by_agent: dict[int, object] = {}
    for name, group_state in state.groups.items():
        group = pool.by_name[name]
        for spec in group_state.agents:
            agent = agent_for(name, spec)
            taken.add(agent)
            by_agent[id(spec)] = agent
            agent.on_duty = True
            agent.leaving = spec.leaving
            agent.standby = agent.standby or spec.standby
            agent.duty_start_s = now if spec.since is None else spec.since
            agent.last_assigned_s = -1.0 if spec.last_assigned is None else spec.last_assigned
            if spec.until is not None:
                later(spec.until.at, spec.until.order,
                      lambda a=agent, at=spec.until.at: shifts.send_home_at(a, at))
        for _ in range(group_state.idle):
            agent = agent_for(name, idle)
            taken.add(agent)
            agent.on_duty = True
            agent.duty_start_s = now
        for a in group_state.arriving:
            agent = None
            if exact_agents and a.id is not None and a.id < len(pool.agents):
                agent = pool.agents[a.id]
            if agent is None or agent.group is not group:
                agent = pool.new_agent(group, standby=True)
            agent.pending_start = True
            later(a.at, a.order, lambda ag=agent, at=a.at: shifts.call_in(ag.group, at, None,
                                                                          ag))
        rec.activations[group.index] = 0
        check = group_state.next_check
        if check is not None:
            later(check.at, check.order, lambda g=group, at=check.at: shifts.schedule_check(g, at))
        elif group.spec.standby is not None and src is None:
            # A hand-written state: the pool checks its trigger at once. (A snapshot without
            # a next check was taken after the pool's last check of the horizon.)
            later(now, None, lambda g=group: shifts.schedule_check(g, now))
    for group in pool.groups:
        if group.spec.standby is not None and group.name not in state.groups and (
                src is None or group.name not in src.agents):
            # A pool the state does not know (a variant's agency): it starts checking now.
            later(now, None, lambda g=group: shifts.schedule_check(g, now))
    pool.on_duty = sum(1 for a in pool.agents if a.on_duty and not a.leaving)

    # Agent ids in the state (who first took a chat, who answered its earlier messages) are
    # the source run's. Under another schedule the pool numbers its agents differently: an
    # agent of the state maps to the agent it became, one gone home to an agent of its group
    # (what the metrics read of it), and one of an unknown group to -1 (not known).
    new_id = {spec.id: by_agent[id(spec)].id for g in state.groups.values()
              for spec in g.agents if spec.id is not None}
    source_groups = src.agents if src is not None else []

    def agent_id(source_id: int | None) -> int:
        if source_id is None or source_id < 0:
            return -1
        if exact_agents:
            return source_id
        if source_id in new_id:
            return new_id[source_id]
        if source_id < len(source_groups):
            group = pool.by_name.get(source_groups[source_id])
            if group is not None and group.agents:
                return group.agents[0].id
        return -1 if source_id >= len(pool.agents) else source_id

    conv_of: dict[int, Conversation] = {}
    for p in placed:
        chat, i = p.chat, p.row
        topic = code[chat.topic]
        conv = Conversation(i, topic, int(c.n_messages[i]), int(c.msg_start[i]),
                            scenario.topics[chat.topic].channel == "phone")
        p.conv = conv
        conv_of[id(chat)] = conv
        conv.answered = chat.answered
        conv.waiting_s = chat.waiting_since
        rec.on_duty_at_arrival[i] = chat.on_duty_at_arrival or 0
        if chat.bot_reply is not None:
            rec.bot_reply_s[i] = chat.bot_reply
        if p.place == "bot" or chat.via_bot or (chat.bot_reply is not None
                                                and chat.via_bot is None):
            rec.via_bot[i] = True
        if p.place != "bot":
            conv.queued_s = chat.queued
            rec.queued_s[i] = chat.queued
        if chat.assigned is not None:
            conv.seen_agent = True
            rec.assigned_s[i] = chat.assigned
            rec.conv_agent[i] = agent_id(chat.first_agent)
        # Messages answered before the state: their times as given, else as late as they
        # can be (the waiting message's send time, or now when the buyer is thinking).
        last = chat.waiting_since if chat.waiting_since is not None else now
        for j in range(chat.answered):
            k = conv.base + j
            if j < len(chat.history):
                h = chat.history[j]
                sent, reply, who = h.sent, h.reply, h.agent
            else:
                sent, reply, who = last, last, -1
            if j > 0:
                rec.sent_s[k] = sent
            rec.reply_s[k] = reply
            rec.msg_agent[k] = agent_id(who)
        if chat.waiting_since is not None and conv.answered > 0:
            rec.sent_s[conv.base + conv.answered] = chat.waiting_since
        if p.place == "agent":
            agent = by_agent[id(p.agent)]
            if not conv.seen_agent:
                conv.seen_agent = True
                rec.assigned_s[i] = now
                rec.conv_agent[i] = agent.id
            conv.agent = agent
            agent.open += 1
            agent.phone = conv.phone
            agent.conversations.add(conv)
            if chat.typing is not None:
                agent.typing = conv
                conv.typing = True
                if chat.typing.done_at is not None:
                    done = chat.typing.done_at
                elif chat.typing.remaining is not None:
                    done = now + chat.typing.remaining
                else:
                    done = now + flow.work_of[agent.group.index][conv.base + conv.answered]
                later(done, chat.typing.order,
                      lambda a=agent, at=done: _arm_reply(run, a, at))
        elif p.place == "bot":
            flow.bots[i] = conv
            decides = chat.bot.decides
            callbacks = flow.on_deflect if chat.bot.deflects else flow.on_escalate
            later(decides.at, decides.order,
                  lambda cv=conv, cb=callbacks, at=decides.at: _arm_conv(run, cv, cb, at))
        if p.place != "bot":
            waiting_first = conv.answered == 0 and not conv.typing
            if chat.patience_ends is not None:
                later(chat.patience_ends.at, chat.patience_ends.order,
                      lambda cv=conv, at=chat.patience_ends.at: setattr(
                          cv, "timer", step(cv, flow.on_abandon, at)))
            elif waiting_first and i >= run.blocks_first and c.patience_s[i] != INF:
                # A buyer of a hand-written state: patience drawn given the wait so far.
                at = conv.queued_s + c.patience_s[i]
                later(at, None, lambda cv=conv, at=at: setattr(
                    cv, "timer", step(cv, flow.on_abandon, at)))
            if chat.waiting_since is None and conv.answered < conv.n:
                # Thinking: the next message is filed with its send time (at the agent
                # holding the conversation, below), as a reply's end files it in a run.
                if chat.next_message is not None:
                    at = chat.next_message.at
                else:
                    k = conv.base + conv.answered - 1
                    at = rec.reply_s[k] + c.think_s[k]
                conv.waiting_s = at
                if at < run.stop_s:
                    rec.sent_s[conv.base + conv.answered] = at
            for r in chat.rechecks:
                later(r.at, r.order, lambda cv=conv, at=r.at: _arm_recheck(run, cv, at))
    for chats in state.queues.values():
        for chat in chats:
            run.queues.push(conv_of[id(chat)])
    # Messages waiting at an agent (or still being typed by its buyer), oldest first; agents
    # with a free slot, in their order.
    for agent in pool.agents:
        for conv in agent.conversations:
            if conv.waiting_s is not None and not conv.typing:
                heappush(agent.pending, (conv.waiting_s, conv.id, conv))
    ranked: dict[int, tuple] = {}
    for name, group_state in state.groups.items():
        for k, spec in enumerate(group_state.agents):
            agent = by_agent[id(spec)]
            ranked[id(agent)] = (INF if spec.free_rank is None else spec.free_rank, k)
    for group in pool.groups:
        for agent in sorted((a for a in group.agents if a.on_duty),
                            key=lambda a: ranked.get(id(a), (INF, INF))):
            group.refresh(agent)

    # The calendar: the next duty change first (it runs ahead of anything due at its time),
    # then every pending event in the order it had, the next arrival among them.
    shifts.start_plan(after=now, include_now=src is not None and src.duty_due_now)
    first_later = (src.next_arrival if src is not None
                   else int(np.searchsorted(c.arrival_s[:run.blocks_first], now, side="left")))
    if first_later < run.blocks_first:
        order = None if src is None else src.arrival_order
        later(float(c.arrival_s[first_later]), order, lambda: _arm_arrival(run, first_later))
    else:
        flow.next_arrival = run.blocks_first
    for _, _, _, arm in sorted(pending, key=lambda item: (item[0], item[1], item[2])):
        arm()
    # An agent with a waiting message and no reply under way starts typing now, or is woken
    # when its next message is sent.
    for agent in pool.agents:
        if agent.on_duty and agent.typing is None and agent.pending:
            flow.type_next(agent, now)
        if agent.leaving:
            pool.release_if_done(agent, now)
    run.start_processes()
    run.started = True
    return first_later


def _arm_conv(run: DeskRun, conv, callbacks, at: float) -> None:
    """Arm `conv`'s own event (the bot's decision) for `at`."""
    event = Step(run.env, delay_until(run.env.now, at))
    event.target = conv
    event.callbacks = callbacks
    conv.event = event
    conv.next_s = at


def _arm_reply(run: DeskRun, agent, at: float) -> None:
    agent.reply_due_s = at
    event = Step(run.env, delay_until(run.env.now, at))
    event.target = agent
    event.callbacks = run.flow.on_replied
    agent.reply_event = event


def _arm_recheck(run: DeskRun, conv, at: float) -> None:
    run.flow.recheck_later(conv, at, run.env.now)


def _arm_arrival(run: DeskRun, first: int) -> None:
    run.flow.start_arrivals(first)


def resume(scenario: Scenario, state: DeskState | str | Path,
           replication: int | None = None,
           seed: int | None = None, *, routing: RoutingPolicy | None = None,
           processes: Iterable[Process] = (), source: str = "<state>",
           until_s: float | None = None) -> Records:
    """Continue `state` (a snapshot or a hand-written state) under `scenario` to the end of
    its drain, on the random streams of (`seed`, `replication`) (default: the snapshot's,
    else the scenario's seed and replication 0).

    The records cover the conversations open at the state's time (in arrival order) and
    those arriving later; a snapshot resumed on its own streams gives exactly the records of
    the uninterrupted run for them. `until_s` stops the run earlier than the end of the drain.
    `state` may be a `DeskState` in memory (nothing goes through a file) or a state file's
    path.
    """
    scenario = require_scenario(scenario, "resume")
    if isinstance(state, str | Path):
        source, state = str(state), load(state)
    if until_s is not None and (isinstance(until_s, bool) or not isinstance(until_s,
                                                                            numbers.Real)):
        raise StateError(f"resume: until_s is seconds since the scenario's day-0 midnight, got "
                         f"{until_s!r} (desk.time() and sim.units.moment_seconds read clock "
                         "times)")
    run, rows = prepare(scenario, state, replication, seed, routing=routing,
                        processes=processes_argument(processes, "resume"), source=source,
                        until_s=until_s)
    return run.run().subset(rows)


__all__ = ["Customers", "DeskState", "StateError", "capture", "prepare", "resume", "snapshot",
           "snapshots"]
