"""`supportsim roster`: from a headcount per interval to shifts with breaks, and their cost.

A requirement (agents per interval per group, as `supportsim staff` writes it) and shift rules
(`sim.tools.roster_rules`) become the cheapest roster whose on-duty headcount covers the
requirement in every interval:

- every shift the rules allow is enumerated as a *pattern* (kind, start, length, break
  times), with the intervals it is on duty for (breaks excluded) and its cost (hours on duty
  times the kind's hourly rate);
- an integer program chooses how many agents work each pattern: minimise the cost subject to
  on-duty agents >= required in every interval, <= seats, agents starting at one time <=
  max_starts, and, when the rules limit the team or the consecutive working days, enough
  agents to work those shifts (one shift a day each); `scipy.optimize.milp` (HiGHS) solves it.

`sim.tools.roster_plan` then checks the roster by simulation. This module is
the program and the roster; it never simulates.

Times are seconds since midnight of day 0 (the horizon's first date). On an undated horizon
(one day) shifts repeat daily, as the scenario's undated shifts do, so a shift past midnight
also covers the early hours of the same day.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from sim.analysis.targets import Target, TargetError, parse_target
from sim.scenario import Schedule, Shift
from sim.scenario.model import Break
from sim.tools.roster_rules import GroupRules, RosterError, RosterRules, ShiftKind
from sim.units import DAY_S, ClockTime, format_clock, format_duration

__all__ = ["Pattern", "Requirement", "Roster", "RosterError", "RosterProgram",
           "format_duration", "read_requirements", "requirement_from_headcounts",
           "shifts_schedule", "solve_roster"]

#: Interval widths a requirement may have: those of the scenario's arrival grid.
INTERVALS_S = (900.0, 1800.0, 3600.0)
#: Most working-day patterns the days-off constraint enumerates (2^12: twelve days).
MAX_DAY_PATTERNS = 4096
#: Default time limit of one integer program, seconds.
TIME_LIMIT_S = 60.0


def span_label(start_s: float, end_s: float, day0: dt.date | None) -> str:
    """'03:00-03:30', '2026-11-11 03:00-03:30'; the end's date only when it differs."""
    end = format_clock(end_s, day0)
    if day0 is not None and end_s < (start_s // DAY_S + 1) * DAY_S + 1e-9:
        end = end.split(" ")[-1]
        if end == "00:00":
            end = "24:00"
    elif day0 is None and end_s == DAY_S:
        end = "24:00"
    return f"{format_clock(start_s, day0)}-{end}"


# --- the requirement ------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """Agents required on duty per interval, per group, on one grid of intervals.

    `counted` (optional) marks the intervals a target counts, as `supportsim staff` writes it;
    the program covers every interval whatever it says. `reachable` (optional, staffing.csv's
    column) is False in the counted intervals more agents cannot bring to `target` (the
    target the search ran for, when the file names it)."""

    edges_s: np.ndarray
    day0: dt.date | None
    agents: dict[str, np.ndarray]
    source: str = "<requirement>"
    counted: dict[str, np.ndarray] | None = None
    reachable: dict[str, np.ndarray] | None = None
    target: Target | None = None

    def subset(self, groups: list[str]) -> Requirement:
        """The same requirement for `groups` only (each must be in it)."""
        def pick(rows):
            return None if rows is None else {g: rows[g] for g in groups}
        return replace(self, agents=pick(self.agents), counted=pick(self.counted),
                       reachable=pick(self.reachable))

    @property
    def groups(self) -> list[str]:
        return list(self.agents)

    @property
    def interval_s(self) -> float:
        return float(self.edges_s[1] - self.edges_s[0])

    @property
    def n_intervals(self) -> int:
        return len(self.edges_s) - 1

    def with_agents(self, agents: dict[str, np.ndarray]) -> Requirement:
        return replace(self, agents={g: np.asarray(agents[g], dtype=np.int64)
                                     for g in self.groups})

    def label(self, interval: int) -> str:
        return span_label(self.edges_s[interval], self.edges_s[interval + 1], self.day0)

    def ranges(self, mask: np.ndarray, limit: int = 6) -> str:
        """The intervals of `mask` as merged clock ranges: '03:00-04:30, 06:00-06:30'."""
        runs, start = [], None
        for i, flag in enumerate(list(mask) + [False]):
            if flag and start is None:
                start = i
            elif not flag and start is not None:
                runs.append(span_label(self.edges_s[start], self.edges_s[i], self.day0))
                start = None
        more = f" and {len(runs) - limit} more" if len(runs) > limit else ""
        return ", ".join(runs[:limit]) + more

    def agent_hours(self, group: str) -> float:
        return float(np.sum(self.agents[group] * np.diff(self.edges_s)) / 3600.0)


def requirement_from_headcounts(headcounts: dict[str, np.ndarray], edges_s: np.ndarray,
                                day0: dt.date | None, source: str = "<requirement>",
                                counted: dict[str, np.ndarray] | None = None,
                                reachable: dict[str, np.ndarray] | None = None
                                ) -> Requirement:
    """A requirement from per-interval headcounts (e.g. `StaffingResult.headcount`)."""
    edges = np.asarray(edges_s, dtype=float)
    widths = np.diff(edges)
    if len(edges) < 2 or not np.allclose(widths, widths[0]) or widths[0] not in INTERVALS_S:
        raise RosterError(f"{source}: the intervals must be evenly spaced, 15min, 30min or 1h")
    agents = {g: np.asarray(v, dtype=np.int64) for g, v in headcounts.items()}
    for group, values in agents.items():
        if len(values) != len(edges) - 1 or np.any(values < 0):
            raise RosterError(f"{source}: group {group}: one whole number >= 0 per interval")
    def flags(rows):
        return None if rows is None else {g: np.asarray(c, dtype=bool) for g, c in rows.items()}
    return Requirement(edges, day0, agents, source, flags(counted), flags(reachable))


def _whole(text: str) -> int:
    value = float(text)
    if not math.isfinite(value) or value < 0 or value != int(value) or value > 100_000:
        raise ValueError(f"{text.strip()!r} is not a whole number of agents from 0 to 100000")
    return int(value)


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ValueError(f"{text.strip()!r} is not true or false")


def read_requirements(path: str | Path) -> Requirement:
    """Agents required per (group, interval) from a CSV file: `supportsim staff`'s
    staffing.csv (the `simulation` column) or any file with the columns `group, clock,
    required` (`clock` as '08:00' or '2026-11-11 08:00'; optional `interval_start_s`,
    `interval_end_s`, `counted`, and `reachable` with the `target` it was found for). Every
    group must list the same evenly spaced intervals."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RosterError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}: cannot read: {exc}") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise RosterError(f"{path}: not a readable CSV file: {exc}") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise RosterError(f"{path}: the file is empty (expected a header such as "
                          "'group,clock,required')")
    header = [cell.strip() for cell in rows[0]]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise RosterError(f"{path}: line 1: column {repeated[0]!r} appears twice")
    value_column = "required" if "required" in header else (
        "simulation" if "simulation" in header else None)
    missing = [c for c in ("group", "clock") if c not in header]
    if value_column is None:
        missing.append("required")
    if missing:
        raise RosterError(f"{path}: line 1: missing column(s) {', '.join(missing)} (columns: "
                          f"{', '.join(header)}; staffing.csv's 'simulation' column is read "
                          "as 'required')")
    col = {name: header.index(name) for name in header}
    exact = "interval_start_s" in col and "interval_end_s" in col
    entries = []  # (line, group, clock, start, width, agents, counted, reachable)
    target, target_text, target_line = None, "", 0  # staffing.csv names it on every row
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise RosterError(f"{path}: line {line}: {len(row)} fields, the header has "
                              f"{len(header)}")
        group = row[col["group"]].strip()
        if not group:
            raise RosterError(f"{path}: line {line}: group: empty")
        try:
            clock = ClockTime.parse(row[col["clock"]])
        except ValueError as exc:
            raise RosterError(f"{path}: line {line}: clock: {exc}") from None
        try:
            agents = _whole(row[col[value_column]])
        except ValueError as exc:
            raise RosterError(f"{path}: line {line}: {value_column}: {exc}") from None
        start = width = None
        if exact:
            try:
                start = float(row[col["interval_start_s"]])
                width = float(row[col["interval_end_s"]]) - start
            except ValueError:
                raise RosterError(f"{path}: line {line}: interval_start_s/interval_end_s: "
                                  "not numbers") from None
        flags = {}
        for name in ("counted", "reachable"):
            if name in col:
                try:
                    flags[name] = _flag(row[col[name]])
                except ValueError as exc:
                    raise RosterError(f"{path}: line {line}: {name}: {exc}") from None
        if "target" in col and "reachable" in col:  # the target `reachable` was found for
            text = row[col["target"]].strip()
            if text and (target is None or text != target_text):
                try:
                    given = parse_target(text)
                except TargetError as exc:
                    raise RosterError(f"{path}: line {line}: target: {exc}") from None
                if target is None:
                    target, target_text, target_line = given, text, line
                elif not given.same_as(target):
                    raise RosterError(f"{path}: line {line}: target: {text!r}, but line "
                                      f"{target_line} says {target_text!r} (one target per "
                                      "file)")
        entries.append((line, group, clock, start, width, agents, flags.get("counted"),
                        flags.get("reachable")))
    if not entries:
        raise RosterError(f"{path}: no rows after the header")
    dated = {clock.date is not None for _, _, clock, *_ in entries}
    if len(dated) > 1:
        raise RosterError(f"{path}: clock: all dated ('2026-11-11 08:00') or all daily "
                          "('08:00'), not mixed")
    day0 = min(clock.date for _, _, clock, *_ in entries) if dated == {True} else None
    by_group: dict[str, dict[float, tuple]] = {}
    for line, group, clock, start, width, agents, counted, reachable in entries:
        seconds = clock.seconds(day0)
        if start is not None and abs(start - seconds) > 1e-6:
            raise RosterError(f"{path}: line {line}: clock {clock} is {seconds:g} s but "
                              f"interval_start_s says {start:g}")
        cells = by_group.setdefault(group, {})
        if seconds in cells:
            raise RosterError(f"{path}: line {line}: group {group} lists {clock} twice "
                              f"(first on line {cells[seconds][0]})")
        cells[seconds] = (line, agents, counted, width, reachable)
    groups = list(by_group)
    starts = np.array(sorted(by_group[groups[0]]))
    for group in groups[1:]:
        if not np.array_equal(np.array(sorted(by_group[group])), starts):
            raise RosterError(f"{path}: group {group} does not list the same intervals as "
                              f"group {groups[0]}")
    widths = {cell[3] for cell in by_group[groups[0]].values() if cell[3] is not None}
    if widths:
        if len(widths) > 1:
            raise RosterError(f"{path}: interval_end_s - interval_start_s differs between rows")
        width = widths.pop()
    elif len(starts) > 1:
        width = float(starts[1] - starts[0])
    else:
        raise RosterError(f"{path}: one interval only: add interval_start_s and "
                          "interval_end_s columns to give its length")
    if width not in INTERVALS_S:
        raise RosterError(f"{path}: intervals of {format_duration(width)}; they must be 15min, "
                          "30min or 1h")
    gaps = np.flatnonzero(np.abs(np.diff(starts) - width) > 1e-6)
    if len(gaps):
        i = gaps[0] + 1
        line = by_group[groups[0]][starts[i]][0]
        raise RosterError(f"{path}: line {line}: {format_clock(starts[i], day0)} does not follow "
                          f"{format_clock(starts[i - 1], day0)} on a {format_duration(width)} "
                          "grid (the intervals must be contiguous)")
    edges = np.append(starts, starts[-1] + width)
    if day0 is None and edges[-1] > DAY_S + 1e-6:
        raise RosterError(f"{path}: daily clock times cover one day at most; date them "
                          "('2026-11-11 08:00') for longer horizons")
    agents = {g: np.array([by_group[g][s][1] for s in starts], dtype=np.int64) for g in groups}
    def flags(name: str, at: int) -> dict[str, np.ndarray] | None:
        if name not in col:
            return None
        return {g: np.array([by_group[g][s][at] for s in starts], dtype=bool) for g in groups}
    return Requirement(edges, day0, agents, str(path), flags("counted", 2),
                       flags("reachable", 4), target)


