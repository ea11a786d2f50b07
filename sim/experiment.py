"""Running a scenario: every variant x replication, metrics per run, CIs over replications.

This is the Python API notebooks use; the CLI is a thin shell over it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.analysis import metrics
from sim.analysis.stats import bounded_band, metric_interval, t_interval, t_quantile
from sim.analysis.targets import Target, merge, parse_targets, scenario_targets
from sim.engine import limits, simulate
from sim.output.files import FileJob, parquet_bytes, write_csv, write_files
from sim.parallel import SHARED, Executor, make_executor
from sim.scenario import BASELINE, Scenario, resolve_variants
from sim.scenario.arguments import names_argument, replications_argument, require_scenario

SUMMARY_COLUMNS = ["variant", "metric", "mean", "ci_low", "ci_high", "replications"]

#: Wait values (seconds) at which each run's empirical CDF of waits is kept: 1 s steps up to
#: 5 min (the platform thresholds live there), coarser beyond, up to three days for big-sale
#: backlogs. About 800 points, so a run costs a few kB instead of its full records.
WAIT_GRID_S = np.unique(np.r_[
    np.arange(0.0, 300.0, 1.0),
    np.arange(300.0, 1800.0, 5.0),
    np.arange(1800.0, 7200.0, 30.0),
    np.geomspace(7200.0, 3 * 86400.0, 40),
])
#: Wait distributions kept per run (see `wait_distributions`).
WAIT_QUANTITIES = ("first_response", "message_wait")

class PrecisionError(ValueError):
    """`replications="auto"` cannot work with the chosen settings or metric."""


#: `--replications auto`: replications run before the first precision check.
AUTO_PILOT_REPLICATIONS = 5


@dataclass
class Results:
    """What a run produced.

    - `per_replication`: one row per (variant, replication), one column per metric;
    - `summary`: long form `variant, metric, mean, ci_low, ci_high, replications`;
    - `intervals`: per-interval series, mean over replications, per variant;
    - `interval_runs`: the same series for every replication (for CI bands);
    - `records`: {(variant, replication): metrics.Tables} when records were kept;
    - `wait_cdfs`: {(variant, quantity): array (replications, len(WAIT_GRID_S))}, each row one
      run's share of buyers (first_response) or messages (message_wait) answered within each
      wait of `WAIT_GRID_S`; see `wait_cdf`;
    - `stopped_by` / `stopping`: with `replications="auto"`, "precision" or "cap" and a
      sentence saying so;
    - `common_random_numbers`, `seed`: how the random streams were drawn;
    - `targets`: what the results are judged against (the scenario's `targets:` and those
      given to `run`), see `headline`.
    """

    scenario: Scenario
    variants: dict[str, Scenario]
    per_replication: pd.DataFrame
    summary: pd.DataFrame
    intervals: pd.DataFrame
    interval_runs: pd.DataFrame
    records: dict[tuple[str, int], metrics.Tables] = field(default_factory=dict)
    wait_cdfs: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    stopped_by: Literal["precision", "cap"] | None = None
    stopping: str = ""
    common_random_numbers: bool = True
    seed: int | None = None
    targets: list[Target] = field(default_factory=list)

    def headline(self):
        """Whether each variant meets each target, the cheapest variant meeting them all, and
        the worst intervals inside and outside the counted hours (`sim.analysis.headline`)."""
        from sim.analysis.headline import headline

        return headline(self)

    def metric(self, name: str, variant: str = "baseline") -> dict[str, float]:
        row = self.summary[(self.summary.variant == variant) & (self.summary.metric == name)]
        if row.empty:
            raise KeyError(f"no metric {name!r} for variant {variant!r}")
        return row.iloc[0][["mean", "ci_low", "ci_high"]].to_dict()

    @property
    def replications(self) -> int:
        frame = self.per_replication
        return int(frame["replication"].nunique()) if len(frame) else 0

    def wait_cdf(self, quantity: str = "first_response") -> pd.DataFrame:
        """Empirical CDF of waits per variant: mean over replications with a 95% t-band.

        Long form `variant, wait_s, share, ci_low, ci_high`. Unanswered buyers (messages)
        never reach the curve, so it tops out at the share answered at all.
        """
        if quantity not in WAIT_QUANTITIES:
            raise KeyError(f"unknown wait quantity {quantity!r}; "
                           f"known: {', '.join(WAIT_QUANTITIES)}")
        frames = []
        for (variant, name), runs in self.wait_cdfs.items():
            if name != quantity:
                continue
            runs = np.asarray(runs, dtype=float)
            n = np.isfinite(runs).sum(axis=0)
            with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
                # A run without buyers has no distribution (NaN); all-NaN columns stay NaN.
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(runs, axis=0)
                se = np.nanstd(runs, axis=0, ddof=1) / np.sqrt(n)
                t = t_quantile(0.975, np.maximum(n - 1, 1))
            # Shares: the band stays within [0, 1] (sim.analysis.stats.bounded_band).
            low, high = bounded_band(mean, np.where(n > 1, se, np.nan), t, 0.0, 1.0)
            frames.append(pd.DataFrame({
                "variant": variant, "wait_s": WAIT_GRID_S, "share": mean,
                "ci_low": low, "ci_high": high,
            }))
        if not frames:
            return pd.DataFrame(columns=["variant", "wait_s", "share", "ci_low", "ci_high"])
        return pd.concat(frames, ignore_index=True)

    def conversations(self) -> pd.DataFrame:
        """Per-conversation records of every kept run, with variant and replication columns."""
        return _stack(self.records, "conversations")

    def messages(self) -> pd.DataFrame:
        return _stack(self.records, "messages")

    def write(self, out_dir: Path, records: bool = False, executor: Executor | None = None
              ) -> list[Path]:
        """Write summary.csv, intervals.csv, replications.csv (and records as Parquet, made on
        `executor` when given: see `record_jobs`)."""
        written = self.write_tables(out_dir)
        if records and self.records:
            jobs = self.record_jobs(out_dir)
            write_files(jobs, executor)
            written += [job.path for job in jobs]
        return written

    def write_tables(self, out_dir: Path) -> list[Path]:
        """Write summary.csv, intervals.csv and replications.csv."""
        out_dir = Path(out_dir)
        written = []
        for name, frame in (("summary.csv", self.summary), ("intervals.csv", self.intervals),
                            ("replications.csv", self.per_replication)):
            write_csv(out_dir / name, frame)
            written.append(out_dir / name)
        return written

    def record_jobs(self, out_dir: Path) -> list[FileJob]:
        """conversations.parquet and messages.parquet as jobs for `sim.output.files.write_files`
        (none without kept records). Both are made in this process (`FileJob.here`): the
        records are already here, and shipping them to a worker cost more than encoding them
        (on `run double11 --records`, 100 MB pickled per job against about a second of work),
        while the workers draw the plots."""
        if not self.records:
            return []
        return [FileJob(Path(out_dir) / f"{name}.parquet", records_parquet, (self.records, name),
                        here=True)
                for name in ("conversations", "messages")]


def records_parquet(records: dict, attribute: str) -> bytes:
    """The `attribute` table ("conversations" or "messages") of every run of `records`, with
    variant and replication columns, as the bytes of `<attribute>.parquet`."""
    return parquet_bytes(_stack(records, attribute))


def _stack(records: dict, attribute: str) -> pd.DataFrame:
    frames = []
    for (variant, replication), tables in records.items():
        frame = getattr(tables, attribute).copy()
        frame.insert(0, "replication", replication)
        frame.insert(0, "variant", variant)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def wait_distributions(tables: metrics.Tables, scenario: Scenario,
                       grid_s: np.ndarray = WAIT_GRID_S) -> dict[str, np.ndarray]:
    """Share of counted buyers first answered, and of counted messages answered, within each
    wait of `grid_s`, using the same offered waits and exclusions as the scalar metrics
    (reported buyers out; bot replies only when they count). Unanswered ones count as never."""
    return metrics.wait_shares(tables, scenario.bot.replies_count, grid_s)


def replication_metrics(scenario: Scenario, records) -> tuple[dict[str, float], pd.DataFrame,
                                                             metrics.Tables]:
    """Every scalar metric, the interval series and the tables of one run's records."""
    tables = metrics.Tables.from_records(records)
    activations = dict(zip(records.group_names, map(int, records.activations)))
    values = metrics.summarize(tables, scenario, activations)
    series = metrics.interval_series(tables, scenario)
    return values, series, tables


