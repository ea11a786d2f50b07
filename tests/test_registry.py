"""Tests for sim.analysis.registry: every metric a run reports is declared, nothing unknown is
guessed, verdicts, formats and targets follow the declarations, and docs/metrics.md is in step."""

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.analysis import metrics, registry
from sim.analysis.compare import BETTER, HIGHER, WORSE, paired_differences
from sim.analysis.registry import Metric, UnknownMetric
from sim.analysis.targets import Target, TargetError
from sim.engine import simulate
from sim.output import sweep_plots
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict
from sim.tools import staffing, sweep

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
MINIMAL_DOC = yaml.safe_load((ROOT / "tests" / "data" / "minimal.yaml").read_text())


def reported_names(scenario) -> list[str]:
    """The names `summarize` reports for one replication of `scenario`."""
    records = simulate(scenario, 0)
    activations = dict(zip(records.group_names, map(int, records.activations)))
    return list(metrics.summarize(metrics.Tables.from_records(records), scenario, activations))


# --- every reported metric is declared ----------------------------------------------------------


def test_the_bundled_scenarios_are_found():
    assert len(SCENARIOS) >= 5


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_metric_a_bundled_scenario_reports_is_declared(path):
    scenario = load_scenario(path)
    names = reported_names(scenario)
    for name in names:
        registry.lookup(name)           # raises UnknownMetric for an undeclared name
    # ... and the registry knows exactly which names a run of the scenario reports.
    assert sorted(names) == sorted(registry.metric_names(scenario))
    assert any(registry.lookup(n).family == "occupancy_<group>" for n in names)


def tiny_desk(**metric_settings) -> dict:
    return {
        "name": "tiny",
        "horizon": {"start": "09:00", "end": "10:00", "drain": "20min"},
        "seed": 3,
        "arrivals": {"interval": "1h", "rates_per_hour": [60], "mix": {"presale": 1.0}},
        "topics": {"presale": {"messages": {"dist": "geometric", "mean": 2},
                               "think_time": {"dist": "exponential", "mean": "30s"},
                               "presale": True}},
        "groups": {"售前组": {"skills": ["presale"], "concurrency": 2,
                            "reply_time": {"dist": "exponential", "mean": "20s"},
                            "hourly_cost": 30, "schedule": {"headcount": {"09:00": 2}}}},
        "metrics": metric_settings,
    }


def test_families_follow_the_scenario_percentiles_and_groups():
    scenario = scenario_from_dict(tiny_desk(percentiles=[12.5, 99.9, 1]))
    names = reported_names(scenario)
    assert sorted(names) == sorted(registry.metric_names(scenario))
    for name in ("first_response_p12.5_s", "message_wait_p99.9_s", "message_wait_p1_s",
                 "occupancy_售前组"):
        assert name in names
    assert "first_response_p90_s" not in names
    p1 = registry.lookup("message_wait_p1_s")
    assert (p1.unit, p1.better, p1.family) == ("seconds", "lower", "message_wait_p<q>_s")
    assert p1.label == "1st pct message wait"
    assert registry.label("first_response_p12.5_s") == "12.5th pct first response"
    assert registry.label("occupancy_售前组") == "occupancy of 售前组"
    assert registry.lookup("occupancy_售前组").unit == "share"


@pytest.mark.parametrize("name", [
    "reply_rate_5mins", "occupancy_", "first_response_p_s", "first_response_p100_s",
    "first_response_p90.0_s", "message_wait_px_s", "", "variant", "replication", "cost_s",
])
def test_unknown_names_raise_a_clear_key_error(name):
    with pytest.raises(KeyError, match="unknown metric") as caught:
        registry.lookup(name)
    assert isinstance(caught.value, UnknownMetric)
    assert "occupancy_<group>" in str(caught.value)      # the families are named
    assert not registry.is_metric(name)
    with pytest.raises(UnknownMetric):
        registry.label(name)
    with pytest.raises(UnknownMetric):
        registry.direction(name)
    with pytest.raises(UnknownMetric):
        registry.format_value(name, 0.5)


