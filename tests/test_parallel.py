"""The executor every command runs on (`sim.parallel`): serial, local processes and Dask give
the same results to the byte; results come back in task order; errors, Ctrl-C, killed workers
and orphaned workers are handled."""

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
from conftest import MINIMAL, REPO

from sim.cli import main as main_entry
from sim.experiment import run
from sim.parallel import (
    SHARED,
    DaskExecutor,
    LocalPool,
    SerialExecutor,
    WorkerLost,
    default_workers,
    make_executor,
    resolve_workers,
)
from sim.scenario import load_scenario, scenario_from_dict
from sim.tools.staffing import find_staffing, format_report
from sim.tools.validation import Case, run_grid

#: How long a test waits for something that should take a moment, before failing.
PATIENCE_S = 60


@pytest.fixture(scope="module")
def cluster():
    """One Dask LocalCluster for the whole module (starting one takes seconds); tests reach it
    through its scheduler address, as a remote cluster would be reached."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as local:
        yield local.scheduler_address


@pytest.fixture(params=["serial", "pool", "dask"])
def executor(request):
    """Each kind of executor, with two workers where it has workers."""
    if request.param == "serial":
        made = make_executor(1, shared={"name": "shared"})
    elif request.param == "pool":
        made = make_executor(2, shared={"name": "shared"})
    else:
        made = make_executor(dask=request.getfixturevalue("cluster"), shared={"name": "shared"})
    with made:
        yield made


# --- tasks (module level, so the workers can import them) ---------------------------------------


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def _held_back(folder: str, index: int, last: int, hold: bool) -> int:
    """With `hold`, task 0 waits until the last task has run, so it finishes after the others
    started."""
    folder = Path(folder)
    if index == 0 and hold:
        _wait_for(folder / "last-ran")
    elif index == last:
        (folder / "last-ran").touch()
    return index * 10


def _fails_on_three(index: int) -> int:
    if index == 3:
        raise ValueError(f"task {index} refused its input")
    return index


def _count_in_worker(shared: dict, index: int) -> tuple[int, int, str]:
    """Counts the tasks this worker's copy of the shared object has seen."""
    shared["seen"] = shared.get("seen", 0) + 1
    return os.getpid(), shared["seen"], shared["name"]


def _dies_once(flag: str, index: int) -> int:
    """The first time task 2 runs, its worker process is killed."""
    if index == 2 and not os.path.exists(flag):
        Path(flag).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return index + 100


def _always_dies(index: int) -> int:
    if index == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return index


def _started(folder: str, index: int) -> int:
    """Notes when it started (CLOCK_MONOTONIC is one clock for every process), then works."""
    (Path(folder) / f"task-{index}").write_text(repr(time.monotonic()))
    time.sleep(0.1)
    return index


def _preparing(folder: str) -> None:
    """A `prepare` function: notes which process ran it and when."""
    (Path(folder) / f"prepare-{os.getpid()}-{time.monotonic_ns()}").write_text(
        repr(time.monotonic()))


def _prepare_fails() -> None:
    raise RuntimeError("this preparation fails")


# --- the ordered map --------------------------------------------------------------------------


def test_map_returns_task_order_when_tasks_finish_out_of_order(executor, tmp_path):
    last = 5
    hold = not isinstance(executor, SerialExecutor)   # one at a time, task 0 would wait forever
    finished = []
    results = executor.map(_held_back, [(str(tmp_path), i, last, hold) for i in range(last + 1)],
                           progress=lambda index, result: finished.append(index))
    assert results == [0, 10, 20, 30, 40, 50]
    assert sorted(finished) == list(range(last + 1))
    if hold:
        # Task 0 cannot end before the last task has run, so it did not come back first.
        assert finished[0] != 0, finished
    else:
        assert finished == list(range(last + 1))


