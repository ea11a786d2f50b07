"""Shift rules for `supportsim roster`: which shifts a desk may work, as a YAML file.

A rules file names, per agent group, the kinds of shift it may work (lengths, start times,
breaks, hourly cost) and the limits on the whole roster (agents starting at one time, seats,
team size, consecutive working days) and the shrinkage the roster is checked under. It is read
with the project's safe YAML loader and validated like a scenario: unknown keys, bad values
and impossible combinations are refused with the file, the field and the problem.

    groups:
      presale_team:
        shifts:
          - name: full_time
            lengths: {from: 6h, to: 10h, every: 30min}
            starts: {from: "00:00", to: "22:00", every: 30min}
            breaks: [{length: 1h, earliest: 3h, latest: 5h}]
          - name: part_time
            lengths: [4h, 5h]
            starts: ["10:00", "18:00", "20:00"]
            hourly_cost: 28
        max_starts: 10
        seats: 60
        shrinkage: 0.1

Everything that depends on the requirement's interval grid (times on the grid, a break that
fits in the shortest shift it applies to) is checked when the shifts are enumerated, in
`sim.tools.roster`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from sim.scenario import ScenarioError, read_mapping
from sim.scenario.checks import format_errors
from sim.scenario.distributions import NonNegativeSeconds, PositiveSeconds
from sim.scenario.model import Clock, Frozen, Name
from sim.units import DAY_S, ClockTime

#: Longest shift a rule may allow (the scenario's shift model refuses longer ones too).
MAX_SHIFT_S = 2 * DAY_S


class RosterError(Exception):
    """Shift rules or a requirement that give no roster (a bad file, a field out of range, an
    interval no allowed shift can cover), with a message naming the file, field and problem."""


def _daily(value: object) -> ClockTime:
    clock = ClockTime.parse(value)
    if clock.date is not None:
        raise ValueError(f"start times are daily clock times such as '08:00', not {clock}")
    if clock.seconds_of_day >= DAY_S:
        raise ValueError("a shift starts before 24:00 (use 00:00 for midnight)")
    return clock


DailyClock = Annotated[ClockTime, BeforeValidator(_daily)]


class LengthRange(Frozen):
    """Shift lengths from `from` to `to` (both included) in steps of `every`."""

    shortest: PositiveSeconds = Field(alias="from", description="shortest shift, e.g. 4h")
    longest: PositiveSeconds = Field(alias="to", description="longest shift, e.g. 10h")
    every: PositiveSeconds = Field(description="step between allowed lengths, e.g. 30min")

    @model_validator(mode="after")
    def _ordered(self):
        if self.longest < self.shortest:
            raise ValueError(f"to ({self.longest:g}s) must not be shorter than from "
                             f"({self.shortest:g}s)")
        return self

    def values(self) -> list[float]:
        count = int((self.longest - self.shortest) // self.every + 1e-9) + 1
        return [self.shortest + k * self.every for k in range(count)]


class StartWindow(Frozen):
    """Daily start times from `from` to `to` (both included) every `every`."""

    first: Clock = Field(alias="from", description="earliest start of the day, e.g. '00:00'")
    last: Clock = Field(alias="to", description="latest start of the day, e.g. '22:00'")
    every: PositiveSeconds = Field(description="step between allowed starts, e.g. 30min")

    @model_validator(mode="after")
    def _ordered(self):
        for clock in (self.first, self.last):
            if clock.date is not None:
                raise ValueError("a start window takes daily clock times such as '08:00'")
        if self.last.seconds_of_day < self.first.seconds_of_day:
            raise ValueError(f"to {self.last} is before from {self.first} (a window does not "
                             "wrap past midnight; list the times instead)")
        if self.last.seconds_of_day >= DAY_S:
            raise ValueError("to must be before 24:00 (use 00:00 for midnight)")
        return self

    def values(self) -> list[float]:
        first, last = self.first.seconds_of_day, self.last.seconds_of_day
        count = int((last - first) // self.every + 1e-9) + 1
        return [first + k * self.every for k in range(count)]


class BreakRule(Frozen):
    """A break every shift of at least `min_shift` takes: `length` long, starting between
    `earliest` and `latest` after the shift starts."""

    length: PositiveSeconds = Field(description="length of the break, e.g. 1h")
    earliest: NonNegativeSeconds = Field(description="earliest start after the shift starts")
    latest: NonNegativeSeconds = Field(description="latest start after the shift starts")
    every: PositiveSeconds | None = Field(
        None, description="step between allowed break starts (default: the requirement's "
        "interval)")
    min_shift: NonNegativeSeconds = Field(
        0.0, description="only shifts at least this long take the break (0: every shift)")

    @model_validator(mode="after")
    def _ordered(self):
        if self.latest < self.earliest:
            raise ValueError("latest must not be before earliest")
        return self


class ShiftKind(Frozen):
    """One kind of shift: its allowed lengths, starts and breaks, and its hourly cost."""

    name: Name = Field(description="a name for the kind of shift, e.g. full_time")
    lengths: list[PositiveSeconds] | LengthRange = Field(
        description="allowed lengths including breaks: a list ([4h, 8h]) or a range "
        "{from: 4h, to: 10h, every: 30min}")
    starts: list[DailyClock] | StartWindow = Field(
        description="allowed daily start times: a list (['08:00', '14:00']) or a window "
        "{from: '00:00', to: '22:00', every: 30min}")
    breaks: list[BreakRule] = Field(
        [], description="breaks in this order; each starts after the previous one ends")
    hourly_cost: Annotated[float, Field(ge=0, le=1e6)] | None = Field(
        None, description="cost per hour on duty (breaks unpaid); default: the scenario "
        "group's hourly_cost")

    @field_validator("lengths")
    @classmethod
    def _lengths(cls, value):
        values = value.values() if isinstance(value, LengthRange) else value
        if not values:
            raise ValueError("give at least one length")
        if max(values) > MAX_SHIFT_S:
            raise ValueError("a shift longer than 48h is surely a typo")
        return value

    @field_validator("starts")
    @classmethod
    def _starts(cls, value):
        if not value:
            raise ValueError("give at least one start time")
        return value

    def length_values(self) -> list[float]:
        values = self.lengths.values() if isinstance(self.lengths, LengthRange) else self.lengths
        return sorted(dict.fromkeys(float(v) for v in values))

    def start_values(self) -> list[float]:
        if isinstance(self.starts, StartWindow):
            return self.starts.values()
        return sorted(dict.fromkeys(c.seconds_of_day for c in self.starts))


class GroupRules(Frozen):
    """The shifts one group may work and the limits on its roster."""

    shifts: list[ShiftKind] = Field(min_length=1, description="kinds of shift the group works")
    max_starts: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        None, description="most agents starting at one time")
    seats: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        None, description="most agents on duty at once")
    team_size: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        None, description="most different agents on the roster (each works at most one "
        "shift a day)")
    max_consecutive_days: Annotated[int, Field(ge=1, le=366)] | None = Field(
        None, description="most consecutive working days per agent, on multi-day horizons")
    shrinkage: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.0, description="share of rostered agents missing (absence, meetings, training): "
        "the simulation check drops each rostered agent's shift with this probability")

    @field_validator("shifts")
    @classmethod
    def _names(cls, value):
        names = [kind.name for kind in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"names must differ ({', '.join(repeated)} repeated)")
        return value


class RosterRules(Frozen):
    """A rules file: the shift rules of every group to roster."""

    groups: dict[Name, GroupRules] = Field(min_length=1, description="rules per agent group")


def rules_from_dict(document: object, source: str = "<rules>") -> RosterRules:
    """Validate a rules document (as read from YAML)."""
    try:
        return RosterRules.model_validate(document)
    except ValidationError as exc:
        raise RosterError(format_errors(source, exc, reference="docs/roster.md")) from None


def read_rules(path: str | Path) -> RosterRules:
    """Read and validate a rules file with the safe YAML loader."""
    path = Path(path)
    try:
        document = read_mapping(path, what="shift rules")
    except ScenarioError as exc:
        raise RosterError(str(exc)) from None
    return rules_from_dict(document, str(path))
