"""Tests for sim.lint: scenario warnings for settings that are legal but almost certainly
mistakes, each naming the file and the field, silenced per scenario or on the command line,
and none for the bundled scenarios."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from conftest import MINIMAL

from sim.cli import main as main_entry
from sim.lint import scenario_warnings
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]


def minimal() -> dict:
    document = yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))
    document["variants"] = {}
    return document


def two_groups() -> dict:
    """The minimal desk split into a pre-sale and an after-sale team."""
    document = minimal()
    team = document["groups"].pop("team")
    document["groups"] = {"sales": {**team, "skills": ["presale"]},
                          "service": {**team, "skills": ["aftersale"]}}
    return document


def codes(document: dict, source: str = "shop.yaml") -> list[tuple[str, str]]:
    return [(w.code, w.field) for w in scenario_warnings(scenario_from_dict(document), source)]


def test_the_minimal_scenario_has_no_warning():
    assert codes(minimal()) == []


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_no_bundled_scenario_or_variant_raises_a_warning(path):
    assert scenario_warnings(load_scenario(path), str(path)) == []


def test_a_group_never_on_duty_is_named():
    document = two_groups()
    document["groups"]["service"]["schedule"] = {"headcount": {"00:00": 0, "23:00": 3}}
    warnings = scenario_warnings(scenario_from_dict(document), "shop.yaml")
    assert [(w.code, w.field) for w in warnings] == [("unstaffed_group",
                                                      "groups.service.schedule")]
    text = str(warnings[0])
    assert text.startswith("shop.yaml: groups.service.schedule: no agent of service is on duty")
    assert "aftersale" in text and "warnings: {ignore: [unstaffed_group]}" in text


def test_a_group_with_a_standby_pool_or_a_shift_inside_the_horizon_is_fine():
    document = two_groups()
    document["groups"]["service"]["schedule"] = {"headcount": {"00:00": 0}}
    document["groups"]["service"]["standby"] = {"oldest_wait": "2min", "cap": 2}
    assert codes(document) == []
    document = two_groups()
    document["groups"]["service"]["schedule"] = {"shifts": [
        {"start": "11:00", "length": "8h", "agents": 1}]}
    assert codes(document) == []


def test_a_concurrency_that_never_binds_is_named():
    document = minimal()
    document["groups"]["team"]["concurrency"] = 50   # a typo for 5
    assert codes(document) == [("idle_concurrency", "groups.team.concurrency")]
    # The same desk with its real cap, and one twice as large, raise nothing.
    for cap in (4, 8):
        document["groups"]["team"]["concurrency"] = cap
        assert codes(document) == []


def test_a_phone_only_group_with_chat_windows_is_named():
    document = minimal()
    for topic in document["topics"].values():
        topic["channel"] = "phone"
    assert codes(document) == [("idle_concurrency", "groups.team.concurrency")]
    document["groups"]["team"]["concurrency"] = 1
    assert codes(document) == []


def test_a_patience_shorter_than_the_bots_handover_is_named():
    document = minimal()
    # The bot hands over after 30 s of handling (mean) + 5 s: a 20 s patience ran out already.
    document["topics"]["presale"]["patience"] = {"dist": "exponential", "mean": "20s"}
    warnings = scenario_warnings(scenario_from_dict(document), "shop.yaml")
    assert [(w.code, w.field) for w in warnings] == [("patience_before_handover",
                                                      "topics.presale.patience")]
    assert "20s" in warnings[0].message and "35s" in warnings[0].message
    # Without the bot, or with a patience longer than the hand-over, nothing to say.
    assert codes({**document, "bot": {"enabled": False}}) == []
    document["topics"]["presale"]["patience"] = {"dist": "exponential", "mean": "40s"}
    assert codes(document) == []


def test_warnings_are_silenced_by_code_and_an_unknown_code_is_refused():
    document = minimal()
    document["groups"]["team"]["concurrency"] = 50
    document["warnings"] = {"ignore": ["idle_concurrency"]}
    assert codes(document) == []
    document["warnings"] = {"ignore": ["idle_concurency"]}
    with pytest.raises(ScenarioError, match="warnings.ignore.0"):
        scenario_from_dict(document)


def test_a_variant_is_checked_and_a_shared_warning_given_once():
    document = two_groups()
    document["variants"] = {
        "no_service": {"groups.service.schedule.headcount": {"00:00": 0}},
        "wide": {"groups.sales.concurrency": 50},
    }
    assert codes(document) == [
        ("unstaffed_group", "variants.no_service -> groups.service.schedule"),
        ("idle_concurrency", "variants.wide -> groups.sales.concurrency")]
    document["groups"]["sales"]["concurrency"] = 50   # now the baseline has it: said once
    found = codes(document)
    assert found.count(("idle_concurrency", "groups.sales.concurrency")) == 1
    assert not any(field.startswith("variants.wide") for _, field in found)


def test_the_command_line_prints_warnings_on_stderr_and_no_warnings_hides_them(tmp_path,
                                                                               capsys):
    document = copy.deepcopy(minimal())
    document["groups"]["team"]["concurrency"] = 50
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    args = ["run", str(path), "--replications", "2", "--out", str(tmp_path / "out"), "--quiet",
            "--no-report"]
    assert main_entry(args) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith(f"warning: {path}: groups.team.concurrency: concurrency 50")
    assert "warning" not in captured.out
    assert main_entry([*args, "--no-warnings"]) == 0
    assert "warning" not in capsys.readouterr().err
