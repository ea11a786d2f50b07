"""`supportsim fit` recovers a shop it has never seen: logs exported from simulations with known
parameters are fitted back, and every fitted parameter lies within its stated interval of the
truth; a log of a shop with another profile does not recover the first shop's parameters.

Tolerance: each parameter's interval is its estimate +- z x SE, where z is the Bonferroni
quantile for the number of parameters compared (family-wise 95%), so a correct fit passes
every comparison of a scenario together with probability at least 0.95; the seeds are fixed,
so the outcome is deterministic. Logs are exported to whole seconds, as platforms write them.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from conftest import build, supportsim
from scipy import stats

from sim.chatlog import read_log
from sim.scenario import rate_table
from sim.tools.export_log import export_logs
from sim.tools.fit import fit_log
from sim.tools.fitting import Estimate

PROFILE = [0.8, 0.4, 0.2, 0.1, 0.1, 0.2, 0.5, 1.2, 2.5, 4.5, 5.5, 5.5,
           4.0, 4.0, 5.0, 5.5, 5.5, 5.0, 4.0, 4.0, 5.5, 6.0, 5.0, 2.5]
EVENING = [1.5, 1.0, 0.5, 0.2, 0.1, 0.1, 0.2, 0.5, 1.0, 2.0, 2.5, 3.0,
           3.0, 3.0, 3.5, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 8.0, 6.0, 3.0]

SHOP_A = {
    "name": "shop_a", "seed": 11,
    "horizon": {"start": "2026-03-02 00:00", "end": "2026-03-02 24:00", "drain": "1h"},
    "arrivals": {"interval": "30min", "daily_volume": 7000, "profile": PROFILE,
                 "mix": {"presale": 0.6, "order": 0.4}},
    "topics": {
        "presale": {"messages": {"dist": "geometric", "mean": 4},
                    "think_time": {"dist": "exponential", "mean": "40s"},
                    "patience": {"dist": "exponential", "mean": "3min"}},
        "order": {"messages": {"dist": "geometric", "mean": 3},
                  "think_time": {"dist": "lognormal", "mean": "45s", "cv": 0.8},
                  "patience": {"dist": "lognormal", "mean": "5min", "cv": 0.9}},
    },
    "groups": {"team": {
        "skills": ["presale", "order"], "concurrency": 5,
        "reply_time": {"dist": "lognormal", "mean": "20s", "cv": 0.7},
        "reply_time_by_topic": {"order": {"dist": "gamma", "mean": "30s", "cv": 0.6}},
        "schedule": {"headcount": {"00:00": 1, "08:00": 7, "12:00": 6, "14:00": 7,
                                   "18:00": 6, "20:00": 7, "23:00": 2}},
    }},
    "bot": {"enabled": True, "deflection": {"presale": 0.3, "order": 0.4},
            "reply_delay": "2s", "handling_time": {"dist": "exponential", "mean": "40s"},
            "handover_delay": "5s"},
}

SLOWING = {
    "name": "slowing", "seed": 12,
    "horizon": {"start": "2026-03-02 00:00", "end": "2026-03-02 24:00", "drain": "1h"},
    "arrivals": {"interval": "1h", "rates_per_hour": [110] * 24, "mix": {"chat": 1}},
    "topics": {"chat": {"messages": {"dist": "geometric", "mean": 5},
                        "think_time": {"dist": "exponential", "mean": "120s"},
                        "patience": {"dist": "exponential", "mean": "2min"}}},
    "groups": {"desk": {
        "skills": ["chat"], "concurrency": 4,
        "reply_time": {"dist": "lognormal", "mean": "25s", "cv": 0.6},
        "reply_time_factor_by_open": [1.0, 1.15, 1.35, 1.6],
        "schedule": {"headcount": {"00:00": 8}},
    }},
}


def shop_b() -> dict:
    """Shop A's desk with another shop's customers: an evening profile, slower thinkers, more
    order questions."""
    document = copy.deepcopy(SHOP_A)
    document["name"] = "shop_b"
    document["seed"] = 13
    document["arrivals"]["profile"] = EVENING
    document["arrivals"]["mix"] = {"presale": 0.3, "order": 0.7}
    document["topics"]["presale"]["think_time"] = {"dist": "exponential", "mean": "75s"}
    return document


def fitted(document: dict, tmp_path, replication: int = 0):
    scenario = build(document)
    exported = export_logs(scenario, tmp_path / f"{scenario.name}.csv",
                           variants=["baseline"], replications=[replication])[0]
    log = read_log(exported.log, duty=exported.duty)
    return scenario, log, fit_log(log)


def _cv(dist) -> float:
    if dist.dist == "exponential":
        return 1.0
    return getattr(dist, "cv", float("nan"))


def truth_of(scenario, path: str) -> float | None:
    """The true value behind a fitted parameter's path, None when it has no single truth."""
    parts = path.split(".")
    table = rate_table(scenario)
    if path == "arrivals.daily_volume":
        return table.expected_arrivals / scenario.horizon.days
    if parts[:2] == ["arrivals", "profile"]:
        expected = table.rate_per_s * np.diff(table.edges_s)
        hour = (np.mod(table.edges_s[:-1], 86400) // 3600).astype(int)
        return float(expected[hour == int(parts[2])].sum() / expected.sum())
    if parts[:2] == ["arrivals", "mix"]:
        mix = scenario.arrivals.mix
        return mix[parts[2]] / sum(mix.values())
    if parts[0] == "topics":
        topic = scenario.topics[parts[1]]
        dist = getattr(topic, parts[2])
        return dist.mean_value() if parts[3] == "mean" else _cv(dist)
    if parts[0] == "groups":
        group = scenario.groups[parts[1]]
        if parts[2] == "concurrency":
            return None           # a lower bound, checked on its own
        if parts[2] == "reply_time_factor_by_open":
            factors = group.reply_time_factor_by_open or [1.0]
            return factors[min(int(parts[3]), len(factors) - 1)]
        if parts[2] == "reply_time_by_topic":
            dist = group.reply_dist(parts[3])
        elif group.reply_time_by_topic:
            return None           # pooled over topics that differ: no single truth
        else:
            dist = group.reply_time
        return dist.mean_value() if parts[-1] == "mean" else _cv(dist)
    if parts[0] == "bot":
        bot = scenario.bot
        if parts[1] == "deflection":
            return bot.deflection.get(parts[2], 0.0)
        if parts[1] == "handling_time":
            return bot.handling_time.mean_value() if parts[2] == "mean" else _cv(
                bot.handling_time)
        return getattr(bot, parts[1])
    return None


def compared(fit, scenario) -> list[tuple[str, float, float, float]]:
    rows = []
    for p in fit.parameters:
        truth = truth_of(scenario, p.path)
        if truth is not None and math.isfinite(p.se):
            rows.append((p.path, p.value, p.se, truth))
    return rows


def bonferroni_z(count: int) -> float:
    return float(stats.norm.ppf(1 - 0.05 / (2 * count)))


def misses(rows, z: float) -> list[str]:
    return [f"{path}: fitted {value:.4g} +- {z:.2f} x {se:.3g}, truth {truth:.4g}"
            for path, value, se, truth in rows if abs(value - truth) > z * se]


@pytest.fixture(scope="module")
def shop_a(tmp_path_factory):
    return fitted(SHOP_A, tmp_path_factory.mktemp("shop_a"))


def test_every_parameter_of_a_concurrency_5_shop_is_recovered(shop_a):
    scenario, _, fit = shop_a
    rows = compared(fit, scenario)
    paths = {row[0] for row in rows}
    # Everything the issue names is among them.
    for expected in ("arrivals.daily_volume", "arrivals.profile.21", "arrivals.mix.order",
                     "topics.presale.messages.mean", "topics.order.think_time.mean",
                     "topics.order.think_time.cv", "topics.presale.patience.mean",
                     "topics.order.patience.mean",
                     "groups.team.reply_time_by_topic.presale.mean",
                     "groups.team.reply_time_by_topic.order.cv", "bot.deflection.presale",
                     "bot.handover_delay", "bot.handling_time.mean"):
        assert expected in paths, expected
    z = bonferroni_z(len(rows))
    assert misses(rows, z) == []
    # The cap: the most chats an agent was seen holding, here the true 5.
    assert fit.document["groups"]["team"]["concurrency"] == 5
    assert "reply_time_factor_by_open" not in fit.document["groups"]["team"]
    # Families by AIC: the lognormal and gamma typing times and lognormal think times.
    assert fit.document["groups"]["team"]["reply_time_by_topic"]["presale"]["dist"] == \
        "lognormal"
    assert fit.document["groups"]["team"]["reply_time_by_topic"]["order"]["dist"] == "gamma"
    assert fit.document["topics"]["order"]["think_time"]["dist"] == "lognormal"
    assert fit.document["topics"]["presale"]["messages"]["dist"] == "geometric"


def test_every_interval_stays_within_what_its_parameter_can_be(shop_a):
    # Times, rates, counts and factors are >= 0 and shares at most 1: the normal interval
    # around a small share or a short delay would reach below 0 (the sample log's hour-3
    # share read [-0.0014, ...]), so it is kept within the range, the estimate inside it.
    table = shop_a[2].table
    finite = table[np.isfinite(table["ci_low"])]
    assert (finite["ci_low"] >= 0).all() and (finite["ci_low"] <= finite["value"]).all()
    assert (finite["ci_high"] >= finite["value"]).all()
    shares = finite[finite["path"].str.contains(r"\.(?:profile|mix|deflection)\.")]
    assert len(shares) and (shares["ci_high"] <= 1).all()
    # Where the range does not bind, it is the plain normal interval.
    inside = finite[(finite["ci_low"] > 0) & (finite["ci_high"] < 1)]
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(inside["ci_high"] - inside["value"], z * inside["se"],
                               rtol=1e-3)


def test_an_estimate_interval_is_cut_at_the_range():
    assert Estimate(0.001, 0.01, 100, most=1.0).ci[0] == 0.0
    assert Estimate(0.999, 0.01, 100, most=1.0).ci[1] == 1.0
    assert Estimate(3.0, 5.0, 10).ci == (0.0, pytest.approx(3.0 + 1.959964 * 5.0))
    # A difference of means may be below 0: its interval is the plain one, around it.
    low, high = Estimate(-5.0, 1.0, 100, least=-math.inf).ci
    assert low == pytest.approx(-5.0 - 1.959964) and high == pytest.approx(-5.0 + 1.959964)


def test_a_bot_that_hands_over_at_once_keeps_its_estimate_inside_its_interval(tmp_path):
    # With no handover delay the fitted gap is centred on 0 and comes out below it about half
    # the time; the scenario takes 0, the table the gap with its own interval.
    document = copy.deepcopy(SHOP_A)
    document["bot"]["handover_delay"] = "0s"
    for seed in (13, 14):
        document["seed"] = seed
        _, _, fit = fitted(document, tmp_path / str(seed))
        row = fit.parameter("bot.handover_delay")
        assert row.ci_low <= row.value <= row.ci_high, (seed, row)
        assert fit.document["bot"]["handover_delay"] == float(f"{max(row.value, 0.0):.4g}")


def test_a_shop_whose_replies_slow_down_with_open_chats(tmp_path):
    scenario, _, fit = fitted(SLOWING, tmp_path)
    group = fit.document["groups"]["desk"]
    assert "reply_time_factor_by_open" in group, fit.notes
    assert len(group["reply_time_factor_by_open"]) == 4
    rows = compared(fit, scenario)
    paths = {row[0] for row in rows}
    assert {f"groups.desk.reply_time_factor_by_open.{j}" for j in (1, 2, 3)} <= paths
    assert "groups.desk.reply_time.mean" in paths and "groups.desk.reply_time.cv" in paths
    z = bonferroni_z(len(rows))
    assert misses(rows, z) == []
    assert group["concurrency"] == 4


def test_a_shop_with_another_profile_does_not_recover_shop_a(shop_a, tmp_path):
    scenario_a, _, _ = shop_a
    scenario_b, _, fit_b = fitted(shop_b(), tmp_path)
    # Shop B's fit recovers shop B ...
    rows_b = compared(fit_b, scenario_b)
    assert misses(rows_b, bonferroni_z(len(rows_b))) == []
    # ... and, judged against shop A's truth, misses the parameters that differ: the hours
    # of the day, the topic mix and the pre-sale think time.
    against_a = compared(fit_b, scenario_a)
    missed = {line.split(":")[0] for line in misses(against_a, bonferroni_z(len(against_a)))}
    assert {"arrivals.mix.presale", "arrivals.mix.order",
            "topics.presale.think_time.mean"} <= missed
    assert sum(1 for path in missed if path.startswith("arrivals.profile.")) >= 10
    # What the shops share (the desk, the bot) is recovered from either log.
    for path in ("groups.team.reply_time_by_topic.presale.mean", "bot.deflection.presale"):
        assert path not in missed


def test_the_fitted_scenario_is_written_valid_with_its_report(shop_a, tmp_path):
    _, _, fit = shop_a
    written = fit.write(tmp_path / "shop.yaml")
    names = sorted(p.name for p in written)
    assert names == ["fit_parameters.csv", "fit_report.html", "shop.yaml", "shop_counts.csv"]
    from sim.scenario import load_scenario

    loaded = load_scenario(tmp_path / "shop.yaml")
    assert loaded.arrivals.counts_csv is not None
    assert "planning" in loaded.variants
    # Replaying the counts and the in-memory scenario describe the same arrival curve.
    np.testing.assert_allclose(rate_table(loaded).rate_per_s, rate_table(fit.scenario()).rate_per_s)
    report = (tmp_path / "fit_report.html").read_text(encoding="utf-8")
    assert report.count("data:image/png;base64,") >= 6
    assert "topics.presale.patience.mean" in report and "Kaplan-Meier" in report
    assert 'src="http' not in report          # self-contained


def test_the_command_writes_the_scenario(tmp_path):
    scenario = build(SLOWING)
    exported = export_logs(scenario, tmp_path / "log.csv", variants=["baseline"],
                           replications=[1])[0]
    result = supportsim("fit", exported.log, "--duty", exported.duty, "--out",
                        tmp_path / "fitted" / "shop.yaml", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "groups.desk.reply_time_factor_by_open.1" in result.stdout
    assert (tmp_path / "fitted" / "fit_report.html").exists()
    bad = supportsim("fit", exported.log, "--out", tmp_path / "shop.txt", "--quiet")
    assert bad.returncode == 2 and ".yaml" in bad.stderr


TWO_DAYS = {
    "name": "two_days", "seed": 21,
    "horizon": {"start": "2026-03-02 00:00", "end": "2026-03-03 24:00", "drain": "1h"},
    "arrivals": {"interval": "1h", "daily_volume": 1500, "profile": PROFILE,
                 "mix": {"presale": 0.8, "order": 0.2},
                 "mix_changes": [
                     {"from": "2026-03-02 12:00", "mix": {"presale": 0.3, "order": 0.7}},
                     {"from": "2026-03-03 00:00", "mix": {"presale": 0.8, "order": 0.2}},
                     {"from": "2026-03-03 12:00", "mix": {"presale": 0.3, "order": 0.7}}]},
    "topics": copy.deepcopy(SHOP_A["topics"]),
    "groups": {"team": {
        "skills": ["presale", "order"], "concurrency": 5,
        "reply_time": {"dist": "lognormal", "mean": "20s", "cv": 0.7},
        "schedule": {"headcount": {"00:00": 1, "08:00": 3, "20:00": 2}},
    }},
    "bot": {"enabled": True, "hours": [{"start": "08:00", "end": "20:00"}],
            "deflection": {"presale": 0.3, "order": 0.4}, "reply_delay": "2s",
            "handling_time": {"dist": "exponential", "mean": "40s"}, "handover_delay": "5s"},
}


def test_a_mix_that_changes_by_time_of_day_and_bot_hours(tmp_path):
    _, _, fit = fitted(TWO_DAYS, tmp_path)
    changes = fit.document["arrivals"]["mix_changes"]
    # One mix per 3-hour block, each day: 8 blocks x 2 days.
    assert len(changes) == 16
    morning = next(c for c in changes if c["from"] == "2026-03-02 09:00")["mix"]
    afternoon = next(c for c in changes if c["from"] == "2026-03-03 15:00")["mix"]
    z = bonferroni_z(16)
    for block, share in (("09h", 0.8), ("15h", 0.3)):
        p = fit.parameter(f"arrivals.mix_by_time.{block}.presale")
        assert abs(p.value - share) <= z * p.se, (block, p)
    assert morning["presale"] > 0.6 and afternoon["presale"] < 0.45
    # The bot answered from 08:00 to 20:00 only.
    assert fit.document["bot"]["hours"] == [{"start": "08:00", "end": "20:00"}]
    assert any("bot: runs only" in note for note in fit.notes)


def test_without_close_rows_no_patience_is_guessed(tmp_path):
    # Without close rows a log shows when an unanswered buyer last wrote, not when they
    # left; taking the one for the other would make every such buyer leave at once.
    import pandas as pd

    scenario = build(SLOWING)
    exported = export_logs(scenario, tmp_path / "log.csv", variants=["baseline"],
                           replications=[0])[0]
    rows = pd.read_csv(exported.log, dtype=str, keep_default_na=False)
    plain = tmp_path / "no_events.csv"
    rows[rows["sender"] != "system"].drop(columns="event").to_csv(plain, index=False)
    fit = fit_log(read_log(plain, duty=exported.duty))
    assert "patience" not in fit.document["topics"]["chat"]
    assert any("marks no closes" in note for note in fit.notes)
