"""The code in the documentation runs, so the docs cannot rot.

Conventions for docs/*.md and README.md, by the HTML comment on the line before a fence:

- a ```python block is executed unless marked `<!-- no-test -->` (for examples that take
  minutes; their module's tests cover the same calls). The blocks of one file run in order in
  one namespace, so a later block may use what an earlier one defined;
- a ```bash / ```sh / ```console block marked `<!-- test -->` is executed too: each of its
  lines starting with `supportsim` runs the command line and must exit with 0 (unmarked shell
  blocks are illustrations: installs, long runs);
- any block marked `<!-- file: NAME -->` is written to NAME first, so a page can show a
  scenario file and then run it.

Each page runs in a scratch folder holding links to scenarios/, sweeps/ and data/, so the relative
paths of the examples work and their outputs land in the scratch folder. Python examples run
with at most `MAX_REPLICATIONS` replications per variant (`sim.run` is wrapped): the test
checks that the examples work, not their numbers; the command lines run as written, so pages
keep their marked commands small.
"""

from __future__ import annotations

import re
import shlex
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from conftest import REPO, supportsim

import sim
import sim.experiment

PAGES = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]
MAX_REPLICATIONS = 2
SHELL = {"bash", "sh", "console", "shell"}
NO_TEST, TEST = "<!-- no-test -->", "<!-- test -->"
_FENCE = re.compile(r"^```([\w-]*)\s*$")
_FILE = re.compile(r"^<!-- file: (\S+) -->$")


@dataclass
class Block:
    """A fenced code block of a Markdown page."""

    page: Path
    line: int          # 1-based line of the opening fence
    language: str
    code: str
    mark: str          # the HTML comment on the line before the fence, or ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"

    @property
    def file_name(self) -> str | None:
        match = _FILE.match(self.mark)
        return match.group(1) if match else None

    @property
    def runs(self) -> bool:
        if self.language == "python":
            return self.mark != NO_TEST
        return self.language in SHELL and self.mark == TEST

    def commands(self) -> list[list[str]]:
        """The `supportsim` command lines of a shell block, as argument lists."""
        found = []
        for line in self.code.splitlines():
            line = line.strip().removeprefix("$ ")
            for prefix in ("supportsim ", ".venv/bin/supportsim "):
                if line.startswith(prefix):
                    found.append(shlex.split(line.removeprefix(prefix), comments=True))
        return found


def blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found, index = [], 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        end = next((j for j in range(index + 1, len(lines)) if lines[j].startswith("```")),
                   len(lines))
        previous = next((lines[j].strip() for j in range(index - 1, -1, -1)
                         if lines[j].strip()), "")
        found.append(Block(page, index + 1, match.group(1).lower(),
                           "\n".join(lines[index + 1:end]) + "\n",
                           previous if previous.startswith("<!--") else ""))
        index = end + 1
    return found


def runnable(page: Path) -> bool:
    return any(block.runs for block in blocks(page))


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    for name in ("scenarios", "sweeps", "data"):
        if (REPO / name).is_dir():
            (tmp_path / name).symlink_to(REPO / name, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def small_runs(monkeypatch):
    """`sim.run` capped at `MAX_REPLICATIONS` per variant (`replications="auto"` too)."""
    real_run = sim.experiment.run

    def run(scenario, replications=None, *args, **kwargs):
        if replications == "auto":
            kwargs["max_replications"] = min(kwargs.get("max_replications", 100),
                                             MAX_REPLICATIONS)
        else:
            replications = min(replications or scenario.replications, MAX_REPLICATIONS)
        return real_run(scenario, replications, *args, **kwargs)

    monkeypatch.setattr(sim, "run", run)
    monkeypatch.setattr(sim.experiment, "run", run)


def test_marks_decide_what_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)   # `where` is relative to it
    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent("""\
        ```python
        ran = 1
        ```
        <!-- no-test -->

        ```python
        raise SystemExit
        ```
        ```bash
        supportsim run scenarios/x.yaml
        ```
        <!-- test -->
        ```bash
        $ supportsim run my.yaml --out 'a b'  # note
        make test
        ```
        <!-- file: my.yaml -->
        ```yaml
        name: x
        ```
        """), encoding="utf-8")
    found = blocks(page)
    assert [(b.language, b.runs) for b in found] == [
        ("python", True), ("python", False), ("bash", False), ("bash", True), ("yaml", False)]
    assert found[3].commands() == [["run", "my.yaml", "--out", "a b"]]
    assert found[4].file_name == "my.yaml" and found[4].code == "name: x\n"
    assert found[0].where == "page.md:1"


def test_the_conventions_are_recognised():
    # Guards against a parser that silently finds nothing to run.
    tutorial = blocks(REPO / "docs" / "tutorial.md")
    assert any(b.language == "python" and b.runs for b in tutorial)
    assert any(b.language == "bash" and b.runs and b.commands() for b in tutorial)
    assert any(b.file_name == "my_shop.yaml" for b in tutorial)
    readme = blocks(REPO / "README.md")
    assert any(b.language == "python" and b.runs for b in readme)


@pytest.mark.parametrize("page", [p for p in PAGES if runnable(p)], ids=lambda p: p.name)
def test_page_examples_run(page, scratch, small_runs):
    namespace: dict = {"__name__": "__docs__"}
    try:
        for block in blocks(page):
            if block.file_name:
                (scratch / block.file_name).write_text(block.code, encoding="utf-8")
            if not block.runs:
                continue
            if block.language == "python":
                try:
                    exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102
                except Exception as exc:  # noqa: BLE001 - any failure of an example is reported
                    pytest.fail(f"{block.where}: the example fails: "
                                f"{type(exc).__name__}: {exc}")
            else:
                for args in block.commands():
                    result = supportsim(*args, cwd=scratch, timeout=300)
                    assert result.returncode == 0, (
                        f"{block.where}: supportsim {shlex.join(args)} exited "
                        f"{result.returncode}:\n{result.stderr[-2000:]}")
    finally:
        plt.close("all")   # examples may draw with pyplot; no figure outlives the test
