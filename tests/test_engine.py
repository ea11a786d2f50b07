"""The engine against queueing theory, and the bookkeeping every run must keep.

Statistical checks run independent replications with fixed seeds and assert that the theoretical
value lies inside the 95% Student-t interval of the per-replication estimates (each replication
averages one long steady-state stretch, so the estimates are independent and close to normal).
The width of that interval is the tolerance; nothing is tuned by hand. With a fixed seed the
outcome is deterministic; a correct engine misses a given interval about 5% of the time over
seeds, a wrong one (e.g. an agent too few or too many) misses it every time.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import assert_in_ci, build, single_queue
from scripted import T0, desk, det, group, play

from sim.analysis.queueing import erlang_c
from sim.arrivals import Customers, sample_customers, streams
from sim.engine import ABANDONED, DEFLECTED, OPEN, SERVED, ConservationError, DeskRun, simulate
from sim.experiment import run

HOUR = 3600.0


def steady_state_waits(records, burn_in_s: float, cool_down_s: float):
    """Queue waits (assigned - queued) and abandon flags of buyers arriving in the steady stretch.

    The run starts empty, so the first `burn_in_s` are dropped. Agents go off duty at the end of
    the horizon and leave the queue unserved, so the last `cool_down_s` of arrivals are dropped
    too; under FCFS a buyer's wait depends only on earlier buyers, so this cut biases nothing.
    """
    keep = (records.arrival_s >= records.start_s + burn_in_s) & (
        records.arrival_s < records.end_s - cool_down_s)
    wait = (records.assigned_s - records.queued_s)[keep]
    abandoned = records.outcome[keep] == ABANDONED
    return wait, abandoned


# --- M/M/n: Erlang C ------------------------------------------------------------------------------


def test_mmn_matches_erlang_c_at_rho_0_9():
    # 10 agents, 100 s mean reply, 324 buyers/h: a = 9 erlangs, rho = 0.9. Relaxation of M/M/10
    # at this load is about 1/(n mu (1 - sqrt(rho))^2) ~ 1 h, so 3 h of burn-in is ample.
    agents, rate_per_hour, mean_s = 10, 324.0, 100.0
    scenario = build(single_queue(agents, rate_per_hour,
                                  {"dist": "exponential", "mean": mean_s}, days=3))
    theory = erlang_c(agents, rate_per_hour / HOUR, 1.0 / mean_s)
    p_wait, mean_wait, within_20s = [], [], []
    for replication in range(20):
        records = simulate(scenario, replication, seed=101)
        wait, _ = steady_state_waits(records, 3 * HOUR, 1 * HOUR)
        assert np.isfinite(wait).all(), "a buyer of the steady stretch was never assigned"
        if replication == 0:
            # The message view agrees: reply - sent - typing is the queue wait.
            typed = records.reply_s - records.sent_s - records.work_s
            np.testing.assert_allclose(typed, records.assigned_s - records.queued_s, atol=1e-6)
        p_wait.append(np.mean(wait > 0))
        mean_wait.append(np.mean(wait))
        within_20s.append(np.mean(wait <= 20.0))
    assert 0.6 < theory.p_wait < 0.7  # the regime the test claims to check
    assert_in_ci(p_wait, theory.p_wait, "P(wait > 0)")
    assert_in_ci(mean_wait, theory.mean_wait, "mean wait (s)")
    assert_in_ci(within_20s, theory.service_level(20.0), "P(wait <= 20 s)")


def test_mmn_plus_m_matches_erlang_a():
    # Mandelbaum & Zeltyn's published check: lambda = 2/min, 1/mu = 4 min, 1/theta = 5 min,
    # n = 9 give P(W > 0) = 0.4253 and P(Ab) = 0.0822 (docs/validation.md). A buyer abandons
    # only before the reply starts, which with one message and concurrency 1 is the queue.
    scenario = build(single_queue(9, 120.0, {"dist": "exponential", "mean": "4min"},
                                  patience={"dist": "exponential", "mean": "5min"}, days=3))
    p_wait, p_abandon = [], []
    for replication in range(20):
        records = simulate(scenario, replication, seed=202)
        wait, abandoned = steady_state_waits(records, 3 * HOUR, 1 * HOUR)
        assert np.isfinite(wait[~abandoned]).all()
        p_wait.append(np.mean(abandoned | (wait > 0)))
        p_abandon.append(np.mean(abandoned))
    assert_in_ci(p_wait, 0.4253, "P(W > 0), Erlang A")
    assert_in_ci(p_abandon, 0.0822, "P(abandon), Erlang A")


def test_chat_concurrency_k_acts_as_n_times_k_servers():
    # Two messages, instant replies: a conversation holds one of its agent's K slots for one
    # think time, Exp(10 min), and the agent's single keyboard is never the bottleneck. So
    # 4 agents x 3 slots is M/M/12: 64.8 buyers/h x 10 min = 10.8 erlangs, rho = 0.9.
    agents, slots, think_s = 4, 3, 600.0
    rate_per_hour = 0.9 * agents * slots / think_s * HOUR
    scenario = build(single_queue(
        agents, rate_per_hour, {"dist": "deterministic", "value": 0}, concurrency=slots,
        messages=2, think_time={"dist": "exponential", "mean": think_s}, days=5))
    theory = erlang_c(agents * slots, rate_per_hour / HOUR, 1.0 / think_s)
    p_wait, mean_wait = [], []
    for replication in range(24):
        records = simulate(scenario, replication, seed=303)
        wait, _ = steady_state_waits(records, 4 * HOUR, 2 * HOUR)
        assert np.isfinite(wait).all()
        p_wait.append(np.mean(wait > 0))
        mean_wait.append(np.mean(wait))
    assert_in_ci(p_wait, theory.p_wait, f"P(wait > 0) vs Erlang C with {agents * slots} servers")
    assert_in_ci(mean_wait, theory.mean_wait, "mean wait (s)")


# --- bookkeeping ----------------------------------------------------------------------------------

BUSY = {
    "name": "busy",
    "horizon": {"start": "07:00", "end": "13:00", "drain": "30min"},
    "arrivals": {"interval": "30min", "rates_per_hour": [260] * 48,
                 "mix": {"presale": 0.5, "aftersale": 0.4, "call": 0.1},
                 "spikes": [{"at": "10:00", "multiplier": 3, "decay": "30min"}]},
    "topics": {
        "presale": {"messages": {"dist": "geometric", "mean": 3},
                    "think_time": {"dist": "exponential", "mean": "40s"},
                    "patience": {"dist": "exponential", "mean": "4min"}, "presale": True},
        "aftersale": {"messages": {"dist": "poisson", "mean": 4},
                      "think_time": {"dist": "exponential", "mean": "60s"},
                      "patience": {"dist": "exponential", "mean": "10min"}},
        "call": {"channel": "phone", "messages": {"dist": "deterministic", "value": 1},
                 "think_time": {"dist": "deterministic", "value": 0},
                 "patience": {"dist": "deterministic", "value": "3min"}},
    },
    "groups": {
        "front": {"skills": ["presale", "call"], "concurrency": 4, "end_of_shift": "hand_back",
                  "reply_time": {"dist": "lognormal", "mean": "20s", "cv": 0.7},
                  "reply_time_by_topic": {"call": {"dist": "exponential", "mean": "3min"}},
                  "hourly_cost": 25,
                  "schedule": {"shifts": [
                      {"start": "07:00", "length": "4h", "agents": 3,
                       "breaks": [{"after": "1h30min", "length": "15min"}]},
                      {"start": "09:00", "length": "4h", "agents": 2,
                       "breaks": [{"after": "2h", "length": "20min"}]}]},
                  "standby": {"queue_length": 6, "activation_delay": "5min", "cap": 3,
                              "stay": "1h", "activation_cost": 50}},
        "back": {"skills": ["aftersale"], "concurrency": 3, "end_of_shift": "finish",
                 "reply_time": {"dist": "gamma", "mean": "35s", "cv": 0.8},
                 "hourly_cost": 30,
                 "schedule": {"headcount": {"07:00": 3, "09:30": 4, "12:00": 2}}},
    },
    "bot": {"enabled": True, "deflection": {"presale": 0.3, "aftersale": 0.1},
            "handling_time": {"dist": "exponential", "mean": "30s"},
            "hours": [{"start": "07:00", "end": "08:30"}, {"start": "11:00", "end": "12:00"}]},
    "routing": {"mode": "overflow", "overflow_after": "90s", "discipline": "priority",
                "priority": ["call", "presale"], "assignment": "longest_idle"},
}


@pytest.fixture(scope="module")
def busy_runs():
    scenario = build(BUSY)
    return scenario, [simulate(scenario, replication, seed=11) for replication in range(4)]


def test_conservation_on_a_busy_desk(busy_runs):
    scenario, runs = busy_runs
    seen = {"deflected": 0, "abandoned": 0, "handed_back": 0, "standby": 0, "open": 0}
    for replication, records in enumerate(runs):
        # Arrived is the number of buyers drawn for this replication, counted independently.
        customers = sample_customers(scenario, streams(11, replication))
        c = records.counts()
        assert c["arrived"] == customers.count > 0
        assert c["deflected"] + c["served"] + c["abandoned"] + c["open"] == c["arrived"]
        outcome, n_msgs, start = records.outcome, records.n_messages, records.msg_start
        for i in range(len(outcome)):
            sent = records.sent_s[start[i]:start[i] + n_msgs[i]]
            reply = records.reply_s[start[i]:start[i] + n_msgs[i]]
            answered = np.isfinite(reply)
            assert (reply[answered] >= sent[answered]).all()
            # Message j+1 is written only after the reply to message j.
            assert (sent[1:][np.isfinite(sent[1:])] >= reply[:-1][np.isfinite(sent[1:])]).all()
            if outcome[i] == SERVED:
                assert answered.all() and records.end_at_s[i] == reply[-1]
            elif outcome[i] == DEFLECTED:
                assert records.via_bot[i] and np.isnan(records.queued_s[i]) and not answered.any()
            elif outcome[i] == ABANDONED:
                # Patience runs from joining the queue and ends before the first reply.
                assert not answered[0]
                assert records.end_at_s[i] - records.queued_s[i] == pytest.approx(
                    customers.patience_s[i])
            else:
                assert outcome[i] == OPEN and np.isnan(records.end_at_s[i])
            agents = set(records.msg_agent[start[i]:start[i] + n_msgs[i]][answered])
            seen["handed_back"] += len(agents) > 1
        seen["deflected"] += c["deflected"]
        seen["abandoned"] += c["abandoned"]
        seen["open"] += c["open"]
        seen["standby"] += int(records.duty_standby.sum())
        records.check_conservation()
    # The scenario must actually exercise what it claims to (else the checks prove little).
    assert all(seen[k] > 0 for k in ("deflected", "abandoned", "handed_back", "standby")), seen


def test_agents_type_one_reply_at_a_time_and_only_on_duty(busy_runs):
    scenario, runs = busy_runs
    standby = scenario.groups["front"].standby
    for records in runs:
        answered = records.msg_agent >= 0
        begin = (records.reply_s - records.work_s)[answered]
        end = records.reply_s[answered]
        who = records.msg_agent[answered]
        for agent in np.unique(who):
            mine = who == agent
            order = np.argsort(begin[mine])
            b, e = begin[mine][order], end[mine][order]
            assert (b[1:] >= e[:-1] - 1e-9).all(), f"agent {agent} typed two replies at once"
            duty = records.duty_agent == agent
            starts, ends = records.duty_start_s[duty], records.duty_end_s[duty]
            inside = (b[:, None] >= starts - 1e-9) & (e[:, None] <= ends + 1e-9)
            assert inside.any(axis=1).all(), f"agent {agent} typed while off duty"
        # Standby agents arrive after the activation delay and never exceed the cap at once.
        s_start = records.duty_start_s[records.duty_standby]
        s_end = records.duty_end_s[records.duty_standby]
        assert (s_start >= records.start_s + standby.activation_delay - 1e-9).all()
        for t in s_start:
            assert ((s_start <= t) & (s_end > t)).sum() <= standby.cap


def test_check_conservation_raises_on_tampered_records(busy_runs):
    _, runs = busy_runs
    records = runs[0]
    records.check_conservation()

    lost = copy.deepcopy(records)
    lost.outcome[0] = 7  # a conversation that is none of deflected/served/abandoned/open
    with pytest.raises(ConservationError):
        lost.check_conservation()

    early = copy.deepcopy(records)
    k = int(np.flatnonzero(np.isfinite(early.reply_s))[0])
    early.reply_s[k] = early.sent_s[k] - 1.0
    with pytest.raises(ConservationError):
        early.check_conservation()

    unsent = copy.deepcopy(records)
    unsent.sent_s[k] = np.nan
    with pytest.raises(ConservationError):
        unsent.check_conservation()


def test_same_seed_same_records_and_other_seed_differs(busy_runs):
    scenario, runs = busy_runs
    again = simulate(scenario, 0, seed=11)
    for name in ("arrival_s", "outcome", "sent_s", "reply_s", "msg_agent", "duty_start_s"):
        np.testing.assert_array_equal(getattr(again, name), getattr(runs[0], name))
    other = simulate(scenario, 0, seed=12)
    assert len(other.arrival_s) != len(runs[0].arrival_s) or not np.array_equal(
        other.arrival_s, runs[0].arrival_s)
    # Replications of one seed are independent draws too.
    assert not np.array_equal(runs[0].arrival_s[:10], runs[1].arrival_s[:10])


# --- the event loop ---------------------------------------------------------------------------

RECORD_COLUMNS = ("outcome", "queued_s", "assigned_s", "end_at_s", "agent", "sent_s", "reply_s",
                  "msg_agent", "duty_start_s", "duty_end_s")


def _one_buyer_each(scenario, arrivals_s):
    """Customers with one message each, and the desk's (deterministic) reply time."""
    n = len(arrivals_s)
    mean_s = scenario.groups["desk"].reply_time.value
    return Customers(
        arrival_s=np.asarray(arrivals_s, dtype=float), topic=np.zeros(n, dtype=np.int16),
        topics=("q",), n_messages=np.ones(n, dtype=np.int64),
        msg_start=np.arange(n, dtype=np.int64), patience_s=np.full(n, np.inf),
        reported=np.zeros(n, bool), bot_u=np.ones(n), bot_handling_u=np.ones(n),
        think_s=np.zeros(n), reply_u=np.full(n, 0.5)), mean_s


