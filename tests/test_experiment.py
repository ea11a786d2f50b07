"""Running experiments (sim.experiment): common random numbers across variants, reproducible
replications, variant seeds, the summary over replications and `replications="auto"`."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from conftest import build, t_interval

from sim.engine import simulate
from sim.experiment import (
    WAIT_GRID_S,
    PrecisionError,
    relative_half_width,
    run,
    run_one,
    summarize_replications,
    variant_seed,
)

DOCUMENT = {
    "name": "experiment",
    "horizon": {"start": "08:00", "end": "10:00", "drain": "30min"},
    "seed": 3,
    "replications": 2,
    "arrivals": {"interval": "30min", "rates_per_hour": [90] * 48,
                 "mix": {"presale": 0.6, "aftersale": 0.4}},
    "topics": {
        "presale": {"messages": {"dist": "geometric", "mean": 3},
                    "think_time": {"dist": "exponential", "mean": "40s"},
                    "patience": {"dist": "exponential", "mean": "4min"}, "presale": True},
        "aftersale": {"messages": {"dist": "poisson", "mean": 3},
                      "think_time": {"dist": "exponential", "mean": "1min"}},
    },
    "groups": {"team": {"skills": ["presale", "aftersale"], "concurrency": 3,
                        "reply_time": {"dist": "exponential", "mean": "20s"},
                        "schedule": {"headcount": {"08:00": 2}}}},
    "variants": {
        "more_staff": {"groups.team.schedule.headcount": {"08:00": 4}},
        "slow_typing": {"groups.team.reply_time": {"dist": "exponential", "mean": "40s"}},
    },
}
BUYER_COLUMNS = ["arrival_s", "topic", "n_messages", "reported"]


@pytest.fixture(scope="module")
def scenario():
    return build(copy.deepcopy(DOCUMENT))


@pytest.fixture(scope="module")
def paired(scenario):
    return run(scenario, replications=3, seed=5, keep_records=True)


def _buyers(results, variant, replication) -> pd.DataFrame:
    conv = results.conversations()
    mine = conv[(conv.variant == variant) & (conv.replication == replication)]
    frame = mine[BUYER_COLUMNS].reset_index(drop=True)
    frame["topic"] = frame["topic"].astype(str)
    return frame


# --- common random numbers ----------------------------------------------------------------------


def test_variants_differing_only_in_staffing_meet_the_same_buyers(paired):
    per = paired.per_replication.set_index(["variant", "replication"])
    for replication in range(3):
        base = _buyers(paired, "baseline", replication)
        assert len(base) > 100
        pd.testing.assert_frame_equal(_buyers(paired, "more_staff", replication), base)
        # ... and those buyers really fared differently: with twice the staff fewer give up.
        assert (per.loc[("more_staff", replication), "abandoned"]
                < per.loc[("baseline", replication), "abandoned"])
    # Replications are different draws.
    assert not _buyers(paired, "baseline", 0).equals(_buyers(paired, "baseline", 1))


def test_the_same_message_takes_the_same_typing_time_whatever_the_staffing(paired):
    msgs = paired.messages()
    keys = ["replication", "conversation", "seq"]
    answered = msgs[msgs.agent >= 0]
    base = answered[answered.variant == "baseline"].set_index(keys)["work_s"]
    more = answered[answered.variant == "more_staff"].set_index(keys)["work_s"]
    both = base.index.intersection(more.index)
    assert len(both) > 500
    np.testing.assert_array_equal(base[both].to_numpy(), more[both].to_numpy())


def test_a_slower_reply_distribution_stretches_the_same_draws(paired):
    # Exponential reply times are mean x (-log(1 - u)) of the message's uniform u: doubling the
    # mean doubles every typing time exactly.
    msgs = paired.messages()
    keys = ["replication", "conversation", "seq"]
    answered = msgs[msgs.agent >= 0]
    base = answered[answered.variant == "baseline"].set_index(keys)["work_s"]
    slow = answered[answered.variant == "slow_typing"].set_index(keys)["work_s"]
    both = base.index.intersection(slow.index)
    assert len(both) > 300
    np.testing.assert_allclose(slow[both].to_numpy(), 2 * base[both].to_numpy(), rtol=1e-12)


def test_without_common_random_numbers_variants_meet_other_buyers(scenario, paired):
    independent = run(scenario, replications=2, seed=5, keep_records=True,
                      common_random_numbers=False)
    assert not independent.common_random_numbers
    for replication in range(2):
        base = _buyers(independent, "baseline", replication)
        # The baseline keeps the run's seed, so it meets the buyers of the paired run.
        pd.testing.assert_frame_equal(base, _buyers(paired, "baseline", replication))
        other = _buyers(independent, "more_staff", replication)
        assert len(other) != len(base) or not other.equals(base)


# --- variant seeds ------------------------------------------------------------------------------


def test_under_common_random_numbers_every_variant_uses_the_run_seed():
    for name in ("baseline", "more_staff", "anything"):
        assert variant_seed(11, name) == 11
        assert variant_seed(11, name, common_random_numbers=True) == 11


def test_without_them_each_variant_gets_its_own_seed_fixed_by_name():
    assert variant_seed(11, "baseline", common_random_numbers=False) == 11
    seeds = {name: variant_seed(11, name, common_random_numbers=False)
             for name in ("more_staff", "slow_typing", "pooled", "pooled2")}
    assert len(set(seeds.values())) == 4 and 11 not in seeds.values()
    assert all(0 <= s < 2**64 for s in seeds.values())
    # Fixed by (seed, name): asked again, or for another seed.
    assert variant_seed(11, "more_staff", common_random_numbers=False) == seeds["more_staff"]
    assert variant_seed(12, "more_staff", common_random_numbers=False) != seeds["more_staff"]


def test_running_a_subset_of_variants_changes_nothing_for_them(scenario):
    full = run(scenario, replications=2, seed=5, common_random_numbers=False)
    alone = run(scenario, replications=2, seed=5, variants=["slow_typing"],
                common_random_numbers=False)
    subset = full.per_replication[full.per_replication.variant == "slow_typing"]
    pd.testing.assert_frame_equal(alone.per_replication.reset_index(drop=True),
                                  subset.reset_index(drop=True))


def test_an_unknown_variant_is_refused_with_the_known_ones(scenario):
    with pytest.raises(KeyError, match="more_staff"):
        run(scenario, replications=1, variants=["bigger_team"])


# --- reproducibility ----------------------------------------------------------------------------


def test_a_seed_reproduces_every_replication(scenario, paired):
    again = run(scenario, replications=3, seed=5)
    pd.testing.assert_frame_equal(again.per_replication, paired.per_replication)
    pd.testing.assert_frame_equal(again.summary, paired.summary)
    other = run(scenario, replications=3, seed=6)
    assert not other.per_replication["arrived"].equals(paired.per_replication["arrived"])


def test_replication_r_is_the_same_whatever_else_runs(scenario, paired):
    fewer = run(scenario, replications=2, seed=5)
    first_two = paired.per_replication[paired.per_replication.replication < 2]
    pd.testing.assert_frame_equal(fewer.per_replication, first_two.reset_index(drop=True))
    # One replication on its own, out of order, gives that replication's row.
    values, _, _ = run_one(paired.variants["more_staff"], 2, 5)
    row = paired.per_replication.query("variant == 'more_staff' and replication == 2")
    for name, value in values.items():
        assert row[name].iloc[0] == pytest.approx(value, nan_ok=True), name
    # The engine keeps no state between runs: replication 2 is the same before and after 0.
    first = simulate(scenario, 2, seed=5)
    simulate(scenario, 0, seed=5)
    again = simulate(scenario, 2, seed=5)
    np.testing.assert_array_equal(first.arrival_s, again.arrival_s)
    np.testing.assert_array_equal(first.reply_s, again.reply_s)
    baseline = paired.per_replication.query("variant == 'baseline' and replication == 2")
    assert len(first.arrival_s) == baseline["arrived"].iloc[0]


def test_the_scenario_seed_and_replication_count_are_the_defaults(scenario):
    results = run(scenario, variants=["baseline"])
    assert results.seed == 3 and results.replications == 2
    explicit = run(scenario, replications=2, seed=3, variants=["baseline"])
    pd.testing.assert_frame_equal(results.per_replication, explicit.per_replication)


# --- the summary over replications --------------------------------------------------------------


def test_the_summary_is_a_t_interval_over_replications_ignoring_undefined_values():
    frame = pd.DataFrame({
        "variant": ["a"] * 4 + ["b"] * 4, "replication": [0, 1, 2, 3] * 2,
        "rate": [0.90, 0.94, 0.92, 0.96, 0.5, np.nan, 0.7, 0.6],
        "cost": [100.0, 100.0, 100.0, 100.0, 10.0, 20.0, 30.0, 40.0],
    })
    summary = summarize_replications(frame).set_index(["variant", "metric"])
    mean, low, high = t_interval([0.90, 0.94, 0.92, 0.96])
    assert summary.loc[("a", "rate"), ["mean", "ci_low", "ci_high"]].tolist() == pytest.approx(
        [mean, low, high])
    assert summary.loc[("a", "rate"), "mean"] == pytest.approx(0.93)
    mean, low, high = t_interval([0.5, 0.7, 0.6])
    assert summary.loc[("b", "rate"), ["mean", "ci_low", "ci_high"]].tolist() == pytest.approx(
        [mean, low, high])
    assert summary.loc[("b", "rate"), "replications"] == 3
    assert summary.loc[("a", "cost"), ["mean", "ci_low", "ci_high"]].tolist() == [100.0] * 3


def test_the_summary_keeps_each_metric_within_its_range():
    # A share near 1 and a rare count: the plain t-interval would reach past 100% and below 0.
    rates, opens = [0.99, 1.0, 0.93, 1.0, 0.99], [0.0, 0.0, 0.0, 0.0, 1.0]
    frame = pd.DataFrame({"variant": ["a"] * 5, "replication": range(5),
                          "reply_rate_5min": rates, "open_at_end": opens})
    summary = summarize_replications(frame).set_index(["variant", "metric"])
    assert t_interval(rates)[2] > 1.0 and t_interval(opens)[1] < 0.0
    # By hand (docs/metrics.md): logit(m) +- t se / (m (1 - m)), and m exp(+-t se / m).
    from scipy import stats

    t = stats.t.ppf(0.975, 4)
    m, se = np.mean(rates), np.std(rates, ddof=1) / np.sqrt(5)
    z, dz = np.log(m / (1 - m)), t * se / (m * (1 - m))
    assert summary.loc[("a", "reply_rate_5min"), ["mean", "ci_low", "ci_high"]].tolist() == \
        pytest.approx([m, 1 / (1 + np.exp(-(z - dz))), 1 / (1 + np.exp(-(z + dz)))])
    m, se = np.mean(opens), np.std(opens, ddof=1) / np.sqrt(5)
    assert summary.loc[("a", "open_at_end"), ["mean", "ci_low", "ci_high"]].tolist() == \
        pytest.approx([m, m * np.exp(-t * se / m), m * np.exp(t * se / m)])


def test_intervals_carry_a_local_start_time_beside_the_seconds(scenario):
    results = run(scenario, replications=2, variants=["baseline"])
    columns = list(results.intervals.columns)
    assert columns[:4] == ["variant", "interval_start", "interval_start_s", "interval_end_s"]
    # An undated horizon: clock times, 08:00 is 28,800 s.
    assert results.intervals["interval_start"].iloc[:2].tolist() == ["08:00", "08:30"]
    dated = build({**copy.deepcopy(DOCUMENT), "variants": {},
                   "horizon": {"start": "2026-11-10 23:00", "end": "2026-11-11 01:00",
                               "drain": "30min"}})
    frame = run(dated, replications=2).intervals
    assert frame["interval_start"].tolist() == list(pd.to_datetime(
        ["2026-11-10 23:00", "2026-11-10 23:30", "2026-11-11 00:00", "2026-11-11 00:30"]))
    assert frame["interval_start_s"].tolist() == [82800.0, 84600.0, 86400.0, 88200.0]


@pytest.mark.parametrize("values, expected", [
    ([5.0, 5.0, 5.0], 0.0),
    ([4.2], np.inf),
    ([-1.0, 1.0], np.inf),
    # mean 10, s = sqrt(2), t(0.975, 1) = 12.706205: half-width 12.706205 -> 1.2706205.
    ([9.0, 11.0], 1.2706205),
])
def test_relative_half_width(values, expected):
    assert relative_half_width(values) == pytest.approx(expected, rel=1e-6)


def test_results_give_a_metric_of_a_variant(paired):
    summary = paired.summary.set_index(["variant", "metric"])
    got = paired.metric("abandon_rate", "more_staff")
    assert got["mean"] == summary.loc[("more_staff", "abandon_rate"), "mean"]
    assert got["ci_low"] <= got["mean"] <= got["ci_high"]
    with pytest.raises(KeyError, match="no metric"):
        paired.metric("no_such_metric")


def test_wait_cdfs_are_shares_rising_with_the_wait(paired):
    curve = paired.wait_cdf("first_response")
    assert set(curve.variant) == {"baseline", "more_staff", "slow_typing"}
    for _, frame in curve.groupby("variant"):
        share = frame["share"].to_numpy()
        assert len(share) == len(WAIT_GRID_S)
        assert (np.diff(share) >= -1e-12).all() and 0 <= share.min() and share.max() <= 1
    # More staff answers at least as many buyers within a minute on the same buyers.
    at_60 = curve[curve.wait_s == 60.0].set_index("variant")["share"]
    assert at_60["more_staff"] > at_60["baseline"] > at_60["slow_typing"]
    with pytest.raises(KeyError, match="unknown wait quantity"):
        paired.wait_cdf("queue_wait")


# --- replications="auto" ------------------------------------------------------------------------


def test_auto_stops_after_the_pilot_when_precise_enough(scenario):
    results = run(scenario, replications="auto", seed=5, variants=["baseline"], precision=10.0)
    assert results.stopped_by == "precision" and results.replications == 5
    assert "stopped by precision" in results.stopping


def test_auto_stops_at_the_cap_when_never_precise_enough(scenario):
    results = run(scenario, replications="auto", seed=5, variants=["baseline"],
                  precision=1e-6, max_replications=7)
    assert results.stopped_by == "cap" and results.replications == 7
    assert "cap of 7" in results.stopping


@pytest.mark.parametrize("kwargs, fragment", [
    ({"max_replications": 1}, "at least 2"),
    ({"precision": 0.0}, "precision must be > 0"),
])
def test_auto_refuses_settings_that_cannot_work(scenario, kwargs, fragment):
    with pytest.raises(PrecisionError, match=fragment):
        run(scenario, replications="auto", variants=["baseline"], **kwargs)


def test_auto_refuses_an_unknown_precision_metric(scenario):
    with pytest.raises(KeyError, match="unknown precision metric"):
        run(scenario, replications="auto", variants=["baseline"], precision_metric="speed")
