"""A chat log turned into the records the metrics read (`sim.analysis.metrics.Tables`), so a
log is measured by the very code that measures a simulation.

The rules (docs/chat-log.md gives them with examples):

- A conversation **arrives** with its first buyer message.
- The **bot phase** lasts until the conversation reaches people: at a `system` row with event
  `handover`; without events, at a system row between the bot's replies and the first agent
  reply. Failing both, people take over from the first buyer message after the bot's last
  reply before any agent reply, or else from the bot's last reply. A conversation with no agent
  reply and no buyer message after the bot's last reply never reached people: the bot settled
  it (**deflected**).
- Buyer messages of the bot phase are bot-phase messages, answered by the bot's next reply.
  When the hand-over is marked (a system row, or the bot's last reply), the question handed
  over is the first message to people, sent at the hand-over, as the engine records it.
- Every buyer message to people is answered by the next agent row of its conversation:
  follow-ups sent before that reply share it.
- A conversation whose messages to people were all answered is **served** and ends with its
  last row; one with an unanswered message ends **abandoned** at a `close` row, or when the
  log marks no closes at all and its first message never got a reply; otherwise it is **open**
  (still waiting when the log ends).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.metrics import Tables
from sim.chatlog.duty import on_duty_at
from sim.chatlog.format import AGENT, BOT, BUYER, CLOSE, HANDOVER, SYSTEM
from sim.engine.records import OUTCOMES

#: The topic of conversations without a topic label.
UNLABELLED = "chat"


def _first_in(positions: np.ndarray, lo: np.ndarray, hi: np.ndarray, none: int) -> np.ndarray:
    """The first of the sorted `positions` in each [lo, hi), `none` where there is none."""
    if len(positions) == 0:
        return np.full(len(lo), none, dtype=np.int64)
    at = np.searchsorted(positions, lo)
    found = positions[np.minimum(at, len(positions) - 1)]
    return np.where((at < len(positions)) & (found < hi), found, none)


def _last_in(positions: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The last of the sorted `positions` in each [lo, hi), -1 where there is none."""
    if len(positions) == 0:
        return np.full(len(lo), -1, dtype=np.int64)
    at = np.searchsorted(positions, hi) - 1
    found = positions[np.maximum(at, 0)]
    return np.where((at >= 0) & (found >= lo), found, -1)


def _next_after(positions: np.ndarray, after: np.ndarray, hi: np.ndarray, none: int
                ) -> np.ndarray:
    """The first of the sorted `positions` after each position `after`, before `hi`."""
    return _first_in(positions, after + 1, hi, none)