# --- shift patterns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """One shift an agent may work: its kind, start, length, breaks, rate and the intervals
    of the requirement grid it is on duty for."""

    index: int  # position in the group's enumeration; keys the pattern's shrinkage draws
    kind: str
    start_s: float
    length_s: float
    breaks: tuple[tuple[float, float], ...]  # (after_s, length_s), in order
    hourly_cost: float
    spans: tuple[tuple[int, int], ...] = ()  # covered intervals [lo, hi) of the grid

    @property
    def end_s(self) -> float:
        return self.start_s + self.length_s

    @property
    def duty_s(self) -> float:
        """Time on duty: the length less the breaks (breaks are not paid)."""
        return self.length_s - sum(length for _, length in self.breaks)

    @property
    def cost(self) -> float:
        return self.duty_s / 3600.0 * self.hourly_cost

    def pieces(self) -> list[tuple[float, float]]:
        """On-duty spans as absolute times (start, end), breaks left out."""
        pieces, cursor = [], 0.0
        for after, length in self.breaks:
            if after > cursor:
                pieces.append((self.start_s + cursor, self.start_s + after))
            cursor = after + length
        if self.length_s > cursor:
            pieces.append((self.start_s + cursor, self.end_s))
        return pieces

    def covered(self, n_intervals: int) -> np.ndarray:
        mask = np.zeros(n_intervals, dtype=bool)
        for lo, hi in self.spans:
            mask[lo:hi] = True
        return mask

    def shift(self, day0: dt.date | None, agents: int) -> Shift:
        """The scenario's shift for `agents` agents working this pattern."""
        return Shift(start=self.start_clock(day0), length=self.length_s, agents=agents,
                     breaks=[Break(after=a, length=b) for a, b in self.breaks])

    def start_clock(self, day0: dt.date | None) -> ClockTime:
        day, rest = divmod(self.start_s, DAY_S)
        if day0 is None:
            return ClockTime(None, rest)
        return ClockTime(day0 + dt.timedelta(days=int(day)), rest)

    def document(self, day0: dt.date | None, agents: int) -> dict:
        """The shift as a `schedule: shifts:` entry of a scenario file."""
        entry = {"start": str(self.start_clock(day0)), "length": format_duration(self.length_s),
                 "agents": int(agents)}
        if self.breaks:
            entry["breaks"] = [{"after": format_duration(a), "length": format_duration(b)}
                               for a, b in self.breaks]
        return entry

    def describe_breaks(self, day0: dt.date | None) -> str:
        return " ".join(span_label(self.start_s + a, self.start_s + a + b, day0).split(" ")[-1]
                        for a, b in self.breaks)

    def sort_key(self) -> tuple:
        return (self.start_s, self.length_s, self.breaks, self.kind)


