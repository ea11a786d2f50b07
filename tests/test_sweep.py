"""Sweeps: spec checking, point expansion, executors agreeing bit for bit, resume after a kill,
failed tasks, and the sweep plots."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main as main_entry
from sim.cli.common import EXIT_TASKS_FAILED
from sim.experiment import run, run_one
from sim.output import sweep_plots
from sim.scenario import load_scenario, scenario_from_dict
from sim.tools import sweep

TINY = """\
name: tiny
horizon: {start: "08:00", end: "09:00", drain: 30min}
seed: 7
replications: 2
arrivals:
  interval: 30min
  rates_per_hour: [120, 120]
  mix: {presale: 0.7, aftersale: 0.3}
topics:
  presale:
    messages: {dist: geometric, mean: 2}
    think_time: {dist: exponential, mean: 30s}
    patience: {dist: exponential, mean: 3min}
  aftersale:
    messages: {dist: geometric, mean: 2}
    think_time: {dist: exponential, mean: 30s}
groups:
  team:
    skills: [presale, aftersale]
    concurrency: 3
    reply_time: {dist: exponential, mean: 20s}
    hourly_cost: 30
    schedule: {headcount: {"00:00": 2}}
bot: {enabled: true, deflection: {presale: 0.2}, handling_time: {dist: exponential, mean: 30s}}
variants:
  more_chats: {groups.team.concurrency: 5}
"""

SUMMARY_KEYS = ["variant", "metric"]


def write_files(tmp_path: Path, spec: str) -> Path:
    """The tiny base scenario and a spec beside it; the spec's path."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(spec))
    return path


SMALL_SPEC = """\
scenario: tiny.yaml
replications: 2
metrics: [reply_rate_5min, abandon_rate, cost]
grid:
  groups.team.schedule.headcount.00:00: [1, 2]
  bot.deflection.presale: [0.0, 0.5]
"""


def small_spec(tmp_path: Path) -> Path:
    return write_files(tmp_path, SMALL_SPEC)


# --- spec and expansion -------------------------------------------------------------------


def test_grid_expands_as_a_cartesian_product_then_points_without_repeats():
    spec = sweep.SweepSpec.model_validate({
        "scenario": "x.yaml",
        "grid": {"a.b": [1, 2], "c": ["x", "y", "z"]},
        "points": [{"a.b": 9}, {"a.b": 1, "c": "x"}],   # the second repeats a grid point
    })
    points = sweep.expand_points(spec)
    assert points[:6] == [{"a.b": a, "c": c} for a in (1, 2) for c in ("x", "y", "z")]
    assert points[6:] == [{"a.b": 9}]


def test_plan_applies_point_then_variant_and_seeds_ignore_order(tmp_path):
    spec = write_files(tmp_path, """\
        scenario: tiny.yaml
        replications: 3
        grid:
          groups.team.concurrency: [2, 4]
        points:
          - {groups.team.reply_time.mean: 40s}
        """)
    plan = sweep.load_plan(spec)
    assert plan.parameters == ["groups.team.concurrency", "groups.team.reply_time.mean"]
    assert len(plan.runs) == 3 * 2 * 3            # points x variants x replications
    scenarios = {(r.point, r.variant): plan.tasks[r.key].scenario for r in plan.runs}
    assert scenarios[(0, "baseline")].groups["team"].concurrency == 2
    assert scenarios[(1, "baseline")].groups["team"].concurrency == 4
    # The variant's own override wins over the point's value of the same path.
    assert scenarios[(1, "more_chats")].groups["team"].concurrency == 5
    assert scenarios[(2, "baseline")].groups["team"].reply_time.mean == 40.0
    # Seeds: the scenario's seed for every task; replications differ only by their index.
    assert {t.seed for t in plan.tasks.values()} == {7}
    assert {(r.replication, plan.tasks[r.key].replication) for r in plan.runs} == \
        {(0, 0), (1, 1), (2, 2)}
    # Point 0's more_chats and point 1's more_chats are the same scenario: one task each rep.
    assert len(plan.tasks) == len(plan.runs) - 3
    # The point a parameter is not set in shows the base value in the summary columns.
    assert sweep.parameter_cells(plan, 2)["groups.team.concurrency"] == 3


@pytest.mark.parametrize("path, words", [
    ("groups.team.concurrency", None),
    ("groups.anyname.schedule.shifts.0.agents", None),
    ("topics.presale.patience.mean", None),
    ("arrivals.mix_changes.0.from", None),
    ("bot.deflektion.presale", ["bot", "'deflektion'", "deflection"]),
    ("groups.team.concurrency.max", ["single value"]),
    ("groups.team.schedule.shifts.first", ["list", "'first'"]),
])
def test_parameter_paths_are_checked_against_the_scenario_model(path, words):
    problem = sweep.parameter_path_problem(path)
    if words is None:
        assert problem is None
    else:
        assert problem is not None and all(w in problem for w in words), problem


