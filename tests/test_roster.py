"""Tests for the roster program: requirement files, shift patterns, optimality against brute
force and a published example, coverage with breaks, days off, and refusals.

Expected values come from hand counts, an independent enumeration, or pyworkforce's published
example, never from the program's own output.
"""

import datetime as dt
import itertools

import numpy as np
import pytest
import yaml

from sim.agents import duty_periods
from sim.cli import main as main_entry
from sim.scenario import scenario_from_dict
from sim.tools.roster import (
    RosterProgram,
    enumerate_patterns,
    format_duration,
    read_requirements,
    requirement_from_headcounts,
    solve_roster,
)
from sim.tools.roster_rules import RosterError, rules_from_dict

H = 3600.0


def requirement(agents: dict, start="08:00", width_s=1800.0, day0=None):
    start_s = float(start.split(":")[0]) * H + float(start.split(":")[1]) * 60
    n = len(next(iter(agents.values())))
    edges = start_s + width_s * np.arange(n + 1)
    return requirement_from_headcounts({g: np.array(v) for g, v in agents.items()}, edges, day0)


def rules(groups: dict):
    return rules_from_dict({"groups": groups})


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- the requirement file -----------------------------------------------------------------


def test_staffing_csv_reads_as_a_requirement(tmp_path):
    # The columns `supportsim staff` writes: the 'simulation' column is the requirement.
    path = write(tmp_path, "staffing.csv", (
        "group,interval_start_s,interval_end_s,clock,counted,arrivals_per_hour,mol,sipp,"
        "simulation,reply_rate_5min,ci_low,ci_high\n"
        "a,72000,72900,2026-11-10 20:00,False,10,3,2,4,0.9,0.8,1\n"
        "a,72900,73800,2026-11-10 20:15,True,10,3,2,5,0.9,0.8,1\n"
        "b,72000,72900,2026-11-10 20:00,False,10,3,2,0,0.9,0.8,1\n"
        "b,72900,73800,2026-11-10 20:15,True,10,3,2,7,0.9,0.8,1\n"))
    req = read_requirements(path)
    assert req.day0 == dt.date(2026, 11, 10)
    assert req.groups == ["a", "b"]
    assert list(req.edges_s) == [72000, 72900, 73800]
    assert list(req.agents["a"]) == [4, 5] and list(req.agents["b"]) == [0, 7]
    assert list(req.counted["b"]) == [False, True]
    assert req.label(1) == "2026-11-10 20:15-20:30"


def test_a_hand_written_requirement_needs_only_group_clock_required(tmp_path):
    path = write(tmp_path, "req.csv", "group,clock,required\nt,09:00,2\nt,08:00,1\nt,08:30,3\n")
    req = read_requirements(path)
    assert req.day0 is None
    assert list(req.edges_s) == [8 * H, 8.5 * H, 9 * H, 9.5 * H]
    assert list(req.agents["t"]) == [1, 3, 2]  # sorted by time, whatever the row order


