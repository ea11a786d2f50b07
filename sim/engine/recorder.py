"""The record writer: preallocated numpy columns the run writes as things happen, turned into
`Records` at the end."""

from __future__ import annotations

import numpy as np

from sim.engine.records import Records


def items(array: np.ndarray) -> memoryview:
    """A view of a numpy column whose items are plain Python numbers.

    The run reads its inputs and writes its records through such views: numpy scalars would
    leak into the clock and slow every later computation, assigning an item of a memoryview
    costs about half as much as of a numpy array, and a list of Python floats costs four times
    the memory and, on a large day, more cache misses per read than the packed column.
    """
    return memoryview(np.ascontiguousarray(array))


class Recorder:
    """Record columns of one run: one row per conversation, per message, per duty period."""

    def __init__(self, n_conversations: int, n_messages: int, n_groups: int):
        n, m = n_conversations, n_messages
        self.work_used = None  # set by the flow when replies slow down with open chats
        self.outcome = items(np.zeros(n, dtype=np.int8))
        self.via_bot = items(np.zeros(n, dtype=bool))
        self.bot_reply_s = items(np.full(n, np.nan))
        self.queued_s = items(np.full(n, np.nan))
        self.assigned_s = items(np.full(n, np.nan))
        self.end_at_s = items(np.full(n, np.nan))
        self.conv_agent = items(np.full(n, -1, dtype=np.int32))
        self.on_duty_at_arrival = items(np.zeros(n, dtype=np.int32))
        self.sent_s = items(np.full(m, np.nan))
        self.reply_s = items(np.full(m, np.nan))
        self.msg_agent = items(np.full(m, -1, dtype=np.int32))
        #: (agent id, group index, start, end, standby) per finished duty period.
        self.duty_rows: list[tuple[int, int, float, float, bool]] = []
        self.activations = np.zeros(n_groups, dtype=np.int64)

    def duty(self, agent, end_s: float) -> None:
        """A duty period of `agent` ended (it went home after its last open chat)."""
        self.duty_rows.append(
            (agent.id, agent.group.index, agent.duty_start_s, end_s, agent.standby))

    def records(self, scenario, customers, groups, agents, reply_time, stop: float) -> Records:
        """The run's `Records`; agents still on duty at `stop` end their period there."""
        for agent in agents:
            if agent.on_duty:
                self.duty(agent, stop)
        rows = self.duty_rows
        c = customers
        # A conversation's first message is sent when it reaches people.
        reached = np.flatnonzero(np.isfinite(np.asarray(self.queued_s)))
        sent_s = np.asarray(self.sent_s)
        sent_s[c.msg_start[reached]] = np.asarray(self.queued_s)[reached]
        conv_agent, msg_agent = np.asarray(self.conv_agent), np.asarray(self.msg_agent)
        reply_s = np.asarray(self.reply_s)
        agent_group = np.array([a.group.index for a in agents] or [0], dtype=np.int16)
        conv_group = np.where(
            conv_agent >= 0, agent_group[np.maximum(conv_agent, 0)], -1
        ).astype(np.int16)
        # Typing time is fixed by the message and the answering agent's group: derive it here
        # rather than write it from the event loop.
        answered = np.flatnonzero(msg_agent >= 0)
        work_s = np.full(len(reply_s), np.nan)
        groups_of = agent_group[msg_agent[answered]]
        for group in groups:
            rows_of = answered[groups_of == group.index]
            work_s[rows_of] = reply_time[group.index][rows_of]
        if self.work_used is not None:  # replies slowed by open chats (see ConversationFlow)
            used = np.asarray(self.work_used)[answered]
            work_s[answered[np.isfinite(used)]] = used[np.isfinite(used)]
        return Records(
            topics=c.topics,
            group_names=tuple(g.name for g in groups),
            start_s=scenario.horizon.start_s,
            end_s=scenario.horizon.end_s,
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
            sent_s=sent_s,
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