def test_events_due_at_the_stop_time_are_left_undone_as_simpy_run_does():
    # Environment.run(until=stop) processes events before `stop` only; the engine's loop keeps
    # that rule. Agents work 00:00-24:00, the drain ends at 26:00. A reply finishing at exactly
    # 26:00 is not recorded; one finishing a second earlier is.
    scenario = build(single_queue(2, 1.0, {"dist": "deterministic", "value": "3h"}))
    end = scenario.horizon.end_s
    stop = end + scenario.horizon.drain
    customers, reply_s = _one_buyer_each(scenario, [stop - 3 * HOUR - 1, stop - 3 * HOUR])
    records = DeskRun(scenario, customers).run()
    assert reply_s == 3 * HOUR
    assert records.outcome.tolist() == [SERVED, OPEN]
    assert records.reply_s[0] == stop - 1 and np.isnan(records.reply_s[1])


def test_a_patience_timer_left_on_the_calendar_does_nothing_once_the_buyer_is_answered():
    # SimPy has no public way to take an event off its calendar, so a buyer's patience timer
    # stays there after typing begins and fires later: it must then do nothing. One agent
    # types 100 s replies. A (no patience limit) is typed from T0 to T0+100; B arrives at
    # T0+10 with 30 s of patience and gives up at T0+40. C arrives at T0+50 with 60 s of
    # patience; its reply starts at T0+100 (before T0+110, when its timer fires) and ends at
    # T0+200: C is served, not abandoned.
    records = play(desk({"q": 1}, {"desk": group(["q"], det("100s"))}),
                   [(T0, "q"), (T0 + 10, "q", 1, 30.0), (T0 + 50, "q", 1, 60.0)])
    assert records.outcome.tolist() == [SERVED, ABANDONED, SERVED]
    assert records.end_at_s[1] == T0 + 40
    assert records.reply_s[0] == T0 + 100 and np.isnan(records.reply_s[1])
    assert records.reply_s[2] == T0 + 200