def run_one(scenario: Scenario, replication: int, seed: int, keep_records: bool = False
            ) -> tuple[dict[str, float], pd.DataFrame, metrics.Tables | None]:
    """One replication of one (resolved) scenario: its metrics, interval series and tables."""
    values, series, tables = replication_metrics(scenario, simulate(scenario, replication, seed))
    return values, series, (tables if keep_records else None)


def _replicate(variants: dict[str, Scenario], name: str, replication: int, seed: int,
               keep_records: bool):
    """One task of `run`, in a worker: a variant's replication, reduced to what `run` keeps."""
    variant = variants[name]
    values, series, tables = run_one(variant, replication, seed, keep_records=True)
    shares = wait_distributions(tables, variant)
    return values, series, shares, (tables if keep_records else None)


def variant_seed(seed: int, variant: str, common_random_numbers: bool = True) -> int:
    """The seed a variant's replications draw from.

    Under common random numbers every variant uses `seed`. Otherwise each non-baseline variant
    gets its own seed, derived from its name (not its position, so running a subset of variants
    changes nothing), and so streams independent of the baseline's.
    """
    if common_random_numbers or variant == BASELINE:
        return seed
    key = int.from_bytes(hashlib.sha256(variant.encode("utf-8")).digest()[:8], "big")
    state = np.random.SeedSequence(seed, spawn_key=(key,)).generate_state(2, np.uint32)
    return int(state[0]) << 32 | int(state[1])


