"""No private attribute of SimPy is touched anywhere in sim/, tests/ or benchmarks/.

SimPy's public API is `Environment.schedule/run/step/peek/now/process`, `Event`, `Timeout`,
`Process` and the resources; what starts with an underscore (`Environment._queue`, `_eid`,
`_now`, `Event._value`, `_ok`, `_defused`, ...) may change in any release. The names checked
are read from the installed SimPy itself: every attribute with a single leading underscore of
its environments, events and resources, on the classes and on live instances. Code may not
read or write an attribute of that name on any object (`x._queue`, `getattr(x, "_eid")`), nor
import a private name from a `simpy` module.
"""

from __future__ import annotations

import ast
import inspect
from collections import namedtuple
from pathlib import Path

import pytest
import simpy
import simpy.events

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("sim", "tests", "benchmarks")


def _private(names) -> set[str]:
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def simpy_private_names() -> set[str]:
    """Single-underscore attribute names of SimPy's classes and of instances of them."""
    names: set[str] = set()
    for module in (simpy, simpy.events, simpy.core, simpy.resources.base,
                   simpy.resources.resource, simpy.resources.store,
                   simpy.resources.container):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__.startswith("simpy"):
                for klass in cls.__mro__:
                    if klass.__module__.startswith("simpy"):
                        names |= _private(vars(klass))
                        names |= _private(getattr(klass, "__slots__", ()))
    env = simpy.Environment()

    def proc(env):
        yield env.timeout(1)

    live = [env, simpy.Event(env), env.timeout(1), env.process(proc(env)),
            simpy.Resource(env), simpy.Store(env), simpy.Container(env)]
    live.append(live[4].request())
    for obj in live:
        names |= _private(getattr(obj, "__dict__", {}))
    live[1].defused = True  # `_defused` exists only once an event's failure is defused
    names |= _private(vars(live[1]))
    # A namedtuple's own API (`_asdict`, `_replace`, ...) is public, whoever defines one.
    return names - set(dir(namedtuple("Plain", "a"))) - {"_abc_impl"}


PRIVATE = simpy_private_names()


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Every use of a SimPy private name in `source`, as `file:line: what`."""
    tree = ast.parse(source, filename)
    found = []
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE:
            found.append(f"{where}: attribute .{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("getattr", "setattr", "hasattr", "delattr") and \
                len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and \
                node.args[1].value in PRIVATE:
            found.append(f"{where}: {node.func.id}(..., {node.args[1].value!r})")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "simpy":
            if any(part.startswith("_") for part in node.module.split(".")):
                found.append(f"{where}: import from {node.module}")
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"{where}: import {alias.name} from {node.module}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "simpy" and any(p.startswith("_") for p in parts):
                    found.append(f"{where}: import {alias.name}")
    return found


def checked_files() -> list[Path]:
    return sorted(p for top in CHECKED for p in (ROOT / top).rglob("*.py")
                  if ".venv" not in p.parts)


def test_the_private_names_come_from_simpy():
    # The check is only as good as its list: SimPy's calendar and event state are on it.
    assert {"_queue", "_eid", "_now", "_value", "_ok", "_defused", "_delay"} <= PRIVATE


def test_no_simpy_private_attribute_anywhere():
    files = checked_files()
    assert len(files) > 50  # the walk found the code
    found = [v for path in files
             for v in violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == [], "SimPy private names used:\n" + "\n".join(found)


@pytest.mark.parametrize("planted", [
    "env._queue.clear()",
    "now = env._now",
    "x = next(self.env._eid)",
    "event._value = 3",
    "if not event._ok: pass",
    "getattr(event, '_ok', False)",
    "hasattr(event, '_defused')",
    "from simpy.core import _Foo",
    "from simpy.events import _describe_frame",
    "import simpy._private",
])
def test_a_planted_private_use_is_found(planted):
    found = violations(planted, "planted.py")
    assert len(found) == 1 and found[0].startswith("planted.py:1:"), found


def test_public_use_is_not_flagged():
    source = ("import simpy\nfrom simpy.events import NORMAL, URGENT, Timeout\n"
              "env = simpy.Environment()\nenv.schedule(Timeout(env, 1), NORMAL, 0)\n"
              "env.run(until=2)\nprint(env.now, env.peek())\nself._cache = 1\nrow._asdict()\n")
    assert violations(source) == []
