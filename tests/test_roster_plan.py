"""Tests for the roster checked by simulation: shrinkage draws, the rounds of raising, the final
roster against the target, the written scenario reproducing the verified figures, the CLI.

The desk is four hours of one group (as in tests/test_staffing.py). Comparisons between
rosters run on the same replications (common random numbers), so they are exact, not
statistical; the one statistical test states its tolerance.
"""

import itertools
import math
import shlex

import numpy as np
import pytest
import yaml

import sim.cli.staff as staff_cli
from sim.analysis import metrics
from sim.cli import main as main_entry
from sim.engine import simulate
from sim.scenario import load_document, load_scenario, rate_table, scenario_from_dict
from sim.tools import roster_plan
from sim.tools.roster import read_requirements, requirement_from_headcounts
from sim.tools.roster_plan import (
    SHRINKAGE_STREAM,
    plan_roster,
    present_agents,
    raise_requirement,
    rostered_scenario,
    write_plan_outputs,
)
from sim.tools.roster_rules import RosterError, rules_from_dict
from sim.tools.staffing import interval_counts, parse_target

DESK = {
    "name": "small_desk",
    "horizon": {"start": "08:00", "end": "12:00", "drain": "1h"},
    "seed": 7,
    "replications": 4,
    "arrivals": {"interval": "30min", "mix": {"presale": 1},
                 "rates_per_hour": [160, 320, 640, 960, 800, 480, 320, 240]},
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
    "variants": {"more": {"groups.team.schedule.headcount": {"08:00": 5}},
                 "slower": {"groups.team.reply_time.mean": "9s"}},
}
TARGET = "first_response_30s_rate>=0.8"
#: A requirement for the desk, written by hand (about what the staffing search finds).
REQUIRED = [2, 3, 4, 6, 6, 3, 3, 2]
FLEXIBLE = {"team": {"shifts": [{
    "name": "short", "lengths": {"from": "1h", "to": "4h", "every": "30min"},
    "starts": {"from": "08:00", "to": "11:30", "every": "30min"},
    "breaks": [{"length": "30min", "earliest": "1h", "latest": "2h", "min_shift": "3h"}]}]}}
#: Long shifts with a break and 15% shrinkage: the first roster misses the target.
STRICT = {"team": {"shifts": [{
    "name": "long", "lengths": ["3h", "4h"], "starts": {"from": "08:00", "to": "09:00",
                                                       "every": "30min"},
    "breaks": [{"length": "30min", "earliest": "1h", "latest": "2h"}]}], "shrinkage": 0.15}}


@pytest.fixture(scope="module")
def desk():
    return scenario_from_dict(DESK)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("roster")
    (path / "desk.yaml").write_text(yaml.safe_dump(DESK, sort_keys=False))
    (path / "flexible.yaml").write_text(yaml.safe_dump({"groups": FLEXIBLE}))
    (path / "strict.yaml").write_text(yaml.safe_dump({"groups": STRICT}))
    lines = ["group,clock,required"] + [f"team,{8 + i // 2:02d}:{30 * (i % 2):02d},{n}"
                                        for i, n in enumerate(REQUIRED)]
    (path / "req.csv").write_text("\n".join(lines) + "\n")
    return path


def _requirement(desk):
    return requirement_from_headcounts({"team": np.array(REQUIRED)}, rate_table(desk).edges_s,
                                       None)


@pytest.fixture(scope="module")
def exact(desk):
    return plan_roster(desk, TARGET, rules_from_dict({"groups": FLEXIBLE}),
                       requirement=_requirement(desk))


@pytest.fixture(scope="module")
def strict(desk):
    return plan_roster(desk, TARGET, rules_from_dict({"groups": STRICT}),
                       requirement=_requirement(desk))


def _counts(scenario, replication, seed, target, edges):
    """The target's counts of one replication, by the engine's own customer draws."""
    tables = metrics.Tables.from_records(simulate(scenario, replication, seed))
    return interval_counts(tables, scenario, target, edges, ["presale"])


