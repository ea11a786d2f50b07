"""Validating a scenario document: pydantic's errors turned into one line per problem, and the
arrival curve built once so a bad rate table fails at load time."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.scenario.curve import rate_table
from sim.scenario.errors import ScenarioError
from sim.scenario.model import Scenario

_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[\w-]+)+$")


def _printable(part: object) -> str:
    """A path part as it can be quoted on one line (keys may hold line breaks or be huge)."""
    text = str(part)
    if not text or not text.isprintable() or len(text) > 40:
        text = repr(text[:37] + "..." if len(text) > 40 else text)
    return text


def format_errors(source: str, exc: ValidationError, prefix: str = "") -> str:
    """One line per problem: `file: field.path: what is wrong`."""
    lines = []
    for error in exc.errors():
        parts = [_printable(part) for part in error["loc"] if not _is_union_tag(part)]
        message = error["msg"].removeprefix("Value error, ")
        head, sep, rest = message.partition(": ")
        if sep and _DOTTED.match(head):
            # A cross-field check names the path it concerns, relative to where it ran.
            parts.append(head)
            message = rest
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/scenario-reference.md)"
        elif error["type"] == "missing":
            message = "required field is missing"
        path = prefix + ".".join(parts) if parts else (prefix.rstrip(" ->.") or "(top level)")
        if len(message) > 300:
            message = message[:297] + "..."
        lines.append(f"{source}: {path}: {message}")
    return "\n".join(dict.fromkeys(lines))


def _is_union_tag(part) -> bool:
    # Discriminated unions add the tag ('exponential', ...) and pydantic's function names to the
    # location; they say nothing to a scenario author.
    return isinstance(part, str) and (
        part
        in {
            "exponential",
            "lognormal",
            "gamma",
            "deterministic",
            "uniform",
            "empirical",
            "geometric",
            "poisson",
        }
        or part.startswith(("function-", "constrained-", "lax-", "json-or-python"))
        or part in {"int", "float", "str"}
    )


def validate(document: Any, source: str, base_dir: Path, prefix: str = "") -> Scenario:
    try:
        return Scenario.model_validate(document, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ScenarioError(format_errors(source, exc, prefix)) from None



def check_arrivals(scenario: Scenario, source: str, prefix: str = "") -> None:
    """Build the rate table once at load time, so a missing day or a short table fails now
    with the file's name rather than in the middle of a run."""
    try:
        rate_table(scenario)
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: {prefix}{exc}") from None

