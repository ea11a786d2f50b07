"""The bundled scenarios: every file validates with all its variants, is described in
scenarios/README.md, and every variant runs one short replication that conserves
conversations and gives sensible numbers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from sim.analysis.metrics import Tables, summarize
from sim.engine import simulate
from sim.scenario import (
    load_document,
    load_scenario,
    rate_table,
    resolve_variants,
    scenario_from_dict,
)
from sim.units import ClockTime, format_clock

SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))
#: The library the docs and notebooks promise (scenarios/README.md describes each).
EXPECTED = {"normal_day", "double11", "618", "double11_3day", "phone_and_chat", "bot_heavy",
            "outsourcing"}
#: Short runs cover at most this much of a scenario's horizon: enough for every shift, spike
#: or bot window to be exercised on the bundled files (they start at midnight or at a sale's
#: eve), small enough for the whole library to run in seconds.
SHORT_S = 12 * 3600.0


def _ids(path: Path) -> str:
    return path.stem


def test_library_is_complete_and_described():
    names = {path.stem for path in SCENARIOS}
    assert EXPECTED <= names, f"missing bundled scenarios: {sorted(EXPECTED - names)}"
    readme = (REPO / "scenarios" / "README.md").read_text(encoding="utf-8")
    undocumented = [path.name for path in SCENARIOS if f"`{path.name}`" not in readme]
    assert not undocumented, f"scenarios/README.md does not describe {undocumented}"


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids)
def test_scenario_and_every_variant_validate(path):
    scenario = load_scenario(path)          # validates the baseline and every variant
    resolved = resolve_variants(scenario, str(path), path.parent)
    assert list(resolved) == scenario.variant_names
    assert len(resolved) >= 2, "a bundled scenario should compare at least one variant"
    assert scenario.description.strip(), "a bundled scenario says what it represents"
    assert scenario.name == path.stem, "the default output folder out/<name>/ matches the file"


def shortened(document: dict) -> dict:
    """The document with its horizon cut to at most `SHORT_S` after the start."""
    horizon = dict(document["horizon"])
    start = ClockTime.parse(horizon["start"])
    end = ClockTime.parse(horizon["end"])
    day0 = start.date
    start_s, end_s = start.seconds(day0), end.seconds(day0)
    if end_s - start_s > SHORT_S:
        # An undated horizon lies within one day, so its cut end is a clock time of that day.
        horizon["end"] = format_clock(start_s + SHORT_S, day0)
    return {**document, "horizon": horizon}


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids)
def test_every_variant_runs_a_short_replication(path):
    document, _ = load_document(path)
    short = scenario_from_dict(shortened(document), source=str(path), base_dir=path.parent)
    variants = resolve_variants(short, str(path), path.parent)
    arrived = {}
    for name, scenario in variants.items():
        records = simulate(scenario, replication=0, seed=short.seed)
        tables = Tables.from_records(records)
        activations = dict(zip(records.group_names, map(int, records.activations)))
        values = summarize(tables, scenario, activations)
        where = f"{path.name} variant {name}"

        # Conservation: every conversation that arrived ended in exactly one way.
        assert values["arrived"] == (values["deflected"] + values["served"]
                                     + values["abandoned"] + values["open_at_end"]), where
        # ... and the outcomes agree with the message records: a served conversation had
        # every one of its customer messages answered by a person.
        conv, msgs = tables.conversations, tables.messages
        human = msgs[~msgs["by_bot"].to_numpy()]
        served = conv.loc[conv["outcome"] == "served", "conversation"].to_numpy()
        answered = human[np.isin(human["conversation"], served)]["reply_s"].notna().sum()
        assert answered == conv.loc[conv["outcome"] == "served", "n_messages"].sum(), where

        # Arrivals match the rate table: Poisson with mean E, times a gamma day factor with
        # CV c when the scenario is over-dispersed, so Var = E + c^2 E^2 (an upper bound when
        # the short horizon spans two days with independent factors). 4.5 standard
        # deviations: a false alarm has probability below 1e-5.
        expected = rate_table(scenario).expected_arrivals
        cv = scenario.arrivals.overdispersion_cv
        sd = math.sqrt(expected + (cv * expected) ** 2)
        assert abs(values["arrived"] - expected) <= 4.5 * sd, (
            f"{where}: {values['arrived']} arrivals, expected {expected:.0f} +- {sd:.0f}")
        arrived[name] = values["arrived"]

        # Numbers in range: rates are shares, occupancy is typing time over time on duty.
        for metric in ("reply_rate_5min_allday", "abandon_rate", "deflection_rate",
                       "taobao_response_rate_3min"):
            assert 0.0 <= values[metric] <= 1.0, f"{where}: {metric} = {values[metric]}"
        assert 0.0 < values["occupancy"] <= 1.0, f"{where}: occupancy {values['occupancy']}"
        assert values["cost"] > 0, where
        if scenario.bot.enabled and any(p > 0 for p in scenario.bot.deflection.values()):
            assert values["deflected"] > 0, f"{where}: the bot settled nothing"

    # Common random numbers: variants that leave the arrivals alone meet the same buyers.
    for name, scenario in variants.items():
        if scenario.arrivals == variants["baseline"].arrivals:
            assert arrived[name] == arrived["baseline"], f"{path.name} variant {name}"
