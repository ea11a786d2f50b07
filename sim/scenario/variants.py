"""Variants: named sets of dotted-path overrides applied to the baseline document, each validated
exactly as the baseline is."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sim.scenario.checks import check_arrivals, validate
from sim.scenario.errors import ScenarioError
from sim.scenario.model import BASELINE, Scenario

_NAMED_COLLECTIONS = {"groups": "group", "topics": "topic", "reply_time_by_topic": "topic"}


def set_dotted(document: dict, dotted: str, value: Any, source: str) -> None:
    """Set `a.b.c` in a nested dict/list document; every parent must exist."""
    parts = dotted.split(".")
    node: Any = document
    for depth, part in enumerate(parts[:-1]):
        where = ".".join(parts[: depth + 1])
        if isinstance(node, dict) and part in node and isinstance(node[part], (dict, list)):
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part not in node:
            parent = parts[depth - 1] if depth else ""
            if parent in _NAMED_COLLECTIONS:
                known = ", ".join(sorted(node)) or "none"
                raise ScenarioError(
                    f"{source}: {dotted}: there is no {_NAMED_COLLECTIONS[parent]} {part!r} "
                    f"(known: {known}); to add one, set {where} to a whole mapping"
                )
            node[part] = {}  # a section left to its defaults in the baseline
            node = node[part]
        else:
            raise ScenarioError(f"{source}: {dotted}: {where} is not a section that can be set")
    last = parts[-1]
    if isinstance(node, list):
        if not (last.isdigit() and int(last) < len(node)):
            raise ScenarioError(f"{source}: {dotted}: {last} is not an index of the list")
        node[int(last)] = value
    else:
        node[last] = value


def variant_document(document: dict, name: str, source: str, base_dir: Path) -> Scenario:
    """The scenario of variant `name`: the baseline with that variant's overrides applied."""
    if name == BASELINE:
        return validate(document, source, base_dir)
    overrides = document.get("variants", {}).get(name)
    if overrides is None:
        raise ScenarioError(f"{source}: no variant named {name!r}")
    if not isinstance(overrides, dict):
        raise ScenarioError(f"{source}: variants.{name}: expected a mapping of dotted paths")
    derived = copy.deepcopy({k: v for k, v in document.items() if k != "variants"})
    for dotted, value in overrides.items():
        if not isinstance(dotted, str) or dotted.split(".")[0] in ("variants", "name"):
            raise ScenarioError(f"{source}: variants.{name}: {dotted!r} cannot be overridden")
        if dotted.split(".")[0] == "targets":
            raise ScenarioError(f"{source}: variants.{name}: {dotted!r}: targets judge every "
                                "variant alike; set them at the top level")
        set_dotted(derived, dotted, copy.deepcopy(value), f"{source}: variants.{name}")
    prefix = f"variants.{name} -> "
    scenario = validate(derived, source, base_dir, prefix=prefix)
    check_arrivals(scenario, source, prefix)
    return scenario


def resolve_variants(
    scenario: Scenario, source: str = "<scenario>", base_dir: Path | None = None
) -> dict[str, Scenario]:
    """Every variant of a scenario as a full scenario, baseline first."""
    document = scenario.model_dump(mode="json", by_alias=True)
    base_dir = base_dir or Path.cwd()
    return {
        name: variant_document(document, name, source, base_dir) for name in scenario.variant_names
    }
