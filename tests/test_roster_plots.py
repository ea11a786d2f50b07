"""Tests for the roster plots and the roster report: what they draw is the roster's data."""

import base64
import re

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from test_roster_plan import DESK, REQUIRED, STRICT, TARGET

from sim.output import roster_plots
from sim.output.report import figure_png
from sim.output.roster_report import render_roster_html
from sim.scenario import rate_table, scenario_from_dict
from sim.tools.roster import requirement_from_headcounts, solve_roster
from sim.tools.roster_plan import plan_roster
from sim.tools.roster_rules import rules_from_dict


@pytest.fixture(scope="module")
def plan():
    desk = scenario_from_dict(DESK)
    requirement = requirement_from_headcounts({"team": np.array(REQUIRED)},
                                              rate_table(desk).edges_s, None)
    return plan_roster(desk, TARGET, rules_from_dict({"groups": STRICT}), requirement=requirement,
                       max_rounds=2, check_one_fewer=False)


def test_gantt_draws_each_shift_with_its_breaks(plan):
    roster = plan.final
    figure = roster_plots.gantt(roster)
    ax = figure.axes[0]
    bars = [c for c in ax.collections if isinstance(c, PolyCollection)]
    shifts = roster.groups["team"].shifts
    assert len(bars) == len(shifts) + sum(1 for p, _ in shifts if p.breaks)
    # The grey bars are the breaks: their left edges are the break starts.
    grey = [c for c in bars if np.allclose(c.get_facecolor()[0][:3], (0.851, 0.851, 0.851),
                                           atol=0.01)]
    starts = sorted(path.vertices[:, 0].min() for c in grey for path in c.get_paths())
    assert starts == sorted(p.start_s + a for p, _ in shifts for a, _ in p.breaks)
    labels = sorted(int(t.get_text()) for t in ax.texts)
    assert labels == sorted(n for _, n in shifts)
    assert figure_png(figure).startswith(b"\x89PNG")


def test_coverage_draws_requirement_and_the_agents_on_duty(plan):
    figure = roster_plots.coverage(plan.final, plan)
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    assert np.array_equal(lines["requirement"].get_ydata()[:-1], REQUIRED)
    assert np.array_equal(lines["on duty, final roster"].get_ydata()[:-1],
                          plan.final.groups["team"].on_duty)
    assert np.array_equal(lines["on duty, first roster"].get_ydata()[:-1],
                          plan.first.groups["team"].on_duty)
    if plan.rounds[-1].misses.any():
        assert len(lines["target missed"].get_xdata()) == int(plan.rounds[-1].misses.sum())
    # Without a plan there is nothing simulated to show.
    alone = roster_plots.coverage(plan.final)
    assert {line.get_label() for line in alone.axes[0].get_lines()} == {"requirement",
                                                                       "on duty"}


def test_the_report_is_one_self_contained_page(plan):
    images = {name: figure_png(fig) for name, fig in roster_plots.figures(plan.final,
                                                                          plan).items()}
    page = render_roster_html(plan.final, plan, images)
    verdict = "met" if plan.met else "NOT met"
    assert f"Target {TARGET.replace('>', '&gt;')} {verdict}" in page
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(embedded) == 2 and all(base64.b64decode(e).startswith(b"\x89PNG")
                                      for e in embedded)
    assert "http://" not in page and "https://" not in page
    assert page.count("<tr>") >= len(plan.rounds) + 8  # rounds and the per-interval rows
    assert "shrinkage: team 15%" in page


def test_a_roster_without_a_plan_reports_its_shifts_only():
    requirement = requirement_from_headcounts({"t<1>": np.array([1, 2])},
                                              np.array([0.0, 1800.0, 3600.0]), None)
    roster = solve_roster(requirement, rules_from_dict({"groups": {"t<1>": {"shifts": [
        {"name": "s", "lengths": ["30min", "1h"], "starts": ["00:00", "00:30"],
         "hourly_cost": 2}]}}}))
    page = render_roster_html(roster, None, {})
    assert "not simulated" in page and "t&lt;1&gt;" in page and "t<1>" not in page