def test_an_unknown_name_close_to_a_metric_is_pointed_at():
    with pytest.raises(UnknownMetric, match="did you mean 'reply_rate_5min'"):
        registry.lookup("reply_rate_5mins")


def test_no_metric_is_also_a_family_member_and_headline_lists_are_declared():
    for name in registry.METRICS:
        assert all(f.parameter(name) is None for f in registry.FAMILIES.values()), name
    for preset in registry.PRESET_METRICS:
        assert all(registry.is_metric(n) for n in registry.key_metrics(preset))
        assert registry.key_metrics(preset)[0] == registry.headline(preset)
    assert registry.key_metrics("taobao")[:2] == ["taobao_response_rate_3min", "reply_rate_5min"]
    with pytest.raises(KeyError, match="unknown platform preset 'douyin'"):
        registry.key_metrics("douyin")


def test_the_key_table_shows_the_whole_day_rate_and_no_duplicate_30_second_rate():
    # The midnight spike of a sale day lies outside the counted hours: the whole-day rate
    # comes right after the counted one, so the table shows it.
    names = registry.key_metrics("pinduoduo")
    assert names[names.index("reply_rate_5min") + 1] == "reply_rate_5min_allday"
    # Pinduoduo's own answer_rate_30s is there; first_response_30s_rate (the whole-day
    # answer_rate_30s_allday under Pinduoduo's rule) is not.
    assert "answer_rate_30s" in names and "first_response_30s_rate" not in names
    assert "first_response_30s_rate" in registry.key_metrics("jd")
    assert registry.key_metrics("taobao")[2] == "reply_rate_5min_allday"


def test_the_30_second_rates_agree_under_pinduoduos_rule():
    # The equality the table relies on: bot replies not counting, threshold 30 s.
    scenario = load_scenario(ROOT / "scenarios" / "normal_day.yaml")
    assert not scenario.bot.replies_count and scenario.metrics.first_response_threshold == 30
    records = simulate(scenario, 0)
    values = metrics.summarize(metrics.Tables.from_records(records), scenario)
    assert values["first_response_30s_rate"] == values["answer_rate_30s_allday"]
    assert values["answer_rate_30s"] != values["answer_rate_30s_allday"]


def test_labels_name_the_counted_hours_and_money_the_currency():
    document = {**MINIMAL_DOC, "metrics": {"pinduoduo": {"window": {"start": "09:00",
                                                                     "end": "22:00"}},
                                           "currency": "USD"}}
    scenario = scenario_from_dict(document)
    assert registry.describe("reply_rate_5min", scenario) == \
        "5-min reply rate of buyers, 09:00-22:00"
    assert registry.describe("reply_rate_5min_allday", scenario) == \
        "5-min reply rate of buyers, all day"
    assert registry.describe("taobao_response_rate_3min", scenario).endswith("08:00-24:00")
    assert registry.describe("jd_answer_rate_30s", scenario).endswith(
        "sessions started 09:00-23:00")
    assert registry.describe("first_response_30s_rate", scenario).endswith(", all day")
    assert registry.describe("cost", scenario) == "cost"
    assert registry.unit_label("cost", scenario) == "USD"
    assert registry.unit_label("cost", scenario_from_dict(MINIMAL_DOC)) == "CNY"
    assert registry.unit_label("first_response_mean_s", scenario) == "s"


def test_a_declaration_with_an_unknown_unit_or_direction_is_refused():
    with pytest.raises(ValueError, match="unknown unit 'percent'"):
        Metric("x_rate", "percent", "higher", "x", "x", "flow")
    with pytest.raises(ValueError, match="better must be one of"):
        Metric("x_rate", "share", "up", "x", "x", "flow")
    with pytest.raises(ValueError, match="one line"):
        Metric("x_rate", "share", "higher", "x", "a | b", "flow")


