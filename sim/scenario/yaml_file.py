"""Reading YAML safely: no tags that build objects, no silently overwritten duplicate keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from sim.scenario.errors import ScenarioError


class _SafeLoader(yaml.SafeLoader):
    """The safe loader, refusing duplicate keys (a silent overwrite hides typos) and reading an
    unquoted `10:00` as the clock time it means, not as YAML 1.1's base-60 integer 600."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            # PyYAML's constructors raise plain Python errors for some malformed scalars
            # (an empty '!!int', a bad '!!timestamp', a tag on the wrong kind of node).
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value ({type(exc).__name__}: {str(exc)[:60]})",
                node.start_mark) from None


_SafeLoader.yaml_implicit_resolvers = {
    key: list(value) for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_CLOCK_LIKE = re.compile(r"^[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?$")
for _digit in "0123456789":
    _SafeLoader.yaml_implicit_resolvers.setdefault(_digit, []).insert(
        0, ("tag:yaml.org,2002:str", _CLOCK_LIKE)
    )


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor` merges defaults that the node's own keys may override
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value, not a list or mapping",
                key_node.start_mark) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {str(key)[:40]!r}", key_node.start_mark
            )
        seen.add(key)
    loader.flatten_mapping(node)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


def _construct_int(loader, node):
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:  # e.g. more digits than Python converts
        raise yaml.constructor.ConstructorError(
            None, None, "number too large", node.start_mark) from None


_SafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_SafeLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)



def _deepest_line(text: str, limit: int = 100) -> int:
    """Line where flow brackets first nest deeper than `limit` (for the error message)."""
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        for char in line:
            depth += (char in "[{") - (char in "]}")
            if depth > limit:
                return number
    return 1


def read_text(path: Path) -> str:
    """A UTF-8 text file's contents; a missing or unreadable file is a `ScenarioError`
    naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None


def read_yaml(path: Path) -> Any:
    """Parse a YAML file with the safe loader; errors name the file and the line."""
    text = read_text(path)
    try:
        return yaml.load(text, Loader=_SafeLoader)
    except RecursionError:
        raise ScenarioError(
            f"{path}: not valid YAML (line {_deepest_line(text)}): nesting too deep") from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        # PyYAML's constructors raise plain Python errors for some malformed scalars
        # (an empty '!!int', a bad '!!timestamp', a tag on the wrong kind of node).
        raise ScenarioError(
            f"{path}: not valid YAML: a value cannot be read ({type(exc).__name__}: "
            f"{str(exc)[:80]})") from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "python/" in str(exc) or "could not determine a constructor" in str(exc):
            problem = "tags such as !!python/... are not allowed in scenario files"
        raise ScenarioError(f"{path}: not valid YAML{where}: {problem}") from None
