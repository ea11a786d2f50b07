"""Loading a scenario file: read safely, validate once, pin the files it names, check every
variant."""

from __future__ import annotations

import copy
from pathlib import Path

from sim.scenario.checks import check_arrivals, validate
from sim.scenario.counts import read_counts_csv
from sim.scenario.errors import ScenarioError
from sim.scenario.model import Scenario
from sim.scenario.variants import variant_document
from sim.scenario.yaml_file import read_yaml


def read_mapping(path: Path, what: str = "scenario") -> dict:
    """A YAML file that must hold a mapping at the top level (a scenario, a sweep spec)."""
    document = read_yaml(path)
    if document is None:
        raise ScenarioError(f"{path}: the file is empty")
    if not isinstance(document, dict):
        raise ScenarioError(f"{path}: expected a mapping of {what} fields at the top level")
    return document


def load_document(path: str | Path) -> tuple[dict, Path]:
    """The raw YAML mapping of a scenario file."""
    path = Path(path)
    return read_mapping(path), path


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and return a scenario; every variant is validated too."""
    document, path = load_document(path)
    return scenario_from_dict(document, source=str(path), base_dir=path.parent)


def scenario_from_dict(
    document: dict, source: str = "<scenario>", base_dir: Path | None = None
) -> Scenario:
    """Validate a scenario given as a mapping (as from YAML); checks every variant."""
    base_dir = base_dir or Path.cwd()
    scenario = validate(document, source, base_dir)
    if scenario.arrivals.counts_csv is not None:
        # Read the file now so a bad row fails at load time, and pin its absolute path so the
        # resolved scenario no longer depends on where it was loaded from.
        csv_spec = scenario.arrivals.counts_csv
        try:
            read_counts_csv(csv_spec, base_dir, scenario.arrivals.interval,
                            scenario.horizon.day0)
        except ScenarioError as exc:
            raise ScenarioError(f"{source}: arrivals.counts_csv: {exc}") from None
        document = copy.deepcopy(document)
        document["arrivals"]["counts_csv"]["path"] = str((base_dir / csv_spec.path).resolve())
        scenario = validate(document, source, base_dir)
    check_arrivals(scenario, source)
    for name in scenario.variants:
        variant_document(document, name, source, base_dir)
    return scenario
