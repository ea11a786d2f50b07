"""Hostile input, resource limits, crash safety and determinism (docs/robustness.md).

What a scenario file says must never run code or eat the machine; an absurd run is refused in
a second with the flag that overrides it; a run killed at any moment leaves each output file
either complete or absent; the same scenario and seed give the same bytes in any process.
The bad-input files of tests/data/bad and the CSV cases of test_cli.py are not repeated here.
"""

from __future__ import annotations

import ast
import copy
import inspect
import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import MINIMAL, REPO

import sim.engine
import sim.experiment
from sim.cli import main as main_entry
from sim.engine import limits
from sim.experiment import run
from sim.scenario import ScenarioError, load_document, load_scenario, scenario_from_dict

BASE = yaml.safe_load(MINIMAL.read_text())
MARKER = "supportsim_robustness_marker"


def write(folder: Path, document_or_text, name: str = "scenario.yaml") -> Path:
    path = folder / name
    if isinstance(document_or_text, str):
        path.write_text(document_or_text, encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(document_or_text, sort_keys=False), encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    """The message of the ScenarioError `load_scenario(path)` raises (fails if it loads)."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "Traceback" not in message
    return message


# --- safe loading ---------------------------------------------------------------------------------

MINIMAL_TEXT = MINIMAL.read_text()
PAYLOAD = f'["touch {MARKER}"]'
UNSAFE = {
    # tag, where it sits: each would run a command (or import a module) under an unsafe loader.
    "apply_in_variant": MINIMAL_TEXT.replace(
        "    groups.team.schedule.headcount:",
        f"    seed: !!python/object/apply:os.system {PAYLOAD}\n    groups.team.schedule.headcount:"),
    "apply_as_key": MINIMAL_TEXT.replace(
        "replications: 3", f"replications: 3\n? !!python/object/apply:os.system {PAYLOAD}\n: 1"),
    "new_in_list": MINIMAL_TEXT.replace(
        "skills: [presale, aftersale]",
        f"skills: [presale, !!python/object/new:os.system {PAYLOAD}]"),
    "name_tag": MINIMAL_TEXT.replace("name: minimal", "name: !!python/name:os.system"),
    "module_tag": MINIMAL_TEXT.replace("name: minimal", "name: !!python/module:os"),
    "behind_an_alias": MINIMAL_TEXT.replace(
        "seed: 7", f"seed: &cmd !!python/object/apply:os.system {PAYLOAD}")
        .replace("replications: 3", "replications: *cmd"),
    "local_tag": MINIMAL_TEXT.replace("name: minimal", f"name: !shell touch {MARKER}"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_yaml_tags_are_refused_and_run_nothing(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr(os, "system", lambda command: calls.append(command) or 0)
    path = write(tmp_path, UNSAFE[case])
    message = refusal(path)
    assert message.startswith(f"{path}: not valid YAML (line "), message
    assert "not allowed" in message or "tag" in message, message
    assert len(message.splitlines()) == 1
    assert calls == [] and not (tmp_path / MARKER).exists()


def test_the_unsafe_cases_would_run_under_an_unsafe_loader(tmp_path, monkeypatch):
    # Shows the test above can fail: the payload is real for the apply/new cases.
    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr(os, "system", lambda command: calls.append(command) or 0)
    for case in ("apply_in_variant", "apply_as_key", "new_in_list", "behind_an_alias"):
        yaml.unsafe_load(UNSAFE[case])
    assert len(calls) == 4 and all(MARKER in c for c in calls)


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    # "Billion laughs": 9 levels of 9 aliases would expand to 387 million strings if anything
    # walked the tree; the loader shares the nodes and validation stops at the first wrong type.
    lines, previous = [], None
    for level in "abcdefghi":
        items = ", ".join([f"*{previous}"] * 9 if previous else ["lol"] * 9)
        lines.append(f"  x{level}: &{level} [{items}]")
        previous = level
    text = MINIMAL_TEXT.replace(
        "variants:\n", "lol:\n" + "\n".join(lines) + "\nvariants:\n  bomb:\n    description: *i\n")
    path = write(tmp_path, text)
    started = time.perf_counter()
    message = refusal(path)
    assert time.perf_counter() - started < 5
    assert "lol: unknown key" in message


@pytest.mark.parametrize("case, text, fragments", [
    # Each of these raised a Python exception other than ScenarioError (an internal error,
    # exit 1) when found by the fuzzers; the scenario author must get exit 2 and a message.
    ("deep_nesting", "name: x\nseed: " + "[" * 2000 + "]" * 2000 + "\n", ["line 2"]),
    ("deep_mapping", "name: x\nseed: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n", ["line 2"]),
    ("unhashable_key", MINIMAL_TEXT.replace("replications: 3", "? [1, 2]\n: 3"), ["line 9"]),
    ("huge_integer", MINIMAL_TEXT.replace("seed: 7", "seed: " + "9" * 5000), ["line 8"]),
    # Explicit standard tags on values they do not fit: PyYAML's constructors raise
    # IndexError, AttributeError, ValueError or KeyError.
    ("empty_int", MINIMAL_TEXT.replace("seed: 7", "seed: !!int ''"), ["line 8"]),
    ("bad_timestamp", MINIMAL_TEXT.replace("drain: 30min", "drain: !!timestamp 30min"),
     ["line 7"]),
    ("bad_float", MINIMAL_TEXT.replace("seed: 7", "seed: !!float seven"), ["line 8"]),
    ("bad_bool", MINIMAL_TEXT.replace("  enabled: true", "  enabled: !!bool maybe"),
     ["line 35"]),
    ("scalar_tagged_map", MINIMAL_TEXT.replace("seed: 7", "seed: !!map 7"), ["line 8"]),
])
def test_pathological_yaml_gives_a_clean_refusal(case, text, fragments, tmp_path):
    path = write(tmp_path, text)
    started = time.perf_counter()
    message = refusal(path)
    assert time.perf_counter() - started < 10
    assert len(message.splitlines()) == 1 and len(message) < 500, message[:600]
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from {message!r}"


def test_yaml_merge_keys_are_read(tmp_path):
    # `<<: *defaults` is standard YAML for sharing settings between groups; the safe loader
    # reads it, and it must not be mistaken for a forbidden tag.
    text = MINIMAL_TEXT.replace("  team:\n", "  team: &team\n").replace(
        "bot:\n", "  second:\n    <<: *team\n    concurrency: 2\nbot:\n", 1)
    scenario = load_scenario(write(tmp_path, text))
    second, team = scenario.groups["second"], scenario.groups["team"]
    assert second.concurrency == 2 and team.concurrency == 4
    assert second.reply_time == team.reply_time and second.schedule == team.schedule


# --- resource limits ------------------------------------------------------------------------------


def absurd_volume() -> dict:
    """The minimal desk with ten million conversations an hour for four hours: about 1.7e8
    messages in one run, over the 50-million limit."""
    document = copy.deepcopy(BASE)
    document["arrivals"]["rates_per_hour"] = [
        1e7 if rate else 0 for rate in document["arrivals"]["rates_per_hour"]]
    return document


def forty_days() -> dict:
    """A tiny volume over 40 days: over the horizon limit, yet seconds to run."""
    document = copy.deepcopy(BASE)
    document["horizon"] = {"start": "2026-01-01 00:00", "end": "2026-02-10 00:00", "drain": "1h"}
    document["arrivals"]["rates_per_hour"] = [0.5] * 48
    document["groups"]["team"]["schedule"]["headcount"] = {"00:00": 1}
    document.pop("variants")
    return document


def _refuse_to_simulate(monkeypatch) -> None:
    def refuse(*_args, **_kwargs):
        raise AssertionError("simulated although the scenario should have been refused")

    monkeypatch.setattr(sim.engine, "simulate", refuse)
    monkeypatch.setattr(sim.experiment, "simulate", refuse)


@pytest.fixture
def no_simulation(monkeypatch):
    """Make any attempt to simulate fail loudly (and at once, not after hours)."""
    _refuse_to_simulate(monkeypatch)


def test_an_absurd_volume_is_refused_before_simulating(tmp_path, capsys, no_simulation):
    path = write(tmp_path, absurd_volume())
    started = time.perf_counter()
    code = main_entry(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    elapsed = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == 2, err
    assert elapsed < 5, f"refusal took {elapsed:.1f} s"
    assert err.startswith(f"error: {path}: refused before simulating: ")
    assert len(err.strip().splitlines()) == 1, err
    # The figure, the limit and the flag that overrides it.
    figure = re.search(r"about ([\d,]+) customer messages per run", err)
    assert figure and int(figure.group(1).replace(",", "")) > limits.MAX_MESSAGES_PER_RUN, err
    assert f"{limits.MAX_MESSAGES_PER_RUN:,}" in err and "--allow-large" in err
    assert not (tmp_path / "out").exists()


def test_an_absurd_variant_is_refused_though_the_baseline_is_fine(tmp_path, capsys,
                                                                   no_simulation):
    document = copy.deepcopy(BASE)
    document["variants"]["sale"] = {"arrivals.rates_per_hour": absurd_volume()["arrivals"]
                                    ["rates_per_hour"]}
    path = write(tmp_path, document)
    code = main_entry(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "refused before simulating" in err and "--allow-large" in err, err


def test_the_flag_accepts_what_the_limits_refuse(tmp_path, capsys):
    scenario = scenario_from_dict(absurd_volume(), source="absurd.yaml")
    with pytest.raises(ScenarioError, match="allow_large=True"):
        limits.check(scenario, source="absurd.yaml")
    work = limits.check(scenario, allow_large=True, source="absurd.yaml")
    assert work.messages > limits.MAX_MESSAGES_PER_RUN

    # End to end with a scenario that is over a limit yet quick: 40 days of a trickle.
    path = write(tmp_path, forty_days())
    args = ["run", str(path), "--replications", "1", "--quiet", "--no-report"]
    assert main_entry([*args, "--out", str(tmp_path / "refused")]) == 2
    err = capsys.readouterr().err
    assert "horizon: 40.0 days is over the 31-day limit" in err and "--allow-large" in err, err
    assert main_entry([*args, "--out", str(tmp_path / "out"), "--allow-large"]) == 0
    summary = (tmp_path / "out" / "summary.csv").read_text()
    assert "arrived" in summary


def test_the_python_api_applies_the_same_limits(monkeypatch):
    if "allow_large" not in inspect.signature(run).parameters:
        pytest.fail("sim.experiment.run takes no allow_large: the API does not check limits")
    with monkeypatch.context() as patch:
        _refuse_to_simulate(patch)
        with pytest.raises(ScenarioError, match="allow_large|--allow-large"):
            run(scenario_from_dict(absurd_volume(), source="absurd.yaml"), replications=1)
    results = run(scenario_from_dict(forty_days(), source="forty.yaml"), replications=1,
                  allow_large=True)
    assert results.metric("arrived")["mean"] > 0


def test_an_overloaded_desk_is_reported_not_crashed():
    # Twenty times the traffic the team can take and buyers of one topic who never give up:
    # the queue grows all day, yet the run ends, conserves buyers and reports the damage.
    document = copy.deepcopy(BASE)
    document["arrivals"]["rates_per_hour"] = [
        20 * rate for rate in document["arrivals"]["rates_per_hour"]]
    document.pop("variants")
    scenario = scenario_from_dict(document, source="overload.yaml")
    started = time.perf_counter()
    values, series, _ = sim.experiment.run_one(scenario, 0, 1)
    assert time.perf_counter() - started < 30
    assert values["arrived"] == (values["served"] + values["deflected"] + values["abandoned"]
                                 + values["open_at_end"])
    assert values["abandon_rate"] > 0.5
    assert values["open_at_end"] > 0  # patient buyers still queued when the desk closes
    queue = series["queue_length"].to_numpy()
    assert queue.max() > 100 * scenario.groups["team"].concurrency


# --- CSV inputs and paths -------------------------------------------------------------------------

ROWS = "start,count\n" + "".join(f"{h:02d}:{m:02d},20\n" for h in range(8, 12) for m in (0, 30))


def csv_scenario(folder: Path, csv_path: str) -> Path:
    document = copy.deepcopy(BASE)
    del document["arrivals"]["rates_per_hour"]
    document["arrivals"]["counts_csv"] = {"path": csv_path}
    return write(folder, document)


@pytest.mark.parametrize("case, content, fragments", [
    ("not_a_number", ROWS.replace("09:00,20", "09:00,lots"), ["counts.csv: line 4", "lots"]),
    ("bad_time", ROWS.replace("09:00,20", "9h,20"), ["counts.csv: line 4", "9h"]),
    ("nan", ROWS.replace("09:00,20", "09:00,nan"), ["counts.csv: line 4"]),
    ("infinite", ROWS.replace("09:00,20", "09:00,inf"), ["counts.csv: line 4"]),
    ("short_row", ROWS.replace("09:00,20", "09:00"), ["counts.csv: line 4"]),
    ("header_only", "start,count\n", ["counts.csv", "no rows"]),
    ("empty", "", ["counts.csv: line 1", "missing column"]),
    ("not_utf8", ROWS.encode() + b"12:00,\xff\n", ["counts.csv", "line 10"]),
    # Rows end an interval before the horizon does: the scenario's field is named.
    ("short_of_the_horizon", ROWS.replace("11:30,20\n", ""), ["arrivals.counts_csv", "no row"]),
], ids=lambda value: value if isinstance(value, str) and value.isidentifier() else "")
def test_bad_counts_csv_is_refused_with_its_line(case, content, fragments, tmp_path):
    target = tmp_path / "counts.csv"
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    message = refusal(csv_scenario(tmp_path, "counts.csv"))
    assert len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from {message!r}"


def test_a_counts_csv_saved_with_a_byte_order_mark_is_read(tmp_path):
    # Spreadsheet programs write UTF-8 CSV with a BOM; the header must still read `start`.
    (tmp_path / "counts.csv").write_text("\ufeff" + ROWS, encoding="utf-8")
    scenario = load_scenario(csv_scenario(tmp_path, "counts.csv"))
    assert limits.estimate(scenario).conversations == pytest.approx(8 * 20)


def test_counts_csv_paths_are_resolved_inside_the_scenario_folder(tmp_path):
    folder = tmp_path / "desk"
    (folder / "history").mkdir(parents=True)
    (folder / "history" / "counts.csv").write_text(ROWS)
    (tmp_path / "outside.csv").write_text(ROWS)
    # Relative to the scenario's folder, not to the working directory.
    scenario = load_scenario(csv_scenario(folder, "history/counts.csv"))
    assert Path(scenario.arrivals.counts_csv.path) == (folder / "history/counts.csv").resolve()
    (folder / "inside_link.csv").symlink_to(folder / "history" / "counts.csv")
    load_scenario(csv_scenario(folder, "inside_link.csv"))

    (folder / "escape_link.csv").symlink_to(tmp_path / "outside.csv")
    for escaping in ("../outside.csv", str(tmp_path / "outside.csv"),
                     "history/../../outside.csv", "escape_link.csv"):
        path = csv_scenario(folder, escaping)
        message = refusal(path)
        assert message.startswith(f"{path}: "), message  # names the scenario file ...
        assert "arrivals.counts_csv" in message and "inside" in message, message  # ... and why
        assert len(message.splitlines()) == 1


# --- crash safety ---------------------------------------------------------------------------------

#: A helper interpreter that imports the simulator once and forks one child per command, so
#: each run costs a simulation rather than an interpreter start. A request is a JSON line
#: {"args": [...], "stderr": path or null}; the helper answers with the child's pid, then with
#: its wait status when it ends (normally, by a signal, or killed). Children keep the default
#: SIGINT handling, so a SIGINT is a Ctrl-C for them.
ZYGOTE = r"""
import json, os, sys
from sim.cli import main as main_entry
import sim.output.report  # plotting too, before forking
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            err = request["stderr"]
            os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT) if err else null, 2)
            code = main_entry(request["args"])
        finally:
            sys.stderr.flush()
            os._exit(code)
    print(pid, flush=True)
    print(os.waitpid(pid, 0)[1], flush=True)
