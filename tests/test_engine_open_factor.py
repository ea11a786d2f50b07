"""`reply_time_factor_by_open`: a group's replies take longer the more chats the agent holds.

The factor is read when the agent starts typing, from the number of conversations it holds at
that moment (the one being answered included), and the record's `work_s` is the time the reply
actually took. Off by default, and with every factor 1 the run is the run without the option.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import build
from scripted import T0, desk, det, group, play

from sim.arrivals import sample_customers, streams
from sim.engine import DeskRun
from sim.scenario import ScenarioError, rate_table


def busy_desk(factors=None, concurrency: int = 3) -> dict:
    """Two agents at the given concurrency, enough traffic that they often hold several chats."""
    spec = {"skills": ["q"], "concurrency": concurrency,
            "reply_time": {"dist": "lognormal", "mean": "20s", "cv": 0.6},
            "schedule": {"headcount": {"00:00": 2}}}
    if factors is not None:
        spec["reply_time_factor_by_open"] = factors
    return {
        "name": "busy", "seed": 5,
        "horizon": {"start": "09:00", "end": "12:00", "drain": "1h"},
        "arrivals": {"interval": "1h", "rates_per_hour": [150] * 24, "mix": {"q": 1}},
        "topics": {"q": {"messages": {"dist": "geometric", "mean": 3},
                         "think_time": {"dist": "exponential", "mean": "40s"}}},
        "groups": {"desk": spec},
    }


def run_desk(document: dict, replication: int = 0) -> tuple[DeskRun, object]:
    scenario = build(document)
    customers = sample_customers(scenario, streams(scenario.seed, replication),
                                 rate_table(scenario))
    desk_run = DeskRun(scenario, customers)
    return desk_run, desk_run.run()


def open_at_start(records) -> np.ndarray:
    """For each answered message, the conversations its agent held when typing began, rebuilt
    from the records: those assigned to the agent at or before the start and not yet ended."""
    answered = np.flatnonzero(records.msg_agent >= 0)
    start = records.reply_s[answered] - records.work_s[answered]
    agent = records.msg_agent[answered]
    end = np.where(np.isfinite(records.end_at_s), records.end_at_s, np.inf)
    counts = np.empty(len(answered), dtype=np.int64)
    for i, (who, t) in enumerate(zip(agent, start)):
        mine = records.agent == who
        counts[i] = np.sum(mine & (records.assigned_s <= t + 1e-9) & (end > t + 1e-9))
    return counts


def test_off_by_default_and_factors_of_one_change_nothing():
    _, plain = run_desk(busy_desk())
    _, ones = run_desk(busy_desk([1.0, 1.0, 1.0]))
    for name in ("reply_s", "sent_s", "work_s", "msg_agent", "outcome", "end_at_s"):
        np.testing.assert_array_equal(getattr(ones, name), getattr(plain, name), err_msg=name)
    assert build(busy_desk()).groups["desk"].reply_time_factor_by_open is None


def test_each_reply_takes_its_length_times_the_factor_for_the_chats_open_then():
    factors = [1.0, 1.5, 2.25]
    desk_run, records = run_desk(busy_desk(factors))
    answered = np.flatnonzero(records.msg_agent >= 0)
    base = desk_run.reply_time[0][answered]        # the message's length at factor 1
    held = open_at_start(records)
    assert set(held) == {1, 2, 3}, "the test needs replies typed at every level of load"
    expected = base * np.asarray(factors)[held - 1]
    np.testing.assert_allclose(records.work_s[answered], expected, rtol=1e-12)
    # The time recorded is the time the agent spent: replies are typed back to back or later,
    # never overlapping, so each agent's typing spans are disjoint.
    for who in np.unique(records.msg_agent[answered]):
        rows = answered[records.msg_agent[answered] == who]
        order = np.argsort(records.reply_s[rows])
        ends = records.reply_s[rows][order]
        starts = ends - records.work_s[rows][order]
        assert np.all(starts[1:] >= ends[:-1] - 1e-9)


def test_the_last_factor_holds_beyond_the_list():
    # Concurrency 3 with two factors: a reply typed with three chats open takes the second.
    desk_run, records = run_desk(busy_desk([1.0, 3.0]))
    answered = np.flatnonzero(records.msg_agent >= 0)
    held = open_at_start(records)
    ratio = records.work_s[answered] / desk_run.reply_time[0][answered]
    np.testing.assert_allclose(ratio[held == 1], 1.0)
    np.testing.assert_allclose(ratio[held >= 2], 3.0)
    assert np.any(held == 3)


def test_a_scripted_agent_slows_down_with_its_second_chat():
    # One agent, concurrency 2, two messages per buyer with 100 s think time, replies of 10 s
    # with one chat open and 20 s with two. A writes at T0 and is answered alone (T0+10). B
    # arrives at T0+5 and waits; its reply starts at T0+10 with A still open: 20 s, T0+30.
    # A's second message (T0+110) finds the agent idle holding both: 20 s, T0+130, and A
    # closes. B's second message, also sent at T0+130 but put on the calendar first, waits
    # for A's reply; it is typed after A closed, with one chat open: 10 s, T0+140.
    document = desk({"q": 2}, {"solo": group(["q"], det(10), concurrency=2,
                                              reply_time_factor_by_open=[1.0, 2.0])},
                    think=100.0)
    records = play(document, [(T0, "q"), (T0 + 5, "q")])
    np.testing.assert_allclose(records.reply_s, [T0 + 10, T0 + 130, T0 + 30, T0 + 140])
    np.testing.assert_allclose(records.work_s, [10, 20, 20, 10])
    plain = play(desk({"q": 2}, {"solo": group(["q"], det(10), concurrency=2)}, think=100.0),
                 [(T0, "q"), (T0 + 5, "q")])
    np.testing.assert_allclose(plain.work_s, [10, 10, 10, 10])


@pytest.mark.parametrize("factors, problem", [
    ([1.0, 1.1, 1.2, 1.3], "4 factors for a concurrency of 3"),
    ([1.0, 0.0], "greater than 0"),
    ([1.0, -2.0], "greater than 0"),
    ([1.0, float("inf")], "finite"),
    ([], "at least 1"),
])
def test_bad_factors_are_refused_naming_the_field(factors, problem):
    document = copy.deepcopy(busy_desk(factors))
    with pytest.raises(ScenarioError) as caught:
        build(document)
    message = str(caught.value)
    assert "groups.desk" in message and "reply_time_factor_by_open" in message
    assert problem in message
