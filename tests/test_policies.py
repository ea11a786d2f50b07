"""Routing policies (sim.policies): which groups may take a topic, which waiting conversation a
freed agent takes (fcfs, priority), which free agent a new conversation goes to (least_busy,
longest_idle), and overflow to other groups after `overflow_after`.

Scripted desks (deterministic times, buyers given one by one) make every expected order and
time a matter of arithmetic, worked out in each test's comments. Randomised busy desks then
check the same rules as invariants over every decision of a run.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from scripted import T0, desk, det, group, play

from sim.agents import GroupState
from sim.engine import ABANDONED, SERVED, simulate
from sim.policies import Router

# --- which groups may take a topic -----------------------------------------------------------


def _router(mode: str, **help_extra) -> tuple[Router, dict[str, int]]:
    document = desk({"q": 1, "r": 1, "s": 1}, {
        "own": group(["q", "s"], det(10)),
        "help": group(["r"], det(10), **help_extra),
    }, routing={"mode": mode})
    scenario = build(document)
    groups = [GroupState(i, name, spec, spec.concurrency)
              for i, (name, spec) in enumerate(scenario.groups.items())]
    topics = tuple(scenario.topics)
    router = Router()
    router.setup(scenario, groups, topics)
    return router, {name: i for i, name in enumerate(topics)}


def _names(groups) -> list[str]:
    return [g.name for g in groups]


def test_dedicated_groups_take_their_skills_only():
    router, t = _router("dedicated")
    assert _names(router.primary[t["q"]]) == ["own"]
    assert _names(router.primary[t["r"]]) == ["help"]
    assert all(not late for late in router.overflow)


def test_pooled_groups_take_every_topic_at_once():
    router, t = _router("pooled")
    for topic in ("q", "r", "s"):
        assert _names(router.primary[t[topic]]) == ["own", "help"]
    assert all(not late for late in router.overflow)


def test_overflow_lets_other_groups_help_later_limited_by_overflow_skills():
    router, t = _router("overflow")
    assert _names(router.primary[t["q"]]) == ["own"]
    assert _names(router.overflow[t["q"]]) == ["help"]  # no overflow_skills: every topic
    assert _names(router.overflow[t["r"]]) == ["own"]
    limited, t = _router("overflow", overflow_skills=["s"])
    assert _names(limited.overflow[t["s"]]) == ["help"]
    assert limited.overflow[t["q"]] == []  # q is not among help's overflow skills


# --- which waiting conversation a freed agent takes --------------------------------------------

# One agent, one chat at a time, 100 s per reply, one message per buyer. Topics are declared
# low first, so a rule that followed declaration order would get the priority cases wrong.
ONE_AGENT = {"desk": group(["low", "high"], det("100s"))}
#: A (low) is typed from T0 to T0+100; B (low) queues at T0+10, C (high) at T0+20.
A_B_C = [(T0, "low"), (T0 + 10, "low"), (T0 + 20, "high")]


def test_fcfs_serves_the_conversation_that_waited_longest():
    records = play(desk({"low": 1, "high": 1}, ONE_AGENT, {"discipline": "fcfs"}), A_B_C)
    # At T0+100 the agent takes B (queued at T0+10), then C at T0+200.
    assert (records.assigned_s - T0).tolist() == [0, 100, 200]
    assert (records.end_at_s - T0).tolist() == [100, 200, 300]


@pytest.mark.parametrize("priority", [["high"], ["high", "low"]])
def test_priority_serves_the_higher_ranked_topic_first_even_if_it_waited_less(priority):
    records = play(desk({"low": 1, "high": 1}, ONE_AGENT,
                        {"discipline": "priority", "priority": priority}), A_B_C)
    # At T0+100 C (high, waiting 80 s) goes before B (low, waiting 90 s); B follows at T0+200.
    assert (records.assigned_s - T0).tolist() == [0, 200, 100]
    assert (records.end_at_s - T0).tolist() == [100, 300, 200]
    # C's first response is its wait plus one reply: 80 s + 100 s.
    assert records.reply_s[2] - records.arrival_s[2] == 180


def test_priority_follows_the_list_not_the_topic_names():
    records = play(desk({"low": 1, "high": 1}, ONE_AGENT,
                        {"discipline": "priority", "priority": ["low", "high"]}), A_B_C)
    assert (records.assigned_s - T0).tolist() == [0, 100, 200]


def test_listed_topics_go_before_unlisted_ones_and_each_topic_stays_fcfs():
    topics = {"a": 1, "b": 1, "c": 1}
    groups = {"desk": group(["a", "b", "c"], det("100s"))}
    buyers = [(T0, "a"),        # typed T0..T0+100
              (T0 + 10, "b"),   # unlisted: last, although it waited longest
              (T0 + 20, "c"),   # first choice
              (T0 + 30, "a"),   # second choice, before the later a
              (T0 + 40, "c"),   # the later c, after the earlier one
              (T0 + 50, "a")]
    records = play(desk(topics, groups, {"discipline": "priority", "priority": ["c", "a"]}),
                   buyers)
    # Freed at T0+100, 200, ...: c (T0+20), c (T0+40), a (T0+30), a (T0+50), b (T0+10).
    assert (records.assigned_s - T0).tolist() == [0, 500, 100, 300, 200, 400]


# --- which free agent a new conversation goes to ----------------------------------------------


def _two_agents(assignment: str):
    # Two agents with two chat windows each and 5 s replies; agent 0 is on from 08:00, agent 1
    # from 09:00:05. X has a second message an hour later, so it stays open; Y and Z have one
    # message each (Y closes at T0+15).
    document = desk({"long": 2, "short": 1},
                    {"desk": group(["long", "short"], det("5s"), concurrency=2,
                                   schedule={"headcount": {"00:00": 1, "09:00:05": 2}})},
                    {"assignment": assignment}, think=3600.0)
    return play(document, [(T0, "long"), (T0 + 10, "short"), (T0 + 20, "short")])


def test_least_busy_gives_a_new_conversation_to_the_agent_with_fewest_open():
    records = _two_agents("least_busy")
    # X: only agent 0 is on. Y: agent 0 holds X, agent 1 nothing. Z: agent 0 still holds X,
    # agent 1 nothing again (Y closed at T0+15).
    assert records.agent.tolist() == [0, 1, 1]


def test_longest_idle_gives_a_new_conversation_to_the_agent_assigned_least_recently():
    records = _two_agents("longest_idle")
    # Y: agent 1 was never assigned. Z: both have a free window; agent 0 was last assigned at
    # T0, agent 1 at T0+10, so agent 0 gets Z although it holds an open chat and agent 1 none.
    assert records.agent.tolist() == [0, 1, 0]


def test_least_busy_compares_load_relative_to_each_groups_window_count():
    # A group with 2 windows (agent 0) and one with 8 (agent 1) both take q; only the big one
    # takes r. Conversations stay open for an hour. R (r) goes to the big group; then the
    # loads (small, big) before each q arrival are (0, 1/8), (1/2, 1/8), (1/2, 2/8),
    # (1/2, 3/8): the second and third q go to the big group although its agent holds as
    # many (1 vs 1) and then more (2 vs 1) open chats than the small group's.
    document = desk({"q": 2, "r": 2}, {"small": group(["q"], det("1s"), concurrency=2),
                                       "big": group(["q", "r"], det("1s"), concurrency=8)},
                    {"assignment": "least_busy"}, think=3600.0)
    records = play(document, [(T0, "r")] + [(T0 + k, "q") for k in range(1, 5)])
    small, big = 0, 1
    assert records.agent.tolist() == [big, small, big, big, big]


# --- invariants over randomised busy desks ------------------------------------------------------


def _busy(discipline="fcfs", assignment="least_busy", agents=3, concurrency=2, rate=170.0):
    topic = {"messages": {"dist": "geometric", "mean": 2},
             "think_time": {"dist": "exponential", "mean": "30s"},
             "patience": {"dist": "exponential", "mean": "3min"}}
    document = {
        "name": "busy_policies",
        "horizon": {"start": "08:00", "end": "10:00", "drain": "30min"},
        "arrivals": {"interval": "1h", "rates_per_hour": [rate] * 24,
                     "mix": {"low": 0.6, "high": 0.4}},
        "topics": {"low": topic, "high": topic},
        "groups": {"desk": {"skills": ["low", "high"], "concurrency": concurrency,
                            "reply_time": {"dist": "exponential", "mean": "40s"},
                            "schedule": {"headcount": {"00:00": agents}}}},
        "routing": {"discipline": discipline, "priority": ["high"], "assignment": assignment},
    }
    return build(document)


def _waiting_at(records, t: float) -> np.ndarray:
    """Conversations in the queue just before `t`: queued earlier and neither assigned nor
    gone by then."""
    assigned = np.where(np.isnan(records.assigned_s), np.inf, records.assigned_s)
    ended = np.where(np.isnan(records.end_at_s), np.inf, records.end_at_s)
    return (records.queued_s < t) & (assigned > t) & (ended > t)


def _open_at(records, t: float) -> np.ndarray:
    """Open conversations per agent just before `t` (no hand-backs: one agent each)."""
    ended = np.where(np.isnan(records.end_at_s), np.inf, records.end_at_s)
    holding = (records.assigned_s < t) & (ended > t) & (records.agent >= 0)
    n_agents = int(records.duty_agent.max()) + 1
    return np.bincount(records.agent[holding], minlength=n_agents)


@pytest.mark.parametrize("discipline", ["fcfs", "priority"])
def test_every_pick_from_the_queue_follows_the_discipline(discipline):
    scenario = _busy(discipline)
    high = list(scenario.topics).index("high")
    picks = 0
    for replication in range(3):
        records = simulate(scenario, replication, seed=41)
        from_queue = np.flatnonzero(records.assigned_s > records.queued_s)
        for i in from_queue:
            t = records.assigned_s[i]
            waiting = _waiting_at(records, t)
            if discipline == "fcfs":
                older = waiting & (records.queued_s < records.queued_s[i])
                assert not older.any(), f"conversation {i} taken before an older one"
            else:
                if records.topic[i] != high:
                    assert not (waiting & (records.topic == high)).any(), (
                        f"low-priority conversation {i} taken while a high one waited")
                same = waiting & (records.topic == records.topic[i])
                assert not (same & (records.queued_s < records.queued_s[i])).any()
        picks += len(from_queue)
        # The desk is overloaded enough that both topics queue and some buyers give up.
        assert (records.outcome == ABANDONED).any()
    assert picks > 100


def test_priority_shortens_the_high_topics_wait_at_the_low_topics_expense():
    waits = {}
    for discipline in ("fcfs", "priority"):
        scenario = _busy(discipline)
        high = list(scenario.topics).index("high")
        per_topic = {True: [], False: []}
        for replication in range(3):
            records = simulate(scenario, replication, seed=41)
            wait = records.assigned_s - records.queued_s
            for is_high in (True, False):
                mask = (records.topic == high) == is_high
                per_topic[is_high].append(np.nanmean(wait[mask]))
        waits[discipline] = {k: float(np.mean(v)) for k, v in per_topic.items()}
    assert waits["priority"][True] < waits["fcfs"][True]
    assert waits["priority"][False] > waits["fcfs"][False]
    assert waits["priority"][True] < waits["priority"][False]


@pytest.mark.parametrize("assignment", ["least_busy", "longest_idle"])
def test_every_new_conversation_goes_to_the_agent_the_rule_names(assignment):
    # Four agents with three windows at moderate load: agents differ in load and in when they
    # were last assigned, so each rule is tested on real choices.
    scenario = _busy(assignment=assignment, agents=4, concurrency=3, rate=220.0)
    cap = scenario.groups["desk"].concurrency
    checked = 0
    for replication in range(2):
        records = simulate(scenario, replication, seed=43)
        straight = np.flatnonzero(records.assigned_s == records.queued_s)
        for i in straight:
            t = records.assigned_s[i]
            open_now = _open_at(records, t)
            free = np.flatnonzero(open_now < cap)
            chosen = records.agent[i]
            assert chosen in free
            if assignment == "least_busy":
                assert open_now[chosen] == open_now[free].min(), (i, open_now)
            else:
                before = records.assigned_s < t
                last = np.full(len(open_now), -np.inf)
                np.maximum.at(last, records.agent[before], records.assigned_s[before])
                assert last[chosen] == last[free].min(), (i, last[free])
            checked += len(free) > 1 and len(set(open_now[free])) > 1
    assert checked > 50  # decisions among free agents of different loads


# --- overflow -----------------------------------------------------------------------------------


def _overflow_desk(after="60s", mode="overflow", help_reply=None, **help_extra) -> dict:
    # "own" takes q with one agent (agent 0) typing 1 h replies; "help" (agent 1) takes r and
    # types 20 s replies (or `help_reply` per topic).
    helper = group(["r"], det("20s"), **help_extra)
    if help_reply:
        helper["reply_time_by_topic"] = help_reply
    return desk({"q": 1, "r": 1}, {"own": group(["q"], det("1h")), "help": helper},
                {"mode": mode, "overflow_after": after})


@pytest.mark.parametrize("after, wait", [("60s", 60.0), ("90s", 90.0), ("2min", 120.0)])
@pytest.mark.parametrize("offset", [10.0, 10.75])
def test_overflow_hands_a_waiting_conversation_over_exactly_at_the_threshold(after, wait,
                                                                             offset):
    # A keeps own's agent busy for an hour; B (q) queues at T0+offset while help's agent is
    # free the whole time. Help must not take B before it has waited `after`, and takes it then.
    records = play(_overflow_desk(after), [(T0, "q"), (T0 + offset, "q")])
    assert records.agent.tolist() == [0, 1]
    assert records.assigned_s[1] == pytest.approx(T0 + offset + wait, abs=1e-9)
    assert records.assigned_s[1] >= records.queued_s[1] + wait
    # First reply: the overflow wait plus help's 20 s reply.
    assert records.reply_s[1] - records.arrival_s[1] == pytest.approx(wait + 20.0, abs=1e-9)
    assert records.work_s[1] == 20.0


def test_without_overflow_the_conversation_waits_for_its_own_group():
    records = play(_overflow_desk(mode="dedicated"), [(T0, "q"), (T0 + 10, "q")])
    assert records.agent.tolist() == [0, 0]
    assert records.assigned_s[1] == T0 + 3600  # when A's hour-long reply is done


def test_a_helper_freed_before_the_threshold_still_waits_for_it():
    # R (r) keeps help busy until T0+20; B queues at T0+10. When help frees at T0+20, B has
    # waited 10 s only: help stays idle until T0+70, then takes B.
    records = play(_overflow_desk(), [(T0, "q"), (T0, "r"), (T0 + 10, "q")])
    assert records.agent.tolist() == [0, 1, 1]
    assert records.assigned_s[2] == T0 + 70
    assert records.reply_s[2] == T0 + 90


def test_a_helper_busy_at_the_threshold_takes_the_conversation_when_it_frees():
    # R (r) keeps help busy for 200 s; B (q) is due to overflow at T0+70 but help frees only at
    # T0+200, and takes B then (typing q in 20 s).
    records = play(_overflow_desk(help_reply={"r": det("200s")}),
                   [(T0, "q"), (T0, "r"), (T0 + 10, "q")])
    assert records.agent.tolist() == [0, 1, 1]
    assert records.assigned_s[2] == T0 + 200
    assert records.reply_s[2] == T0 + 220


def test_overflow_skills_limit_what_another_group_takes():
    records = play(_overflow_desk(overflow_skills=["r"]), [(T0, "q"), (T0 + 10, "q")])
    assert records.agent.tolist() == [0, 0]
    assert records.assigned_s[1] == T0 + 3600


def test_overflow_after_zero_lets_other_groups_take_at_once():
    records = play(_overflow_desk(after=0), [(T0, "q"), (T0 + 10, "q")])
    assert records.agent.tolist() == [0, 1]
    assert records.assigned_s[1] == T0 + 10


@pytest.mark.parametrize("discipline, b_at, r1_at", [("fcfs", 400, 200),
                                                      ("priority", 200, 220)])
def test_a_helper_ranks_its_own_and_overflowed_topics_by_the_discipline(discipline, b_at,
                                                                        r1_at):
    # Help types r in 200 s and q in 20 s. R0 (r) keeps it busy until T0+200; R1 (r) waits
    # from T0+5 and B (q) from T0+10, overflowing from T0+70. When help frees at T0+200, fcfs
    # takes R1 (older), priority [q] takes B.
    document = _overflow_desk(help_reply={"r": det("200s")})
    document["routing"].update(discipline=discipline, priority=["q"])
    records = play(document, [(T0, "q"), (T0, "r"), (T0 + 5, "r"), (T0 + 10, "q")])
    assert records.agent.tolist() == [0, 1, 1, 1]
    assert records.assigned_s[3] == T0 + b_at
    assert records.assigned_s[2] == T0 + r1_at


@pytest.mark.parametrize("after", [0.1, 60.3])
def test_overflow_happens_at_a_threshold_that_is_not_a_whole_number_of_seconds(after):
    records = play(_overflow_desk(after), [(T0, "q"), (T0 + 10, "q")])
    assert records.agent.tolist() == [0, 1]
    assert records.assigned_s[1] == pytest.approx(T0 + 10 + after, abs=1e-6)


def test_a_conversation_handed_back_before_the_overflow_wait_still_overflows():
    # Own's agent (hand_back, two windows, 10 s replies) works until T0+30. X (q, two
    # messages, 60 s think) is answered at T0+10 and handed back at T0+30. The engine counts
    # the overflow wait from when X first reached the queue (T0), so help may take X from
    # T0+60 (T0+90 if counted from the hand-back); X's second message, sent at T0+70, is then
    # answered by help's agent by T0+110 at the latest.
    document = desk({"q": 2, "r": 1}, {
        "own": group(["q"], det("10s"), concurrency=2, end_of_shift="hand_back",
                     schedule={"shifts": [{"start": "08:00", "length": "1h30s", "agents": 1}]}),
        "help": group(["r"], det("20s")),
    }, {"mode": "overflow", "overflow_after": "60s"}, think=60.0)
    records = play(document, [(T0, "q")])
    assert records.msg_agent.tolist() == [0, 1]
    assert records.reply_s[1] <= T0 + 110
    assert records.outcome[0] == SERVED


# --- phone topics -------------------------------------------------------------------------------


def test_a_phone_call_waits_for_an_agent_with_no_open_chat_and_then_holds_it_alone():
    # One agent with three windows. Chat C1 (two messages, 100 s think, 30 s replies) is open
    # from T0 to T0+160. Call P arrives at T0+40 and waits for C1 to close; the 300 s call
    # keeps the agent to itself, so chat C2 (T0+200) waits until T0+460.
    document = desk({"chat": 2, "call": 1},
                    {"desk": group(["chat", "call"], det("30s"), concurrency=3,
                                   reply_time_by_topic={"call": det("300s")})},
                    think=100.0)
    document["topics"]["call"]["channel"] = "phone"
    records = play(document, [(T0, "chat"), (T0 + 40, "call"), (T0 + 200, "chat")])
    assert (records.assigned_s - T0).tolist() == [0, 160, 460]
    assert (records.end_at_s - T0).tolist() == [160, 460, 460 + 30 + 100 + 30]
