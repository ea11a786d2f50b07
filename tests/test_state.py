"""Desk states (sim/engine/state.py): a state written by hand is read, checked and resumed
sensibly; an impossible one is refused naming the file, the field and the problem, from Python
and from the command line (exit code 2, no traceback)."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest
import yaml
from conftest import REPO, supportsim

import sim
from sim.cli import main as cli_main
from sim.engine.records import ABANDONED, OPEN
from sim.engine.snapshot import resume
from sim.engine.state import StateError, load, parse

DOUBLE11 = REPO / "scenarios" / "double11.yaml"
T = 86400.0 + 600  # 2026-11-11 00:10
BASE = {
    "time": "2026-11-11 00:10",
    "groups": {
        "presale_team": {
            "agents": [{"chats": [{"topic": "presale", "waited": "30s"},
                                  {"topic": "order", "answered": 2}]},
                       {"chats": [{"topic": "presale", "waited": "1min",
                                   "typing": {"remaining": "20s"}}]}],
            "idle": 3,
        },
        "aftersale_team": {"idle": 2},
    },
    "queues": {"presale": [{"topic": "presale", "waited": "4min"}],
               "aftersale": [{"topic": "aftersale", "waited": "90s", "messages": 3}]},
}


@pytest.fixture(scope="module")
def double11():
    return sim.load_scenario(DOUBLE11)


def doc_state() -> dict:
    """The hand-written example state of docs/snapshots.md."""
    text = (REPO / "docs" / "snapshots.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- file: desk_now.yaml -->\n```yaml\n(.*?)```", text,
                      re.DOTALL).group(1)
    return yaml.safe_load(block)


def test_the_documented_state_is_read_and_resumed(double11):
    state = parse(doc_state(), "docs/snapshots.md")
    records = resume(double11, state, until_s=T + 3600)
    live = 3 + 1 + 4 + 1  # chats at agents, queued buyers, the buyer with the bot
    assert (records.arrival_s[:live] <= T).all() and (records.arrival_s[live:] >= T).all()
    assert records.via_bot[:live].sum() == 1
    # The after-sale buyer who has waited 12 minutes reached people at 23:58.
    assert records.queued_s[0] == T - 720


def test_a_hand_written_state_sets_up_the_desk(double11):
    records = resume(double11, parse(BASE), replication=0, until_s=T + 1800)
    live = 5
    # Arrival order: the queued buyer with 4 minutes' wait first, the thinking buyer (queued
    # now, by default) last among them.
    assert records.queued_s[0] == T - 240
    assert sorted(records.queued_s[:live].tolist()) == [T - 240, T - 90, T - 60, T - 30, T]
    # Who is on duty at 00:10 is what the state says: 2 + 3 presale agents, 2 after-sale.
    on_duty = (records.duty_start_s <= T) & (records.duty_end_s > T)
    by_group = np.bincount(records.duty_group[on_duty], minlength=2)
    assert dict(zip(records.group_names, by_group.tolist())) == {
        "presale_team": 5, "aftersale_team": 2}
    # The chats listed at an agent are that agent's from now: assigned at 00:10.
    assigned_now = records.assigned_s[:live] == T
    assert assigned_now.sum() == 3
    assert len(set(records.agent[:live][assigned_now].tolist())) == 2
    # The buyer typed to is answered 20 s from now; the given total of messages is kept.
    assert records.n_messages[np.flatnonzero(records.queued_s[:live] == T - 90)[0]] == 3


def big_queue(count: int, wait: str = "2min") -> dict:
    state = copy.deepcopy(BASE)
    state["queues"]["presale"] = [{"topic": "presale", "waited": wait}] * count
    return state


def first_waits_of_later_buyers(double11, state: dict, replication: int) -> float:
    """Mean wait to the first human answer of presale buyers arriving in the next half hour
    (given up: the half hour)."""
    records = resume(double11, parse(state), replication=replication, until_s=T + 3600)
    later = (records.arrival_s > T) & (records.arrival_s < T + 1800) & np.isfinite(
        records.queued_s) & (records.topic == records.topics.index("presale"))
    first = records.msg_start[later]
    wait = records.reply_s[first] - records.queued_s[later]
    return float(np.where(np.isfinite(wait), wait, 1800.0).mean())


def test_a_big_queue_takes_longer_to_clear_than_none(double11):
    for replication in range(3):
        empty = first_waits_of_later_buyers(double11, big_queue(0), replication)
        full = first_waits_of_later_buyers(double11, big_queue(300), replication)
        assert full > empty + 30, (replication, empty, full)


def test_waiting_buyers_give_up_given_their_wait(double11):
    # 300 buyers who have waited 10 minutes in a queue no one serves (no presale agent on
    # duty until the state's plan brings one): many give up within the next minutes.
    state = big_queue(300, "10min")
    state["groups"] = {"aftersale_team": {"idle": 1}}
    records = resume(double11, parse(state), until_s=T + 600)
    queued = np.flatnonzero(records.queued_s[:300 + 0] == T - 600)
    assert len(queued) == 300
    outcome = records.outcome[queued]
    assert ((outcome == ABANDONED) | (outcome == OPEN)).all()
    assert (outcome == ABANDONED).sum() > 30
    assert (records.end_at_s[queued][outcome == ABANDONED] > T).all()


# --- impossible states ------------------------------------------------------------------------


def _set(path: str, value):
    def change(document: dict) -> None:
        node = document
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


BAD = {
    "concurrency": (_set("groups.presale_team.agents.0.chats",
                         [{"topic": "presale", "answered": 1}] * 7),
                    "groups.presale_team.agents.0.chats", "more than the group's concurrency of 6"),
    "negative_age": (_set("queues.presale.0.waited", "-30s"), "queues.presale.0.waited",
                     "greater than or equal to 0"),
    "unknown_group": (_set("groups.night_team", {"idle": 2}), "groups.night_team",
                      "unknown group 'night_team'"),
    "unknown_queue_topic": (_set("queues.refunds", [{"topic": "refunds"}]), "queues.refunds",
                            "unknown topic 'refunds'"),
    "unknown_chat_topic": (_set("groups.presale_team.agents.1.chats.0.topic", "refunds"),
                           "groups.presale_team.agents.1.chats.0.topic",
                           "unknown topic 'refunds'"),
    "time_outside": (_set("time", "2026-11-13 10:00"), "time", "outside the scenario's horizon"),
    "unknown_key": (_set("groups.presale_team.agnets", []), "groups.presale_team.agnets",
                    "unknown key"),
    "wrong_version": (_set("version", 2), "version", "is not a version of the desk-state format"),
    "two_replies": (_set("groups.presale_team.agents.0.chats",
                         [{"topic": "presale", "waited": "5s", "typing": {}}] * 2),
                    "groups.presale_team.agents.0.chats", "one reply at a time"),
    "wait_in_future": (_set("queues.presale.0", {"topic": "presale",
                                                 "waiting_since": "2026-11-11 00:20"}),
                       "queues.presale.0.waiting_since", "after the state's time"),
}


def bad_document(case: str) -> dict:
    document = copy.deepcopy(BASE)
    BAD[case][0](document)
    return document


@pytest.mark.parametrize("case", sorted(BAD))
def test_an_impossible_state_names_the_field_and_the_problem(case, double11, tmp_path):
    _, field, problem = BAD[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(yaml.safe_dump(bad_document(case)), encoding="utf-8")
    with pytest.raises(StateError) as caught:
        resume(double11, load(path), source=str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}: {field}:"), message
    assert problem in message


@pytest.mark.parametrize("case", ["concurrency", "negative_age", "unknown_group",
                                  "time_outside", "wrong_version", "unknown_chat_topic"])
def test_the_command_line_exits_2_on_an_impossible_state(case, tmp_path, capsys):
    _, field, problem = BAD[case]
    path = tmp_path / f"{case}.json"
    path.write_text(json.dumps(bad_document(case)), encoding="utf-8")
    code = cli_main(["whatif", str(DOUBLE11), "--state", str(path), "--for", "10min",
                     "--replications", "2", "--workers", "1", "--quiet", "--no-report",
                     "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: {path}: {field}:" in err and problem in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("broken.yaml", "time: [2026\ngroups: {", "not valid YAML (line 2"),
    ("broken.json", '{"time": 86400, "groups": {', "line 1, column 28: not valid JSON"),
    ("list.yaml", "- time: 0\n", "a desk state is a mapping"),
])
def test_a_malformed_file_is_refused(name, text, problem, tmp_path):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StateError, match=re.escape(problem)):
        load(path)
    done = supportsim("whatif", DOUBLE11, "--state", path, "--for", "10min", "--quiet",
                      "--no-report", "--out", tmp_path / "out")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: {path}") and problem in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_state_file_exits_2(tmp_path, capsys):
    code = cli_main(["whatif", str(DOUBLE11), "--state", str(tmp_path / "none.yaml"),
                     "--quiet", "--no-report", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "none.yaml: file not found" in capsys.readouterr().err


def test_a_variant_that_drops_a_group_is_named(tmp_path):
    # A state names a group the chosen variant does not have: the error names the variant.
    scenario = sim.load_scenario(REPO / "scenarios" / "outsourcing.yaml")
    state = {"time": "10:00", "groups": {"agency": {"idle": 2}}}
    with pytest.raises(StateError, match=r"groups\.agency: unknown group"):
        sim.whatif(scenario, parse(state), for_s="10min", replications=2,
                   variants=["agency"])


def test_every_field_of_the_format_is_documented():
    from sim.engine import state as model

    text = (REPO / "docs" / "snapshots.md").read_text(encoding="utf-8")
    missing = [f"{cls.__name__}.{name}"
               for cls in (model.DeskState, model.Source, model.Group, model.Agent, model.Chat,
                           model.Pending)
               for name in cls.model_fields if f"| `{name}` |" not in text]
    assert missing == []


@pytest.mark.parametrize("delta", [-1, 2])
def test_a_state_resumed_under_another_schedule_keeps_each_chat_with_its_group(delta):
    # A snapshot of normal_day at 12:00, resumed under a schedule with one agent fewer (or two
    # more) in a later presale shift: the pool numbers its agents differently, so the agents
    # the state names are mapped, not taken by number (by number, an after-sale agent's chat
    # lands in the presale team, or past the end of the pool).
    document = yaml.safe_load((REPO / "scenarios" / "normal_day.yaml").read_text())
    base = sim.scenario.scenario_from_dict(document)
    state = sim.snapshot(base, 12 * 3600)
    changed = copy.deepcopy(document)
    changed["groups"]["presale_team"]["schedule"]["shifts"][2]["agents"] += delta
    other = sim.scenario.scenario_from_dict(changed)
    carried = resume(other, state, replication=0)
    same = resume(base, state, replication=0)
    assigned = np.flatnonzero(same.assigned_s < 12 * 3600)
    assert len(assigned) > 20
    # The chats taken before 12:00 stay with the group that took them.
    assert np.array_equal(carried.group[assigned], same.group[assigned])