BAD_SPECS = {
    "unknown parameter path": ("""\
        scenario: tiny.yaml
        grid:
          groups.team.concurrency: [2, 3]
          bot.deflektion.presale: [0.1]
        """, "grid[bot.deflektion.presale]"),
    "empty grid": ("""\
        scenario: tiny.yaml
        grid: {}
        """, "grid: the grid is empty"),
    "empty list of values": ("""\
        scenario: tiny.yaml
        grid:
          groups.team.concurrency: []
        """, "groups.team.concurrency: empty list of values"),
    "wrong type in the last point": ("""\
        scenario: tiny.yaml
        grid:
          groups.team.concurrency: [2, 3, many]
        """, "groups.team.concurrency"),
    "wrong type in a point": ("""\
        scenario: tiny.yaml
        points:
          - {groups.team.reply_time: fast}
        """, "groups.team.reply_time"),
    "values not a list": ("""\
        scenario: tiny.yaml
        grid:
          groups.team.concurrency: 3
        """, "grid[groups.team.concurrency]"),
    "unknown spec key": ("""\
        scenario: tiny.yaml
        replicatoins: 3
        grid: {groups.team.concurrency: [2]}
        """, "replicatoins: unknown key"),
    "unknown variant": ("""\
        scenario: tiny.yaml
        variants: [baseline, pooled]
        grid: {groups.team.concurrency: [2]}
        """, "variants: unknown variant(s) pooled"),
    "missing base scenario": ("""\
        scenario: nowhere.yaml
        grid: {groups.team.concurrency: [2]}
        """, "nowhere.yaml: file not found"),
    "target metric left out of the summary": ("""\
        scenario: tiny.yaml
        metrics: [cost]
        grid: {groups.team.concurrency: [2]}
        target: {metric: reply_rate_5min, value: 0.9}
        """, "target.metric: 'reply_rate_5min' is not among metrics"),
    "a point far too large to run": ("""\
        scenario: tiny.yaml
        grid: {arrivals.rates_per_hour: [[120, 120], [5.0e+7, 5.0e+7]]}
        """, "refused before simulating"),
    "a direction that is no direction": ("""\
        scenario: tiny.yaml
        grid: {groups.team.concurrency: [2]}
        target: {metric: reply_rate_5min, value: 0.9, direction: above}
        """, "target.direction: 'above' is not one of at_least, at_most\n"),
    "plot axis not swept": ("""\
        scenario: tiny.yaml
        grid: {groups.team.concurrency: [2]}
        plots: {x: routing.mode}
        """, "plots.x"),
    "a labelled grid entry without values": ("""\
        scenario: tiny.yaml
        grid: {groups.team.concurrency: {label: chat windows, valeus: [2, 3]}}
        """, "unknown key 'valeus'"),
    "a label for a parameter not swept": ("""\
        scenario: tiny.yaml
        grid: {groups.team.concurrency: [2]}
        labels: {routing.mode: routing}
        """, "labels[routing.mode]: not a swept parameter"),
}