def test_a_shift_change_runs_before_anything_else_due_at_its_time():
    # Duty changes are planned at set-up and run ahead of every other event due at the same
    # instant, as events scheduled at set-up would. A second agent starts at 09:00:00 exactly
    # when a buyer arrives: the buyer sees two agents on duty, not one, and goes to the
    # newcomer (the other is busy with an hour-long reply).
    document = desk({"q": 1}, {"desk": group(["q"], det("1h"), schedule={
        "headcount": {"00:00": 1, "09:00": 2}})})
    records = play(document, [(T0 - 60, "q"), (T0, "q")])
    assert records.on_duty_at_arrival.tolist() == [1, 2]
    assert records.agent.tolist() == [0, 1]
    assert records.assigned_s[1] == T0


def test_a_buyer_whose_patience_ends_as_the_overflow_wait_does_gives_up_first():
    # Events due at one instant run in the order they were scheduled, and a buyer's patience
    # is set when they reach people, before routing schedules the overflow check. Buyer 2
    # waits for the busy desk; at 60 s their patience ends just as the idle helper group may
    # take them: they have left by then.
    document = single_queue(1, 1.0, {"dist": "deterministic", "value": "1h"},
                            patience={"dist": "deterministic", "value": "60s"})
    document["topics"]["r"] = copy.deepcopy(document["topics"]["q"])
    document["arrivals"]["mix"] = {"q": 1, "r": 0}
    document["groups"]["help"] = {"skills": ["r"], "concurrency": 1,
                                  "reply_time": {"dist": "deterministic", "value": "1h"},
                                  "schedule": {"headcount": {"00:00": 1}}}
    document["routing"] = {"mode": "overflow", "overflow_after": "60s"}
    scenario = build(document)
    t0 = scenario.horizon.start_s + HOUR
    customers = Customers(
        arrival_s=np.array([t0, t0 + 1.0]), topic=np.zeros(2, dtype=np.int16),
        topics=("q", "r"), n_messages=np.ones(2, dtype=np.int64),
        msg_start=np.arange(2, dtype=np.int64), patience_s=np.full(2, 60.0),
        reported=np.zeros(2, bool), bot_u=np.ones(2), bot_handling_u=np.ones(2),
        think_s=np.zeros(2), reply_u=np.full(2, 0.5))
    records = DeskRun(scenario, customers).run()
    assert records.outcome.tolist() == [SERVED, ABANDONED]
    assert records.end_at_s[1] == t0 + 61.0


