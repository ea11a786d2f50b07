"""The arrival curve (sim.scenario.curve): the interval grid, expected arrivals per interval
from every arrival source, spikes and the topic mix. Expected values are worked out by hand
from the definitions in docs/scenario-reference.md."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import build

from sim.scenario import ScenarioError, interval_grid, rate_table, scenario_from_dict

HOUR = 3600.0


def _document(arrivals: dict, horizon=("08:00", "12:00"), topics=("a", "b")) -> dict:
    arrivals = {"interval": "30min", "mix": {t: 1 for t in topics}, **arrivals}
    topic = {"messages": {"dist": "deterministic", "value": 1},
             "think_time": {"dist": "deterministic", "value": 0}}
    return {
        "name": "curve",
        "horizon": {"start": horizon[0], "end": horizon[1]},
        "arrivals": arrivals,
        "topics": {t: topic for t in topics},
        "groups": {"desk": {"skills": list(topics), "reply_time": {"dist": "deterministic",
                                                                     "value": 10},
                            "schedule": {"headcount": {"00:00": 1}}}},
    }


def _table(arrivals: dict, horizon=("08:00", "12:00"), **kwargs):
    return rate_table(build(_document(arrivals, horizon, **kwargs)))


def _expected(table) -> np.ndarray:
    """Expected conversations per interval."""
    return table.rate_per_s * np.diff(table.edges_s)


def _hourly(weights: dict[int, float]) -> list[float]:
    profile = [0.0] * 24
    for hour, weight in weights.items():
        profile[hour] = weight
    return profile


# --- the interval grid --------------------------------------------------------------------------


def test_the_grid_follows_clock_intervals_clipped_to_the_horizon():
    sc = build(_document({"rates_per_hour": [60] * 24}, horizon=("08:10", "10:45")))
    minutes = (interval_grid(sc) / 60).tolist()
    assert minutes == [490, 510, 540, 570, 600, 630, 645]


@pytest.mark.parametrize("interval, n", [("15min", 16), ("30min", 8), ("1h", 4)])
def test_the_grid_has_one_interval_per_step(interval, n):
    sc = build(_document({"interval": interval, "rates_per_hour": [60] * 24}))
    edges = interval_grid(sc)
    assert len(edges) == n + 1 and edges[0] == 8 * HOUR and edges[-1] == 12 * HOUR


# --- daily volume x profile ---------------------------------------------------------------------


def test_daily_volume_is_shared_by_the_profile_and_the_horizon_keeps_its_part():
    # 2400 a day over weights 1, 1, 2, 4 at 08-12h (sum 8): hours 09-11 hold (1 + 2) / 8 of
    # the day, 900 conversations; 150, 150, 300, 300 per half-hour.
    table = _table({"daily_volume": 2400, "profile": _hourly({8: 1, 9: 1, 10: 2, 11: 4})},
                   horizon=("09:00", "11:00"))
    assert _expected(table).tolist() == pytest.approx([150, 150, 300, 300])
    assert table.expected_arrivals == pytest.approx(900)


def test_an_hourly_profile_is_spread_evenly_over_15_minute_intervals():
    table = _table({"interval": "15min", "daily_volume": 960,
                    "profile": _hourly({8: 1, 9: 3})}, horizon=("08:00", "10:00"))
    # Hour 8 holds 240 (60 per quarter), hour 9 holds 720 (180 per quarter).
    assert _expected(table).tolist() == pytest.approx([60] * 4 + [180] * 4)


def test_a_profile_may_give_one_weight_per_interval():
    weights = [0.0] * 48
    weights[16], weights[17], weights[18] = 1, 3, 4  # 08:00, 08:30, 09:00
    table = _table({"daily_volume": 800, "profile": weights}, horizon=("08:00", "10:00"))
    assert _expected(table).tolist() == pytest.approx([100, 300, 400, 0])


def test_a_partial_first_interval_gets_its_share_of_the_interval():
    # A flat profile of 2400 a day is 100 an hour; 08:10-08:30 is a third of an hour.
    table = _table({"daily_volume": 2400, "profile": [1.0] * 24}, horizon=("08:10", "09:00"))
    assert _expected(table).tolist() == pytest.approx([100 / 3, 50])


def test_daily_volume_repeats_on_every_day_of_the_horizon():
    table = _table({"daily_volume": 1000, "profile": _hourly({12: 1, 18: 3})},
                   horizon=("2026-11-10 00:00", "2026-11-12 00:00"))
    per_day = _expected(table).reshape(2, 48).sum(axis=1)
    assert per_day.tolist() == pytest.approx([1000, 1000])
    assert _expected(table)[48 + 36] == pytest.approx(375)  # day 1, 18:00-18:30: 750 / 2


# --- rates per hour -----------------------------------------------------------------------------


def test_rates_per_hour_may_be_given_per_interval_of_the_horizon():
    # Four rates for the four half-hours of 08:00-10:00 (neither 24 nor 48 values).
    table = _table({"rates_per_hour": [10, 20, 30, 40]}, horizon=("08:00", "10:00"))
    assert (table.rate_per_s * HOUR).tolist() == pytest.approx([10, 20, 30, 40])
    assert table.expected_arrivals == pytest.approx(50)


def test_rates_per_hour_per_interval_of_the_day_are_read_by_clock_time():
    rates = [float(k) for k in range(48)]
    table = _table({"rates_per_hour": rates}, horizon=("2026-11-10 22:00", "2026-11-11 02:00"))
    # 22:00 is interval 44 of the day; after midnight the day's table starts again.
    assert (table.rate_per_s * HOUR).tolist() == pytest.approx([44, 45, 46, 47, 0, 1, 2, 3])


def test_rates_per_hour_of_a_wrong_length_are_refused_at_load():
    with pytest.raises(ScenarioError, match="rates_per_hour"):
        scenario_from_dict(_document({"rates_per_hour": [10] * 5}))


# --- counts from a file -------------------------------------------------------------------------


def test_counts_csv_rows_become_expected_arrivals_over_the_horizon(tmp_path):
    (tmp_path / "counts.csv").write_text(
        "start,count,forecast\n08:00,12,1\n08:15,20,2\n08:30,7,3\n08:45,0,4\n09:00,31,5\n")
    document = _document({"interval": "15min", "counts_csv": {"path": "counts.csv"}},
                         horizon=("08:15", "09:00"))
    table = rate_table(scenario_from_dict(document, base_dir=tmp_path))
    assert _expected(table).tolist() == pytest.approx([20, 7, 0])
    document["arrivals"]["counts_csv"]["column"] = "forecast"
    table = rate_table(scenario_from_dict(document, base_dir=tmp_path))
    assert _expected(table).tolist() == pytest.approx([2, 3, 4])


def test_counts_csv_must_cover_the_horizon(tmp_path):
    (tmp_path / "counts.csv").write_text("start,count\n08:00,12\n08:15,20\n")
    document = _document({"interval": "15min", "counts_csv": {"path": "counts.csv"}},
                         horizon=("08:00", "09:00"))
    with pytest.raises(ScenarioError, match="no row for the interval"):
        rate_table(scenario_from_dict(document, base_dir=tmp_path))


# --- spikes -------------------------------------------------------------------------------------


def _mean_of_exponential(rate: float, start: float, length: float) -> float:
    """Mean of exp(-rate x) over [start, start + length]."""
    return (math.exp(-rate * start) - math.exp(-rate * (start + length))) / (rate * length)


def test_a_spike_before_the_horizon_still_lifts_its_start():
    # at 07:00, multiplier 5, decay 1 h: 08:00-08:30 averages 1 + 4 e^{-1} (1 - e^{-1/2}) / 0.5.
    table = _table({"rates_per_hour": [100] * 24,
                    "spikes": [{"at": "07:00", "multiplier": 5, "decay": "1h"}]})
    factor = 1 + 4 * _mean_of_exponential(1 / HOUR, HOUR, 1800)
    assert table.rate_per_s[0] * HOUR == pytest.approx(100 * factor, rel=1e-4)


def test_a_spike_inside_an_interval_lifts_only_the_part_after_it():
    # at 10:15, step, multiplier 3, decay 30 min: 10:00-10:30 is half base and half
    # 1 + 2 e^{-x/1800} over x in [0, 900]; intervals before are untouched.
    table = _table({"rates_per_hour": [100] * 24,
                    "spikes": [{"at": "10:15", "multiplier": 3, "decay": "30min"}]})
    rates = table.rate_per_s * HOUR
    after = 1 + 2 * _mean_of_exponential(1 / 1800, 0, 900)
    assert rates[:4].tolist() == pytest.approx([100] * 4)
    assert rates[4] == pytest.approx(100 * (0.5 + 0.5 * after), rel=1e-4)


def test_two_spikes_multiply_rather_than_add():
    # Both at 10:00: (1 + 2 e^{-x/1800}) (1 + e^{-x/3600}) = 1 + 2 e^{-x/1800} + e^{-x/3600}
    # + 2 e^{-x/1200}, averaged over x in [0, 1800] for 10:00-10:30.
    table = _table({"rates_per_hour": [100] * 24, "spikes": [
        {"at": "10:00", "multiplier": 3, "decay": "30min"},
        {"at": "10:00", "multiplier": 2, "decay": "1h"}]})
    product = (1 + 2 * _mean_of_exponential(1 / 1800, 0, 1800)
               + _mean_of_exponential(1 / 3600, 0, 1800)
               + 2 * _mean_of_exponential(1 / 1200, 0, 1800))
    added = (1 + 2 * _mean_of_exponential(1 / 1800, 0, 1800)
             + _mean_of_exponential(1 / 3600, 0, 1800))
    assert product == pytest.approx(4.0870, abs=1e-4)  # 1 + 1.2642 + 0.7869 + 1.0358
    rate = table.rate_per_s[4] * HOUR
    assert rate == pytest.approx(100 * product, rel=1e-4)
    assert abs(rate - 100 * added) > 50


def test_a_spike_multiplies_the_profile_volume_too():
    base = _table({"daily_volume": 2400, "profile": [1.0] * 24})
    spiked = _table({"daily_volume": 2400, "profile": [1.0] * 24,
                     "spikes": [{"at": "10:00", "multiplier": 4, "decay": "30min"}]})
    ratio = spiked.rate_per_s / base.rate_per_s
    assert ratio[:4].tolist() == pytest.approx([1.0] * 4)
    assert ratio[4] == pytest.approx(1 + 3 * _mean_of_exponential(1 / 1800, 0, 1800), rel=1e-4)
    assert spiked.expected_arrivals > base.expected_arrivals


# --- the topic mix ------------------------------------------------------------------------------


def test_the_mix_is_normalised_and_changes_from_its_interval_on():
    document = _document({"rates_per_hour": [60] * 24}, topics=("a", "b"))
    document["arrivals"]["mix"] = {"a": 2, "b": 6}
    document["arrivals"]["mix_changes"] = [{"from": "10:00", "mix": {"a": 1}},
                                           {"from": "09:00", "mix": {"a": 1, "b": 1}}]
    table = rate_table(build(document))
    a = table.topics.index("a")
    # 08:00-09:00 the base mix, 09:00-10:00 half and half, from 10:00 all a (only a named).
    assert table.mix[:, a].tolist() == pytest.approx([0.25, 0.25, 0.5, 0.5, 1, 1, 1, 1])
    assert table.mix.sum(axis=1) == pytest.approx(np.ones(8))
