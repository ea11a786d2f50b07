"""Parsing of the human units scenario files use: durations (`30s`, `5min`, `1h`) and clock times.

Times inside the simulator are seconds. A clock time is measured from midnight of the
horizon's first day ("day 0"), so `08:00` is 28,800 s and `2026-11-11 00:00` on a horizon
starting 2026-11-10 is 86,400 s.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from dataclasses import dataclass

SECONDS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DAY_S = 86400.0

_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h|d)\s*")
_CLOCK = re.compile(r"^(?:(\d{4}-\d{2}-\d{2})[ T])?(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _short(value: object, limit: int = 40) -> str:
    """A bad value as quoted in an error message, cut so a huge value keeps it one line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_duration(value: object) -> float:
    """Seconds from `30s`, `5min`, `1h30min`, `2d` or a plain (finite) number of seconds."""
    hint = "expected a duration such as '30s', '5min' or '1h'"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        # ValueError, not TypeError: pydantic reports a validator's ValueError against the
        # field, with the file and path, where a TypeError would escape as a traceback.
        raise ValueError(f"{hint}, got {_short(value)}")  # noqa: TRY004
    try:
        if isinstance(value, str):
            text = value.strip()
            try:
                number = float(text)
            except ValueError:
                number = _parse_units(text, value)
        else:
            number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"a duration must be finite, got {_short(value)}")
    return number


def _parse_units(text: str, original: str) -> float:
    sign = 1.0
    if text.startswith("-"):
        sign, text = -1.0, text[1:]
    pos, total, found = 0, 0.0, False
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if not match:
            raise ValueError(
                f"cannot read duration {_short(original)}: use a number with a unit s, min, h or d "
                "(e.g. '30s', '5min', '1h30min')"
            )
        total += float(match.group(1)) * SECONDS[match.group(2)]
        pos, found = match.end(), True
    if not found:
        raise ValueError(f"cannot read duration {original!r}: it is empty")
    return sign * total


@dataclass(frozen=True)
class ClockTime:
    """A clock time, either on a given date or on no date (then it means day 0, or every day)."""

    date: dt.date | None
    seconds_of_day: float

    @classmethod
    def parse(cls, value: object) -> ClockTime:
        if isinstance(value, ClockTime):
            return value
        if isinstance(value, dt.datetime):
            return cls(value.date(), value.hour * 3600 + value.minute * 60 + value.second)
        if not isinstance(value, str):
            raise ValueError(  # noqa: TRY004 - reported against the field (see parse_duration)
                f"expected a clock time such as '08:00' or '2026-11-11 00:00', got {_short(value)}"
            )
        match = _CLOCK.match(value.strip())
        if not match:
            raise ValueError(
                f"cannot read clock time {_short(value)}: use 'HH:MM' or 'YYYY-MM-DD HH:MM'"
            )
        day, hours, minutes, seconds = match.groups()
        hours, minutes, seconds = int(hours), int(minutes), int(seconds or 0)
        if minutes > 59 or seconds > 59 or hours > 24 or (hours == 24 and (minutes or seconds)):
            raise ValueError(f"clock time {_short(value)} is out of range (00:00 to 24:00)")
        date = None
        if day is not None:
            try:
                date = dt.date.fromisoformat(day)
            except ValueError as exc:
                raise ValueError(f"clock time {_short(value)} has an invalid date: {exc}") from None
        return cls(date, hours * 3600.0 + minutes * 60.0 + seconds)

    def seconds(self, day0: dt.date | None) -> float:
        """Seconds since midnight of day 0; an undated time falls on day 0."""
        if self.date is None or day0 is None:
            return self.seconds_of_day
        return (self.date - day0).days * DAY_S + self.seconds_of_day

    def __str__(self) -> str:
        hours, rest = divmod(int(self.seconds_of_day), 3600)
        minutes, seconds = divmod(rest, 60)
        text = f"{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")
        return f"{self.date.isoformat()} {text}" if self.date else text


def moment_seconds(value: object, day0: dt.date | None) -> float:
    """A moment in seconds since day-0 midnight: seconds as a number, or a clock time as text
    ("2026-11-11 00:10", "08:00" on day 0), a `datetime` (a pandas `Timestamp` too) or a
    `ClockTime`. Raises ValueError naming the value otherwise."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return ClockTime.parse(value).seconds(day0)


def format_clock(seconds: float, day0: dt.date | None = None) -> str:
    """Readable clock time of a simulation time (seconds since day-0 midnight)."""
    day, rest = divmod(round(seconds), int(DAY_S))
    hours, rest = divmod(rest, 3600)
    text = f"{hours:02d}:{rest // 60:02d}"
    if day0 is not None:
        return f"{(day0 + dt.timedelta(days=day)).isoformat()} {text}"
    return text if day == 0 else f"day{day} {text}"


def format_duration(seconds: float) -> str:
    """A duration as scenario files write it: '8h', '8h30min', '45min', '1min30s'."""
    seconds = round(seconds)
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}min" if minutes else "")
    text += f"{secs}s" if secs else ""
    return sign + (text or "0s")
