"""Tests for `supportsim staff`: target grammar, per-interval metrics, and the search itself.

The search tests use a four-hour single-group desk. Statistical checks compare a fresh set of
replications with the search's own, with tolerances from t-intervals (see each test).
"""

import datetime as dt
import math
import os
import re
import shlex

import numpy as np
import pytest
import yaml
from scipy import stats

from sim.agents import duty_periods, headcount_at
from sim.analysis.targets import Target, TargetError
from sim.cli import main as main_entry
from sim.scenario import load_scenario, rate_table, scenario_from_dict
from sim.tools.staffing import (
    Evaluator,
    _Context,
    clock_key,
    find_staffing,
    group_topics,
    handling_time_s,
    interval_counts,
    parse_target,
    with_headcounts,
)

SMALL = {
    "name": "small_desk",
    "horizon": {"start": "08:00", "end": "12:00", "drain": "1h"},
    "seed": 7,
    "replications": 6,
    "arrivals": {"interval": "30min", "mix": {"presale": 1},
                 "rates_per_hour": [160, 320, 640, 960, 800, 480, 320, 240]},
    "topics": {"presale": {
        "messages": {"dist": "geometric", "mean": 2},
        "think_time": {"dist": "exponential", "mean": "30s"},
        "patience": {"dist": "exponential", "mean": "3min"},
    }},
    "groups": {"team": {
        "skills": ["presale"], "concurrency": 3, "hourly_cost": 30,
        "reply_time": {"dist": "exponential", "mean": "8s"},
        "schedule": {"headcount": {"08:00": 3}},
    }},
}
TARGET = "first_response_30s_rate>=0.8"


@pytest.fixture(scope="module")
def small_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("staff") / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def found(small_path):
    # Passes until one changes nothing (the default is one pass and the full check), so the
    # search's local minimality can be asserted.
    return find_staffing(load_scenario(small_path), TARGET, workers=1, max_passes=4)


def evaluator(result, seed: int, replications: int) -> Evaluator:
    scenario = result.scenario
    context = _Context(scenario, result.target, result.groups,
                       {g: group_topics(scenario, g) for g in result.groups}, result.edges_s,
                       seed)
    return Evaluator(context, replications)


@pytest.mark.parametrize("target, start", [(TARGET, "isa"),
                                           ("first_response_mean_s<=20", "mol")])