@pytest.mark.parametrize("text, words", [
    ("", ["empty"]),
    ("group,when,required\nt,08:00,1\n", ["line 1", "missing column", "clock"]),
    ("group,clock\nt,08:00\n", ["missing column", "required"]),
    ("group,clock,required\nt,08:00,1\nt,08:30,-1\n", ["line 3", "required", "-1"]),
    ("group,clock,required\nt,08:00,1\nt,08:30,1.5\n", ["line 3", "whole number"]),
    ("group,clock,required\nt,08:00,1\nt,8h,1\n", ["line 3", "clock", "cannot read"]),
    ("group,clock,required\nt,08:00,1\nt,08:00,2\n", ["line 3", "twice", "line 2"]),
    ("group,clock,required\nt,08:00,1\nt,08:30,1\nt,09:30,1\n",
     ["line 4", "09:30 does not follow 08:30", "contiguous"]),
    ("group,clock,required\nt,08:00,1\nt,2026-11-11 08:30,1\n", ["not mixed"]),
    ("group,clock,required\nt,08:00,1\n", ["one interval only"]),
    ("group,clock,required\nt,08:00,1\nt,08:10,1\n", ["10min", "15min, 30min or 1h"]),
    ("group,clock,required\nt,08:00,1\nt,08:30,1\nu,08:00,1\n",
     ["group u does not list the same intervals"]),
    ("group,clock,required\nt,08:00,1,7\n", ["line 2", "4 fields, the header has 3"]),
])
def test_bad_requirement_files_name_the_line_and_problem(tmp_path, text, words):
    path = write(tmp_path, "req.csv", text)
    with pytest.raises(RosterError) as caught:
        read_requirements(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    for word in words:
        assert word in message, message


# --- shift patterns -------------------------------------------------------------------------


def test_patterns_are_every_start_length_and_break_placement_on_the_grid():
    # 08:00-12:00 in half-hours. Starts 08:00 and 09:00; lengths 2h and 3h; a 30-min break
    # 1h to 1h30 in, for 3h shifts only: 2 starts x (1 + 2 placements) = 6 patterns.
    req = requirement({"t": [1] * 8})
    group = rules({"t": {"shifts": [{
        "name": "s", "lengths": ["2h", "3h"], "starts": ["08:00", "09:00"], "hourly_cost": 10,
        "breaks": [{"length": "30min", "earliest": "1h", "latest": "1h30min",
                    "min_shift": "3h"}]}]}}).groups["t"]
    patterns = enumerate_patterns("t", group, req.edges_s, None)
    found = {(p.start_s / H, p.length_s / H, p.breaks) for p in patterns}
    assert found == {
        (8, 2, ()), (9, 2, ()),
        (8, 3, ((H, 1800.0),)), (8, 3, ((1.5 * H, 1800.0),)),
        (9, 3, ((H, 1800.0),)), (9, 3, ((1.5 * H, 1800.0),)),
    }
    # 08:00 for 3h with the break at 09:00: on duty 08:00-09:00 and 09:30-11:00.
    pattern = next(p for p in patterns if p.start_s == 8 * H and p.breaks == ((H, 1800.0),))
    assert list(pattern.covered(8)) == [1, 1, 0, 1, 1, 1, 0, 0]
    assert pattern.cost == pytest.approx(2.5 * 10)  # breaks are not paid


def test_a_daily_shift_past_midnight_covers_the_early_hours_of_the_same_day():
    # An undated horizon is one day that repeats, as the scenario's undated shifts do.
    req = requirement({"t": [1] * 6 + [0] * 16 + [1] * 2}, start="00:00", width_s=H)
    roster = solve_roster(req, rules({"t": {"shifts": [
        {"name": "night", "lengths": ["8h"], "starts": ["22:00"], "hourly_cost": 1}]}}))
    (pattern, agents), = roster.groups["t"].shifts
    assert (pattern.start_s, agents) == (22 * H, 1)
    assert list(roster.groups["t"].on_duty) == [1] * 6 + [0] * 16 + [1] * 2


@pytest.mark.parametrize("shift, words", [
    ({"lengths": ["45min"], "starts": ["08:00"]}, ["shifts.0.lengths", "45min", "30min"]),
    ({"lengths": ["1h"], "starts": ["08:15"]}, ["shifts.0.starts", "08:15", "grid"]),
    ({"lengths": ["2h"], "starts": ["08:00"],
      "breaks": [{"length": "20min", "earliest": "1h", "latest": "1h"}]},
     ["shifts.0.breaks.0.length", "20min"]),
    ({"lengths": ["2h"], "starts": ["08:00"],
      "breaks": [{"length": "1h", "earliest": "1h30min", "latest": "2h"}]},
     ["shifts.0.breaks", "a 2h shift has no room", "min_shift"]),
])
def test_rules_off_the_requirement_grid_are_refused(shift, words):
    req = requirement({"t": [1] * 8})
    spec = rules({"t": {"shifts": [{"name": "s", "hourly_cost": 1, **shift}]}})
    with pytest.raises(RosterError) as caught:
        solve_roster(req, spec, source="rules.yaml")
    for word in ["rules.yaml: groups.t."] + words:
        assert word in str(caught.value), str(caught.value)


def test_a_rate_is_needed_without_a_scenario_to_default_to():
    with pytest.raises(RosterError, match="shifts.0.hourly_cost: required"):
        solve_roster(requirement({"t": [1, 1]}), rules({"t": {"shifts": [
            {"name": "s", "lengths": ["1h"], "starts": ["08:00"]}]}}))
    roster = solve_roster(requirement({"t": [1, 1]}), rules({"t": {"shifts": [
        {"name": "s", "lengths": ["1h"], "starts": ["08:00"]}]}}), default_costs={"t": 30})
    assert roster.cost() == 30


# --- optimality -------------------------------------------------------------------------------


def _own_patterns(kinds, first_s, step_s, n):
    """Every allowed shift with its coverage and cost, enumerated here independently."""
    found = []
    for kind in kinds:
        for start, length in itertools.product(kind["starts_h"], kind["lengths_h"]):
            placements = [None]
            brk = kind.get("break")
            if brk and length >= brk["min_shift_h"]:
                offsets = np.arange(brk["earliest_h"], min(brk["latest_h"], length - brk["h"])
                                    + 1e-9, 0.5)
                placements = list(offsets)
            for offset in placements:
                covered = np.zeros(n, dtype=int)
                for i in range(n):
                    lo, hi = (first_s + i * step_s) / H, (first_s + (i + 1) * step_s) / H
                    on = start <= lo and hi <= start + length
                    if offset is not None:
                        on &= hi <= start + offset or lo >= start + offset + brk["h"]
                    covered[i] = on
                paid = length - (brk["h"] if offset is not None else 0)
                if covered.any():
                    found.append((start, covered, paid * kind["rate"]))
    return found


def _brute_force(patterns, required, seats, max_starts):
    """The least cost over every count vector 0..max(required) (an optimum never needs more:
    one agent fewer on a pattern above that still covers every interval it covers)."""
    top = int(required.max())
    cover = np.array([p[1] for p in patterns])
    costs = np.array([p[2] for p in patterns])
    starts = np.array([p[0] for p in patterns])
    counts = np.array(list(itertools.product(range(top + 1), repeat=len(patterns))))
    on_duty = counts @ cover
    ok = np.all(on_duty >= required, axis=1)
    if seats is not None:
        ok &= np.all(on_duty <= seats, axis=1)
    if max_starts is not None:
        for start in set(starts):
            ok &= counts[:, starts == start].sum(axis=1) <= max_starts
    return float((counts[ok] @ costs).min()) if ok.any() else None


@pytest.mark.parametrize("seed", range(6))
def test_the_program_finds_the_optimum_brute_force_finds(seed):
    rng = np.random.default_rng(seed)
    n = 8  # 08:00-12:00 in half-hours
    required = rng.integers(0, 4, n)
    kinds = [
        {"name": "full", "starts_h": [8.0, 9.0], "lengths_h": [2.0, 3.0], "rate": 10.0,
         "break": {"h": 0.5, "earliest_h": 1.0, "latest_h": 1.5, "min_shift_h": 3.0}},
        {"name": "part", "starts_h": [10.0, 11.0], "lengths_h": [1.0], "rate": 12.5},
    ]
    seats = [None, 4][seed % 2]
    max_starts = [None, 3][seed // 3]
    spec = {"shifts": [
        {"name": k["name"], "starts": [f"{int(s):02d}:{int(s % 1 * 60):02d}"
                                       for s in k["starts_h"]],
         "lengths": [format_duration(x * H) for x in k["lengths_h"]],
         "hourly_cost": k["rate"],
         "breaks": ([{"length": "30min", "earliest": "1h", "latest": "1h30min",
                      "min_shift": "3h"}] if "break" in k else [])} for k in kinds]}
    if seats:
        spec["seats"] = seats
    if max_starts:
        spec["max_starts"] = max_starts
    patterns = _own_patterns(kinds, 8 * H, 1800.0, n)
    assert len(patterns) == 8
    best = _brute_force(patterns, required, seats, max_starts)
    req = requirement({"t": required})
    if best is None:
        with pytest.raises(RosterError):
            solve_roster(req, rules({"t": spec}))
        return
    roster = solve_roster(req, rules({"t": spec}))
    assert roster.cost() == pytest.approx(best)
    assert np.all(roster.groups["t"].on_duty >= required)
    assert roster.groups["t"].status == "optimal"


# pyworkforce's MinRequiredResources example (repository rodrigo-arenas/pyworkforce,
# README.md, section "Scheduling", and examples/shifts/min_required_resources.py): two days
# of 24 hourly periods, four 8-hour shifts each covering only hours of its own day, at most 25
# agents per shift and day and 27 on duty in any hour; the published optimum is 113 agents.
PYWORKFORCE_REQUIRED = [
    [9, 11, 17, 9, 7, 12, 5, 11, 8, 9, 18, 17, 8, 12, 16, 8, 7, 12, 11, 10, 13, 19, 16, 7],
    [13, 13, 12, 15, 18, 20, 13, 16, 17, 8, 13, 11, 6, 19, 11, 20, 19, 17, 10, 13, 14, 23, 16, 8],
]
# Its "Night" shift covers hours 0-4 and 21-23 of its own day: in our terms a day-long shift
# starting at 00:00 with a 16-hour break from 05:00 (breaks are unpaid, so 8 paid hours).
PYWORKFORCE_RULES = """
groups:
  plant:
    shifts:
      - {name: Morning, starts: ["05:00"], lengths: [8h], hourly_cost: 1}
      - {name: Afternoon, starts: ["13:00"], lengths: [8h], hourly_cost: 1}
      - {name: Night, starts: ["00:00"], lengths: [24h], hourly_cost: 1,
         breaks: [{length: 16h, earliest: 5h, latest: 5h}]}
      - {name: Mixed, starts: ["09:00"], lengths: [8h], hourly_cost: 1}
    max_starts: 25
    seats: 27
"""


@pytest.fixture(scope="module")
def pyworkforce_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pyworkforce")
    lines = ["group,clock,required"]
    for day, hours in enumerate(PYWORKFORCE_REQUIRED):
        lines += [f"plant,2026-01-0{day + 1} {h:02d}:00,{n}" for h, n in enumerate(hours)]
    (folder / "req.csv").write_text("\n".join(lines) + "\n")
    (folder / "rules.yaml").write_text(PYWORKFORCE_RULES)
    return folder


def test_pyworkforce_min_required_resources_example_gives_113(pyworkforce_files):
    from sim.tools.roster_rules import read_rules

    roster = solve_roster(read_requirements(pyworkforce_files / "req.csv"),
                          read_rules(pyworkforce_files / "rules.yaml"))
    assert roster.shift_count() == 113
    assert roster.cost() == 113 * 8
    on_duty = roster.groups["plant"].on_duty
    assert np.all(on_duty >= np.ravel(PYWORKFORCE_REQUIRED)) and on_duty.max() <= 27
    assert max(n for _, n in roster.groups["plant"].shifts) <= 25


# --- coverage, breaks, days off --------------------------------------------------------------


def _scenario_with(roster, group: str, horizon: dict):
    """A scenario running the roster's schedule block as written in roster.yaml."""
    block = yaml.safe_load(yaml.safe_dump(roster.document()))["groups"][group]
    return scenario_from_dict({
        "name": "check", "horizon": horizon,
        "arrivals": {"interval": "1h", "rates_per_hour": [1] * 24, "mix": {"q": 1}},
        "topics": {"q": {"messages": {"dist": "deterministic", "value": 1},
                         "think_time": {"dist": "deterministic", "value": 0}}},
        "groups": {group: {"skills": ["q"], "reply_time": {"dist": "exponential",
                                                           "mean": "10s"}, **block}}})


def _on_duty(scenario, group: str, edges_s) -> np.ndarray:
    """Agents on duty for the whole of each interval, from the engine's duty periods."""
    periods = duty_periods(scenario.groups[group].schedule, scenario)
    return np.array([sum(1 for d in periods if d.start_s <= lo and hi <= d.end_s)
                     for lo, hi in itertools.pairwise(edges_s)])


def test_breaks_never_leave_an_interval_under_its_requirement(pyworkforce_files):
    # The roster as the engine reads it (roster.yaml's shifts through sim.agents), not as the
    # program counts it: every interval holds at least the requirement for its whole length.
    from sim.tools.roster_rules import read_rules

    req = read_requirements(pyworkforce_files / "req.csv")
    roster = solve_roster(req, read_rules(pyworkforce_files / "rules.yaml"))
    scenario = _scenario_with(roster, "plant", {"start": "2026-01-01 00:00",
                                                "end": "2026-01-03 00:00"})
    on_duty = _on_duty(scenario, "plant", req.edges_s)
    assert np.all(on_duty >= req.agents["plant"])
    assert np.array_equal(on_duty, roster.groups["plant"].on_duty)

    # Lunch breaks on a busy day: every 6h+ shift takes an hour off between 2h and 4h in.
    rng = np.random.default_rng(3)
    need = rng.integers(2, 9, 14)
    req = requirement({"t": need}, start="08:00", width_s=H)
    roster = solve_roster(req, rules({"t": {"shifts": [{
        "name": "day", "lengths": {"from": "4h", "to": "9h", "every": "1h"},
        "starts": {"from": "08:00", "to": "18:00", "every": "1h"}, "hourly_cost": 20,
        "breaks": [{"length": "1h", "earliest": "2h", "latest": "4h", "min_shift": "6h"}]}]}}))
    assert any(p.breaks for p, _ in roster.groups["t"].shifts)
    scenario = _scenario_with(roster, "t", {"start": "08:00", "end": "22:00"})
    assert np.all(_on_duty(scenario, "t", req.edges_s) >= need)


def test_days_off_limit_consecutive_working_days():
    # Three days, two agents needed 08:00-16:00 each day, one 8h shift a day at 08:00. Nobody
    # may work all three days, so six shift-days need three agents working two days each
    # (counted by hand); two agents are not enough.
    day0 = dt.date(2026, 3, 2)
    hours = np.zeros(72, dtype=int)
    for day in range(3):
        hours[day * 24 + 8: day * 24 + 16] = 2
    req = requirement_from_headcounts({"t": hours}, np.arange(73) * H, day0)
    spec = {"shifts": [{"name": "day", "lengths": ["8h"], "starts": ["08:00"],
                        "hourly_cost": 1}], "max_consecutive_days": 2}
    roster = solve_roster(req, rules({"t": spec}))
    result = roster.groups["t"]
    assert roster.shift_count() == 6 and result.agents == 3
    worked = sorted(days for days, n in result.working_days for _ in range(n))
    assert all(len(days) == 2 for days in worked)
    assert [d.isoformat() for d in (day0, day0 + dt.timedelta(1), day0 + dt.timedelta(2))] \
        == sorted({d for days in worked for d in days})
    assert len(roster.days_table()) == len(result.working_days)
    with pytest.raises(RosterError) as caught:
        solve_roster(req, rules({"t": {**spec, "team_size": 2}}), source="rules.yaml")
    message = str(caught.value)
    assert "group t: cannot cover" in message and "max_consecutive_days" in message
    # Without the limit on consecutive days two agents suffice (each works every day).
    free = solve_roster(req, rules({"t": {**spec, "max_consecutive_days": None,
                                          "team_size": 2}}))
    assert free.groups["t"].agents == 2


def test_same_input_same_roster_byte_for_byte(pyworkforce_files, tmp_path):
    outputs = []
    for run in range(2):
        out = tmp_path / f"run{run}"
        code = main_entry(["roster", "--requirements", str(pyworkforce_files / "req.csv"),
                           "--rules", str(pyworkforce_files / "rules.yaml"), "--out", str(out)])
        assert code == 0
        outputs.append({name: (out / name).read_bytes() for name in ("roster.yaml",
                                                                     "roster.csv")})
    assert outputs[0] == outputs[1]


# --- refusals ---------------------------------------------------------------------------------


def test_an_interval_no_shift_covers_is_refused_with_exit_2(tmp_path, capsys):
    req = write(tmp_path, "req.csv", "group,clock,required\n" + "".join(
        f"team,{h:02d}:{m:02d},1\n" for h in range(6) for m in (0, 30)))
    spec = write(tmp_path, "rules.yaml", """
groups:
  team:
    shifts:
      - {name: early, lengths: [3h], starts: ["00:00", "03:30"], hourly_cost: 10}
""")
    code = main_entry(["roster", "--requirements", str(req), "--rules", str(spec),
                       "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert error == (f"error: {spec}: no roster meets the rules: group team: no allowed shift "
                     "covers 03:00-03:30")
    assert not (tmp_path / "out").exists()


def test_limits_that_cannot_hold_are_named():
    req = requirement({"a": [3, 3, 1, 1], "b": [2, 2, 2, 2]})
    spec = rules({
        "a": {"shifts": [{"name": "s", "lengths": ["2h"], "starts": ["08:00"],
                          "hourly_cost": 1}], "max_starts": 2},
        "b": {"shifts": [{"name": "s", "lengths": ["1h"], "starts": ["08:00", "09:00"],
                          "hourly_cost": 1}], "seats": 1},
    })
    with pytest.raises(RosterError) as caught:
        solve_roster(req, spec, source="r.yaml")
    message = str(caught.value)
    assert "group a: max_starts 2 cannot put enough agents on duty in 08:00-09:00" in message
    assert "group b: seats 1 but up to 2 agents required in 08:00-10:00" in message


def test_rules_and_requirement_must_name_the_same_groups():
    req = requirement({"a": [1, 1]})
    shift = {"shifts": [{"name": "s", "lengths": ["1h"], "starts": ["08:00"],
                         "hourly_cost": 1}]}
    with pytest.raises(RosterError, match="groups.b: not in the requirement"):
        RosterProgram(req, rules({"a": shift, "b": shift}))
    with pytest.raises(RosterError, match="no rules for a"):
        RosterProgram(requirement({"a": [1, 1], "b": [1, 1]}), rules({"b": shift}))
