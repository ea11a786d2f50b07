"""Reading a chat log: CSV (UTF-8, GB18030, GBK, ...) or Parquet into checked rows in time order.

Every problem is reported as one line naming the file, the line (the row, for Parquet) and the
column. Rows out of time order within their conversation are sorted, with a note; everything
else that cannot be read is refused (`ChatLogError`): a missing column, a time that cannot be
read or mixes time zones, a sender that is not known, an agent row without an agent id, a row
that repeats the one before it, a reply before any buyer message of its conversation, bytes
that are not in the stated encoding, an empty file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from sim.chatlog.errors import ChatLogError
from sim.chatlog.format import (
    AGENT,
    BOT,
    BUYER,
    EVENTS,
    NO_EVENT,
    REQUIRED,
    SENDERS,
    SYSTEM,
    LogFormat,
)

_TIME_SHAPE = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$"
_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"
#: What a scenario accepts as a group or topic name (sim.scenario.model.Name).
_NAME = re.compile(r"^[^\s.][^.\r\n\t\f\v]*$")
_TRUE = {"1", "true", "yes", "y", "是"}
_FALSE = {"", "0", "false", "no", "n", "否"}


@dataclass
class Rows:
    """A log's rows, checked and sorted by conversation (in order of arrival) and time.

    `frame` has one row per message: `conversation`, `buyer`, `agent` (-1 off agent rows),
    `group` and `topic` (-1 when unlabelled) as codes into the name arrays, `sender` (a
    `SENDERS` index), `event` (an `EVENTS` index), `reported`, `t_s` (seconds since midnight of
    `day0`, the first day of the log, in local time) and `line` (the file's line, or the
    Parquet row number).
    """

    source: str
    frame: pd.DataFrame
    conversation_ids: np.ndarray
    buyer_ids: np.ndarray
    agent_ids: np.ndarray
    group_names: list[str]
    topic_names: list[str]
    day0: dt.date
    timezone: str
    has_events: bool
    parquet: bool = False
    notes: list[str] = field(default_factory=list)

    def where(self, line: int) -> str:
        return f"row {line}" if self.parquet else f"line {line}"


def _fail(source: str, where: str, column: str | None, fmt, problem: str):
    """Raise the one-line error: file, line (or row), column (with the export's own name when
    the format file maps it) and the problem. `fmt` maps column names (a `LogFormat` or a
    function)."""
    name = ""
    if column is not None:
        mapped = fmt(column) if callable(fmt) else fmt.source(column) if fmt else column
        name = f", column {column}" + (f" ({mapped})" if mapped != column else "")
    raise ChatLogError(f"{source}: {where}{name}: {problem}")


# --- files to a table of strings -------------------------------------------------------------


def _decode(path: Path, data: bytes, encoding: str) -> bytes:
    """UTF-8 bytes of the file (a UTF-8 byte-order mark dropped), checked in its encoding."""
    codec = codecs.lookup(encoding).name
    if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        prefix = data[start:exc.start].decode(codec, errors="replace")
        header = data[:data.find(b"\n")] if b"\n" in data else data
        names = next(csv.reader([header.decode(codec, errors="replace")]), [])
        index = len(next(csv.reader([prefix]), [""])) - 1 if prefix else 0
        column = f", column {names[index]}" if 0 <= index < len(names) and line > 1 else ""
        bad = data[exc.start:exc.end].hex(" ")
        hint = " (name the file's encoding with --encoding, e.g. gb18030)" if codec == "utf-8" \
            else ""
        raise ChatLogError(f"{path}: line {line}{column}: bytes {bad} are not valid "
                           f"{encoding}{hint}") from None
    return data if codec == "utf-8" else text.encode("utf-8")


def _header(path: Path, data: bytes) -> list[str]:
    first = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8")
    names = next(csv.reader([first]), [])
    seen = set()
    for name in names:
        if name in seen:
            raise ChatLogError(f"{path}: line 1: column {name!r} appears twice")
        seen.add(name)
    return names


def _parse_csv(path: Path, data: bytes, names: list[str], threads: bool, on_bad=None):
    return pa_csv.read_csv(
        io.BytesIO(data),
        read_options=pa_csv.ReadOptions(use_threads=threads),
        parse_options=pa_csv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False,
                                          invalid_row_handler=on_bad),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=False,
            quoted_strings_can_be_null=False),
    )


def read_csv_table(path: Path, encoding: str) -> tuple[pa.Table, np.ndarray]:
    """The file's columns as strings and each row's line number."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ChatLogError(f"{path}: file not found") from None
    except OSError as exc:
        raise ChatLogError(f"{path}: cannot read: {exc.strerror}") from None
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ChatLogError(f"{path}: the file is empty (no header, no rows)")
    data = _decode(path, data, encoding)
    names = _header(path, data)
    try:
        table = _parse_csv(path, data, names, threads=True)
    except pa.ArrowInvalid:
        bad: list = []

        def on_bad(row):
            bad.append(row)
            return "error"

        try:
            _parse_csv(path, data, names, threads=False, on_bad=on_bad)
        except pa.ArrowInvalid as exc:
            if bad:
                row = bad[0]
                where = f"line {row.number}" if row.number is not None else "a row"
                raise ChatLogError(f"{path}: {where}: expected {row.expected_columns} columns "
                                   f"(as in the header), found {row.actual_columns}") from None
            raise ChatLogError(f"{path}: not a readable CSV file: {str(exc)[:120]}") from None
        raise
    lines = _line_numbers(data, table.num_rows)
    table, lines = _drop_blank_lines(path, table, lines)
    return table, lines