# --- shrinkage --------------------------------------------------------------------------------


def test_shrinkage_draws_are_deterministic_nested_and_unbiased():
    assert present_agents(7, 0.0, 1, 0, "team", 3) == 7
    assert present_agents(0, 0.5, 1, 0, "team", 3) == 0
    draws = [present_agents(n, 0.3, 11, 2, "team", 5) for n in range(1, 30)]
    assert draws == [present_agents(n, 0.3, 11, 2, "team", 5) for n in range(1, 30)]
    # One more rostered agent leaves the others' attendance as it was.
    assert all(0 <= b - a <= 1 for a, b in itertools.pairwise(draws))
    # Mean attendance of 10 agents at 20% shrinkage over 2,000 (replication, pattern) keys:
    # 8 expected, standard error sqrt(10 * 0.2 * 0.8 / 2000) = 0.028; tolerance 4 SE.
    values = [present_agents(10, 0.2, 5, r, "team", p) for r in range(40) for p in range(50)]
    assert abs(np.mean(values) - 8.0) < 4 * math.sqrt(10 * 0.2 * 0.8 / 2000)
    # Another replication, group or pattern draws from another stream (forty draws of 20
    # agents agreeing by chance has a probability far below 1e-20).
    def draws(replication=0, group="team", offset=0):
        return [present_agents(20, 0.5, 5, replication, group, p + offset) for p in range(40)]

    assert draws() == draws()
    assert draws(replication=1) != draws() and draws(group="b") != draws()
    assert draws(offset=40) != draws()
    assert SHRINKAGE_STREAM > 10_000  # above any replication number


def test_shrinkage_misses_agents_but_never_buyers(strict):
    # The same buyers whatever the attendance: the buyers counted per interval are the same
    # for the roster with its absences and with everyone present.
    last = strict.rounds[-1].verification
    assert np.array_equal(last.denominator, strict.full_attendance.denominator)
    assert not np.array_equal(last.numerator, strict.full_attendance.numerator)


# --- rounds -----------------------------------------------------------------------------------


def test_the_first_roster_covers_the_table_yet_misses_and_rounds_raise_where_it_failed(strict):
    assert len(strict.rounds) > 1 and strict.rounds[0].misses.any()
    assert np.all(strict.first.groups["team"].on_duty >= REQUIRED)
    for before, after in itertools.pairwise(strict.rounds):
        # Raised only where the round missed, and above the agents it had on duty there.
        missed = before.misses[0]
        assert np.array_equal(after.required["team"][~missed], before.required["team"][~missed])
        assert np.all(after.required["team"][missed]
                      > np.maximum(before.required["team"], before.roster.groups["team"].on_duty
                                   )[missed])
        assert after.roster.cost() >= before.roster.cost()
    assert strict.met and not strict.rounds[-1].misses.any()
    assert strict.final.cost() >= strict.first.cost() >= strict.headcount_cost()


def test_final_roster_meets_the_target_and_one_agent_fewer_in_the_tightest_does_not(exact):
    target = exact.target
    assert exact.met
    holds = exact.rounds[-1].verification.holds(target)
    assert holds[exact.counted].all()
    few = exact.one_fewer
    assert few is not None and not few.holds_after and few.misses_after >= 1
    assert (0, few.interval) == exact.tightest()
    # Checked again outside the plan: the roster with one agent fewer on the named shift,
    # simulated by the engine's own entry point on the same replications, misses there.
    fewer, pattern = exact.final.without_one("team", few.interval)
    assert pattern == few.pattern
    assert fewer.groups["team"].on_duty[few.interval] == \
        exact.final.groups["team"].on_duty[few.interval] - 1
    scenario = rostered_scenario(exact.scenario, {"team": fewer.groups["team"].shifts})
    num = den = 0.0
    for r in range(exact.replications):
        n, d = _counts(scenario, r, exact.seed, target, exact.edges_s)
        num, den = num + n[few.interval], den + d[few.interval]
    assert num / den == pytest.approx(few.estimate_after)
    assert not target.met(num / den)


