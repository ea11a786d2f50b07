"""Scripted desks for engine tests: buyers given one by one and deterministic times, so every
assignment, reply and hand-over can be worked out by hand."""

from __future__ import annotations

import numpy as np
from conftest import build

from sim.arrivals import Customers
from sim.engine import DeskRun

HOUR = 3600.0
T0 = 9 * HOUR  # 09:00, inside the default scripted horizon (08:00-12:00)


def det(value) -> dict:
    """A deterministic distribution."""
    return {"dist": "deterministic", "value": value}


def desk(topics: dict[str, int], groups: dict[str, dict], routing: dict | None = None,
         think: float = 0.0, horizon=("08:00", "12:00")) -> dict:
    """A scenario document: topics with a fixed message count each, the given groups, no bot.

    Arrivals in the document are a placeholder (the test passes its own `Customers`).
    """
    return {
        "name": "scripted",
        "horizon": {"start": horizon[0], "end": horizon[1], "drain": "1h"},
        "arrivals": {"interval": "1h", "rates_per_hour": [1] * 24,
                     "mix": {name: 1 for name in topics}},
        "topics": {name: {"messages": det(n), "think_time": det(think)}
                   for name, n in topics.items()},
        "groups": groups,
        **({"routing": routing} if routing else {}),
    }


def group(skills, reply, agents=1, concurrency=1, **extra) -> dict:
    """A group on duty around the clock (unless `schedule` is given in `extra`)."""
    spec = {"skills": list(skills), "concurrency": concurrency, "reply_time": reply,
            "schedule": {"headcount": {"00:00": agents}}}
    spec.update(extra)
    return spec


def customers(scenario, buyers, think=None, reply_u=0.5) -> Customers:
    """Customers from rows `(arrival_s, topic[, n_messages[, patience_s]])`.

    By default a buyer sends its topic's (deterministic) message count, waits its topic's
    (deterministic) think time after each reply and has no patience limit; `think` and
    `reply_u` override per message, as a scalar or one value per message in order.
    """
    topics = tuple(scenario.topics)
    code = {name: i for i, name in enumerate(topics)}
    arrival = np.array([float(b[0]) for b in buyers])
    topic = np.array([code[b[1]] for b in buyers], dtype=np.int16)
    n_messages = np.array(
        [int(b[2]) if len(b) > 2 else int(scenario.topics[b[1]].messages.value) for b in buyers],
        dtype=np.int64)
    patience = np.array([float(b[3]) if len(b) > 3 else np.inf for b in buyers])
    total = int(n_messages.sum())
    if think is None:
        think = np.repeat([float(scenario.topics[b[1]].think_time.value) for b in buyers],
                          n_messages)
    n = len(buyers)
    return Customers(
        arrival_s=arrival, topic=topic, topics=topics, n_messages=n_messages,
        msg_start=(np.cumsum(n_messages) - n_messages).astype(np.int64),
        patience_s=patience, reported=np.zeros(n, bool), bot_u=np.ones(n),
        bot_handling_u=np.ones(n),
        think_s=np.broadcast_to(np.asarray(think, dtype=float), (total,)).copy(),
        reply_u=np.broadcast_to(np.asarray(reply_u, dtype=float), (total,)).copy(),
    )


def play(document: dict, buyers, **kwargs):
    """Validate `document`, run it on the scripted buyers and return the records."""
    scenario = build(document)
    return DeskRun(scenario, customers(scenario, buyers, **kwargs)).run()