def test_prepare_runs_on_each_worker_behind_the_tasks_of_the_next_map(tmp_path):
    import functools

    with make_executor(2) as executor:
        executor.prepare(functools.partial(_preparing, str(tmp_path)))
        results = executor.map(_started, [(str(tmp_path), i) for i in range(6)])
    assert results == list(range(6))
    prepared = sorted(tmp_path.glob("prepare-*"))
    # Once per worker, in the workers, and only once every task had started: it waited in
    # the queue behind them.
    assert len(prepared) == 2
    assert all(int(p.name.split("-")[1]) != os.getpid() for p in prepared)
    last_task = max(float(p.read_text()) for p in tmp_path.glob("task-*"))
    assert min(float(p.read_text()) for p in prepared) >= last_task
    # Submitted with the next map only, not with every map after it.
    (tmp_path / "again").mkdir()
    with make_executor(2) as executor:
        executor.prepare(functools.partial(_preparing, str(tmp_path / "again")))
        executor.map(_started, [(str(tmp_path), i) for i in range(2)])
        executor.map(_started, [(str(tmp_path), i) for i in range(2)])
    assert len(list((tmp_path / "again").iterdir())) == 2


def test_prepare_does_nothing_in_this_process_and_its_errors_are_ignored(tmp_path):
    import functools

    with make_executor(1) as serial:
        serial.prepare(functools.partial(_preparing, str(tmp_path)))
        assert serial.map(_started, [(str(tmp_path), 0)]) == [0]
    assert list(tmp_path.glob("prepare-*")) == []
    with make_executor(2) as pool:
        pool.prepare(_prepare_fails)
        assert pool.map(_started, [(str(tmp_path), i) for i in range(3)]) == [0, 1, 2]
        assert pool.map(_started, [(str(tmp_path), 7)]) == [7]


def test_map_advances_a_progress_bar_once_per_task(executor):
    class Bar:
        n = 0

        def update(self, n=1):
            self.n += n

    bar = Bar()
    assert executor.map(abs, [(-i,) for i in range(7)], progress=bar) == list(range(7))
    assert bar.n == 7


def test_a_task_error_is_re_raised_with_its_message(executor):
    with pytest.raises(ValueError, match="task 3 refused its input"):
        executor.map(_fails_on_three, [(i,) for i in range(6)])
    # The executor is still usable afterwards.
    assert executor.map(abs, [(-1,), (-2,)]) == [1, 2]


def test_shared_object_reaches_every_task_and_each_worker_keeps_its_copy(executor):
    results = executor.map(_count_in_worker, [(SHARED, i) for i in range(12)])
    assert {name for _, _, name in results} == {"shared"}
    by_worker: dict[int, list[int]] = {}
    for pid, seen, _ in results:
        by_worker.setdefault(pid, []).append(seen)
    # Each worker counted its own tasks 1, 2, 3, ...: the object stayed put between tasks.
    assert sum(len(counts) for counts in by_worker.values()) == 12
    for counts in by_worker.values():
        assert sorted(counts) == list(range(1, len(counts) + 1))
    if isinstance(executor, SerialExecutor):
        assert list(by_worker) == [os.getpid()]


def test_a_task_asking_for_shared_without_one_is_refused():
    with make_executor(1) as serial, pytest.raises(ValueError, match="shared"):
        serial.map(_count_in_worker, [(SHARED, 0)])


def test_a_killed_worker_is_replaced_and_its_tasks_run_again(tmp_path):
    flag = tmp_path / "killed"
    with make_executor(2) as pool:
        results = pool.map(_dies_once, [(str(flag), i) for i in range(6)])
        assert flag.exists()                        # a worker was killed ...
        assert results == [100, 101, 102, 103, 104, 105]   # ... and nothing was lost
        assert pool.map(abs, [(-3,)]) == [3]


def test_a_task_that_kills_its_worker_every_time_is_reported_clearly():
    with make_executor(2) as pool:
        with pytest.raises(WorkerLost, match="worker process died.*again after a restart"):
            pool.map(_always_dies, [(i,) for i in range(4)])
        assert pool.map(abs, [(-4,), (-5,)]) == [4, 5]    # a fresh pool took over


