"""Agents (sim.agents): schedules compiled to duty periods, the free-slot bookkeeping of a group,
and what a run does with them: agents on duty as scheduled, breaks, and the two ways a shift
can end (`finish` the open chats, or `hand_back` them to the queue).

Every expected period and time below is worked out by hand from the schedule in the test.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scripted import HOUR, T0, customers, desk, det, group, play

from sim.agents import Agent, GroupState, duty_periods, headcount_at
from sim.engine import SERVED, DeskRun, simulate
from sim.scenario import Group, ScenarioError, Schedule


def _scenario(schedule: dict, horizon=("00:00", "24:00")):
    return build(desk({"q": 1}, {"team": group(["q"], det(10), schedule=schedule)},
                      horizon=horizon))


def _periods(schedule: dict, horizon=("00:00", "24:00")) -> list[tuple[int, float, float]]:
    sc = _scenario(schedule, horizon)
    return sorted((d.slot, d.start_s / HOUR, d.end_s / HOUR)
                  for d in duty_periods(sc.groups["team"].schedule, sc))


# --- duty periods from shifts -------------------------------------------------------------------


def test_a_break_at_the_start_or_the_end_of_a_shift_shortens_it():
    periods = _periods({"shifts": [
        {"start": "08:00", "length": "4h", "agents": 1, "breaks": [{"after": 0, "length": "1h"}]},
        {"start": "08:00", "length": "4h", "agents": 1,
         "breaks": [{"after": "3h", "length": "1h"}]},
    ]})
    assert periods == [(0, 9, 12), (1, 8, 11)]


def test_overlapping_and_unsorted_breaks_are_one_pause():
    # Breaks 10:30-11:30 and 10:00-11:00 (given out of order) make one pause 10:00-11:30.
    periods = _periods({"shifts": [{"start": "08:00", "length": "6h", "agents": 1, "breaks": [
        {"after": "2h30min", "length": "1h"}, {"after": "2h", "length": "1h"}]}]})
    assert periods == [(0, 8, 10), (0, 11.5, 14)]


def test_shifts_are_clipped_to_the_horizon():
    periods = _periods({"shifts": [{"start": "06:00", "length": "4h", "agents": 2},
                                   {"start": "11:00", "length": "3h", "agents": 1}]},
                       horizon=("08:00", "12:00"))
    assert periods == [(0, 8, 10), (1, 8, 10), (2, 11, 12)]


def test_a_dated_shift_happens_once_and_slots_count_on_across_shifts():
    periods = _periods({"shifts": [
        {"start": "2026-11-11 20:00", "length": "8h", "agents": 1},
        {"start": "2026-11-12 09:00", "length": "1h", "agents": 0},
        {"start": "2026-11-12 10:00", "length": "2h", "agents": 2},
    ]}, horizon=("2026-11-10 00:00", "2026-11-13 00:00"))
    # Day 1 20:00 is 44 h after day-0 midnight; day 2 10:00 is 58 h. An empty shift adds none.
    assert periods == [(0, 44, 52), (1, 58, 60), (2, 58, 60)]


def test_a_daily_24h_shift_is_one_continuous_period():
    # Back-to-back repetitions of one slot merge: a table step does not end anyone's shift.
    periods = _periods({"shifts": [{"start": "06:00", "length": "24h", "agents": 1}]},
                       horizon=("2026-11-10 00:00", "2026-11-12 00:00"))
    assert periods == [(0, 0, 48)]


def test_a_daily_shift_longer_than_a_day_is_refused_and_a_dated_one_is_not():
    # Day 0's repetition of a 30 h daily shift would still be on when day 1's starts.
    with pytest.raises(ScenarioError, match="daily shift .* lasts at most 24h"):
        _scenario({"shifts": [{"start": "08:00", "length": "30h", "agents": 1}]},
                  horizon=("2026-11-10 00:00", "2026-11-12 00:00"))
    sc = _scenario({"shifts": [{"start": "2026-11-10 08:00", "length": "30h", "agents": 1}]},
                   horizon=("2026-11-10 00:00", "2026-11-12 00:00"))
    periods = duty_periods(sc.groups["team"].schedule, sc)
    assert headcount_at(periods, [7 * HOUR, 8 * HOUR, 37.99 * HOUR, 38 * HOUR]) == [0, 1, 1, 0]


# --- duty periods from a headcount table --------------------------------------------------------


def test_a_daily_headcount_table_carries_the_last_step_over_midnight():
    # 20:00 -> 1 agent, still in force from 00:00 until 08:00 the next morning.
    sc = _scenario({"headcount": {"08:00": 3, "20:00": 1}})
    periods = duty_periods(sc.groups["team"].schedule, sc)
    assert headcount_at(periods, [h * HOUR for h in (0, 7.99, 8, 19.99, 20, 23.99)]) == [
        1, 1, 3, 3, 1, 1]
    # Slot 0 never leaves, so it is one period; slots 1 and 2 work 08:00-20:00.
    assert sorted((d.slot, d.start_s / HOUR, d.end_s / HOUR) for d in periods) == [
        (0, 0, 24), (1, 8, 20), (2, 8, 20)]


def test_lowering_the_headcount_sends_the_most_recently_added_home():
    periods = _periods({"headcount": {"08:00": 1, "10:00": 3, "12:00": 2, "13:00": 2}},
                       horizon=("08:00", "14:00"))
    # An unchanged step (13:00) changes nobody's period.
    assert periods == [(0, 8, 14), (1, 10, 14), (2, 10, 12)]


def test_headcount_at_counts_half_open_periods():
    sc = _scenario({"headcount": {"08:00": 2, "12:00": 0}})
    periods = duty_periods(sc.groups["team"].schedule, sc)
    assert headcount_at(periods, [8 * HOUR - 1e-6, 8 * HOUR, 12 * HOUR - 1e-6, 12 * HOUR]) == [
        0, 2, 2, 0]


@pytest.mark.parametrize("schedule, fragment", [
    ({}, "exactly one of headcount"),
    ({"headcount": {"08:00": 1}, "shifts": []}, "exactly one of headcount"),
    ({"headcount": {}}, "empty"),
    ({"headcount": {"08:00": 1, "2026-11-11 09:00": 2}}, "not mixed"),
    ({"headcount": {"08:00": -1}}, "greater than or equal to 0"),
    ({"shifts": [{"start": "08:00", "length": "2h", "agents": 1,
                  "breaks": [{"after": "1h30min", "length": "1h"}]}]}, "past the shift"),
    ({"shifts": [{"start": "08:00", "length": "49h", "agents": 1}]}, "longer than 48h"),
    ({"shifts": [{"start": "08:00", "length": 0, "agents": 1}]}, "greater than 0"),
])
def test_bad_schedules_are_refused(schedule, fragment):
    with pytest.raises(ValidationError, match=fragment):
        Schedule.model_validate(schedule)


def test_a_group_needs_a_schedule_or_a_standby_pool():
    with pytest.raises(ValidationError, match="schedule, a standby pool"):
        Group.model_validate({"skills": ["q"], "reply_time": det(10)})


# --- a group's free slots -----------------------------------------------------------------------


def _group(concurrency=3, agents=3) -> GroupState:
    spec = Group.model_validate({"skills": ["q"], "concurrency": concurrency,
                                 "reply_time": det(10), "schedule": {"headcount": {"0:00": 1}}})
    state = GroupState(0, "team", spec, concurrency)
    for i in range(agents):
        agent = Agent(i, state, on_duty=True)
        state.agents.append(agent)
    return state


def _load(state: GroupState, agent: Agent, open_: int, last_assigned_s: float = -1.0) -> None:
    agent.open = open_
    agent.last_assigned_s = last_assigned_s
    state.refresh(agent)


def test_least_busy_takes_the_lowest_load_and_within_it_the_agent_there_longest():
    state = _group()
    a, b, c = state.agents
    _load(state, a, 2)
    _load(state, b, 1)
    _load(state, c, 1)
    assert state.least_busy() is b  # b reached one open chat before c
    _load(state, b, 2)
    assert state.least_busy() is c
    _load(state, c, 3)  # full: no longer free
    assert state.least_busy() is a
    _load(state, a, 3)
    _load(state, b, 3)
    assert state.least_busy() is None


def test_longest_idle_takes_the_agent_assigned_least_recently_whatever_its_load():
    state = _group()
    a, b, c = state.agents
    _load(state, a, 2, last_assigned_s=100.0)
    _load(state, b, 0, last_assigned_s=300.0)
    _load(state, c, 1, last_assigned_s=200.0)
    assert state.longest_idle() is a
    assert state.least_busy() is b
    _load(state, a, 3, last_assigned_s=100.0)  # full
    assert state.longest_idle() is c


def test_a_phone_call_needs_an_agent_with_no_open_conversation():
    state = _group()
    a, b, c = state.agents
    _load(state, a, 1, last_assigned_s=10.0)
    _load(state, b, 2, last_assigned_s=5.0)
    _load(state, c, 1, last_assigned_s=1.0)
    assert state.least_busy(phone=True) is None
    assert state.longest_idle(phone=True) is None
    _load(state, b, 0, last_assigned_s=5.0)
    assert state.least_busy(phone=True) is b and state.longest_idle(phone=True) is b
    # An agent on a call holds no free slot at all.
    b.phone = True
    state.refresh(b)
    assert state.least_busy() is not b and state.least_busy(phone=True) is None


def test_an_agent_off_duty_or_leaving_has_no_free_slot():
    state = _group(agents=2)
    a, b = state.agents
    for agent in (a, b):
        state.refresh(agent)
    a.leaving = True
    state.refresh(a)
    assert not a.has_slot and state.least_busy() is b
    b.on_duty = False
    state.refresh(b)
    assert state.least_busy() is None and state.longest_idle() is None


# --- schedules in a run -------------------------------------------------------------------------


def test_with_nobody_arriving_agents_are_on_duty_exactly_as_scheduled():
    document = desk({"q": 1}, {"team": group(["q"], det(10), schedule={"shifts": [
        {"start": "08:00", "length": "3h", "agents": 2,
         "breaks": [{"after": "1h", "length": "15min"}]},
        {"start": "10:00", "length": "2h", "agents": 1}]})})
    scenario = build(document)
    records = DeskRun(scenario, customers(scenario, [])).run()
    rows = sorted(zip(records.duty_agent.tolist(), (records.duty_start_s / HOUR).tolist(),
                      (records.duty_end_s / HOUR).tolist()))
    assert rows == [(0, 8, 9), (0, 9.25, 11), (1, 8, 9), (1, 9.25, 11), (2, 10, 12)]


# Agent 0 works 08:00-09:00, agent 1 09:30-11:30; two chat windows, 30 s replies. Buyers write
# two messages, the second 20 minutes after the first reply.
def _two_shifts(end_of_shift: str, second_start: str = "09:30") -> dict:
    return desk({"q": 2}, {"team": group(["q"], det("30s"), concurrency=2,
                                         end_of_shift=end_of_shift, schedule={"shifts": [
                                             {"start": "08:00", "length": "1h", "agents": 1},
                                             {"start": second_start, "length": "2h",
                                              "agents": 1}]})},
                think=1200.0)


def _duty_rows(records, agent: int) -> list[tuple[float, float]]:
    mine = records.duty_agent == agent
    return list(zip((records.duty_start_s[mine] - T0).tolist(),
                    (records.duty_end_s[mine] - T0).tolist()))


def test_finish_lets_the_agent_answer_open_chats_after_the_shift():
    # X arrives 08:50 and is answered at 08:50:30; its second message comes at 09:10:30,
    # after agent 0's shift, and agent 0 answers it at 09:11:00, on duty until then.
    records = play(_two_shifts("finish"), [(T0 - 600, "q")])
    assert records.msg_agent.tolist() == [0, 0]
    assert (records.reply_s - T0).tolist() == [-570, 660]
    assert records.outcome[0] == SERVED
    assert _duty_rows(records, 0) == [(-HOUR, 660)]


def test_hand_back_returns_open_chats_to_the_queue_for_the_next_agent():
    # At 09:00 agent 0 hands X back and goes home. X's second message (09:10:30) waits in the
    # queue until agent 1 starts at 09:30 and answers it at 09:30:30.
    records = play(_two_shifts("hand_back"), [(T0 - 600, "q")])
    assert records.msg_agent.tolist() == [0, 1]
    assert (records.reply_s - T0).tolist() == [-570, 1830]
    assert records.agent[0] == 0  # the conversation's first agent stays on record
    assert records.outcome[0] == SERVED
    assert _duty_rows(records, 0) == [(-HOUR, 0)]


def test_hand_back_to_an_agent_already_on_duty_is_immediate():
    # Agent 1 starts at 08:55, after X was assigned to agent 0; at 09:00 X moves to agent 1,
    # who answers the second message as soon as it comes (09:10:30 + 30 s).
    records = play(_two_shifts("hand_back", second_start="08:55"), [(T0 - 600, "q")])
    assert records.msg_agent.tolist() == [0, 1]
    assert (records.reply_s - T0).tolist() == [-570, 660]


@pytest.mark.parametrize("end_of_shift, second_reply, agents, agent0_end", [
    ("finish", 1250, [0, 0], 1250), ("hand_back", 1830, [0, 1], 20)])
def test_a_reply_being_typed_at_shift_end_is_finished_first(end_of_shift, second_reply, agents,
                                                           agent0_end):
    # Y arrives 08:59:50; agent 0 types its first reply until 09:00:20, past the shift end.
    # finish: agent 0 also answers the second message (09:20:20 + 30 s).
    # hand_back: Y is handed back when the reply is done; agent 1 answers at 09:30:30.
    records = play(_two_shifts(end_of_shift), [(T0 - 10, "q")])
    assert records.msg_agent.tolist() == agents
    assert (records.reply_s - T0).tolist() == [20, second_reply]
    assert _duty_rows(records, 0) == [(-HOUR, agent0_end)]


@pytest.mark.parametrize("end_of_shift", ["finish", "hand_back"])
def test_a_break_stops_new_work_and_ends_like_a_shift(end_of_shift):
    # One agent, 08:00-12:00 with a break 09:00-09:30. X (arrived 08:50) writes again at
    # 09:10:30; Z arrives during the break at 09:11:40 and waits for its end.
    document = desk({"q": 2}, {"team": group(["q"], det("30s"), concurrency=2,
                                             end_of_shift=end_of_shift, schedule={"shifts": [
                                                 {"start": "08:00", "length": "4h", "agents": 1,
                                                  "breaks": [{"after": "1h",
                                                              "length": "30min"}]}]})},
                    think=1200.0)
    records = play(document, [(T0 - 600, "q"), (T0 + 700, "q")])
    assert records.assigned_s[1] == T0 + 1800  # not before the break ends
    if end_of_shift == "finish":
        # X's second message is answered during the break.
        assert (records.reply_s - T0).tolist() == [-570, 660, 1830, 1830 + 1200 + 30]
        assert _duty_rows(records, 0) == [(-HOUR, 660), (1800, 3 * HOUR)]
    else:
        # X goes back to the front of the queue; after the break the agent types X's waiting
        # message first (sent 09:10:30), then Z's (09:11:40).
        assert (records.reply_s - T0).tolist() == [-570, 1830, 1860, 1860 + 1200 + 30]
        assert _duty_rows(records, 0) == [(-HOUR, 0), (1800, 3 * HOUR)]
    assert (records.outcome == SERVED).all()


def test_agents_never_take_a_conversation_off_duty_in_a_random_run():
    # A random day on a stepped schedule: every assignment falls inside a duty period of the
    # agent, and the on-duty count seen by each arrival is the scheduled headcount.
    document = {
        "name": "shifts_random",
        "horizon": {"start": "08:00", "end": "14:00", "drain": "30min"},
        "arrivals": {"interval": "30min", "rates_per_hour": [120] * 48, "mix": {"q": 1}},
        "topics": {"q": {"messages": {"dist": "geometric", "mean": 3},
                         "think_time": {"dist": "exponential", "mean": "40s"},
                         "patience": {"dist": "exponential", "mean": "4min"}}},
        "groups": {"team": {"skills": ["q"], "concurrency": 3, "end_of_shift": "hand_back",
                            "reply_time": {"dist": "exponential", "mean": "20s"},
                            "schedule": {"headcount": {"08:00": 2, "09:30": 4, "12:00": 1}}}},
    }
    scenario = build(document)
    records = simulate(scenario, 0, seed=3)
    assigned = np.flatnonzero(np.isfinite(records.assigned_s))
    assert len(assigned) > 300
    for i in assigned:
        t, agent = records.assigned_s[i], records.agent[i]
        mine = records.duty_agent == agent
        assert ((records.duty_start_s[mine] <= t) & (t <= records.duty_end_s[mine])).any()
    periods = duty_periods(scenario.groups["team"].schedule, scenario)
    expected = headcount_at(periods, records.arrival_s)
    assert records.on_duty_at_arrival.tolist() == expected


# --- headcount tables walked once ----------------------------------------------------------------


def _slot_by_slot(spans):
    """Duty periods of headcount spans the plain way: every slot against every span, then
    back-to-back periods joined."""
    from sim.agents import Duty, _merge

    periods = []
    for slot in range(max((n for _, _, n in spans), default=0)):
        for lo, hi, n in spans:
            if n > slot:
                periods.append(Duty(slot, lo, hi))
    return _merge(periods)


@st.composite
def _headcount_spans(draw):
    spans, t = [], draw(st.floats(-1e5, 1e5, allow_nan=False))
    for _ in range(draw(st.integers(0, 30))):
        lo = t + draw(st.sampled_from([0.0, 0.0, 0.0, 60.0, 1e-12]))  # mostly back to back
        t = lo + draw(st.sampled_from([900.0, 1800.0, 1e-3, 3600.0]))
        spans.append((lo, t, draw(st.integers(0, 12))))
    return spans


@settings(max_examples=500)
@given(_headcount_spans())
def test_slot_periods_are_the_slot_by_slot_periods(spans):
    from sim.agents import _slot_periods

    assert _slot_periods(spans) == _slot_by_slot(spans)