def test_a_finished_run_is_freed_without_the_cyclic_collector():
    # Callbacks on the calendar and agents' reply events point back at the run; the run
    # breaks those cycles when it ends, so repeated runs (staffing searches, sweeps) do not
    # pile up while the collector is paused in the next run's loop.
    import gc
    import weakref

    scenario = build(single_queue(3, 60.0, {"dist": "exponential", "mean": 120},
                                  patience={"dist": "exponential", "mean": 300}))
    customers = sample_customers(scenario, streams(scenario.seed, 0))
    was = gc.isenabled()
    gc.disable()
    try:
        run = DeskRun(scenario, customers)
        alive = weakref.ref(run)
        records = run.run()
        del run
        assert alive() is None
        assert len(records.outcome) == customers.count
    finally:
        if was:
            gc.enable()


def test_the_parts_the_callbacks_read_keep_their_attributes_fast_to_read():
    # CPython 3.11 keeps at most 30 attributes of an instance in a shared-key dict; past
    # that, every `self.x` is a hashed dict lookup (the flow, at 47 attributes, paid 4% of
    # an M/M/c customer's instructions for it). A part of the run past the limit needs
    # slots, as the flow has; one that grows past it, or an attribute set outside the
    # flow's slots, fails here.
    scenario = build(single_queue(3, 60.0, {"dist": "exponential", "mean": 120},
                                  patience={"dist": "exponential", "mean": 300}))
    run = DeskRun(scenario, sample_customers(scenario, streams(scenario.seed, 0)))
    run.start()
    parts = {"flow": run.flow, "shifts": run.shifts, "pool": run.pool, "bot": run.bot,
             "policy": run.policy, "queues": run.queues, "recorder": run.recorder,
             "agent": run.pool.agents[0], "group": run.pool.groups[0]}
    for name, part in parts.items():
        attributes = getattr(part, "__dict__", None)
        assert attributes is None or len(attributes) <= 30, (name, len(attributes))
    assert not hasattr(run.flow, "__dict__")
    with pytest.raises(AttributeError):
        run.flow.unlisted = 1