# --- verdicts come from the registry ------------------------------------------------------------


def _pairs(metric: str, differences) -> pd.DataFrame:
    rows = []
    for r, d in enumerate(differences):
        rows.append({"variant": "baseline", "replication": r, metric: 10.0 + r})
        rows.append({"variant": "other", "replication": r, metric: 10.0 + r + d})
    return pd.DataFrame(rows)


def test_verdict_direction_is_the_registry_entry(monkeypatch):
    falling = [-2.0, -2.5, -1.5, -2.0]
    # An unregistered name has no verdict: nothing is guessed from its shape.
    with pytest.raises(UnknownMetric):
        paired_differences(_pairs("wait_penalty_s", falling))
    monkeypatch.setitem(registry.METRICS, "wait_penalty_s", Metric(
        "wait_penalty_s", "seconds", "lower", "wait penalty", "a test metric", "waits"))
    row = paired_differences(_pairs("wait_penalty_s", falling)).iloc[0]
    assert (row["verdict"], row["direction"]) == (BETTER, "lower is better")
    # Registered the other way round, the same numbers are worse; neither way: just lower.
    monkeypatch.setitem(registry.METRICS, "wait_penalty_s", Metric(
        "wait_penalty_s", "seconds", "higher", "wait penalty", "a test metric", "waits"))
    row = paired_differences(_pairs("wait_penalty_s", falling)).iloc[0]
    assert (row["verdict"], row["direction"]) == (WORSE, "higher is better")
    monkeypatch.setitem(registry.METRICS, "wait_penalty_s", Metric(
        "wait_penalty_s", "seconds", "neither", "wait penalty", "a test metric", "waits"))
    rising = paired_differences(_pairs("wait_penalty_s", [-d for d in falling])).iloc[0]
    assert (rising["verdict"], rising["direction"]) == (HIGHER, "neutral")


def test_directions_of_families_and_counts():
    assert registry.direction("message_wait_p99_s") == -1
    assert registry.direction("occupancy_team") == 0
    assert registry.direction("abandoned") == -1
    assert registry.direction("served") == 0
    assert registry.direction("jd_offline_sessions") == -1
    assert registry.better("answer_rate_30s_allday") == "higher"


def test_a_metric_computed_elsewhere_is_declared_with_register(monkeypatch):
    monkeypatch.setattr(registry, "METRICS", dict(registry.METRICS))
    monkeypatch.setattr(registry, "FAMILIES", dict(registry.FAMILIES))
    rising = [2.0, 2.5, 1.5, 2.0]
    with pytest.raises(UnknownMetric):
        paired_differences(_pairs("refund_share", rising))
    entry = Metric("refund_share", "share", "lower", "refund share", "refunds / orders")
    registry.register(entry)
    registry.register(entry)                          # the same declaration again: fine
    row = paired_differences(_pairs("refund_share", rising)).iloc[0]
    assert (row["verdict"], row["direction"]) == (WORSE, "lower is better")
    assert registry.format_value("refund_share", 0.25) == "25.00%"
    with pytest.raises(ValueError, match="already declared differently"):
        registry.register(Metric("refund_share", "share", "higher", "refund share", "other"))
    with pytest.raises(ValueError, match="already declared differently"):
        registry.register(Metric("cost", "money", "higher", "cost", "other"))
    with pytest.raises(ValueError, match="member of family 'occupancy_<group>'"):
        registry.register(Metric("occupancy_night", "share", "lower", "night", "other"))
    assert registry.better("occupancy_night") == "neither"