def _line_numbers(data: bytes, rows: int) -> np.ndarray:
    """The line each row starts on: row i is on line i + 2 unless a quoted value holds a line
    break, when the file is read again to count."""
    physical = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if physical == rows + 1:
        return np.arange(rows, dtype=np.int64) + 2
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    next(reader, None)
    starts, line = [], reader.line_num
    for _ in reader:
        starts.append(line + 1)
        line = reader.line_num
    return np.asarray(starts[:rows], dtype=np.int64)


def _drop_blank_lines(path: Path, table: pa.Table, lines: np.ndarray):
    if table.num_rows == 0 or table.num_columns == 0:
        return table, lines
    blank = np.ones(table.num_rows, dtype=bool)
    for column in table.columns:
        blank &= np.asarray(pc.equal(pc.utf8_length(column), 0).to_numpy(zero_copy_only=False))
    if not blank.any():
        return table, lines
    trailing = np.flatnonzero(~blank)
    last = trailing[-1] + 1 if len(trailing) else 0
    inner = np.flatnonzero(blank[:last])
    if len(inner) and table.num_columns > 1:
        raise ChatLogError(f"{path}: line {lines[inner[0]]}: an empty line inside the log")
    keep = ~blank
    return table.filter(pa.array(keep)), lines[keep]


def read_parquet_table(path: Path) -> tuple[pa.Table, np.ndarray]:
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise ChatLogError(f"{path}: file not found") from None
    except (OSError, pa.ArrowException) as exc:
        raise ChatLogError(f"{path}: not a readable Parquet file: {str(exc)[:120]}") from None
    if table.num_columns == 0:
        raise ChatLogError(f"{path}: the file is empty (no columns)")
    return table, np.arange(table.num_rows, dtype=np.int64) + 1


# --- columns ---------------------------------------------------------------------------------


def _strings(column) -> pa.Array:
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.string())
    return pc.utf8_trim_whitespace(pc.fill_null(column, ""))


