"""Checks of the arguments the Python API's entry points take (`sim.simulate`, `sim.run`,
`sim.resume`, `sim.whatif`): a wrong kind of value is refused at the door with a
`ScenarioError` naming the argument, not met later as an error from deep inside."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from pathlib import Path

from sim.scenario.errors import ScenarioError
from sim.scenario.model import Scenario


def require_scenario(value: object, where: str) -> Scenario:
    """`value` if it is a loaded scenario; a path or a dict gets the call that makes one."""
    if isinstance(value, Scenario):
        return value
    if isinstance(value, str | Path):
        hint = f"load it first: sim.load_scenario({str(value)!r})"
    elif isinstance(value, dict):
        hint = "build it first: sim.scenario.scenario_from_dict(document)"
    else:
        hint = "load one with sim.load_scenario(path)"
    raise ScenarioError(f"{where}: expected a Scenario, got {type(value).__name__} {value!r:.60}; "
                        f"{hint}")


def whole_number(value: object, name: str, least: int, where: str) -> int:
    """`value` as an int if it is a whole number >= `least` (True and 2.5 are not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ScenarioError(f"{where}: {name} must be a whole number >= {least}, got {value!r}")
    return int(value)


def replications_argument(value: object, where: str, auto: bool = False) -> int | str | None:
    """None (the scenario's count), a whole number >= 1, or, where allowed, "auto"."""
    if value is None or (auto and value == "auto"):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ScenarioError(f"{where}: replications must be a whole number >= 1"
                            f"{' or ' + repr('auto') if auto else ''}, got {value!r}")
    return int(value)


def names_argument(value: object, name: str, where: str) -> list[str] | None:
    """None, or a list of names; one name alone is a list of its letters to Python, so it is
    refused with the list to write instead."""
    if value is None:
        return None
    if isinstance(value, str):
        raise ScenarioError(f"{where}: {name} takes a list of names, got the text {value!r} "
                            f"(write [{value!r}])")
    if not isinstance(value, Iterable):
        raise ScenarioError(f"{where}: {name} takes a list of names, got {value!r}")
    names = list(value)  # once: a generator is read only once
    if not all(isinstance(v, str) for v in names):
        raise ScenarioError(f"{where}: {name} takes a list of names, got {names!r}")
    return names


def processes_argument(value: object, where: str) -> list:
    """A list of process functions `fn(env, desk)`; a function alone is named as such."""
    if callable(value):
        raise ScenarioError(f"{where}: processes takes a list of functions, got one function "
                            f"(write processes=[{getattr(value, '__name__', 'fn')}])")
    functions = list(value) if isinstance(value, Iterable) else None  # a generator: once
    if functions is None or not all(callable(p) for p in functions):
        raise ScenarioError(f"{where}: processes takes a list of functions fn(env, desk), got "
                            f"{value!r:.60}")
    return functions