def _on_grid(value: float, step: float) -> bool:
    ratio = value / step
    return abs(ratio - round(ratio)) < 1e-9


def _break_placements(kind: ShiftKind, length: float, step: float, where: str,
                      source: str) -> list[tuple[tuple[float, float], ...]]:
    """Every way to place the kind's breaks in a shift of `length`, each after the last."""
    rules = [b for b in kind.breaks if length >= b.min_shift - 1e-9]
    if not rules:
        return [()]
    options = []
    for k, rule in enumerate(rules):
        every = rule.every or step
        for name, value in (("length", rule.length), ("earliest", rule.earliest),
                            ("every", every)):
            if not _on_grid(value, step):
                raise RosterError(f"{source}: {where}.breaks.{k}.{name}: "
                                  f"{format_duration(value)} is not a whole number of "
                                  f"{format_duration(step)} intervals (the requirement's grid)")
        latest = min(rule.latest, length - rule.length)
        count = math.floor((latest - rule.earliest) / every + 1e-9) + 1
        options.append([(rule.earliest + j * every, rule.length) for j in range(max(count, 0))])
    placements = [combo for combo in itertools.product(*options)
                  if all(a[0] + a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(combo))]
    if not placements:
        described = ", ".join(f"{format_duration(r.length)} starting {format_duration(r.earliest)}"
                              f"-{format_duration(r.latest)} in" for r in rules)
        raise RosterError(f"{source}: {where}.breaks: a {format_duration(length)} shift has no "
                          f"room for its breaks ({described}); give the break a min_shift or "
                          "widen its window")
    return placements


