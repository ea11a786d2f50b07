"""The metrics as they were computed on pandas DataFrames before the numpy rewrite, kept as
the oracle of tests/test_metrics_oracle.py: the library must give the same numbers.

`wait_distributions` is the DataFrame version of `sim.experiment.wait_distributions`.

Records come as three tables (see `Tables`): conversations, messages and duty periods. A
message's *wait* is the time from the customer's message to the reply to it. Platform rates use
*offered* waits: a buyer who left (or was still waiting at the end) counts as unreplied once
the wait so far passes the threshold; a buyer who abandoned always counts as unreplied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.scenario import Scenario, Window, interval_grid
from sim.units import DAY_S


@dataclass(frozen=True)
class Tables:
    """A run's records as DataFrames; hand-built tables work the same (see tests)."""

    conversations: pd.DataFrame
    messages: pd.DataFrame
    duty: pd.DataFrame
    stop_s: float
    start_s: float = 0.0
    end_s: float = DAY_S

    @classmethod
    def from_records(cls, records) -> Tables:
        return cls(records.conversations(), records.messages(), records.duty(),
                   records.stop_s, records.start_s, records.end_s)


# --- building blocks ----------------------------------------------------------------------


def in_window(times_s: np.ndarray, window: Window | None) -> np.ndarray:
    """Whether each time falls inside a daily clock window (None: the whole day)."""
    times_s = np.asarray(times_s, dtype=float)
    if window is None:
        return np.ones(times_s.shape, dtype=bool)
    tod = np.mod(times_s, DAY_S)
    return (tod >= window.start.seconds_of_day) & (tod < window.end.seconds_of_day)


def counted_messages(tables: Tables, bot_counts: bool) -> pd.DataFrame:
    """Messages that count for a platform rate, with their offered wait.

    Bot-phase messages count only when bot replies count. For an unreplied message the offered
    wait runs to the conversation's end (the buyer left) or to the end of the run.
    """
    messages = tables.messages
    if not bot_counts:
        messages = messages[~messages["by_bot"].to_numpy()]
    conv = tables.conversations
    index = messages["conversation"].to_numpy()
    end = conv["end_s"].to_numpy()[index]
    outcome = conv["outcome"].to_numpy()[index]
    sent = messages["sent_s"].to_numpy()
    reply = messages["reply_s"].to_numpy()
    replied = np.isfinite(reply)
    censor = np.where(np.isfinite(end), end, tables.stop_s)
    offered = np.where(replied, reply, censor) - sent
    left = (~replied) & (outcome == "abandoned")
    return pd.DataFrame({
        "conversation": index,
        "buyer": _buyer_days(conv, index, sent),
        "sent_s": sent,
        "reply_s": reply,
        "replied": replied,
        "offered_wait_s": offered,
        "left": left,
        "reported": conv["reported"].to_numpy()[index],
    })


def _buyer_days(conv: pd.DataFrame, index: np.ndarray, sent: np.ndarray) -> np.ndarray:
    """The unit of the per-buyer rates for each message: its buyer-day.

    Records with a `buyer` column (a chat log) count a buyer's messages of one calendar day,
    by when each was sent, as one buyer, however many conversations they span; without one
    (the engine makes every conversation its own buyer) the unit is the conversation.
    """
    if "buyer" not in conv:
        return index
    buyer = conv["buyer"].to_numpy().astype(np.int64)[index]
    day = np.floor(sent / DAY_S).astype(np.int64)
    day -= day.min(initial=0)
    return buyer * (int(day.max(initial=0)) + 1) + day


def buyer_reply_rate(tables: Tables, threshold_s: float, window: Window | None,
                     bot_counts: bool) -> float:
    """Pinduoduo-style rate per buyer: share of buyers none of whose counted messages
    (sent inside the window) waited longer than the threshold or went unanswered because the
    buyer left. Reported/blacklisted buyers and, when bot replies do not count, bot-only buyers
    are out of the denominator."""
    return _buyer_reply_rate(counted_messages(tables, bot_counts), threshold_s, window)


def _buyer_reply_rate(msgs: pd.DataFrame, threshold_s: float, window: Window | None) -> float:
    msgs = msgs[in_window(msgs["sent_s"], window) & ~msgs["reported"].to_numpy()]
    if msgs.empty:
        return float("nan")
    late = (msgs["offered_wait_s"].to_numpy() > threshold_s) | msgs["left"].to_numpy()
    per_buyer = pd.Series(late).groupby(msgs["buyer"].to_numpy()).any()
    return float(1.0 - per_buyer.mean())