def summarize_replications(per_replication: pd.DataFrame) -> pd.DataFrame:
    """Long-form summary: mean and 95% interval of every metric per variant, a t-interval kept
    within the metric's range (shares in [0, 1], the rest >= 0; `sim.analysis.stats`)."""
    rows = []
    metric_names = [c for c in per_replication.columns if c not in ("variant", "replication")]
    for variant, frame in per_replication.groupby("variant", sort=False):
        for name in metric_names:
            values = frame[name].to_numpy(dtype=float)
            mean, low, high = metric_interval(name, values)
            rows.append((variant, name, mean, low, high, int(np.isfinite(values).sum())))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def relative_half_width(values) -> float:
    """95% CI half-width over |mean|: 0 when every value is equal, inf when undefined."""
    mean, low, high = t_interval(values)
    if not math.isfinite(low):
        return math.inf
    half = (high - low) / 2
    if half == 0:
        return 0.0
    return half / abs(mean) if mean != 0 else math.inf


def run(scenario: Scenario, replications: int | Literal["auto"] | None = None,
        seed: int | None = None, variants: list[str] | None = None, keep_records: bool = False,
        progress: bool = False, common_random_numbers: bool = True, precision: float = 0.01,
        precision_metric: str = "reply_rate_5min", max_replications: int = 100,
        allow_large: bool = False, source: str | None = None, workers: int | None = 1,
        dask: str | None = None, targets: list[str | Target] | None = None,
        executor: Executor | None = None) -> Results:
    """Run every variant x replication of `scenario`, by default under common random numbers.

    Replication r of every variant uses the same random streams (seed, r), so the variants
    meet the same buyers and their differences are paired. With
    `common_random_numbers=False` each variant draws its own streams (for comparison only).

    `replications="auto"` runs a pilot of `AUTO_PILOT_REPLICATIONS`, then adds replications
    until the 95% CI half-width of `precision_metric` is at most `precision` times its mean in
    every variant, or `max_replications` is reached; `Results.stopped_by` says which.

    Before anything runs, the work is estimated and refused (`ScenarioError`) when over the
    limits of `sim.engine.limits`, unless `allow_large`; `source` names the scenario in messages.

    The replications run on `sim.parallel.make_executor(workers, dask)`: in this process
    (`workers=1`, the default), on local processes (`workers=None`: every core), or on Dask
    (`dask="local"` or a scheduler address). Each replication's streams depend only on
    (seed, replication) and results are kept in task order, so every executor gives the same
    `Results`, to the byte. An open `executor` (from `make_executor`) is used instead of one of
    its own, and left open, so that a caller can run more work on the same workers (the
    command line draws the report there); `workers` and `dask` are then ignored.

    `targets` (text such as "reply_rate_5min>=0.95", or `Target`s) are added to the
    scenario's `targets:`, replacing one that bounds the same metric the same way; every
    target is checked before anything runs (a `ScenarioError` names the field).
    """
    scenario = require_scenario(scenario, "run")
    replications = replications_argument(replications, "run", auto=True)
    variants = names_argument(variants, "variants", "run")
    judged = merge(scenario_targets(scenario, source or scenario.name),
                   [t if isinstance(t, Target) else parse_targets([t])[0]
                    for t in targets or []])
    resolved = resolve_variants(scenario)
    if variants:
        unknown = [v for v in variants if v not in resolved]
        if unknown:
            raise KeyError(f"unknown variant(s) {', '.join(unknown)}; "
                           f"known: {', '.join(resolved)}")
        resolved = {name: resolved[name] for name in variants}
    auto = replications == "auto"
    if auto:
        if max_replications < 2:
            raise PrecisionError("max_replications must be at least 2 for a confidence interval")
        if not precision > 0:
            raise PrecisionError(f"precision must be > 0 (a share of the mean), got {precision}")
        target = min(AUTO_PILOT_REPLICATIONS, max_replications)
    else:
        target = replications or scenario.replications
    runs = (max_replications if auto else target) * len(resolved)
    for variant in resolved.values():
        limits.check(variant, runs=runs, allow_large=allow_large,
                     source=source or scenario.name)
    seed = scenario.seed if seed is None else seed
    seeds = {name: variant_seed(seed, name, common_random_numbers) for name in resolved}
    rows, series, kept = [], [], {}
    cdfs: dict[tuple[str, str], list[np.ndarray]] = {
        (name, quantity): [] for name in resolved for quantity in WAIT_QUANTITIES}
    stopped_by, stopping, done = None, "", 0
    if executor is None:
        pool = make_executor(workers, dask, shared=resolved, tasks=runs)
    else:
        # Not ours to close; its workers hold no shared object, so each task carries its
        # own variant (a few kB).
        pool = contextlib.nullcontext(executor)
    shared = executor is None
    with pool as runner, \
            tqdm(total=target * len(resolved), desc=f"{scenario.name}", unit="run",
                 disable=not progress, leave=False) as bar:

        def check_pilot(index: int, outcome) -> None:
            bar.update()
            # On the first task in task order (not the first to finish), so that every
            # executor stops with the same message, as soon as it is known.
            if index == 0 and precision_metric not in outcome[0]:
                raise KeyError(f"unknown precision metric {precision_metric!r}; "
                               f"known: {', '.join(outcome[0])}")

        while True:
            tasks = [(SHARED if shared else {name: resolved[name]}, name, replication,
                      seeds[name], keep_records)
                     for replication in range(done, target) for name in resolved]
            outcomes = runner.map(_replicate, tasks,
                                    progress=check_pilot if auto and done == 0 else bar)
            for (_, name, replication, _, _), (values, frame, shares, tables) in zip(tasks,
                                                                                     outcomes):
                rows.append({"variant": name, "replication": replication, **values})
                frame.insert(0, "replication", replication)
                frame.insert(0, "variant", name)
                series.append(frame)
                for quantity, share in shares.items():
                    cdfs[(name, quantity)].append(share)
                if keep_records:
                    kept[(name, replication)] = tables
            done = target
            if not auto:
                break
            stopped_by, stopping, target = _next_target(
                pd.DataFrame(rows), precision_metric, precision, done, max_replications)
            if stopped_by:
                break
            bar.total = target * len(resolved)
            bar.refresh()
    per_replication = pd.DataFrame(rows)
    interval_runs = pd.concat(series, ignore_index=True)
    intervals = (
        interval_runs.drop(columns="replication")
        .groupby(["variant", "interval_start_s", "interval_end_s"], sort=False)
        .mean()
        .reset_index()
    )
    intervals.insert(1, "interval_start", metrics.interval_start(intervals["interval_start_s"],
                                                         scenario.horizon.day0))
    wait_cdfs = {key: np.vstack(runs) for key, runs in cdfs.items()}
    return Results(scenario, resolved, per_replication, summarize_replications(per_replication),
                   intervals, interval_runs, kept, wait_cdfs, stopped_by, stopping,
                   common_random_numbers, seed, judged)


