"""Tests for the set-up (Makefile, scripts/check-python.sh): a Python that is too old stops
`make` with a message naming what was found and how to choose another, and a .venv built by
a wrong Python is removed so that it is rebuilt. Fake interpreters stand in for real ones."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check-python.sh"


def fake_python(folder: Path, name: str, version: str | None) -> Path:
    """An executable `name` that answers the version query like Python `version` (or fails)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    body = f'echo {version}\n' if version else "exit 3\n"
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)
    return path


def check(tmp_path: Path, python: str, origin: str = "file", venv: Path | None = None):
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    venv = venv or tmp_path / ".venv"
    return subprocess.run(["sh", str(SCRIPT), python, origin, str(venv)], env=env,
                          capture_output=True, text=True, timeout=30, check=False)


def test_a_python_older_than_3_11_stops_with_what_was_found_and_how_to_choose(tmp_path):
    fake_python(tmp_path / "bin", "python3.10", "3.10.12")
    done = check(tmp_path, "python3.10", "command line")
    assert done.returncode == 1
    assert "found Python 3.10.12" in done.stderr and "needs Python >= 3.11" in done.stderr
    assert "PY=python3.12" in done.stderr
    assert not (tmp_path / ".venv").exists()  # nothing built to trip the next run


def test_a_missing_or_broken_python_is_named(tmp_path):
    done = check(tmp_path, "python3.99")
    assert done.returncode == 1 and "no Python called 'python3.99'" in done.stderr
    fake_python(tmp_path / "bin", "broken", None)
    done = check(tmp_path, "broken")
    assert done.returncode == 1 and "did not run" in done.stderr


def test_a_venv_built_by_an_old_python_is_removed(tmp_path):
    fake_python(tmp_path / "bin", "python3.11", "3.11.7")
    venv = tmp_path / ".venv"
    fake_python(venv / "bin", "python", "3.10.12")
    done = check(tmp_path, "python3.11", "command line", venv)
    assert done.returncode == 0, done.stderr
    assert not venv.exists()
    assert "built by Python 3.10.12" in done.stderr and "using Python 3.11.7" in done.stderr


def test_a_venv_of_another_version_than_the_chosen_one_is_rebuilt(tmp_path):
    fake_python(tmp_path / "bin", "python3.12", "3.12.1")
    venv = tmp_path / ".venv"
    fake_python(venv / "bin", "python", "3.11.7")
    done = check(tmp_path, "python3.12", "command line", venv)
    assert done.returncode == 0 and not venv.exists()
    assert "not the 3.12.1 of PY=python3.12" in done.stderr


@pytest.mark.parametrize("origin", ["file", "command line"])
def test_a_good_venv_is_kept(tmp_path, origin):
    fake_python(tmp_path / "bin", "python3", "3.11.9")
    venv = tmp_path / ".venv"
    fake_python(venv / "bin", "python", "3.11.7")
    done = check(tmp_path, "python3", origin, venv)
    assert done.returncode == 0, done.stderr
    assert (venv / "bin" / "python").exists() and done.stderr == ""


def test_the_default_python_does_not_replace_a_venv_chosen_before(tmp_path):
    # `make test` after `make run PY=python3.12`: the .venv of 3.12 stays.
    fake_python(tmp_path / "bin", "python3", "3.11.9")
    venv = tmp_path / ".venv"
    fake_python(venv / "bin", "python", "3.12.1")
    assert check(tmp_path, "python3", "file", venv).returncode == 0
    assert venv.exists()


def test_every_make_target_that_uses_the_venv_checks_the_python_first():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^venv:\n\t@sh scripts/check-python.sh", text, re.MULTILINE)
    for target in ("run", "test", "bench", "lint", "notebook"):
        assert re.search(rf"^{target}: venv$", text, re.MULTILINE), target
    assert re.search(r"^clean:\n\trm -rf \$\(VENV\)", text, re.MULTILINE)


def test_the_readme_documents_py_clean_and_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = readme.split("```")[1]
    assert "make run" in first and "make test" in first  # the first lines still work
    for words in ("PY=python3.12", "make clean", "make notebook"):
        assert words in readme, words
