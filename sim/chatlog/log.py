"""A chat log read, checked and turned into records: `read_log` and `ChatLog`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.analysis.metrics import Tables
from sim.chatlog.duty import infer_duty, read_duty
from sim.chatlog.errors import ChatLogError
from sim.chatlog.format import AGENT, EVENTS, SENDERS, LogFormat, load_format
from sim.chatlog.reading import Rows, read_rows
from sim.chatlog.records import log_tables
from sim.units import DAY_S

#: The group of agents the log and the duty file give none.
DEFAULT_GROUP = "desk"
#: Replies this long after a duty period ends still count as finishing its chats.
FINISHING_S = 3600.0


@dataclass
class ChatLog:
    """A shop's chat log, read and checked, with its duty and its records.

    `tables` are the records the metrics read (`sim.analysis.metrics.Tables`: conversations,
    messages and duty periods); `rows` the messages as read. Times are seconds since midnight
    of `day0`, the log's first day, in local time. `notes` say what was assumed or fixed on
    the way (rows sorted, duty inferred, ...).
    """

    source: str
    rows: Rows
    tables: Tables
    agent_ids: list[str]
    agent_groups: list[str]
    duty_inferred: bool
    notes: list[str] = field(default_factory=list)

    @property
    def day0(self) -> dt.date:
        return self.rows.day0

    @property
    def days(self) -> list[dt.date]:
        """The calendar days on which conversations arrived."""
        count = round(self.tables.end_s / DAY_S)
        return [self.day0 + dt.timedelta(days=d) for d in range(count)]

    @property
    def groups(self) -> list[str]:
        return list(self.tables.conversations["group"].cat.categories)

    @property
    def topics(self) -> list[str]:
        return list(self.tables.conversations["topic"].cat.categories)

    @property
    def conversations(self) -> pd.DataFrame:
        """One row per conversation, as the metrics read them (see docs/metrics.md)."""
        return self.tables.conversations

    @property
    def messages(self) -> pd.DataFrame:
        """One row per customer message with the reply that answered it."""
        return self.tables.messages

    @property
    def duty(self) -> pd.DataFrame:
        return self.tables.duty

    def timestamp(self, seconds) -> pd.Series | pd.Timestamp:
        """Local clock time of seconds since midnight of the first day."""
        base = pd.Timestamp(self.day0)
        if np.ndim(seconds) == 0:
            return base + pd.to_timedelta(float(seconds), unit="s")
        return base + pd.to_timedelta(np.asarray(seconds, dtype=float), unit="s")

    def rows_frame(self) -> pd.DataFrame:
        """The messages as read, in time order per conversation, with readable columns."""
        frame = self.rows.frame
        agent = frame["agent"].to_numpy()
        agent_ids = np.asarray(self.agent_ids + [""], dtype=object)
        topics = np.asarray(self.rows.topic_names + [""], dtype=object)
        groups = np.asarray(self.rows.group_names + [""], dtype=object)
        return pd.DataFrame({
            "conversation_id": self.rows.conversation_ids[frame["conversation"].to_numpy()],
            "buyer_id": self.rows.buyer_ids[frame["buyer"].to_numpy()],
            "sender": np.asarray(SENDERS, dtype=object)[frame["sender"].to_numpy()],
            "agent_id": agent_ids[agent],
            "group": groups[frame["group"].to_numpy()],
            "topic": topics[frame["topic"].to_numpy()],
            "sent_at": self.timestamp(frame["t_s"].to_numpy()),
            "event": np.asarray(EVENTS, dtype=object)[frame["event"].to_numpy()],
            "line": frame["line"].to_numpy(),
        })


def _agent_groups(rows: Rows, duty: pd.DataFrame | None, notes: list[str]) -> list[str]:
    """Each agent's group: the group its replies name most often, else the duty file's."""
    frame = rows.frame
    replies = frame[frame["sender"].to_numpy() == AGENT]
    labelled = replies[replies["group"].to_numpy() >= 0]
    groups: dict[int, str] = {}
    if len(labelled):
        counts = labelled.groupby(["agent", "group"]).size().reset_index(name="n")
        counts = counts.sort_values(["agent", "n"], ascending=[True, False], kind="stable")
        several = counts["agent"].duplicated(keep=False)
        if several.any():
            agent = int(counts.loc[several, "agent"].iloc[0])
            names = [rows.group_names[g] for g in counts.loc[counts["agent"] == agent, "group"]]
            notes.append(f"{rows.source}: {counts.loc[several, 'agent'].nunique()} agents "
                         f"answered in several groups (e.g. {rows.agent_ids[agent]}: "
                         f"{', '.join(names)}); each is taken to be in its most frequent one")
        for row in counts.drop_duplicates("agent").itertuples(index=False):
            groups[int(row.agent)] = rows.group_names[int(row.group)]
    if duty is not None:
        on_file = dict(zip(duty["agent"], duty["group"]))
        for agent, group in on_file.items():
            groups.setdefault(int(agent), group)
    return [groups.get(a, DEFAULT_GROUP) for a in range(len(rows.agent_ids))]


def _seconds(value, day0: dt.date) -> float:
    stamp = pd.Timestamp(value)
    return (stamp - pd.Timestamp(day0)).total_seconds()


def read_log(path: str | Path, columns: str | Path | LogFormat | None = None, *,
             encoding: str | None = None, timezone: str | None = None,
             duty: str | Path | None = None, until=None, progress: bool = False) -> ChatLog:
    """Read a chat log (CSV or Parquet), check it and turn it into records.

    `columns` is the format file (`--columns map.yaml`) or a `LogFormat`; `encoding` and
    `timezone` override it. `duty` names a duty file (`agent_id, group, start, end`); without
    one, duty is inferred from the agents' replies (and the log's notes say so). `until` is
    when the log ends (a local time); by default its last row.
    """
    fmt = columns if isinstance(columns, LogFormat) else load_format(columns)
    fmt = fmt.with_options(encoding=encoding, timezone=timezone)
    with tqdm(total=3, desc=f"read {Path(path).name}", unit="step", disable=not progress,
              leave=False) as bar:
        rows = read_rows(path, fmt)
        bar.update()
        notes = list(rows.notes)
        agent_ids = [str(a) for a in rows.agent_ids]
        duty_frame = None
        if duty is not None:
            duty_file = read_duty(duty, fmt, rows.day0)
            index = {name: i for i, name in enumerate(agent_ids)}
            for name in duty_file["agent_id"]:
                if name not in index:
                    index[name] = len(agent_ids)
                    agent_ids.append(name)
            duty_frame = pd.DataFrame({"agent": duty_file["agent_id"].map(index).to_numpy(),
                                       "group": duty_file["group"].to_numpy(),
                                       "start_s": duty_file["start_s"].to_numpy(),
                                       "end_s": duty_file["end_s"].to_numpy()})
        rows.agent_ids = np.asarray(agent_ids, dtype=object)
        groups_of = _agent_groups(rows, duty_frame, notes)
        if duty_frame is None:
            inferred = infer_duty(rows.frame)
            inferred["group"] = [groups_of[a] for a in inferred["agent"]]
            duty_frame = inferred
            notes.append(f"{rows.source}: no duty file: duty is inferred from activity, each "
                         "agent on duty from the first to the last reply of every run of "
                         "replies less than 30 minutes apart")
        else:
            _check_duty(rows, duty_frame, groups_of, notes, str(duty))
        bar.update()
        frame = rows.frame
        last_s = float(frame["t_s"].max())
        stop_s = last_s if until is None else _seconds(until, rows.day0)
        if stop_s < last_s:
            raise ChatLogError(f"{rows.source}: --until {until} is before the log's last row "
                               f"({pd.Timestamp(rows.day0) + pd.to_timedelta(last_s, 's')})")
        first_buyer = frame.groupby("conversation", sort=True)["t_s"].min().to_numpy()
        end_s = (np.floor(first_buyer.max() / DAY_S) + 1) * DAY_S
        group_names = list(dict.fromkeys(
            [*groups_of, *duty_frame["group"].astype(str)]).keys()) or [DEFAULT_GROUP]
        code = {name: i for i, name in enumerate(group_names)}
        agent_group = np.asarray([code[g] for g in groups_of] or [0], dtype=np.int64)
        tables = log_tables(frame, has_events=rows.has_events, topic_names=rows.topic_names,
                            agent_group=agent_group, group_names=group_names,
                            duty=duty_frame, stop_s=stop_s, end_s=float(end_s))
        bar.update()
    return ChatLog(rows.source, rows, tables, agent_ids, groups_of, duty is None, notes)


def _check_duty(rows: Rows, duty: pd.DataFrame, groups_of: list[str], notes: list[str],
                source: str) -> None:
    """Notes on replies sent by agents the duty file has off duty."""
    frame = rows.frame
    replies = frame[frame["sender"].to_numpy() == AGENT]
    agent, t = replies["agent"].to_numpy(), replies["t_s"].to_numpy()
    covered = np.zeros(len(replies), dtype=bool)
    for who, periods in duty.groupby("agent"):
        mine = agent == who
        if not mine.any():
            continue
        for start, end in zip(periods["start_s"], periods["end_s"]):
            # An agent finishes its open chats after a period ends: allow for that.
            covered[mine] |= (t[mine] >= start) & (t[mine] <= end + FINISHING_S)
    if (~covered).any():
        notes.append(f"{source}: {int((~covered).sum())} of {len(replies)} agent replies were "
                     "sent by agents off duty in the duty file (more than an hour after any "
                     "period of theirs ended, or before it began)")
    named = duty.drop_duplicates("agent").set_index("agent")["group"]
    differ = [a for a, g in named.items() if groups_of[int(a)] != g]
    if differ:
        notes.append(f"{source}: {len(differ)} agents answer under another group than the "
                     f"duty file's (e.g. {rows.agent_ids[int(differ[0])]})")
