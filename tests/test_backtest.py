"""The backtest: a fit of a log simulated over the log's own period and duty agrees with the
log on the headline rates, and a deliberately wrong scenario (half the agents) is flagged, in
numbers and in a sentence.

Agreement is judged by the prediction interval of one more replication (the log is one day,
not a mean), each headline rate at the Bonferroni level for the five of them together.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest
from conftest import build, supportsim
from test_fit import SHOP_A

from sim.chatlog import read_log
from sim.tools.backtest import HEADLINE, BacktestError, backtest, halved, with_log_duty
from sim.tools.export_log import export_logs
from sim.tools.fit import fit_log

REPLICATIONS = 8


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backtest")
    scenario = build(SHOP_A)
    exported = export_logs(scenario, folder / "shop.csv", variants=["baseline"],
                           replications=[2])[0]
    log = read_log(exported.log, duty=exported.duty)
    fit = fit_log(log)
    written = fit.write(folder / "fitted.yaml", report=False)
    return folder, exported, log, fit, written[0]


def headline(result) -> pd.DataFrame:
    table = result.table
    return table[(table["period"] == "all") & table["metric"].isin(HEADLINE)]


def test_the_backtest_of_a_fit_agrees_with_its_log(shop):
    _, _, log, fit, _ = shop
    result = backtest(log, fit.scenario(), replications=REPLICATIONS)
    rows = headline(result)
    assert len(rows) == len(HEADLINE)
    assert result.agrees, rows.to_string()
    assert rows["agrees"].all()
    assert ((rows["pi_low"] <= rows["actual"]) & (rows["actual"] <= rows["pi_high"])).all()
    # The prediction interval is wider than the CI of the mean, by sqrt(R + 1).
    width_pi = rows["pi_high"] - rows["pi_low"]
    width_ci = rows["ci_high"] - rows["ci_low"]
    np.testing.assert_allclose(width_pi / width_ci, np.sqrt(REPLICATIONS + 1), rtol=0.05)
    assert not [m for m in result.misses if "reply_rate_5min:" in m]
    intervals = result.intervals
    assert intervals["actual_arrivals"].sum() == len(log.conversations)


def test_half_the_agents_is_flagged(shop):
    _, _, log, fit, _ = shop
    wrong = halved(fit.scenario())
    result = backtest(log, wrong, replications=REPLICATIONS, duty="scenario")
    rows = headline(result).set_index("metric")
    assert not result.agrees
    assert rows.loc["reply_rate_5min", "z"] > 3      # the log does far better
    sentence = next(m for m in result.misses if m.startswith("all reply_rate_5min:"))
    assert re.fullmatch(r"all reply_rate_5min: simulated \d+\.\d\d% \[\d+\.\d\d%, "
                        r"\d+\.\d\d%\], actual \d+\.\d\d%", sentence)
    # ... and the hours where it happens are said too, as spans of the day.
    assert any(re.match(r"\d\d:\d\d-\d\d:\d\d: simulated", m) for m in result.misses)


def test_half_the_agents_in_the_duty_file_is_flagged(shop, tmp_path):
    _, exported, _, fit, _ = shop
    duty = pd.read_csv(exported.duty)
    agents = sorted(duty["agent_id"].unique())
    duty[duty["agent_id"].isin(agents[::2])].to_csv(tmp_path / "half.duty.csv", index=False)
    short_staffed = read_log(exported.log, duty=tmp_path / "half.duty.csv")
    result = backtest(short_staffed, fit.scenario(), replications=REPLICATIONS)
    assert not result.agrees


def test_the_log_duty_replaces_the_schedules(shop):
    _, _, log, fit, _ = shop
    scenario = with_log_duty(fit.scenario(), log)
    shifts = scenario.groups["team"].schedule.shifts
    assert len(shifts) == len(log.duty)
    hours = sum(s.length for s in shifts) / 3600
    assert hours == pytest.approx((log.duty["end_s"] - log.duty["start_s"]).sum() / 3600)


def test_a_scenario_of_another_period_is_refused(shop):
    _, _, log, _, _ = shop
    document = copy.deepcopy(SHOP_A)
    document["horizon"] = {"start": "2026-04-01 00:00", "end": "2026-04-01 24:00"}
    with pytest.raises(BacktestError, match="starts on 2026-04-01, the log on 2026-03-02"):
        backtest(log, build(document), replications=2)


def test_the_command_exits_3_when_the_model_misses(shop, tmp_path):
    folder, exported, _, _, fitted_path = shop
    good = supportsim("backtest", exported.log, fitted_path, "--duty", exported.duty,
                      "--replications", "4", "--out", tmp_path / "good", "--quiet")
    assert good.returncode == 0, good.stderr
    assert "agrees with the log" in good.stdout
    for name in ("backtest.csv", "backtest_intervals.csv", "backtest.png", "backtest.html"):
        assert (tmp_path / "good" / name).exists()
    half = folder / "half.yaml"           # beside the counts file it replays
    text = fitted_path.read_text(encoding="utf-8")
    # Every headcount of the fitted scenario halved.
    halved_text = re.sub(r"(\d{4}-\d\d-\d\d \d\d:\d\d'?: )(\d+)",
                         lambda m: f"{m.group(1)}{int(m.group(2)) // 2}", text)
    assert halved_text != text
    half.write_text(halved_text, encoding="utf-8")
    bad = supportsim("backtest", exported.log, half, "--duty", exported.duty,
                     "--replications", "4", "--scenario-duty", "--out", tmp_path / "bad",
                     "--quiet")
    assert bad.returncode == 3, bad.stderr
    assert "where the model misses" in bad.stdout and "MISSES" in bad.stdout
    wrong_date = supportsim("backtest", exported.log, folder.parent / "nope.yaml", "--quiet")
    assert wrong_date.returncode == 2


def test_a_two_day_log_without_duty_file_per_day(tmp_path):
    from test_fit import TWO_DAYS

    scenario = build(TWO_DAYS)
    exported = export_logs(scenario, tmp_path / "two.csv", variants=["baseline"],
                           replications=[0])[0]
    log = read_log(exported.log)                      # duty inferred from activity
    assert log.duty_inferred and [d.isoformat() for d in log.days] == ["2026-03-02",
                                                                       "2026-03-03"]
    fit = fit_log(log)
    result = backtest(log, fit.scenario(), replications=4)
    assert set(result.table["period"]) == {"all", "2026-03-02", "2026-03-03"}
    assert any("inferred from activity" in note for note in result.notes)
    # Each day's arrivals are the log's: they add up to the whole log's.
    arrived = result.table[result.table["metric"] == "arrived"].set_index("period")["actual"]
    assert arrived["2026-03-02"] + arrived["2026-03-03"] == arrived["all"]
