"""Statistics over replications (sim.analysis.stats): the Student-t interval, on hand-computed
cases, on its coverage of a known mean, and with undefined values; and its bounded form, which
keeps shares within [0, 1] and counts and times at least zero."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.analysis.stats import (
    bounded_band,
    bounded_interval,
    metric_interval,
    t_interval,
    t_quantile,
)


def test_the_t_quantile_is_scipy_stats_own_to_the_last_bit():
    # What every interval is built from; scipy.stats is the reference (imported by the test
    # only). Scalars and arrays, the levels the tool uses and odd ones, 1 to 5,000 degrees.
    from scipy import stats

    df = np.arange(1, 5001)
    for p in (0.5, 0.9, 0.95, 0.975, 0.995, 0.999, 0.6180339887):
        ours, theirs = t_quantile(p, df), stats.t.ppf(p, df)
        assert ours.dtype == theirs.dtype
        assert np.array_equal(ours, theirs), p
        for n in (1, 2, 4, 29, 1000):
            assert float(t_quantile(p, n)) == float(stats.t.ppf(p, n))
    assert np.array_equal(t_quantile(0.975, df.astype(float)), stats.t.ppf(0.975, df))


def test_a_hand_computed_interval():
    # 1..5: mean 3, s = sqrt(2.5), t(0.975, 4) = 2.776445 (t table): half-width 1.963243.
    mean, low, high = t_interval([1, 2, 3, 4, 5])
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert mean == 3.0
    assert (low, high) == pytest.approx((3 - half, 3 + half), abs=1e-5)


def test_the_level_sets_the_t_quantile():
    # 90%: t(0.95, 4) = 2.131847; 99%: t(0.995, 4) = 4.604095.
    for level, t in ((0.90, 2.131847), (0.99, 4.604095)):
        mean, low, high = t_interval([1, 2, 3, 4, 5], level=level)
        assert (high - low) / 2 == pytest.approx(t * math.sqrt(0.5), abs=1e-5)
        assert (low + high) / 2 == pytest.approx(mean)


def test_two_values_use_the_wide_t_of_one_degree_of_freedom():
    # 10 and 12: mean 11, s = sqrt(2), t(0.975, 1) = 12.706205: half-width 12.706205.
    mean, low, high = t_interval([10.0, 12.0])
    assert mean == 11.0
    assert (low, high) == pytest.approx((11 - 12.706205, 11 + 12.706205), abs=1e-5)


def test_equal_values_give_a_zero_width_interval():
    assert t_interval([0.8, 0.8, 0.8]) == pytest.approx((0.8, 0.8, 0.8))


@pytest.mark.parametrize("level, trials, n", [(0.95, 4000, 5), (0.90, 4000, 12), (0.95, 4000, 2)])
def test_the_interval_covers_a_known_normal_mean_at_its_level(level, trials, n):
    # Normal samples of size n with mean 7 and sd 3. Coverage over `trials` independent
    # intervals is Binomial(trials, level) / trials: standard error sqrt(level (1 - level) /
    # trials), 0.0034 for 95% and 0.0047 for 90% at 4000 trials; accept within 4 of them.
    rng = np.random.default_rng(777)
    covered = 0
    for _ in range(trials):
        _, low, high = t_interval(rng.normal(7.0, 3.0, size=n), level=level)
        covered += low <= 7.0 <= high
    se = math.sqrt(level * (1 - level) / trials)
    assert abs(covered / trials - level) <= 4 * se, covered / trials


def test_a_too_narrow_normal_interval_would_undercover_with_few_replications():
    # The same coverage check would catch a z interval in place of t: with n = 3, the z
    # interval (1.96 s / sqrt(n)) covers only about 80% (t(0.975, 2) = 4.303 is needed).
    rng = np.random.default_rng(778)
    trials, z_covered, t_covered = 4000, 0, 0
    for _ in range(trials):
        sample = rng.normal(0.0, 1.0, size=3)
        mean, low, high = t_interval(sample)
        z_half = 1.959964 * sample.std(ddof=1) / math.sqrt(3)
        z_covered += abs(mean) <= z_half
        t_covered += low <= 0.0 <= high
    se = math.sqrt(0.95 * 0.05 / trials)
    assert abs(t_covered / trials - 0.95) <= 4 * se
    assert z_covered / trials < 0.95 - 10 * se


def test_undefined_values_are_left_out():
    with_nan = t_interval([1.0, np.nan, 2.0, 3.0, np.nan, 4.0, 5.0])
    assert with_nan == pytest.approx(t_interval([1, 2, 3, 4, 5]))
    assert t_interval([1.0, np.inf, 2.0, -np.inf, 3.0]) == pytest.approx(t_interval([1, 2, 3]))


def test_one_value_has_a_mean_but_no_interval():
    mean, low, high = t_interval([4.2])
    assert mean == 4.2 and math.isnan(low) and math.isnan(high)
    mean, low, high = t_interval([np.nan, 4.2, np.nan])
    assert mean == 4.2 and math.isnan(low) and math.isnan(high)


@pytest.mark.parametrize("values", [[], [np.nan], [np.nan, np.nan, np.nan]])
def test_no_value_has_neither(values):
    assert all(math.isnan(x) for x in t_interval(values))


def test_any_sequence_of_numbers_is_accepted():
    expected = t_interval([1.0, 2.0, 4.0])
    assert t_interval((1, 2, 4)) == pytest.approx(expected)
    assert t_interval(np.array([1, 2, 4], dtype=np.int64)) == pytest.approx(expected)
    assert all(isinstance(x, float) for x in expected)


# --- bounded intervals ----------------------------------------------------------------------------


def test_a_hand_computed_logit_interval_of_a_share():
    # 0.95, 0.97, 0.99, 0.96, 0.98: mean 0.97, s = sqrt(0.00025), se = s / sqrt(5) = 0.0070711,
    # t(0.975, 4) = 2.776445. On the logit scale: logit(0.97) = ln(0.97 / 0.03) = 3.4760987,
    # its se by the delta method se / (0.97 * 0.03) = 0.2429920; +-2.776445 * 0.2429920 =
    # +-0.6746540, mapped back by 1 / (1 + exp(-z)): [0.9427538, 0.9844917].
    mean, low, high = bounded_interval([0.95, 0.97, 0.99, 0.96, 0.98], 0.0, 1.0)
    assert mean == pytest.approx(0.97)
    assert (low, high) == pytest.approx((0.9427538, 0.9844917), abs=1e-6)
    # The plain interval is symmetric and reaches 0.9896; the bounded one is longer below.
    assert 0.97 - low > high - 0.97


def test_a_hand_computed_log_interval_of_a_count():
    # 0, 0, 0, 0, 1: mean 0.2, s = sqrt(0.2), se = 0.2; the plain interval is 0.2 +- 0.5553,
    # below zero. On the log scale: 0.2 * exp(+-2.776445 * 0.2 / 0.2) = [0.0124566, 3.2111].
    mean, low, high = bounded_interval([0, 0, 0, 0, 1], 0.0)
    assert mean == pytest.approx(0.2)
    assert (low, high) == pytest.approx((0.2 * math.exp(-2.776445), 0.2 * math.exp(2.776445)),
                                        rel=1e-5)
    assert t_interval([0, 0, 0, 0, 1])[1] < 0


def test_values_on_the_bound_give_a_point():
    assert bounded_interval([1.0, 1.0, 1.0], 0.0, 1.0) == (1.0, 1.0, 1.0)
    assert bounded_interval([0.0, 0.0, 0.0, 0.0], 0.0) == (0.0, 0.0, 0.0)
    assert bounded_interval([0.4, 0.4], 0.0, 1.0) == pytest.approx((0.4, 0.4, 0.4))


def test_without_bounds_it_is_the_t_interval():
    assert bounded_interval([1, 2, 3, 4, 5]) == pytest.approx(t_interval([1, 2, 3, 4, 5]))


def test_an_upper_bound_alone_mirrors_the_log_scale():
    # Distance below 10: 1, 2, 3 (values 9, 8, 7); its log interval, reflected.
    mean, low, high = bounded_interval([9.0, 8.0, 7.0], upper=10.0)
    _, d_low, d_high = bounded_interval([1.0, 2.0, 3.0], lower=0.0)
    assert mean == 8.0 and (low, high) == pytest.approx((10 - d_high, 10 - d_low))


def test_metric_intervals_take_the_range_from_the_registry():
    shares = [0.9, 1.0, 1.0, 0.95, 1.0]
    assert metric_interval("reply_rate_5min", shares) == bounded_interval(shares, 0.0, 1.0)
    waits = [1.0, 30.0, 2.0]
    assert metric_interval("first_response_mean_s", waits) == bounded_interval(waits, 0.0)
    assert metric_interval("not_a_metric", waits) == pytest.approx(t_interval(waits))


@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=12))
def test_a_share_interval_stays_in_0_1_and_holds_its_mean(values):
    mean, low, high = bounded_interval(values, 0.0, 1.0)
    assert 0.0 <= low <= high <= 1.0
    assert low - 1e-9 <= mean <= high + 1e-9


@given(st.lists(st.floats(0.0, 1e6), min_size=2, max_size=12))
def test_a_count_interval_stays_at_or_above_zero(values):
    mean, low, high = bounded_interval(values, 0.0)
    assert 0.0 <= low <= mean * (1 + 1e-9) + 1e-9 and high >= mean * (1 - 1e-9) - 1e-9


def test_the_band_works_element_by_element_and_keeps_nan():
    low, high = bounded_band(np.array([0.5, np.nan, 1.0]), np.array([0.1, 0.1, 0.0]),
                             np.array([2.0, 2.0, 2.0]), 0.0, 1.0)
    assert math.isnan(low[1]) and math.isnan(high[1])
    assert (low[2], high[2]) == (1.0, 1.0)
    z, dz = 0.0, 2.0 * 0.1 / 0.25   # logit(0.5) = 0; se on the logit scale 0.1 / (0.5 * 0.5)
    assert (low[0], high[0]) == pytest.approx((1 / (1 + math.exp(-(z - dz))),
                                               1 / (1 + math.exp(-(z + dz)))))


@pytest.mark.slow
def test_the_logit_interval_covers_a_skewed_share_at_its_level():
    # Replication values of a rate near its bound are skewed: Beta with mean 0.97 and sd 0.02,
    # five replications. Coverage over 4000 intervals has standard error sqrt(0.95 * 0.05 /
    # 4000) = 0.0034; the logit interval stays within 4 of them of 95% (it covers 94.6% with
    # this seed) while the plain one covers 91.9%, below that, and reaches past 100% in one
    # interval out of six.
    rng = np.random.default_rng(2024)
    mean, sd, n, trials = 0.97, 0.02, 5, 4000
    k = mean * (1 - mean) / sd**2 - 1
    bounded = plain = outside = 0
    for _ in range(trials):
        sample = rng.beta(mean * k, (1 - mean) * k, size=n)
        _, low, high = bounded_interval(sample, 0.0, 1.0)
        bounded += low <= mean <= high
        _, low, high = t_interval(sample)
        plain += low <= mean <= high
        outside += high > 1.0
    se = math.sqrt(0.95 * 0.05 / trials)
    assert abs(bounded / trials - 0.95) <= 4 * se
    assert plain / trials < 0.95 - 4 * se
    assert outside / trials > 0.1