def first_responses(tables: Tables, bot_counts: bool) -> pd.DataFrame:
    """Each buyer's first counted message and its offered wait (one row per conversation)."""
    return _first_responses(counted_messages(tables, bot_counts))


def _first_responses(msgs: pd.DataFrame, key: str = "conversation") -> pd.DataFrame:
    """The first counted message of each conversation (or of each buyer-day, `key="buyer"`)."""
    order = np.lexsort((msgs["sent_s"].to_numpy(), msgs[key].to_numpy()))
    msgs = msgs.iloc[order]
    first = msgs.drop_duplicates(key, keep="first")
    return first.reset_index(drop=True)


def buyer_first_answer_rate(tables: Tables, threshold_s: float, window: Window | None,
                            bot_counts: bool) -> float:
    """Share of buyers (first message inside the window) answered within the threshold."""
    first = _first_responses(counted_messages(tables, bot_counts), "buyer")
    return _first_answer_rate(first, threshold_s, window)


def _first_answer_rate(first: pd.DataFrame, threshold_s: float, window: Window | None) -> float:
    first = first[in_window(first["sent_s"], window) & ~first["reported"].to_numpy()]
    if first.empty:
        return float("nan")
    ok = first["replied"].to_numpy() & (first["offered_wait_s"].to_numpy() <= threshold_s)
    return float(ok.mean())


def turns(tables: Tables, bot_counts: bool) -> pd.DataFrame:
    """Taobao turns: the buyer's messages since the shop last replied, answered by the shop's
    first reply after the turn opened.

    Follow-ups sent before that reply belong to the same turn. A message sent at the same
    instant as a reply to an earlier message opens the next turn, which that reply does not
    answer; a reply that took no time (an automatic greeting) answers its own message's turn.
    The turn's response time runs from its first message to its answer.
    """
    return _turns(counted_messages(tables, bot_counts))


def _turns(msgs: pd.DataFrame) -> pd.DataFrame:
    order = np.lexsort((msgs["sent_s"].to_numpy(), msgs["conversation"].to_numpy()))
    msgs = msgs.iloc[order].reset_index(drop=True)
    conv = msgs["conversation"].to_numpy()
    sent = msgs["sent_s"].to_numpy()
    reply = msgs["reply_s"].to_numpy()
    next_answer, replies_before = _reply_order(conv, sent, reply)
    first_in_conv = np.r_[True, conv[1:] != conv[:-1]][:len(conv)]
    # A message opens a turn when a reply came between it and the buyer's previous message.
    starts = first_in_conv | np.r_[False, replies_before[1:] > replies_before[:-1]][:len(conv)]
    answered = np.isfinite(next_answer)
    response = np.where(answered, next_answer - sent, msgs["offered_wait_s"].to_numpy())
    frame = pd.DataFrame({
        "conversation": msgs["conversation"].to_numpy(),
        "start_s": sent,
        "answered": answered,
        "response_s": response,
        "reported": msgs["reported"].to_numpy(),
    })
    return frame[starts].reset_index(drop=True)


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
    position = np.arange(n)
    instant = reply[has_reply] <= sent[has_reply]
    event_conv = np.r_[conv, conv[has_reply]]
    event_time = np.r_[sent, reply[has_reply]]
    event_tie = np.r_[2 * position, np.where(instant, 2 * has_reply + 1, -1)]
    is_reply = np.r_[np.zeros(n, dtype=np.int64), np.ones(m, dtype=np.int64)]
    order = np.lexsort((event_tie, event_time, event_conv))
    before = np.empty(n + m, dtype=np.int64)
    before[order] = np.cumsum(is_reply[order])
    # The earliest reply at or after each event, carried backwards within each conversation;
    # a send is no reply, so for a send that is the first reply after it.
    answer = np.r_[np.full(n, np.inf), reply[has_reply]]
    backwards = order[::-1]
    carried = pd.Series(answer[backwards]).groupby(event_conv[backwards]).cummin().to_numpy()
    next_answer = np.empty(n + m)
    next_answer[backwards] = carried
    return next_answer[:n], before[:n]


def turn_response_rate(tables: Tables, threshold_s: float, window: Window | None,
                       bot_counts: bool) -> float:
    """Taobao-style rate: share of turns (started inside the window) answered in time."""
    return _turn_rate(turns(tables, bot_counts), threshold_s, window)


