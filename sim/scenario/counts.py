"""Historical arrival counts (`arrivals.counts_csv`), read and checked line by line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from pathlib import Path

from sim.scenario.errors import ScenarioError
from sim.scenario.model import ArrivalCSV
from sim.units import ClockTime


def read_counts_csv(
    spec: ArrivalCSV, base_dir: Path, interval_s: float, day0: dt.date | None, confine: bool = True
) -> list[tuple[float, float]]:
    """Rows (start_s, count) of a historical counts file, checked line by line.

    With `confine`, the file must lie inside `base_dir` (the scenario's folder), so a scenario
    passed around cannot make the simulator read arbitrary files.
    """
    path = (base_dir / spec.path).resolve()
    try:
        if confine:
            path.relative_to(base_dir.resolve())
    except ValueError:
        raise ScenarioError(
            f"{spec.path} must stay inside the scenario's folder; copy the file next to it"
        ) from None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot open arrivals.counts_csv: {exc.strerror}") from None
    try:
        # utf-8-sig: spreadsheet programs often save CSV with a byte-order mark.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScenarioError(f"{path}: line {line}: not UTF-8 text") from None
    rows: list[tuple[float, float]] = []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = set(reader.fieldnames or [])
        rows_read = list(enumerate(reader, start=2))
    except csv.Error as exc:
        raise ScenarioError(f"{path}: not a readable CSV file: {str(exc)[:80]}") from None
    missing = {"start", spec.column} - header
    if missing:
        raise ScenarioError(f"{path}: line 1: missing column(s) {', '.join(sorted(missing))}")
    for line, row in rows_read:
        try:
            start = ClockTime.parse(row["start"]).seconds(day0)
            count = float(row[spec.column])
        except (ValueError, TypeError) as exc:
            raise ScenarioError(f"{path}: line {line}: {exc}") from None
        if not (count >= 0 and math.isfinite(count)):
            raise ScenarioError(
                f"{path}: line {line}: count must be >= 0 and finite, got {count}")
        if rows:
            step = start - rows[-1][0]
            if step <= 0:
                raise ScenarioError(f"{path}: line {line}: times out of order")
            if abs(step - interval_s) > 1e-6:
                raise ScenarioError(
                    f"{path}: line {line}: rows are {step:.0f}s apart but "
                    f"arrivals.interval is {interval_s:.0f}s"
                )
        rows.append((start, count))
    if not rows:
        raise ScenarioError(f"{path}: line 1: no rows after the header")
    return rows