def test_run_each_reports_every_task_also_after_an_error(executor):
    seen = {}
    executor.run_each(_fails_on_three, [(i,) for i in range(5)],
                      lambda index, result, error: seen.update({index: (result, error)}))
    assert sorted(seen) == list(range(5))
    assert isinstance(seen[3][1], ValueError) and seen[3][0] is None
    assert [seen[i][0] for i in (0, 1, 2, 4)] == [0, 1, 2, 4]


# --- worker counts ------------------------------------------------------------------------------


def test_worker_count_rule():
    assert default_workers() >= 1
    assert resolve_workers(None) == default_workers()
    assert resolve_workers(None, tasks=1) == 1
    assert resolve_workers(8, tasks=3) == 3          # never more processes than tasks
    assert resolve_workers(3, tasks=0) == 1
    with pytest.raises(ValueError, match="at least 1"):
        resolve_workers(0)
    assert isinstance(make_executor(1), SerialExecutor)
    assert isinstance(make_executor(4, tasks=1), SerialExecutor)
    with make_executor(2, tasks=10) as pool:
        assert isinstance(pool, LocalPool) and pool.workers == 2


def test_dask_executor_reaches_a_scheduler_by_address(cluster):
    with make_executor(5, dask=cluster) as dask:
        assert isinstance(dask, DaskExecutor)
        assert dask.workers == 2                    # the cluster's own workers
        assert "Dask at tcp://" in dask.describe()


# --- the commands give the same bytes on every executor ----------------------------------------


def _run_files(tmp_path: Path, name: str, **options) -> tuple[dict[str, bytes], object]:
    results = run(load_scenario(MINIMAL), keep_records=True, **options)
    written = results.write(tmp_path / name, records=True)
    return {path.name: path.read_bytes() for path in written}, results


def test_run_gives_identical_bytes_on_one_two_workers_and_dask(tmp_path, cluster):
    serial, reference = _run_files(tmp_path, "serial", workers=1)
    assert set(serial) >= {"summary.csv", "intervals.csv", "replications.csv",
                           "conversations.parquet", "messages.parquet"}
    for name, options in (("pool", {"workers": 2}), ("dask", {"dask": cluster})):
        files, results = _run_files(tmp_path, name, **options)
        assert files == serial, name
        assert list(results.records) == list(reference.records)
        for key, tables in reference.records.items():
            other = results.records[key]
            for attribute in ("conversations", "messages", "duty"):
                pd.testing.assert_frame_equal(getattr(other, attribute),
                                              getattr(tables, attribute), check_exact=True)
        pd.testing.assert_frame_equal(results.interval_runs, reference.interval_runs,
                                      check_exact=True)
        assert list(results.wait_cdfs) == list(reference.wait_cdfs)
        for key, runs in reference.wait_cdfs.items():
            assert np.array_equal(results.wait_cdfs[key], runs, equal_nan=True)


def test_auto_replications_stop_at_the_same_place_on_two_workers():
    # Tight enough to need more than the pilot: two rounds of tasks.
    options = {"replications": "auto", "precision": 0.004, "max_replications": 16}
    serial = run(load_scenario(MINIMAL), workers=1, **options)
    pool = run(load_scenario(MINIMAL), workers=2, **options)
    assert (pool.stopped_by, pool.stopping) == (serial.stopped_by, serial.stopping)
    assert pool.replications == serial.replications > 5
    pd.testing.assert_frame_equal(pool.summary, serial.summary, check_exact=True)


def test_unknown_precision_metric_is_named_on_two_workers():
    with pytest.raises(KeyError, match="unknown precision metric 'nope'"):
        run(load_scenario(MINIMAL), replications="auto", precision_metric="nope", workers=2)


