"""Tests for sim.analysis.targets: the one target grammar, the bounds a metric can take, the
met / missed / undecided rule on an interval, and targets in a scenario and on the command
line."""

from __future__ import annotations

import copy
import math

import pytest
import yaml
from conftest import MINIMAL

from sim.analysis.targets import (
    MET,
    MISSED,
    NO_DATA,
    UNDECIDED,
    Target,
    TargetError,
    merge,
    parse_target,
    parse_targets,
    scenario_targets,
)
from sim.cli import main as main_entry
from sim.experiment import run
from sim.scenario import ScenarioError, scenario_from_dict


def minimal() -> dict:
    return yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))


@pytest.mark.parametrize("text, metric, op, value", [
    ("reply_rate_5min>=0.95", "reply_rate_5min", ">=", 0.95),
    ("reply_rate_5min_allday >= 95%", "reply_rate_5min_allday", ">=", 0.95),
    ("cost<=30000", "cost", "<=", 30000.0),
    ("first_response_p90_s <= 60", "first_response_p90_s", "<=", 60.0),
    ("open_at_end<=0", "open_at_end", "<=", 0.0),
    ("occupancy<=0.85", "occupancy", "<=", 0.85),     # better neither way: either bound
    ("occupancy>=60%", "occupancy", ">=", 0.60),
    ("abandon_rate=<0.05", "abandon_rate", "<=", 0.05),
])
def test_any_registry_metric_can_be_a_target(text, metric, op, value):
    target = parse_target(text)
    assert (target.metric, target.op) == (metric, op)
    assert target.value == pytest.approx(value)


@pytest.mark.parametrize("text, words", [
    ("reply_rate_5min>=1.5", "outside [0, 1]"),
    ("reply_rate_5min>=150%", "outside [0, 1]"),
    ("cost<=-1", "never below 0"),
    ("first_response_mean_s<=0", "positive number of seconds"),
    ("abandon_rate>=0.05", "better when lower"),
    ("cost>=100", "better when lower"),
    ("reply_rate_5min>0.95", "use >= or <="),
    ("reply_rate_5mins>=0.9", "did you mean 'reply_rate_5min'"),
    ("cost<=10%", "not a percentage"),
    ("0.95<=reply_rate_5min", "cannot read target"),
    ("", "cannot read target"),
])
def test_impossible_or_unreadable_targets_are_refused(text, words):
    with pytest.raises(TargetError, match=words.replace("[", r"\[").replace("]", r"\]")):
        parse_target(text)


def test_a_target_object_is_checked_too():
    with pytest.raises(TargetError, match="better when higher"):
        Target("reply_rate_5min", "<=", 0.9)
    with pytest.raises(TargetError, match="unknown metric"):
        Target("no_such_metric", ">=", 1.0)


@pytest.mark.parametrize("mean, low, high, status", [
    (0.97, 0.955, 0.985, MET),        # the whole interval above 95%
    (0.96, 0.940, 0.975, UNDECIDED),  # straddles
    (0.93, 0.910, 0.945, MISSED),     # the whole interval below
    (0.95, 0.950, 0.960, MET),        # on the line counts as met
    (0.96, math.nan, math.nan, MET),  # no interval (one replication): the estimate decides
    (0.94, math.nan, math.nan, MISSED),
    (math.nan, math.nan, math.nan, NO_DATA),
])
def test_a_lower_bound_is_judged_on_the_interval(mean, low, high, status):
    assert Target("reply_rate_5min", ">=", 0.95).judge(mean, low, high) == status


def test_an_upper_bound_is_judged_on_the_other_end():
    target = Target("first_response_mean_s", "<=", 30.0)
    assert target.judge(25.0, 20.0, 29.0) == MET
    assert target.judge(28.0, 24.0, 33.0) == UNDECIDED
    assert target.judge(35.0, 31.0, 40.0) == MISSED


def test_the_command_line_replaces_a_target_of_the_same_metric_and_bound():
    base = [parse_target("reply_rate_5min>=0.95"), parse_target("cost<=30000")]
    merged = merge(base, parse_targets(["reply_rate_5min>=0.9", "abandon_rate<=0.05"]))
    assert [str(t) for t in merged] == ["cost<=30000", "reply_rate_5min>=0.9",
                                        "abandon_rate<=0.05"]
    with pytest.raises(TargetError, match="--target: cannot read target"):
        parse_targets(["reply_rate_5min"])


def test_scenario_targets_are_read_and_name_their_field():
    document = minimal()
    document["targets"] = ["reply_rate_5min>=0.95", "first_response_mean_s<=30"]
    scenario = scenario_from_dict(document)
    assert [str(t) for t in scenario_targets(scenario)] == ["reply_rate_5min>=0.95",
                                                             "first_response_mean_s<=30"]
    for bad, words in ((["reply_rate_5min>=0.95", "cost>=5"], "targets.1: target 'cost>=5'"),
                       (["occupancy_nobody<=0.8"], "targets.0: 'occupancy_nobody' is not"),
                       (["cost<=5", "cost<=6"], "targets.1: cost <= is bounded twice")):
        document["targets"] = bad
        with pytest.raises(ScenarioError, match=words):
            scenario_targets(scenario_from_dict(document), "shop.yaml")


def test_a_run_refuses_a_bad_target_before_simulating(monkeypatch):
    import sim.experiment

    def forbidden(*args, **kwargs):
        raise AssertionError("simulated despite a bad target")

    monkeypatch.setattr(sim.experiment, "_replicate", forbidden)
    document = minimal()
    document["targets"] = ["reply_rate_5min>=2"]
    with pytest.raises(ScenarioError, match="my.yaml: targets.0: .*outside"):
        run(scenario_from_dict(document), source="my.yaml")
    with pytest.raises(TargetError):
        run(scenario_from_dict(minimal()), targets=["cost>=1"])


def test_a_variant_cannot_change_the_targets():
    document = minimal()
    document["variants"] = {"easy": {"targets": ["reply_rate_5min>=0.5"]}}
    with pytest.raises(ScenarioError, match="variants.easy: 'targets': targets judge every "
                                            "variant alike"):
        scenario_from_dict(document)


def test_a_bad_command_line_target_exits_2(capsys, tmp_path):
    code = main_entry(["run", str(MINIMAL), "--target", "reply_rate_5min>=120%", "--out",
                       str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --target: target 'reply_rate_5min>=120%'")
    assert "outside [0, 1]" in err and not (tmp_path / "out").exists()


def test_results_carry_the_scenario_and_command_line_targets():
    document = copy.deepcopy(minimal())
    document["targets"] = ["reply_rate_5min>=0.95", "cost<=1000"]
    document["variants"] = {}
    results = run(scenario_from_dict(document), replications=2,
                  targets=["reply_rate_5min>=0.9", Target("abandon_rate", "<=", 0.1)])
    assert [str(t) for t in results.targets] == ["cost<=1000", "reply_rate_5min>=0.9",
                                                 "abandon_rate<=0.1"]
