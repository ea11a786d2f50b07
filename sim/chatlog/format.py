"""The chat-log format: its columns and values, and the format file that maps a real export's
column names and values (often Chinese) onto them.

One row per message. `sender` is `buyer`, `agent`, `bot` or `system`; agent rows carry an
`agent_id`. `sent_at` is local time `YYYY-MM-DD HH:MM:SS` (fractions of a second allowed), in
the time zone the format names. System rows may carry an `event`: `handover` (the bot passed
the conversation to people) or `close` (the conversation ended: the buyer left, or the bot
settled it). docs/chat-log.md describes every column.
"""

from __future__ import annotations

import codecs
import zoneinfo
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.chatlog.errors import ChatLogError
from sim.scenario import ScenarioError, read_mapping
from sim.scenario.checks import format_errors

#: Every column of the format and what it holds (the order exports are written in).
COLUMNS = {
    "conversation_id": "the conversation (会话) the message belongs to",
    "buyer_id": "the buyer; one buyer may have several conversations",
    "sender": "buyer, agent, bot or system",
    "agent_id": "the agent who sent an agent row (empty on other rows)",
    "group": "the agent's group (optional)",
    "topic": "a label of the conversation's topic (optional)",
    "sent_at": "local time YYYY-MM-DD HH:MM:SS",
    "event": "on system rows: handover or close (optional)",
    "reported": "1 on rows of a buyer the shop reported or blacklisted (optional)",
}
REQUIRED = ("conversation_id", "buyer_id", "sender", "agent_id", "sent_at")
SENDERS = ("buyer", "agent", "bot", "system")
BUYER, AGENT, BOT, SYSTEM = range(4)
EVENTS = ("", "handover", "close")
NO_EVENT, HANDOVER, CLOSE = range(3)
#: Columns of a duty file: who was online when.
DUTY_COLUMNS = ("agent_id", "group", "start", "end")
DEFAULT_TIMEZONE = "Asia/Shanghai"
#: Encodings Chinese back offices export in; any codec Python knows is accepted.
ENCODINGS = ("utf-8", "gb18030", "gbk")

LogColumn = Literal["conversation_id", "buyer_id", "sender", "agent_id", "group", "topic",
                    "sent_at", "event", "reported"]
DutyColumn = Literal["agent_id", "group", "start", "end"]
Sender = Literal["buyer", "agent", "bot", "system"]
Event = Literal["handover", "close", ""]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Values(_Strict):
    """What an export writes for each sender and event, e.g. `{买家: buyer, 客服: agent}`."""

    sender: dict[str, Sender] = Field({}, description="export value -> sender")
    event: dict[str, Event] = Field({}, description="export value -> event ('' to ignore)")
    group: dict[str, str] = Field({}, description="export group label -> group name")
    topic: dict[str, str] = Field({}, description="export topic label -> topic name")


class LogFormat(_Strict):
    """How to read one shop's export: column names, values, time format, zone and encoding."""

    columns: dict[LogColumn, str] = Field(
        {}, description="format column -> the export's column name (unnamed ones as is)")
    duty_columns: dict[DutyColumn, str] = Field(
        {}, description="duty-file column -> the duty file's column name")
    values: Values = Field(Values(), description="export values of sender and event")
    time_format: str | None = Field(
        None, description="strptime format of sent_at when it is not YYYY-MM-DD HH:MM:SS")
    timezone: str = Field(DEFAULT_TIMEZONE, description="time zone of the local times")
    encoding: str = Field("utf-8", description="text encoding of CSV files")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (e.g. {', '.join(ENCODINGS)})"
                             ) from None
        return value

    @field_validator("columns", "duty_columns")
    @classmethod
    def _distinct(cls, value: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for name, source in value.items():
            if source in seen:
                raise ValueError(f"{name} and {seen[source]} both read column {source!r}")
            seen[source] = name
        return value

    def source(self, column: str) -> str:
        """The export's name of a format column."""
        return self.columns.get(column, column)

    def duty_source(self, column: str) -> str:
        return self.duty_columns.get(column, column)

    def with_options(self, encoding: str | None = None, timezone: str | None = None
                     ) -> LogFormat:
        """This format with the command line's --encoding and --timezone, when given."""
        update = {k: v for k, v in (("encoding", encoding), ("timezone", timezone)) if v}
        if not update:
            return self
        try:
            return LogFormat.model_validate({**self.model_dump(), **update})
        except ValidationError as exc:
            raise ChatLogError(format_errors("the command line", exc,
                                             reference="docs/chat-log.md").replace(
                "the command line: ", "--")) from None


def load_format(path: str | Path | None) -> LogFormat:
    """The format file given with --columns (YAML), or the plain format."""
    if path is None:
        return LogFormat()
    path = Path(path)
    try:
        document = read_mapping(path, "log format")
        return LogFormat.model_validate(document)
    except ScenarioError as exc:
        raise ChatLogError(str(exc)) from None
    except ValidationError as exc:
        raise ChatLogError(format_errors(str(path), exc, reference="docs/chat-log.md")) from None
