"""Snapshots (sim/engine/snapshot.py): a snapshot taken at T and resumed on the same random
streams continues the uninterrupted run exactly, on every bundled scenario, at several times
(inside the Double-11 opening spike, at a shift change, on an interval boundary), in memory and
through a YAML or JSON file."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

import sim
from sim.engine.snapshot import resume, snapshots
from sim.engine.state import DeskState, load
from sim.scenario import resolve_variants

CONVERSATION_COLUMNS = ("arrival_s", "topic", "outcome", "via_bot", "bot_reply_s", "queued_s",
                        "assigned_s", "end_at_s", "agent", "group", "on_duty_at_arrival",
                        "reported", "n_messages")
MESSAGE_COLUMNS = ("sent_s", "reply_s", "msg_agent", "work_s")
SCENARIOS = sorted(p.name for p in (REPO / "scenarios").glob("*.yaml"))
DAY = 86400.0
#: Double 11: the presale reinforcement at 23:30, the 00:00 opening (a 15-minute interval
#: boundary and the spike's start), moments inside the spike's first half hour (whole and
#: fractional seconds), the 00:15 boundary, and the 02:00 shift change.
DOUBLE11_TIMES = [DAY - 1800, DAY, DAY + 60, DAY + 299.5, DAY + 600, DAY + 900, DAY + 1200.25,
                  DAY + 1799, DAY + 7200]
#: Variants that each exercise another part of the engine (pooling, overflow rechecks, a
#: standby pool, the automatic greeting with the bot off or off-hours, a phone desk, an extra
#: shift), at one time each to keep the file fast.
VARIANTS = [("normal_day.yaml", "overflow_60s"), ("normal_day.yaml", "pooled"),
            ("outsourcing.yaml", "agency"), ("outsourcing.yaml", "agency_backlog"),
            ("bot_heavy.yaml", "no_bot"), ("bot_heavy.yaml", "off_peak_bot"),
            ("phone_and_chat.yaml", "hotline_desk"), ("phone_and_chat.yaml", "pooled"),
            ("618.yaml", "evening_push")]


def scenario(name: str, variant: str = "baseline"):
    return resolve_variants(sim.load_scenario(REPO / "scenarios" / name))[variant]


def concerned(full, at: float) -> np.ndarray:
    """Rows of the uninterrupted run a resume at `at` must reproduce: every conversation not
    closed before `at` (open then, or arriving later), in arrival order. Read from the full
    run's own records, not from the state."""
    return np.flatnonzero(~(full.end_at_s < at))


def assert_identical(full, resumed, at: float, label: str) -> None:
    expected = full.subset(concerned(full, at))
    for name in CONVERSATION_COLUMNS + MESSAGE_COLUMNS:
        want, got = getattr(expected, name), getattr(resumed, name)
        assert want.shape == got.shape, f"{label}: {name} has {got.shape} rows, not {want.shape}"
        same = np.array_equal(want, got, equal_nan=want.dtype.kind == "f")
        if not same:
            where = np.flatnonzero(~((want == got) | (np.isnan(want) & np.isnan(got)))
                                   if want.dtype.kind == "f" else want != got)
            raise AssertionError(f"{label}: {name} differs at rows {where[:5].tolist()}")


def check(scn, times, label, replication: int = 0, through=None, tmp_path=None) -> None:
    states, full = snapshots(scn, times, replication)
    assert [s.time for s in states] == sorted(times)
    for at, state in zip(sorted(times), states):
        if through is not None:
            path = tmp_path / f"state_{at}.{through}"
            path.write_text(state.dumps(json_format=through == "json"), encoding="utf-8")
            state = load(path)
        assert_identical(full, resume(scn, state), at, f"{label} at {at}")


