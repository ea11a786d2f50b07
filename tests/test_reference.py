"""The scenario reference page is generated from the model and must list every field."""

import re
from pathlib import Path

from sim.scenario import reference

PAGE = Path(__file__).resolve().parents[1] / "docs" / "scenario-reference.md"


def test_page_lists_every_model_field():
    listed = set(re.findall(r"<!-- (\w+\.\w+) -->", PAGE.read_text(encoding="utf-8")))
    missing = reference.field_paths() - listed
    assert not missing, f"docs/scenario-reference.md lacks {sorted(missing)}; regenerate it"


def test_page_is_current():
    assert PAGE.read_text(encoding="utf-8") == reference.render(), (
        "docs/scenario-reference.md is stale: run `python -m sim.scenario.reference > "
        "docs/scenario-reference.md`"
    )


def test_field_paths_cover_nested_models():
    paths = reference.field_paths()
    for expected in ("Scenario.variants", "Standby.activation_delay", "Break.after",
                     "JDRule.session_gap", "LogNormal.cv", "MixChange.start"):
        assert expected in paths
