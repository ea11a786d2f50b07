"""Statistics over replications (sim.analysis.stats): the Student-t interval, on hand-computed
cases, on its coverage of a known mean, and with undefined values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.analysis.stats import t_interval


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
