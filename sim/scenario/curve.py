"""The arrival curve a scenario describes: the expected rate per interval over the horizon and
the topic mix, on the one interval grid every per-interval figure uses."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.scenario.counts import read_counts_csv
from sim.scenario.errors import ScenarioError
from sim.scenario.model import Scenario
from sim.units import DAY_S


@dataclass(frozen=True)
class RateTable:
    """Piecewise-constant arrival rate over the horizon."""

    edges_s: np.ndarray  # interval boundaries, len n + 1, clipped to the horizon
    rate_per_s: np.ndarray  # len n
    mix: np.ndarray  # (n, topics) shares per interval, rows sum to 1
    topics: tuple[str, ...]

    @property
    def expected_arrivals(self) -> float:
        return float(np.sum(self.rate_per_s * np.diff(self.edges_s)))


def interval_grid(scenario: Scenario) -> np.ndarray:
    interval = scenario.arrivals.interval
    start, end = scenario.horizon.start_s, scenario.horizon.end_s
    first = math.floor(start / interval) * interval
    edges = np.arange(first, end + interval, interval, dtype=float)
    edges = edges[edges <= end + 1e-9]
    if edges[-1] < end:
        edges = np.append(edges, end)
    edges[0] = start
    return np.unique(edges)


def _day_date(scenario: Scenario, day: int) -> dt.date | None:
    day0 = scenario.horizon.day0
    return None if day0 is None else day0 + dt.timedelta(days=day)


def _base_rates(scenario: Scenario, edges: np.ndarray) -> np.ndarray:
    arrivals = scenario.arrivals
    interval = arrivals.interval
    starts = edges[:-1]
    slot = np.floor(starts / interval + 1e-9).astype(np.int64)  # interval index since day 0
    per_day = int(DAY_S // interval)
    if arrivals.profile is not None:
        weights = np.asarray(arrivals.profile, dtype=float)
        if len(weights) == 24:
            weights = np.repeat(weights, per_day // 24) if per_day >= 24 else weights
            if per_day < 24:  # unreachable with 15/30/60 min intervals; kept for clarity
                raise ScenarioError("arrivals.interval longer than an hour is not supported")
        weights = weights / weights.sum()
        days = slot // per_day
        volumes = np.empty(len(starts))
        for i, day in enumerate(days):
            volumes[i] = _volume_of_day(scenario, int(day))
        return volumes * weights[slot % per_day] / interval
    if arrivals.rates_per_hour is not None:
        table = np.asarray(arrivals.rates_per_hour, dtype=float) / 3600.0
        horizon_slots = slot - slot[0]
        if len(table) == 24 and per_day != 24:
            table = np.repeat(table, per_day // 24)  # hourly rates on a finer grid
        if len(table) == per_day:
            return table[slot % per_day]
        if len(table) == len(starts):
            return table[horizon_slots]
        raise ScenarioError(
            f"arrivals.rates_per_hour: {len(arrivals.rates_per_hour)} rates match neither one "
            f"day (24 hourly or {per_day} per interval, repeated daily) nor the horizon "
            f"({len(starts)} intervals)"
        )
    rows = read_counts_csv(
        arrivals.counts_csv, Path("/"), interval, scenario.horizon.day0, confine=False
    )
    counts = {round(start / interval): count for start, count in rows}
    missing = [int(s) for s in slot if int(s) not in counts]
    if missing:
        raise ScenarioError(
            f"arrivals.counts_csv: no row for the interval starting at "
            f"{missing[0] * interval / 3600:.2f}h after day-0 midnight; the file must cover "
            "the whole horizon"
        )
    return np.array([counts[int(s)] for s in slot]) / interval


def _volume_of_day(scenario: Scenario, day: int) -> float:
    arrivals = scenario.arrivals
    if arrivals.daily_volume is not None:
        return arrivals.daily_volume
    date = _day_date(scenario, day)
    if date is None:
        raise ScenarioError(
            "arrivals.volume_per_day: needs a dated horizon (start 'YYYY-MM-DD HH:MM')"
        )
    try:
        return arrivals.volume_per_day[date.isoformat()]
    except KeyError:
        raise ScenarioError(
            f"arrivals.volume_per_day: no entry for {date.isoformat()}, a day of the horizon"
        ) from None


def _spike_factor(scenario: Scenario, edges: np.ndarray) -> np.ndarray:
    """Mean of the product of spike multipliers over each interval (midpoint rule, 60 points)."""
    factor = np.ones(len(edges) - 1)
    if not scenario.arrivals.spikes:
        return factor
    fractions = (np.arange(60) + 0.5) / 60
    points = edges[:-1, None] + np.diff(edges)[:, None] * fractions[None, :]
    shape = np.ones_like(points)
    for spike in scenario.arrivals.spikes:
        at = spike.at.seconds(scenario.horizon.day0)
        after = np.exp(-np.clip(points - at, 0, None) / spike.decay)
        if spike.ramp > 0:
            before = np.clip((points - (at - spike.ramp)) / spike.ramp, 0, 1)
        else:
            before = np.zeros_like(points)
        level = np.where(points >= at, after, before)
        shape *= 1.0 + (spike.multiplier - 1.0) * level
    return shape.mean(axis=1)


def _mix(scenario: Scenario, edges: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    topics = tuple(scenario.topics)
    rows = np.empty((len(edges) - 1, len(topics)))

    def vector(mix: dict[str, float]) -> np.ndarray:
        shares = np.array([mix.get(topic, 0.0) for topic in topics], dtype=float)
        return shares / shares.sum()

    rows[:] = vector(scenario.arrivals.mix)
    changes = sorted(
        scenario.arrivals.mix_changes, key=lambda c: c.start.seconds(scenario.horizon.day0)
    )
    for change in changes:
        if sum(change.mix.values()) <= 0:
            raise ScenarioError("arrivals.mix_changes: a mix needs a positive share")
        rows[edges[:-1] >= change.start.seconds(scenario.horizon.day0) - 1e-9] = vector(change.mix)
    return rows, topics


def rate_table(scenario: Scenario) -> RateTable:
    """The expected arrival rate per interval over the horizon, before over-dispersion."""
    edges = interval_grid(scenario)
    rates = _base_rates(scenario, edges) * _spike_factor(scenario, edges)
    mix, topics = _mix(scenario, edges)
    return RateTable(edges, rates, mix, topics)
