"""Metrics: pure functions from a run's records to numbers and series. No SimPy here.

Records come as three tables (see `Tables`): conversations, messages and duty periods. A
message's *wait* is the time from the customer's message to the reply to it. Platform rates use
*offered* waits: a buyer who left (or was still waiting at the end) counts as unreplied once
the wait so far passes the threshold; a buyer who abandoned always counts as unreplied.

Every metric computes on numpy columns (`sim.analysis.columns`). The work one replication's
metrics share (counted messages, their order by conversation and send time, first responses,
groups per buyer) is done once per `Tables` and kept on it (`Tables.run`), so `summarize`,
`interval_series` and the wait distributions of one replication sort and group once.
Sums per agent group (duty hours and typing time, for `occupancy_<group>` and `cost`) are
correctly rounded (`math.fsum`); every other number comes from the same floating-point
operations, in the same order, as a row-by-row reading of the tables.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import pandas as pd

from sim.analysis import columns as cols
from sim.analysis.columns import ABANDONED, DEFLECTED, OPEN, SERVED, Columns
from sim.scenario import Scenario, Window, interval_grid
from sim.units import DAY_S, format_clock


class Tables:
    """A run's records: `conversations`, `messages` and `duty` as DataFrames, plus the run's
    `stop_s`, `start_s` and `end_s`. Hand-built tables work the same (see tests).

    Built from an engine run (`from_records`), the DataFrames are made only when first read;
    the metrics read the record columns directly.
    """

    def __init__(self, conversations: pd.DataFrame, messages: pd.DataFrame,
                 duty: pd.DataFrame, stop_s: float, start_s: float = 0.0,
                 end_s: float = DAY_S):
        self.__dict__.update(conversations=conversations, messages=messages, duty=duty)
        self.stop_s, self.start_s, self.end_s = stop_s, start_s, end_s
        self._records = None

    @classmethod
    def from_records(cls, records) -> Tables:
        tables = cls.__new__(cls)
        tables.stop_s, tables.start_s, tables.end_s = (records.stop_s, records.start_s,
                                                       records.end_s)
        tables._records = records
        return tables

    def __getattr__(self, name: str):
        # Only reached for the three tables of a `from_records` instance not built yet.
        records = self.__dict__.get("_records")
        if name in ("conversations", "messages", "duty") and records is not None:
            frame = getattr(records, name)()
            self.__dict__[name] = frame
            return frame
        raise AttributeError(name)

    def __getstate__(self) -> dict:
        # What can be rebuilt from the records is rebuilt, not shipped (workers send tables
        # back to the parent).
        state = dict(self.__dict__)
        state.pop("run", None)
        state.pop("columns", None)
        if state.get("_records") is not None:
            for name in ("conversations", "messages", "duty"):
                state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return (f"Tables({self.columns.n_conversations} conversations, "
                f"{len(self.columns.sent_s)} messages, {len(self.columns.duty_agent)} duty "
                f"periods, stop_s={self.stop_s})")

    @cached_property
    def columns(self) -> Columns:
        """The tables as numpy columns (`sim.analysis.columns.Columns`)."""
        if self._records is not None:
            return cols.from_records(self._records)
        return cols.from_frames(self.conversations, self.messages, self.duty)

    @cached_property
    def run(self) -> Run:
        """What the metrics of this run share, computed once (see `Run`)."""
        return Run(self)


# --- building blocks ----------------------------------------------------------------------


def in_window(times_s: np.ndarray, window: Window | None) -> np.ndarray:
    """Whether each time falls inside a daily clock window (None: the whole day)."""
    times_s = np.asarray(times_s, dtype=float)
    if window is None:
        return np.ones(times_s.shape, dtype=bool)
    tod = np.mod(times_s, DAY_S)
    return (tod >= window.start.seconds_of_day) & (tod < window.end.seconds_of_day)


def _starts(keys: np.ndarray) -> np.ndarray:
    """Whether each row of `keys` (sorted) opens a run of equal keys."""
    return np.r_[True, keys[1:] != keys[:-1]][:len(keys)]


def _sorted_by(keys: np.ndarray, times: np.ndarray) -> np.ndarray | None:
    """The stable order by (key, time), or None when the rows are in that order already."""
    if len(keys) < 2:
        return None
    same = keys[1:] == keys[:-1]
    if np.all(keys[1:] >= keys[:-1]) and not np.any(same & (times[1:] < times[:-1])):
        return None
    return np.lexsort((times, keys))


class Counted:
    """Messages that count for a platform rate, with their offered wait, as columns in the
    messages' row order.

    Bot-phase messages count only when bot replies count. For an unreplied message the offered
    wait runs to the conversation's end (the buyer left) or to the end of the run.
    """

    def __init__(self, c: Columns, stop_s: float, bot_counts: bool):
        self.n_conversations = c.n_conversations
        rows = slice(None) if bot_counts else ~c.by_bot
        index = c.conversation[rows]
        self.conversation = index
        self.sent_s = c.sent_s[rows]
        self.reply_s = c.reply_s[rows]
        self.replied = np.isfinite(self.reply_s)
        # Built in place: a few arrays of a message each fewer alive at once.
        censor = c.end_s[index]
        censor[~np.isfinite(censor)] = stop_s
        offered = np.where(self.replied, self.reply_s, censor)
        del censor
        offered -= self.sent_s
        self.offered_wait_s = offered
        self.left = (~self.replied) & (c.outcome[index] == ABANDONED)
        self.reported = c.reported[index]
        self.buyer = _buyer_days(c, index, self.sent_s)
        self._has_buyers = c.buyer is not None

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "conversation": self.conversation,
            "buyer": self.buyer,
            "sent_s": self.sent_s,
            "reply_s": self.reply_s,
            "replied": self.replied,
            "offered_wait_s": self.offered_wait_s,
            "left": self.left,
            "reported": self.reported,
        })

    def late(self, threshold_s: float) -> np.ndarray:
        """Messages that make their buyer unreplied: waited too long, or the buyer left."""
        return (self.offered_wait_s > threshold_s) | self.left

    @cached_property
    def buyer_group(self) -> tuple[np.ndarray, int]:
        """Each message's buyer-day as a number 0..n-1 in buyer-day order, and n."""
        if not self._has_buyers:
            return self.conversation, self.n_conversations
        distinct, inverse = np.unique(self.buyer, return_inverse=True)
        return inverse.reshape(-1), len(distinct)

    @cached_property
    def order(self) -> np.ndarray | None:
        """Stable order by (conversation, sent); None when the rows are in it already."""
        return _sorted_by(self.conversation, self.sent_s)

    def take(self, values: np.ndarray) -> np.ndarray:
        return values if self.order is None else values[self.order]

    @cached_property
    def first(self) -> First:
        """The first counted message of each conversation."""
        conv = self.take(self.conversation)
        rows = np.flatnonzero(_starts(conv))
        if self.order is not None:
            rows = self.order[rows]
        return First(self, rows, self.conversation[rows], self.n_conversations)

    @cached_property
    def first_of_buyer(self) -> First:
        """The first counted message of each buyer-day (of each conversation without buyers)."""
        if not self._has_buyers:
            return self.first
        order = np.lexsort((self.sent_s, self.buyer))
        rows = order[np.flatnonzero(_starts(self.buyer[order]))]
        return First(self, rows, None, 0)

    @cached_property
    def turns(self) -> Turns:
        return Turns(self)


