"""The per-buyer rates count buyer-days when the records carry buyers (a chat log), and
`unanswered_rate` counts conversations whose last message got no reply. Expected values are
worked out by hand from the tables built here."""

from __future__ import annotations

import pytest
from conftest import Desk, build, clock

from sim.analysis import metrics
from sim.units import DAY_S


@pytest.fixture
def scenario():
    return build({
        "name": "rules",
        "horizon": {"start": "2026-03-02 00:00", "end": "2026-03-04 00:00"},
        "arrivals": {"interval": "1h", "rates_per_hour": [0] * 24, "mix": {"presale": 1}},
        "topics": {"presale": {"messages": {"dist": "geometric", "mean": 2},
                               "think_time": {"dist": "exponential", "mean": "30s"}},
                   "order": {"messages": {"dist": "geometric", "mean": 2},
                             "think_time": {"dist": "exponential", "mean": "30s"}}},
        "groups": {"team": {"skills": ["presale", "order"],
                            "reply_time": {"dist": "exponential", "mean": "20s"},
                            "schedule": {"headcount": {"00:00": 1}}}},
    })


def two_conversation_buyer(with_buyers: bool) -> Desk:
    desk = Desk()
    x = {"buyer": 7} if with_buyers else {}
    # Buyer 7, day 0: answered in 10 s at 10:00; at 14:00 a message waits 6 minutes.
    desk.buyer(clock("10:00"), [(clock("10:00"), clock("10:00:10"))], **x)
    desk.buyer(clock("14:00"), [(clock("14:00"), clock("14:06"))], **x)
    # Buyer 7 again on day 1, answered in 20 s: a buyer-day of its own.
    day1 = DAY_S + clock("09:00")
    desk.buyer(day1, [(day1, day1 + 20)], **x)
    return desk


def test_a_buyer_with_two_conversations_on_one_day_is_one_buyer_day(scenario):
    values = metrics.summarize(two_conversation_buyer(True).tables(stop_s=2 * DAY_S), scenario)
    # Two buyer-days: day 0 has a message over 5 min (unreplied), day 1 is replied: 1/2.
    assert values["reply_rate_5min"] == pytest.approx(0.5)
    # 3-min human rate: the same buyer-days, the same verdicts.
    assert values["human_reply_rate_3min"] == pytest.approx(0.5)
    # 30-s answer rate judges each buyer-day's first message: 10 s on day 0, 20 s on day 1.
    assert values["answer_rate_30s"] == pytest.approx(1.0)
    # First-response statistics stay per conversation: 10, 360 and 20 s.
    assert values["first_response_mean_s"] == pytest.approx((10 + 360 + 20) / 3)


def test_without_buyers_every_conversation_is_a_buyer(scenario):
    values = metrics.summarize(two_conversation_buyer(False).tables(stop_s=2 * DAY_S), scenario)
    assert values["reply_rate_5min"] == pytest.approx(2 / 3)
    assert values["answer_rate_30s"] == pytest.approx(2 / 3)


def test_the_buyer_day_follows_when_each_message_was_sent(scenario):
    desk = Desk()
    # One conversation across midnight: 23:50 answered in 10 s, 00:10 the next day waits 7 min.
    start = clock("23:50")
    desk.buyer(start, [(start, start + 10), (DAY_S + 600, DAY_S + 600 + 420)], buyer=1)
    values = metrics.summarize(desk.tables(stop_s=2 * DAY_S), scenario)
    # Whole day rule: day 0's message in time, day 1's late: one of two buyer-days replied.
    assert values["reply_rate_5min_allday"] == pytest.approx(0.5)
    # Counted hours 08:00-23:00 judge neither message: no buyer counted.
    assert values["reply_rate_5min"] != values["reply_rate_5min"]


def test_unanswered_rate_counts_conversations_whose_last_message_got_no_reply(scenario):
    desk = Desk()
    t = clock("10:00")
    desk.buyer(t, [(t, t + 30), (t + 100, t + 130)])                       # served
    desk.buyer(t, [(t, None)], outcome="abandoned", end_s=t + 200)         # left unanswered
    desk.buyer(t, [(t, t + 20), (t + 60, None)], outcome="open")           # waiting at the end
    desk.buyer(t, [(t, t + 20)], outcome="open")                           # thinking at the end
    desk.buyer(t, [], outcome="deflected", bot_reply_s=t + 2, end_s=t + 40)  # never reached
    tables = desk.tables(stop_s=t + 3600)
    assert list(metrics.last_message_unanswered(tables)) == [False, True, True, False, False]
    values = metrics.summarize(tables, scenario)
    assert values["unanswered_rate"] == pytest.approx(2 / 4)
    assert values["abandon_rate"] == pytest.approx(1 / 4)