def test_raising_goes_above_what_was_on_duty_faster_on_repeated_misses_and_back_on_regress():
    never = np.iinfo(np.int64).max
    required = np.array([[3, 3, 3, 3, 3]])
    on_duty = np.array([[3, 5, 3, 3, 4]])
    misses = np.array([[True, True, True, True, False]])
    streak = np.array([[1, 1, 3, 4, 0]])
    held_with = np.array([[never, never, never, 6, 4]])
    raised = raise_requirement(required, on_duty, misses, streak, held_with)
    # Interval 0: one above the 3 on duty. 1: one above the 5 it had (not the 3 required).
    # 2: third miss in a row, two above. 3: it held with 6 before and had 3 now: back to 6.
    # 4: held, unchanged.
    assert raised.tolist() == [[4, 6, 5, 6, 3]]


def test_a_round_limit_reports_the_misses(desk):
    plan = plan_roster(desk, TARGET, rules_from_dict({"groups": STRICT}),
                       requirement=_requirement(desk), max_rounds=1)
    assert not plan.met and len(plan.rounds) == 1 and plan.one_fewer is None
    assert plan.misses() and "still fails in" in plan.notes[-1]
    assert plan.notes[-1].count("team ") == len(plan.misses())
    # A hand-written requirement says nothing of reachability: the note says where to get it.
    assert "the staffing.csv of `supportsim staff` for this target marks them" in plan.notes[-1]


# --- the written scenario -----------------------------------------------------------------


def test_the_rostered_scenario_reproduces_the_verified_figures(exact, folder, tmp_path):
    document, path = load_document(folder / "desk.yaml")
    out = tmp_path / "out"
    write_plan_outputs(exact, document, path, out)
    rostered = load_scenario(out / "rostered.yaml")
    assert rostered.groups["team"].schedule == exact.final.schedule("team")
    # Variants changing the replaced schedule are dropped; others stay.
    assert list(rostered.variants) == ["slower"]
    # roster.yaml pasted by hand into the original scenario gives the same scenario.
    block = yaml.safe_load((out / "roster.yaml").read_text())["groups"]["team"]
    pasted = dict(document, groups={"team": {**document["groups"]["team"], **block}},
                  variants={"slower": document["variants"]["slower"]})
    pasted = scenario_from_dict(pasted, base_dir=folder)
    verified = exact.rounds[-1].verification
    for scenario in (rostered, pasted):
        for r in range(exact.replications):
            num, den = _counts(scenario, r, exact.seed, exact.target, exact.edges_s)
            assert np.array_equal(num, verified.numerator[r, 0])
            assert np.array_equal(den, verified.denominator[r, 0])


def test_with_shrinkage_the_scenario_reproduces_the_roster_with_everyone_present(strict, folder,
                                                                                tmp_path):
    document, path = load_document(folder / "desk.yaml")
    write_plan_outputs(strict, document, path, tmp_path)
    assert "shrinkage" in (tmp_path / "rostered.yaml").read_text().splitlines()[1]
    rostered = load_scenario(tmp_path / "rostered.yaml")
    for r in range(strict.replications):
        num, _ = _counts(rostered, r, strict.seed, strict.target, strict.edges_s)
        assert np.array_equal(num, strict.full_attendance.numerator[r, 0])