def test_a_target_no_staffing_reaches_is_reported_not_fatal(tmp_path, capsys, target, start):
    # Replies take 40 s, so no buyer is first answered within 30 s (or 20 s on average)
    # however many agents wait: every cell's metric stops improving. The command still
    # writes a schedule (each cell keeps the search's starting count) and says which cells
    # cannot meet the target and why; it does not suggest --max-agents, which cannot help.
    doc = {**SMALL, "groups": {"team": {**SMALL["groups"]["team"],
                                        "reply_time": {"dist": "deterministic", "value": "40s"}}}}
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "out"
    code = main_entry(["staff", str(path), "--target", target, "--replications", "2",
                       "--start", start, "--workers", "1", "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    text = captured.out
    assert text.startswith(f"staffing for {parse_target(target)} in the counted intervals "
                           "(more agents can bring none of the 8 to it)"), text
    assert "8 counted interval(s) cannot meet the target by adding agents" in text
    found = re.search(r"08:00 \(team: ([\d.]+) with (\d+) agents, ([\d.]+) with (\d+); kept "
                      r"at (\d+): ([\d.]+)\)", text)
    assert found, text
    at_cap, cap, at_probe, probe, kept, value = (float(x) for x in found.groups())
    assert probe >= 2 * cap  # the ample count tried beyond the cap
    assert not any(parse_target(target).met(x) for x in (at_cap, at_probe, value))
    begun = "ISA start" if start == "isa" else "MOL estimate"
    assert f"keeps its count from the {begun}" in text and "--max-agents" not in text
    assert "meets the target in every" not in text  # no other counted interval is left
    assert text.count("(more agents cannot reach the target)") == 8  # marked in the table
    assert "Traceback" not in captured.err
    header = (out / "staffed.yaml").read_text().splitlines()[:4]
    assert any("8 counted intervals cannot meet the target" in line for line in header)
    staffed = load_scenario(out / "staffed.yaml")
    assert "(more agents can bring none of the 8 to it)" in staffed.description
    import pandas as pd

    table = pd.read_csv(out / "staffing.csv")
    assert not table["reachable"].any()  # the file lists every such cell, not only 12
    # Each cell keeps the count the search started from.
    result = find_staffing(load_scenario(path), target, replications=2, workers=1, start=start)
    start_counts = result.initial["team"]
    assert list(staffed.groups["team"].schedule.headcount.values()) == list(start_counts)
    assert kept == start_counts[0]
    from sim.tools.staffing import plot

    figure = plot(result)  # the plot marks the cells too, and says so
    assert "more agents cannot reach the target" in [
        t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert "time (orange: counted, but more agents cannot reach the target)" in [
        ax.get_xlabel() for ax in figure.axes]  # every interval counted: no grey to name


def test_a_horizon_the_target_does_not_count_says_so(tmp_path, capsys):
    # 01:00-05:00 lies outside the Pinduoduo counted hours: nothing is searched, and the
    # report says why instead of claiming the target is met "in every counted interval".
    doc = {**SMALL, "horizon": {"start": "01:00", "end": "05:00", "drain": "1h"}}
    path = tmp_path / "night.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code = main_entry(["staff", str(path), "--target", "reply_rate_5min>=0.95",
                       "--replications", "2", "--workers", "1", "--out", str(tmp_path / "out"),
                       "--quiet"])
    text = capsys.readouterr().out
    assert code == 0
    assert "note: no interval of the horizon is counted by reply_rate_5min" in text
    assert "meets the target" not in text
    assert text.startswith("staffing for reply_rate_5min>=0.95 in the counted intervals (none "
                           "in this horizon) (2 replications, seed 7, MOL start, 1 pass)"), text


@pytest.mark.parametrize("was, now, fewer, cap, op, value, stopped", [
    (0.5784, 0.5793, 156, 180, ">=", 0.8, True),   # +0.0009 for 24 agents, 0.22 to go
    (0.4211, 0.4211, 32, 50, ">=", 0.6, True),     # no better at all
    (0.4300, 0.4211, 32, 50, ">=", 0.6, True),     # worse (noise)
    (0.70, 0.78, 10, 20, ">=", 0.8, False),        # 0.02 to go at 0.008 per agent: 2.5 more
    (0.50, 0.70, 25, 50, ">=", 0.8, False),        # 0.1 to go: 12.5 more, within the cap
    (0.50, 0.58, 25, 50, ">=", 0.8, True),         # 0.22 to go at 0.0032 per agent: 69 more
    (40.0, 39.9, 30, 50, "<=", 20.0, True),        # a mean wait hardly falling
    (40.0, 25.0, 30, 50, "<=", 20.0, False),
    (0.40, 0.40, 50, 50, ">=", 0.8, False),        # started at the cap: nothing to compare
])
def test_more_agents_stop_helping_when_the_gain_cannot_reach_the_target_within_the_cap(
        was, now, fewer, cap, op, value, stopped):
    from sim.tools.staffing import Evaluation, _stopped_helping

    def evaluation(rate: float) -> Evaluation:  # one replication, one group, one interval
        return Evaluation(np.array([[[rate * 1e6]]]), np.array([[[1e6]]]))

    target = Target("first_response_30s_rate" if op == ">=" else "first_response_mean_s", op,
                    value)
    assert _stopped_helping(evaluation(was), evaluation(now), fewer, cap, 0, 0,
                            target) is stopped


def _asks_for_more_agents(code: int, err: str, cap: int, where: str = "") -> None:
    """The command stopped (exit 2) because ample agents meet the target where `cap` do
    not, and said so with both values."""
    assert code == 2, err
    found = re.search(rf"{where}even with {cap} agents \(first_response_30s_rate ([\d.]+) "
                      r"there; with (\d+) agents ([\d.]+), which meets the target\): more "
                      r"agents would help, so allow them with --max-agents", err)
    assert found, err
    assert float(found.group(1)) < 0.8 <= float(found.group(3))
    assert int(found.group(2)) >= 2 * cap
    assert "cannot meet" not in err


def test_a_cap_below_what_the_target_needs_suggests_more_agents(small_path, tmp_path, capsys):
    # The small desk needs more than 2 agents at its peak; the search starts from the cap
    # there. Ample agents meet the target: the advice is to allow more, with both values.
    code = main_entry(["staff", str(small_path), "--target", TARGET, "--replications", "2",
                       "--max-agents", "2", "--workers", "1", "--out", str(tmp_path / "out"),
                       "--quiet"])
    _asks_for_more_agents(code, capsys.readouterr().err, 2)


def test_the_command_the_header_names_finds_the_same_staffing(small_path, tmp_path):
    first = tmp_path / "first"
    code = main_entry(["staff", str(small_path), "--target", TARGET, "--group", "team",
                       "--replications", "2", "--seed", "7", "--start", "mol", "--workers",
                       "1", "--out", str(first), "--quiet"])
    assert code == 0
    command = shlex.split((first / "staffed.yaml").read_text().splitlines()[0].split("`")[1])
    assert command[:3] == ["supportsim", "staff", str(small_path)]
    for flag, value in (("--target", TARGET), ("--group", "team"), ("--replications", "2"),
                        ("--seed", "7"), ("--start", "mol")):
        assert command[command.index(flag) + 1] == value
    assert "--workers" not in command and "--out" not in command  # they change nothing
    again = tmp_path / "again"
    assert main_entry([*command[1:], "--out", str(again), "--quiet"]) == 0
    for name in ("staffed.yaml", "staffing.csv"):
        assert (again / name).read_bytes() == (first / name).read_bytes()


def test_a_cap_below_a_steep_rise_is_not_taken_for_a_plateau(tmp_path, capsys):
    # A spike at 09:30 on a pooled desk: the team's MOL start there (4) is below the cap
    # (7), which is below what the spike needs (about 11). The 30-s rate is still at the
    # foot of its S-shaped curve from 4 to 7 agents, where a straight line through two
    # counts below the load says the target is out of reach. Trying ample agents shows it
    # is not: the command stops and asks for a higher cap.
    backup = {**SMALL["groups"]["team"], "schedule": {"headcount": {"08:00": 0}}}
    doc = {**SMALL, "arrivals": {**SMALL["arrivals"],
                                 "rates_per_hour": [160, 320, 320, 1920, 320, 320, 240, 160]},
           "groups": {**SMALL["groups"], "backup1": backup, "backup2": backup},
           "routing": {"mode": "pooled"},
           "warnings": {"ignore": ["unstaffed_group"]}}
    path = tmp_path / "spike.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code = main_entry(["staff", str(path), "--target", TARGET, "--group", "team",
                       "--replications", "2", "--start", "mol", "--max-agents", "7",
                       "--workers", "1", "--out", str(tmp_path / "out"), "--quiet"])
    _asks_for_more_agents(code, capsys.readouterr().err, 7,
                          "interval starting 09:30 for group team ")