# --- formats per unit ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric, value, shown, difference", [
    ("reply_rate_5min", 0.95123, "95.12%", "+95.12pp"),
    ("occupancy_售前组", 0.5, "50.00%", "+50.00pp"),
    ("abandon_rate", -0.0123, "-1.23%", "-1.23pp"),
    ("first_response_mean_s", 12.345, "12.3s", "+12.3s"),
    ("message_wait_p95_s", -4.56, "-4.6s", "-4.6s"),
    ("arrived", 1234.4, "1,234", "+1,234"),
    ("arrived", 123.4, "123.40", "+123.40"),
    ("cost", 98765.4, "98,765", "+98,765"),
    ("lost_gmv", 12.5, "12.50", "+12.50"),
    ("agent_hours", 40.0, "40.00", "+40.00"),
    ("conversations_per_agent", 7.25, "7.25", "+7.25"),
])
def test_formats_follow_the_unit(metric, value, shown, difference):
    assert registry.format_value(metric, value) == shown
    assert registry.format_difference(metric, value) == difference


def test_undefined_values_show_as_a_dash_and_short_formats():
    for metric in ("reply_rate_5min", "first_response_mean_s", "cost"):
        assert registry.format_value(metric, math.nan) == "-"
        assert registry.format_difference(metric, math.inf) == "-"
    assert registry.format_short("reply_rate_5min", 0.9567) == "95.7%"
    assert registry.format_short("first_response_mean_s", 12.345) == "12.3s"
    assert registry.format_short("first_response_mean_s", 1234.5) == "1,234s"
    # Money and counts with thousands separators, not 3.07e+04.
    assert registry.format_short("cost", 30712.4) == "30,712"
    assert registry.format_short("lost_orders", 46.512) == "46.5"
    assert registry.unit("first_response_mean_s").axis == "s"
    assert registry.unit("deflection_rate").axis == "%"
    assert registry.is_share("occupancy") and not registry.is_share("cost")


# --- targets ------------------------------------------------------------------------------------


def test_staffing_targets_are_registered_and_take_their_direction_from_the_registry():
    for name in staffing.TARGET_METRICS:
        metric = registry.lookup(name)
        target = staffing.parse_target(f"{name}{metric.bound}0.5")
        assert target.op == metric.bound
        wrong = {">=": "<=", "<=": ">="}[metric.bound]
        with pytest.raises(TargetError, match=f"better when {metric.better}"):
            staffing.parse_target(f"{name}{wrong}0.5")
        with pytest.raises(TargetError, match=f"better when {metric.better}"):
            Target(name, wrong, 0.5)


def test_staffing_refuses_unknown_and_unstaffable_metrics():
    with pytest.raises(TargetError, match="unknown metric 'reply_rate_5mins'"):
        staffing.parse_target("reply_rate_5mins>=0.9")
    # Registered, but the search has no per-interval count of it.
    with pytest.raises(TargetError, match="no per-interval count of cost"):
        staffing.parse_target("cost<=1000")
    with pytest.raises(TargetError, match="in seconds, not a percentage"):
        staffing.parse_target("first_response_mean_s<=20%")


def test_staffing_target_direction_follows_a_changed_registry_entry(monkeypatch):
    monkeypatch.setitem(registry.METRICS, "abandon_rate", Metric(
        "abandon_rate", "share", "higher", "abandonment rate", "a test entry", "flow"))
    assert staffing.parse_target("abandon_rate>=0.5").op == ">="
    with pytest.raises(TargetError, match="better when higher"):
        staffing.parse_target("abandon_rate<=0.05")


@pytest.mark.parametrize("metric, direction", [
    ("reply_rate_5min", "at_least"), ("first_response_mean_s", "at_most"),
    ("cost", "at_most"), ("occupancy_team", None),
])
def test_sweep_target_direction_defaults_to_the_registry(metric, direction):
    if direction is None:
        with pytest.raises(ValueError, match="better neither higher nor lower"):
            sweep.SweepTarget(metric=metric, value=0.8)
        assert sweep.SweepTarget(metric=metric, value=0.8, direction="at_most").holds(0.7)
        return
    target = sweep.SweepTarget(metric=metric, value=10.0)
    assert target.direction == direction
    assert target.holds(5.0) is (direction == "at_most")
    other = {"at_least": "at_most", "at_most": "at_least"}[direction]
    with pytest.raises(ValueError, match="so the target's direction is"):
        sweep.SweepTarget(metric=metric, value=10.0, direction=other)


