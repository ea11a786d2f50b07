"""Shared helpers for the simulator's tests: small scenario builders, replication statistics,
hand-built metric tables and a way to call the command line."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import settings as hypothesis_settings

# Property tests draw the same examples on every run, so CI is deterministic.
hypothesis_settings.register_profile("supportsim", derandomize=True, database=None)
hypothesis_settings.load_profile("supportsim")
import pytest
from scipy import stats

from sim.analysis.metrics import Tables
from sim.engine import OUTCOMES
from sim.scenario import scenario_from_dict
from sim.units import DAY_S

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"
MINIMAL = DATA / "minimal.yaml"


# --- scenarios ----------------------------------------------------------------------------------


def single_queue(agents: int, rate_per_hour: float, reply_time: dict, *, concurrency: int = 1,
                 messages: int = 1, think_time: dict | None = None,
                 patience: dict | None = None, days: int = 1, name: str = "single_queue") -> dict:
    """One topic, one group on duty around the clock, a constant arrival rate, no bot.

    With `messages: 1`, `concurrency: 1` and exponential reply times this is M/M/n.
    """
    topic = {
        "messages": {"dist": "deterministic", "value": messages},
        "think_time": think_time or {"dist": "deterministic", "value": 0},
    }
    if patience is not None:
        topic["patience"] = patience
    return {
        "name": name,
        "horizon": {"start": "2026-03-02 00:00", "end": f"2026-03-{2 + days:02d} 00:00",
                    "drain": "2h"},
        "arrivals": {"interval": "1h", "rates_per_hour": [rate_per_hour] * 24, "mix": {"q": 1}},
        "topics": {"q": topic},
        "groups": {"desk": {
            "skills": ["q"], "concurrency": concurrency, "reply_time": reply_time,
            "schedule": {"headcount": {"00:00": agents}},
        }},
    }


def build(document: dict):
    """A validated Scenario from a mapping."""
    return scenario_from_dict(document, source="<test>")


# --- statistics over replications ----------------------------------------------------------------


def t_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval of independent replication values.

    Written here rather than taken from sim.analysis.stats so the check does not lean on the code it
    checks.
    """
    data = np.asarray(values, dtype=float)
    n = len(data)
    mean = float(data.mean())
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(data.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


def assert_in_ci(values, expected: float, what: str) -> None:
    """Fail unless `expected` lies in the 95% t-interval of the replication values."""
    mean, low, high = t_interval(values)
    assert low <= expected <= high, (
        f"{what}: theory {expected:.5g} outside the 95% CI [{low:.5g}, {high:.5g}] "
        f"(mean {mean:.5g} over {len(values)} replications)"
    )


# --- hand-built metric tables --------------------------------------------------------------------


def clock(text: str) -> float:
    """Seconds since day-0 midnight of 'HH:MM' or 'HH:MM:SS' (test shorthand)."""
    parts = [int(p) for p in text.split(":")]
    return parts[0] * 3600.0 + parts[1] * 60.0 + (parts[2] if len(parts) > 2 else 0)


class Desk:
    """Builds `metrics.Tables` by hand, one buyer (conversation) at a time.

    Each buyer gives the human-phase messages as (sent_s, reply_s) pairs, reply None when the
    message was never answered; a bot reply adds the bot-phase row the engine records.
    """

    def __init__(self, topics=("presale", "order"), groups=("team",)):
        self.topics = list(topics)
        self.groups = list(groups)
        self.conversations: list[dict] = []
        self.messages: list[dict] = []
        self.duty: list[dict] = []

    def buyer(self, arrival_s: float, messages=(), *, outcome: str | None = None,
              bot_reply_s: float | None = None, end_s: float | None = None,
              topic: str = "presale", on_duty: int = 1, reported: bool = False,
              buyer: int | None = None, agent: int = 0, work_s: float = 10.0) -> int:
        """Add a conversation; returns its id (its row position, as in engine records)."""
        cid = len(self.conversations)
        messages = [(float(s), np.nan if r is None else float(r)) for s, r in messages]
        replied = [r for _, r in messages if np.isfinite(r)]
        if outcome is None:
            outcome = "served" if messages and len(replied) == len(messages) else "open"
        if end_s is None and outcome in ("served", "deflected"):
            end_s = max(replied) if replied else (bot_reply_s or arrival_s)
        via_bot = bot_reply_s is not None
        if via_bot:
            self.messages.append({"conversation": cid, "seq": -1, "by_bot": True,
                                  "sent_s": arrival_s, "reply_s": bot_reply_s, "agent": -1,
                                  "work_s": 0.0})
        for seq, (sent, reply) in enumerate(messages):
            self.messages.append({
                "conversation": cid, "seq": seq, "by_bot": False, "sent_s": sent, "reply_s": reply,
                "agent": agent if np.isfinite(reply) else -1,
                "work_s": work_s if np.isfinite(reply) else np.nan})
        queued = messages[0][0] if messages else np.nan
        self.conversations.append(dict(
            conversation=cid, topic=topic, arrival_s=float(arrival_s), outcome=outcome,
            via_bot=via_bot, bot_reply_s=np.nan if bot_reply_s is None else float(bot_reply_s),
            queued_s=queued, assigned_s=queued if replied else np.nan,
            end_s=np.nan if end_s is None else float(end_s),
            agent=agent if replied else -1, group=self.groups[0] if replied else None,
            on_duty_at_arrival=on_duty, reported=reported, n_messages=len(messages),
            **({} if buyer is None else {"buyer": buyer}),
        ))
        return cid

    def on_duty(self, agent: int, start_s: float, end_s: float, group: str | None = None):
        self.duty.append({"agent": agent, "group": group or self.groups[0], "start_s": start_s,
                              "end_s": end_s, "standby": False})

    def tables(self, stop_s: float = DAY_S, start_s: float = 0.0, end_s: float = DAY_S
               ) -> Tables:
        conv = pd.DataFrame(self.conversations)
        if "buyer" in conv:
            conv["buyer"] = conv["buyer"].fillna(-1).astype(np.int64)
        conv["topic"] = pd.Categorical(conv["topic"], categories=self.topics)
        conv["outcome"] = pd.Categorical(conv["outcome"], categories=OUTCOMES)
        conv["group"] = pd.Categorical(conv["group"], categories=self.groups)
        msgs = pd.DataFrame(self.messages, columns=["conversation", "seq", "by_bot", "sent_s",
                                                    "reply_s", "agent", "work_s"])
        msgs["by_bot"] = msgs["by_bot"].astype(bool)
        msgs = msgs.sort_values(["conversation", "seq"], kind="stable", ignore_index=True)
        duty = pd.DataFrame(self.duty, columns=["agent", "group", "start_s", "end_s", "standby"])
        duty["group"] = pd.Categorical(duty["group"], categories=self.groups)
        return Tables(conv, msgs, duty, stop_s, start_s, end_s)


# --- command line ---------------------------------------------------------------------------------


def supportsim(*args, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real console entry point in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", "from sim.cli import console; console()", *map(str, args)],
        capture_output=True, text=True, cwd=cwd or REPO, timeout=timeout, check=False,
    )


@pytest.fixture
def desk() -> Desk:
    return Desk()
