"""Extending the engine (docs/extending.md): the engine calls only the routing protocol, the
built-in rules are registered by their YAML names, a user's policy changes who is served, and a
user's SimPy process acts on the desk through `Desk`.

The policies and the bot-failure process asserted here are the ones on the page: its Python
blocks are executed once and their namespace is read, so the documented code is the tested
code."""

from __future__ import annotations

import ast
import copy
import datetime as dt
import os
import pickle
import typing
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, build
from scripted import T0, customers, desk, det, group
from test_docs import blocks

import sim
from sim.agents import Agent, GroupState
from sim.engine import DEFLECTED, DeskRun
from sim.policies import (
    ASSIGNMENTS,
    DISCIPLINES,
    MODES,
    Checked,
    PolicyError,
    Router,
    RoutingPolicy,
    checked,
)
from sim.scenario import Routing, ScenarioError

PAGE = REPO / "docs" / "extending.md"
DAY = 86400.0


@pytest.fixture(scope="module")
def page():
    """The namespace of docs/extending.md's Python blocks, run in order from the repository."""
    namespace: dict = {"__name__": "extending_page"}
    here = os.getcwd()
    os.chdir(REPO)
    try:
        for block in blocks(PAGE):
            if block.language == "python" and block.runs:
                exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102
    finally:
        os.chdir(here)
    return SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})


# --- the protocol --------------------------------------------------------------------------------

PROTOCOL = {name for name in vars(RoutingPolicy) if not name.startswith("__")}


def _policy_uses(path: Path) -> list[tuple[int, str]]:
    """(line, attribute) of every attribute read from an object named `policy`."""
    uses = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute):
            inner = node.value
            name = inner.attr if isinstance(inner, ast.Attribute) else getattr(inner, "id", "")
            if name == "policy":
                uses.append((node.lineno, node.attr))
        elif (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "getattr"
              and getattr(node.args[0], "attr", getattr(node.args[0], "id", "")) == "policy"):
            uses.append((node.lineno, node.args[1].value))
    return uses


def test_the_engine_calls_only_the_routing_protocol():
    files = sorted((REPO / "sim" / "engine").glob("*.py"))
    uses = [(f.name, line, attr) for f in files for line, attr in _policy_uses(f)]
    assert {attr for _, _, attr in uses} >= {"agent_for", "next_for", "setup"}  # found them
    outside = [u for u in uses if u[2] not in PROTOCOL]
    assert outside == [], f"the engine reads more than the protocol: {outside}"
    # ... and nothing of the built-in router by name.
    for f in files:
        text = f.read_text(encoding="utf-8")
        for internal in ("only_group", "takes_late", "all_groups", ".overflow[", ".direct["):
            assert internal not in text, f"{f.name} reads Router.{internal}"