def test_sweep_spec_with_a_target_against_the_registry_fails_with_the_field(tmp_path):
    (tmp_path / "spec.yaml").write_text(
        "scenario: base.yaml\ngrid: {seed: [1, 2]}\n"
        "target: {metric: abandon_rate, value: 0.05, direction: at_least}\n")
    with pytest.raises(ScenarioError, match=r"spec.yaml: target: abandon_rate is better when "
                                            r"lower, so the target's direction is at_most"):
        sweep.load_spec(tmp_path / "spec.yaml")


def test_sweep_target_region_takes_its_default_direction_from_the_registry():
    rows = [{"agents": a, "cap": c, "variant": "baseline", "metric": "first_response_mean_s",
             "mean": 100.0 / a, "ci_low": 90.0 / a, "ci_high": 110.0 / a, "replications": 3}
            for a in (1, 2, 4) for c in (1, 2)]
    figure = sweep_plots.target_region(pd.DataFrame(rows), "first_response_mean_s", 30.0,
                                       "agents", "cap")
    met = figure.axes[0].collections[-2]
    # Lower is better: the target holds where the mean wait is at most 30 s (4 agents).
    assert {tuple(p) for p in met.get_offsets()} == {(4.0, 1.0), (4.0, 2.0)}


# --- docs/metrics.md ----------------------------------------------------------------------------


def test_docs_metrics_tables_are_generated_from_the_registry():
    text = registry.DOC.read_text(encoding="utf-8")
    assert registry.update_doc(text) == text, (
        "docs/metrics.md is out of step with sim/analysis/registry.py: run "
        "python -m sim.analysis.registry --write docs/metrics.md")
    for entry in registry.ENTRIES:
        name = entry.name if isinstance(entry, Metric) else entry.pattern
        assert f"| `{name}` | {entry.unit} | {entry.better} |" in text


def test_doc_check_notices_drift_and_write_repairs_it(tmp_path, monkeypatch, capsys):
    doc = tmp_path / "metrics.md"
    doc.write_text(registry.DOC.read_text(encoding="utf-8"), encoding="utf-8")
    assert registry.main(["--check", str(doc)]) == 0
    monkeypatch.setitem(registry.METRICS, "cost", Metric(
        "cost", "money", "neither", "cost", "a changed definition", "flow"))
    monkeypatch.setattr(registry, "ENTRIES", tuple(
        registry.METRICS["cost"] if getattr(e, "name", None) == "cost" else e
        for e in registry.ENTRIES))
    assert registry.main(["--check", str(doc)]) == 1
    assert "differ from the registry" in capsys.readouterr().err
    assert registry.main(["--write", str(doc)]) == 0
    assert "| `cost` | money | neither | a changed definition |" in doc.read_text()
    assert registry.main(["--check", str(doc)]) == 0


def test_a_doc_without_the_markers_is_refused(tmp_path):
    with pytest.raises(ValueError, match="metrics table: waits"):
        registry.update_doc(registry.doc_block("platform") + "\n" + registry.doc_block("flow"))
    doc = tmp_path / "bare.md"
    doc.write_text("# Metrics\n")
    assert registry.main(["--write", str(doc)]) == 2
    assert doc.read_text() == "# Metrics\n"
    assert registry.main(["--rewrite", str(doc)]) == 2


def test_printing_the_tables(capsys):
    assert registry.main([]) == 0
    printed = capsys.readouterr().out
    for section in registry.SECTIONS:
        assert registry.doc_block(section) in printed
    assert "| `occupancy_<group>` | share | neither |" in printed
