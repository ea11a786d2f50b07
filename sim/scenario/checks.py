"""Validating a scenario document: pydantic's errors turned into one line per problem, and the
arrival curve built once so a bad rate table fails at load time."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario.curve import rate_table
from sim.scenario.distributions import KINDS
from sim.scenario.errors import ScenarioError
from sim.scenario.model import Scenario

_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[\w-]+)+$")


def _printable(part: object) -> str:
    """A path part as it can be quoted on one line (keys may hold line breaks or be huge)."""
    text = str(part)
    if not text or not text.isprintable() or len(text) > 40:
        text = repr(text[:37] + "..." if len(text) > 40 else text)
    return text


def format_errors(source: str, exc: ValidationError, prefix: str = "",
                  reference: str = "docs/scenario-reference.md") -> str:
    """One line per problem: `file: field.path: what is wrong`; an unknown key points to
    `reference`, the page listing the file's keys."""
    lines = []
    models = _model_names()  # once per report: it walks every loaded model
    for error in _relevant(exc.errors(), models):
        parts = [_printable(part) for part in error["loc"] if not _is_union_tag(part, models)]
        message = error["msg"].removeprefix("Value error, ")
        head, sep, rest = message.partition(": ")
        if sep and _DOTTED.match(head):
            # A cross-field check names the path it concerns, relative to where it ran.
            parts.append(head)
            message = rest
        if error["type"] == "extra_forbidden":
            message = f"unknown key (check the spelling; see {reference})"
        elif error["type"] == "missing":
            message = "required field is missing"
        elif error["type"] == "model_type":
            # "... or instance of LengthRange": the class is pydantic's business, not the file's.
            message = "Input should be a valid dictionary"
        path = prefix + ".".join(parts) if parts else (prefix.rstrip(" ->.") or "(top level)")
        if len(message) > 300:
            message = message[:297] + "..."
        lines.append(f"{source}: {path}: {message}")
    return "\n".join(dict.fromkeys(lines))


#: Errors saying the input is of the wrong kind altogether (a number where a list goes): in a
#: union, the sign of a branch that does not apply rather than of a mistake inside one.
_WRONG_KIND = {
    "model_type": "a mapping", "model_attributes_type": "a mapping", "dict_type": "a mapping",
    "list_type": "a list", "tuple_type": "a list", "set_type": "a list",
    "string_type": "text", "float_type": "a number", "float_parsing": "a number",
    "int_type": "a whole number", "int_parsing": "a whole number",
    "bool_type": "true or false", "bool_parsing": "true or false",
}


def _relevant(errors: list[dict], models: set[str]) -> list[dict]:
    """pydantic's errors with its union branches sorted out.

    A value that fits no member of a union (`list[...] | LengthRange`) gets one error per
    member, each under a location segment naming the member. When the value is of the kind
    some member takes (a list with a bad item), the other members' "should be a valid
    dictionary" say nothing useful and are dropped; when it is of no member's kind (a bare
    number), the members' complaints become one "expected a list or a mapping".
    """
    def wrong_kind_at(error: dict, i: int) -> bool:
        return len(error["loc"]) == i + 1 and error["type"] in _WRONG_KIND

    members = [{i for i, part in enumerate(e["loc"]) if _is_union_tag(part, models)}
               for e in errors]
    kept = []
    for error, at in zip(errors, members):
        loc = error["loc"]
        if not any(
            wrong_kind_at(error, i) and any(
                i in other_at and other["loc"][:i] == loc[:i] and other["loc"][i] != loc[i]
                and not wrong_kind_at(other, i)
                for other, other_at in zip(errors, members))
            for i in at
        ):
            kept.append((error, at))
    # Unions every member of which refused the kind of value: one line per union.
    merged, seen = [], {}
    for error, at in kept:
        i = len(error["loc"]) - 1
        if not (i in at and wrong_kind_at(error, i)):
            merged.append(error)
            continue
        key = tuple(error["loc"][:i])
        if key not in seen:
            seen[key] = {**error, "loc": key, "expected": []}
            merged.append(seen[key])
        kind = _WRONG_KIND[error["type"]]
        if kind not in seen[key]["expected"]:
            seen[key]["expected"].append(kind)
    for error in seen.values():
        if len(error["expected"]) > 1:
            got = repr(error["input"])
            got = got if len(got) <= 40 else got[:37] + "..."
            error["msg"] = f"expected {' or '.join(error['expected'])}, got {got}"
    return merged


#: Tags of the scenario's discriminated unions (the distributions' `dist`), which pydantic puts
#: in the location of an error inside one member.
_TAGS = set(KINDS)
#: Names pydantic gives plain members of a union (`int | str`).
_PLAIN = {"int", "float", "str", "bool"}
#: A composite member: `list[...]`, `dict[...]`, `function-after[...]`, `literal['a']`, ...
_COMPOSITE = re.compile(r"^[a-z][a-z0-9_-]*\[.*\]$", re.DOTALL)


def _is_union_tag(part, models: set[str]) -> bool:
    """Whether a location segment names a member of a union rather than a key or an index
    (`models`: `_model_names()`): it says nothing to a scenario author."""
    return isinstance(part, str) and (
        part in _TAGS
        or part in _PLAIN
        or part.startswith(("function-", "constrained-", "lax-", "json-or-python"))
        or bool(_COMPOSITE.match(part))
        or part in models
    )


def _model_names() -> set[str]:
    """Class names of the project's models that are members of a union in another model's
    field (`list[...] | LengthRange`): pydantic names such a member by its class. Only
    those, so that a group or topic named like some other class (`Chat`) keeps its place."""
    seen, todo = set(), [BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    names = set()
    for model in seen:
        if not model.__module__.startswith("sim."):
            continue
        for info in model.model_fields.values():
            names.update(_union_members(info.annotation))
    return names


def _union_members(annotation, inside: bool = False) -> set[str]:
    """Names of the model classes that stand in a union within `annotation`, at any depth."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    # `X | None` is no union to pydantic (it allows None), so it names no member.
    union = origin in (typing.Union, types.UnionType) and sum(
        a is not type(None) for a in args) > 1
    found = set()
    if inside and isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.add(annotation.__name__)
    for arg in args:
        found |= _union_members(arg, inside or union)
    return found


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