def test_a_planted_read_of_router_internals_is_found(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("group = self.policy.only_group[conv.topic]\n", encoding="utf-8")
    assert _policy_uses(planted) == [(1, "only_group")]


def test_every_built_in_rule_is_registered_by_its_yaml_name():
    fields = Routing.model_fields
    assert set(typing.get_args(fields["mode"].annotation)) == set(MODES)
    assert set(typing.get_args(fields["discipline"].annotation)) == set(DISCIPLINES)
    assert set(typing.get_args(fields["assignment"].annotation)) == set(ASSIGNMENTS)
    assert {"dedicated", "pooled", "overflow"} == set(MODES)
    assert {"fcfs", "priority"} == set(DISCIPLINES)
    assert {"least_busy", "longest_idle"} == set(ASSIGNMENTS)
    assert issubclass(Router, RoutingPolicy)


def test_a_router_given_other_settings_runs_those_rules():
    scenario = sim.load_scenario(REPO / "scenarios" / "normal_day.yaml")
    pooled = scenario.routing.model_copy(update={"mode": "pooled"})
    by_policy = sim.simulate(scenario, routing=Router(pooled))
    by_yaml = sim.simulate(scenario.model_copy(update={"routing": pooled}))
    assert np.array_equal(by_policy.agent, by_yaml.agent)
    assert not np.array_equal(by_policy.agent, sim.simulate(scenario).agent)
    # The settings may be given as the YAML section's dict, checked as the file's would be.
    by_dict = sim.simulate(scenario, routing=Router({**pooled.model_dump()}))
    assert np.array_equal(by_dict.agent, by_policy.agent)
    with pytest.raises(ScenarioError, match="Router: routing.mode: Input should be"):
        Router({"mode": "poold"})
    with pytest.raises(ScenarioError, match="settings must be a scenario's routing"):
        Router("pooled")
    # A copy updated past validation is named at the run's start, not met as a KeyError.
    odd = Router(scenario.routing.model_copy(update={"mode": "poold"}))
    with pytest.raises(ScenarioError, match="routing.mode: 'poold' is not one of dedicated"):
        sim.simulate(scenario, routing=odd)


# --- answers outside the protocol stop the run with what was wrong --------------------------


class _FirstAgentAlways(RoutingPolicy):
    """Every buyer to the first agent of the first group, free slot or not."""

    def agent_for(self, conv, now):
        return self.groups[0].agents[0] if self.groups[0].agents else None

    def next_for(self, agent, queues, now):
        return None


class _NotAnAgent(_FirstAgentAlways):
    def agent_for(self, conv, now):
        return 3


class _RecheckInThePast(RoutingPolicy):
    def agent_for(self, conv, now):
        return None

    def next_for(self, agent, queues, now):
        return None

    def recheck_at(self, conv):
        return conv.queued_s - 10.0


class _OutsideItsGroups(RoutingPolicy):
    """Says only the first group answers anything, then gives buyers to the second."""

    def groups_for(self, topic):
        return self.groups[:1]

    def agent_for(self, conv, now):
        return self.groups[1].least_busy(conv.phone)

    def next_for(self, agent, queues, now):
        return None


class _TakesTheDone(RoutingPolicy):
    """Leaves every buyer waiting, then hands a freed agent a conversation that is not."""

    def setup(self, scenario, groups, topics):
        super().setup(scenario, groups, topics)
        self.seen = []

    def agent_for(self, conv, now):
        self.seen.append(conv)
        return None if len(self.seen) > 1 else self.groups[0].free[0] and next(
            iter(self.groups[0].free[0]))

    def next_for(self, agent, queues, now):
        return self.seen[0]


@pytest.mark.parametrize(("policy", "words"), [
    (_FirstAgentAlways(), ("_FirstAgentAlways.agent_for gave Conversation\\(0, .* to agent 0 of "
                           "presale_team, which cannot take it now \\(open \\d+ of 5, on duty")),
    (_NotAnAgent(), "_NotAnAgent.agent_for returned 3, not an agent of this run's groups"),
    (_RecheckInThePast(), "_RecheckInThePast.recheck_at returned .* before it started waiting"),
    (_OutsideItsGroups(), ("_OutsideItsGroups.agent_for gave Conversation\\(.* to group "
                           "aftersale_team, which its groups_for\\(\\d\\) does not list")),
    (_TakesTheDone(), ("_TakesTheDone.next_for returned Conversation\\(0, .* which is not "
                       "waiting in the queues")),
])
def test_a_policy_answer_outside_the_protocol_stops_the_run(policy, words):
    scenario = sim.load_scenario(REPO / "scenarios" / "normal_day.yaml")
    with pytest.raises(PolicyError, match=words):
        sim.simulate(scenario, routing=policy)


def test_a_checked_policy_copies_and_pickles_as_the_policy_would():
    wrapped = checked(_FirstAgentAlways())
    for again in (copy.copy(wrapped), copy.deepcopy(wrapped), pickle.loads(pickle.dumps(wrapped))):
        assert isinstance(again, Checked) and isinstance(again.policy, _FirstAgentAlways)
    assert checked(Router()).__class__ is Router  # the built-in rules run unwrapped


def test_what_is_not_a_policy_is_refused_by_name():
    scenario = sim.load_scenario(REPO / "scenarios" / "normal_day.yaml")
    with pytest.raises(PolicyError, match="routing='pooled' is not a routing policy: it has no "
                                          "setup, agent_for, next_for"):
        sim.simulate(scenario, routing="pooled")

    class Half(RoutingPolicy):
        def next_for(self, agent, queues, now):
            return None

    with pytest.raises(NotImplementedError, match="Half does not define agent_for"):
        sim.simulate(scenario, routing=Half())


# --- a user's policy: VIP buyers first ----------------------------------------------------------


def _one_agent_desk():
    # One agent, one message per buyer, every reply 10 s.
    return build(desk({"q": 1}, {"desk": group(["q"], det("10s"))}))


def test_a_freed_agent_takes_the_waiting_vip_before_an_older_buyer(page):
    scenario = _one_agent_desk()
    buyers = [(T0, "q"), (T0 + 1, "q"), (T0 + 2, "q")]
    fcfs = DeskRun(scenario, customers(scenario, buyers)).run()
    vip = DeskRun(scenario, customers(scenario, buyers),
                  routing=page.VipFirst(lambda conv: conv.id == 2)).run()
    # Buyer 0 is typed at once (T0 .. T0+10); buyers 1 and 2 wait. First come first served,
    # buyer 1 goes next (T0+10) and buyer 2 after it (T0+20); VIP first, the other way round.
    assert (fcfs.assigned_s - T0).tolist() == [0, 10, 20]
    assert (vip.assigned_s - T0).tolist() == [0, 20, 10]


def test_vips_wait_less_than_first_come_first_served_on_double11(page):
    vip_wait, other_wait = page.mean_wait(page.vip_first, True), page.mean_wait(page.fcfs, True)
    assert vip_wait < 0.5 * other_wait  # 0.7 s against 3.4 s on this seed
    # The others pay for it, and nobody is lost or invented.
    assert page.mean_wait(page.vip_first, False) > page.mean_wait(page.fcfs, False)
    assert page.vip_first.counts()["arrived"] == page.fcfs.counts()["arrived"]


# --- a user's policy: fewest open chats among the topic's main group ---------------------------


def _groups(scenario, open_counts: dict[str, list[int]]):
    groups = []
    for i, (name, spec) in enumerate(scenario.groups.items()):
        g = GroupState(i, name, spec, spec.concurrency)
        for k in open_counts[name]:
            agent = Agent(sum(len(x.agents) for x in groups) + len(g.agents), g, open=k,
                          on_duty=True)
            g.agents.append(agent)
            g.refresh(agent)
        groups.append(g)
    return groups


def test_the_fewest_open_rule_picks_the_main_group_agent_with_fewest_chats(page):
    scenario = build(desk({"q": 1, "r": 1}, {
        "q_first": group(["q", "r"], det(10), concurrency=3),
        "r_first": group(["r", "q"], det(10), concurrency=3),
    }))
    policy = page.FewestOpenMainSkill()
    # Agents 0-2 have q as main skill (2, 1, 1 open chats), agents 3-4 have it second (0, 0).
    groups = _groups(scenario, {"q_first": [2, 1, 1], "r_first": [0, 0]})
    policy.setup(scenario, groups, tuple(scenario.topics))
    q, r = SimpleNamespace(topic=0, phone=False), SimpleNamespace(topic=1, phone=False)
    assert policy.agent_for(q, T0).id == 1  # fewest among the main group, tie to lowest id
    assert policy.agent_for(r, T0).id == 3  # r's main group
    for agent in groups[0].agents:  # the main group full: the others take it
        agent.open = 3
    assert policy.agent_for(q, T0).id == 3


def test_the_fewest_open_rule_holds_at_every_decision_of_a_run(page):
    scenario = sim.load_scenario(REPO / "scenarios" / "double11.yaml")
    decisions = []

    class Checked(page.FewestOpenMainSkill):
        def agent_for(self, conv, now):
            chosen = super().agent_for(conv, now)
            main = [a for g in self.main[conv.topic] for a in g.agents if a.can_take(conv.phone)]
            decisions.append((chosen, main))
            return chosen

    records = sim.simulate(scenario, routing=Checked())
    assert len(decisions) >= records.counts()["arrived"] // 2
    with_main = [(c, m) for c, m in decisions if m]
    assert with_main and len(with_main) < len(decisions)  # both cases happen
    for chosen, main in with_main:
        assert chosen in main and chosen.open == min(a.open for a in main)


# --- a user's process: the bot fails ------------------------------------------------------------


def test_the_bot_failure_sends_every_buyer_to_people(page):
    failed, plain, start, end = page.failed, page.plain, page.start, page.end
    assert (start, end) == (DAY + 300, DAY + 1500)
    inside = (failed.arrival_s >= start) & (failed.arrival_s < end)
    assert inside.sum() > 1000  # the spike: plenty of buyers in the window
    assert not failed.via_bot[inside].any()
    assert plain.via_bot[inside].mean() > 0.9  # the bot took them in the plain run
    before, after = failed.arrival_s < start, failed.arrival_s >= end
    assert np.array_equal(failed.via_bot[before], plain.via_bot[before])
    assert failed.via_bot[after].any()  # and it is back at 00:25
    ended = (failed.end_at_s >= start) & (failed.end_at_s < end)
    assert not (ended & (failed.outcome == DEFLECTED)).any()
    assert (ended & (plain.outcome == DEFLECTED)).sum() > 100
    # The people's queue: sampled every minute, higher throughout the failure on average.
    assert page.mean_queue(page.failed_queue) > 1.5 * page.mean_queue(page.plain_queue)
    # Bot conversations open at 00:05 went to people then.
    handed = (failed.via_bot & (failed.queued_s == start))
    assert handed.sum() > 0


def test_a_process_that_only_reads_changes_nothing(page):
    alone = sim.simulate(page.scenario)
    for name in ("outcome", "agent", "assigned_s", "end_at_s", "reply_s", "msg_agent"):
        assert np.array_equal(getattr(alone, name), getattr(page.plain, name), equal_nan=True)


# --- the Desk interface -------------------------------------------------------------------------


def _run_with(process, name="normal_day.yaml"):
    scenario = sim.load_scenario(REPO / "scenarios" / name)
    return scenario, sim.simulate(scenario, processes=[process])


def test_agents_put_on_duty_by_a_process_work_and_are_paid_for():
    seen = {}

    def reinforce(env, desk):
        yield desk.until("10:00")
        seen["before"] = desk.on_duty("presale_team")
        seen["ids"] = desk.add_agents("presale_team", 3, until=desk.time("12:00"))
        seen["after"] = desk.on_duty("presale_team")
        yield desk.until("12:30")
        seen["later"] = desk.on_duty("presale_team")

    _, records = _run_with(reinforce)
    assert seen["after"] == seen["before"] + 3
    assert seen["later"] <= seen["before"] + 3
    ids = seen["ids"]
    rows = np.isin(records.duty_agent, ids)
    assert rows.sum() == 3
    assert np.all(records.duty_start_s[rows] == 10 * 3600)
    assert np.all(records.duty_end_s[rows] >= 12 * 3600)  # home at 12:00 once chats are done
    assert np.isin(records.agent, ids).any()  # they served buyers


@pytest.mark.parametrize("until", ["12:00", dt.datetime(2026, 11, 11, 12, 0),
                                   pd.Timestamp("2026-11-11 12:00"), np.float64(12 * 3600)],
                         ids=["clock", "datetime", "timestamp", "numpy"])
def test_add_agents_takes_a_clock_time_as_until_does(until):
    def reinforce(until):
        def process(env, desk):
            yield desk.until("10:00")
            desk.add_agents("presale_team", 3, until=until)
        return process

    # normal_day.yaml has no dates: a datetime's clock time is on day 0.
    _, by_clock = _run_with(reinforce(until))
    _, by_seconds = _run_with(reinforce(12 * 3600.0))
    np.testing.assert_array_equal(by_clock.duty_end_s, by_seconds.duty_end_s)
    np.testing.assert_array_equal(by_clock.agent, by_seconds.agent)
    added = by_clock.duty_start_s == 10 * 3600
    assert added.sum() == 3 and np.all(by_clock.duty_end_s[added] >= 12 * 3600)


def test_agents_sent_off_by_a_process_take_nothing_new():
    seen = {}

    def send_home(env, desk):
        yield desk.until("11:00")
        seen["ids"] = desk.remove_agents("aftersale_team", 2)
        seen["left"] = desk.on_duty("aftersale_team")

    _, records = _run_with(send_home)
    ids = seen["ids"]
    assert len(ids) == 2
    # Their duty periods end at 11:00 or when their last chat does; scheduled agents come
    # back with their next shift, and take nothing new until then.
    mine = np.isin(records.duty_agent, ids)
    ends = records.duty_end_s[mine & (records.duty_start_s < 11 * 3600)
                              & (records.duty_end_s >= 11 * 3600)]
    assert len(ends) == 2 and np.all(ends < 12 * 3600)
    back = records.duty_start_s[mine & (records.duty_start_s > 11 * 3600)]
    back_s = back.min() if len(back) else np.inf
    meanwhile = (records.assigned_s >= 11 * 3600) & (records.assigned_s < back_s)
    assert meanwhile.sum() > 100
    assert not np.isin(records.agent[meanwhile], ids).any()


def test_a_deflection_set_by_a_process_applies_to_later_buyers():
    def all_deflected(env, desk):
        yield desk.until("12:00")
        desk.set_deflection("presale", 1.0)

    _, records = _run_with(all_deflected)
    presale = list(records.topics).index("presale")
    later = (records.arrival_s >= 12 * 3600) & (records.topic == presale) & records.via_bot
    assert later.sum() > 50 and np.all(records.outcome[later] == DEFLECTED)


def test_queue_readings_agree_with_each_other():
    seen = []

    def read(env, desk):
        while True:
            waits = desk.waits()
            seen.append((desk.queue_length(), len(waits), desk.oldest_wait(),
                         max(waits, default=0.0), sum(desk.queue_length(t) for t in desk.topics)))
            yield env.timeout(300)

    _run_with(read, "double11.yaml")
    assert any(n > 0 for n, *_ in seen)
    for n, n_waits, oldest, longest, by_topic in seen:
        assert n == n_waits == by_topic and oldest == longest >= 0


@pytest.mark.parametrize(("call", "message"), [
    (lambda d: d.add_agents("nobody", 1), "unknown group 'nobody'"),
    (lambda d: d.queue_length("gossip"), "unknown topic 'gossip'"),
    (lambda d: d.set_deflection("presale", 1.5), "is not a probability"),
    (lambda d: d.time("25:00"), "out of range"),
    (lambda d: d.add_agents("presale_team", 1, until="noon"), "desk: .*noon"),
    (lambda d: d.add_agents("presale_team", 1, until="00:00:30"), "not after now"),
    (lambda d: d.until([10, 0]), "desk: expected a clock time .*got \\[10, 0\\]"),
    (lambda d: d.until(True), "desk: expected a clock time"),
    (lambda d: d.remove_agents("presale_team", -1),
     "remove_agents: count must be a whole number >= 0, got -1"),
    (lambda d: d.add_agents("presale_team", -2), "add_agents: count must be .*got -2"),
    (lambda d: d.add_agents("presale_team", 1.5), "add_agents: count must be .*got 1.5"),
    (lambda d: d.add_agents("presale_team", "2"), "add_agents: count must be .*got '2'"),
    (lambda d: d.set_deflection("presale", "0.5"), "deflection must be a number in \\[0, 1\\]"),
    (lambda d: setattr(d, "bot_enabled", "false"), "bot_enabled must be True or False"),
])
def test_a_bad_desk_request_names_the_problem(call, message):
    def bad(env, desk):
        yield env.timeout(60)
        call(desk)

    with pytest.raises(ScenarioError, match=message):
        _run_with(bad)


# --- the entry points refuse a wrong kind of argument, naming it -----------------------------

NORMAL_DAY = REPO / "scenarios" / "normal_day.yaml"


@pytest.mark.parametrize(("call", "words"), [
    (lambda sc: sim.simulate(NORMAL_DAY), ("simulate: expected a Scenario, got PosixPath .*"
                                          "sim.load_scenario")),
    (lambda sc: sim.simulate(sc, processes=lambda env, desk: iter(())),
     "processes takes a list of functions, got one function"),
    (lambda sc: sim.simulate(sc, replication=-1), "replication must be a whole number >= 0"),
    (lambda sc: sim.run(str(NORMAL_DAY)), "run: expected a Scenario, got str"),
    (lambda sc: sim.run(sc, replications=-3), ("run: replications must be a whole number >= 1 "
                                              "or 'auto', got -3")),
    (lambda sc: sim.run(sc, replications=0), "replications must be a whole number >= 1"),
    (lambda sc: sim.run(sc, replications=2.5), "replications must be .*got 2.5"),
    (lambda sc: sim.run(sc, replications="five"), "replications must be .*got 'five'"),
    (lambda sc: sim.run(sc, variants="pooled"), ("variants takes a list of names, got the text "
                                                "'pooled' \\(write \\['pooled'\\]\\)")),
    (lambda sc: sim.whatif(sc, at="10:00", replications=-2),
     "whatif: replications must be a whole number >= 1, got -2"),
    (lambda sc: sim.whatif(sc, at="10:00", variants="pooled"), "variants takes a list"),
    (lambda sc: sim.whatif(sc, at="10:00", queue_below=-1),
     "queue_below must be a whole number >= 1, got -1"),
    (lambda sc: sim.whatif(str(NORMAL_DAY), at="10:00"), "whatif: expected a Scenario, got str"),
    (lambda sc: sim.resume(sc, sim.snapshot(sc, 10 * 3600.0), until_s="12:00"),
     "resume: until_s is seconds"),
])
def test_an_entry_point_refuses_a_wrong_argument_by_name(call, words):
    scenario = sim.load_scenario(NORMAL_DAY)
    with pytest.raises(ScenarioError, match=words):
        call(scenario)


def test_lists_may_come_as_generators_and_are_read_once():
    scenario = sim.load_scenario(NORMAL_DAY)
    seen = []

    def probe(env, desk):
        seen.append(desk.now)
        yield env.timeout(0)

    sim.simulate(scenario, processes=(p for p in [probe]))
    assert seen == [scenario.horizon.start_s]
    results = sim.run(scenario, replications=2, variants=(v for v in ["baseline", "pooled"]))
    assert list(results.variants) == ["baseline", "pooled"]


def test_resume_takes_a_state_file_as_whatif_does(tmp_path):
    scenario = sim.load_scenario(NORMAL_DAY)
    state = sim.snapshot(scenario, 10 * 3600.0)
    path = tmp_path / "state.yaml"
    path.write_text(state.dumps(), encoding="utf-8")
    from_file = sim.resume(scenario, path, until_s=11 * 3600.0)
    in_memory = sim.resume(scenario, state, until_s=11 * 3600.0)
    assert np.array_equal(from_file.end_at_s, in_memory.end_at_s, equal_nan=True)