def enumerate_patterns(group: str, rules: GroupRules, edges_s: np.ndarray,
                       day0: dt.date | None, default_cost: float | None = None,
                       source: str = "<rules>") -> list[Pattern]:
    """Every shift the group's rules allow that is on duty in at least one interval, with the
    intervals it covers. Times must sit on the requirement's grid (checked here)."""
    step = float(edges_s[1] - edges_s[0])
    first, last = float(edges_s[0]), float(edges_s[-1])
    n = len(edges_s) - 1
    patterns: list[Pattern] = []
    for k, kind in enumerate(rules.shifts):
        where = f"groups.{group}.shifts.{k}"
        cost = kind.hourly_cost if kind.hourly_cost is not None else default_cost
        if cost is None:
            raise RosterError(f"{source}: {where}.hourly_cost: required (without a scenario "
                              "there is no group rate to default to)")
        lengths = kind.length_values()
        for length in lengths:
            if not _on_grid(length, step):
                raise RosterError(f"{source}: {where}.lengths: {format_duration(length)} is not "
                                  f"a whole number of {format_duration(step)} intervals (the "
                                  "requirement's grid)")
        for start in kind.start_values():
            if not _on_grid(start - first, step):
                raise RosterError(f"{source}: {where}.starts: {format_clock(start, None)} is not "
                                  f"on the requirement's {format_duration(step)} grid")
        if day0 is None:
            days = [0]
        else:
            days = range(int((first - max(lengths)) // DAY_S), int((last - 1e-9) // DAY_S) + 1)
        placements = {length: _break_placements(kind, length, step, where, source)
                      for length in lengths}
        for day in days:
            for clock in kind.start_values():
                start = day * DAY_S + clock
                for length in lengths:
                    for breaks in placements[length]:
                        pattern = Pattern(len(patterns), kind.name, start, length, breaks, cost)
                        spans = _spans(pattern, first, step, n, day0 is None)
                        if spans:
                            patterns.append(replace(pattern, spans=spans))
    return patterns


def _spans(pattern: Pattern, first: float, step: float, n: int, daily: bool
           ) -> tuple[tuple[int, int], ...]:
    """Intervals of the grid on duty, as [lo, hi) index ranges. A daily (undated) shift
    repeats every day, as `sim.agents.duty_periods` repeats it."""
    offsets = (-2 * DAY_S, -DAY_S, 0.0, DAY_S) if daily else (0.0,)
    mask = np.zeros(n, dtype=bool)
    for offset in offsets:
        for begin, end in pattern.pieces():
            lo = max(round((begin + offset - first) / step), 0)
            hi = min(round((end + offset - first) / step), n)
            if hi > lo:
                mask[lo:hi] = True
    runs, start = [], None
    for i, flag in enumerate(list(mask) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    return tuple(runs)


def _prune(patterns: list[Pattern]) -> list[Pattern]:
    """Drop a pattern when another with the same start covers exactly the same intervals for
    no more cost (e.g. a long shift running past the end of the grid): it can never do
    better, under any of the program's limits, and the program gets smaller."""
    best: dict[tuple, Pattern] = {}
    for pattern in patterns:
        key = (pattern.start_s, pattern.spans)
        if key not in best or pattern.cost < best[key].cost - 1e-12:
            best[key] = pattern
    kept = {id(p) for p in best.values()}
    return [p for p in patterns if id(p) in kept]


# --- the integer program ----------------------------------------------------------------------


def _day_patterns(days: int, longest_run: int) -> list[tuple[int, ...]]:
    """Non-empty working-day patterns over `days` days with no run of more than
    `longest_run` consecutive working days."""
    result = []
    for bits in itertools.product((0, 1), repeat=days):
        run = best = 0
        for bit in bits:
            run = run + 1 if bit else 0
            best = max(best, run)
        if 0 < best <= longest_run:
            result.append(bits)
    return result


@dataclass
class _GroupProgram:
    """One group's patterns and the matrices of its program (built once, solved per round)."""

    group: str
    rules: GroupRules
    patterns: list[Pattern]
    cover: sparse.csr_matrix  # intervals x patterns
    starts: sparse.csr_matrix  # distinct start times x patterns
    day_of: np.ndarray  # day index (0..days-1) of each pattern's start
    days: list[int]  # the calendar days (relative to day 0) patterns start on
    day_patterns: list[tuple[int, ...]] | None  # when consecutive days are limited


@dataclass(frozen=True)
class GroupRoster:
    """The program's answer for one group."""

    shifts: list[tuple[Pattern, int]]  # patterns worked, with their agents, in roster order
    on_duty: np.ndarray  # agents on duty per interval
    agents: int  # different agents needed (each works at most one shift a day)
    working_days: list[tuple[tuple[str, ...], int]]  # (dates worked, agents), with days off
    status: str
    solve_s: float


@dataclass
class Roster:
    """Shifts per group with their agents, and how they cover the requirement."""

    requirement: Requirement
    groups: dict[str, GroupRoster]
    solve_s: float

    @property
    def day0(self) -> dt.date | None:
        return self.requirement.day0

    def cost(self, group: str | None = None) -> float:
        names = [group] if group else list(self.groups)
        return float(sum(p.cost * n for g in names for p, n in self.groups[g].shifts))

    def duty_hours(self, group: str | None = None) -> float:
        names = [group] if group else list(self.groups)
        return float(sum(p.duty_s * n for g in names for p, n in self.groups[g].shifts) / 3600)

    def shift_count(self, group: str | None = None) -> int:
        names = [group] if group else list(self.groups)
        return int(sum(n for g in names for _, n in self.groups[g].shifts))

    def schedule(self, group: str) -> Schedule:
        """The group's roster as a scenario schedule."""
        return shifts_schedule(self.groups[group].shifts, self.day0)

    def document(self) -> dict:
        """`groups: {name: {schedule: {shifts: [...]}}}`: a block to paste into a scenario."""
        return {"groups": {g: {"schedule": {"shifts": [p.document(self.day0, n)
                                                       for p, n in roster.shifts]}}
                           for g, roster in self.groups.items()}}

    def table(self) -> pd.DataFrame:
        """One row per shift pattern worked: roster.csv."""
        rows = []
        for group, roster in self.groups.items():
            for pattern, agents in roster.shifts:
                rows.append({
                    "group": group, "kind": pattern.kind,
                    "start": format_clock(pattern.start_s, self.day0),
                    "end": format_clock(pattern.end_s, self.day0),
                    "length_h": pattern.length_s / 3600.0,
                    "breaks": pattern.describe_breaks(self.day0),
                    "agents": agents, "duty_hours": pattern.duty_s / 3600.0,
                    "hourly_cost": pattern.hourly_cost, "cost": pattern.cost * agents,
                })
        return pd.DataFrame(rows, columns=["group", "kind", "start", "end", "length_h", "breaks",
                                           "agents", "duty_hours", "hourly_cost", "cost"])

    def days_table(self) -> pd.DataFrame:
        """Agents per working-day pattern, for rules with days off (days.csv)."""
        rows = [{"group": g, "working_days": " ".join(days), "agents": n}
                for g, roster in self.groups.items() for days, n in roster.working_days]
        return pd.DataFrame(rows, columns=["group", "working_days", "agents"])

    def without_one(self, group: str, interval: int) -> tuple[Roster, Pattern]:
        """This roster with one agent fewer on duty in `interval`: taken from the shift
        covering it that covers the fewest other intervals (the least change elsewhere)."""
        roster = self.groups[group]
        n = self.requirement.n_intervals
        covering = [(int(p.covered(n).sum()), k) for k, (p, c) in enumerate(roster.shifts)
                    if c > 0 and p.covered(n)[interval]]
        if not covering:
            raise ValueError(f"no shift of group {group} covers interval {interval}")
        _, k = min(covering)
        pattern, count = roster.shifts[k]
        shifts = list(roster.shifts)
        shifts[k] = (pattern, count - 1)
        shifts = [(p, c) for p, c in shifts if c > 0]
        changed = replace(roster, shifts=shifts,
                          on_duty=roster.on_duty - pattern.covered(n).astype(np.int64))
        return replace(self, groups={**self.groups, group: changed}), pattern


def shifts_schedule(shifts: list[tuple[Pattern, int]], day0: dt.date | None,
                    agents: list[int] | None = None) -> Schedule:
    """A scenario schedule of shifts in roster order; `agents` replaces their agent counts
    (the attendance of one replication of the simulation check)."""
    counts = agents if agents is not None else [n for _, n in shifts]
    return Schedule(shifts=[p.shift(day0, n) for (p, _), n in zip(shifts, counts)])


class RosterProgram:
    """The integer program of a requirement grid and shift rules: the patterns and matrices are
    built once; `solve(agents)` answers for any requirement on that grid."""

    def __init__(self, requirement: Requirement, rules: RosterRules,
                 default_costs: dict[str, float] | None = None, source: str = "<rules>",
                 time_limit_s: float = TIME_LIMIT_S):
        self.requirement = requirement
        self.rules = rules
        self.source = source
        self.time_limit_s = time_limit_s
        unknown = [g for g in rules.groups if g not in requirement.agents]
        if unknown:
            raise RosterError(f"{source}: groups.{unknown[0]}: not in the requirement "
                              f"({requirement.source}: groups {', '.join(requirement.groups)})")
        missing = [g for g in requirement.groups if g not in rules.groups]
        if missing:
            raise RosterError(f"{source}: groups: no rules for {', '.join(missing)}, which "
                              f"{requirement.source} requires agents for")
        self.groups = {g: self._build(g, rules.groups[g], (default_costs or {}).get(g))
                       for g in requirement.groups}

    def _build(self, group: str, rules: GroupRules, default_cost: float | None
               ) -> _GroupProgram:
        req = self.requirement
        patterns = _prune(enumerate_patterns(group, rules, req.edges_s, req.day0, default_cost,
                                             self.source))
        n = req.n_intervals
        rows, cols = [], []
        for j, pattern in enumerate(patterns):
            for lo, hi in pattern.spans:
                rows.extend(range(lo, hi))
                cols.extend([j] * (hi - lo))
        cover = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(patterns)))
        start_times = sorted({p.start_s for p in patterns})
        index = {t: i for i, t in enumerate(start_times)}
        starts = sparse.csr_matrix(
            (np.ones(len(patterns)), ([index[p.start_s] for p in patterns],
                                      range(len(patterns)))),
            shape=(len(start_times), len(patterns)))
        calendar_days = sorted({int(p.start_s // DAY_S) for p in patterns})
        day_index = {d: i for i, d in enumerate(calendar_days)}
        day_of = np.array([day_index[int(p.start_s // DAY_S)] for p in patterns], dtype=int)
        day_patterns = None
        limit = rules.max_consecutive_days
        if limit is not None and limit < len(calendar_days):
            if 2 ** len(calendar_days) > MAX_DAY_PATTERNS:
                raise RosterError(
                    f"{self.source}: groups.{group}.max_consecutive_days: shifts start on "
                    f"{len(calendar_days)} days; days off are modelled for horizons of up to "
                    f"{int(math.log2(MAX_DAY_PATTERNS))} days")
            day_patterns = _day_patterns(len(calendar_days), limit)
        return _GroupProgram(group, rules, patterns, cover, starts, day_of, calendar_days,
                             day_patterns)

    def solve(self, agents: dict[str, np.ndarray] | None = None) -> Roster:
        """The cheapest roster covering `agents` per interval (default: the requirement's)."""
        requirement = self.requirement if agents is None else self.requirement.with_agents(agents)
        began = time.perf_counter()
        solved = {}
        problems = []
        for group, program in self.groups.items():
            try:
                solved[group] = self._solve_group(program, requirement.agents[group])
            except _Infeasible as exc:
                problems.append(f"group {group}: {exc}")
        if problems:
            raise RosterError(f"{self.source}: no roster meets the rules: {'; '.join(problems)}")
        return Roster(requirement, solved, time.perf_counter() - began)

    def relaxation_cost(self, agents: dict[str, np.ndarray] | None = None) -> float:
        """The program's LP relaxation (integrality dropped): a lower bound on the cost of
        any roster under the rules, and what solving the program costs at least."""
        requirement = self.requirement if agents is None else self.requirement.with_agents(agents)
        total = 0.0
        for group, program in self.groups.items():
            constraints, width, _, n_z = self._constraints(program, requirement.agents[group])
            costs = np.r_[[p.cost for p in program.patterns], np.zeros(n_z)]
            result = milp(costs, integrality=np.zeros(width), bounds=Bounds(0, np.inf),
                          constraints=constraints, options={"time_limit": self.time_limit_s})
            if result.x is None:
                raise RosterError(f"{self.source}: group {group}: no fractional roster either "
                                  f"({result.message})")
            total += float(result.fun)
        return total

    # The program: minimise c.x over x integer >= 0 (and z for working-day patterns) s.t.
    #   required <= cover x <= seats; starts x <= max_starts;
    #   per day d: shifts starting on d <= agents working on d (= sum of z over patterns
    #   working d, or team_size when consecutive days are not limited); sum z <= team_size.

    def _constraints(self, program: _GroupProgram, required: np.ndarray, elastic: bool = False,
                     drop: frozenset = frozenset()):
        rules = program.rules
        n_x = len(program.patterns)
        n_z = len(program.day_patterns) if program.day_patterns and "days" not in drop else 0
        n_s = len(required) if elastic else 0
        width = n_x + n_z + n_s
        constraints = []
        seats = rules.seats if rules.seats is not None and "seats" not in drop else np.inf
        cover = sparse.hstack([program.cover, sparse.csr_matrix((len(required), n_z))]
                              + ([sparse.identity(n_s, format="csr")] if elastic else []))
        constraints.append(LinearConstraint(cover, required.astype(float), np.inf))
        if np.isfinite(seats):
            limit = sparse.hstack([program.cover, sparse.csr_matrix((len(required), n_z + n_s))])
            constraints.append(LinearConstraint(limit, -np.inf, float(seats)))
        if rules.max_starts is not None and "max_starts" not in drop:
            starts = sparse.hstack([program.starts,
                                    sparse.csr_matrix((program.starts.shape[0], n_z + n_s))])
            constraints.append(LinearConstraint(starts, -np.inf, float(rules.max_starts)))
        n_days = len(program.days)
        per_day = sparse.csr_matrix((np.ones(n_x), (program.day_of, range(n_x))),
                                    shape=(n_days, n_x))
        if n_z:
            works = np.array(program.day_patterns, dtype=float).T  # days x patterns
            block = sparse.hstack([per_day, -sparse.csr_matrix(works),
                                   sparse.csr_matrix((n_days, n_s))])
            constraints.append(LinearConstraint(block, -np.inf, 0.0))
            if rules.team_size is not None and "team" not in drop:
                row = np.r_[np.zeros(n_x), np.ones(n_z), np.zeros(n_s)][None, :]
                constraints.append(LinearConstraint(row, -np.inf, float(rules.team_size)))
        elif rules.team_size is not None and "team" not in drop:
            block = sparse.hstack([per_day, sparse.csr_matrix((n_days, n_s))])
            constraints.append(LinearConstraint(block, -np.inf, float(rules.team_size)))
        return constraints, width, n_x, n_z

    def _solve_group(self, program: _GroupProgram, required: np.ndarray) -> GroupRoster:
        began = time.perf_counter()
        self._check_coverable(program, required)
        constraints, width, n_x, n_z = self._constraints(program, required)
        costs = np.r_[[p.cost for p in program.patterns], np.zeros(n_z)]
        result = milp(costs, integrality=np.ones(width), bounds=Bounds(0, np.inf),
                      constraints=constraints,
                      options={"time_limit": self.time_limit_s, "disp": False})
        if result.x is None or not np.all(np.isfinite(result.x)):
            if result.status == 2:
                raise _Infeasible(self._explain(program, required))
            raise _Infeasible(f"the integer program stopped without a roster ({result.message})")
        counts = np.round(result.x[:n_x]).astype(np.int64)
        status = "optimal" if result.status == 0 else (
            f"time limit {self.time_limit_s:g}s: best roster found, within "
            f"{100 * (result.mip_gap or 0):.2g}% of the optimum")
        chosen = sorted(((program.patterns[j], int(counts[j])) for j in np.flatnonzero(counts)),
                        key=lambda item: item[0].sort_key())
        on_duty = np.asarray(program.cover @ counts, dtype=np.int64)
        agents, working = self._agents(program, counts)
        return GroupRoster(chosen, on_duty, agents, working, status, time.perf_counter() - began)

    def _agents(self, program: _GroupProgram, counts: np.ndarray
                ) -> tuple[int, list[tuple[tuple[str, ...], int]]]:
        """Fewest different agents who can work the shifts (one a day each, within the
        consecutive-day limit), with the working days of each."""
        n_days = len(program.days)
        per_day = np.bincount(program.day_of, weights=counts, minlength=n_days).astype(int)
        if not program.day_patterns:
            return int(per_day.max(initial=0)), []
        works = np.array(program.day_patterns, dtype=float)
        result = milp(np.ones(len(works)), integrality=np.ones(len(works)),
                      bounds=Bounds(0, np.inf),
                      constraints=[LinearConstraint(works.T, per_day.astype(float), np.inf)],
                      options={"time_limit": self.time_limit_s, "disp": False})
        z = np.round(result.x).astype(int)
        labels = [self._day_label(d) for d in program.days]
        working = [(tuple(label for label, bit in zip(labels, bits) if bit), int(count))
                   for bits, count in zip(program.day_patterns, z) if count > 0]
        return int(z.sum()), working

    def _day_label(self, day: int) -> str:
        day0 = self.requirement.day0
        return (day0 + dt.timedelta(days=day)).isoformat() if day0 else f"day {day}"

    def _check_coverable(self, program: _GroupProgram, required: np.ndarray) -> None:
        """Refuse, interval by interval, what no combination of shifts could ever cover."""
        req = self.requirement
        possible = np.asarray(program.cover.sum(axis=1)).ravel() > 0
        uncovered = (required > 0) & ~possible
        problems = []
        if uncovered.any():
            problems.append(f"no allowed shift covers {req.ranges(uncovered)}")
        seats = program.rules.seats
        if seats is not None and np.any(required > seats):
            over = required > seats
            problems.append(f"seats {seats} but up to {int(required.max())} agents required in "
                            f"{req.ranges(over)}")
        max_starts = program.rules.max_starts
        if max_starts is not None and program.patterns:
            # Agents on duty at once never exceed max_starts times the start times covering.
            counts = np.asarray((program.cover @ program.starts.T).astype(bool).sum(axis=1)
                                ).ravel()
            short = required > counts * max_starts
            if short.any():
                problems.append(f"max_starts {max_starts} cannot put enough agents on duty in "
                                f"{req.ranges(short)}")
        if problems:
            raise _Infeasible("; ".join(problems))

    def _explain(self, program: _GroupProgram, required: np.ndarray) -> str:
        """Why a program is infeasible: the intervals left short when coverage may fall short
        (at least cost to coverage), and which limits, dropped, would make it feasible."""
        req = self.requirement
        short = self._shortfall(program, required, frozenset())
        if short is None or not np.any(short > 0.5):
            return "the integer program found no roster within the rules"
        limits = [(name, key) for name, key in (
            ("seats", "seats"), ("max_starts", "max_starts"), ("team_size", "team"),
            ("max_consecutive_days", "days")) if self._has(program.rules, key)]
        culprits = [name for name, key in limits
                    if (s := self._shortfall(program, required, frozenset({key}))) is not None
                    and not np.any(s > 0.5)]
        why = (f"; without {' or '.join(culprits)} it could" if culprits
               else "; the limits together prevent it")
        return (f"cannot cover {req.ranges(short > 0.5)} (short by up to "
                f"{round(float(short.max()))} agents) within {', '.join(n for n, _ in limits)}"
                f"{why}")

    @staticmethod
    def _has(rules: GroupRules, key: str) -> bool:
        return {"seats": rules.seats, "max_starts": rules.max_starts, "team": rules.team_size,
                "days": rules.max_consecutive_days}[key] is not None

    def _shortfall(self, program: _GroupProgram, required: np.ndarray, drop: frozenset
                   ) -> np.ndarray | None:
        constraints, width, n_x, n_z = self._constraints(program, required, elastic=True,
                                                         drop=drop)
        n_s = width - n_x - n_z
        costs = np.r_[np.zeros(n_x + n_z), np.ones(n_s)]
        integrality = np.r_[np.ones(n_x + n_z), np.zeros(n_s)]
        result = milp(costs, integrality=integrality, bounds=Bounds(0, np.inf),
                      constraints=constraints,
                      options={"time_limit": self.time_limit_s, "disp": False})
        return None if result.x is None else result.x[n_x + n_z:]


class _Infeasible(Exception):
    """One group's program has no solution (the message says why)."""


def solve_roster(requirement: Requirement, rules: RosterRules,
                 default_costs: dict[str, float] | None = None, source: str = "<rules>",
                 time_limit_s: float = TIME_LIMIT_S) -> Roster:
    """The cheapest roster covering `requirement` under `rules` (one integer program per
    group). `default_costs` gives each group's hourly rate for shift kinds without one."""
    return RosterProgram(requirement, rules, default_costs, source, time_limit_s).solve()

