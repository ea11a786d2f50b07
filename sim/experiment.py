"""Running a scenario: every variant x replication, metrics per run, CIs over replications.

This is the Python API notebooks use; the CLI is a thin shell over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim import metrics
from sim.engine import simulate
from sim.outputs import write_csv, write_parquet
from sim.scenario import Scenario, resolve_variants
from sim.stats import t_interval

SUMMARY_COLUMNS = ["variant", "metric", "mean", "ci_low", "ci_high", "replications"]


@dataclass
class Results:
    """What a run produced.

    - `per_replication`: one row per (variant, replication), one column per metric;
    - `summary`: long form `variant, metric, mean, ci_low, ci_high, replications`;
    - `intervals`: per-interval series, mean over replications, per variant;
    - `interval_runs`: the same series for every replication (for CI bands);
    - `records`: {(variant, replication): metrics.Tables} when records were kept.
    """

    scenario: Scenario
    variants: dict[str, Scenario]
    per_replication: pd.DataFrame
    summary: pd.DataFrame
    intervals: pd.DataFrame
    interval_runs: pd.DataFrame
    records: dict[tuple[str, int], metrics.Tables] = field(default_factory=dict)

    def metric(self, name: str, variant: str = "baseline") -> dict[str, float]:
        row = self.summary[(self.summary.variant == variant) & (self.summary.metric == name)]
        if row.empty:
            raise KeyError(f"no metric {name!r} for variant {variant!r}")
        return row.iloc[0][["mean", "ci_low", "ci_high"]].to_dict()

    def conversations(self) -> pd.DataFrame:
        """Per-conversation records of every kept run, with variant and replication columns."""
        return _stack(self.records, "conversations")

    def messages(self) -> pd.DataFrame:
        return _stack(self.records, "messages")

    def write(self, out_dir: Path, records: bool = False) -> list[Path]:
        """Write summary.csv, intervals.csv, replications.csv (and records as Parquet)."""
        out_dir = Path(out_dir)
        written = []
        for name, frame in (("summary.csv", self.summary), ("intervals.csv", self.intervals),
                            ("replications.csv", self.per_replication)):
            write_csv(out_dir / name, frame)
            written.append(out_dir / name)
        if records and self.records:
            for name in ("conversations", "messages"):
                path = out_dir / f"{name}.parquet"
                write_parquet(path, _stack(self.records, name))
                written.append(path)
        return written


def _stack(records: dict, attribute: str) -> pd.DataFrame:
    frames = []
    for (variant, replication), tables in records.items():
        frame = getattr(tables, attribute).copy()
        frame.insert(0, "replication", replication)
        frame.insert(0, "variant", variant)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def run_one(scenario: Scenario, replication: int, seed: int,
            keep_records: bool = False) -> tuple[dict[str, float], pd.DataFrame, metrics.Tables | None]:
    """One replication of one (resolved) scenario: its metrics, interval series and tables."""
    records = simulate(scenario, replication, seed)
    tables = metrics.Tables.from_records(records)
    activations = dict(zip(records.group_names, map(int, records.activations)))
    values = metrics.summarize(tables, scenario, activations)
    series = metrics.interval_series(tables, scenario)
    return values, series, (tables if keep_records else None)


def summarize_replications(per_replication: pd.DataFrame) -> pd.DataFrame:
    """Long-form summary: mean and 95% t-interval of every metric per variant."""
    rows = []
    metric_names = [c for c in per_replication.columns if c not in ("variant", "replication")]
    for variant, frame in per_replication.groupby("variant", sort=False):
        for name in metric_names:
            values = frame[name].to_numpy(dtype=float)
            mean, low, high = t_interval(values)
            rows.append((variant, name, mean, low, high, int(np.isfinite(values).sum())))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def run(scenario: Scenario, replications: int | None = None, seed: int | None = None,
        variants: list[str] | None = None, keep_records: bool = False,
        progress: bool = False) -> Results:
    """Run every variant x replication of `scenario` under common random numbers.

    Replication r of every variant uses the same random streams (seed, r), so the variants
    meet the same buyers and their differences are paired.
    """
    resolved = resolve_variants(scenario)
    if variants:
        unknown = [v for v in variants if v not in resolved]
        if unknown:
            raise KeyError(f"unknown variant(s) {', '.join(unknown)}; "
                           f"known: {', '.join(resolved)}")
        resolved = {name: resolved[name] for name in variants}
    replications = replications or scenario.replications
    seed = scenario.seed if seed is None else seed
    rows, series, kept = [], [], {}
    total = replications * len(resolved)
    with tqdm(total=total, desc=f"{scenario.name}", unit="run", disable=not progress,
              leave=False) as bar:
        for replication in range(replications):
            for name, variant in resolved.items():
                values, frame, tables = run_one(variant, replication, seed, keep_records)
                rows.append({"variant": name, "replication": replication, **values})
                frame.insert(0, "replication", replication)
                frame.insert(0, "variant", name)
                series.append(frame)
                if tables is not None:
                    kept[(name, replication)] = tables
                bar.update()
    per_replication = pd.DataFrame(rows)
    interval_runs = pd.concat(series, ignore_index=True)
    intervals = (
        interval_runs.drop(columns="replication")
        .groupby(["variant", "interval_start_s", "interval_end_s"], sort=False)
        .mean()
        .reset_index()
    )
    return Results(scenario, resolved, per_replication, summarize_replications(per_replication),
                   intervals, interval_runs, kept)