@pytest.mark.parametrize("enabled", [True, False])
def test_a_run_leaves_the_garbage_collector_as_it_found_it(enabled):
    import gc

    scenario = build(single_queue(2, 30.0, {"dist": "exponential", "mean": 60}))
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        simulate(scenario, 0)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_variants_of_a_replication_meet_the_same_buyers():
    document = copy.deepcopy(BUSY)
    document["variants"] = {
        "pooled": {"routing.mode": "pooled", "routing.discipline": "fcfs"},
        "more_staff": {"groups.back.schedule.headcount": {"07:00": 6}},
        "no_bot": {"bot.enabled": False},
        "impatient": {"topics.presale.patience": {"dist": "exponential", "mean": "1min"}},
    }
    results = run(build(document), replications=2, seed=5, keep_records=True)
    conv = results.conversations()
    for replication in (0, 1):
        base = conv[(conv.variant == "baseline") & (conv.replication == replication)]
        for variant in ("pooled", "more_staff", "no_bot", "impatient"):
            other = conv[(conv.variant == variant) & (conv.replication == replication)]
            np.testing.assert_array_equal(other["arrival_s"].to_numpy(),
                                          base["arrival_s"].to_numpy())
            assert (other["topic"].astype(str).to_numpy()
                    == base["topic"].astype(str).to_numpy()).all()
            np.testing.assert_array_equal(other["n_messages"].to_numpy(),
                                          base["n_messages"].to_numpy())
        # The variants really differ in what happened to those buyers.
        outcomes = {v: conv[(conv.variant == v) & (conv.replication == replication)]
                    ["outcome"].astype(str).to_numpy() for v in ("baseline", "no_bot")}
        assert (outcomes["baseline"] != outcomes["no_bot"]).any()
    first = conv[(conv.variant == "baseline")]
    assert not np.array_equal(first[first.replication == 0]["arrival_s"].to_numpy()[:20],
                              first[first.replication == 1]["arrival_s"].to_numpy()[:20])


