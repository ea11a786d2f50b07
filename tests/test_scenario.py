"""Scenario files: what the typed model accepts, what it refuses and how it says so, and
variants as dotted-path overrides."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from conftest import BAD, MINIMAL
from pydantic import ValidationError

from sim.scenario import ScenarioError, load_scenario, resolve_variants, scenario_from_dict

BASE = yaml.safe_load(MINIMAL.read_text())


def load(mutate) -> object:
    document = copy.deepcopy(BASE)
    mutate(document)
    return scenario_from_dict(document, source="scenario.yaml")


def refused(mutate) -> str:
    with pytest.raises(ScenarioError) as info:
        load(mutate)
    message = str(info.value)
    assert message.startswith("scenario.yaml: "), message
    return message


def test_minimal_scenario_loads_with_units_in_seconds():
    scenario = load_scenario(MINIMAL)
    assert scenario.horizon.start_s == 8 * 3600 and scenario.horizon.end_s == 12 * 3600
    assert scenario.horizon.drain == 1800.0
    assert scenario.topics["presale"].think_time.mean == 40.0
    assert scenario.topics["aftersale"].think_time.mean == 60.0
    assert scenario.arrivals.interval == 1800.0
    assert scenario.variant_names == ["baseline", "bigger_team"]


def test_scenario_is_immutable():
    scenario = load_scenario(MINIMAL)
    with pytest.raises(ValidationError):
        scenario.seed = 3
    with pytest.raises(ValidationError):
        scenario.groups["team"].concurrency = 9


@pytest.mark.parametrize("text, seconds", [
    ("90s", 90.0), ("1h30min", 5400.0), ("2h", 7200.0), ("1.5min", 90.0), (45, 45.0),
])
def test_durations_in_fields(text, seconds):
    assert load(lambda d: d["horizon"].update(drain=text)).horizon.drain == seconds


def test_a_multi_day_horizon_with_dates():
    scenario = load(lambda d: d["horizon"].update(start="2026-11-10 20:00",
                                                  end="2026-11-12 00:00"))
    assert scenario.horizon.start_s == 20 * 3600
    assert scenario.horizon.end_s == 2 * 86400
    assert scenario.horizon.days == 2


@pytest.mark.parametrize("mutate, fragments", [
    (lambda d: d["horizon"].update(end="07:00"), ["horizon", "must be after"]),
    (lambda d: d["horizon"].update(start="25:00"), ["horizon.start", "out of range"]),
    (lambda d: d["arrivals"].update(interval="20min"), ["arrivals.interval", "15min"]),
    (lambda d: d["arrivals"].update(daily_volume=100, profile=[1] * 24),
     ["arrivals", "exactly one arrival source"]),
    (lambda d: d["arrivals"].update(mix={"presale": 1, "refund": 1}), ["refund", "not defined"]),
    (lambda d: d["groups"]["team"].update(reply_time={"dist": "exponential", "mean": "20s",
                                                      "cv": 1}),
     ["groups.team.reply_time.cv", "unknown key"]),
    (lambda d: d["groups"]["team"].update(reply_time={"dist": "weibull", "mean": "20s"}),
     ["groups.team.reply_time", "weibull"]),
    (lambda d: d["groups"]["team"]["schedule"].update(
        headcount=None, shifts=[{"start": "08:00", "length": "8h", "agents": 2,
                                 "brakes": [{"after": "4h", "length": "30min"}]}]),
     ["groups.team.schedule.shifts.0.brakes", "unknown key"]),
    (lambda d: d["topics"]["presale"].update(messages={"dist": "exponential", "mean": 3}),
     ["topics.presale.messages", "count"]),
    (lambda d: d["topics"]["presale"].update(messages={"dist": "deterministic", "value": 2.5}),
     ["topics.presale.messages", "whole number"]),
    (lambda d: d["topics"]["presale"].update(messages={"dist": "empirical", "values": ["a"]}),
     ["topics.presale.messages.values.0: 'a' is not a whole number of messages"]),
    (lambda d: d["topics"]["presale"].update(messages={"dist": "empirical", "values": ["3min"]}),
     ["topics.presale.messages.values.0: '3min' is not a whole number of messages"]),
    (lambda d: d["topics"]["presale"].update(messages={"dist": "lognormal", "mean": 4}),
     ["topics.presale.messages: messages is a count"]),
    (lambda d: d["bot"].pop("handling_time"), ["bot.handling_time"]),
    (lambda d: d["groups"]["team"].update(concurrency=0),
     ["groups.team.concurrency", "greater than or equal to 1"]),
    (lambda d: d["topics"]["presale"].update(patience={"dist": "exponential", "mean": "-5min"}),
     ["topics.presale.patience.mean", "greater than 0"]),
])
def test_refusals_name_the_field_and_the_problem(mutate, fragments):
    message = refused(mutate)
    assert "\n" not in message.strip() or message.count("scenario.yaml") > 1
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from {message!r}"


def test_a_topic_left_to_a_bot_with_hours_needs_a_group_outside_those_hours():
    # The bot deflects every 'aftersale' buyer, but only 09:00-11:00; outside those hours the
    # buyers reach people and no group has the skill: the scenario cannot work.
    def mutate(d):
        d["groups"]["team"]["skills"] = ["presale"]
        d["bot"].update(deflection={"presale": 0.3, "aftersale": 1.0},
                        hours=[{"start": "09:00", "end": "11:00"}])
    assert "aftersale" in refused(mutate)


def test_a_topic_left_to_an_all_day_bot_needs_no_group():
    def mutate(d):
        d["groups"]["team"]["skills"] = ["presale"]
        d["bot"].update(deflection={"presale": 0.3, "aftersale": 1.0})
    assert load(mutate).bot.deflection["aftersale"] == 1.0


def test_every_bad_file_is_refused_by_the_loader_too():
    import sim

    for path in BAD.glob("*.yaml"):
        # `sim.load_scenario` is the scenario layer's loader plus the targets' check against
        # the metric registry, which the scenario layer cannot import.
        with pytest.raises(ScenarioError) as info:
            sim.load_scenario(path)
        assert str(path) in str(info.value)
        if not path.name.startswith("target_"):
            with pytest.raises(ScenarioError):
                load_scenario(path)


# --- variants -------------------------------------------------------------------------------------


def test_variants_override_dotted_paths_and_leave_the_baseline_alone():
    def mutate(d):
        d["variants"]["pooled_fast"] = {"routing.mode": "pooled",
                                        "groups.team.reply_time.mean": "10s",
                                        "arrivals.rates_per_hour.16": 500}
    scenario = load(mutate)
    variants = resolve_variants(scenario)
    assert list(variants) == ["baseline", "bigger_team", "pooled_fast"]
    assert variants["baseline"] == scenario
    fast = variants["pooled_fast"]
    assert fast.routing.mode == "pooled" and scenario.routing.mode == "dedicated"
    assert fast.groups["team"].reply_time.mean == 10.0
    assert fast.groups["team"].reply_time.cv == 0.7  # untouched siblings stay
    assert fast.arrivals.rates_per_hour[16] == 500 and scenario.arrivals.rates_per_hour[16] == 120
    assert variants["bigger_team"].groups["team"].schedule.headcount == {"08:00": 7}


@pytest.mark.parametrize("override, fragments", [
    ({"groups.team.concurrency": -1}, ["variants.broken", "groups.team.concurrency"]),
    ({"groups.team.concurency": 3}, ["variants.broken", "groups.team.concurency", "unknown key"]),
    ({"arrivals.rates_per_hour.99": 3}, ["variants.broken", "99"]),
    ({"name": "other"}, ["variants.broken", "cannot be overridden"]),
])
def test_a_broken_variant_is_refused_at_load_naming_the_variant(override, fragments):
    message = refused(lambda d: d["variants"].update(broken=override))
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from {message!r}"


def test_a_group_named_like_a_model_class_keeps_its_name_in_every_error():
    # pydantic names union members after their classes; a group named Chat or Reply (classes
    # of the project) must still be named in the path, and each group's error kept apart.
    document = yaml.safe_load(Path(MINIMAL).read_text(encoding="utf-8"))
    (group,) = document["groups"].values()
    document["groups"] = {"Chat": {**group, "concurrency": 0},
                          "Reply": {**group, "concurrency": [1]}}
    document["routing"] = {**document.get("routing", {}), "mode": "pooled"}
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(document)
    text = str(caught.value)
    assert "groups.Chat.concurrency: Input should be greater than or equal to 1" in text
    assert "groups.Reply.concurrency: Input should be a valid integer" in text