def _raise_on(curve, cap: int, start: int, target: str = TARGET):
    """`_raise` on one cell whose metric with n agents is curve(n) (a stand-in for the
    simulation): the schedule it returns and the cells it found out of reach."""
    from sim.tools.staffing import Evaluation, Unreachable, _raise

    def evaluate(schedule):
        n = int(schedule["team"][0])
        return Evaluation(np.array([[[curve(n) * 1e6]]]), np.array([[[1e6]]]))

    unreachable = Unreachable(probe=max(2 * cap, 50))
    schedule, _ = _raise(evaluate, {"team": np.array([start])}, "team", 0, 0,
                         parse_target(target), cap, "08:00", unreachable)
    return int(schedule["team"][0]), unreachable


def test_raise_finds_the_fewest_agents_that_meet_the_target():
    count, unreachable = _raise_on(lambda n: min(1.0, 0.1 * n), cap=50, start=2)
    assert count == 8 and not unreachable.cells


def test_a_plateau_below_the_target_keeps_the_count_and_is_recorded():
    count, unreachable = _raise_on(lambda n: min(0.55, 0.1 * n), cap=20, start=3)
    assert count == 3  # the cell keeps what it had
    plateau = unreachable.cells[(0, 0)]
    assert (plateau.kept, plateau.cap, plateau.probe) == (3, 20, 50)
    assert plateau.at_cap == pytest.approx(0.55) and plateau.at_probe == pytest.approx(0.55)


def test_a_metric_still_rising_past_the_cap_asks_for_more_agents():
    from sim.tools.staffing import StaffingError

    def s_curve(n):  # the foot of an S: slow, then steep around 30 agents
        return 0.9 / (1 + math.exp(-(n - 30) / 3))

    with pytest.raises(StaffingError, match=r"even with 10 agents \(first_response_30s_rate "
                                            r"[\d.]+ there; with 50 agents [\d.]+, which meets "
                                            r"the target\): more agents would help"):
        _raise_on(s_curve, cap=10, start=4)

    def slow(n):  # 0.5 at 20, 0.7 at 50: 0.1 to go at 0.2 per 30 agents, within reach
        return 0.5 + 0.2 * min(n - 20, 30) / 30 if n >= 20 else 0.025 * n

    with pytest.raises(StaffingError, match="0.7, which still gains towards the target"):
        _raise_on(slow, cap=20, start=4)


# --- targets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, metric, op, value", [
    ("reply_rate_5min>=0.95", "reply_rate_5min", ">=", 0.95),
    (" first_response_30s_rate >= 80% ", "first_response_30s_rate", ">=", 0.8),
    ("abandon_rate<=0.05", "abandon_rate", "<=", 0.05),
    ("first_response_mean_s<=20", "first_response_mean_s", "<=", 20.0),
])
def test_parse_target(text, metric, op, value):
    target = parse_target(text)
    assert (target.metric, target.op) == (metric, op)
    assert target.value == pytest.approx(value)