def _codes(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a string column and the distinct values they index."""
    encoded = pc.dictionary_encode(column)
    return (np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64),
            np.asarray(encoded.dictionary.to_pylist(), dtype=object))


def _labels(column: pa.Array | None, n: int, mapping: dict[str, str], lines, *, source: str,
            where, name: str, fmt: LogFormat) -> tuple[np.ndarray, list[str]]:
    """Codes of an optional label column (group, topic), -1 where empty, and the labels in
    first-seen order, renamed by the format file's `values`; each must be usable as a scenario
    name (a fitted scenario names its groups and topics after them)."""
    if column is None:
        return np.full(n, -1, dtype=np.int64), []
    codes, values = _codes(column)
    renamed = [mapping.get(v, v) for v in values]
    labels = list(dict.fromkeys(v for v in renamed if v))
    for label in labels:
        if not _NAME.match(label) or len(label) > 64:
            row = int(np.flatnonzero(np.asarray(renamed, dtype=object)[codes] == label)[0])
            _fail(source, where(lines[row]), name, fmt,
                  f"{label!r} cannot name a {name} (at most 64 characters, no dots, not "
                  f"starting with a space); rename it under `values: {name}:` in the "
                  "--columns file")
    index = {label: i for i, label in enumerate(labels)}
    remap = np.array([index.get(v, -1) if v else -1 for v in renamed], dtype=np.int64)
    return remap[codes], labels


def _mapped(column: pa.Array, mapping: dict[str, str], known: tuple[str, ...], lines, *,
            source: str, where, name: str, fmt: LogFormat, allowed_empty: bool = False,
            only=None) -> np.ndarray:
    """Indices into `known` of a column whose values are mapped by the format file."""
    codes, values = _codes(column)
    table = np.full(len(values), -1, dtype=np.int64)
    for i, value in enumerate(values):
        target = mapping.get(value, value.lower() if value.lower() in known else None)
        if target is None and value == "" and allowed_empty:
            target = ""
        if target is not None and target in known:
            table[i] = known.index(target)
    result = table[codes]
    bad = result < 0
    if only is not None:
        bad &= only
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = values[codes[row]]
        choices = ", ".join(k for k in known if k)
        _fail(source, where(lines[row]), name, fmt,
              f"unknown value {value!r} (expected one of {choices}; map an export's own "
              f"values under `values: {name}:` in the --columns file)")
    return result


def _times(column, fmt: LogFormat, lines, source: str, where, name: str = "sent_at",
           names=None) -> np.ndarray:
    """Each row's time as naive local datetime64[us]; `names` maps column names for messages
    (the log's by default)."""
    names = names or fmt
    zone = zoneinfo.ZoneInfo(fmt.timezone)
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_timestamp(column.type):
        series = pd.Series(column.to_pandas())
        if series.isna().any():
            _fail(source, where(lines[int(np.flatnonzero(series.isna())[0])]), name, names,
                  "no time given")
        if series.dt.tz is not None:
            series = series.dt.tz_convert(zone).dt.tz_localize(None)
        return series.to_numpy(dtype="datetime64[us]")
    text = _strings(column)
    series = pd.Series(text.to_pandas(), dtype="str")
    if fmt.time_format:
        parsed = pd.to_datetime(series, format=fmt.time_format, errors="coerce")
        bad = np.flatnonzero(parsed.isna().to_numpy())
        if len(bad):
            _fail(source, where(lines[bad[0]]), name, names,
                  f"cannot read {series.iloc[bad[0]]!r} with time_format {fmt.time_format!r}")
        if parsed.dt.tz is not None:
            parsed = parsed.dt.tz_convert(zone).dt.tz_localize(None)
        return parsed.to_numpy(dtype="datetime64[us]")
    shaped = np.asarray(pc.match_substring_regex(text, _TIME_SHAPE).to_numpy(
        zero_copy_only=False))
    if not shaped.all():
        row = int(np.flatnonzero(~shaped)[0])
        _fail(source, where(lines[row]), name, names,
              f"cannot read time {series.iloc[row]!r}: expected YYYY-MM-DD HH:MM:SS "
              "(or give time_format in the --columns file)")
    with_zone = np.asarray(pc.match_substring_regex(text, _OFFSET).to_numpy(
        zero_copy_only=False))
    if with_zone.any():
        if not with_zone.all():
            row = int(np.flatnonzero(with_zone != with_zone[0])[0])
            first = "carries a UTC offset" if with_zone[0] else "has none"
            _fail(source, where(lines[row]), name, names,
                  f"mixed time zones: {series.iloc[row]!r} differs from {where(lines[0])}, "
                  f"which {first}; give every time in one zone")
        offsets = series.str.extract(_OFFSET)[0].str.replace(":", "").replace("Z", "+0000")
        differs = np.flatnonzero((offsets != offsets.iloc[0]).to_numpy())
        if len(differs):
            row = int(differs[0])
            _fail(source, where(lines[row]), name, names,
                  f"mixed time zones: {series.iloc[row]!r} has UTC offset {offsets.iloc[row]} "
                  f"but {where(lines[0])} has {offsets.iloc[0]}; give every time in one zone")
        parsed = pd.to_datetime(series, format="ISO8601", errors="coerce", utc=True)
    else:
        parsed = pd.to_datetime(series, format="ISO8601", errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        _fail(source, where(lines[bad[0]]), name, names,
              f"{series.iloc[bad[0]]!r} is not a valid date and time")
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert(zone).dt.tz_localize(None)
    return parsed.to_numpy(dtype="datetime64[us]")


def _flag(column: pa.Array | None, n: int, lines, source, where, fmt) -> np.ndarray:
    if column is None:
        return np.zeros(n, dtype=bool)
    codes, values = _codes(column)
    table = np.zeros(len(values), dtype=np.int8)
    for i, value in enumerate(values):
        lowered = value.lower()
        table[i] = 1 if lowered in _TRUE else 0 if lowered in _FALSE else -1
    result = table[codes]
    if (result < 0).any():
        row = int(np.flatnonzero(result < 0)[0])
        _fail(source, where(lines[row]), "reported", fmt,
              f"expected 1 or 0 (yes/no), got {values[codes[row]]!r}")
    return result.astype(bool)


# --- the whole log ---------------------------------------------------------------------------


def read_rows(path: str | Path, fmt: LogFormat | None = None) -> Rows:
    """Read and check a chat log (CSV, or Parquet by its suffix) into sorted `Rows`."""
    path = Path(path)
    fmt = fmt or LogFormat()
    source = str(path)
    parquet = path.suffix.lower() in (".parquet", ".pq")
    table, lines = read_parquet_table(path) if parquet else read_csv_table(path, fmt.encoding)

    def where(line: int) -> str:
        return f"row {line}" if parquet else f"line {line}"

    present = set(table.column_names)
    missing = [c for c in REQUIRED if fmt.source(c) not in present]
    if missing:
        names = ", ".join(f"{c}" + (f" (as {fmt.source(c)!r})" if fmt.source(c) != c else "")
                          for c in missing)
        found = ", ".join(table.column_names) or "none"
        raise ChatLogError(f"{source}: {'row 0 (the schema)' if parquet else 'line 1'}: "
                           f"missing column(s) {names}; the file has {found} (map an export's "
                           "own column names with --columns)")
    n = table.num_rows
    if n == 0:
        raise ChatLogError(f"{source}: no rows after the header")

    def column(name: str):
        source_name = fmt.source(name)
        return table.column(source_name) if source_name in present else None

    conv_text = _strings(column("conversation_id"))
    conv_raw, conversation_ids = _codes(conv_text)
    empty = np.flatnonzero(conversation_ids == "")
    if len(empty):
        row = int(np.flatnonzero(conv_raw == empty[0])[0])
        _fail(source, where(lines[row]), "conversation_id", fmt, "no conversation id")
    sender = _mapped(_strings(column("sender")), fmt.values.sender, SENDERS, lines,
                     source=source, where=where, name="sender", fmt=fmt)
    agent_codes, agent_ids = _codes(_strings(column("agent_id")))
    is_agent = sender == AGENT
    no_agent = is_agent & (agent_ids[agent_codes] == "")
    if no_agent.any():
        row = int(np.flatnonzero(no_agent)[0])
        _fail(source, where(lines[row]), "agent_id", fmt, "an agent row without an agent id")
    keep_agents = np.array([v != "" for v in agent_ids], dtype=bool)
    used = np.zeros(len(agent_ids), dtype=bool)
    used[agent_codes[is_agent]] = True
    keep_agents &= used
    remap = np.full(len(agent_ids), -1, dtype=np.int64)
    remap[keep_agents] = np.arange(int(keep_agents.sum()))
    agent = np.where(is_agent, remap[agent_codes], -1)
    agent_ids = agent_ids[keep_agents]
    group, group_names = _labels(
        _strings(column("group")) if column("group") is not None else None, n,
        fmt.values.group, lines, source=source, where=where, name="group", fmt=fmt)
    topic, topic_names = _labels(
        _strings(column("topic")) if column("topic") is not None else None, n,
        fmt.values.topic, lines, source=source, where=where, name="topic", fmt=fmt)
    has_events = column("event") is not None
    if has_events:
        event = _mapped(_strings(column("event")), fmt.values.event, EVENTS, lines,
                        source=source, where=where, name="event", fmt=fmt, allowed_empty=True,
                        only=sender == SYSTEM)
        event = np.where(sender == SYSTEM, np.maximum(event, 0), NO_EVENT)
    else:
        event = np.full(n, NO_EVENT, dtype=np.int64)
    reported = _flag(_strings(column("reported")) if column("reported") is not None else None,
                     n, lines, source, where, fmt)
    local = _times(column("sent_at"), fmt, lines, source, where)
    day0 = local.min().astype("datetime64[D]")
    t_s = (local - day0).astype("timedelta64[us]").astype(np.int64) / 1e6
    buyer_raw, buyer_ids = _codes(_strings(column("buyer_id")))

    notes: list[str] = []
    # Rows out of time order within their conversation are sorted, not refused.
    file_order = np.lexsort((np.arange(n), conv_raw))
    same = conv_raw[file_order][1:] == conv_raw[file_order][:-1]
    backwards = same & (t_s[file_order][1:] < t_s[file_order][:-1])
    if backwards.any():
        first = int(lines[file_order[1:][backwards]].min())
        notes.append(f"{source}: {int(backwards.sum())} rows were out of time order within "
                     f"their conversation (the first at {where(first)}); sorted by sent_at")
    order = np.lexsort((np.arange(n), t_s, conv_raw))
    conv_sorted = conv_raw[order]
    starts = np.r_[0, np.flatnonzero(conv_sorted[1:] != conv_sorted[:-1]) + 1]
    _check_replies(source, where, fmt, sender[order], conv_sorted, starts, lines[order])
    # Conversations are numbered in order of arrival (their first buyer message), as the
    # engine numbers its conversations; ties keep the file's order.
    buyer_pos = np.flatnonzero(sender[order] == BUYER)
    first_buyer = buyer_pos[np.searchsorted(buyer_pos, starts)]
    arrival = t_s[order][first_buyer]
    by_arrival = np.lexsort((order[starts], arrival))
    new_code = np.empty(len(starts), dtype=np.int64)
    new_code[by_arrival] = np.arange(len(starts))
    conversation_of = np.empty(len(conversation_ids), dtype=np.int64)
    conversation_of[conv_sorted[starts]] = new_code
    conv_new = conversation_of[conv_raw]
    order = np.lexsort((np.arange(n), t_s, conv_new))
    _check_duplicates(source, where, table, conv_new, t_s, order, lines)

    # A conversation's buyer and topic: its first non-empty label.
    conv_sorted = conv_new[order]
    starts = np.r_[0, np.flatnonzero(conv_sorted[1:] != conv_sorted[:-1]) + 1]
    ends = np.r_[starts[1:], n]
    buyer_code = _first_label(np.where(buyer_ids[buyer_raw] == "", -1, buyer_raw)[order],
                              starts, ends)
    if (buyer_code < 0).any():
        c = int(np.flatnonzero(buyer_code < 0)[0])
        _fail(source, where(int(lines[order][starts[c]])), "buyer_id", fmt,
              "no row of this conversation names its buyer")
    conv_topic = _first_label(topic[order], starts, ends)
    conv_reported = np.maximum.reduceat(reported[order].astype(np.int8), starts).astype(bool)
    buyer_used, buyer_code = np.unique(buyer_code, return_inverse=True)
    frame = pd.DataFrame({
        "conversation": conv_sorted,
        "buyer": np.repeat(buyer_code, ends - starts),
        "sender": sender[order].astype(np.int8),
        "agent": agent[order].astype(np.int32),
        "group": group[order].astype(np.int32),
        "topic": np.repeat(conv_topic, ends - starts).astype(np.int32),
        "event": event[order].astype(np.int8),
        "reported": np.repeat(conv_reported, ends - starts),
        "t_s": t_s[order],
        "line": lines[order],
    })
    ids = np.empty(len(conversation_ids), dtype=object)
    ids[conversation_of] = conversation_ids
    return Rows(source, frame, ids, buyer_ids[buyer_used], agent_ids, group_names, topic_names,
                dt.date.fromisoformat(str(day0)), fmt.timezone, has_events, parquet, notes)


def _first_label(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The first code >= 0 of each segment, -1 if none."""
    labelled = np.flatnonzero(codes >= 0)
    if len(labelled) == 0:
        return np.full(len(starts), -1, dtype=np.int64)
    at = np.searchsorted(labelled, starts)
    found = labelled[np.minimum(at, len(labelled) - 1)]
    ok = (at < len(labelled)) & (found < ends)
    return np.where(ok, codes[found], -1)


def _check_replies(source, where, fmt, sender, conv, starts, lines) -> None:
    """Refuse agent and bot rows sent before the first buyer message of their conversation."""
    n = len(sender)
    buyer_pos = np.r_[np.flatnonzero(sender == BUYER), n]
    ends = np.r_[starts[1:], n]
    first_buyer = np.minimum(buyer_pos[np.searchsorted(buyer_pos, starts)], ends)
    segment = np.repeat(np.arange(len(starts)), ends - starts)
    early = ((sender == AGENT) | (sender == BOT)) & (np.arange(n) < first_buyer[segment])
    if early.any():
        row = int(np.flatnonzero(early)[0])
        kind = {AGENT: "an agent", BOT: "a bot"}[int(sender[row])]
        none = first_buyer[segment[row]] == ends[segment[row]]
        problem = (f"{kind} reply in a conversation with no buyer message" if none else
                   f"{kind} reply before any buyer message of its conversation")
        _fail(source, where(int(lines[row])), "sender", fmt, problem)
    lonely = np.flatnonzero(first_buyer == ends)
    if len(lonely):
        _fail(source, where(int(lines[starts[lonely[0]]])), "conversation_id", fmt,
              "a conversation with no buyer message")


def _check_duplicates(source, where, table: pa.Table, conv, t_s, order, lines) -> None:
    """Refuse a row identical in every column to the row before it in its conversation."""
    if len(order) < 2:
        return
    same = conv[order][1:] == conv[order][:-1]
    same &= t_s[order][1:] == t_s[order][:-1]
    for name in table.column_names:
        if not same.any():
            return
        codes, _ = _codes(_strings(table.column(name)))
        codes = codes[order]
        same &= codes[1:] == codes[:-1]
    if same.any():
        i = int(np.flatnonzero(same)[0])
        first, second = sorted((int(lines[order][i]), int(lines[order][i + 1])))
        raise ChatLogError(f"{source}: {where(second)}: duplicates {where(first)} (the same "
                           "values in every column): remove the repeated row")
