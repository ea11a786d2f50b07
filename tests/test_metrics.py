"""Metric definitions on small hand-built tables and deterministic runs: every expected number
is worked out by hand from the platform rules in docs/metrics.md, never taken from the code
under test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import MINIMAL, Desk, build, clock, single_queue

from sim.analysis import metrics
from sim.engine import simulate
from sim.scenario import Window, interval_grid, load_scenario, scenario_from_dict

PDD_WINDOW = Window(start="08:00", end="23:00")


def reply_rate(desk: Desk, threshold_s=300.0, window=PDD_WINDOW, bot_counts=False, **kw):
    return metrics.buyer_reply_rate(desk.tables(**kw), threshold_s, window, bot_counts)


def chain(start_s: float, waits, think_s: float = 30.0):
    """Messages (sent, reply) of a buyer who writes again `think_s` after each reply."""
    out, t = [], start_s
    for wait in waits:
        out.append((t, None if wait is None else t + wait))
        if wait is None:
            break
        t += wait + think_s
    return out


# --- Pinduoduo 5-minute reply rate (per buyer) ----------------------------------------------------


def test_one_message_waiting_301s_makes_the_buyer_unreplied(desk):
    desk.buyer(clock("10:00"), chain(clock("10:00"), [10, 301, 20]))
    assert reply_rate(desk) == 0.0


def test_a_buyer_whose_slowest_message_waited_299s_is_replied(desk):
    desk.buyer(clock("10:00"), chain(clock("10:00"), [10, 299, 20]))
    assert reply_rate(desk) == 1.0


def test_reply_rate_is_a_share_of_buyers_not_of_messages(desk):
    desk.buyer(clock("10:00"), chain(clock("10:00"), [10, 301, 20, 5, 5]))  # 1 late of 5
    desk.buyer(clock("11:00"), chain(clock("11:00"), [400]))
    desk.buyer(clock("12:00"), chain(clock("12:00"), [30, 30]))
    desk.buyer(clock("13:00"), chain(clock("13:00"), [300]))  # exactly 5 min is in time
    assert reply_rate(desk) == pytest.approx(2 / 4)


def test_window_0800_2300_counts_buyers_by_when_they_wrote(desk):
    desk.buyer(clock("10:00"), chain(clock("10:00"), [20]))
    desk.buyer(clock("23:10"), chain(clock("23:10"), [900]))  # late, but after 23:00
    desk.buyer(clock("07:50"), chain(clock("07:50"), [900]))  # late, but before 08:00
    assert reply_rate(desk) == 1.0
    assert reply_rate(desk, window=None) == pytest.approx(1 / 3)


def test_window_edges(desk):
    desk.buyer(clock("08:00"), chain(clock("08:00"), [900]))  # 08:00 itself counts
    desk.buyer(clock("22:59"), chain(clock("22:59"), [900]))
    desk.buyer(clock("23:00"), chain(clock("23:00"), [900]))  # 23:00 itself does not
    tables = desk.tables()
    msgs = metrics.counted_messages(tables, False)
    inside = metrics.in_window(msgs["sent_s"], PDD_WINDOW)
    assert inside.tolist() == [True, True, False]
    assert reply_rate(desk) == 0.0



def test_only_messages_sent_in_the_counted_hours_are_judged(desk):
    # Counted hours 08:00-23:00. The 22:50 message is answered in 60 s; the 23:01 one waits
    # 400 s, but it was sent after 23:00, so it does not make the buyer unreplied.
    desk.buyer(clock("22:50"), [(clock("22:50"), clock("22:51")),
                                (clock("23:01"), clock("23:01") + 400)])
    assert reply_rate(desk) == 1.0
    # The whole-day rule judges the 23:01 message too: 400 s > 300 s.
    assert reply_rate(desk, window=None) == 0.0


def test_a_late_message_in_the_counted_hours_is_not_undone_by_a_fast_one_after(desk):
    # The 22:50 message waits 400 s (> 5 min) inside the counted hours; the 23:01 one is
    # answered in 30 s: the buyer is unreplied.
    desk.buyer(clock("22:50"), [(clock("22:50"), clock("22:50") + 400),
                                (clock("23:01"), clock("23:01:30"))])
    assert reply_rate(desk) == 0.0

def test_window_applies_every_day_of_a_multi_day_horizon(desk):
    day = 86400.0
    desk.buyer(day + clock("23:10"), chain(day + clock("23:10"), [900]))
    desk.buyer(day + clock("09:00"), chain(day + clock("09:00"), [20]))
    assert reply_rate(desk, stop_s=3 * day, end_s=2 * day) == 1.0


def test_a_bot_only_buyer_is_out_of_the_human_reply_denominator(desk):
    desk.buyer(clock("10:00"), chain(clock("10:00"), [400]))  # a person answered too late
    desk.buyer(clock("10:05"), [], outcome="deflected", bot_reply_s=clock("10:05") + 2,
               end_s=clock("10:06"))
    # Bot replies do not count: only the first buyer needs a human reply, and failed.
    assert reply_rate(desk, threshold_s=180.0) == 0.0
    # Where bot replies count, the bot-only buyer is counted and was answered in 2 s.
    assert reply_rate(desk, threshold_s=180.0, bot_counts=True) == 0.5


def test_an_escalated_buyer_is_judged_on_the_human_reply(desk):
    # The bot answers at once, the person 200 s after the hand-over.
    desk.buyer(clock("10:00"), chain(clock("10:00:40"), [200]), bot_reply_s=clock("10:00") + 2)
    assert reply_rate(desk, threshold_s=180.0) == 0.0
    assert reply_rate(desk, threshold_s=300.0) == 1.0


def test_a_buyer_who_left_unanswered_is_unreplied_whatever_the_wait(desk):
    # Left after 60 s without a reply: the platform's clock does not stop when the buyer goes.
    desk.buyer(clock("10:00"), [(clock("10:00"), None)], outcome="abandoned",
               end_s=clock("10:01"))
    desk.buyer(clock("10:00"), chain(clock("10:00"), [20]))
    assert reply_rate(desk) == 0.5


def test_a_message_still_waiting_at_the_end_counts_by_its_wait_so_far(desk):
    stop = clock("20:00")
    desk.buyer(stop - 100, [(stop - 100, None)])  # 100 s so far: not yet late
    desk.buyer(stop - 400, [(stop - 400, None)])  # 400 s so far: late
    assert reply_rate(desk, stop_s=stop) == 0.5


def test_reported_buyers_are_excluded(desk):
    desk.buyer(clock("10:00"), chain(clock("10:00"), [900]), reported=True)
    desk.buyer(clock("10:00"), chain(clock("10:00"), [20]))
    assert reply_rate(desk) == 1.0


def test_30s_answer_rate_judges_the_first_message(desk):
    desk.buyer(clock("10:00"), chain(clock("10:00"), [30, 900]))  # first in 30 s: ok
    desk.buyer(clock("10:00"), chain(clock("10:00"), [31, 1]))
    desk.buyer(clock("10:00"), [(clock("10:00"), None)], outcome="abandoned",
               end_s=clock("10:00:20"))
    rate = metrics.buyer_first_answer_rate(desk.tables(), 30.0, PDD_WINDOW, False)
    assert rate == pytest.approx(1 / 3)


# --- Taobao turns ---------------------------------------------------------------------------------


def test_taobao_follow_up_before_the_answer_opens_no_new_turn(desk):
    t = clock("10:00")
    # Question at 0 and a follow-up at +30; the shop's first answer at +100 closes the turn.
    # A new question at +200 is answered at +400: a second turn, 200 s > 180 s.
    desk.buyer(t, [(t, t + 100), (t + 30, t + 110), (t + 200, t + 400)])
    turns = metrics.turns(desk.tables(), bot_counts=True)
    assert turns["start_s"].tolist() == [t, t + 200]
    assert turns["response_s"].tolist() == [100.0, 200.0]
    window = Window(start="08:00", end="24:00")
    assert metrics.turn_response_rate(desk.tables(), 180.0, window, True) == 0.5


def test_taobao_follow_up_whose_own_reply_is_slow_does_not_make_a_late_turn(desk):
    # The follow-up at +30 is itself answered only at +500, but the turn was answered at +100.
    t = clock("10:00")
    desk.buyer(t, [(t, t + 100), (t + 30, t + 500)])
    window = Window(start="08:00", end="24:00")
    assert metrics.turn_response_rate(desk.tables(), 180.0, window, True) == 1.0
    # Per buyer (Pinduoduo), the follow-up waited 470 s: unreplied.
    assert reply_rate(desk) == 0.0


def test_taobao_a_bot_answer_closes_the_turn_when_bot_replies_count(desk):
    t = clock("10:00")
    desk.buyer(t, [(t + 60, t + 400)], bot_reply_s=t + 2)
    window = Window(start="08:00", end="24:00")
    counted = metrics.turns(desk.tables(), bot_counts=True)
    assert counted["response_s"].tolist() == [2.0, 340.0]
    assert metrics.turn_response_rate(desk.tables(), 180.0, window, True) == 0.5
    assert metrics.turn_response_rate(desk.tables(), 180.0, window, False) == 0.0


def test_taobao_window_runs_to_midnight_and_unanswered_turns_fail(desk):
    desk.buyer(clock("23:30"), chain(clock("23:30"), [20]))  # counted: window ends 24:00
    desk.buyer(clock("07:00"), chain(clock("07:00"), [20]))  # not counted
    desk.buyer(clock("12:00"), [(clock("12:00"), None)], outcome="abandoned",
               end_s=clock("12:00:10"))
    window = Window(start="08:00", end="24:00")
    rate = metrics.turn_response_rate(desk.tables(), 180.0, window, True)
    assert rate == 0.5


def test_taobao_turns_of_different_buyers_do_not_mix(desk):
    t = clock("10:00")
    desk.buyer(t, [(t, None)], outcome="abandoned", end_s=t + 50)
    desk.buyer(t + 10, [(t + 10, t + 20)])
    turns = metrics.turns(desk.tables(), bot_counts=True)
    assert turns["answered"].tolist() == [False, True]



TAOBAO_WINDOW = Window(start="08:00", end="24:00")


def test_taobao_a_message_sent_as_the_reply_goes_out_waits_for_the_next_reply(desk):
    # No think time: the buyer's second message goes out at +200, the instant the first
    # reply does. It opens a second turn, answered by the next reply at +400 (200 s), not by
    # the reply sent with it (0 s). Both turns take 200 s > 180 s.
    t = clock("10:00")
    desk.buyer(t, [(t, t + 200), (t + 200, t + 400)])
    turns = metrics.turns(desk.tables(), bot_counts=True)
    assert turns["start_s"].tolist() == [t, t + 200]
    assert turns["response_s"].tolist() == [200.0, 200.0]
    assert metrics.turn_response_rate(desk.tables(), 180.0, TAOBAO_WINDOW, True) == 0.0


def test_taobao_a_hand_over_at_the_bot_reply_instant_opens_a_turn_for_the_person(desk):
    # The bot answers at +10, and the conversation reaches people at that same instant; the
    # person replies 200 s later. Turns: the bot's (10 s) and the person's (200 s).
    t = clock("10:00")
    desk.buyer(t, [(t + 10, t + 210)], bot_reply_s=t + 10)
    turns = metrics.turns(desk.tables(), bot_counts=True)
    assert turns["start_s"].tolist() == [t, t + 10]
    assert turns["response_s"].tolist() == [10.0, 200.0]
    assert metrics.turn_response_rate(desk.tables(), 180.0, TAOBAO_WINDOW, True) == 0.5


def test_taobao_an_instant_greeting_answers_only_the_message_it_greets(desk):
    # An automatic greeting answers the first message at once (0 s); the message that reaches
    # people at that instant is a new turn, answered by the person 250 s later.
    t = clock("10:00")
    desk.buyer(t, [(t, t + 250)], bot_reply_s=t)
    turns = metrics.turns(desk.tables(), bot_counts=True)
    assert turns["response_s"].tolist() == [0.0, 250.0]
    assert turns["answered"].tolist() == [True, True]
    assert metrics.turn_response_rate(desk.tables(), 180.0, TAOBAO_WINDOW, True) == 0.5


def test_taobao_a_message_sent_as_the_last_reply_goes_out_is_an_unanswered_turn(desk):
    # The second message goes out at +100 with the first reply and is never answered: the
    # buyer leaves at +500 after waiting 400 s.
    t = clock("10:00")
    desk.buyer(t, [(t, t + 100), (t + 100, None)], outcome="abandoned", end_s=t + 500)
    turns = metrics.turns(desk.tables(), bot_counts=True)
    assert turns["answered"].tolist() == [True, False]
    assert turns["response_s"].tolist() == [100.0, 400.0]


def _timed_desk(messages: int, bot: dict | None = None) -> dict:
    """A desk where nobody queues: 20 agents, a few buyers an hour 10:00-20:00, every reply
    typed in exactly 200 s, the next message sent the instant the reply goes out."""
    document = single_queue(20, 0, {"dist": "deterministic", "value": "200s"},
                            messages=messages)
    document["arrivals"]["rates_per_hour"] = [0] * 10 + [6] * 10 + [0] * 4
    if bot is not None:
        document["bot"] = bot
    return document


def test_taobao_rate_with_no_think_time_and_200s_replies_is_zero():
    scenario = build(_timed_desk(messages=2))
    tables = metrics.Tables.from_records(simulate(scenario, 0, seed=3))
    waits = tables.messages["reply_s"] - tables.messages["sent_s"]
    assert len(tables.conversations) > 20 and (waits == 200.0).all()
    # Every turn is one message answered 200 s later: none within 3 min.
    assert metrics.summarize(tables, scenario)["taobao_response_rate_3min"] == 0.0


def test_taobao_rate_when_the_hand_over_lands_on_the_bot_reply_is_one_half():
    # The bot answers in 10 s; it spends 4 s and hands over in 6 s, so the buyer reaches people
    # as the bot's answer goes out. Per buyer: the bot's turn in 10 s, the person's in 200 s.
    bot = {"enabled": True, "reply_delay": "10s", "handover_delay": "6s",
           "handling_time": {"dist": "deterministic", "value": "4s"}}
    scenario = build(_timed_desk(messages=1, bot=bot))
    tables = metrics.Tables.from_records(simulate(scenario, 0, seed=3))
    conv = tables.conversations
    assert len(conv) > 20
    assert ((conv["queued_s"] - conv["arrival_s"]) == 10.0).all()
    assert ((conv["bot_reply_s"] - conv["arrival_s"]) == 10.0).all()
    assert metrics.summarize(tables, scenario)["taobao_response_rate_3min"] == 0.5

# --- JD sessions ----------------------------------------------------------------------------------


def jd_rate(desk: Desk):
    return metrics.session_answer_rate(desk.tables(), threshold_s=30.0,
                                       excluded_from_s=clock("23:00"),
                                       excluded_until_s=clock("09:00"),
                                       gap_s=600.0, bot_counts=False)


def test_jd_sessions_night_and_offline_excluded():
    desk = Desk()
    desk.buyer(clock("10:00"), chain(clock("10:00"), [10]), buyer=1)      # in time
    desk.buyer(clock("11:00"), chain(clock("11:00"), [40]), buyer=2)      # late
    desk.buyer(clock("23:30"), chain(clock("23:30"), [500]), buyer=3)     # night: excluded
    desk.buyer(clock("08:59"), chain(clock("08:59"), [500]), buyer=4)     # night: excluded
    desk.buyer(clock("09:00"), chain(clock("09:00"), [5]), buyer=5)       # day starts 09:00
    desk.buyer(clock("14:00"), chain(clock("14:00"), [900]), buyer=6, on_duty=0)  # offline
    rate, offline = jd_rate(desk)
    assert rate == pytest.approx(2 / 3)
    assert offline == 1


def test_jd_a_buyer_back_within_10_minutes_continues_the_session():
    desk = Desk()
    # Buyer 7's first conversation ends 10:00:40; the second starts 9 min later and its slow
    # first answer belongs to the same session, whose first answer came in 10 s.
    desk.buyer(clock("10:00"), [(clock("10:00"), clock("10:00:10")),
                                (clock("10:00:30"), clock("10:00:40"))], buyer=7)
    desk.buyer(clock("10:09:40"), chain(clock("10:09:40"), [300]), buyer=7)
    # Buyer 8 comes back after 11 minutes: a new session, answered late.
    desk.buyer(clock("12:00"), chain(clock("12:00"), [10]), buyer=8)
    desk.buyer(clock("12:11:10"), chain(clock("12:11:10"), [300]), buyer=8)
    joined = metrics.sessions(desk.tables(), gap_s=600.0)
    assert joined["session"].nunique() == 3
    rate, offline = jd_rate(desk)
    assert rate == pytest.approx(2 / 3)
    assert offline == 0



def test_jd_a_session_closes_at_the_latest_end_of_its_conversations():
    desk = Desk()
    # Buyer 9: a long conversation 10:00-10:30 and, inside it, a short one 10:05-10:10. A third
    # starts at 10:38, 8 minutes after the session's close (10:30) though 28 after the
    # previous conversation's end: it continues the session, whose first answer took 10 s.
    desk.buyer(clock("10:00"), [(clock("10:00"), clock("10:00:10")),
                                (clock("10:29"), clock("10:30"))], buyer=9)
    desk.buyer(clock("10:05"), [(clock("10:05"), clock("10:05:20")),
                                (clock("10:09"), clock("10:10"))], buyer=9)
    desk.buyer(clock("10:38"), chain(clock("10:38"), [300]), buyer=9)
    # Buyer 10: the same, but back at 12:41, 11 minutes after the close: a new session, whose
    # first answer took 300 s.
    desk.buyer(clock("12:00"), [(clock("12:00"), clock("12:00:10")),
                                (clock("12:29"), clock("12:30"))], buyer=10)
    desk.buyer(clock("12:05"), [(clock("12:05"), clock("12:05:20")),
                                (clock("12:09"), clock("12:10"))], buyer=10)
    desk.buyer(clock("12:41"), chain(clock("12:41"), [300]), buyer=10)
    joined = metrics.sessions(desk.tables(), gap_s=600.0)
    assert joined["conversation"].tolist() == [0, 1, 2, 3, 4, 5]
    assert joined["session"].tolist() == [0, 0, 0, 1, 1, 2]
    rate, offline = jd_rate(desk)
    assert rate == pytest.approx(2 / 3)
    assert offline == 0

def test_jd_without_a_buyer_column_every_conversation_is_a_session():
    desk = Desk()
    desk.buyer(clock("10:00"), chain(clock("10:00"), [10]))
    desk.buyer(clock("10:05"), chain(clock("10:05"), [300]))
    assert metrics.sessions(desk.tables(), gap_s=600.0)["session"].nunique() == 2
    assert jd_rate(desk)[0] == 0.5


# --- waits, occupancy, cost, lost orders through summarize --------------------------------------


@pytest.fixture(scope="module")
def minimal_scenario():
    # team: hourly cost 30; presale topic is presale; conversion base 0.42, half-life 5 min.
    return load_scenario(MINIMAL)


def test_summarize_on_hand_built_records(minimal_scenario):
    desk = Desk(topics=("presale", "aftersale"))
    t = clock("09:00")
    desk.buyer(t, chain(t, [10, 20, 30]), topic="presale")                   # first 10 s
    desk.buyer(t, chain(t, [300, 5]), topic="presale")                        # first 300 s
    desk.buyer(t, [(t, None)], topic="presale", outcome="abandoned", end_s=t + 60)
    desk.buyer(t, chain(t, [50]), topic="aftersale")
    # A presale buyer the bot deflected needed no person and loses no order.
    desk.buyer(t, [], topic="presale", outcome="deflected", bot_reply_s=t + 2, end_s=t + 30)
    desk.on_duty(0, clock("08:00"), clock("10:00"))  # 2 h on duty
    tables = desk.tables(stop_s=clock("12:30"), start_s=clock("08:00"), end_s=clock("12:00"))
    values = metrics.summarize(tables, minimal_scenario, {"team": 0})

    assert values["arrived"] == 5 and values["served"] == 3
    assert values["abandoned"] == 1 and values["deflected"] == 1
    assert values["abandon_rate"] == pytest.approx(1 / 4)  # of buyers who reached people
    assert values["deflection_rate"] == pytest.approx(1 / 5)
    # First responses of answered buyers: 10, 300, 50 s.
    assert values["first_response_mean_s"] == pytest.approx(120.0)
    assert values["first_response_p50_s"] == pytest.approx(50.0)
    # 4 buyers needed a person; 1 answered within 30 s (the one who left was not).
    assert values["first_response_30s_rate"] == pytest.approx(1 / 4)
    # Message waits of replied messages: 10, 20, 30, 300, 5, 50.
    assert values["message_wait_mean_s"] == pytest.approx(415 / 6)
    # Replied-late buyers: the 300 s one is in time (not over 5 min), the leaver is not.
    assert values["reply_rate_5min"] == pytest.approx(3 / 4)
    # Six replies of 10 s typed in a 2 h duty period.
    assert values["occupancy"] == pytest.approx(60.0 / 7200.0)
    assert values["cost"] == pytest.approx(2 * 30.0)
    # Presale buyers lose base * (1 - 0.5^(t / 300 s)): 10 s, 300 s, and never answered.
    base = 0.42
    expected = base * (1 - 0.5 ** (10 / 300)) + base * 0.5 + base
    assert values["lost_orders"] == pytest.approx(expected)


def test_cost_adds_standby_activations():
    document = yaml.safe_load(MINIMAL.read_text())
    document["groups"]["team"]["standby"] = {"queue_length": 3, "cap": 2,
                                             "activation_cost": 80}
    scenario = scenario_from_dict(document)
    desk = Desk()
    desk.buyer(clock("09:00"), chain(clock("09:00"), [10]))
    desk.on_duty(0, clock("08:00"), clock("09:30"))
    assert metrics.cost(desk.tables(), scenario, {"team": 2}) == pytest.approx(1.5 * 30 + 160)


def test_percentiles_are_of_answered_waits_only():
    values = metrics.percentile_metrics("w", np.array([1.0, 2.0, 3.0, 10.0, np.nan]), [50, 90])
    assert values["w_mean_s"] == 4.0
    assert values["w_p50_s"] == 2.5
    assert values["w_p90_s"] == pytest.approx(3.0 + 0.7 * 7.0)  # linear between 3 and 10


def test_metrics_of_a_run_with_nobody_answering_are_defined(minimal_scenario):
    # No duty, one buyer waiting to the end: rates are 0 (not a crash), occupancy undefined.
    desk = Desk(topics=("presale", "aftersale"))
    desk.buyer(clock("09:00"), [(clock("09:00"), None)])
    values = metrics.summarize(desk.tables(stop_s=clock("12:30")), minimal_scenario)
    assert values["reply_rate_5min"] == 0.0
    assert values["taobao_response_rate_3min"] == 0.0
    assert math.isnan(values["occupancy"])


def test_interval_series_counts_arrivals_per_interval(minimal_scenario):
    desk = Desk(topics=("presale", "aftersale"))
    for t in ("08:05", "08:20", "08:40", "11:59"):
        desk.buyer(clock(t), chain(clock(t), [10]))
    desk.on_duty(0, clock("08:00"), clock("12:00"))
    series = metrics.interval_series(
        desk.tables(stop_s=clock("12:30"), start_s=clock("08:00"), end_s=clock("12:00")),
        minimal_scenario)
    assert len(series) == 8  # 08:00-12:00 in 30-minute intervals
    assert series["arrivals"].tolist() == [2, 1, 0, 0, 0, 0, 0, 1]
    assert series["agents_on_duty"].tolist() == [1.0] * 8
    assert pd.isna(series["reply_rate_5min"].iloc[2])



def _reply_count_desk(topics=("presale", "order")) -> Desk:
    desk = Desk(topics=topics)
    other = topics[1]
    # 08:00-08:30
    desk.buyer(clock("08:05"), [(clock("08:05"), clock("08:05:10")),
                                (clock("08:10"), clock("08:10") + 400)])  # 400 s: late
    desk.buyer(clock("08:20"), chain(clock("08:20"), [60]))  # in time
    desk.buyer(clock("08:25"), [], outcome="deflected", bot_reply_s=clock("08:25") + 2,
               end_s=clock("08:26"))  # bot only: answered in 2 s
    # 08:30-09:00
    desk.buyer(clock("08:40"), chain(clock("08:40"), [900]), reported=True)  # never counted
    desk.buyer(clock("08:45"), chain(clock("08:45"), [420]), topic=other)  # 420 s
    desk.buyer(clock("08:50"), [(clock("08:50"), None)], outcome="abandoned",
               end_s=clock("08:51"))  # left unanswered
    # after the grid
    desk.buyer(clock("09:10"), chain(clock("09:10"), [900]))
    return desk


def test_interval_reply_counts_count_buyers_by_arrival_interval():
    tables = _reply_count_desk().tables()
    edges = np.array([clock("08:00"), clock("08:30"), clock("09:00")])
    replied, buyers = metrics.interval_reply_counts(tables, edges, 300.0, bot_counts=False)
    # 08:00: the 400 s buyer is late, the 60 s one in time, the bot-only one out.
    # 08:30: the reported buyer is out; the 420 s one is late, the leaver unreplied.
    assert replied.tolist() == [1.0, 0.0] and buyers.tolist() == [2.0, 2.0]
    replied, buyers = metrics.interval_reply_counts(tables, edges, 300.0, bot_counts=True)
    assert replied.tolist() == [2.0, 0.0] and buyers.tolist() == [3.0, 2.0]
    # A 7.5-minute threshold: 400 s and 420 s are in time; the leaver still is not.
    replied, buyers = metrics.interval_reply_counts(tables, edges, 450.0, bot_counts=False)
    assert replied.tolist() == [2.0, 1.0] and buyers.tolist() == [2.0, 2.0]
    replied, buyers = metrics.interval_reply_counts(tables, edges, 300.0, bot_counts=False,
                                                    topics=["presale"])
    assert replied.tolist() == [1.0, 0.0] and buyers.tolist() == [2.0, 1.0]


def test_interval_series_reply_rate_is_replied_over_counted_buyers(minimal_scenario):
    # The minimal scenario: 08:00-12:00 on a 30-minute grid, bot replies do not count, 5 min.
    desk = _reply_count_desk(topics=("presale", "aftersale"))
    desk.on_duty(0, clock("08:00"), clock("12:00"))
    series = metrics.interval_series(
        desk.tables(stop_s=clock("12:30"), start_s=clock("08:00"), end_s=clock("12:00")),
        minimal_scenario)
    rates = series["reply_rate_5min"].tolist()
    assert rates[:3] == [0.5, 0.0, 0.0]  # 1 of 2, 0 of 2, and the 09:10 buyer waited 900 s
    assert all(math.isnan(r) for r in rates[3:])


def test_interval_series_grid_is_clipped_to_an_off_grid_horizon():
    document = yaml.safe_load(MINIMAL.read_text())
    document["horizon"] = {"start": "08:10", "end": "11:45", "drain": "30min"}
    scenario = scenario_from_dict(document)
    desk = Desk(topics=("presale", "aftersale"))
    for t in ("08:20", "08:31", "11:40"):
        desk.buyer(clock(t), chain(clock(t), [10]))
    desk.on_duty(0, clock("08:10"), clock("11:45"))
    series = metrics.interval_series(
        desk.tables(stop_s=clock("12:15"), start_s=clock("08:10"), end_s=clock("11:45")),
        scenario)
    starts = ["08:10", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert series["interval_start_s"].tolist() == [clock(t) for t in starts]
    assert series["interval_end_s"].tolist() == [clock(t) for t in starts[1:]] + [clock("11:45")]
    assert np.array_equal(series["interval_start_s"].to_numpy(), interval_grid(scenario)[:-1])
    assert series["arrivals"].tolist() == [1, 1, 0, 0, 0, 0, 0, 1]

def test_a_run_without_buyers_gives_undefined_rates_not_a_crash():
    document = yaml.safe_load(MINIMAL.read_text())
    document["arrivals"]["rates_per_hour"] = [0] * 48
    scenario = scenario_from_dict(document)
    tables = metrics.Tables.from_records(simulate(scenario, 0, seed=1))
    values = metrics.summarize(tables, scenario)
    assert values["arrived"] == 0
    assert math.isnan(values["reply_rate_5min"])
    assert math.isnan(values["taobao_response_rate_3min"])
    assert values["occupancy"] == 0.0  # on duty, nothing to type
    assert metrics.interval_series(tables, scenario)["arrivals"].sum() == 0


# --- memory --------------------------------------------------------------------------------------


def test_a_replications_metric_arrays_are_freed_with_its_tables_without_the_garbage_collector():
    """The metrics' shared state (`Tables.run`, the counted messages, first messages, turns)
    holds no reference cycle: a worker running replication after replication reuses the
    memory of the last one instead of keeping every one alive until a collection runs."""
    import gc
    import weakref

    from sim.experiment import replication_metrics, wait_distributions

    scenario = load_scenario("scenarios/double11.yaml")
    records = simulate(scenario, 0, scenario.seed)
    gc.collect()
    gc.disable()
    try:
        _, _, tables = replication_metrics(scenario, records)
        wait_distributions(tables, scenario)
        metrics.first_responses(tables, scenario.bot.replies_count)
        metrics.turns(tables, scenario.bot.replies_count)
        counted = tables.run.counted(scenario.bot.replies_count)
        alive = [weakref.ref(tables.run), weakref.ref(counted), weakref.ref(counted.first),
                 weakref.ref(counted.turns)]
        del tables, counted
        assert [ref() is None for ref in alive] == [True] * len(alive)
    finally:
        gc.enable()