def _turn_rate(frame: pd.DataFrame, threshold_s: float, window: Window | None) -> float:
    frame = frame[in_window(frame["start_s"], window) & ~frame["reported"].to_numpy()]
    if frame.empty:
        return float("nan")
    ok = frame["answered"].to_numpy() & (frame["response_s"].to_numpy() <= threshold_s)
    return float(ok.mean())


def sessions(tables: Tables, gap_s: float) -> pd.DataFrame:
    """JD sessions: a buyer's conversations, joined when one starts within `gap_s` of the
    session's close, the latest end of its conversations so far (a conversation still open
    never closes its session). Without a `buyer` column every conversation is its own buyer."""
    conv = tables.conversations
    buyer = conv["buyer"].to_numpy() if "buyer" in conv else conv["conversation"].to_numpy()
    order = np.lexsort((conv["arrival_s"].to_numpy(), buyer))
    buyer = buyer[order]
    arrival = conv["arrival_s"].to_numpy()[order]
    end = conv["end_s"].to_numpy()[order]
    end = np.where(np.isfinite(end), end, np.inf)
    # The latest end over all the buyer's earlier conversations is the current session's
    # close: a conversation that opens a session ends after every earlier one.
    latest = pd.Series(end).groupby(buyer).cummax().to_numpy()
    close = np.r_[-np.inf, latest[:-1]]
    new = np.r_[True, buyer[1:] != buyer[:-1]] | (arrival - close > gap_s)
    session = np.cumsum(new) - 1
    return pd.DataFrame({
        "conversation": conv["conversation"].to_numpy()[order],
        "session": session,
        "session_start_s": arrival[new][session],
    })


def session_answer_rate(tables: Tables, threshold_s: float, excluded_from_s: float,
                        excluded_until_s: float, gap_s: float, bot_counts: bool
                        ) -> tuple[float, int]:
    """JD-style first-answer rate per session, and the number of offline sessions.

    Sessions started in the excluded hours (e.g. 23:00-09:00) and offline sessions (no agent
    on duty when the buyer wrote) are out of the rate; offline ones are counted apart.
    """
    return _session_answer_rate(tables, first_responses(tables, bot_counts), threshold_s,
                                excluded_from_s, excluded_until_s, gap_s)


def _session_answer_rate(tables: Tables, first: pd.DataFrame, threshold_s: float,
                         excluded_from_s: float, excluded_until_s: float, gap_s: float
                         ) -> tuple[float, int]:
    conv = tables.conversations
    joined = sessions(tables, gap_s)
    first = first.set_index("conversation")
    tod = np.mod(joined["session_start_s"].to_numpy(), DAY_S)
    if excluded_from_s > excluded_until_s:
        excluded = (tod >= excluded_from_s) | (tod < excluded_until_s)
    else:
        excluded = (tod >= excluded_from_s) & (tod < excluded_until_s)
    on_duty = conv["on_duty_at_arrival"].to_numpy()[joined["conversation"].to_numpy()]
    session = joined["session"].to_numpy()
    first_of_session = np.r_[True, session[1:] != session[:-1]][:len(session)]
    offline = (on_duty == 0) & first_of_session
    keep = first_of_session & ~excluded & ~offline
    keep &= ~conv["reported"].to_numpy()[joined["conversation"].to_numpy()]
    ids = joined["conversation"].to_numpy()[keep]
    ids = ids[np.isin(ids, first.index.to_numpy())]
    if len(ids) == 0:
        return float("nan"), int(offline.sum())
    rows = first.loc[ids]
    ok = rows["replied"].to_numpy() & (rows["offered_wait_s"].to_numpy() <= threshold_s)
    return float(ok.mean()), int(offline.sum())


def percentile_metrics(name: str, values: np.ndarray, percentiles) -> dict[str, float]:
    values = values[np.isfinite(values)]
    result = {f"{name}_mean_s": float(values.mean()) if len(values) else float("nan")}
    for p in percentiles:
        key = f"{name}_p{p:g}_s"
        result[key] = float(np.percentile(values, p)) if len(values) else float("nan")
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


