"""Simulated records written as a chat log, so tests, demos and users have logs with a known
truth. Reading such a log back (`sim.chatlog.read_log`) gives the records it came from, up to
what a log cannot show (typing times, when an agent took a conversation).

What each conversation of the records becomes, in time order (ties in the order the engine
makes them happen):

- a `buyer` row at its arrival; a `bot` row at the bot's first answer, if any;
- a `system` row with event `handover` when a conversation the bot (or an automatic greeting)
  answered reaches people; its first message to people is the question handed over, so it
  gets no buyer row of its own (a conversation without a bot phase starts with that message);
- a `buyer` row for every later customer message and an `agent` row for every reply;
- a `system` row with event `close` when the bot settled the conversation or the buyer left.

The duty file says when each agent was taking new conversations (`accepting_duty`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sim.agents import duty_periods
from sim.analysis.metrics import Tables
from sim.scenario import Scenario

#: Columns of an exported log, in order.
EXPORT_COLUMNS = ("conversation_id", "buyer_id", "sender", "agent_id", "group", "topic",
                  "sent_at", "event")
_CLOSE_RANK = 1 << 40


def format_times(seconds: np.ndarray, day0: dt.date, fractional: bool = False) -> np.ndarray:
    """Local times `YYYY-MM-DD HH:MM:SS` (`.ffffff` with `fractional`) of seconds since
    midnight of `day0`; whole seconds are cut, not rounded, as platforms write them."""
    unit = "us" if fractional else "s"
    scale = 1e6 if fractional else 1.0
    ticks = np.floor(np.asarray(seconds, dtype=float) * scale + (0.5 if fractional else 0.0))
    stamps = np.datetime64(day0, unit) + ticks.astype(np.int64).astype(f"timedelta64[{unit}]")
    width = 26 if fractional else 19
    text = np.datetime_as_string(stamps, unit=unit).astype(f"U{width}")
    text.view(np.uint32).reshape(-1, width)[:, 10] = ord(" ")
    return text


def agent_names(tables: Tables) -> dict[int, str]:
    """A readable id per agent of the records: its group and number, e.g. `presale_team-007`."""
    duty = tables.duty.drop_duplicates("agent")
    return {int(a): f"{g}-{int(a):03d}" for a, g in zip(duty["agent"], duty["group"])}


def log_rows(tables: Tables, day0: dt.date, fractional: bool = False) -> pd.DataFrame:
    """The chat log of one simulated run: one row per message, columns `EXPORT_COLUMNS` (and
    `reported` when some buyers were reported), ordered by conversation and time."""
    conv = tables.conversations
    msgs = tables.messages
    count = len(conv)
    ids = np.arange(count)
    arrival = conv["arrival_s"].to_numpy()
    bot_reply = conv["bot_reply_s"].to_numpy()
    queued = conv["queued_s"].to_numpy()
    end = conv["end_s"].to_numpy()
    outcome = conv["outcome"].astype(str).to_numpy()
    bot_phase = np.isfinite(bot_reply)
    handover = bot_phase & np.isfinite(queued)
    closes = np.isin(outcome, ["deflected", "abandoned"]) & np.isfinite(end)

    human = msgs[~msgs["by_bot"].to_numpy()]
    h_conv = human["conversation"].to_numpy()
    h_seq = human["seq"].to_numpy()
    # The first message to people is the arrival (no bot phase) or the question handed over.
    later = h_seq >= 1
    replied = np.isfinite(human["reply_s"].to_numpy())
    names = agent_names(tables)
    group_of = dict(zip(tables.duty["agent"], tables.duty["group"].astype(str)))
    h_agent = human["agent"].to_numpy()

    parts = [
        (ids, arrival, 0, "buyer", None, ""),
        (ids[bot_phase], bot_reply[bot_phase], 1, "bot", None, ""),
        (ids[handover], queued[handover], 2, "system", None, "handover"),
        (h_conv[later], human["sent_s"].to_numpy()[later], 3 + 2 * h_seq[later], "buyer",
         None, ""),
        (h_conv[replied], human["reply_s"].to_numpy()[replied], 4 + 2 * h_seq[replied],
         "agent", h_agent[replied], ""),
        (ids[closes], end[closes], _CLOSE_RANK, "system", None, "close"),
    ]
    conv_col, time_col, rank_col, sender_col, agent_col, event_col = [], [], [], [], [], []
    for which, times, rank, sender, agents, event in parts:
        size = len(which)
        conv_col.append(which)
        time_col.append(times)
        rank_col.append(np.broadcast_to(rank, (size,)))
        sender_col.append(np.full(size, sender, dtype=object))
        agent_col.append(np.full(size, -1) if agents is None else agents)
        event_col.append(np.full(size, event, dtype=object))
    conversation = np.concatenate(conv_col)
    times = np.concatenate(time_col)
    order = np.lexsort((np.concatenate(rank_col), times, conversation))
    conversation, times = conversation[order], times[order]
    agent = np.concatenate(agent_col)[order]
    sender = np.concatenate(sender_col)[order]
    event = np.concatenate(event_col)[order]
    agent_text = np.array([names.get(int(a), f"agent-{int(a):03d}") if a >= 0 else ""
                           for a in agent], dtype=object) if len(agent) else agent.astype(object)
    group_text = np.array([group_of.get(int(a), "") if a >= 0 else "" for a in agent],
                          dtype=object)
    conv_text = np.char.add("c", np.char.zfill(ids.astype(str), 6)).astype(object)
    buyer_text = np.char.add("b", np.char.zfill(ids.astype(str), 6)).astype(object)
    topic = conv["topic"].astype(str).to_numpy()
    frame = pd.DataFrame({
        "conversation_id": conv_text[conversation],
        "buyer_id": buyer_text[conversation],
        "sender": sender,
        "agent_id": agent_text,
        "group": group_text,
        "topic": topic[conversation],
        "sent_at": format_times(times, day0, fractional),
        "event": event,
    })
    reported = conv["reported"].to_numpy()
    if reported.any():
        frame["reported"] = np.where(reported[conversation], "1", "0")
    return frame


def accepting_duty(tables: Tables, scenario: Scenario) -> pd.DataFrame:
    """When each agent of a simulated run was taking new conversations: the scheduled duty
    periods (the engine's records also count the minutes spent finishing chats after a shift)
    and each standby agent's stay. Rows `agent, group, start_s, end_s`.

    Scheduled agents are numbered as the engine numbers them: group by group, slot by slot in
    the order their periods come; standby agents follow, as in the records."""
    rows = []
    agent = 0
    for name, spec in scenario.groups.items():
        if spec.schedule is None:
            continue
        ids: dict[int, int] = {}
        for duty in duty_periods(spec.schedule, scenario):
            if duty.slot not in ids:
                ids[duty.slot] = agent
                agent += 1
            rows.append((ids[duty.slot], name, duty.start_s, duty.end_s))
    standby = tables.duty[tables.duty["standby"].to_numpy()]
    for row in standby.itertuples(index=False):
        stay = scenario.groups[str(row.group)].standby.stay
        rows.append((int(row.agent), str(row.group), row.start_s,
                     min(row.start_s + stay, row.end_s)))
    return pd.DataFrame(rows, columns=["agent", "group", "start_s", "end_s"])


def duty_rows(tables: Tables, day0: dt.date, fractional: bool = False,
              scenario: Scenario | None = None) -> pd.DataFrame:
    """The duty file of a simulated run: `agent_id, group, start, end`, one row per period an
    agent was taking new conversations (`accepting_duty`) when the scenario is given, else per
    period of the records (finishing after a shift included)."""
    duty = tables.duty if scenario is None else accepting_duty(tables, scenario)
    duty = duty.sort_values(["agent", "start_s"], kind="stable")
    names = agent_names(tables)
    return pd.DataFrame({
        "agent_id": [names.get(int(a), f"{g}-{int(a):03d}")
                     for a, g in zip(duty["agent"], duty["group"].astype(str))],
        "group": duty["group"].astype(str).to_numpy(),
        "start": format_times(duty["start_s"].to_numpy(), day0, fractional),
        "end": format_times(duty["end_s"].to_numpy(), day0, fractional),
    })