def test_run_progress_bar_counts_every_replication_on_two_workers(monkeypatch):
    import sim.experiment

    updates = []
    real = sim.experiment.tqdm

    class Recording(real):
        def update(self, n=1):
            updates.append(n)
            return super().update(n)

    monkeypatch.setattr(sim.experiment, "tqdm", Recording)
    results = run(load_scenario(MINIMAL), workers=2, progress=True)
    assert sum(updates) == results.replications * len(results.variants) == 6


def _every_file(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_run_command_writes_the_same_bytes_on_one_two_workers_and_dask(tmp_path, capsys,
                                                                        cluster):
    # Every file `run` writes: CSVs, records, the plots drawn on the workers, the report.
    folders = {}
    for name, options in (("serial", ["--workers", "1"]), ("pool", ["--workers", "2"]),
                          ("dask", ["--dask", cluster])):
        folders[name] = tmp_path / name
        code = main_entry(["run", str(MINIMAL), "--records", "--quiet", "--out",
                           str(folders[name]), *options])
        assert code == 0, capsys.readouterr().err
    serial = _every_file(folders["serial"])
    assert {"summary.csv", "comparison.csv", "messages.parquet", "conversations.parquet",
            "report.html", "plots/differences_chart.png", "plots/key_metrics_chart.png"} \
        <= set(serial)
    for name in ("pool", "dask"):
        files = _every_file(folders[name])
        assert sorted(files) == sorted(serial), name
        assert [n for n in serial if files[n] != serial[n]] == [], name


def test_a_pool_run_leaves_drawing_to_the_workers(tmp_path):
    # The parent of a run on two workers never imports matplotlib: the plots are the workers'
    # tasks. On one worker everything happens in this process, matplotlib included. Neither
    # imports scipy.stats (0.7 s before the first replication): the t quantiles come from
    # scipy.special, and the commands that need scipy.stats (fit, backtest) are not loaded.
    script = textwrap.dedent("""
        import sys
        from sim.cli import main
        code = main(sys.argv[1:])
        print("matplotlib" in sys.modules, "scipy.stats" in sys.modules, code)
    """)
    loaded = {}
    for workers in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", script, "run", str(MINIMAL), "--quiet", "--workers", workers,
             "--out", str(tmp_path / workers)],
            capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        loaded[workers] = done.stdout.strip().splitlines()[-1]
        assert (tmp_path / workers / "plots" / "key_metrics_chart.png").exists()
    assert loaded == {"1": "True False 0", "2": "False False 0"}


def _failing_job(_value):
    raise ValueError("this job fails")


def test_write_files_raises_a_job_error_and_keeps_the_files_written(tmp_path):
    from sim.output.files import FileJob, write_files

    jobs = [FileJob(tmp_path / "a.bin", bytes, (b"abc",)),
            FileJob(tmp_path / "b.bin", _failing_job, (1,))]
    with make_executor(2, tasks=2) as pool, pytest.raises(ValueError, match="this job fails"):
        write_files(jobs, pool)
    assert not (tmp_path / "b.bin").exists()
    assert write_files(jobs[:1]) == {tmp_path / "a.bin": b"abc"}
    assert (tmp_path / "a.bin").read_bytes() == b"abc"


def _pid_bytes(_tag):
    return str(os.getpid()).encode()


def test_write_files_makes_here_jobs_in_this_process_and_the_rest_on_workers(tmp_path):
    from sim.output.files import FileJob, write_files

    jobs = [FileJob(tmp_path / f"{i}.bin", _pid_bytes, (i,), here=i < 2) for i in range(5)]
    with make_executor(2, tasks=5) as pool:
        contents = write_files(jobs, pool)
    pids = [int(contents[job.path]) for job in jobs]
    assert pids[:2] == [os.getpid()] * 2
    assert os.getpid() not in pids[2:]
    assert [int((tmp_path / f"{i}.bin").read_bytes()) for i in range(5)] == pids
    # On one worker everything is made here, in job order.
    assert set(map(int, write_files(jobs, None).values())) == {os.getpid()}


