"""`supportsim export-log`: simulated records written as chat logs, with their duty files, so
that a log with a known truth is one command away."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from sim.analysis.metrics import Tables
from sim.chatlog.export import duty_rows, log_rows
from sim.engine import simulate
from sim.output.log_file import PARQUET_SUFFIXES, duty_path, write_log_file
from sim.scenario import Scenario, ScenarioError, resolve_variants

#: The first day of a log exported from a scenario whose horizon has no date (a Monday).
DEFAULT_DATE = dt.date(2026, 3, 2)


@dataclass(frozen=True)
class ExportedLog:
    """One exported run: which variant and replication, and the files written."""

    variant: str
    replication: int
    log: Path
    duty: Path
    rows: int
    conversations: int


def log_day0(scenario: Scenario, date: dt.date | None = None) -> dt.date:
    """The calendar day of the log's first day: the horizon's date, else `date` (default
    `DEFAULT_DATE`)."""
    if scenario.horizon.day0 is not None:
        if date is not None and date != scenario.horizon.day0:
            raise ScenarioError(f"the horizon starts on {scenario.horizon.day0}; --date "
                                f"{date} would move it (leave --date out)")
        return scenario.horizon.day0
    return date or DEFAULT_DATE


def export_logs(scenario: Scenario, out: Path, *, variants: list[str] | None = None,
                replications: list[int] | None = None, seed: int | None = None,
                date: dt.date | None = None, encoding: str = "utf-8",
                fractional: bool = False, source: str | None = None,
                progress: bool = False) -> list[ExportedLog]:
    """Simulate each (variant, replication) and write its log and duty file.

    With one run, `out` is the log file when it ends in .csv or .parquet; otherwise `out` is
    a folder receiving `<variant>-r<replication>.csv` (and `.duty.csv`) per run.
    """
    source = source or scenario.name
    resolved = resolve_variants(scenario, source)
    names = variants or list(resolved)
    unknown = [v for v in names if v not in resolved]
    if unknown:
        raise ScenarioError(f"{source}: unknown variant(s) {', '.join(unknown)}; known: "
                            f"{', '.join(resolved)}")
    runs = [(v, r) for v in names for r in (replications or range(scenario.replications))]
    out = Path(out)
    single_file = len(runs) == 1 and (out.suffix.lower() in (".csv", *PARQUET_SUFFIXES))
    day0 = log_day0(scenario, date)
    seed = scenario.seed if seed is None else seed
    exported = []
    for variant, replication in tqdm(runs, desc=f"export {scenario.name}", unit="run",
                                     disable=not progress, leave=False):
        records = simulate(resolved[variant], replication, seed)
        tables = Tables.from_records(records)
        path = out if single_file else out / f"{variant}-r{replication}.csv"
        rows = log_rows(tables, day0, fractional)
        write_log_file(path, rows, encoding)
        write_log_file(duty_path(path), duty_rows(tables, day0, fractional,
                                                  resolved[variant]), encoding)
        exported.append(ExportedLog(variant, replication, path, duty_path(path), len(rows),
                                    len(tables.conversations)))
    return exported
