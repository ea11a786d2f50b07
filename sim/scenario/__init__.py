"""Scenarios: YAML read safely, validated once into a typed, immutable `Scenario`, variants
resolved by dotted-path overrides, and the arrival curve the scenario describes."""

from sim.scenario.counts import read_counts_csv
from sim.scenario.curve import RateTable, interval_grid, rate_table
from sim.scenario.errors import ScenarioError
from sim.scenario.loading import load_document, load_scenario, read_mapping, scenario_from_dict
from sim.scenario.model import (
    BASELINE,
    Arrivals,
    Bot,
    Group,
    Horizon,
    Metrics,
    Routing,
    Scenario,
    Schedule,
    Shift,
    Standby,
    Topic,
    Window,
)
from sim.scenario.variants import resolve_variants, set_dotted, variant_document

__all__ = [
    "BASELINE", "Arrivals", "Bot", "Group", "Horizon", "Metrics", "RateTable", "Routing",
    "Scenario", "ScenarioError", "Schedule", "Shift", "Standby", "Topic", "Window",
    "interval_grid", "load_document", "load_scenario", "rate_table", "read_counts_csv",
    "read_mapping", "resolve_variants", "scenario_from_dict", "set_dotted", "variant_document",
]
