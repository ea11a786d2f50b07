"""Tests for the shift rules file: what it accepts, and how it refuses what it cannot use."""

from pathlib import Path

import pytest

from sim.cli import main as main_entry
from sim.tools.roster_rules import RosterError, read_rules, rules_from_dict

GOOD = """
groups:
  team:
    shifts:
      - name: full_time
        lengths: {from: 6h, to: 8h, every: 30min}
        starts: {from: "08:00", to: "10:00", every: 1h}
        breaks: [{length: 1h, earliest: 3h, latest: 5h, min_shift: 7h}]
        hourly_cost: 30
      - name: part_time
        lengths: [4h, 4h, 2h]
        starts: ["18:00", "12:00"]
    max_starts: 5
    seats: 20
    team_size: 30
    max_consecutive_days: 5
    shrinkage: 0.1
"""


def write(tmp_path, text, name="rules.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_rules_file_reads_into_lengths_starts_and_limits(tmp_path):
    rules = read_rules(write(tmp_path, GOOD))
    team = rules.groups["team"]
    full, part = team.shifts
    assert full.length_values() == [21600.0, 23400.0, 25200.0, 27000.0, 28800.0]
    assert full.start_values() == [8 * 3600.0, 9 * 3600.0, 10 * 3600.0]
    # Lists are sorted and de-duplicated: the order of the file does not matter.
    assert part.length_values() == [7200.0, 14400.0]
    assert part.start_values() == [12 * 3600.0, 18 * 3600.0]
    assert full.breaks[0].min_shift == 7 * 3600.0 and full.breaks[0].every is None
    assert part.hourly_cost is None and full.hourly_cost == 30
    assert (team.max_starts, team.seats, team.team_size, team.max_consecutive_days,
            team.shrinkage) == (5, 20, 30, 5, 0.1)


@pytest.mark.parametrize("text, words", [
    ("groups: {team: {shifts: [{name: a, lenghts: [4h], starts: ['08:00']}]}}",
     ["groups.team.shifts.0.lenghts", "unknown key", "docs/roster.md"]),
    ("groups: {team: {shifts: [{name: a, lengths: [4h], starts: ['08:00']}], seat: 3}}",
     ["groups.team.seat", "unknown key"]),
    (("groups: {team: {shifts: [{name: a, lengths: {from: 8h, to: 4h, every: 1h}, "
     "starts: ['08:00']}]}}"), ["groups.team.shifts.0.lengths", "must not be shorter"]),
    (("groups: {team: {shifts: [{name: a, lengths: [4h], starts: {from: '20:00', to: '02:00', "
     "every: 1h}}]}}"), ["groups.team.shifts.0.starts", "does not wrap"]),
    ("groups: {team: {shifts: [{name: a, lengths: [4h], starts: ['2026-11-11 08:00']}]}}",
     ["groups.team.shifts.0.starts", "daily clock times"]),
    (("groups: {team: {shifts: [{name: a, lengths: [4h], starts: ['08:00'], "
     "breaks: [{length: 1h, earliest: 3h, latest: 2h}]}]}}"),
     ["groups.team.shifts.0.breaks.0", "latest must not be before earliest"]),
    ("groups: {team: {shifts: [{name: a, lengths: [4h], starts: ['08:00']}], shrinkage: 1}}",
     ["groups.team.shrinkage", "less than 1"]),
    ("groups: {team: {shifts: [{name: a, lengths: [4h], starts: ['08:00']}], seats: 0}}",
     ["groups.team.seats", "greater than or equal to 1"]),
    (("groups: {team: {shifts: [{name: a, lengths: [4h], starts: ['08:00']}, "
     "{name: a, lengths: [6h], starts: ['08:00']}]}}"), ["groups.team.shifts", "a repeated"]),
    ("groups: {team: {shifts: [{name: a, lengths: [50h], starts: ['08:00']}]}}",
     ["groups.team.shifts.0", "48h"]),
    ("groups: {team: {shifts: [{name: a, lengths: [4 hours], starts: ['08:00']}]}}",
     ["groups.team.shifts.0.lengths", "cannot read duration"]),
    ("groups: {team: {shifts: [{name: a, lengths: 4h, starts: ['08:00']}]}}",
     ["groups.team.shifts.0.lengths: expected a list or a mapping, got '4h'"]),
    (("groups: {team: {shifts: [{name: a, lengths: {from: 4h, to: 8h}, "
      "starts: ['08:00']}]}}"), ["groups.team.shifts.0.lengths.every: required field"]),
    ("groups: {team: {shifts: []}}", ["groups.team.shifts", "at least 1"]),
    ("groups: {}", ["groups", "at least 1"]),
])
def test_bad_rules_are_refused_naming_the_field(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(RosterError) as caught:
        read_rules(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("text, words", [
    ("", ["the file is empty"]),
    ("- a\n- b\n", ["expected a mapping of shift rules"]),
    ("groups: !!python/object:os.system {}", ["not allowed"]),
    ("groups: {team: 1}\ngroups: {team: 2}\n", ["duplicate key"]),
])
def test_unreadable_rules_files_name_the_problem(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(RosterError) as caught:
        read_rules(path)
    for word in words:
        assert word in str(caught.value)


def test_rules_from_a_mapping():
    rules = rules_from_dict({"groups": {"g": {"shifts": [
        {"name": "x", "lengths": ["2h"], "starts": ["09:00"]}]}}})
    assert rules.groups["g"].shifts[0].length_values() == [7200.0]
    with pytest.raises(RosterError, match="<rules>: groups.g.shifts: Input should be"):
        rules_from_dict({"groups": {"g": {"shifts": None}}})


def test_cli_refuses_bad_rules_with_exit_2_and_one_line(tmp_path, capsys):
    rules = write(tmp_path, "groups: {team: {shifts: [{name: a, lengths: [4h]}]}}")
    requirement = write(tmp_path, "group,clock,required\nteam,08:00,1\nteam,08:30,1\n",
                        "req.csv")
    code = main_entry(["roster", "--requirements", str(requirement), "--rules", str(rules),
                       "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert error == f"error: {rules}: groups.team.shifts.0.starts: required field is missing"


@pytest.mark.parametrize("lengths, starts, expected", [
    # One member of the union (a list) fits the kind of value: its error alone, and the
    # location without pydantic's name for the member.
    ("[8h, 9hours]", "['08:00']",
     "groups.team.shifts.0.lengths.1: cannot read duration '9hours'"),
    ("[8h]", "['08:00', 9]", "groups.team.shifts.0.starts.1: expected a clock time"),
    ("{from: 8h, to: 9h, every: 1 hour}", "['08:00']",
     "groups.team.shifts.0.lengths.every: cannot read duration '1 hour'"),
])
def test_a_bad_item_in_a_list_or_range_is_one_line_naming_it(tmp_path, capsys, lengths, starts,
                                                             expected):
    rules = write(tmp_path, f"""
groups:
  team:
    shifts:
      - name: full_time
        lengths: {lengths}
        starts: {starts}
        hourly_cost: 30
""")
    requirement = write(tmp_path, "group,clock,required\nteam,08:00,1\nteam,09:00,1\n",
                        "req.csv")
    code = main_entry(["roster", "--requirements", str(requirement), "--rules", str(rules),
                       "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert error.startswith(f"error: {rules}: {expected}"), error
    assert "\n" not in error and "Traceback" not in error
    for internal in ("list[", "function-", "LengthRange", "StartWindow", "Input should be"):
        assert internal not in error, error


def test_the_bundled_double11_rules_fit_the_scenario():
    from sim.scenario import load_scenario, rate_table
    from sim.tools.roster import enumerate_patterns

    root = Path(__file__).resolve().parents[1]
    scenario = load_scenario(root / "scenarios" / "double11.yaml")
    rules = read_rules(root / "scenarios" / "rules" / "double11.yaml")
    assert set(rules.groups) == {"presale_team", "aftersale_team"}
    edges = rate_table(scenario).edges_s
    for name, group in rules.groups.items():
        assert group.shrinkage == 0.05
        patterns = enumerate_patterns(name, group, edges, scenario.horizon.day0,
                                      scenario.groups[name].hourly_cost)
        # Nov 11: 48 half-hour starts x (4 lengths under 6h without a break + 9 lengths from
        # 6h to 10h x 5 break starts, 3h to 5h on the half hour), every one on duty in the grid.
        on_the_sale_day = [p for p in patterns if p.start_s >= 86400]
        assert len(on_the_sale_day) == 48 * (4 + 9 * 5)
        assert {p.hourly_cost for p in patterns} == {35.0}
