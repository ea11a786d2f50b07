"""A run's records as plain numpy columns, the form every metric computes on.

`Columns` holds one array per field of the three tables (conversations, messages, duty) that
`sim.analysis.metrics.Tables` shows as DataFrames. It is built straight from the engine's
`Records` (no DataFrame in between) or, for tables built another way (a chat log, a test's
hand-made desk), from the DataFrames. Either way the arrays are the DataFrames' columns: the
same values in the same row order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.engine.records import OUTCOMES

OPEN, DEFLECTED, SERVED, ABANDONED = (OUTCOMES.index(name) for name in
                                      ("open", "deflected", "served", "abandoned"))


@dataclass(frozen=True)
class Columns:
    """The columns the metrics read. Conversation ids are row positions."""

    # one row per conversation
    arrival_s: np.ndarray
    queued_s: np.ndarray
    assigned_s: np.ndarray
    end_s: np.ndarray
    outcome: np.ndarray  # codes into OUTCOMES (-1: anything else)
    reported: np.ndarray
    on_duty_at_arrival: np.ndarray
    topic: np.ndarray  # codes into `topics` (-1: none)
    topics: tuple[str, ...]
    buyer: np.ndarray | None  # a chat log's buyer ids; None: each conversation is its buyer
    # one row per sent message
    conversation: np.ndarray
    seq: np.ndarray
    by_bot: np.ndarray
    sent_s: np.ndarray
    reply_s: np.ndarray
    agent: np.ndarray
    work_s: np.ndarray
    # one row per duty period
    duty_agent: np.ndarray
    duty_group: np.ndarray  # codes into `groups` (-1: none)
    groups: tuple[str, ...]
    duty_start_s: np.ndarray
    duty_end_s: np.ndarray

    @property
    def n_conversations(self) -> int:
        return len(self.arrival_s)


def from_records(records) -> Columns:
    """The columns of an engine run, in the row order of `Records.conversations()`,
    `Records.messages()` and `Records.duty()`."""
    messages = records.message_columns()
    return Columns(
        arrival_s=records.arrival_s,
        queued_s=records.queued_s,
        assigned_s=records.assigned_s,
        end_s=records.end_at_s,
        outcome=np.asarray(records.outcome),
        reported=np.asarray(records.reported, dtype=bool),
        on_duty_at_arrival=records.on_duty_at_arrival,
        topic=np.asarray(records.topic),
        topics=tuple(records.topics),
        buyer=None,
        **messages,
        duty_agent=records.duty_agent,
        duty_group=np.asarray(records.duty_group),
        groups=tuple(records.group_names),
        duty_start_s=records.duty_start_s,
        duty_end_s=records.duty_end_s,
    )


def from_frames(conversations: pd.DataFrame, messages: pd.DataFrame, duty: pd.DataFrame
                ) -> Columns:
    """The columns of tables given as DataFrames (see `sim.analysis.metrics.Tables`)."""
    conv, msgs = conversations, messages
    topic, topics = _codes(conv["topic"])
    group, groups = _codes(duty["group"])
    outcome = np.full(len(conv), -1, dtype=np.int64)
    values = conv["outcome"]
    for code, name in enumerate(OUTCOMES):
        outcome[np.asarray(values == name, dtype=bool)] = code
    return Columns(
        arrival_s=_floats(conv["arrival_s"]),
        queued_s=_floats(conv["queued_s"]),
        assigned_s=_floats(conv["assigned_s"]),
        end_s=_floats(conv["end_s"]),
        outcome=outcome,
        reported=conv["reported"].to_numpy(dtype=bool),
        on_duty_at_arrival=conv["on_duty_at_arrival"].to_numpy(),
        topic=topic,
        topics=topics,
        buyer=conv["buyer"].to_numpy() if "buyer" in conv else None,
        conversation=msgs["conversation"].to_numpy(),
        seq=msgs["seq"].to_numpy(),
        by_bot=msgs["by_bot"].to_numpy(dtype=bool),
        sent_s=_floats(msgs["sent_s"]),
        reply_s=_floats(msgs["reply_s"]),
        agent=msgs["agent"].to_numpy(),
        work_s=_floats(msgs["work_s"]),
        duty_agent=duty["agent"].to_numpy(),
        duty_group=group,
        groups=groups,
        duty_start_s=_floats(duty["start_s"]),
        duty_end_s=_floats(duty["end_s"]),
    )


def _floats(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=float)


def _codes(series: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes and the names they stand for, in the order a groupby lists them: a
    categorical's categories, otherwise the sorted distinct values."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return (series.cat.codes.to_numpy().astype(np.int64),
                tuple(str(c) for c in series.cat.categories))
    values = series.to_numpy()
    present = pd.notna(values)
    names = np.unique(values[present].astype(str)) if present.any() else np.zeros(0, str)
    codes = np.full(len(values), -1, dtype=np.int64)
    codes[present] = np.searchsorted(names, values[present].astype(str))
    return codes, tuple(str(n) for n in names)
