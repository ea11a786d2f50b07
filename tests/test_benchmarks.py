"""The benchmarks' diagnostics measure what they say they do (their timings are never asserted
here: speed is judged by the benchmarks themselves)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import instructions  # scripts beside the benchmarks, importable once on the path
import working_set

from sim.arrivals import rate_table, sample_customers, streams
from sim.engine import DeskRun, simulate
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("outcome", "via_bot", "queued_s", "assigned_s", "end_at_s", "agent", "sent_s",
           "reply_s", "msg_agent", "duty_start_s", "duty_end_s")


def test_days_driven_together_are_the_days_run_alone():
    # working_set.py reads the premium of several days driven by one loop as the cost of their
    # live state; that holds only if each is exactly the day it would be alone, event for
    # event. An idle calendar in the loop must change nothing either.
    scenario = load_scenario(ROOT / "scenarios" / "double11.yaml")
    table = rate_table(scenario)
    runs = [
        DeskRun(scenario, sample_customers(scenario, streams(scenario.seed, r), table))
        for r in range(3)
    ]
    stop = scenario.horizon.end_s + scenario.horizon.drain
    working_set.drive_together(runs, stop, idle=1)
    for replication, run in enumerate(runs):
        together, alone = run.finish(), simulate(scenario, replication)
        assert len(alone.outcome) > 1000
        for name in COLUMNS:
            np.testing.assert_array_equal(
                getattr(together, name), getattr(alone, name), err_msg=name
            )


def test_the_instruction_count_child_simulates_the_case_it_names():
    # benchmarks/instructions.py divides instruction counts by the customers and messages its
    # child reports: they must be those of the simulated case (run here without Valgrind).
    import json
    import subprocess

    import baselines

    done = subprocess.run([sys.executable, "-c", instructions.CHILD, str(ROOT), "mmc", "3000"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    ran = json.loads(done.stdout.strip().splitlines()[-1])
    case = baselines.MMc(customers=3000)
    records = simulate(baselines.mmc_scenario(case), 0, case.seed)
    assert ran == {"customers": len(records.arrival_s),
                   "messages": int(records.n_messages.sum())}
    assert 2500 < ran["customers"] < 3500
    assert instructions.REFS.search("==1== I   refs:      7,032,535,652").group(1) \
        == "7,032,535,652"


def test_the_instruction_count_child_runs_ciw_on_the_benchmarks_case():
    # `instructions.py --ciw` divides Ciw's instructions by the customers its child reports:
    # they must be those of the M/M/c run that benchmarks/run.py times (Ciw is in the bench
    # extra only).
    import json
    import subprocess

    pytest.importorskip("ciw")
    import baselines

    done = subprocess.run([sys.executable, "-c", instructions.CHILD, str(ROOT), "ciw", "3000"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    ran = json.loads(done.stdout.strip().splitlines()[-1])
    timed = baselines.run_ciw(baselines.MMc(customers=3000))
    assert ran == {"customers": timed.customers}
    assert 2500 < ran["customers"] < 3500
