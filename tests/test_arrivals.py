"""Arrivals, units and schedules: what happens before the engine runs.

Sampler checks use fixed seeds and classical goodness-of-fit tests at the 1% level (chi-square
for counts, Kolmogorov-Smirnov for times within an interval); expected values come from the
rate table's definition worked out here, not from the sampler.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import DATA, MINIMAL, assert_in_ci, clock
from scipy import stats

from sim.agents import duty_periods, headcount_at
from sim.arrivals import rate_table, sample_customers, streams
from sim.scenario import ScenarioError, scenario_from_dict
from sim.units import ClockTime, parse_duration

BASE = yaml.safe_load(MINIMAL.read_text())
HOUR = 3600.0


def scenario(mutate=None, base_dir: Path | None = None):
    document = copy.deepcopy(BASE)
    if mutate:
        mutate(document)
    return scenario_from_dict(document, source="scenario.yaml", base_dir=base_dir)


def rates_per_hour(table) -> np.ndarray:
    return table.rate_per_s * HOUR


# --- units ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, seconds", [
    ("30s", 30.0), ("5min", 300.0), ("1h", 3600.0), ("1h30min", 5400.0), ("1h 30min", 5400.0),
    ("2d", 172800.0), ("1.5h", 5400.0), ("250ms", 0.25), ("90", 90.0), (12, 12.0),
    (" 5 min ", 300.0),
])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5 minutes", "1h30", "abc", "", "min", "5x", True, None, [5]])
def test_bad_durations_say_what_is_expected(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize("text, date, seconds", [
    ("08:00", None, 28800.0), ("24:00", None, 86400.0), ("00:00", None, 0.0),
    ("8:05", None, 29100.0), ("23:59:30", None, 86370.0),
    ("2026-11-11 00:00", "2026-11-11", 0.0), ("2026-11-11T20:30", "2026-11-11", 73800.0),
])
def test_clock_times(text, date, seconds):
    value = ClockTime.parse(text)
    assert value.seconds_of_day == seconds
    assert (value.date.isoformat() if value.date else None) == date


@pytest.mark.parametrize("text", ["24:01", "25:00", "08:60", "8am", "2026-02-30 10:00",
                                  "08-00", 28800])
def test_bad_clock_times(text):
    with pytest.raises(ValueError, match="clock time"):
        ClockTime.parse(text)


def test_dated_clock_times_count_from_day0_midnight():
    import datetime as dt

    day0 = dt.date(2026, 11, 10)
    assert ClockTime.parse("2026-11-11 00:00").seconds(day0) == 86400.0
    assert ClockTime.parse("2026-11-10 20:00").seconds(day0) == 72000.0
    assert ClockTime.parse("20:00").seconds(day0) == 72000.0


# --- rate table -----------------------------------------------------------------------------------


def test_rates_per_hour_cover_the_horizon_by_clock_time():
    table = rate_table(scenario())
    assert table.edges_s.tolist() == [clock("08:00") + 1800 * k for k in range(9)]
    assert rates_per_hour(table).tolist() == [120, 120, 150, 150, 150, 150, 120, 120]
    assert table.expected_arrivals == pytest.approx(0.5 * (4 * 120 + 4 * 150))


def test_daily_volume_times_an_hourly_profile():
    weights = [0.0] * 24
    weights[8], weights[9], weights[10], weights[11] = 1, 2, 3, 4
    table = rate_table(scenario(lambda d: d["arrivals"].update(
        rates_per_hour=None, daily_volume=1000, profile=weights)))
    # Hour 9 has 2/10 of the day: 200 buyers, i.e. 200 per hour in both of its half-hours.
    assert rates_per_hour(table).tolist() == pytest.approx([100, 100, 200, 200, 300, 300,
                                                            400, 400])
    assert table.expected_arrivals == pytest.approx(1000.0)


def test_volume_per_day_over_a_dated_multi_day_horizon():
    def mutate(d):
        d["horizon"] = {"start": "2026-11-10 00:00", "end": "2026-11-13 00:00", "drain": 0}
        d["arrivals"].update(rates_per_hour=None, profile=[1.0] * 24,
                             volume_per_day={"2026-11-10": 1000, "2026-11-11": 5000,
                                             "2026-11-12": 2000})
    table = rate_table(scenario(mutate))
    per_day = [float(np.sum((table.rate_per_s * np.diff(table.edges_s))[48 * k:48 * (k + 1)]))
               for k in range(3)]
    assert per_day == pytest.approx([1000, 5000, 2000])


def test_volume_per_day_missing_a_day_of_the_horizon_is_refused():
    def mutate(d):
        d["horizon"] = {"start": "2026-11-10 00:00", "end": "2026-11-12 00:00"}
        d["arrivals"].update(rates_per_hour=None, profile=[1.0] * 24,
                             volume_per_day={"2026-11-10": 1000})
    with pytest.raises(ScenarioError, match="2026-11-11"):
        rate_table(scenario(mutate))


def test_a_spike_multiplies_the_rate_by_its_documented_shape():
    # Rate x (1 + (m - 1) exp(-(t - at) / decay)) after `at`; the table holds its mean over
    # each interval: 1 + (m - 1) (decay / L) e^{-(a - at)/decay} (1 - e^{-L/decay}) on [a, a + L).
    m, decay, length = 5.0, 1800.0, 1800.0
    table = rate_table(scenario(lambda d: d["arrivals"].update(
        rates_per_hour=[100] * 24,
        spikes=[{"at": "10:00", "multiplier": m, "decay": "30min"}])))
    at = clock("10:00")
    expected = []
    for a in table.edges_s[:-1]:
        if a < at:
            expected.append(100.0)
        else:
            shape = (decay / length) * math.exp(-(a - at) / decay) * (1 - math.exp(-length / decay))
            expected.append(100.0 * (1 + (m - 1) * shape))
    assert rates_per_hour(table) == pytest.approx(expected, rel=1e-4)
    assert rates_per_hour(table)[4] == pytest.approx(100 * (1 + 4 * (1 - math.exp(-1))), rel=1e-4)


def test_a_spike_with_a_ramp_builds_up_linearly():
    # Linear from 1 to m over the ramp: the interval covering it averages (1 + m) / 2.
    table = rate_table(scenario(lambda d: d["arrivals"].update(
        rates_per_hour=[100] * 24,
        spikes=[{"at": "10:00", "multiplier": 3, "decay": "30min", "ramp": "30min"}])))
    assert rates_per_hour(table)[3] == pytest.approx(200.0, rel=1e-6)  # 09:30-10:00
    assert rates_per_hour(table)[2] == pytest.approx(100.0)


def test_mix_changes_from_a_time_on():
    table = rate_table(scenario(lambda d: d["arrivals"].update(
        mix_changes=[{"from": "10:00", "mix": {"aftersale": 3, "presale": 1}}])))
    presale = table.topics.index("presale")
    assert table.mix[:, presale].tolist() == pytest.approx([0.7] * 4 + [0.25] * 4)
    assert table.mix.sum(axis=1) == pytest.approx(np.ones(8))


def test_counts_csv_gives_one_rate_per_row():
    def mutate(d):
        d["arrivals"].pop("rates_per_hour")
        d["arrivals"]["counts_csv"] = {"path": "counts.csv"}
    table = rate_table(scenario(mutate, base_dir=DATA / "csv"))
    # counts per 30 minutes -> per hour: twice the count.
    assert rates_per_hour(table).tolist() == pytest.approx(
        [2 * c for c in (40, 55, 70, 80, 75, 60, 50, 45)])


@pytest.mark.parametrize("name, fragments", [
    ("missing_column.csv", ["line 1", "missing column"]),
    ("negative_count.csv", ["line 4", "count must be >= 0"]),
    ("out_of_order.csv", ["line 4", "out of order"]),
    ("wrong_interval.csv", ["line 4", "2700s apart", "1800s"]),
    ("absent.csv", ["absent.csv", "cannot open"]),
])
def test_bad_counts_csv_names_the_file_and_line(name, fragments):
    def mutate(d):
        d["arrivals"].pop("rates_per_hour")
        d["arrivals"]["counts_csv"] = {"path": name}
    with pytest.raises(ScenarioError) as info:
        scenario(mutate, base_dir=DATA / "csv")
    message = str(info.value)
    assert name in message
    for fragment in fragments:
        assert fragment in message, message


def test_counts_csv_outside_the_scenario_folder_is_refused():
    def mutate(d):
        d["arrivals"].pop("rates_per_hour")
        d["arrivals"]["counts_csv"] = {"path": "../minimal.yaml"}
    with pytest.raises(ScenarioError, match="inside the scenario's folder"):
        scenario(mutate, base_dir=DATA / "csv")


# --- sampling -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nhpp_samples():
    sc = scenario(lambda d: d["arrivals"].update(
        rates_per_hour=[0] * 16 + [40, 300, 10, 150, 600, 80, 0, 220] + [0] * 24))
    table = rate_table(sc)
    return sc, table, [sample_customers(sc, streams(42, r), table) for r in range(300)]


def test_nhpp_counts_per_interval_match_the_rate_table(nhpp_samples):
    _, table, samples = nhpp_samples
    edges = table.edges_s
    counts = np.array([np.histogram(c.arrival_s, bins=edges)[0] for c in samples])
    expected = table.rate_per_s * np.diff(edges)
    assert expected[6] == 0  # an empty interval stays empty
    assert counts[:, 6].sum() == 0
    live = expected > 0
    # Pooled over replications each interval's count is Poisson(R * Lambda_i): chi-square.
    observed = counts[:, live].sum(axis=0)
    chi2 = float(np.sum((observed - len(samples) * expected[live]) ** 2
                        / (len(samples) * expected[live])))
    assert stats.chi2.sf(chi2, live.sum()) > 0.01, (observed, len(samples) * expected[live])
    # Poisson, not over- or under-dispersed: index of dispersion summed over intervals.
    dispersion = float(np.sum((counts[:, live] - counts[:, live].mean(axis=0)) ** 2
                              / counts[:, live].mean(axis=0)))
    dof = live.sum() * (len(samples) - 1)
    assert 0.01 < stats.chi2.sf(dispersion, dof) < 0.99


def test_nhpp_times_are_uniform_within_an_interval_and_sorted(nhpp_samples):
    sc, table, samples = nhpp_samples
    edges = table.edges_s
    positions = []
    for c in samples:
        assert (np.diff(c.arrival_s) >= 0).all()
        assert c.arrival_s.min() >= sc.horizon.start_s and c.arrival_s.max() < sc.horizon.end_s
        k = np.searchsorted(edges, c.arrival_s, side="right") - 1
        positions.append((c.arrival_s - edges[k]) / np.diff(edges)[k])
    assert stats.kstest(np.concatenate(positions), "uniform").pvalue > 0.01


def test_topics_follow_the_mix(nhpp_samples):
    _, table, samples = nhpp_samples
    presale = table.topics.index("presale")
    share = [np.mean(c.topic == presale) for c in samples]
    assert_in_ci(share, 0.7, "presale share")


def test_overdispersion_keeps_the_mean_and_widens_daily_volume():
    def mutate(d):
        d["horizon"] = {"start": "00:00", "end": "24:00"}
        d["arrivals"].update(rates_per_hour=None, daily_volume=1000, profile=[1.0] * 24,
                             overdispersion_cv=0.3)
    sc = scenario(mutate)
    table = rate_table(sc)
    totals = [sample_customers(sc, streams(9, r), table).count for r in range(200)]
    assert_in_ci(totals, 1000.0, "daily volume with over-dispersion")
    # Poisson alone has variance 1000; gamma mixing adds cv^2 * 1000^2 = 90,000.
    assert np.var(totals, ddof=1) > 20 * 1000


# --- schedules ------------------------------------------------------------------------------------


def schedule_scenario(schedule: dict, horizon=("00:00", "24:00")):
    def mutate(d):
        d["horizon"] = {"start": horizon[0], "end": horizon[1]}
        d["groups"]["team"]["schedule"] = schedule
        d["variants"] = {}
    return scenario(mutate)


def spans(periods):
    return sorted((p.slot, p.start_s / HOUR, p.end_s / HOUR) for p in periods)


def test_shifts_with_breaks():
    sc = schedule_scenario({"shifts": [
        {"start": "08:00", "length": "9h", "agents": 2, "breaks": [{"after": "4h",
                                                                   "length": "1h"}]},
        {"start": "12:00", "length": "4h", "agents": 1,
         "breaks": [{"after": "1h", "length": "15min"}, {"after": "3h", "length": "15min"}]},
    ]})
    periods = duty_periods(sc.groups["team"].schedule, sc)
    assert spans(periods) == [
        (0, 8, 12), (0, 13, 17), (1, 8, 12), (1, 13, 17),
        (2, 12, 13), (2, 13.25, 15), (2, 15.25, 16),
    ]
    assert headcount_at(periods, [h * HOUR for h in (7, 8, 12.5, 13.1, 16.5)]) == [0, 2, 1, 2, 2]


def test_an_undated_shift_repeats_daily_and_wraps_midnight():
    sc = schedule_scenario({"shifts": [{"start": "20:00", "length": "8h", "agents": 1}]},
                           horizon=("2026-11-10 00:00", "2026-11-12 00:00"))
    periods = duty_periods(sc.groups["team"].schedule, sc)
    # The shift that began the evening before the horizon still covers 00:00-04:00.
    assert spans(periods) == [(0, 0, 4), (0, 20, 28), (0, 44, 48)]


def test_a_headcount_table_steps_up_and_down():
    sc = schedule_scenario({"headcount": {"00:00": 0, "08:00": 4, "12:00": 5, "18:00": 4,
                                          "23:00": 0}})
    periods = duty_periods(sc.groups["team"].schedule, sc)
    times = [h * HOUR for h in (7.9, 8, 11.9, 12, 17.9, 18, 22.9, 23)]
    assert headcount_at(periods, times) == [0, 4, 4, 5, 5, 4, 4, 0]
    # A step up adds an agent and keeps the others on duty (no shift break at 12:00).
    assert (0, 8, 23) in spans(periods) and (4, 12, 18) in spans(periods)


def test_a_dated_headcount_table_over_two_days():
    sc = schedule_scenario({"headcount": {"2026-11-10 20:00": 3, "2026-11-11 02:00": 6,
                                          "2026-11-11 06:00": 1}},
                           horizon=("2026-11-10 18:00", "2026-11-11 08:00"))
    periods = duty_periods(sc.groups["team"].schedule, sc)
    times = [h * HOUR for h in (19, 20, 25.9, 26, 29.9, 30, 31.9)]
    assert headcount_at(periods, times) == [0, 3, 3, 6, 6, 1, 1]
