"""Tests for `supportsim staff`: target grammar, per-interval metrics, and the search itself.

The search tests use a four-hour single-group desk. Statistical checks compare a fresh set of
replications with the search's own, with tolerances from t-intervals (see each test).
"""

import datetime as dt
import math
import os

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
    return find_staffing(load_scenario(small_path), TARGET, workers=1)


def evaluator(result, seed: int, replications: int) -> Evaluator:
    scenario = result.scenario
    context = _Context(scenario, result.target, result.groups,
                       {g: group_topics(scenario, g) for g in result.groups}, result.edges_s,
                       seed)
    return Evaluator(context, replications)


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


def test_cli_writes_a_schedule_that_run_accepts(small_path, tmp_path, capsys):
    out = tmp_path / "staffing"
    code = main_entry(["staff", str(small_path), "--target", "reply_rate_5min>=0.95", "--out",
                       str(out), "--replications", "3", "--workers", "1", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "SIPP (Erlang C)" in printed and "agent-hours" in printed
    staffed = load_scenario(out / "staffed.yaml")
    table = staffed.groups["team"].schedule.headcount
    assert list(table) == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert (out / "staffing.png").read_bytes().startswith(b"\x89PNG")
    assert "interval_start_s" in (out / "staffing.csv").read_text().splitlines()[0]
    code = main_entry(["run", str(out / "staffed.yaml"), "--replications", "2", "--out",
                       str(tmp_path / "run"), "--quiet"])
    assert code == 0


def test_progress_bars_keep_their_totals(small_path, monkeypatch):
    # One bar per pass, sized by the counted cells: a search that settles early never shows
    # a total that changes under the user (it used to shrink from passes x cells to cells).
    from sim.tools import staffing

    bars = []

    class Recorder(staffing.tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = False
            kwargs["file"] = open(os.devnull, "w")  # noqa: SIM115 - closed with the bar
            self.totals = []
            super().__init__(*args, **kwargs)
            self.totals.append(self.total)
            bars.append(self)

        def refresh(self, *args, **kwargs):
            self.totals.append(self.total)
            return super().refresh(*args, **kwargs)

    monkeypatch.setattr(staffing, "tqdm", Recorder)
    result = find_staffing(load_scenario(small_path), TARGET, workers=1, replications=2,
                           progress=True)
    cells = int(result.counted.sum())
    assert bars, "the search showed no progress"
    for bar in bars:
        assert set(bar.totals) == {cells}
        assert bar.n == bar.total