def last_message_unanswered(tables: Tables) -> np.ndarray:
    """Whether each conversation's last customer message to people got no reply: the buyer
    left unanswered (before a first reply or after one), or was still waiting at the end."""
    msgs = tables.messages
    human = ~msgs["by_bot"].to_numpy()
    conv = msgs["conversation"].to_numpy()[human]
    replied = np.isfinite(msgs["reply_s"].to_numpy()[human])
    order = np.lexsort((msgs["seq"].to_numpy()[human], conv))
    conv, replied = conv[order], replied[order]
    last = np.r_[conv[1:] != conv[:-1], True] if len(conv) else np.zeros(0, dtype=bool)
    result = np.zeros(len(tables.conversations), dtype=bool)
    result[conv[last]] = ~replied[last]
    return result


def occupancy_by_group(tables: Tables) -> dict[str, float]:
    """Typing time over time on duty, per group (agents finishing after a shift included)."""
    duty = tables.duty
    msgs = tables.messages
    work = msgs[(msgs["agent"].to_numpy() >= 0) & np.isfinite(msgs["work_s"].to_numpy())]
    agent_group = duty.drop_duplicates("agent").set_index("agent")["group"]
    result = {}
    duty_hours = (duty["end_s"] - duty["start_s"]).groupby(duty["group"], observed=False).sum()
    typing = work["work_s"].groupby(work["agent"].map(agent_group)).sum()
    for group, hours in duty_hours.items():
        result[str(group)] = float(typing.get(group, 0.0) / hours) if hours > 0 else float("nan")
    return result


def cost(tables: Tables, scenario: Scenario, activations: dict[str, int] | None = None) -> float:
    """Agent hours times hourly cost, plus standby activation costs."""
    duty = tables.duty
    duty_h = (duty["end_s"] - duty["start_s"]) / 3600.0
    hours = duty_h.groupby(duty["group"], observed=False).sum()
    total = sum(hours.get(name, 0.0) * g.hourly_cost for name, g in scenario.groups.items())
    for name, count in (activations or {}).items():
        standby = scenario.groups[name].standby
        if standby is not None:
            total += count * standby.activation_cost
    return float(total)


def lost_orders(first: pd.DataFrame, presale: np.ndarray, scenario: Scenario) -> float:
    """Presale orders lost to slow first responses: sum of base - base * 0.5^(t / half_life),
    with the whole base lost for a buyer never answered."""
    curve = scenario.metrics.conversion
    rows = first[presale[first["conversation"].to_numpy()]]
    wait = rows["offered_wait_s"].to_numpy()
    kept = np.where(rows["replied"].to_numpy(), 0.5 ** (wait / curve.half_life), 0.0)
    return float(np.sum(curve.base_rate * (1.0 - kept)))


# --- one run ------------------------------------------------------------------------------


class _Counted:
    """Counted messages and first responses of one run, built once per bot setting."""

    def __init__(self, tables: Tables):
        self.tables = tables
        self._messages: dict[bool, pd.DataFrame] = {}
        self._first: dict[bool, pd.DataFrame] = {}

    def messages(self, bot_counts: bool) -> pd.DataFrame:
        if bot_counts not in self._messages:
            self._messages[bot_counts] = counted_messages(self.tables, bot_counts)
        return self._messages[bot_counts]

    def first(self, bot_counts: bool) -> pd.DataFrame:
        if bot_counts not in self._first:
            self._first[bot_counts] = _first_responses(self.messages(bot_counts))
        return self._first[bot_counts]

    def first_of_buyer(self, bot_counts: bool) -> pd.DataFrame:
        """First counted message of each buyer-day (of each conversation without buyers)."""
        if "buyer" not in self.tables.conversations:
            return self.first(bot_counts)
        return _first_responses(self.messages(bot_counts), "buyer")