def test_outputs_hold_the_roster_coverage_and_report(exact, folder, tmp_path):
    document, path = load_document(folder / "desk.yaml")
    written = {p.name for p in write_plan_outputs(exact, document, path, tmp_path)}
    assert {"roster.yaml", "roster.csv", "coverage.csv", "rostered.yaml", "roster.html",
            "roster_coverage.png", "roster_shifts.png"} <= written
    coverage = (tmp_path / "coverage.csv").read_text().splitlines()
    assert coverage[0].startswith("group,interval_start_s,interval_end_s,clock,counted,"
                                  "required,required_final,on_duty_first,on_duty,"
                                  "first_response_30s_rate")
    assert len(coverage) == 1 + 8
    rows = (tmp_path / "roster.csv").read_text().splitlines()
    assert rows[0] == ("group,kind,start,end,length_h,breaks,agents,duty_hours,hourly_cost,"
                       "cost")
    assert sum(int(r.split(",")[6]) for r in rows[1:]) == exact.final.shift_count()


# --- the command line -------------------------------------------------------------------------


def test_same_seed_same_roster_byte_for_byte_on_any_executor(folder, tmp_path):
    files = ("roster.yaml", "roster.csv", "coverage.csv", "rostered.yaml", "roster.html",
             "roster_shifts.png", "roster_coverage.png")
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / workers
        code = main_entry(["roster", str(folder / "desk.yaml"), "--target", TARGET,
                           "--requirements", str(folder / "req.csv"), "--rules",
                           str(folder / "strict.yaml"), "--out", str(out), "--workers",
                           workers, "--quiet"])
        assert code == 0
        outputs.append({name: (out / name).read_bytes() for name in files})
    assert outputs[0] == outputs[1]


def test_cli_round_limit_exits_3_with_the_misses(folder, tmp_path, capsys):
    code = main_entry(["roster", str(folder / "desk.yaml"), "--target", TARGET,
                       "--requirements", str(folder / "req.csv"), "--rules",
                       str(folder / "strict.yaml"), "--out", str(tmp_path), "--max-rounds", "1",
                       "--quiet"])
    printed = capsys.readouterr().out
    assert code == 3
    assert printed.startswith(f"target {TARGET} NOT met")
    assert "still fails in" in printed and (tmp_path / "roster.yaml").exists()