@pytest.mark.parametrize("text, words", [
    ("reply_rate_5min>=1.5", "outside [0, 1]"),
    ("reply_rate_5min>=-0.1", "outside [0, 1]"),
    ("reply_rat_5min>=0.95", "unknown metric"),
    ("reply_rate_5min>>0.95", "cannot read target"),
    ("reply_rate_5min>=", "cannot read target"),
    ("0.95<=reply_rate_5min", "cannot read target"),
    ("abandon_rate>=0.05", "better when lower"),
    ("reply_rate_5min>0.95", "use >= or <="),
    ("first_response_mean_s<=0", "positive number of seconds"),
])
def test_bad_targets_exit_2_with_a_clear_message(text, words, small_path, tmp_path, capsys):
    code = main_entry(["staff", str(small_path), "--target", text, "--out", str(tmp_path),
                       "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and words in err and "Traceback" not in err
    assert not (tmp_path / "staffed.yaml").exists()


def test_abandonment_target_without_patience_is_refused():
    document = {**SMALL, "topics": {"presale": {
        "messages": {"dist": "deterministic", "value": 1},
        "think_time": {"dist": "deterministic", "value": 0}}}}
    with pytest.raises(TargetError, match="nobody abandons"):
        find_staffing(scenario_from_dict(document), "abandon_rate<=0.05")


# --- building blocks ------------------------------------------------------------------------------


def test_handling_time_takes_the_binding_constraint():
    base = {**SMALL, "topics": {"presale": {
        "messages": {"dist": "deterministic", "value": 2},
        "think_time": {"dist": "deterministic", "value": "30s"}}}}
    # Slots bind: 2 x 10 s typing + 30 s thinking = 50 s per slot, over 2 slots = 25 s > 20 s.
    loose = {**base, "groups": {"team": {**SMALL["groups"]["team"], "concurrency": 2,
                                         "reply_time": {"dist": "deterministic", "value": "10s"}}}}
    assert handling_time_s(scenario_from_dict(loose), "team") == pytest.approx(25.0)
    # Typing binds: 50 s per slot over 5 slots = 10 s < 20 s of typing per conversation.
    tight = {**base, "groups": {"team": {**SMALL["groups"]["team"], "concurrency": 5,
                                         "reply_time": {"dist": "deterministic", "value": "10s"}}}}
    assert handling_time_s(scenario_from_dict(tight), "team") == pytest.approx(20.0)


def test_interval_counts_follow_the_metric_definitions(desk):
    scenario = scenario_from_dict(SMALL)  # only its metric settings matter here
    edges = np.array([28800.0, 30600.0, 32400.0])  # 08:00, 08:30, 09:00
    desk.buyer(29000, [(29000, 29010), (29100, 29500)])  # second message waits 400 s: late
    desk.buyer(29200, [(29200, 29250)])  # first answered in 50 s: not within 30 s
    desk.buyer(29300, [(29300, None)], outcome="abandoned", end_s=29400)
    desk.buyer(31000, [(31000, 31005)])
    desk.buyer(31100, [(31100, 31110)], reported=True)  # reported buyers never count
    desk.buyer(31200, [(31200, 31210)], topic="order")  # not this group's topic
    tables = desk.tables()
    ok, total = interval_counts(tables, scenario, Target("reply_rate_5min", ">=", 0.9), edges,
                                ["presale"])
    assert ok.tolist() == [1, 1] and total.tolist() == [3, 1]
    ok, total = interval_counts(tables, scenario, Target("first_response_30s_rate", ">=", 0.8),
                                edges, ["presale"])
    assert ok.tolist() == [1, 1] and total.tolist() == [3, 1]
    ok, total = interval_counts(tables, scenario, Target("abandon_rate", "<=", 0.1), edges,
                                ["presale"])
    assert ok.tolist() == [1, 0] and total.tolist() == [3, 2]
    ok, total = interval_counts(tables, scenario, Target("first_response_mean_s", "<=", 20),
                                edges, ["presale"])
    assert ok.tolist() == [60, 5] and total.tolist() == [2, 1]


def test_an_interval_nobody_answered_misses_a_mean_wait_target(desk):
    # The mean first response is over answered buyers; an interval whose buyers all left
    # unanswered (staffed with nobody) must not pass as one without buyers: each counts as
    # waiting the whole run, so the search cannot meet the target by staffing none.
    scenario = scenario_from_dict(SMALL)
    edges = np.array([28800.0, 30600.0, 32400.0])
    desk.buyer(29000, [(29000, 29010)])
    desk.buyer(31000, [(31000, None)], outcome="abandoned", end_s=31090)
    desk.buyer(31500, [(31500, None)], outcome="abandoned", end_s=31530)
    target = Target("first_response_mean_s", "<=", 600)
    total, count = interval_counts(desk.tables(), scenario, target, edges, ["presale"])
    horizon = scenario.horizon
    whole_run_s = horizon.end_s + horizon.drain - horizon.start_s
    assert total.tolist() == [10, 2 * whole_run_s] and count.tolist() == [1, 2]
    assert target.met(total[0] / count[0]) and not target.met(total[1] / count[1])


def test_headcount_keys_are_dated_on_a_dated_horizon():
    day0 = dt.date(2026, 11, 10)
    assert clock_key(86400 + 1800, day0) == "2026-11-11 00:30"
    assert clock_key(8 * 3600, None) == "08:00"
    document = {**SMALL, "horizon": {"start": "2026-11-10 23:00", "end": "2026-11-11 01:00"},
                "arrivals": {**SMALL["arrivals"], "rates_per_hour": [100, 100, 100, 100]}}
    scenario = scenario_from_dict(document)
    edges = rate_table(scenario).edges_s
    staffed = with_headcounts(scenario, {"team": (2, 5, 7, 1)}, edges)
    periods = duty_periods(staffed.groups["team"].schedule, staffed)
    assert headcount_at(periods, edges[:-1] + 60) == [2, 5, 7, 1]


# --- the search ---------------------------------------------------------------------------------


def test_search_settles_and_meets_the_target_on_its_replications(found):
    assert found.converged
    holds = found.evaluation.holds(found.target)
    assert holds[found.counted].all()
    assert found.missed(found.evaluation) == 0


def test_staffing_meets_the_target_on_fresh_seeds(found):
    # The search makes its pooled estimate meet the target; the true value may still sit below
    # it by the search's own noise. So a fresh estimate (independent seeds) must reach the
    # target within t * sqrt(se_search^2 + se_fresh^2), one-sided, Bonferroni over the counted
    # intervals, with the smaller sample's degrees of freedom (conservative).
    fresh_reps = 10
    with evaluator(found, seed=found.seed + 1000, replications=fresh_reps) as evaluate:
        fresh = evaluate(found.headcount)
    search_values = found.evaluation.per_replication()[:, 0, :]
    fresh_values = fresh.per_replication()[:, 0, :]
    counted = np.flatnonzero(found.counted[0])
    df = min(found.replications, fresh_reps) - 1
    t = stats.t.ppf(1 - 0.05 / len(counted), df)
    for i in counted:
        se_search = np.nanstd(search_values[:, i], ddof=1) / math.sqrt(found.replications)
        se_fresh = np.nanstd(fresh_values[:, i], ddof=1) / math.sqrt(fresh_reps)
        estimate = fresh.estimate()[0, i]
        margin = t * math.hypot(se_search, se_fresh)
        assert estimate + margin >= found.target.value, (
            f"interval {i}: fresh {estimate:.4f} + {margin:.4f} below {found.target.value}")


def test_removing_one_agent_anywhere_breaks_the_target_there(found):
    # Same replications as the search (common random numbers), so this is exact, not
    # statistical. The method guarantees that one agent fewer in a counted interval fails the
    # target there or in an earlier interval whose buyers are still being served; on this desk
    # every removal fails the interval itself.
    headcount = found.headcount["team"]
    staffed = np.flatnonzero(found.counted[0] & (headcount > 0))
    assert staffed.size == found.counted[0].sum()
    with evaluator(found, seed=found.seed, replications=found.replications) as evaluate:
        assert np.array_equal(evaluate(found.headcount).numerator, found.evaluation.numerator)
        for i in staffed:
            fewer = headcount.copy()
            fewer[i] -= 1
            holds = evaluate({"team": fewer}).holds(found.target)[0]
            assert not holds[i], f"interval {i} keeps the target with {fewer[i]} agents"


def test_lookahead_with_whole_horizon_candidates_is_refused(small_path, tmp_path, capsys):
    code = main_entry(["staff", str(small_path), "--target", TARGET, "--method", "full",
                       "--lookahead", "2", "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: --lookahead only applies with --method partial"), err
    assert not (tmp_path / "out").exists()


def test_cli_writes_a_schedule_that_run_accepts(small_path, tmp_path, capsys):
    out = tmp_path / "staffing"
    code = main_entry(["staff", str(small_path), "--target", "reply_rate_5min>=0.95", "--out",
                       str(out), "--replications", "3", "--workers", "1", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "SIPP (Erlang C)" in printed and "agent-hours" in printed
    assert re.search(r"simulations: \d+ full \(whole horizon\) and \d+ partial", printed)
    # Counts agree with their nouns ("1 pass", "3 replications", never "1 intervals").
    assert "3 replications" in printed and "1 pass)" in printed
    assert not re.search(r"\b1 (intervals|passes|replications|bulk rounds)\b", printed)
    staffed = load_scenario(out / "staffed.yaml")
    # The header names the seed the search ran on and how to check the staffing on others.
    header = (out / "staffed.yaml").read_text().splitlines()[:2]
    assert f"seed {staffed.seed}:" in header[1] and "--seed N" in header[1], header
    table = staffed.groups["team"].schedule.headcount
    assert list(table) == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert (out / "staffing.png").read_bytes().startswith(b"\x89PNG")
    assert "interval_start_s" in (out / "staffing.csv").read_text().splitlines()[0]
    code = main_entry(["run", str(out / "staffed.yaml"), "--replications", "2", "--out",
                       str(tmp_path / "run"), "--quiet"])
    assert code == 0


def test_progress_bars_keep_their_totals(small_path, monkeypatch):
    # One bar per pass, sized by the counted cells, and one per whole-horizon stage: a search
    # that settles early never shows a total that changes under the user (it used to shrink
    # from passes x cells to cells).
    from sim.tools import staffing

    bars = []

    class Recorder(staffing.tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = False
            kwargs["file"] = open(os.devnull, "w")  # noqa: SIM115 - closed with the bar
            self.totals = []
            self.steps = []
            super().__init__(*args, **kwargs)
            self.totals.append(self.total)
            bars.append(self)

        def refresh(self, *args, **kwargs):
            self.totals.append(self.total)
            return super().refresh(*args, **kwargs)

        def update(self, n=1):
            self.steps.append(n)
            return super().update(n)

    monkeypatch.setattr(staffing, "tqdm", Recorder)
    result = find_staffing(load_scenario(small_path), TARGET, workers=1, replications=2,
                           progress=True)
    cells = int(result.counted.sum())
    assert bars, "the search showed no progress"
    # The whole-horizon stages (ISA start, bulk rounds, the full check) show rounds, sized by
    # the most each may run.
    stages = {bar.desc.rsplit(" ", 2)[-2] + " " + bar.desc.rsplit(" ", 2)[-1] for bar in bars}
    assert {"ISA start", "bulk rounds", "full check", "pass 1"} <= stages
    # The bulk bar steps once per round the report counts (its last update fills the bar).
    (bulk,) = [bar for bar in bars if bar.desc.endswith("bulk rounds")]
    assert result.bulk_rounds >= 1 and bulk.steps[:-1] == [1] * result.bulk_rounds
    for bar in bars:
        assert bar.n == bar.total
        if " pass " in bar.desc:
            assert set(bar.totals) == {cells}
        else:
            assert len(set(bar.totals)) == 1 and bar.total >= 1


# --- snapshots, partial simulations and the ISA start -------------------------------------------

SMALL_START = np.array([3, 5, 9, 13, 11, 7, 5, 4])  # a schedule near the found one


def small_context(seed=None):
    from sim.tools.staffing import _Context

    scenario = scenario_from_dict(SMALL)
    target = parse_target(TARGET)
    return _Context(scenario, target, ["team"], {"team": ["presale"]},
                    rate_table(scenario).edges_s, scenario.seed if seed is None else seed)


def assert_resumes_to_full_run(current, candidate, edges, interval: int) -> None:
    """On replications 0 and 1: `candidate` resumed from `current`'s desk just before
    `interval` gives the records of `candidate`'s uninterrupted run, column for column."""
    from sim.engine import simulate
    from sim.engine.snapshot import prepare, resume, snapshots
    from sim.tools.staffing import snapshot_time

    for replication in (0, 1):
        states, _ = snapshots(current, [snapshot_time(edges, interval)], replication)
        resumed = resume(candidate, states[0], replication)
        _, rows = prepare(candidate, states[0], replication)
        full = simulate(candidate, replication).subset(rows)
        assert len(rows) > 100
        for name in ("outcome", "queued_s", "assigned_s", "end_at_s", "agent", "sent_s",
                     "reply_s", "msg_agent"):
            np.testing.assert_array_equal(getattr(resumed, name), getattr(full, name),
                                          err_msg=name)


@pytest.mark.parametrize("interval, change", [(2, 1), (2, -2), (3, 4), (5, -1), (7, 2)])
def test_a_candidate_resumed_from_the_current_desk_is_its_full_run(interval, change):
    # A candidate changing interval i starts from the current schedule's desk just before i
    # (a millisecond before, so the candidate's own change of headcount at i is still
    # ahead); its run must be the candidate's uninterrupted run, record for record.
    scenario = scenario_from_dict(SMALL)
    edges = rate_table(scenario).edges_s
    current = with_headcounts(scenario, {"team": SMALL_START}, edges)
    counts = SMALL_START.copy()
    counts[interval] += change
    candidate = with_headcounts(scenario, {"team": counts}, edges)
    assert_resumes_to_full_run(current, candidate, edges, interval)


def test_the_desk_passed_from_window_to_window_is_the_full_runs_desk():
    # The search carries the desk from interval to interval through the accepted candidate's
    # partial run; it must be the desk a full run of that schedule has there.
    from sim.tools.staffing import Evaluator

    context = small_context()
    schedule = {"team": SMALL_START}
    with Evaluator(context, 2) as evaluate:
        _, states = evaluate.from_start(schedule, 1)
        for i in range(1, 5):
            _, states = evaluate.window(schedule, states, i, i + 1, i + 3)
            _, fresh = evaluate.from_start(schedule, i + 1)
            assert [desk(s) for s in states] == [desk(s) for s in fresh]


def desk(state) -> dict:
    """A state without its informational list of the duty changes ahead (a partial run plans
    them only up to its stop; resuming plans them from the scenario)."""
    document = state.model_dump()
    for group in document["groups"].values():
        group.pop("shifts_ahead")
    return document


def test_partial_estimates_agree_with_full_runs():
    # The bounded look-ahead against the truth: for one or two agents more or fewer in each
    # interval, the search's estimate (the current schedule's full counts plus the
    # difference of the two partial runs) against a full simulation of the candidate, on the
    # same replications. Later buyers are taken as unaffected, so small differences remain;
    # the verdict per interval must be the same, every rate within 0.01, and a window that
    # reaches the end of the run must be exact.
    from sim.tools.staffing import Evaluation, Evaluator

    context = small_context()
    target = context.target
    schedule = {"team": SMALL_START}
    n = len(SMALL_START)
    lookahead = 2
    with Evaluator(context, 6) as evaluate:
        full = evaluate(schedule)
        for i in range(1, n):
            _, states = evaluate.from_start(schedule, i)
            stop = min(i + 1 + lookahead, n)
            following = i + 1 if i + 1 < n else None
            base, _ = evaluate.window(schedule, states, i, following, stop)
            for change in (-2, -1, 1, 2):
                counts = SMALL_START.copy()
                counts[i] += change
                trial, _ = evaluate.window({"team": counts}, states, i, following, stop)
                estimate = Evaluation(full.numerator + trial.numerator - base.numerator,
                                      full.denominator + trial.denominator - base.denominator)
                truth = evaluate({"team": counts})
                assert np.array_equal(estimate.holds(target), truth.holds(target)), (i, change)
                assert np.nanmax(np.abs(estimate.estimate() - truth.estimate())) < 0.01
                if stop == n:
                    assert np.array_equal(estimate.numerator, truth.numerator)
                    assert np.array_equal(estimate.denominator, truth.denominator)
        assert evaluate.partial_runs > 0


def test_isa_requirement_is_the_capacity_quantile():
    from sim.tools.staffing import isa_requirement

    # One interval, 100 sampled moments: slots 0..99, 3 replies being typed throughout.
    slots = np.arange(100.0).reshape(1, 1, 100)
    typing = np.full((1, 1, 100), 3.0)
    # P(slots >= 5 s) <= 0.1 first holds at s = 18 (90 of the 100 moments are below 90);
    # typing alone needs 4 (3 replies under way must not take every agent).
    assert isa_requirement(slots, typing, 5, 0.1).tolist() == [18]
    assert isa_requirement(np.zeros((1, 1, 100)), typing, 5, 0.1).tolist() == [4]
    # A larger delay probability never needs more agents.
    assert isa_requirement(slots, typing, 5, 0.5).tolist() == [10]


def test_isa_alpha_is_honoured(small_path):
    scenario = load_scenario(small_path)
    strict = find_staffing(scenario, TARGET, workers=1, replications=3, max_passes=1,
                           isa_alpha=0.2)
    loose = find_staffing(scenario, TARGET, workers=1, replications=3, max_passes=1,
                          isa_alpha=0.8)
    assert strict.start == loose.start == "isa" and strict.isa_rounds >= 1
    hours = {name: sum(r.agent_hours(r.initial).values())
             for name, r in (("strict", strict), ("loose", loose))}
    assert hours["strict"] > hours["loose"]


def test_the_partial_search_is_checked_by_a_full_simulation(found, small_path):
    # The result's evaluation is a full simulation of its schedule; the note under the table
    # says what that simulation says.
    assert found.method == "partial" and found.partial_runs > 0 and found.full_runs > 0
    with evaluator(found, seed=found.seed, replications=found.replications) as evaluate:
        again = evaluate(found.headcount)
    np.testing.assert_array_equal(again.numerator, found.evaluation.numerator)
    np.testing.assert_array_equal(again.denominator, found.evaluation.denominator)
    assert found.missing_cells() == []
    assert any("meets the target in every counted interval" in n for n in found.notes)


def test_a_missed_interval_is_named_not_contradicted(found):
    # A schedule whose full simulation misses a cell: the note names it and the table's count
    # agrees (never "meets the target" under a table showing a miss).
    import dataclasses

    from sim.tools.staffing import Evaluation, format_report

    numerator = found.evaluation.numerator.copy()
    numerator[:, 0, 3] = 0.0  # nobody replied in time in interval 3
    broken = dataclasses.replace(found, evaluation=Evaluation(numerator,
                                                              found.evaluation.denominator),
                                 notes=[])
    notes = broken.check_notes(4)
    assert broken.missed(broken.evaluation) == 1
    assert len(notes) == 1 and "1 counted interval(s) miss" in notes[0] and "09:30" in notes[0]
    assert "meets the target" not in notes[0]
    broken.notes.extend(notes)
    assert "09:30 (team)" in format_report(broken)


def test_only_whole_horizon_passes_are_advised_to_be_raised(found):
    # Whole-horizon passes that did not settle may leave room: raising --max-passes helps.
    # The partial search's one pass is not meant to settle (more passes judged on partial
    # runs leave more cells missing), so its note gives no such advice.
    import dataclasses

    unsettled = dataclasses.replace(found, converged=False, notes=[])
    (partial,) = unsettled.check_notes(1)
    assert partial.startswith("the full simulation of the schedule meets the target")
    assert "--max-passes" not in partial and "did not settle" not in partial
    (full,) = dataclasses.replace(unsettled, method="full").check_notes(4)
    assert "did not settle within 4 passes" in full and "raise --max-passes" in full
    settled = dataclasses.replace(unsettled, method="full", converged=True).check_notes(4)
    assert "--max-passes" not in settled[0]


def test_partial_and_full_searches_reach_a_schedule_meeting_the_target(small_path):
    scenario = load_scenario(small_path)
    partial = find_staffing(scenario, TARGET, workers=1, replications=3)
    full = find_staffing(scenario, TARGET, workers=1, replications=3, start="mol",
                         method="full")
    assert full.partial_runs == 0 and partial.partial_runs > 0
    for result in (partial, full):
        assert result.missed(result.evaluation) == 0
    # The same criterion on the same replications: the schedules differ by at most an
    # agent in an interval (each is a local minimum of its own path).
    assert np.max(np.abs(partial.headcount["team"] - full.headcount["team"])) <= 1


# --- separable groups ---------------------------------------------------------------------------

TWO = {
    **SMALL,
    "name": "two_teams",
    "arrivals": {**SMALL["arrivals"], "mix": {"presale": 0.6, "aftersale": 0.4}},
    "topics": {**SMALL["topics"], "aftersale": {
        "messages": {"dist": "geometric", "mean": 3},
        "think_time": {"dist": "exponential", "mean": "40s"},
        "patience": {"dist": "exponential", "mean": "4min"},
    }},
    "groups": {**SMALL["groups"], "after": {
        "skills": ["aftersale"], "concurrency": 2, "hourly_cost": 25,
        "reply_time": {"dist": "exponential", "mean": "10s"},
        "schedule": {"headcount": {"08:00": 3}},
    }},
}


@pytest.fixture(scope="module")
def two_teams(tmp_path_factory):
    path = tmp_path_factory.mktemp("staff2") / "two.yaml"
    path.write_text(yaml.safe_dump(TWO, sort_keys=False))
    return load_scenario(path)


def test_dedicated_teams_do_not_see_each_others_headcount(two_teams):
    # The premise of settling separable groups together: under dedicated routing with no
    # shared skill, a team's counts do not move when only the other team's headcount does.
    from sim.tools.staffing import separable

    groups = ["team", "after"]
    assert separable(two_teams, groups)
    edges = rate_table(two_teams).edges_s
    context = _Context(two_teams, parse_target(TARGET), groups,
                       {g: group_topics(two_teams, g) for g in groups}, edges, two_teams.seed)
    base = {"team": (4, 6, 9, 12, 11, 8, 6, 5), "after": (3, 4, 6, 8, 7, 5, 4, 3)}
    moved = {"team": base["team"], "after": (2, 6, 4, 9, 5, 5, 7, 1)}
    for replication in range(2):
        (num_a, den_a), (num_b, den_b) = (context.run(h, replication) for h in (base, moved))
        np.testing.assert_array_equal(num_a[0], num_b[0])
        np.testing.assert_array_equal(den_a[0], den_b[0])
        assert not np.array_equal(num_a[1], num_b[1])  # the other team did change
    pooled = two_teams.model_copy(update={"routing": two_teams.routing.model_copy(
        update={"mode": "pooled"})})
    assert not separable(pooled, groups)


def test_separable_teams_settled_together_reach_the_schedule_settled_apart(two_teams,
                                                                          monkeypatch):
    # Settled together, each team's row answers for its own change only, so the search makes
    # the same decisions as settling the teams one after the other, in fewer runs.
    from sim.tools import staffing

    # Passes until one changes nothing: the later passes try to lower every cell, which is
    # where settling together saves runs.
    together = find_staffing(two_teams, TARGET, workers=1, replications=3, max_passes=4)
    monkeypatch.setattr(staffing, "separable", lambda scenario, groups: False)
    apart = find_staffing(two_teams, TARGET, workers=1, replications=3, max_passes=4)
    for g in ("team", "after"):
        np.testing.assert_array_equal(together.headcount[g], apart.headcount[g])
    assert together.missed(together.evaluation) == 0
    assert together.partial_runs < apart.partial_runs


#: TWO with the aftersale team's replies taking 40 s: its first responses are never within 30 s.
TWO_SLOW = {**TWO, "name": "two_teams_slow", "groups": {**TWO["groups"], "after": {
    **TWO["groups"]["after"], "reply_time": {"dist": "deterministic", "value": "40s"}}}}


@pytest.mark.parametrize("method", ["partial", "full"])
def test_cells_no_staffing_reaches_keep_their_start_and_the_others_meet_the_target(tmp_path,
                                                                                   method):
    path = tmp_path / "two_slow.yaml"
    path.write_text(yaml.safe_dump(TWO_SLOW, sort_keys=False))
    scenario = load_scenario(path)
    result = find_staffing(scenario, TARGET, workers=1, replications=3, max_agents=30,
                           method=method)
    after = result.groups.index("after")
    n = len(result.edges_s) - 1
    # Every counted cell of the slow team is named, and keeps its starting count.
    assert result.unreachable_cells() == [(after, i) for i in range(n)]
    np.testing.assert_array_equal(result.headcount["after"], result.initial["after"])
    # The other team is staffed to the target everywhere: nothing else is missing.
    assert result.missing_cells() == []
    assert result.counted[0].all() and result.evaluation.holds(result.target)[0].all()
    table = result.table()
    assert (table["reachable"] == (table["group"] == "team")).all()
    note = next(n for n in result.notes if "cannot meet the target" in n)
    assert f"{n} counted interval(s)" in note and "(team:" not in note
    # The claim itself, on runs of their own: with the cap in every interval the slow team
    # is no nearer the target.
    ample = evaluator(result, result.seed, 3)
    with ample:
        state = ample({"team": result.headcount["team"], "after": np.full(n, 30)})
    assert not state.holds(result.target)[after].any()


def test_bulk_rounds_take_the_surplus_off_without_breaking_a_cell():
    # From a generous schedule, every round lowers each cell with room by one agent and gives
    # back the agents of a cell that broke (and of its group's cells just before it): the
    # result is never above the start, is lower in most counted cells, and meets the target
    # wherever the start did, on the same replications.
    from sim.tools.staffing import bulk_lower

    context = small_context()
    generous = {"team": SMALL_START + 3}
    counted = np.ones((1, len(SMALL_START)), dtype=bool)
    target = parse_target(TARGET)
    with Evaluator(context, 3) as evaluate:
        lowered, rounds = bulk_lower(evaluate, generous, target, counted, lookahead=2)
        start_holds = evaluate(generous).holds(target)
        after_holds = evaluate(lowered).holds(target)
    assert 1 <= rounds
    assert (lowered["team"] <= generous["team"]).all()
    assert (lowered["team"] < generous["team"]).sum() >= len(SMALL_START) // 2
    assert not (start_holds & ~after_holds).any()


def test_the_final_check_clears_missing_cells_and_keeps_the_cheapest_clean_schedule():
    # polish() ends the partial search on whole-horizon simulations: from a schedule short in
    # most intervals it must reach one meeting the target in every counted interval (checked
    # here by an evaluator of its own), and from a generous one it must take agents off while
    # staying clean.
    from sim.tools.staffing import polish

    context = small_context()
    edges = context.edges_s
    counted = np.ones((1, len(SMALL_START)), dtype=bool)
    target = parse_target(TARGET)
    short = SMALL_START // 2  # misses the target in 6 of the 8 intervals
    with Evaluator(context, 3) as evaluate:
        assert not evaluate({"team": short}).holds(target)[0].all()
        fixed, state, added, _ = polish(evaluate, {"team": short}, target, counted, 2, edges, 50)
        generous = {"team": SMALL_START + 2}
        trimmed, trimmed_state, _, taken = polish(evaluate, generous, target, counted, 2, edges,
                                                  50)
    assert added >= 1
    assert taken >= 1 and trimmed["team"].sum() < generous["team"].sum()
    with Evaluator(small_context(), 3) as check:
        for schedule, reported in ((fixed, state), (trimmed, trimmed_state)):
            again = check(schedule)
            np.testing.assert_array_equal(again.numerator, reported.numerator)
            assert again.holds(target)[0].all()


@pytest.mark.parametrize("group, interval, change", [("team", 3, -2), ("team", 3, 3),
                                                     ("team", 2, 5), ("after", 3, -3),
                                                     ("after", 4, 4)])
def test_a_candidate_with_another_peak_resumes_to_its_full_run(two_teams, group, interval,
                                                               change):
    # Each change moves its team's peak headcount, so the candidate's run has another number
    # of agents, and (for the first team) other ids for the second team's agents, than the
    # desk it resumes from: the resume maps agents by group and slot, record for record.
    edges = rate_table(two_teams).edges_s
    base = {"team": np.array([4, 6, 9, 12, 11, 8, 6, 5]),
            "after": np.array([3, 4, 6, 8, 7, 5, 4, 3])}
    counts = {g: c.copy() for g, c in base.items()}
    counts[group][interval] += change
    assert counts[group].max() != base[group].max()
    current = with_headcounts(two_teams, base, edges)
    candidate = with_headcounts(two_teams, counts, edges)
    assert_resumes_to_full_run(current, candidate, edges, interval)