class First:
    """Rows of a `Counted` that are a conversation's (or a buyer-day's) first, in key order;
    by conversation, also as arrays over every conversation (`has`, `replied_of`, `wait_of`)."""

    def __init__(self, counted: Counted, rows: np.ndarray, conversation: np.ndarray | None,
                 n_conversations: int):
        self.rows = rows
        self.conversation = conversation
        self.sent_s = counted.sent_s[rows]
        self.replied = counted.replied[rows]
        self.offered_wait_s = counted.offered_wait_s[rows]
        self.reported = counted.reported[rows]
        # What `frame` reads of the messages, not the `Counted` itself: that holds this object
        # (`Counted.first`), and a cycle would keep a run's arrays alive until the next
        # garbage collection.
        self._columns = (counted.conversation, counted.buyer, counted.reply_s, counted.left)
        if conversation is not None:
            self.has = np.zeros(n_conversations, dtype=bool)
            self.has[conversation] = True
            self.replied_of = np.zeros(n_conversations, dtype=bool)
            self.replied_of[conversation] = self.replied
            self.wait_of = np.full(n_conversations, np.nan)
            self.wait_of[conversation] = self.offered_wait_s

    def frame(self) -> pd.DataFrame:
        conversation, buyer, reply_s, left = self._columns
        return pd.DataFrame({
            "conversation": conversation[self.rows],
            "buyer": buyer[self.rows],
            "sent_s": self.sent_s,
            "reply_s": reply_s[self.rows],
            "replied": self.replied,
            "offered_wait_s": self.offered_wait_s,
            "left": left[self.rows],
            "reported": self.reported,
        })


def _buyer_days(c: Columns, index: np.ndarray, sent: np.ndarray) -> np.ndarray:
    """The unit of the per-buyer rates for each message: its buyer-day.

    Records with a `buyer` column (a chat log) count a buyer's messages of one calendar day,
    by when each was sent, as one buyer, however many conversations they span; without one
    (the engine makes every conversation its own buyer) the unit is the conversation.
    """
    if c.buyer is None:
        return index
    buyer = c.buyer.astype(np.int64)[index]
    day = np.floor(sent / DAY_S).astype(np.int64)
    day -= day.min(initial=0)
    return buyer * (int(day.max(initial=0)) + 1) + day


