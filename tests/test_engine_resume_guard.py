"""The engine keeps snapshots exact: a snapshot taken during a run and resumed on the same
random streams gives the uninterrupted run's records for every conversation not closed before
it. A guard for changes to the engine's bookkeeping (sim/engine/flow.py, pool.py, shifts.py),
on the scenarios and variants that exercise most of it: the bot, overflow rechecks, standby,
shift changes and the Double-11 opening spike."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO

import sim
from sim.engine.snapshot import resume, snapshots
from sim.scenario import resolve_variants

COLUMNS = ("arrival_s", "topic", "outcome", "via_bot", "bot_reply_s", "queued_s", "assigned_s",
           "end_at_s", "agent", "group", "on_duty_at_arrival", "n_messages", "sent_s",
           "reply_s", "msg_agent", "work_s")
DAY = 86400.0
CASES = [
    # (scenario, variant, times as fractions of the horizon, or absolute seconds)
    ("normal_day.yaml", "baseline", [0.25, 0.7]),
    ("double11.yaml", "baseline", [DAY + 120.0, DAY + 1000.5]),  # inside the opening spike
    ("normal_day.yaml", "overflow_60s", [0.55]),
    ("outsourcing.yaml", "agency_backlog", [0.5]),
]


def scenario(name: str, variant: str):
    return resolve_variants(sim.load_scenario(REPO / "scenarios" / name))[variant]


@pytest.mark.parametrize(("name", "variant", "times"), CASES,
                         ids=[f"{n}:{v}" for n, v, _ in CASES])
def test_resume_continues_the_uninterrupted_run(name, variant, times):
    scn = scenario(name, variant)
    h = scn.horizon
    at = [t if t > 1.0 else h.start_s + t * (h.end_s - h.start_s) for t in times]
    states, full = snapshots(scn, at)
    plain = sim.simulate(scn)
    for column in COLUMNS:  # taking snapshots changes nothing
        assert np.array_equal(getattr(plain, column), getattr(full, column),
                              equal_nan=getattr(plain, column).dtype.kind == "f"), column
    for t, state in zip(sorted(at), states):
        rows = np.flatnonzero(~(full.end_at_s < t))  # open at t or arriving later
        assert len(rows) > 0
        expected, resumed = full.subset(rows), resume(scn, state)
        for column in COLUMNS:
            want, got = getattr(expected, column), getattr(resumed, column)
            assert want.shape == got.shape, (t, column)
            assert np.array_equal(want, got, equal_nan=want.dtype.kind == "f"), (t, column)
