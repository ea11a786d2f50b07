"""The scenario reference, generated from the typed scenario model so it cannot drift.

`python -m sim.scenario.reference > docs/scenario-reference.md` rewrites the page; a test fails when the
committed page differs from what the model says.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from sim.scenario import distributions as dists
from sim.scenario import model

UNITS = {
    "Seconds": "duration ('30s', '5min', '1h' or seconds)",
    "ClockTime": "clock time ('08:00' or 'YYYY-MM-DD HH:MM')",
}

INTRO = """# Scenario reference

Every field a scenario file may contain, generated from the typed model in `sim/scenario/model.py`
(`python -m sim.scenario.reference > docs/scenario-reference.md`; a test keeps this page in step with the
model). Unknown keys are errors. Durations accept `30s`, `5min`, `1h`, `1h30min` or a number of
seconds; clock times `HH:MM` (on day 0, or every day for daily things) or `YYYY-MM-DD HH:MM`.
A distribution is a mapping with a `dist` key; see [Distributions](#distributions).
"""


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        for item in extra:
            validator = getattr(item, "func", None)
            if validator is not None and getattr(validator, "__name__", "") == "parse_duration":
                return UNITS["Seconds"]
            if getattr(validator, "__qualname__", "").startswith("ClockTime"):
                return UNITS["ClockTime"]
        name = _type_name(base)
        bounds = _bounds(extra)
        return f"{name} ({bounds})" if bounds else name
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if _is_distribution(args):
            text = "distribution"
        else:
            text = " or ".join(_type_name(a) for a in args)
        return f"{text}, optional" if type(None) in get_args(annotation) else text
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(annotation))
    if origin in (list, tuple):
        (inner, *_) = get_args(annotation) or (Any,)
        return f"list of {_type_name(inner)}"
    if origin is dict:
        key, value = get_args(annotation)
        return f"mapping {_type_name(key)} -> {_type_name(value)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    if annotation is model.ClockTime:
        return UNITS["ClockTime"]
    return getattr(annotation, "__name__", str(annotation))


def _is_distribution(args) -> bool:
    return all(isinstance(a, type) and issubclass(a, dists._Dist) for a in args) and len(args) > 1


def _annotation(cls: type[BaseModel], name: str) -> Any:
    hints = typing.get_type_hints(cls, include_extras=True)
    return hints[name]


_MARKS = {
    "gt": ">",
    "ge": ">=",
    "lt": "<",
    "le": "<=",
    "min_length": "min length",
    "max_length": "max length",
}


def _bounds(metadata) -> str:
    """Readable constraints ('>= 0, <= 1') from pydantic/annotated-types metadata."""
    parts = []
    for meta in metadata:
        inner = getattr(meta, "metadata", None)
        if isinstance(inner, list):  # a FieldInfo nested in Annotated
            parts.append(_bounds(inner))
            continue
        for attr, mark in _MARKS.items():
            value = getattr(meta, attr, None)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                parts.append(f"{mark} {value:g}")
    return ", ".join(p for p in parts if p)


def _default(field) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        return "`" + repr(field.default_factory()) + "`"
    value = field.default
    if value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return "see section"
    return f"`{value}`" if value is not None else "none"


def models() -> list[type[BaseModel]]:
    """Every model reachable from `Scenario`, in a reading order."""
    seen: list[type[BaseModel]] = []

    def visit(cls):
        if cls in seen:
            return
        seen.append(cls)
        for name in cls.model_fields:
            for inner in _models_in(_annotation(cls, name)):
                visit(inner)

    visit(model.Scenario)
    return [m for m in seen if not issubclass(m, dists._Dist)]


def _models_in(annotation) -> list[type[BaseModel]]:
    found = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in get_args(annotation):
        found += _models_in(arg)
    return found


def field_paths() -> set[str]:
    """`Model.field` for every field of every scenario model (what the page must list)."""
    paths = {f"{cls.__name__}.{name}" for cls in models() for name in cls.model_fields}
    for cls in _distribution_models():
        paths |= {f"{cls.__name__}.{name}" for name in cls.model_fields}
    return paths


def _distribution_models():
    return [
        dists.Exponential,
        dists.LogNormal,
        dists.Gamma,
        dists.Deterministic,
        dists.Uniform,
        dists.Empirical,
        dists.Geometric,
        dists.Poisson,
    ]


def _section(cls: type[BaseModel]) -> list[str]:
    doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
    lines = [
        f"## {cls.__name__}",
        "",
        doc,
        "",
        "| field | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in cls.model_fields.items():
        key = field.alias or name
        meaning = (field.description or "").replace("|", "\\|")
        annotation = _annotation(cls, name)
        kind = _type_name(annotation)
        if get_origin(annotation) is not Annotated and _bounds(field.metadata):
            kind = f"{kind} ({_bounds(field.metadata)})"
        kind = kind.replace("|", "\\|")
        lines.append(
            f"| `{key}` <!-- {cls.__name__}.{name} --> | {kind} | {_default(field)} | {meaning} |"
        )
    return lines + [""]


def render() -> str:
    lines = [INTRO]
    for cls in models():
        lines += _section(cls)
    lines += [
        "## Distributions",
        "",
        (
            "Durations use the duration units; counts (messages per conversation) use "
            "`geometric`, `poisson`, `deterministic` or `empirical` with whole numbers."
        ),
        "",
    ]
    for cls in _distribution_models():
        lines += _section(cls)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