@pytest.mark.parametrize("case", BAD_SPECS)
def test_bad_spec_fails_before_any_task_with_exit_2(tmp_path, capsys, case):
    text, expected = BAD_SPECS[case]
    spec = write_files(tmp_path, text)
    code = main_entry(["sweep", str(spec), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {spec}: "), err
    assert expected in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()        # nothing ran, nothing written


def test_unknown_metric_name_exits_2_and_keeps_the_runs_for_a_rerun(tmp_path, capsys):
    spec = write_files(tmp_path, """\
        scenario: tiny.yaml
        replications: 1
        variants: [baseline]
        grid: {groups.team.concurrency: [2, 3]}
        target: {metric: reply_rate_5mins, value: 0.9}
        """)
    out = tmp_path / "out"
    code = main_entry(["sweep", str(spec), "--out", str(out), "--quiet", "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: {spec}: target.metric: unknown metric 'reply_rate_5mins'" in err
    assert "reply_rate_5min," in err               # the known names are listed
    assert len(list((out / "tasks").glob("*.parquet"))) == 2
    spec.write_text(spec.read_text().replace("5mins", "5min"))
    outcome = sweep.run_sweep(sweep.load_plan(spec), out, workers=1, progress=False)
    assert (outcome.computed, outcome.skipped) == (0, 2)


# --- executors ------------------------------------------------------------------------------


def test_progress_bar_on_stderr_unless_quiet(tmp_path, capsys):
    spec = write_files(tmp_path, """\
        scenario: tiny.yaml
        replications: 1
        variants: [baseline]
        grid: {groups.team.concurrency: [2, 3]}
        """)
    args = ["sweep", str(spec), "--workers", "1", "--no-plots"]
    assert main_entry([*args, "--out", str(tmp_path / "a")]) == 0
    shown = capsys.readouterr()
    assert "2/2" in shown.err and "task" in shown.err and "2/2" not in shown.out
    assert main_entry([*args, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_local_cluster_and_process_pool_give_identical_results(tmp_path):
    spec = small_spec(tmp_path)
    plan = sweep.load_plan(spec)
    pool = sweep.run_sweep(plan, tmp_path / "pool", workers=2, progress=False)
    dask = sweep.run_sweep(plan, tmp_path / "dask", workers=2, dask="local", progress=False)
    assert pool.computed == dask.computed == len(plan.tasks) == 4 * 2 * 2
    assert not pool.failures and not dask.failures
    assert (tmp_path / "pool" / sweep.SUMMARY_FILE).read_bytes() == \
        (tmp_path / "dask" / sweep.SUMMARY_FILE).read_bytes()
    names = sorted(p.name for p in (tmp_path / "pool" / "tasks").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "dask" / "tasks").iterdir())

    # Independent of the sweep's override machinery: the same point written out by hand and
    # run serially in this process gives the same numbers.
    by_hand = TINY.replace('{"00:00": 2}', '{"00:00": 1}').replace("presale: 0.2", "presale: 0.5")
    (tmp_path / "by_hand.yaml").write_text(by_hand)
    direct = run(load_scenario(tmp_path / "by_hand.yaml"), replications=2).summary
    summary = pool.summary
    point = summary[(summary["groups.team.schedule.headcount.00:00"] == 1)
                    & (summary["bot.deflection.presale"] == 0.5)]
    merged = point.merge(direct, on=SUMMARY_KEYS, suffixes=("", "_direct"))
    assert len(merged) == len(point) == 3 * 2      # metrics x variants
    assert (merged["mean"] == merged["mean_direct"]).all()
    assert (merged["ci_low"] == merged["ci_low_direct"]).all()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from sim.cli import console; console()", *args]


def _live_processes_in_group(group: int) -> list[int]:
    """Processes of a process group that are still running (zombies do not count)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            live.append(int(stat.parent.name))
    return live


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigkill_part_way_then_rerun_completes_without_recomputing(tmp_path, capsys):
    spec = write_files(tmp_path, """\
        scenario: tiny.yaml
        replications: 2
        metrics: [reply_rate_5min, cost]
        grid:
          groups.team.concurrency: [1, 2, 3, 4, 5, 6]
          groups.team.schedule.headcount.00:00: [1, 2, 3]
        """)
    # 18 points x 2 variants x 2 replications, but more_chats (concurrency 5) is the same
    # scenario at every concurrency and equals the baseline at concurrency 5: 36 distinct tasks.
    total = len(sweep.load_plan(spec).tasks)
    assert total == 36
    out = tmp_path / "out"
    tasks = out / "tasks"
    proc = subprocess.Popen(_cli("sweep", str(spec), "--out", str(out), "--workers", "2",
                                 "--quiet", "--no-plots"),
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if tasks.is_dir() and len(list(tasks.glob("*.parquet"))) >= 3:
            break
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)              # the coordinator only, as in a crash
    proc.wait()
    # Its pool workers notice and exit rather than linger as orphans.
    deadline = time.monotonic() + 10
    while _live_processes_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _live_processes_in_group(proc.pid)
    finished = {p.name: p.stat() for p in tasks.glob("*.parquet")}
    assert 3 <= len(finished) < total
    assert not (out / sweep.SUMMARY_FILE).exists()

    code = main_entry(["sweep", str(spec), "--out", str(out), "--workers", "2", "--no-plots"])
    result = capsys.readouterr()
    assert code == 0, result.err
    assert f"{total - len(finished)} tasks run, {len(finished)} reused" in result.out
    assert f"{len(finished)} already done" in result.err
    for name, before in finished.items():
        after = (tasks / name).stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), name
    assert len(list(tasks.glob("*.parquet"))) == total
    assert not list(tasks.glob(".*.tmp"))

    summary = pd.read_csv(out / sweep.SUMMARY_FILE)
    keys = ["groups.team.concurrency", "groups.team.schedule.headcount.00:00", *SUMMARY_KEYS]
    assert not summary.duplicated(subset=keys).any()
    assert len(summary) == 6 * 3 * 2 * 2           # points x variants x metrics
    assert (summary["replications"] == 2).all()

    # An uninterrupted run gives the same bytes.
    fresh = sweep.run_sweep(sweep.load_plan(spec), tmp_path / "fresh", workers=2,
                            progress=False)
    assert fresh.summary_path.read_bytes() == (out / sweep.SUMMARY_FILE).read_bytes()


def _failing_runner(scenario, replication, seed):
    """Fails every run with concurrency 4 (and logs each attempt); runs the rest normally."""
    with open(os.environ["SWEEP_TEST_LOG"], "a") as log:
        log.write(f"{scenario.groups['team'].concurrency} {replication}\n")
    if scenario.groups["team"].concurrency == 4:
        raise RuntimeError("injected failure")
    return run_one(scenario, replication, seed)


def test_failing_task_is_reported_with_its_parameters_and_others_finish(tmp_path, capsys,
                                                                       monkeypatch):
    spec = write_files(tmp_path, """\
        scenario: tiny.yaml
        replications: 2
        variants: [baseline]
        metrics: [reply_rate_5min]
        grid:
          groups.team.concurrency: [2, 4, 6]
        """)
    log = tmp_path / "attempts.log"
    monkeypatch.setenv("SWEEP_TEST_LOG", str(log))
    monkeypatch.setattr(sweep, "DEFAULT_RUNNER", _failing_runner)
    out = tmp_path / "out"
    code = main_entry(["sweep", str(spec), "--out", str(out), "--workers", "2", "--quiet",
                       "--no-plots"])
    err = capsys.readouterr().err
    assert code == EXIT_TASKS_FAILED == 4
    attempts = log.read_text().split("\n")[:-1]
    assert sorted(attempts) == sorted(["2 0", "2 1", "6 0", "6 1"] + ["4 0", "4 1"] * 2)
    assert "2 task(s) failed twice" in err
    for replication in (0, 1):
        assert (f"point (groups.team.concurrency=4) variant baseline replication {replication}"
                f" (seed 7): RuntimeError: injected failure") in err
    summary = pd.read_csv(out / sweep.SUMMARY_FILE)
    assert list(summary["groups.team.concurrency"]) == [2, 6]
    failures = pd.read_csv(out / sweep.FAILURES_FILE)
    assert list(failures["groups.team.concurrency"]) == [4, 4]
    assert list(failures["replication"]) == [0, 1]

    # Once the cause is gone, a rerun computes exactly the two missing tasks.
    monkeypatch.setattr(sweep, "DEFAULT_RUNNER", run_one)
    outcome = sweep.run_sweep(sweep.load_plan(spec), out, workers=2, progress=False)
    assert (outcome.computed, outcome.skipped, outcome.failures) == (2, 4, [])
    assert not (out / sweep.FAILURES_FILE).exists()
    assert list(outcome.summary["groups.team.concurrency"]) == [2, 4, 6]


# --- plots ------------------------------------------------------------------------------


def synthetic_summary() -> pd.DataFrame:
    """A hand-made summary: mean = 0.5 + 0.1 * agents - 0.2 * deflection, CI +-0.05."""
    rows = []
    for agents in (1, 2, 3, 4):
        for deflection in (0.0, 0.5, 1.0):
            for extra in ("a", "b"):
                mean = 0.5 + 0.1 * agents - 0.2 * deflection
                rows.append({"agents": agents, "deflection": deflection, "extra": extra,
                             "variant": "baseline", "metric": "reply_rate_5min", "mean": mean,
                             "ci_low": mean - 0.05, "ci_high": mean + 0.05, "replications": 5})
    return pd.DataFrame(rows)


def test_line_plot_draws_one_line_and_band_per_value_of_the_second_parameter():
    summary = synthetic_summary()
    figure = sweep_plots.metric_vs_parameter(summary, "reply_rate_5min", "agents", "deflection",
                                             fixed={"extra": "a"}, target=0.8)
    ax = figure.axes[0]
    lines = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(lines) == 3
    assert len(ax.collections) == 3                 # the CI bands
    np.testing.assert_allclose(lines[0].get_ydata(), [0.6, 0.7, 0.8, 0.9])
    with pytest.raises(ValueError, match="extra also varies"):
        sweep_plots.metric_vs_parameter(summary, "reply_rate_5min", "agents", "deflection")


def test_heatmap_cells_are_the_means():
    figure = sweep_plots.heatmap(synthetic_summary(), "reply_rate_5min", "agents", "deflection",
                                 fixed={"extra": "b"})
    cells = figure.axes[0].images[0].get_array()
    expected = [[0.5 + 0.1 * a - 0.2 * d for a in (1, 2, 3, 4)] for d in (0.0, 0.5, 1.0)]
    np.testing.assert_allclose(cells, expected)


def test_target_region_marks_points_meeting_the_target(tmp_path):
    summary = synthetic_summary()
    figure = sweep_plots.target_region(summary, "reply_rate_5min", 0.75, "agents", "deflection",
                                       fixed={"extra": "a"})
    met, missed = figure.axes[0].collections[-2:]
    met_points = {tuple(p) for p in met.get_offsets()}
    # mean >= 0.75 <=> 0.1 a - 0.2 d >= 0.25
    assert met_points == {(a, d) for a in (1, 2, 3, 4) for d in (0.0, 0.5, 1.0)
                          if 0.1 * a - 0.2 * d >= 0.25 - 1e-12}
    assert len(missed.get_offsets()) == 12 - len(met_points)

    target = sweep.SweepTarget(metric="reply_rate_5min", value=0.75)
    paths = sweep_plots.draw_all(summary, ["agents", "deflection", "extra"], tmp_path,
                                 target=target)
    assert sorted(p.name for p in paths) == [
        "baseline_reply_rate_5min_heatmap.png", "baseline_reply_rate_5min_line.png",
        "baseline_reply_rate_5min_target.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)


def test_a_grid_entry_may_give_its_axis_a_label(tmp_path):
    spec = write_files(tmp_path, """\
        scenario: tiny.yaml
        grid:
          groups.team.concurrency: {values: [2, 4], label: chat windows per agent}
          bot.deflection.presale: [0.0, 0.5]
        """)
    plan = sweep.load_plan(spec)
    assert plan.spec.grid["groups.team.concurrency"] == [2, 4]
    assert plan.spec.labels == {"groups.team.concurrency": "chat windows per agent"}
    assert len(plan.points) == 4


def test_targets_warnings_and_currency_do_not_change_a_task_key():
    # They judge or label results and cannot change a run: results of a sweep run before
    # they existed (or with other values) are reused.
    base = sweep.scenario_fingerprint(scenario_from_dict(yaml.safe_load(TINY)))
    document = yaml.safe_load(TINY)
    document.update(targets=["reply_rate_5min>=0.9"], warnings={"ignore": ["idle_concurrency"]},
                    metrics={"currency": "USD"})
    assert sweep.scenario_fingerprint(scenario_from_dict(document)) == base
    for absent in ('"targets"', '"warnings"', '"currency"'):
        assert absent not in base


def test_sweep_plots_speak_the_registry_and_the_labels():
    rows = []
    for agents in (16, 24):
        for deflection in (0.2, 0.5):
            cost = 30000.0 + 700 * agents
            rows.append({"agents.x": agents, "bot.deflection.presale": deflection,
                         "variant": "baseline", "metric": "cost", "mean": cost,
                         "ci_low": cost - 50, "ci_high": cost + 50, "replications": 3})
    summary = pd.DataFrame(rows)
    labels = {"agents.x": "pre-sale agents from 23:30"}
    figure = sweep_plots.heatmap(summary, "cost", "agents.x", "bot.deflection.presale",
                                 labels=labels, currency="CNY")
    ax = figure.axes[0]
    assert {t.get_text() for t in ax.texts} == {"41,200", "46,800"}   # not 4.12e+04
    assert ax.get_xlabel() == "pre-sale agents from 23:30"
    assert ax.get_ylabel() == "bot deflection of presale"   # read from the path
    assert figure.axes[1].get_ylabel() == "cost (CNY)"
    line = sweep_plots.metric_vs_parameter(summary, "cost", "agents.x",
                                           "bot.deflection.presale", labels=labels)
    ax = line.axes[0]
    assert ax.get_ylim()[0] == 0.0                       # money from zero
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "bot deflection of presale = 0.2", "bot deflection of presale = 0.5"]
    styles = [line.get_linestyle() for line in ax.lines if line.get_marker() == "o"]
    widths = [line.get_linewidth() for line in ax.lines if line.get_marker() == "o"]
    assert widths[0] > widths[1] and styles[0] == "-"    # the later line drawn thinner on top


@pytest.mark.parametrize("path, label", [
    ("groups.presale_team.schedule.headcount.2026-11-10 23:30",
     "presale_team agents from 2026-11-10 23:30"),
    ("groups.team.concurrency", "team concurrency"),
    ("topics.presale.patience.mean", "presale patience mean"),
    ("routing.overflow_after", "routing overflow after"),
])
def test_parameter_labels_read_from_the_path(path, label):
    assert sweep_plots.parameter_label(path) == label
