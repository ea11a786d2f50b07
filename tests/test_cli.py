"""`supportsim run`: bad input is refused with exit code 2 and a one-line message naming the
file, the field and the problem; good input gives reproducible files.

Most cases call the entry point in-process (the same code path as the console script, minus
the interpreter start-up); a couple run the real command in a fresh interpreter.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import BAD, DATA, MINIMAL, REPO, supportsim

import sim.engine
import sim.experiment
from sim.cli import COMMANDS
from sim.cli import main as main_entry

# file -> fragments the message must contain: the field path (or position) and the problem.
BAD_FILES = {
    "unknown_key_top.yaml": ["replication:", "unknown key"],
    "unknown_key_nested.yaml": ["groups.team.concurency", "unknown key"],
    "wrong_type.yaml": ["groups.team.concurrency", "integer"],
    "negative_rate.yaml": ["arrivals.rates_per_hour.19", "greater than or equal to 0"],
    "bad_duration.yaml": ["topics.aftersale.think_time.mean", "1 minute", "duration"],
    "unserved_topic.yaml": ["aftersale", "no group can serve"],
    "python_tag.yaml": ["line 7", "python"],
    "empty.yaml": ["empty"],
    "duplicate_key.yaml": ["line 9", "duplicate key 'seed'"],
    "target_unknown_metric.yaml": ["targets.1", "unknown metric 'reply_rate_5mins'",
                                   "did you mean 'reply_rate_5min'"],
    "target_impossible.yaml": ["targets.0", "1.5 is outside [0, 1]"],
}


def run_in_process(capsys, *args) -> tuple[int, str, str]:
    code = main_entry(["run", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_clean_refusal(code: int, err: str, path, fragments) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 2, err
    assert lines[0].startswith("error: ") and str(path) in lines[0], err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} missing from {err!r}"


def test_every_bad_file_class_is_covered():
    assert sorted(p.name for p in BAD.glob("*.yaml")) == sorted(BAD_FILES)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_scenario_exits_2_with_one_clear_line(name, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the python tag would create its marker here
    path = BAD / name
    code, _out, err = run_in_process(capsys, path, "--out", tmp_path / "out", "--quiet")
    assert_clean_refusal(code, err, path, BAD_FILES[name])
    assert not (tmp_path / "out").exists(), "nothing is written for a refused scenario"
    assert not (tmp_path / "supportsim_tag_marker").exists()


def test_a_command_loads_its_own_module_and_the_help_lists_every_command(capsys):
    # Only the command on the line is imported (the others would cost their imports, up to a
    # second); without one, or with an unknown one, every command is there to be listed.
    script = textwrap.dedent("""
        import sys
        from sim.cli import COMMANDS, main
        try:
            code = main(sys.argv[1:])
        except SystemExit as exit:  # --help and argparse's errors
            code = exit.code
        print(sorted(m for m in COMMANDS.values() if m in sys.modules), code)
    """)
    def loaded(*argv):
        done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True,
                              text=True, cwd=REPO, timeout=120, check=False)
        return done.stdout.strip().splitlines()[-1], done.stderr

    assert loaded("run", "--help")[0] == "['sim.cli.run'] 0"
    assert loaded("validate", "--help")[0] == "['sim.cli.validate'] 0"
    every = sorted(COMMANDS.values())
    for help_first in (["--help"], ["-h", "run"]):
        out, _ = loaded(*help_first)
        assert out == f"{every} 0", help_first
    out, err = loaded("rn", "x")
    assert out == f"{every} 2"
    assert "invalid choice: 'rn'" in err and all(f"'{name}'" in err for name in COMMANDS)


def test_bad_input_errors_name_real_classes_and_a_failing_run_imports_no_other_tool(tmp_path):
    # An error is told to be bad input (exit 2) by the classes of the modules already loaded;
    # a misspelt entry would turn that error into an internal one, so each must exist.
    import importlib

    from sim.cli import BAD_INPUT_ERRORS, build_parser

    for module, name in BAD_INPUT_ERRORS:
        assert issubclass(getattr(importlib.import_module(module), name), Exception)
    # Called without a command line, the parser still has every command, with its help.
    listed = " ".join(build_parser().format_help().split())
    for name, module in COMMANDS.items():
        assert f"{name} {' '.join(importlib.import_module(module).HELP.split())}" in listed
    script = textwrap.dedent("""
        import sys
        from sim.cli import main
        code = main(sys.argv[1:])
        print("sim.tools.staffing" in sys.modules, code)
    """)
    missing = tmp_path / "missing.yaml"
    done = subprocess.run([sys.executable, "-c", script, "run", str(missing)],
                          capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert done.stdout.strip().splitlines()[-1] == "False 2"
    assert str(missing) in done.stderr and "Traceback" not in done.stderr


def test_missing_file(capsys, tmp_path):
    path = tmp_path / "no_such_scenario.yaml"
    code, _, err = run_in_process(capsys, path, "--out", tmp_path / "out", "--quiet")
    assert_clean_refusal(code, err, path, ["not found"])


def test_python_tag_runs_nothing_in_the_real_command(tmp_path):
    result = supportsim("run", BAD / "python_tag.yaml", "--out", tmp_path / "out", "--quiet",
                        cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "python" in result.stderr and str(BAD / "python_tag.yaml") in result.stderr
    assert not (tmp_path / "supportsim_tag_marker").exists()


@pytest.mark.parametrize("csv_name, fragments", [
    ("missing_column.csv", ["line 1", "missing column", "count"]),
    ("negative_count.csv", ["line 4", ">= 0"]),
    ("out_of_order.csv", ["line 4", "out of order"]),
    ("wrong_interval.csv", ["line 4", "2700s apart", "1800s"]),
])
def test_bad_counts_csv_exits_2_with_the_line(csv_name, fragments, capsys, tmp_path):
    document = yaml.safe_load(MINIMAL.read_text())
    del document["arrivals"]["rates_per_hour"]
    document["arrivals"]["counts_csv"] = {"path": csv_name}
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(document))
    shutil.copy(DATA / "csv" / csv_name, tmp_path / csv_name)
    code, _, err = run_in_process(capsys, scenario, "--out", tmp_path / "out", "--quiet")
    assert_clean_refusal(code, err, csv_name, fragments)


@pytest.mark.parametrize("messages, expected", [
    # A count refused as a count, not read as a duration ...
    ({"dist": "empirical", "values": [2, "a"]},
     "topics.presale.messages.values.1: 'a' is not a whole number of messages"),
    ({"dist": "deterministic", "value": "2min"},
     "topics.presale.messages: '2min' is not a whole number of messages"),
    # ... and a duration distribution refused as such, whatever fields it lacks.
    ({"dist": "lognormal", "mean": 4},
     ("topics.presale.messages: messages is a count: use one of geometric, poisson, "
      "deterministic, empirical")),
])
def test_a_bad_message_count_exits_2_naming_the_count(messages, expected, capsys, tmp_path):
    document = yaml.safe_load(MINIMAL.read_text())
    document["topics"]["presale"]["messages"] = messages
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(document))
    code, _, err = run_in_process(capsys, scenario, "--out", tmp_path / "out", "--quiet")
    assert code == 2 and "Traceback" not in err
    assert err.strip() == f"error: {scenario}: {expected}"


def test_unknown_variant_and_bad_arguments_exit_2(capsys, tmp_path):
    code, _, err = run_in_process(capsys, MINIMAL, "--variant", "nope", "--out",
                                  tmp_path / "out", "--quiet", "--no-report")
    assert code == 2 and "nope" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_info:
        main_entry(["run", str(MINIMAL), "--replications", "0"])
    assert exit_info.value.code == 2


def test_same_seed_gives_byte_identical_summary(tmp_path, capsys):
    # Two separate interpreters (different hash seeds, fresh state) run concurrently.
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", "from sim.cli import console; console()", "run",
             str(MINIMAL), "--out", str(tmp_path / name), "--quiet", "--no-report"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    first = (tmp_path / "a" / "summary.csv").read_bytes()
    assert first == (tmp_path / "b" / "summary.csv").read_bytes()
    assert (tmp_path / "a" / "intervals.csv").read_bytes() == \
        (tmp_path / "b" / "intervals.csv").read_bytes()

    # The comparison can fail: another seed gives other bytes.
    code, _, err = run_in_process(capsys, MINIMAL, "--seed", "8", "--out", tmp_path / "c",
                                  "--quiet", "--no-report")
    assert code == 0, err
    assert (tmp_path / "c" / "summary.csv").read_bytes() != first

    summary = pd.read_csv(tmp_path / "a" / "summary.csv")
    assert list(summary.columns) == ["variant", "metric", "mean", "ci_low", "ci_high",
                                     "replications"]
    required = {"reply_rate_5min", "first_response_30s_rate", "first_response_mean_s",
                "first_response_p90_s", "message_wait_mean_s", "message_wait_p95_s",
                "abandon_rate", "deflection_rate", "occupancy", "cost", "lost_orders"}
    for variant in ("baseline", "bigger_team"):
        assert required <= set(summary[summary.variant == variant]["metric"])
    assert set(summary["replications"][summary.metric == "arrived"]) == {3}


def test_the_python_tag_file_would_run_its_command_under_an_unsafe_loader(tmp_path,
                                                                           monkeypatch):
    # Shows the marker check above can fail: the payload is real.
    monkeypatch.chdir(tmp_path)
    yaml.unsafe_load((BAD / "python_tag.yaml").read_text())
    assert (tmp_path / "supportsim_tag_marker").exists()


STAFF_DESK = {
    "name": "staff_desk",
    "horizon": {"start": "08:00", "end": "10:00", "drain": "30min"},
    "seed": 3, "replications": 2,
    "arrivals": {"interval": "30min", "mix": {"presale": 1},
                 "rates_per_hour": [120, 240, 240, 120]},
    "topics": {"presale": {"messages": {"dist": "geometric", "mean": 2},
                           "think_time": {"dist": "exponential", "mean": "30s"},
                           "patience": {"dist": "exponential", "mean": "3min"}}},
    "groups": {"team": {"skills": ["presale"], "concurrency": 3,
                        "reply_time": {"dist": "exponential", "mean": "8s"},
                        "schedule": {"headcount": {"08:00": 3}}}},
}


def test_staff_says_how_many_full_and_partial_simulations_it_ran(tmp_path, capsys):
    path = tmp_path / "desk.yaml"
    path.write_text(yaml.safe_dump(STAFF_DESK))
    common = ["staff", str(path), "--target", "first_response_30s_rate>=0.8", "--workers", "1",
              "--quiet"]
    assert main_entry([*common, "--out", str(tmp_path / "a")]) == 0
    printed = capsys.readouterr().out
    assert "ISA start" in printed and " partial (from a snapshot" in printed
    assert main_entry([*common, "--method", "full", "--start", "mol",
                       "--out", str(tmp_path / "b")]) == 0
    printed = capsys.readouterr().out
    assert "MOL start" in printed and "full (whole horizon), one per replication" in printed
    assert "partial" not in printed


def test_staff_refuses_a_zero_lookahead(tmp_path, capsys):
    path = tmp_path / "desk.yaml"
    path.write_text(yaml.safe_dump(STAFF_DESK))
    with pytest.raises(SystemExit) as stopped:
        main_entry(["staff", str(path), "--target", "reply_rate_5min>=0.95", "--lookahead",
                    "0", "--quiet"])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "--lookahead" in err and "Traceback" not in err


# --- where the files go ---------------------------------------------------------------------

LOG = REPO / "data" / "sample_log.csv"
#: Every command (each writes files), with what it needs besides its output, and whether its
#: `--out` names a folder or a file (export-log's takes either).
WRITERS = {
    "run": ([str(MINIMAL)], "folder"),
    "compare": ([str(MINIMAL)], "folder"),
    "staff": ([str(MINIMAL), "--target", "reply_rate_5min>=0.9"], "folder"),
    "whatif": ([str(MINIMAL), "--at", "10:00"], "folder"),
    "roster": ([str(MINIMAL), "--target", "reply_rate_5min>=0.9", "--rules", str(MINIMAL)],
               "folder"),
    "validate": (["--quick"], "folder"),
    "sweep": ([str(REPO / "sweeps" / "double11_staffing.yaml")], "folder"),
    "metrics": ([str(LOG)], "folder"),
    "backtest": ([str(LOG), str(MINIMAL)], "folder"),
    "fit": ([str(LOG)], "file"),
    "snapshot": ([str(MINIMAL), "--at", "10:00"], "file"),
    "export-log": ([str(MINIMAL)], "either"),
}


def test_every_command_is_listed_with_where_it_writes():
    assert set(WRITERS) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_an_output_that_cannot_be_made_is_refused_before_any_work(command, tmp_path, capsys,
                                                                  monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("worked although the output cannot be written")

    monkeypatch.setattr(sim.engine, "simulate", refuse)
    monkeypatch.setattr(sim.experiment, "simulate", refuse)
    args, kind = WRITERS[command]
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    cases = [(blocker / "below" / "x.csv", f"{blocker} is a file, not a folder")]
    if kind == "folder":
        cases.append((blocker, f"{blocker} is a file; give a folder"))
    if kind == "file":
        cases.append((tmp_path, f"{tmp_path} is a folder; give a file name"))
    for out, words in cases:
        with pytest.raises(SystemExit) as stopped:
            main_entry([command, *args, "--out", str(out)])
        err = capsys.readouterr().err
        assert stopped.value.code == 2, err
        assert "argument --out" in err or "argument -o/--out" in err
        assert words in err and "Traceback" not in err
    assert blocker.read_text() == "not a folder\n"


def test_default_outputs_that_cannot_be_made_are_refused_before_any_work(tmp_path, capsys,
                                                                          monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("worked although the output cannot be written")

    monkeypatch.setattr(sim.engine, "simulate", refuse)
    monkeypatch.setattr(sim.experiment, "simulate", refuse)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").write_text("not a folder\n")
    code = main_entry(["run", str(MINIMAL), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: cannot write the default output folder out/")
    assert "out is a file, not a folder (give --out)" in err
    # Defaults written in the options are checked as given ones are.
    for argv, words in ((["validate", "--quick"], "out/validation: out is a file"),
                        (["snapshot", str(MINIMAL), "--at", "10:00"], None)):
        if words is None:
            (tmp_path / "state.yaml").mkdir()
            words = "state.yaml is a folder; give a file name"
        with pytest.raises(SystemExit) as stopped:
            main_entry(argv)
        err = capsys.readouterr().err
        assert stopped.value.code == 2 and words in err, err


def test_a_link_to_nothing_is_refused_as_an_output(tmp_path, capsys):
    link = tmp_path / "gone"
    link.symlink_to(tmp_path / "nowhere")
    for out in (link, link / "below"):
        with pytest.raises(SystemExit) as stopped:
            main_entry(["run", str(MINIMAL), "--out", str(out)])
        err = capsys.readouterr().err
        assert stopped.value.code == 2
        assert f"{link} is a symbolic link to nothing" in err


def test_the_command_a_header_names_reads_back_as_given():
    from sim.cli.common import command_line

    scenario = Path("my shop") / "day's plan.yaml"
    text = command_line("staff", [scenario], [
        ("--target", "reply_rate_5min>=0.95", None), ("--group", ["pre sale", "team$HOME"], None),
        ("--time-limit", 0.1234567, 60.0), ("--max-agents", 1234567, None),
        ("--seed", 0, None), ("--all-day", True, False), ("--start", "isa", "isa"),
        ("--replications", None, None), ("--quiet", False, False)])
    assert shlex.split(text) == [
        "supportsim", "staff", str(scenario), "--target", "reply_rate_5min>=0.95",
        "--group", "pre sale", "--group", "team$HOME", "--time-limit", "0.1234567",
        "--max-agents", "1234567", "--seed", "0", "--all-day"]
    # Single quotes where a shell would expand or split: a shell reads the words shlex does.
    assert "--group 'team$HOME'" in text and "--group 'pre sale'" in text
