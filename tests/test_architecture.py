"""The package's shape: imports point one way along scenario -> engine -> analysis -> experiment
-> tools -> output, with no cycle, and only `sim/cli/` knows the command line.

The graph is read from the source with `ast` (every import, including those inside functions,
since a lazy import is how a cycle hides), not by importing anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"


def module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SIM.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path) -> set[str]:
    """Every module of `sim` (or other top-level package) that the file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and _is_type_checking(node) for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return found


GRAPH = {name: {m for m in imports_of(path) if m in MODULES and m != name}
         for name, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_graph_reader_sees_imports_inside_functions_and_finds_cycles():
    assert "sim.scenario.curve" in GRAPH["sim.scenario.checks"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_sim():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH))


def test_only_the_cli_imports_the_cli():
    offenders = sorted(name for name, deps in GRAPH.items()
                       if not name.startswith("sim.cli")
                       and any(d == "sim.cli" or d.startswith("sim.cli.") for d in deps))
    assert offenders == []


def test_only_the_cli_knows_argparse_and_exit_codes():
    offenders = sorted(name for name, path in MODULES.items()
                       if not name.startswith("sim.cli")
                       and ("argparse" in imports_of(path)
                            or "sys.exit(" in path.read_text(encoding="utf-8")))
    assert offenders == []


def _reaches(prefixes: tuple[str, ...]):
    return lambda dep: any(dep == p or dep.startswith(p + ".") for p in prefixes)


# What each layer may not import: everything downstream of it in the data flow.
DOWNSTREAM = {
    "sim.scenario": ("sim.arrivals", "sim.agents", "sim.policies", "sim.engine", "sim.analysis",
                     "sim.experiment", "sim.parallel", "sim.tools", "sim.output", "sim.cli",
                     "sim.chatlog"),
    "sim.engine": ("sim.analysis", "sim.experiment", "sim.parallel", "sim.tools", "sim.output",
                   "sim.cli", "sim.chatlog"),
    # Scenario warnings read schedules (sim.agents), not runs.
    "sim.lint": ("sim.engine", "sim.analysis", "sim.experiment", "sim.parallel", "sim.tools",
                 "sim.output", "sim.cli", "simpy", "sim.chatlog"),
    "sim.analysis": ("sim.engine.desk", "sim.experiment", "sim.parallel", "sim.tools",
                     "sim.output", "sim.cli", "simpy", "sim.chatlog"),
    # A chat log is input, read into the records the metrics read: it never simulates.
    "sim.chatlog": ("sim.engine.desk", "sim.experiment", "sim.parallel", "sim.tools",
                    "sim.output", "sim.cli", "simpy"),
    "sim.experiment": ("sim.tools", "sim.output.plots", "sim.output.report", "sim.cli"),
    "sim.tools": ("sim.cli",),
    "sim.output": ("sim.engine", "sim.tools", "sim.parallel", "sim.cli", "simpy"),
}


@pytest.mark.parametrize("layer", sorted(DOWNSTREAM))
def test_imports_point_downstream_only(layer):
    banned = _reaches(DOWNSTREAM[layer])
    offenders = sorted(
        f"{name} imports {dep}"
        for name, path in MODULES.items()
        if name == layer or name.startswith(layer + ".")
        for dep in imports_of(path) if banned(dep)
    )
    assert offenders == []


def test_the_engine_and_the_analysis_do_not_meet_matplotlib():
    offenders = sorted(name for name, path in MODULES.items()
                       if name.startswith(("sim.engine", "sim.analysis", "sim.scenario"))
                       and any(d.startswith("matplotlib") for d in imports_of(path)))
    assert offenders == []
