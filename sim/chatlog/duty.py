"""Who was online when: a duty file (`agent_id, group, start, end`), or duty inferred from the
agents' replies when there is none."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from sim.chatlog.errors import ChatLogError
from sim.chatlog.format import AGENT, DUTY_COLUMNS, LogFormat
from sim.chatlog.reading import (
    _NAME,
    _codes,
    _fail,
    _strings,
    _times,
    read_csv_table,
    read_parquet_table,
)

#: Inferred duty: replies further apart than this start a new period on duty.
IDLE_GAP_S = 1800.0


def read_duty(path: str | Path, fmt: LogFormat, day0: dt.date) -> pd.DataFrame:
    """A duty file as rows `agent_id` (str), `group` (str), `start_s`, `end_s` (seconds since
    midnight of the log's first day `day0`), checked line by line."""
    path = Path(path)
    source = str(path)
    parquet = path.suffix.lower() in (".parquet", ".pq")
    table, lines = read_parquet_table(path) if parquet else read_csv_table(path, fmt.encoding)

    def where(line: int) -> str:
        return f"row {line}" if parquet else f"line {line}"

    present = set(table.column_names)
    missing = [c for c in DUTY_COLUMNS if fmt.duty_source(c) not in present]
    if missing:
        raise ChatLogError(f"{source}: line 1: missing duty column(s) {', '.join(missing)}; "
                           f"the file has {', '.join(table.column_names) or 'none'} (a duty "
                           "file has agent_id, group, start, end)")
    if table.num_rows == 0:
        raise ChatLogError(f"{source}: no rows after the header")
    names = fmt.duty_source
    agent_codes, agent_values = _codes(_strings(table.column(names("agent_id"))))
    group_codes, group_values = _codes(_strings(table.column(names("group"))))
    # The format file's `values: group:` renames the duty file's groups as it does the log's.
    group_values = np.array([fmt.values.group.get(v, v) for v in group_values], dtype=object)
    for column, codes, values in (("agent_id", agent_codes, agent_values),
                                  ("group", group_codes, group_values)):
        empty = values[codes] == ""
        if empty.any():
            _fail(source, where(lines[int(np.flatnonzero(empty)[0])]), column, names,
                  f"no {column.replace('_', ' ')} given")
    for label in dict.fromkeys(group_values[group_codes]):
        if not _NAME.match(str(label)) or len(str(label)) > 64:
            row = int(np.flatnonzero(group_values[group_codes] == label)[0])
            _fail(source, where(lines[row]), "group", names,
                  f"{label!r} cannot name a group (at most 64 characters, no dots, not "
                  "starting with a space); rename it under `values: group:` in the "
                  "--columns file")
    times = {}
    for column in ("start", "end"):
        local = _times(table.column(names(column)), fmt, lines, source, where, column, names)
        times[column] = (local - np.datetime64(day0, "us")).astype("timedelta64[us]").astype(
            np.int64) / 1e6
    backwards = np.flatnonzero(times["end"] <= times["start"])
    if len(backwards):
        _fail(source, where(lines[backwards[0]]), "end", names, "a duty period must end after "
              "it starts")
    frame = pd.DataFrame({"agent_id": agent_values[agent_codes].astype(str),
                          "group": group_values[group_codes].astype(str),
                          "start_s": times["start"], "end_s": times["end"], "line": lines})
    frame = frame.sort_values(["agent_id", "start_s"], kind="stable", ignore_index=True)
    same = frame["agent_id"].to_numpy()[1:] == frame["agent_id"].to_numpy()[:-1]
    overlap = same & (frame["start_s"].to_numpy()[1:] < frame["end_s"].to_numpy()[:-1])
    if overlap.any():
        i = int(np.flatnonzero(overlap)[0])
        lines_sorted = frame["line"].to_numpy()
        _fail(source, where(int(lines_sorted[i + 1])), "start", names,
              f"agent {frame['agent_id'].iloc[i]!r} is already on duty then "
              f"({where(int(lines_sorted[i]))})")
    return frame.drop(columns="line")


def infer_duty(rows: pd.DataFrame, gap_s: float = IDLE_GAP_S) -> pd.DataFrame:
    """Duty from activity: each agent on duty from its first to its last reply of every run of
    replies with no gap longer than `gap_s`. Rows `agent` (code), `start_s`, `end_s`."""
    replies = rows[rows["sender"].to_numpy() == AGENT]
    agent = replies["agent"].to_numpy()
    t = replies["t_s"].to_numpy()
    order = np.lexsort((t, agent))
    agent, t = agent[order], t[order]
    if len(t) == 0:
        return pd.DataFrame({"agent": np.zeros(0, np.int64), "start_s": np.zeros(0),
                             "end_s": np.zeros(0)})
    new = np.r_[True, (agent[1:] != agent[:-1]) | (np.diff(t) > gap_s)]
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, len(t) - 1]
    return pd.DataFrame({"agent": agent[first].astype(np.int64), "start_s": t[first],
                         "end_s": t[last]})


def on_duty_at(duty: pd.DataFrame, times_s: np.ndarray) -> np.ndarray:
    """Agents on duty at each time (a period covers [start, end))."""
    starts = np.sort(duty["start_s"].to_numpy())
    ends = np.sort(duty["end_s"].to_numpy())
    return (np.searchsorted(starts, times_s, side="right")
            - np.searchsorted(ends, times_s, side="right")).astype(np.int32)