def summarize(tables: Tables, scenario: Scenario, activations: dict[str, int] | None = None
              ) -> dict[str, float]:
    """Every scalar metric of one run (one replication of one variant)."""
    settings = scenario.metrics
    bot_counts = scenario.bot.replies_count
    conv = tables.conversations
    outcome = conv["outcome"].to_numpy()
    arrived = len(conv)
    reached = int(np.isfinite(conv["queued_s"].to_numpy()).sum())
    pdd, taobao, jd = settings.pinduoduo, settings.taobao, settings.jd
    # Counted messages and first responses depend only on whether bot replies count; build
    # each once and share it between the rates.
    counted = _Counted(tables)
    result: dict[str, float] = {
        "arrived": arrived,
        "served": int((outcome == "served").sum()),
        "deflected": int((outcome == "deflected").sum()),
        "abandoned": int((outcome == "abandoned").sum()),
        "open_at_end": int((outcome == "open").sum()),
        "reply_rate_5min": _buyer_reply_rate(counted.messages(bot_counts), pdd.threshold,
                                             pdd.window),
        "reply_rate_5min_allday": _buyer_reply_rate(counted.messages(bot_counts), pdd.threshold,
                                                    None),
        "human_reply_rate_3min": _buyer_reply_rate(counted.messages(False), 180.0, pdd.window),
        "human_reply_rate_3min_allday": _buyer_reply_rate(counted.messages(False), 180.0, None),
        "answer_rate_30s": _first_answer_rate(counted.first_of_buyer(False), 30.0, pdd.window),
        "answer_rate_30s_allday": _first_answer_rate(counted.first_of_buyer(False), 30.0, None),
        "taobao_response_rate_3min": _turn_rate(
            _turns(counted.messages(taobao.bot_replies_count)), taobao.threshold, taobao.window),
    }
    jd_rate, offline = _session_answer_rate(
        tables, counted.first(bot_counts), jd.threshold, jd.excluded_from.seconds_of_day,
        jd.excluded_until.seconds_of_day, jd.session_gap)
    result["jd_answer_rate_30s"] = jd_rate
    result["jd_offline_sessions"] = offline

    first = counted.first(bot_counts)
    first = first[~conv["reported"].to_numpy()[first["conversation"].to_numpy()]]
    within = first["replied"].to_numpy() & (
        first["offered_wait_s"].to_numpy() <= settings.first_response_threshold)
    result["first_response_30s_rate"] = float(within.mean()) if len(first) else float("nan")
    answered_first = first["offered_wait_s"].to_numpy()[first["replied"].to_numpy()]
    result.update(percentile_metrics("first_response", answered_first, settings.percentiles))

    msgs = counted.messages(bot_counts)
    waits = msgs["offered_wait_s"].to_numpy()[msgs["replied"].to_numpy()]
    result.update(percentile_metrics("message_wait", waits, settings.percentiles))

    result["abandon_rate"] = result["abandoned"] / reached if reached else float("nan")
    unanswered = last_message_unanswered(tables)
    result["unanswered_rate"] = int(unanswered.sum()) / reached if reached else float("nan")
    result["deflection_rate"] = result["deflected"] / arrived if arrived else float("nan")

    duty = tables.duty
    duty_s = float((duty["end_s"] - duty["start_s"]).sum())
    msgs_all = tables.messages
    typing_s = float(np.nansum(msgs_all["work_s"].to_numpy()[msgs_all["agent"].to_numpy() >= 0]))
    result["occupancy"] = typing_s / duty_s if duty_s > 0 else float("nan")
    for group, value in occupancy_by_group(tables).items():
        result[f"occupancy_{group}"] = value
    result["agent_hours"] = duty_s / 3600.0
    assigned = int(np.isfinite(conv["assigned_s"].to_numpy()).sum())
    agents_working = int(duty["agent"].nunique())
    result["conversations_per_agent"] = (
        assigned / agents_working if agents_working else float("nan"))
    result["conversations_per_agent_hour"] = assigned / (duty_s / 3600) if duty_s else float("nan")
    result["cost"] = cost(tables, scenario, activations)
    result["standby_activations"] = float(sum((activations or {}).values()))
    categories = conv["topic"].cat.categories
    presale_codes = np.array([scenario.topics[str(t)].presale for t in categories], dtype=bool)
    presale = presale_codes[conv["topic"].cat.codes.to_numpy()] if arrived else np.zeros(0, bool)
    # An order is won by a person's answer: a bot's greeting does not keep an abandoning
    # buyer, so lost orders follow the first human response whatever the platform counts.
    result["lost_orders"] = lost_orders(counted.first(False), presale, scenario)
    result["lost_gmv"] = result["lost_orders"] * settings.conversion.order_value
    return result