class Run:
    """What the metrics of one run share: its columns and the counted messages per bot
    setting, each built once."""

    def __init__(self, tables: Tables):
        # Not the tables themselves, which hold this object (`Tables.run`): no cycle, so a
        # run's arrays are freed as soon as its tables are.
        self.stop_s = tables.stop_s
        self.columns = tables.columns
        self._counted: dict[bool, Counted] = {}

    def counted(self, bot_counts: bool) -> Counted:
        if bot_counts not in self._counted:
            self._counted[bot_counts] = Counted(self.columns, self.stop_s, bot_counts)
        return self._counted[bot_counts]


def counted_messages(tables: Tables, bot_counts: bool) -> pd.DataFrame:
    """Messages that count for a platform rate, with their offered wait (see `Counted`)."""
    return tables.run.counted(bot_counts).frame()


def buyer_reply_rate(tables: Tables, threshold_s: float, window: Window | None,
                     bot_counts: bool) -> float:
    """Pinduoduo-style rate per buyer: share of buyers none of whose counted messages
    (sent inside the window) waited longer than the threshold or went unanswered because the
    buyer left. Reported/blacklisted buyers and, when bot replies do not count, bot-only buyers
    are out of the denominator."""
    return _buyer_reply_rate(tables.run.counted(bot_counts), threshold_s, window)


def _buyer_reply_rate(msgs: Counted, threshold_s: float, window: Window | None) -> float:
    keep = in_window(msgs.sent_s, window) & ~msgs.reported
    group, n = msgs.buyer_group
    buyers = np.count_nonzero(np.bincount(group[keep], minlength=n))
    if buyers == 0:
        return float("nan")
    late = np.count_nonzero(np.bincount(group[keep & msgs.late(threshold_s)], minlength=n))
    return float(1.0 - late / buyers)


def first_responses(tables: Tables, bot_counts: bool) -> pd.DataFrame:
    """Each buyer's first counted message and its offered wait (one row per conversation)."""
    return tables.run.counted(bot_counts).first.frame()


def buyer_first_answer_rate(tables: Tables, threshold_s: float, window: Window | None,
                            bot_counts: bool) -> float:
    """Share of buyers (first message inside the window) answered within the threshold."""
    return _first_answer_rate(tables.run.counted(bot_counts).first_of_buyer, threshold_s,
                              window)


def _first_answer_rate(first: First, threshold_s: float, window: Window | None) -> float:
    keep = in_window(first.sent_s, window) & ~first.reported
    if not keep.any():
        return float("nan")
    ok = first.replied[keep] & (first.offered_wait_s[keep] <= threshold_s)
    return float(ok.mean())


class Turns:
    """Taobao turns: the buyer's messages since the shop last replied, answered by the shop's
    first reply after the turn opened.

    Follow-ups sent before that reply belong to the same turn. A message sent at the same
    instant as a reply to an earlier message opens the next turn, which that reply does not
    answer; a reply that took no time (an automatic greeting) answers its own message's turn.
    The turn's response time runs from its first message to its answer.
    """

    def __init__(self, msgs: Counted):
        conv = msgs.take(msgs.conversation)
        sent = msgs.take(msgs.sent_s)
        reply = msgs.take(msgs.reply_s)
        next_answer, replies_before = _reply_order(conv, sent, reply)
        # A message opens a turn when a reply came between it and the buyer's previous message.
        starts = _starts(conv) | np.r_[False, replies_before[1:] > replies_before[:-1]][
            :len(conv)]
        del replies_before
        # Only the turns' first messages are kept: what follows is computed on them alone.
        next_answer = next_answer[starts]
        self.conversation = conv[starts]
        self.start_s = sent[starts]
        self.answered = np.isfinite(next_answer)
        self.response_s = np.where(self.answered, next_answer - self.start_s,
                                   msgs.take(msgs.offered_wait_s)[starts])
        self.reported = msgs.take(msgs.reported)[starts]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "conversation": self.conversation,
            "start_s": self.start_s,
            "answered": self.answered,
            "response_s": self.response_s,
            "reported": self.reported,
        })


def turns(tables: Tables, bot_counts: bool) -> pd.DataFrame:
    """Taobao turns of the counted messages, one row per turn (see `Turns`)."""
    return tables.run.counted(bot_counts).turns.frame()


