"""Who arrives, when, and with what: the customers of one replication, drawn before simulating.

Arrivals are a non-homogeneous Poisson process whose rate is constant within each interval;
it is sampled exactly (a Poisson count per interval, uniform times within it). Everything a
customer brings (topic, message count, patience, think times, the uniforms that fix reply
lengths and the bot's decision) is drawn here in vectorised blocks from per-source generators,
so every variant of a replication meets the same customers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.curve import RateTable, rate_table
from sim.scenario.model import Scenario
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
)


def streams(seed: int, replication: int) -> dict[str, np.random.Generator]:
    """One generator per random source for replication `replication` of `seed`.

    The replication's SeedSequence depends only on (seed, replication), never on the order in
    which replications run, so any executor reproduces the same numbers.
    """
    children = np.random.SeedSequence(seed, spawn_key=(replication,)).spawn(len(SOURCES))
    return {name: np.random.default_rng(child) for name, child in zip(SOURCES, children)}



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


# --- buyers already at the desk (resuming a desk state) --------------------------------------


def quantile_above(dist, floor: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draws of `dist` conditioned on exceeding `floor`, by inverse transform: the uniform is
    mapped into (F(floor), 1), with F(floor) found by bisection on `from_uniform` (the
    quantile function), so any distribution of the scenario works, counts included."""
    floor = np.asarray(floor, dtype=float)
    lo, hi = np.zeros(floor.shape), np.ones(floor.shape)
    for _ in range(60):
        mid = (lo + hi) / 2
        below = dist.from_uniform(mid) <= floor
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return dist.from_uniform(lo + (1.0 - lo) * np.asarray(u, dtype=float))


def open_customers(scenario: Scenario, rng: np.random.Generator, topics: tuple[str, ...],
                   rows: list[dict]) -> Customers:
    """Customers for buyers already at the desk in a hand-written state (or one resumed on
    other random streams than it was taken from).

    Each row gives `topic` (a code), `arrival_s`, `answered`, `messages` (None: drawn, given
    that more than `answered` are sent) and `waited_s` (for a buyer still waiting for the
    first reply: the wait so far, their patience drawn given they have not left yet; None:
    no patience applies). Think times and reply lengths of their messages are drawn afresh.
    """
    n = len(rows)
    topic = np.array([r["topic"] for r in rows], dtype=np.int16)
    n_messages = np.ones(n, dtype=np.int64)
    patience_s = np.full(n, np.inf)
    for i, r in enumerate(rows):
        spec = scenario.topics[topics[r["topic"]]]
        if r["messages"] is not None:
            n_messages[i] = r["messages"]
        else:
            n_messages[i] = int(quantile_above(spec.messages, [float(r["answered"])],
                                               [rng.random()])[0])
        if r["waited_s"] is not None and spec.patience is not None:
            patience_s[i] = float(quantile_above(spec.patience, [r["waited_s"]],
                                                 [rng.random()])[0])
    msg_start = np.zeros(n, dtype=np.int64)
    if n:
        np.cumsum(n_messages[:-1], out=msg_start[1:])
    total = int(n_messages.sum())
    message_topic = np.repeat(topic, n_messages)
    think_s = np.empty(total)
    think_u = rng.random(total)
    for code, name in enumerate(topics):
        mask = message_topic == code
        think_s[mask] = scenario.topics[name].think_time.from_uniform(think_u[mask])
    return Customers(
        arrival_s=np.array([r["arrival_s"] for r in rows], dtype=float),
        topic=topic, topics=topics, n_messages=n_messages, msg_start=msg_start,
        patience_s=patience_s,
        reported=rng.random(n) < scenario.arrivals.reported_share,
        bot_u=rng.random(n), bot_handling_u=rng.random(n),
        think_s=think_s, reply_u=rng.random(total),
    )


def join_customers(first: Customers, second: Customers) -> Customers:
    """`first`'s rows, then `second`'s (same topics), as one set of columns."""
    columns = {name: np.concatenate([getattr(first, name), getattr(second, name)])
               for name in ("arrival_s", "topic", "n_messages", "patience_s", "reported",
                            "bot_u", "bot_handling_u", "think_s", "reply_u")}
    msg_start = np.concatenate([first.msg_start, second.msg_start + first.total_messages])
    return Customers(**columns, msg_start=msg_start, topics=first.topics)


def state_stream(seed: int, replication: int) -> np.random.Generator:
    """The generator for buyers already at the desk when a state is resumed: its own branch of
    the replication's seed sequence, so it never overlaps the other sources."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication, 1 << 30)))