def test_a_here_job_error_is_raised_after_the_workers_jobs_are_written(tmp_path):
    from sim.output.files import FileJob, write_files

    jobs = [FileJob(tmp_path / "bad.bin", _failing_job, (1,), here=True),
            FileJob(tmp_path / "good.bin", _pid_bytes, (0,))]
    with make_executor(2, tasks=2) as pool, pytest.raises(ValueError, match="this job fails"):
        write_files(jobs, pool)
    assert (tmp_path / "good.bin").exists() and not (tmp_path / "bad.bin").exists()


def test_run_command_passes_workers_on(tmp_path, capsys):
    code = main_entry(["run", str(MINIMAL), "--workers", "2", "--out", str(tmp_path / "two"),
                       "--quiet", "--no-report"])
    assert code == 0, capsys.readouterr().err
    code = main_entry(["run", str(MINIMAL), "--out", str(tmp_path / "one"), "--quiet",
                       "--no-report"])
    assert code == 0, capsys.readouterr().err
    for name in ("summary.csv", "intervals.csv", "replications.csv"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


STAFF_DESK = {
    "name": "staff_desk",
    "horizon": {"start": "08:00", "end": "10:00", "drain": "30min"},
    "seed": 11,
    "replications": 3,
    "arrivals": {"interval": "30min", "mix": {"presale": 1},
                 "rates_per_hour": [200, 600, 900, 400]},
    "topics": {"presale": {
        "messages": {"dist": "geometric", "mean": 2},
        "think_time": {"dist": "exponential", "mean": "30s"},
        "patience": {"dist": "exponential", "mean": "3min"},
    }},
    "groups": {"team": {
        "skills": ["presale"], "concurrency": 3, "hourly_cost": 30,
        "reply_time": {"dist": "exponential", "mean": "8s"},
        "schedule": {"headcount": {"08:00": 3}},
    }},
}


def test_staffing_is_the_same_on_one_two_workers_and_dask(cluster):
    scenario = scenario_from_dict(STAFF_DESK)
    target = "first_response_30s_rate>=0.8"
    serial = find_staffing(scenario, target, workers=1)
    for options in ({"workers": 2}, {"dask": cluster}):
        other = find_staffing(scenario, target, **options)
        assert {g: list(c) for g, c in other.headcount.items()} == \
            {g: list(c) for g, c in serial.headcount.items()}, options
        for name in ("evaluation", "mol_evaluation", "sipp_evaluation"):
            ours, theirs = getattr(other, name), getattr(serial, name)
            assert np.array_equal(ours.numerator, theirs.numerator), (options, name)
            assert np.array_equal(ours.denominator, theirs.denominator), (options, name)
        assert (other.runs, other.passes) == (serial.runs, serial.passes)
        pd.testing.assert_frame_equal(other.table(), serial.table(), check_exact=True)
        assert format_report(other) == format_report(serial)


def test_validation_grid_is_the_same_on_one_and_two_workers():
    cases = [Case("M/M/c", 2, 0.7, customers=2_000, replications=3),
             Case("chat", 2, 0.8, concurrency=2, customers=2_000, replications=3)]
    serial = run_grid(cases, workers=1)
    pool = run_grid(cases, workers=2)
    assert len(serial) == 6
    pd.testing.assert_frame_equal(pool, serial, check_exact=True)


@pytest.mark.parametrize("command", ["run", "compare", "staff", "validate"])
def test_unreachable_dask_address_exits_2_with_a_clear_message(command, tmp_path, capsys):
    args = {
        "run": ["run", str(MINIMAL), "--no-report"],
        "compare": ["compare", str(MINIMAL), "--no-report"],
        "staff": ["staff", str(MINIMAL), "--target", "reply_rate_5min>=0.9"],
        "validate": ["validate", "--quick"],
    }[command]
    code = main_entry([*args, "--out", str(tmp_path / "out"), "--quiet",
                       "--dask", "nonsense://x"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: --dask nonsense://x: cannot reach the scheduler"), err
    assert "unknown address scheme 'nonsense'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_sweep_with_unreachable_dask_address_exits_2(tmp_path, capsys):
    (tmp_path / "minimal.yaml").write_text(MINIMAL.read_text())
    spec = tmp_path / "spec.yaml"
    spec.write_text("scenario: minimal.yaml\nreplications: 1\n"
                    "grid: {groups.team.concurrency: [2, 3]}\n")
    code = main_entry(["sweep", str(spec), "--out", str(tmp_path / "out"), "--quiet",
                       "--dask", "nonsense://x"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the scheduler" in err, err
    assert not (tmp_path / "out" / "tasks").exists()


@pytest.mark.parametrize("command", ["run", "staff", "sweep"])
def test_workers_with_a_scheduler_address_is_refused(command, tmp_path, capsys):
    # The scheduler's own workers run the tasks: a count would be silently ignored.
    (tmp_path / "minimal.yaml").write_text(MINIMAL.read_text())
    spec = tmp_path / "spec.yaml"
    spec.write_text("scenario: minimal.yaml\nreplications: 1\n"
                    "grid: {groups.team.concurrency: [2, 3]}\n")
    args = {
        "run": ["run", str(MINIMAL), "--no-report"],
        "staff": ["staff", str(MINIMAL), "--target", "reply_rate_5min>=0.9"],
        "sweep": ["sweep", str(spec)],
    }[command]
    code = main_entry([*args, "--out", str(tmp_path / "out"), "--quiet",
                       "--dask", "tcp://127.0.0.1:1", "--workers", "2"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: --workers 2 has no effect with --dask tcp://127.0.0.1:1"), err
    assert not (tmp_path / "out").exists()


def test_workers_with_a_local_cluster_is_accepted(tmp_path, capsys):
    code = main_entry(["run", str(MINIMAL), "--no-report", "--replications", "2", "--quiet",
                       "--out", str(tmp_path / "out"), "--dask", "local", "--workers", "1"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "summary.csv").exists()


# --- Ctrl-C and orphans -------------------------------------------------------------------------

#: A coordinator running two pool workers, each stuck in a long task that first leaves its pid
#: in the folder given as argument.
COORDINATOR = textwrap.dedent("""\
    import os, sys, time
    from pathlib import Path
    from sim.parallel import make_executor

    def stuck(folder, index):
        Path(folder, f"{os.getpid()}.pid").touch()
        time.sleep(600)
        return index

    if __name__ == "__main__":
        with make_executor(2) as pool:
            pool.map(stuck, [(sys.argv[1], i) for i in range(6)])
    """)


def _live(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _start_coordinator(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    script = tmp_path / "coordinator.py"
    script.write_text(COORDINATOR)
    folder = tmp_path / "pids"
    folder.mkdir()
    proc = subprocess.Popen([sys.executable, str(script), str(folder)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + PATIENCE_S
    while len(list(folder.glob("*.pid"))) < 2 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.02)
    workers = [int(p.stem) for p in folder.glob("*.pid")]
    assert len(workers) == 2 and all(_live(pid) for pid in workers)
    return proc, workers


def _wait_until_gone(pids: list[int]) -> list[int]:
    deadline = time.monotonic() + 10
    while any(_live(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if _live(pid)]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_ctrl_c_stops_the_workers_mid_task(tmp_path):
    proc, workers = _start_coordinator(tmp_path)
    os.kill(proc.pid, signal.SIGINT)
    # The tasks would sleep for ten minutes: the coordinator may not wait for them.
    try:
        proc.wait(timeout=PATIENCE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the coordinator waited for its running tasks after Ctrl-C")
    err = proc.stderr.read().decode()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err, err
    assert _wait_until_gone(workers) == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_of_a_killed_coordinator_exit(tmp_path):
    proc, workers = _start_coordinator(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = _wait_until_gone(workers)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "orphaned workers kept running"