def _reply_order(conv: np.ndarray, sent: np.ndarray, reply: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Sends and replies of messages sorted by (conversation, sent), merged in time order.

    At one instant a reply to an earlier message comes before the messages sent then, and a
    reply that took no time comes straight after its own message. Returns, for each message,
    the time of the first reply after it in its conversation (inf if none) and the number of
    replies before it (counted over all conversations: only differences between consecutive
    messages of one conversation mean anything).
    """
    has_reply = np.flatnonzero(np.isfinite(reply))
    n, m = len(sent), len(has_reply)
    reply_t = reply[has_reply]
    if _replies_in_order(conv, sent, reply_t, has_reply):
        return _reply_order_in_order(conv, sent, reply_t, has_reply)
    del reply_t
    position = np.arange(n)
    instant = reply[has_reply] <= sent[has_reply]
    event_conv = np.r_[conv, conv[has_reply]]
    event_time = np.r_[sent, reply[has_reply]]
    event_tie = np.r_[2 * position, np.where(instant, 2 * has_reply + 1, -1)]
    is_reply = np.r_[np.zeros(n, dtype=np.int64), np.ones(m, dtype=np.int64)]
    order = np.lexsort((event_tie, event_time, event_conv))
    before = np.empty(n + m, dtype=np.int64)
    before[order] = np.cumsum(is_reply[order])
    # Within a conversation the merged events are in time order, so the earliest reply at or
    # after an event is the next reply event of its conversation.
    sorted_reply = is_reply[order].astype(bool)
    sorted_conv = event_conv[order]
    at = np.where(sorted_reply, np.arange(n + m), n + m)
    upcoming = np.minimum.accumulate(at[::-1])[::-1]
    found = upcoming < n + m
    found[found] = sorted_conv[upcoming[found]] == sorted_conv[found]
    next_sorted = np.full(n + m, np.inf)
    next_sorted[found] = event_time[order][upcoming[found]]
    next_answer = np.empty(n + m)
    next_answer[order] = next_sorted
    return next_answer[:n], before[:n]


def _replies_in_order(conv: np.ndarray, sent: np.ndarray, reply_t: np.ndarray,
                      has_reply: np.ndarray) -> bool:
    """Whether each conversation's replies come in the order of its messages, which are sorted
    by send time, and none before its message (what the engine writes): the merge then needs
    no sort of the events. `reply_t`: the reply times of the messages `has_reply`."""
    c, r = conv[has_reply], reply_t
    if np.any(r < sent[has_reply]):
        return False
    return not np.any((c[1:] == c[:-1]) & (r[1:] < r[:-1]))


def _reply_order_in_order(conv: np.ndarray, sent: np.ndarray, reply_t: np.ndarray,
                          has_reply: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_reply_order` when every conversation's reply times rise with its messages
    (`reply_t`: the reply times of the messages `has_reply`, in that order).

    With messages i sorted by (conversation, sent) and replies t_j rising with j, the merged
    order puts the reply to j before message i exactly when j < i and t_j <= s_i, and after it
    otherwise. The replied j < i with t_j > s_i (still pending when i was sent) are the last
    few replied messages before i, so the replies before message i are those of every earlier
    message less the pending ones; and, the replies being in time order, the first reply after
    message i is the next one in the list of replies, if it is in i's conversation.
    """
    # Arrays of a message each are freed (or reused) as soon as they are done with: on a
    # large day they are tens of MB apiece, and memory a process touches for the first time
    # costs kernel time.
    n, m = len(sent), len(has_reply)
    replied = np.zeros(n, dtype=bool)
    replied[has_reply] = True
    # Replies of the messages before i, and of the messages of conversations before i's.
    earlier = np.cumsum(replied, dtype=np.int64)
    earlier -= replied
    del replied
    start_row = np.where(_starts(conv), np.arange(n), 0)
    np.maximum.accumulate(start_row, out=start_row)
    first_of_conv = earlier[start_row]
    del start_row
    active = np.flatnonzero(earlier > first_of_conv)
    if active.size:
        pending = np.zeros(n, dtype=np.int64)
        back = 1
        while active.size:
            at = earlier[active] - back
            mine = at >= first_of_conv[active]
            still = mine & (reply_t[np.where(mine, at, 0)] > sent[active])
            active = active[still]
            pending[active] += 1
            back += 1
        earlier -= pending
        del pending
    del first_of_conv
    before = earlier
    found = before < m
    found[found] = conv[has_reply[before[found]]] == conv[found]
    next_answer = np.full(n, np.inf)
    next_answer[found] = reply_t[before[found]]
    return next_answer, before


def turn_response_rate(tables: Tables, threshold_s: float, window: Window | None,
                       bot_counts: bool) -> float:
    """Taobao-style rate: share of turns (started inside the window) answered in time."""
    return _turn_rate(tables.run.counted(bot_counts).turns, threshold_s, window)


def _turn_rate(turn: Turns, threshold_s: float, window: Window | None) -> float:
    keep = in_window(turn.start_s, window) & ~turn.reported
    if not keep.any():
        return float("nan")
    ok = turn.answered[keep] & (turn.response_s[keep] <= threshold_s)
    return float(ok.mean())


def _sessions(c: Columns, gap_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conversations in session order, each one's session number and session start."""
    n = c.n_conversations
    if c.buyer is None:
        # Every conversation is its own buyer, so its own session.
        ids = np.arange(n)
        return ids, ids.copy(), c.arrival_s.copy()
    buyer = c.buyer
    order = np.lexsort((c.arrival_s, buyer))
    buyer = buyer[order]
    arrival = c.arrival_s[order]
    end = c.end_s[order]
    end = np.where(np.isfinite(end), end, np.inf)
    # The latest end over all the buyer's earlier conversations is the current session's
    # close: a conversation that opens a session ends after every earlier one.
    new_buyer = _starts(buyer)
    latest = _group_cummax(end, new_buyer)
    close = np.r_[-np.inf, latest[:-1]][:n]
    new = new_buyer | (arrival - close > gap_s)
    session = np.cumsum(new) - 1
    return order, session, arrival[new][session]


def _group_cummax(values: np.ndarray, group_starts: np.ndarray) -> np.ndarray:
    """Running maximum of `values` within runs of rows (a run opens where `group_starts`),
    exact: taken on the values' ranks, lifted per run so one running maximum serves all."""
    if len(values) == 0:
        return values.copy()
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    distinct = np.r_[True, ordered[1:] != ordered[:-1]]
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.cumsum(distinct) - 1
    width = np.int64(int(distinct.sum()))
    lift = (np.cumsum(group_starts) - 1) * width
    top = np.maximum.accumulate(rank + lift) - lift
    return ordered[distinct][top]


def sessions(tables: Tables, gap_s: float) -> pd.DataFrame:
    """JD sessions: a buyer's conversations, joined when one starts within `gap_s` of the
    session's close, the latest end of its conversations so far (a conversation still open
    never closes its session). Without a `buyer` column every conversation is its own buyer."""
    ids, session, start = _sessions(tables.columns, gap_s)
    return pd.DataFrame({"conversation": ids, "session": session, "session_start_s": start})


def session_answer_rate(tables: Tables, threshold_s: float, excluded_from_s: float,
                        excluded_until_s: float, gap_s: float, bot_counts: bool
                        ) -> tuple[float, int]:
    """JD-style first-answer rate per session, and the number of offline sessions.

    Sessions started in the excluded hours (e.g. 23:00-09:00) and offline sessions (no agent
    on duty when the buyer wrote) are out of the rate; offline ones are counted apart.
    """
    return _session_answer_rate(tables.columns, tables.run.counted(bot_counts).first,
                                threshold_s, excluded_from_s, excluded_until_s, gap_s)


def _session_answer_rate(c: Columns, first: First, threshold_s: float,
                         excluded_from_s: float, excluded_until_s: float, gap_s: float
                         ) -> tuple[float, int]:
    ids, session, start = _sessions(c, gap_s)
    tod = np.mod(start, DAY_S)
    if excluded_from_s > excluded_until_s:
        excluded = (tod >= excluded_from_s) | (tod < excluded_until_s)
    else:
        excluded = (tod >= excluded_from_s) & (tod < excluded_until_s)
    on_duty = c.on_duty_at_arrival[ids]
    first_of_session = _starts(session)
    offline = (on_duty == 0) & first_of_session
    keep = first_of_session & ~excluded & ~offline & ~c.reported[ids]
    kept = ids[keep]
    kept = kept[first.has[kept]]
    if len(kept) == 0:
        return float("nan"), int(offline.sum())
    ok = first.replied_of[kept] & (first.wait_of[kept] <= threshold_s)
    return float(ok.mean()), int(offline.sum())


def percentile_metrics(name: str, values: np.ndarray, percentiles) -> dict[str, float]:
    values = values[np.isfinite(values)]
    result = {f"{name}_mean_s": float(values.mean()) if len(values) else float("nan")}
    percentiles = list(percentiles)
    # One partition for all of them: each is the same interpolation as np.percentile(values, p).
    found = (np.percentile(values, percentiles) if len(values) and percentiles
             else np.full(len(percentiles), np.nan))
    for p, value in zip(percentiles, found):
        result[f"{name}_p{p:g}_s"] = float(value)
    return result


def _overlap_integral(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Integral over each [edge_k, edge_k+1) of the number of open [start, end) spans."""
    starts = np.sort(starts)
    ends = np.sort(ends)
    cum_s = np.r_[0.0, np.cumsum(starts)]
    cum_e = np.r_[0.0, np.cumsum(ends)]

    def integral(x):
        ns = np.searchsorted(starts, x, side="left")
        ne = np.searchsorted(ends, x, side="left")
        return (ns * x - cum_s[ns]) - (ne * x - cum_e[ne])

    return np.diff(integral(edges))


def _last_message_unanswered(c: Columns) -> np.ndarray:
    human = ~c.by_bot
    conv = c.conversation[human]
    replied = np.isfinite(c.reply_s[human])
    order = _sorted_by(conv, c.seq[human])
    if order is not None:
        conv, replied = conv[order], replied[order]
    last = np.r_[conv[1:] != conv[:-1], True] if len(conv) else np.zeros(0, dtype=bool)
    result = np.zeros(c.n_conversations, dtype=bool)
    result[conv[last]] = ~replied[last]
    return result


def last_message_unanswered(tables: Tables) -> np.ndarray:
    """Whether each conversation's last customer message to people got no reply: the buyer
    left unanswered (before a first reply or after one), or was still waiting at the end."""
    return _last_message_unanswered(tables.columns)


def _exact_sums(values: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Per-code correctly rounded sums of `values` (rows with a negative code left out)."""
    return np.array([math.fsum(values[codes == k]) for k in range(n)], dtype=float)


def _occupancy_by_group(c: Columns) -> dict[str, float]:
    n = len(c.groups)
    hours = _exact_sums(c.duty_end_s - c.duty_start_s, c.duty_group, n)
    # An agent's group is the group of their first duty period.
    agents, first = np.unique(c.duty_agent, return_index=True)
    typed = (c.agent >= 0) & np.isfinite(c.work_s)
    agent = c.agent[typed]
    at = np.minimum(np.searchsorted(agents, agent), max(len(agents) - 1, 0))
    known = (agents[at] == agent) if len(agents) else np.zeros(len(agent), dtype=bool)
    group = np.where(known, c.duty_group[first][at] if len(agents) else -1, -1)
    typing = _exact_sums(c.work_s[typed], group, n)
    return {name: float(typing[k] / hours[k]) if hours[k] > 0 else float("nan")
            for k, name in enumerate(c.groups)}


def occupancy_by_group(tables: Tables) -> dict[str, float]:
    """Typing time over time on duty, per group (agents finishing after a shift included)."""
    return _occupancy_by_group(tables.columns)


def _cost(c: Columns, scenario: Scenario, activations: dict[str, int] | None) -> float:
    duty_h = (c.duty_end_s - c.duty_start_s) / 3600.0
    hours = dict(zip(c.groups, _exact_sums(duty_h, c.duty_group, len(c.groups))))
    total = sum(hours.get(name, 0.0) * g.hourly_cost for name, g in scenario.groups.items())
    for name, count in (activations or {}).items():
        standby = scenario.groups[name].standby
        if standby is not None:
            total += count * standby.activation_cost
    return float(total)


def cost(tables: Tables, scenario: Scenario, activations: dict[str, int] | None = None) -> float:
    """Agent hours times hourly cost, plus standby activation costs."""
    return _cost(tables.columns, scenario, activations)


def _lost_orders(first: First, presale: np.ndarray, scenario: Scenario) -> float:
    curve = scenario.metrics.conversion
    rows = presale[first.conversation]
    wait = first.offered_wait_s[rows]
    kept = np.where(first.replied[rows], 0.5 ** (wait / curve.half_life), 0.0)
    return float(np.sum(curve.base_rate * (1.0 - kept)))


def lost_orders(first: pd.DataFrame, presale: np.ndarray, scenario: Scenario) -> float:
    """Presale orders lost to slow first responses: sum of base - base * 0.5^(t / half_life),
    with the whole base lost for a buyer never answered. `first` as `first_responses` gives
    it."""
    curve = scenario.metrics.conversion
    rows = presale[first["conversation"].to_numpy()]
    wait = first["offered_wait_s"].to_numpy()[rows]
    kept = np.where(first["replied"].to_numpy()[rows], 0.5 ** (wait / curve.half_life), 0.0)
    return float(np.sum(curve.base_rate * (1.0 - kept)))


# --- one run ------------------------------------------------------------------------------


def summarize(tables: Tables, scenario: Scenario, activations: dict[str, int] | None = None
              ) -> dict[str, float]:
    """Every scalar metric of one run (one replication of one variant)."""
    settings = scenario.metrics
    bot_counts = scenario.bot.replies_count
    run = tables.run
    c = run.columns
    outcome = c.outcome
    arrived = c.n_conversations
    reached = int(np.isfinite(c.queued_s).sum())
    pdd, taobao, jd = settings.pinduoduo, settings.taobao, settings.jd
    # Counted messages and first responses depend only on whether bot replies count; each is
    # built once per run and shared between the rates (and with `interval_series`).
    counted, human = run.counted(bot_counts), run.counted(False)
    result: dict[str, float] = {
        "arrived": arrived,
        "served": int((outcome == SERVED).sum()),
        "deflected": int((outcome == DEFLECTED).sum()),
        "abandoned": int((outcome == ABANDONED).sum()),
        "open_at_end": int((outcome == OPEN).sum()),
        "reply_rate_5min": _buyer_reply_rate(counted, pdd.threshold, pdd.window),
        "reply_rate_5min_allday": _buyer_reply_rate(counted, pdd.threshold, None),
        "human_reply_rate_3min": _buyer_reply_rate(human, 180.0, pdd.window),
        "human_reply_rate_3min_allday": _buyer_reply_rate(human, 180.0, None),
        "answer_rate_30s": _first_answer_rate(human.first_of_buyer, 30.0, pdd.window),
        "answer_rate_30s_allday": _first_answer_rate(human.first_of_buyer, 30.0, None),
        "taobao_response_rate_3min": _turn_rate(
            run.counted(taobao.bot_replies_count).turns, taobao.threshold, taobao.window),
    }
    jd_rate, offline = _session_answer_rate(
        c, counted.first, jd.threshold, jd.excluded_from.seconds_of_day,
        jd.excluded_until.seconds_of_day, jd.session_gap)
    result["jd_answer_rate_30s"] = jd_rate
    result["jd_offline_sessions"] = offline

    first = counted.first
    keep = ~c.reported[first.conversation]
    replied, wait = first.replied[keep], first.offered_wait_s[keep]
    within = replied & (wait <= settings.first_response_threshold)
    result["first_response_30s_rate"] = float(within.mean()) if len(within) else float("nan")
    result.update(percentile_metrics("first_response", wait[replied], settings.percentiles))

    waits = counted.offered_wait_s[counted.replied]
    result.update(percentile_metrics("message_wait", waits, settings.percentiles))

    result["abandon_rate"] = result["abandoned"] / reached if reached else float("nan")
    unanswered = _last_message_unanswered(c)
    result["unanswered_rate"] = int(unanswered.sum()) / reached if reached else float("nan")
    result["deflection_rate"] = result["deflected"] / arrived if arrived else float("nan")

    duty_s = float(np.sum(c.duty_end_s - c.duty_start_s))
    typing_s = float(np.nansum(c.work_s[c.agent >= 0]))
    result["occupancy"] = typing_s / duty_s if duty_s > 0 else float("nan")
    for group, value in _occupancy_by_group(c).items():
        result[f"occupancy_{group}"] = value
    result["agent_hours"] = duty_s / 3600.0
    assigned = int(np.isfinite(c.assigned_s).sum())
    agents_working = len(np.unique(c.duty_agent))
    result["conversations_per_agent"] = (
        assigned / agents_working if agents_working else float("nan"))
    result["conversations_per_agent_hour"] = assigned / (duty_s / 3600) if duty_s else float("nan")
    result["cost"] = _cost(c, scenario, activations)
    result["standby_activations"] = float(sum((activations or {}).values()))
    presale_codes = np.array([scenario.topics[t].presale for t in c.topics], dtype=bool)
    presale = presale_codes[c.topic] if arrived else np.zeros(0, bool)
    # An order is won by a person's answer: a bot's greeting does not keep an abandoning
    # buyer, so lost orders follow the first human response whatever the platform counts.
    result["lost_orders"] = _lost_orders(human.first, presale, scenario)
    result["lost_gmv"] = result["lost_orders"] * settings.conversion.order_value
    return result


def _arrival_intervals(arrival_s: np.ndarray, edges_s: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    bins = np.searchsorted(edges_s, arrival_s, side="right") - 1
    return bins, (bins >= 0) & (bins < len(edges_s) - 1)


def arrival_intervals(conversations: pd.DataFrame, edges_s: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The interval of `edges_s` each conversation arrived in, and whether it arrived inside
    the grid at all."""
    return _arrival_intervals(conversations["arrival_s"].to_numpy(), edges_s)


def interval_reply_counts(tables: Tables, edges_s: np.ndarray, threshold_s: float,
                          bot_counts: bool, topics: list[str] | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Buyers replied in time and buyers counted, per interval of `edges_s`, by the interval
    the buyer arrived in: the per-interval reply rate is their ratio.

    The whole-day rule: every counted message is judged, and one whose offered wait exceeds
    `threshold_s`, or which went unanswered because the buyer left, makes the buyer unreplied.
    Reported buyers are out, and so are bot-only buyers when bot replies do not count.
    `topics` keeps only buyers of those topics (None: every buyer).
    """
    return _interval_reply_counts(tables.columns, tables.run.counted(bot_counts), edges_s,
                                  threshold_s, topics)


def _interval_reply_counts(c: Columns, msgs: Counted, edges_s: np.ndarray, threshold_s: float,
                           topics: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
    n = len(edges_s) - 1
    bins, inside = _arrival_intervals(c.arrival_s, edges_s)
    if topics is not None:
        wanted = np.array([name in set(topics) for name in c.topics] + [False], dtype=bool)
        inside &= wanted[c.topic]
    keep = ~msgs.reported
    conv = msgs.conversation[keep]
    late = msgs.late(threshold_s)[keep]
    has_buyer = np.bincount(conv, minlength=c.n_conversations) > 0
    buyer_ok = (np.bincount(conv[late], minlength=c.n_conversations) == 0).astype(float)
    mask = inside & has_buyer
    replied = np.bincount(bins[mask], weights=buyer_ok[mask], minlength=n)[:n]
    counted = np.bincount(bins[mask], minlength=n)[:n].astype(float)
    return replied, counted


def interval_start(seconds: pd.Series, day0) -> pd.Series:
    """Local start times of intervals given in seconds from midnight of the horizon's first
    day: datetimes when the horizon has a date (72000 on a horizon from 2026-11-10 is
    2026-11-10 20:00), clock times ('20:00', 'day1 08:00') when it has none."""
    if day0 is not None:
        return pd.Timestamp(day0) + pd.to_timedelta(seconds.to_numpy(dtype=float), unit="s")
    return pd.Series([format_clock(value) for value in seconds], index=seconds.index,
                     dtype=object)


def interval_series(tables: Tables, scenario: Scenario) -> pd.DataFrame:
    """Per-interval series: arrivals, people needed, queue, agents on duty, reply rates,
    abandonment and occupancy, by the interval a buyer arrived in (or a time-average)."""
    edges = interval_grid(scenario)
    lengths = np.diff(edges)
    run = tables.run
    c = run.columns
    bins, inside = _arrival_intervals(c.arrival_s, edges)
    n = len(lengths)

    def per_interval(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.bincount(bins[mask], weights=values[mask], minlength=n)[:n]

    ones = np.ones(c.n_conversations)
    arrivals = per_interval(ones, inside)
    queued = c.queued_s
    reached = per_interval(ones, inside & np.isfinite(queued))
    abandoned = per_interval(ones, inside & (c.outcome == ABANDONED))

    msgs_counted = run.counted(scenario.bot.replies_count)
    replied_ok, counted = _interval_reply_counts(
        c, msgs_counted, edges, scenario.metrics.pinduoduo.threshold, None)

    first = msgs_counted.first
    fr = np.where(first.replied_of, first.wait_of, np.nan)
    has_fr = np.isfinite(fr)
    fr_sum = per_interval(np.nan_to_num(fr), inside & has_fr)
    fr_n = per_interval(ones, inside & has_fr)

    assigned = c.assigned_s
    end = c.end_s
    leave_queue = np.where(np.isfinite(assigned), assigned,
                           np.where(np.isfinite(end), end, tables.stop_s))
    waiting = np.isfinite(queued)
    # Clipped: the cumulative-sum integral leaves rounding dust (-1e-15) in empty intervals.
    queue_s = _overlap_integral(queued[waiting], leave_queue[waiting], edges)
    queue = np.maximum(queue_s, 0.0) / lengths

    on_duty = _overlap_integral(c.duty_start_s, c.duty_end_s, edges)
    typed = (c.agent >= 0) & np.isfinite(c.work_s)
    reply_end = c.reply_s[typed]
    typing = _overlap_integral(reply_end - c.work_s[typed], reply_end, edges)

    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({
            "interval_start_s": edges[:-1],
            "interval_end_s": edges[1:],
            "arrivals": arrivals,
            "to_people": reached,
            "abandoned": abandoned,
            "reply_rate_5min": np.where(counted > 0, replied_ok / counted, np.nan),
            "first_response_mean_s": np.where(fr_n > 0, fr_sum / fr_n, np.nan),
            "queue_length": queue,
            "agents_on_duty": on_duty / lengths,
            "occupancy": np.where(on_duty > 0, typing / on_duty, np.nan),
        })


def wait_shares(tables: Tables, bot_counts: bool, grid_s: np.ndarray
                ) -> dict[str, np.ndarray]:
    """Share of counted buyers first answered, and of counted messages answered, within each
    wait of `grid_s` (reported buyers out; unanswered ones count as never answered)."""
    msgs = tables.run.counted(bot_counts)
    first = msgs.first
    keep_first = ~tables.columns.reported[first.conversation]
    result = {}
    for name, replied, wait in (
            ("first_response", first.replied[keep_first], first.offered_wait_s[keep_first]),
            ("message_wait", msgs.replied[~msgs.reported], msgs.offered_wait_s[~msgs.reported])):
        waits = np.sort(np.where(replied, wait, np.inf))
        if len(waits):
            share = np.searchsorted(waits, grid_s, side="right") / len(waits)
        else:
            share = np.full(len(grid_s), np.nan)
        result[name] = share.astype(np.float32)
    return result
