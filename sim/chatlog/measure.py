"""The platform rates of a chat log, per day and over the whole log, by the metric code that
measures simulations (`sim.analysis.metrics.summarize` and `interval_series` on the log's
records).

A log cannot show what agents typed for how long, what an hour costs or which orders were
lost, so the metrics built on those (`LOG_UNMEASURED`) are left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis import metrics, registry
from sim.analysis.metrics import Tables
from sim.chatlog.log import ChatLog
from sim.scenario import Scenario, scenario_from_dict
from sim.units import DAY_S

#: Metrics a log cannot give: they need typing times, costs or the conversion curve.
LOG_UNMEASURED = ("occupancy", "cost", "lost_orders", "lost_gmv", "standby_activations")
_UNMEASURED_FAMILIES = ("occupancy_<group>",)
#: The whole log's column in `LogMetrics.values`.
WHOLE = "all"
#: What `supportsim metrics` prints (metrics.csv has every measurable metric).
LOG_METRICS_SHOWN = [
    "arrived", "deflection_rate", "reply_rate_5min", "reply_rate_5min_allday",
    "human_reply_rate_3min", "human_reply_rate_3min_allday", "answer_rate_30s",
    "answer_rate_30s_allday", "taobao_response_rate_3min", "jd_answer_rate_30s",
    "jd_offline_sessions", "first_response_30s_rate", "first_response_mean_s",
    "first_response_p50_s", "first_response_p90_s", "message_wait_mean_s",
    "message_wait_p95_s", "abandon_rate", "unanswered_rate", "agent_hours",
]


def measurable(name: str) -> bool:
    """Whether a metric can be measured on a log."""
    if name in LOG_UNMEASURED:
        return False
    return registry.lookup(name).family not in _UNMEASURED_FAMILIES


def measuring_scenario(log: ChatLog, settings: Scenario | None = None,
                       interval_s: float = 1800.0) -> Scenario:
    """A scenario holding what measuring needs: the log's period on an interval grid, its
    topics and groups, and the metric settings (those of `settings`, else the defaults)."""
    tables = log.tables
    last_day = log.day0 + dt.timedelta(days=round(tables.end_s / DAY_S) - 1)
    topics = log.topics
    groups = log.groups
    zero = {"dist": "deterministic", "value": 0}
    document = {
        "name": "log",
        "horizon": {"start": f"{log.day0.isoformat()} 00:00",
                    "end": f"{last_day.isoformat()} 24:00",
                    "drain": max(0.0, tables.stop_s - tables.end_s)},
        "arrivals": {"interval": interval_s, "rates_per_hour": [0] * 24, "mix": {topics[0]: 1}},
        "topics": {t: {"messages": {"dist": "deterministic", "value": 1}, "think_time": zero}
                   for t in topics},
        "groups": {g: {"skills": topics, "reply_time": zero,
                       "schedule": {"headcount": {"00:00": 0}}} for g in groups},
        "bot": {"enabled": False,
                "replies_count": settings.bot.replies_count if settings else False},
    }
    if settings is not None:
        document["metrics"] = settings.metrics.model_dump(mode="json")
    return scenario_from_dict(document, source=f"{log.source} (measuring)")


def day_tables(tables: Tables, day: int) -> Tables:
    """The records of the conversations that arrived on day `day` (0 = the first day),
    renumbered, with the duty of that day."""
    conv = tables.conversations
    arrival = conv["arrival_s"].to_numpy()
    keep = (arrival >= day * DAY_S) & (arrival < (day + 1) * DAY_S)
    return subset(tables, keep, day * DAY_S, (day + 1) * DAY_S)


def subset(tables: Tables, keep: np.ndarray, start_s: float, end_s: float) -> Tables:
    """Records of the conversations in `keep`, renumbered; duty clipped to [start_s, end_s)."""
    conv = tables.conversations[keep].copy()
    new_id = np.full(len(keep), -1, dtype=np.int64)
    new_id[np.flatnonzero(keep)] = np.arange(int(keep.sum()))
    conv["conversation"] = new_id[conv["conversation"].to_numpy()]
    conv = conv.reset_index(drop=True)
    msgs = tables.messages
    msgs = msgs[keep[msgs["conversation"].to_numpy()]].copy()
    msgs["conversation"] = new_id[msgs["conversation"].to_numpy()]
    duty = tables.duty.copy()
    duty["start_s"] = duty["start_s"].clip(lower=start_s)
    duty["end_s"] = duty["end_s"].clip(upper=end_s)
    duty = duty[duty["end_s"] > duty["start_s"]].reset_index(drop=True)
    return Tables(conv, msgs.reset_index(drop=True), duty, tables.stop_s, start_s, end_s)


@dataclass
class LogMetrics:
    """A log's measured metrics.

    - `values`: one row per metric, one column per day (`YYYY-MM-DD`) and `all`;
    - `intervals`: the per-interval series of `sim.analysis.metrics.interval_series`
      (occupancy left empty: a log does not show typing);
    - `scenario`: the measuring scenario (period, topics, groups and metric settings).
    """

    values: pd.DataFrame
    intervals: pd.DataFrame
    scenario: Scenario

    def long(self) -> pd.DataFrame:
        """Long form `period, metric, value`."""
        frame = self.values.reset_index().melt(id_vars="metric", var_name="period",
                                               value_name="value")
        return frame[["period", "metric", "value"]]

    def value(self, metric: str, period: str = WHOLE) -> float:
        return float(self.values.loc[metric, period])


def measure_tables(tables: Tables, scenario: Scenario) -> dict[str, float]:
    """The measurable metrics of one set of records."""
    values = metrics.summarize(tables, scenario)
    return {name: value for name, value in values.items() if measurable(name)}


def log_metrics(log: ChatLog, settings: Scenario | None = None, interval_s: float = 1800.0
                ) -> LogMetrics:
    """The platform rates (and every other measurable metric) of a log, per day and over the
    whole log, and its per-interval series."""
    scenario = measuring_scenario(log, settings, interval_s)
    columns = {WHOLE: measure_tables(log.tables, scenario)}
    days = log.days
    if len(days) > 1:
        for index, day in enumerate(days):
            part = day_tables(log.tables, index)
            if len(part.conversations):
                columns[day.isoformat()] = measure_tables(part, scenario)
    else:
        columns[days[0].isoformat()] = columns[WHOLE]
    values = pd.DataFrame(columns)
    values.index.name = "metric"
    intervals = metrics.interval_series(log.tables, scenario)
    intervals["occupancy"] = np.nan
    intervals.insert(0, "interval_start", metrics.interval_start(intervals["interval_start_s"],
                                                                 scenario.horizon.day0))
    return LogMetrics(values, intervals, scenario)