def log_tables(frame: pd.DataFrame, *, has_events: bool, topic_names: list[str],
               agent_group: np.ndarray, group_names: list[str], duty: pd.DataFrame,
               stop_s: float, end_s: float) -> Tables:
    """`Tables` of a log's sorted rows (see `sim.chatlog.reading.Rows.frame`).

    `agent_group` gives each agent's group as an index into `group_names`; `duty` has rows
    `agent, group, start_s, end_s` (group a name); `stop_s` is when the log ends (offered waits
    of unanswered messages run to it) and `end_s` the end of its last day.
    """
    conv = frame["conversation"].to_numpy()
    t = frame["t_s"].to_numpy()
    sender = frame["sender"].to_numpy()
    event = frame["event"].to_numpy()
    agent = frame["agent"].to_numpy()
    n = len(frame)
    count = int(conv[-1]) + 1 if n else 0
    starts = np.searchsorted(conv, np.arange(count))
    ends = np.r_[starts[1:], n].astype(np.int64)
    pos = np.arange(n, dtype=np.int64)
    none = n

    is_buyer, is_agent, is_bot = sender == BUYER, sender == AGENT, sender == BOT
    buyers, agents, bots = (np.flatnonzero(m) for m in (is_buyer, is_agent, is_bot))
    first_buyer = _first_in(buyers, starts, ends, none)
    first_agent = _first_in(agents, starts, ends, none)
    first_bot = _first_in(bots, starts, ends, none)
    if has_events:
        handovers = np.flatnonzero((sender == SYSTEM) & (event == HANDOVER))
    else:
        handovers = np.flatnonzero((sender == SYSTEM) & (pos > first_bot[conv])
                                   & (pos < first_agent[conv]))
    first_handover = _first_in(handovers, starts, ends, none)

    # Where people take over (`start` of the human phase) and whether the handed-over
    # question is a message of its own there (`carried`).
    start = np.full(count, none, dtype=np.int64)
    carried = np.zeros(count, dtype=bool)
    marked = first_handover < none
    start[marked], carried[marked] = first_handover[marked], True
    before_agent = np.where(first_agent < none, first_agent, ends)
    last_bot = _last_in(bots, starts, before_agent)
    via_bot = ~marked & (last_bot >= 0)
    buyer_after_bot = _first_in(buyers, last_bot + 1, before_agent, none)
    asks_again = via_bot & (buyer_after_bot < none)
    start[asks_again] = buyer_after_bot[asks_again]
    passed_on = via_bot & ~asks_again & (first_agent < none)
    start[passed_on], carried[passed_on] = last_bot[passed_on], True
    plain = ~marked & ~via_bot
    start[plain] = first_buyer[plain]
    human = start < none

    # Messages: bot-phase buyer rows, handed-over questions, buyer rows to people.
    to_people = is_buyer & (pos >= start[conv])
    bot_phase = np.flatnonzero(is_buyer & ~to_people)
    human_rows = np.flatnonzero(to_people)
    handed = start[carried & human]
    message_pos = np.r_[bot_phase, handed, human_rows]
    message_conv = conv[message_pos]
    by_bot = np.r_[np.ones(len(bot_phase), bool), np.zeros(len(handed) + len(human_rows), bool)]
    order = np.lexsort((message_pos, message_conv))
    message_pos, message_conv, by_bot = message_pos[order], message_conv[order], by_bot[order]
    reply_pos = np.where(by_bot, _next_after(bots, message_pos, ends[message_conv], none),
                         _next_after(agents, message_pos, ends[message_conv], none))
    replied = reply_pos < none
    safe = np.minimum(reply_pos, max(n - 1, 0))
    reply_s = np.where(replied, t[safe], np.nan)
    reply_agent = np.where(replied & ~by_bot, agent[safe], -1)
    human_message = ~by_bot
    seq = np.full(len(message_pos), -1, dtype=np.int64)
    human_conv = message_conv[human_message]
    first_of_conv = np.r_[True, human_conv[1:] != human_conv[:-1]] if len(human_conv) else \
        np.zeros(0, bool)
    run_start = np.flatnonzero(first_of_conv)
    counter = np.arange(len(human_conv)) - np.repeat(run_start, np.diff(np.r_[run_start,
                                                                                len(human_conv)]))
    seq[human_message] = counter
    n_messages = np.bincount(human_conv, minlength=count)

    # Outcomes.
    unanswered = np.bincount(human_conv, weights=~replied[human_message], minlength=count) > 0
    first_unanswered = np.zeros(count, dtype=bool)
    first_unanswered[human_conv[first_of_conv]] = ~replied[human_message][first_of_conv]
    closes = np.flatnonzero((sender == SYSTEM) & (event == CLOSE))
    last_close = _last_in(closes, starts, ends)
    last_t = t[ends - 1] if count else np.zeros(0)
    outcome = np.full(count, OUTCOMES.index("served"), dtype=np.int64)
    end = last_t.copy()
    outcome[~human] = OUTCOMES.index("deflected")
    end[~human & (last_close >= 0)] = t[last_close[~human & (last_close >= 0)]]
    waiting = human & unanswered
    left = waiting & ((last_close >= 0) | (first_unanswered & (not has_events)))
    outcome[left] = OUTCOMES.index("abandoned")
    end[left & (last_close >= 0)] = t[last_close[left & (last_close >= 0)]]
    still_open = waiting & ~left
    outcome[still_open] = OUTCOMES.index("open")
    end[still_open] = np.nan

    arrival = t[first_buyer]
    has_agent = first_agent < none
    conv_agent = np.where(has_agent, agent[np.minimum(first_agent, max(n - 1, 0))], -1)
    conv_group = np.where(conv_agent >= 0, agent_group[np.maximum(conv_agent, 0)], -1)
    topic_codes = frame["topic"].to_numpy()[starts]
    topics, topic_code = _topics(topic_codes, topic_names)
    on_duty = on_duty_at(duty, arrival)
    reported = frame["reported"].to_numpy()[starts]
    buyer = frame["buyer"].to_numpy()[starts]

    conversations = pd.DataFrame({
        "conversation": np.arange(count),
        "topic": pd.Categorical.from_codes(topic_code, topics),
        "arrival_s": arrival,
        "outcome": pd.Categorical.from_codes(outcome, OUTCOMES),
        "via_bot": first_bot < np.where(human, start + 1, ends),
        "bot_reply_s": np.where(first_bot < none, t[np.minimum(first_bot, max(n - 1, 0))],
                                np.nan),
        "queued_s": np.where(human, t[np.minimum(start, max(n - 1, 0))], np.nan),
        "assigned_s": np.where(has_agent, t[np.minimum(first_agent, max(n - 1, 0))], np.nan),
        "end_s": end,
        "agent": conv_agent,
        "group": pd.Categorical.from_codes(conv_group, group_names),
        "on_duty_at_arrival": on_duty,
        "reported": reported,
        "n_messages": n_messages,
        "buyer": buyer.astype(np.int64),
    })
    messages = pd.DataFrame({
        "conversation": message_conv,
        "seq": seq,
        "by_bot": by_bot,
        "sent_s": t[message_pos],
        "reply_s": reply_s,
        "agent": reply_agent.astype(np.int64),
        "work_s": np.where(by_bot, 0.0, np.nan),
        "topic": pd.Categorical.from_codes(topic_code[message_conv], topics),
    })
    duty_table = pd.DataFrame({
        "agent": duty["agent"].to_numpy(),
        "group": pd.Categorical(duty["group"].to_numpy(), categories=group_names),
        "start_s": duty["start_s"].to_numpy(dtype=float),
        "end_s": duty["end_s"].to_numpy(dtype=float),
        "standby": np.zeros(len(duty), dtype=bool),
    })
    return Tables(conversations, messages, duty_table, stop_s, 0.0, end_s)


def _topics(codes: np.ndarray, names: list[str]) -> tuple[list[str], np.ndarray]:
    """Topic categories: the log's labels, plus `UNLABELLED` for conversations without one."""
    if not (codes < 0).any():
        return list(names), codes
    topics = list(names) + ([UNLABELLED] if UNLABELLED not in names else [])
    return topics, np.where(codes < 0, topics.index(UNLABELLED), codes)