def _next_target(per_replication: pd.DataFrame, metric: str, precision: float, done: int,
                 cap: int) -> tuple[str | None, str, int]:
    """Whether `--replications auto` stops (and why), else how many replications to reach.

    The estimate n * (relative half-width / precision)^2 assumes the spread stays put; growth
    is limited to doubling per step because a few replications estimate the spread poorly.
    """
    worst, worst_variant = -1.0, ""
    for variant, frame in per_replication.groupby("variant", sort=False):
        values = frame[metric].to_numpy(dtype=float)
        if not np.isfinite(values).any():
            raise PrecisionError(f"precision metric {metric!r} is undefined in every replication "
                                 f"of variant {variant!r}; choose another --precision-metric")
        rel = relative_half_width(values)
        if rel > worst:
            worst, worst_variant = rel, variant
    shown = "undefined" if not math.isfinite(worst) else f"{100 * worst:.2f}% of the mean"
    if worst <= precision:
        message = (f"stopped by precision: the 95% CI half-width of {metric} is at most "
                   f"{100 * worst:.2f}% of the mean in every variant "
                   f"(target {100 * precision:g}%) after {done} replications")
        return "precision", message, done
    if done >= cap:
        message = (f"stopped by the cap of {cap} replications: the 95% CI half-width of "
                   f"{metric} is still {shown} in variant {worst_variant!r} "
                   f"(target {100 * precision:g}%)")
        return "cap", message, done
    needed = done * (worst / precision) ** 2 if math.isfinite(worst) else 2 * done
    return None, "", int(min(cap, max(done + 1, min(math.ceil(needed), 2 * done))))
