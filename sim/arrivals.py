"""Who arrives, when, and with what: the customers of one replication, drawn before simulating.

Arrivals are a non-homogeneous Poisson process whose rate is constant within each interval;
it is sampled exactly (a Poisson count per interval, uniform times within it). Everything a
customer brings (topic, message count, patience, think times, the uniforms that fix reply
lengths and the bot's decision) is drawn here in vectorised blocks from per-source generators,
so every variant of a replication meets the same customers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.scenario import Scenario, ScenarioError, read_counts_csv
from sim.units import DAY_S

SOURCES = (
    "arrivals",
    "topics",
    "messages",
    "think",
    "reply",
    "patience",
    "bot",
    "buyers",
    "standby",
)


def streams(seed: int, replication: int) -> dict[str, np.random.Generator]:
    """One generator per random source for replication `replication` of `seed`.

    The replication's SeedSequence depends only on (seed, replication), never on the order in
    which replications run, so any executor reproduces the same numbers.
    """
    children = np.random.SeedSequence(seed, spawn_key=(replication,)).spawn(len(SOURCES))
    return {name: np.random.default_rng(child) for name, child in zip(SOURCES, children)}


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


def _grid(scenario: Scenario) -> np.ndarray:
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
    edges = _grid(scenario)
    rates = _base_rates(scenario, edges) * _spike_factor(scenario, edges)
    mix, topics = _mix(scenario, edges)
    return RateTable(edges, rates, mix, topics)


@dataclass(frozen=True)
class Customers:
    """Every conversation of one replication, as columns (one row per conversation).

    Human-phase messages of conversation i occupy rows `msg_start[i]` to
    `msg_start[i] + n_messages[i] - 1` of the per-message columns.
    """

    arrival_s: np.ndarray
    topic: np.ndarray  # int codes into `topics`
    topics: tuple[str, ...]
    n_messages: np.ndarray
    msg_start: np.ndarray
    patience_s: np.ndarray  # inf when the topic has no patience
    reported: np.ndarray  # bool: reported/blacklisted buyers, excluded from platform rates
    bot_u: np.ndarray  # uniform deciding deflection
    bot_handling_u: np.ndarray
    think_s: np.ndarray  # per message: pause after the reply to message j before message j+1
    reply_u: np.ndarray  # per message: uniform fixing the reply length whoever answers

    @property
    def count(self) -> int:
        return len(self.arrival_s)

    @property
    def total_messages(self) -> int:
        return int(self.msg_start[-1] + self.n_messages[-1]) if self.count else 0


def sample_customers(
    scenario: Scenario, rngs: dict[str, np.random.Generator], table: RateTable | None = None
) -> Customers:
    """Draw the customers of one replication."""
    table = table or rate_table(scenario)
    lengths = np.diff(table.edges_s)
    expected = table.rate_per_s * lengths
    cv = scenario.arrivals.overdispersion_cv
    if cv > 0:
        # One gamma factor per calendar day with mean 1: forecast error of that day's volume.
        shape = 1.0 / cv**2
        day_index = np.floor(table.edges_s[:-1] / DAY_S).astype(np.int64)
        days = np.unique(day_index)
        factors = rngs["arrivals"].gamma(shape, 1.0 / shape, size=len(days))
        expected = expected * factors[np.searchsorted(days, day_index)]
    counts = rngs["arrivals"].poisson(expected)
    n = int(counts.sum())
    offsets = np.repeat(table.edges_s[:-1], counts)
    widths = np.repeat(lengths, counts)
    arrival_s = offsets + widths * rngs["arrivals"].random(n)
    interval_of = np.repeat(np.arange(len(counts)), counts)
    order = np.argsort(arrival_s, kind="stable")
    arrival_s, interval_of = arrival_s[order], interval_of[order]

    cumulative = np.cumsum(table.mix, axis=1)
    cumulative[:, -1] = 1.0
    u_topic = rngs["topics"].random(n)
    topic = (u_topic[:, None] > cumulative[interval_of]).sum(axis=1).astype(np.int16)

    n_messages = np.ones(n, dtype=np.int64)
    patience_s = np.full(n, np.inf)
    u_messages = rngs["messages"].random(n)
    u_patience = rngs["patience"].random(n)
    for code, name in enumerate(table.topics):
        mask = topic == code
        spec = scenario.topics[name]
        n_messages[mask] = spec.messages.from_uniform(u_messages[mask]).astype(np.int64)
        if spec.patience is not None:
            patience_s[mask] = spec.patience.from_uniform(u_patience[mask])
    msg_start = np.zeros(n, dtype=np.int64)
    if n:
        np.cumsum(n_messages[:-1], out=msg_start[1:])
    total = int(n_messages.sum())

    think_u = rngs["think"].random(total)
    message_topic = np.repeat(topic, n_messages)
    think_s = np.empty(total)
    for code, name in enumerate(table.topics):
        mask = message_topic == code
        think_s[mask] = scenario.topics[name].think_time.from_uniform(think_u[mask])

    return Customers(
        arrival_s=arrival_s,
        topic=topic,
        topics=table.topics,
        n_messages=n_messages,
        msg_start=msg_start,
        patience_s=patience_s,
        reported=rngs["buyers"].random(n) < scenario.arrivals.reported_share,
        bot_u=rngs["bot"].random(n),
        bot_handling_u=rngs["bot"].random(n),
        think_s=think_s,
        reply_u=rngs["reply"].random(total),
    )