def test_snapshots_change_nothing():
    scn = scenario("normal_day.yaml")
    _, paused = snapshots(scn, [30000.0, 50000.0])
    plain = sim.simulate(scn)
    for name in CONVERSATION_COLUMNS + MESSAGE_COLUMNS:
        assert np.array_equal(getattr(plain, name), getattr(paused, name),
                              equal_nan=getattr(plain, name).dtype.kind == "f"), name


@pytest.mark.parametrize("name", SCENARIOS)
def test_resume_is_bit_identical_on_every_scenario(name):
    scn = scenario(name)
    h = scn.horizon
    span = h.end_s - h.start_s
    check(scn, [h.start_s + 0.31 * span, h.start_s + 0.62 * span, h.end_s + 0.5 * h.drain],
          name)


@pytest.mark.parametrize(("name", "variant"), VARIANTS, ids=[f"{n}:{v}" for n, v in VARIANTS])
def test_resume_is_bit_identical_on_variants(name, variant):
    scn = scenario(name, variant)
    h = scn.horizon
    check(scn, [h.start_s + 0.47 * (h.end_s - h.start_s)], f"{name}:{variant}")


def test_resume_inside_the_double11_spike():
    check(scenario("double11.yaml"), DOUBLE11_TIMES, "double11", replication=1)


@pytest.mark.parametrize("variant", ["standby", "pooled"])
def test_resume_inside_the_double11_spike_variants(variant):
    check(scenario("double11.yaml", variant), [DAY, DAY + 1200.25, DAY + 7200],
          f"double11:{variant}", replication=2)


@pytest.mark.parametrize("through", ["yaml", "json"])
def test_resume_through_a_file(through, tmp_path):
    # The spike's busiest minutes and the shift change: big states, exact floats.
    check(scenario("double11.yaml", "standby"), [DAY + 600, DAY + 7200], f"double11 {through}",
          through=through, tmp_path=tmp_path)


def test_a_state_is_a_snapshot_of_the_open_desk():
    scn = scenario("double11.yaml")
    at = DAY + 600
    (state,), full = snapshots(scn, [at])
    assert isinstance(state, DeskState) and state.time == at
    listed = [c.id for g in state.groups.values() for a in g.agents for c in a.chats]
    listed += [c.id for chats in state.queues.values() for c in chats]
    listed += [c.id for c in state.with_bot]
    open_rows = np.flatnonzero((full.arrival_s < at) & ~(full.end_at_s < at))
    assert sorted(listed) == open_rows.tolist()
    # The opening spike: a queue, and every agent on the plan at 00:10 is on duty.
    assert sum(len(q) for q in state.queues.values()) > 0
    on_plan = {"presale_team": 30, "aftersale_team": 8}
    for group, count in on_plan.items():
        assert len(state.groups[group].agents) == count
    for group in state.groups.values():
        for agent in group.agents:
            assert len(agent.chats) <= scn.groups[next(
                n for n, g in state.groups.items() if g is group)].concurrency


def test_a_snapshot_is_taken_at_a_clock_time_as_at_seconds():
    scn = scenario("normal_day.yaml")
    assert sim.snapshot(scn, "10:30") == sim.snapshot(scn, 10.5 * 3600)
    with pytest.raises(sim.StateError, match="snapshot time: .*half past ten"):
        sim.snapshot(scn, "half past ten")


def test_a_snapshot_is_taken_at_a_datetime_of_a_dated_horizon():
    scn = scenario("double11.yaml")
    times = ["2026-11-11 00:10", dt.datetime(2026, 11, 11, 0, 10),
             pd.Timestamp("2026-11-11 00:10")]
    states, _ = snapshots(scn, times)
    assert float(states[0].time) == scn.horizon.start_s + 4 * 3600 + 600
    assert states[0] == states[1] == states[2]


def test_snapshot_time_outside_the_horizon_is_refused():
    scn = scenario("normal_day.yaml")
    with pytest.raises(sim.ScenarioError, match="not inside the scenario's horizon"):
        snapshots(scn, [scn.horizon.end_s + scn.horizon.drain + 10])