def arrival_intervals(conversations: pd.DataFrame, edges_s: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The interval of `edges_s` each conversation arrived in, and whether it arrived inside
    the grid at all."""
    bins = np.searchsorted(edges_s, conversations["arrival_s"].to_numpy(), side="right") - 1
    return bins, (bins >= 0) & (bins < len(edges_s) - 1)


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
    return _interval_reply_counts(tables.conversations, counted_messages(tables, bot_counts),
                                  edges_s, threshold_s, topics)


def _interval_reply_counts(conv: pd.DataFrame, msgs: pd.DataFrame, edges_s: np.ndarray,
                           threshold_s: float, topics: list[str] | None
                           ) -> tuple[np.ndarray, np.ndarray]:
    n = len(edges_s) - 1
    bins, inside = arrival_intervals(conv, edges_s)
    if topics is not None:
        inside &= conv["topic"].isin(topics).to_numpy()
    msgs = msgs[~msgs["reported"].to_numpy()]
    late = (msgs["offered_wait_s"].to_numpy() > threshold_s) | msgs["left"].to_numpy()
    buyer_late = pd.Series(late).groupby(msgs["conversation"].to_numpy()).any()
    buyers = buyer_late.index.to_numpy()
    buyer_ok = np.zeros(len(conv))
    has_buyer = np.zeros(len(conv), dtype=bool)
    buyer_ok[buyers] = ~buyer_late.to_numpy()
    has_buyer[buyers] = True
    mask = inside & has_buyer
    replied = np.bincount(bins[mask], weights=buyer_ok[mask], minlength=n)[:n]
    counted = np.bincount(bins[mask], minlength=n)[:n].astype(float)
    return replied, counted


def interval_series(tables: Tables, scenario: Scenario) -> pd.DataFrame:
    """Per-interval series: arrivals, people needed, queue, agents on duty, reply rates,
    abandonment and occupancy, by the interval a buyer arrived in (or a time-average)."""
    edges = interval_grid(scenario)
    lengths = np.diff(edges)
    conv = tables.conversations
    bins, inside = arrival_intervals(conv, edges)
    n = len(lengths)

    def per_interval(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.bincount(bins[mask], weights=values[mask], minlength=n)[:n]

    ones = np.ones(len(conv))
    arrivals = per_interval(ones, inside)
    queued = conv["queued_s"].to_numpy()
    reached = per_interval(ones, inside & np.isfinite(queued))
    abandoned = per_interval(ones, inside & (conv["outcome"].to_numpy() == "abandoned"))

    msgs_counted = counted_messages(tables, scenario.bot.replies_count)
    replied_ok, counted = _interval_reply_counts(
        conv, msgs_counted, edges, scenario.metrics.pinduoduo.threshold, None)

    first = _first_responses(msgs_counted)
    fr = np.full(len(conv), np.nan)
    answered = first["replied"].to_numpy()
    fr[first["conversation"].to_numpy()[answered]] = first["offered_wait_s"].to_numpy()[answered]
    has_fr = np.isfinite(fr)
    fr_sum = per_interval(np.nan_to_num(fr), inside & has_fr)
    fr_n = per_interval(ones, inside & has_fr)

    assigned = conv["assigned_s"].to_numpy()
    end = conv["end_s"].to_numpy()
    leave_queue = np.where(np.isfinite(assigned), assigned,
                           np.where(np.isfinite(end), end, tables.stop_s))
    waiting = np.isfinite(queued)
    # Clipped: the cumulative-sum integral leaves rounding dust (-1e-15) in empty intervals.
    queue_s = _overlap_integral(queued[waiting], leave_queue[waiting], edges)
    queue = np.maximum(queue_s, 0.0) / lengths

    duty = tables.duty
    on_duty = _overlap_integral(duty["start_s"].to_numpy(), duty["end_s"].to_numpy(), edges)
    msgs_all = tables.messages
    typed = (msgs_all["agent"].to_numpy() >= 0) & np.isfinite(msgs_all["work_s"].to_numpy())
    work = msgs_all[typed]
    reply_end = work["reply_s"].to_numpy()
    typing = _overlap_integral(reply_end - work["work_s"].to_numpy(), reply_end, edges)

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


def wait_distributions(tables: Tables, scenario: Scenario, grid_s: np.ndarray
                       ) -> dict[str, np.ndarray]:
    bot_counts = scenario.bot.replies_count
    reported = tables.conversations["reported"].to_numpy()
    first = first_responses(tables, bot_counts)
    first = first[~reported[first["conversation"].to_numpy()]]
    msgs = counted_messages(tables, bot_counts)
    msgs = msgs[~msgs["reported"].to_numpy()]
    result = {}
    for name, frame in (("first_response", first), ("message_wait", msgs)):
        waits = np.where(frame["replied"].to_numpy(), frame["offered_wait_s"].to_numpy(), np.inf)
        waits = np.sort(waits)
        if len(waits):
            share = np.searchsorted(waits, grid_s, side="right") / len(waits)
        else:
            share = np.full(len(grid_s), np.nan)
        result[name] = share.astype(np.float32)
    return result