"""
ZYGOTE_HASH_SEED = "4242"


class Zygote:
    def __init__(self):
        env = {**os.environ, "PYTHONHASHSEED": ZYGOTE_HASH_SEED}
        self.proc = subprocess.Popen([sys.executable, "-c", ZYGOTE], cwd=REPO, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.buffer = b""

    def _line(self, timeout: float | None) -> str | None:
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            assert chunk, "the helper interpreter died"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def start(self, args: list[str], stderr: Path | None = None) -> int:
        request = {"args": [str(a) for a in args], "stderr": str(stderr) if stderr else None}
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()
        return int(self._line(60))

    def status(self, timeout: float | None = 0.0) -> int | None:
        line = self._line(timeout)
        return None if line is None else int(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def files(folder: Path) -> dict[str, bytes]:
    found = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root, name)
            try:
                found[str(path.relative_to(folder))] = path.read_bytes()
            except FileNotFoundError:  # renamed away while listing
                pass
    return found


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    state = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            try:
                info = os.stat(os.path.join(root, name))
            except FileNotFoundError:
                continue
            state[os.path.join(root, name)] = (info.st_mtime_ns, info.st_size)
    return state


def is_temporary(relative: str) -> bool:
    """Names `sim.output.files` gives files being written: hidden, ending in .tmp."""
    name = Path(relative).name
    return name.startswith(".") and name.endswith(".tmp")


@pytest.fixture(scope="module")
def zygote():
    helper = Zygote()
    yield helper
    helper.close()


@pytest.fixture(scope="module")
def versions(zygote, tmp_path_factory):
    """Complete CSV outputs of the minimal scenario for seed 8 ('old') and its own seed 7
    ('new'), and how long the writing of 'new' lasted."""
    root = tmp_path_factory.mktemp("versions")
    made = {}
    for name, seed in (("old", "8"), ("new", "7")):
        out = root / name
        zygote.start(["run", str(MINIMAL), "--out", str(out), "--quiet", "--no-report",
                      "--replications", "2", "--seed", seed])
        assert zygote.status(timeout=120) == 0
        made[name] = files(out)
    assert set(made["old"]) == set(made["new"]) and "summary.csv" in made["new"]
    assert all(made["old"][name] != made["new"][name] for name in made["new"])
    mtimes = [info[0] for info in snapshot(root / "new").values()]
    return made["old"], made["new"], (max(mtimes) - min(mtimes)) / 1e9


def test_a_run_killed_while_writing_leaves_complete_files_or_none(zygote, versions, tmp_path):
    # CSV outputs only: the report and plots go through the same atomic writes (see
    # test_every_output_goes_through_the_atomic_writes) and would cost seconds per attempt.
    old, new, writing_s = versions
    rng = random.Random(20260310)
    # Kill right as writing starts, a little later, and at random moments of it.
    delays = [0.0, 0.0, 0.0005, 0.001, 0.003] + [rng.uniform(0, writing_s) for _ in range(3)]
    mixed = killed = strays = 0
    for attempt, delay in enumerate(delays):
        out = tmp_path / f"attempt{attempt}"
        had_old = attempt % 2 == 1  # alternately into nothing, and over a previous run
        if had_old:
            for name, data in old.items():
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                (out / name).write_bytes(data)
        before = snapshot(out)
        pid = zygote.start(["run", str(MINIMAL), "--out", str(out), "--quiet", "--no-report",
                            "--replications", "2"])
        deadline = time.monotonic() + 120
        status = None
        while status is None and snapshot(out) == before:
            assert time.monotonic() < deadline, "the run neither wrote nor ended"
            status = zygote.status(timeout=0.0002)
        if status is None:
            if delay:
                time.sleep(delay)
            os.kill(pid, signal.SIGKILL)
            status = zygote.status(timeout=60)
        was_killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        killed += was_killed
        assert was_killed or os.WEXITSTATUS(status) == 0

        after = files(out)
        for name, data in after.items():
            if name not in new:
                assert is_temporary(name), f"unexpected file {name} after attempt {attempt}"
                strays += 1
                continue
            allowed = [new[name]] + ([old[name]] if had_old else [])
            assert data in allowed, (
                f"attempt {attempt} (killed {delay * 1000:.1f} ms into writing): {name} is "
                "neither the previous complete version nor the new one")
        if had_old:
            missing = set(new) - set(after)
            assert not missing, f"previous outputs lost: {sorted(missing)}"
        outputs = {name: data for name, data in after.items() if name in new}
        if was_killed and outputs != new and any(new[n] == d for n, d in outputs.items()):
            mixed += 1  # some files already new, others old or not yet written
    assert killed >= 3, "too few runs were killed while writing to test anything"
    # Files are written one at a time, so a kill strands at most the one being written.
    assert strays <= killed
    assert mixed >= 1, "no attempt was killed between two output files"


def test_every_output_goes_through_the_atomic_writes():
    # The kill test above exercises the CSV files; this holds every other writer to the same
    # path: no module but sim/outputs.py opens a file for writing or saves to a path directly.
    writers = {"write_text", "write_bytes", "to_csv", "to_parquet", "to_json", "to_excel",
               "savefig", "to_html", "dump"}
    offences = []
    for module in sorted((REPO / "sim").glob("*.py")):
        if module.name == "outputs.py":
            continue
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0] if node.args else None
            to_buffer = isinstance(first, ast.Name) and first.id in ("buffer", "handle", "stream")
            if name in writers and first is not None and not to_buffer:
                offences.append(f"{module.name}:{node.lineno}: {name}(...)")
            if name == "open" and any(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                      and set(a.value) & set("wax") for a in node.args[1:]):
                offences.append(f"{module.name}:{node.lineno}: open(..., write mode)")
    assert not offences, "outputs written without sim.output.files:\n" + "\n".join(offences)


def exit_code(status: int) -> int:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)


def test_ctrl_c_during_simulation_exits_130_and_keeps_nothing(zygote, tmp_path):
    out, err = tmp_path / "out", tmp_path / "stderr.txt"
    # A full day of the bundled scenario, 5 replications x 3 variants: several seconds of
    # simulation, so the interrupt half a second in lands in the middle of it.
    pid = zygote.start(["run", REPO / "scenarios" / "normal_day.yaml", "--out", out, "--quiet"],
                       stderr=err)
    time.sleep(0.5)
    os.kill(pid, signal.SIGINT)
    code = exit_code(zygote.status(timeout=60))
    message = err.read_text()
    assert code == 130, message
    assert "Traceback" not in message and "interrupted" in message, message
    assert not out.exists() or not files(out)
    assert "nothing" in message, f"does not say that nothing was kept: {message!r}"


def complete(name: str, data: bytes, new: dict[str, bytes]) -> bool:
    """Whether a kept file is whole: equal to the reference run, or a well-ended PNG / HTML."""
    if name in new:
        return data == new[name]
    if name.endswith(".png"):
        return data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82")
    if name.endswith(".html"):
        return data.rstrip().endswith(b"</html>")
    return False


def test_ctrl_c_while_writing_exits_130_and_names_what_was_kept(zygote, versions, tmp_path):
    _old, new, _ = versions
    out, err = tmp_path / "out", tmp_path / "stderr.txt"
    # With the report: writing the plots lasts seconds, so the interrupt lands mid-way.
    pid = zygote.start(["run", MINIMAL, "--out", out, "--quiet", "--replications", "2"],
                       stderr=err)
    status = None
    while status is None and not any(name in new for name in files(out)):
        status = zygote.status(timeout=0.001)
    if status is None:
        os.kill(pid, signal.SIGINT)
        status = zygote.status(timeout=60)
    code, message = exit_code(status), err.read_text()
    if code == 0:
        pytest.skip("the run finished before the interrupt arrived")
    assert code == 130, message
    assert "Traceback" not in message and "interrupted" in message, message
    kept = {name: data for name, data in files(out).items() if not is_temporary(name)}
    assert kept and all(complete(name, data, new) for name, data in kept.items())
    assert not [name for name in files(out) if is_temporary(name)], "temporary files left"
    for name in kept:
        assert Path(name).name in message, f"{name} kept but not named: {message!r}"


# --- determinism ----------------------------------------------------------------------------------


def test_hash_seeds_do_not_change_the_bytes(zygote, tmp_path):
    # A scenario with many topics, groups and variants (priorities, standby, spikes, topic-mix
    # changes) scaled down to run in a second, so any iteration over a set or a dict whose
    # order depends on string hashing would show. One run in a fresh interpreter with
    # PYTHONHASHSEED=0, the other in the helper's child (PYTHONHASHSEED=4242), at the same time.
    document, _ = load_document(REPO / "scenarios" / "double11.yaml")
    document["arrivals"]["volume_per_day"] = {
        day: volume / 100 for day, volume in document["arrivals"]["volume_per_day"].items()}
    path = write(tmp_path, document)
    args = ["run", str(path), "--replications", "1", "--quiet", "--no-report", "--records"]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sim.cli import console; console()", *args,
         "--out", str(tmp_path / "0")],
        cwd=tmp_path, env={**os.environ, "PYTHONHASHSEED": "0"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    zygote.start([*args, "--out", tmp_path / ZYGOTE_HASH_SEED])
    assert zygote.status(timeout=180) == 0
    _out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    first, second = files(tmp_path / "0"), files(tmp_path / ZYGOTE_HASH_SEED)
    assert {"summary.csv", "intervals.csv", "replications.csv", "comparison.csv",
            "conversations.parquet", "messages.parquet"} <= set(first)
    assert set(first) == set(second)
    for name in first:
        assert first[name] == second[name], f"{name} differs between hash seeds"