# --- shifts and hand-back -------------------------------------------------------------------------


def test_hand_back_conversation_returning_to_the_same_agent_is_answered_once_per_message():
    # Agent a (group g1) hands conversation B back at its break while typing A; A's reply ends
    # after the break began and A goes to the other group's agent. B waits through the break
    # and comes back to a. Each of B's two messages must get exactly one reply, after it was
    # sent. Deterministic times make this exact.
    document = {
        "name": "hand_back",
        "horizon": {"start": "08:00", "end": "10:00", "drain": "1h"},
        "arrivals": {"interval": "1h", "rates_per_hour": [1] * 24, "mix": {"x": 1, "y": 1}},
        "topics": {t: {"messages": {"dist": "deterministic", "value": 2},
                       "think_time": {"dist": "deterministic", "value": "60s"}} for t in "xy"},
        "groups": {
            "g2": {"skills": ["y"], "concurrency": 1,
                   "reply_time": {"dist": "deterministic", "value": "105s"},
                   "schedule": {"headcount": {"00:00": 1}}},
            "g1": {"skills": ["x", "y"], "concurrency": 3, "end_of_shift": "hand_back",
                   "reply_time": {"dist": "deterministic", "value": "30s"},
                   "schedule": {"shifts": [{"start": "08:00", "length": "2h", "agents": 1,
                                            "breaks": [{"after": "30min",
                                                        "length": "10min"}]}]}},
        },
    }
    scenario = build(document)
    t0 = 8 * HOUR
    # Z (y) keeps g2 busy until 08:30:05; A (y) is typed by a from 08:29:40 to 08:30:10;
    # B (x) is assigned to a at 08:29:50 and waits; a's break starts at 08:30:00.
    arrival = np.array([t0 + 1700, t0 + 1780, t0 + 1790])
    n = np.array([1, 2, 2])
    customers = Customers(
        arrival_s=arrival, topic=np.array([1, 1, 0], dtype=np.int16), topics=("x", "y"),
        n_messages=n, msg_start=np.r_[0, np.cumsum(n)[:-1]], patience_s=np.full(3, np.inf),
        reported=np.zeros(3, bool), bot_u=np.ones(3), bot_handling_u=np.ones(3),
        think_s=np.full(n.sum(), 60.0), reply_u=np.full(n.sum(), 0.5))
    records = DeskRun(scenario, customers).run()
    b = slice(records.msg_start[2], records.msg_start[2] + 2)
    assert np.isfinite(records.sent_s[b]).all()
    assert (records.reply_s[b] >= records.sent_s[b]).all()
    assert records.outcome[2] == SERVED
