"""Metric definitions on small hand-built tables: every expected number is worked out by hand
from the platform rules in docs (domain.md), never taken from the code under test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import MINIMAL, Desk, clock

from sim import metrics
from sim.engine import simulate
from sim.scenario import Window, load_scenario, scenario_from_dict

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