def test_cli_staff_feeds_roster_and_the_rostered_scenario_runs(folder, tmp_path, capsys):
    out = tmp_path / "search"
    code = main_entry(["roster", str(folder / "desk.yaml"), "--target", TARGET, "--rules",
                       str(folder / "flexible.yaml"), "--out", str(out), "--replications", "3",
                       "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.startswith(f"target {TARGET} met")
    assert "price of the shift rules" in printed and "tightest interval" in printed
    # The search's requirement, written as staffing.csv, feeds `roster --requirements`.
    requirement = read_requirements(out / "staffing.csv")
    coverage = (out / "coverage.csv").read_text().splitlines()[1:]
    assert [int(line.split(",")[5]) for line in coverage] == list(requirement.agents["team"])
    code = main_entry(["roster", "--requirements", str(out / "staffing.csv"), "--rules",
                       str(folder / "flexible.yaml"), "--out", str(tmp_path / "req")])
    assert code == 2  # the flexible rules name no rate: a scenario gives it, a CSV does not
    assert "hourly_cost: required" in capsys.readouterr().err
    code = main_entry(["run", str(out / "rostered.yaml"), "--replications", "2", "--out",
                       str(tmp_path / "run"), "--quiet", "--no-report"])
    assert code == 0
    # The search is the one `supportsim staff` runs with the same options, to the byte.
    code = main_entry(["staff", str(folder / "desk.yaml"), "--target", TARGET,
                       "--replications", "3", "--out", str(tmp_path / "staff"), "--quiet"])
    assert code == 0
    assert (tmp_path / "staff" / "staffing.csv").read_bytes() == (
        out / "staffing.csv").read_bytes()


def test_roster_searches_with_the_options_staff_searches_with(folder, tmp_path, monkeypatch):
    # This desk settles in one pass either way, so the options themselves are compared: a
    # roster whose search defaulted to other passes gave another requirement than `staff` on
    # Double 11 (658.2 agent-hours against 668.2, with --replications 3).
    asked = {}

    def recording(name, search):
        def find(*args, **kwargs):
            asked[name] = kwargs
            return search(*args, **kwargs)
        return find

    monkeypatch.setattr(staff_cli, "find_staffing", recording("staff", staff_cli.find_staffing))
    monkeypatch.setattr(roster_plan, "find_staffing",
                        recording("roster", roster_plan.find_staffing))
    common = [str(folder / "desk.yaml"), "--target", TARGET, "--replications", "2", "--quiet"]
    assert main_entry(["staff", *common, "--out", str(tmp_path / "s")]) == 0
    assert main_entry(["roster", *common, "--rules", str(folder / "flexible.yaml"), "--out",
                       str(tmp_path / "r")]) == 0
    desk = load_scenario(folder / "desk.yaml")
    scenario_default = {"replications": desk.replications, "seed": desk.seed}
    for option in ("replications", "seed", "all_day", "max_passes", "max_agents"):
        mine, theirs = (asked[name][option] for name in ("roster", "staff"))
        if option in scenario_default:  # None is the scenario's own
            mine, theirs = (scenario_default[option] if v is None else v for v in (mine, theirs))
        assert mine == theirs, option


def test_the_command_the_headers_name_finds_the_same_roster(folder, tmp_path):
    code = main_entry(["roster", str(folder / "desk.yaml"), "--target", TARGET,
                       "--requirements", str(folder / "req.csv"), "--rules",
                       str(folder / "strict.yaml"), "--out", str(tmp_path / "first"),
                       "--max-rounds", "1", "--seed", "7", "--quiet"])
    assert code == 3
    first = tmp_path / "first"
    named = {(first / name).read_text().splitlines()[0]
             for name in ("roster.yaml", "rostered.yaml")}
    assert len(named) == 1
    command = shlex.split(named.pop().split("`")[1])
    assert command[:2] == ["supportsim", "roster"]
    for flag, value in (("--rules", folder / "strict.yaml"), ("--requirements",
                                                              folder / "req.csv"),
                        ("--max-rounds", "1"), ("--seed", "7")):
        assert command[command.index(flag) + 1] == str(value)
    # Run again, the command gives the same files.
    again = tmp_path / "again"
    assert main_entry([*command[1:], "--out", str(again), "--quiet"]) == code
    for name in ("roster.yaml", "rostered.yaml", "coverage.csv"):
        assert (again / name).read_bytes() == (first / name).read_bytes()


@pytest.mark.parametrize("args, words", [
    (["--target", TARGET, "--requirements", "REQ"], ["--target needs a SCENARIO"]),
    (["SCENARIO"], ["give --target EXPR"]),
    ([], ["give --requirements REQ.csv, or a SCENARIO with --target"]),
    (["--requirements", "REQ", "--seed", "3"], ["--seed only applies with a SCENARIO"]),
    (["SCENARIO", "--target", "reply_rate_5min>=1.5"], ["outside [0, 1]"]),
    (["SCENARIO", "--target", TARGET, "--requirements", "OTHER"],
     ["its intervals (09:00-10:00 in 30min steps) are not the scenario's (08:00-12:00"]),
    (["SCENARIO", "--target", TARGET, "--rules", "UNKNOWN"],
     ["groups.nobody: the scenario has no such group"]),
])
def test_cli_refuses_bad_combinations_with_exit_2(folder, tmp_path, capsys, args, words):
    (tmp_path / "other.csv").write_text("group,clock,required\nteam,09:00,1\nteam,09:30,1\n")
    (tmp_path / "unknown.yaml").write_text(yaml.safe_dump({"groups": {"nobody": FLEXIBLE[
        "team"]}}))
    names = {"SCENARIO": str(folder / "desk.yaml"), "REQ": str(folder / "req.csv"),
             "OTHER": str(tmp_path / "other.csv"), "UNKNOWN": str(tmp_path / "unknown.yaml")}
    argv = [names.get(a, a) for a in args]
    if "--rules" not in argv:
        argv += ["--rules", str(folder / "flexible.yaml")]
    code = main_entry(["roster", *argv, "--out", str(tmp_path / "out"), "--quiet"])
    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1 and error.startswith("error: ")
    for word in words:
        assert word in error, error


def test_plan_refuses_bad_arguments(desk):
    with pytest.raises(RosterError, match="max_rounds must be at least 1"):
        plan_roster(desk, parse_target(TARGET), rules_from_dict({"groups": FLEXIBLE}),
                    requirement=_requirement(desk), max_rounds=0)


# --- cells no staffing brings to the target -------------------------------------------------


#: The desk with a second team whose replies take 40 s: none of its buyers is first answered
#: within 30 s, however many agents it has.
TWO_TEAMS = {**DESK, "variants": {},
             "arrivals": {**DESK["arrivals"], "mix": {"presale": 0.6, "aftersale": 0.4}},
             "topics": {**DESK["topics"], "aftersale": DESK["topics"]["presale"]},
             "groups": {**DESK["groups"], "slow": {
                 **DESK["groups"]["team"], "skills": ["aftersale"],
                 "reply_time": {"dist": "deterministic", "value": "40s"}}}}
TWO_RULES = {"groups": {"team": FLEXIBLE["team"], "slow": FLEXIBLE["team"]}}


@pytest.fixture(scope="module")
def two_teams():
    desk = scenario_from_dict(TWO_TEAMS)
    return desk, plan_roster(desk, TARGET, rules_from_dict(TWO_RULES), replications=3,
                             check_one_fewer=False)


def _judged_apart(plan):
    """The plan covers the slow team's cells without raising them, judges the other team
    alone, and says so."""
    slow = plan.groups.index("slow")
    n = len(plan.edges_s) - 1
    assert plan.beyond is not None
    assert plan.beyond[slow].all() and not plan.beyond[1 - slow].any()
    assert not plan.counted[slow].any() and plan.counted[1 - slow].all()
    # The slow team's requirement is never raised: what the search staffed is what is covered.
    for r in plan.rounds:
        np.testing.assert_array_equal(r.required["slow"], plan.requirement.agents["slow"])
    assert plan.met, plan.notes
    assert plan.met_text().endswith(
        f"met in every counted interval but the {n} that more agents cannot bring to it by the "
        f"roster (round {len(plan.rounds)})")
    assert any(note.startswith(f"{n} counted interval(s) cannot meet the target by adding "
                               "agents") for note in plan.notes)
    table = plan.table()
    slow_rows = table[table["group"] == "slow"]
    assert slow_rows["counted"].all()  # counted, not met, and marked
    assert not slow_rows["met"].any() and not slow_rows["reachable"].any()
    assert table[table["group"] == "team"]["reachable"].all()


def test_cells_more_agents_cannot_help_are_left_out_of_the_rounds_and_named(two_teams):
    _judged_apart(two_teams[1])


def test_a_staffing_csv_carries_the_cells_more_agents_cannot_help(two_teams, tmp_path):
    # `roster --requirements staffing.csv` (the documented two-step use) reads the search's
    # `reachable` column: the same cells are covered and left out of the rounds, which
    # otherwise raise them in vain until --max-rounds.
    desk, plan = two_teams
    path = tmp_path / "staffing.csv"
    plan.staffing.table().to_csv(path, index=False)
    requirement = read_requirements(path)
    assert not requirement.reachable["slow"].any() and requirement.reachable["team"].all()
    again = plan_roster(desk, TARGET, rules_from_dict(TWO_RULES), requirement=requirement,
                        replications=3, check_one_fewer=False)
    _judged_apart(again)
    np.testing.assert_array_equal(again.beyond, plan.beyond)
    assert again.final.cost() == plan.final.cost()


def test_the_roster_files_agree_on_the_cells_more_agents_cannot_help(two_teams, tmp_path):
    plan = two_teams[1]
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(TWO_TEAMS, sort_keys=False))
    document, path = load_document(path)
    write_plan_outputs(plan, document, path, tmp_path / "out")
    n = len(plan.edges_s) - 1
    page = (tmp_path / "out" / "roster.html").read_text()
    assert (f"met in every counted interval but the {n} that more agents cannot bring to it"
            in page)
    assert "met</strong> in every counted interval" not in page
    assert f"counted intervals missing (of the {n} that more agents can bring to it)" in page
    assert page.count("missed (more agents cannot reach it)") == n
    assert page.count(">MISSED<") == 0
    rostered = load_scenario(tmp_path / "out" / "rostered.yaml")
    assert f"but the {n} that more agents cannot bring to it" in rostered.description
    import pandas as pd

    staffing = pd.read_csv(tmp_path / "out" / "staffing.csv")
    assert not staffing[staffing["group"] == "slow"]["reachable"].any()
    coverage = pd.read_csv(tmp_path / "out" / "coverage.csv")
    assert list(coverage["reachable"]) == list(~plan.beyond.ravel())
    from sim.output import roster_plots

    figure = roster_plots.coverage(plan.final, plan)  # marked, not shaded as uncounted
    assert "more agents cannot reach the target" in [
        t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    # Every interval is counted on this desk: the label names the orange marks only.
    assert figure.axes[-1].get_xlabel() == ("time (orange: counted, but more agents cannot "
                                            "reach the target)")


def test_a_roster_where_no_counted_cell_can_meet_the_target_says_so():
    doc = {**TWO_TEAMS, "arrivals": {**DESK["arrivals"], "mix": {"aftersale": 1}},
           "topics": {"aftersale": DESK["topics"]["presale"]},
           "groups": {"slow": TWO_TEAMS["groups"]["slow"]}}
    plan = plan_roster(scenario_from_dict(doc), TARGET,
                       rules_from_dict({"groups": {"slow": FLEXIBLE["team"]}}),
                       replications=2, check_one_fewer=False)
    n = len(plan.edges_s) - 1
    assert plan.beyond_count() == n and not plan.counted.any()
    assert plan.met_text().startswith(f"target {parse_target(TARGET)}: more agents cannot "
                                      f"bring any of the {n} counted intervals to it")
    assert "met in" not in plan.met_text()


def test_a_staffing_csv_for_another_target_is_not_trusted_for_reachability(two_teams, tmp_path):
    # The `reachable` column says which cells more agents cannot bring to the target the
    # search ran for; for another target it says nothing, so every counted cell is judged.
    desk, plan = two_teams
    path = tmp_path / "staffing.csv"
    plan.staffing.table().to_csv(path, index=False)
    requirement = read_requirements(path)
    assert requirement.target == parse_target(TARGET)
    other = "first_response_30s_rate>=0.5"
    again = plan_roster(desk, other, rules_from_dict(TWO_RULES), requirement=requirement,
                        replications=3, check_one_fewer=False, max_rounds=1)
    assert again.beyond is None and again.counted.all()
    assert any("its reachable column was found for first_response_30s_rate>=0.8, not "
               "first_response_30s_rate>=0.5, so it is not used" in n for n in again.notes)


def test_a_requirement_file_names_one_target(tmp_path):
    rows = ["group,clock,required,reachable,target", "team,08:00,2,True,reply_rate_5min>=0.95",
            "team,08:30,3,False,reply_rate_5min>=0.9"]
    path = tmp_path / "req.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(RosterError, match=r"req.csv: line 3: target: 'reply_rate_5min>=0.9', "
                                          r"but line 2 says 'reply_rate_5min>=0.95'"):
        read_requirements(path)
    path.write_text("\n".join(rows[:2] + ["team,08:30,3,maybe,reply_rate_5min>=0.95"]) + "\n")
    with pytest.raises(RosterError, match="line 3: reachable: 'maybe' is not true or false"):
        read_requirements(path)
    path.write_text("\n".join(rows[:1] + ["team,08:00,2,True,speed>=3"]) + "\n")
    with pytest.raises(RosterError, match="line 2: target: "):
        read_requirements(path)
    # The same target written two ways is one target, even where `str` rounds it.
    for first, second in (("reply_rate_5min>=0.95", "reply_rate_5min>=95%"),
                          ("reply_rate_5min>=80.1%", "reply_rate_5min>=0.801")):
        path.write_text(f"group,clock,required,reachable,target\nteam,08:00,2,True,{first}\n"
                        f"team,08:30,3,False,{second}\n")
        assert read_requirements(path).target.same_as(parse_target(first))
    # Without a reachable column the target is not used, and may be blank.
    path.write_text("group,clock,required,target\nteam,08:00,2,\nteam,08:30,3,x\n")
    assert read_requirements(path).target is None


def test_a_target_written_rounded_in_staffing_csv_still_matches(two_teams, tmp_path):
    # staffing.csv writes the target as str() does, to six digits: 80.1% reads back as
    # 0.801, which is not the float 80.1 / 100. It is the same target.
    import dataclasses

    desk, plan = two_teams
    path = tmp_path / "staffing.csv"
    table = plan.staffing.table()
    target = parse_target("first_response_30s_rate>=80.1%")
    assert str(target) == "first_response_30s_rate>=0.801" and target.value != 0.801
    table["target"] = str(target)
    table.to_csv(path, index=False)
    again = plan_roster(desk, target, rules_from_dict(TWO_RULES),
                        requirement=read_requirements(path), replications=3,
                        check_one_fewer=False)
    assert again.beyond is not None and again.beyond_count() == plan.beyond_count()
    assert not any("not used" in note for note in again.notes)
    assert dataclasses.replace(target, value=0.8).same_as(target) is False


def test_cells_marked_out_of_reach_that_the_roster_meets_are_named_and_not_judged(two_teams,
                                                                                  tmp_path):
    # A requirement file that marks a cell of the fast team unreachable: the rounds leave it
    # out (as the file says), the tables show it met, and the note says so.
    desk, plan = two_teams
    table = plan.staffing.table()
    fast = (table["group"] == "team") & (table["clock"] == "09:00")
    table.loc[fast, "reachable"] = False
    path = tmp_path / "marked.csv"
    table.to_csv(path, index=False)
    again = plan_roster(desk, TARGET, rules_from_dict(TWO_RULES),
                        requirement=read_requirements(path), replications=3,
                        check_one_fewer=False)
    team, i = again.groups.index("team"), 2
    assert again.beyond[team, i] and not again.counted[team, i]
    rows = again.table()
    row = rows[(rows["group"] == "team") & (rows["clock"] == "09:00")].iloc[0]
    assert row["met"] and not row["reachable"]
    n = again.beyond_count()
    note = next(note for note in again.notes if note.startswith(f"{n} counted interval(s)"))
    assert f"({path} marks them reachable false)" in note
    assert note.endswith("this roster meets the target in 1 of them anyway")
    # The rounds count the same cells as the header: no round counts a marked cell.
    for r in again.rounds:
        assert not (r.misses & again.beyond).any()


def test_a_horizon_with_no_counted_interval_says_so(tmp_path):
    doc = {**DESK, "variants": {}, "horizon": {"start": "01:00", "end": "05:00", "drain": "1h"}}
    plan = plan_roster(scenario_from_dict(doc), "reply_rate_5min>=0.95",
                       rules_from_dict({"groups": {"team": {"shifts": [{
                           **FLEXIBLE["team"]["shifts"][0],
                           "starts": {"from": "01:00", "to": "04:30", "every": "30min"}}]}}}),
                       replications=2, check_one_fewer=False)
    assert not plan.counted.any()
    assert plan.met_text().startswith("target reply_rate_5min>=0.95: no interval of the "
                                      "horizon is counted")
    assert plan.aim() == "in the counted intervals (none in this horizon)"
