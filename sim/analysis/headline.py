"""The headline of a run, what a desk manager reads first: per variant, whether each target is
met, missed or undecided; the cheapest variant that meets every target; and the worst
interval of the day inside and outside the counted hours.

A pure function of a run's results (`sim.experiment.Results`, or anything with its `summary`,
`interval_runs`, `scenario`, `variants` and `targets`), so the terminal, the report and a
notebook show the same verdicts.

- A target is judged on the variant's 95% interval (`sim.analysis.targets.Target.judge`):
  met when the whole interval satisfies it, missed when none of it does, undecided when it
  straddles the target. A variant meets *every* target when each is met; it misses when any
  is missed; otherwise it is undecided.
- The cheapest variant is the one with the lowest mean `cost` among those meeting every
  target; with no target set there is none.
- The worst intervals are those of the per-interval 5-minute reply rate (the whole-day rule,
  buyers by the interval they arrived in, as in `intervals.csv`) with the lowest mean over
  replications, one among the intervals starting inside the Pinduoduo counted hours
  (`metrics.pinduoduo.window`) and one among those outside, each with its 95% interval. A
  spike outside the counted hours leaves the headline rate untouched and shows only here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.analysis.stats import bounded_band, t_quantile
from sim.analysis.targets import MET, MISSED, NO_DATA, UNDECIDED, Target
from sim.units import DAY_S

#: The per-interval series the worst intervals are read from.
INTERVAL_METRIC = "reply_rate_5min"


@dataclass(frozen=True)
class Verdict:
    """One variant against one target: the metric's mean, its 95% interval and the status."""

    variant: str
    target: Target
    mean: float
    ci_low: float
    ci_high: float
    status: str


@dataclass(frozen=True)
class WorstInterval:
    """The interval with the lowest mean per-interval reply rate of a variant, inside the
    counted hours (`counted`) or outside them."""

    variant: str
    counted: bool
    start_s: float
    end_s: float
    mean: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Headline:
    """What a run's outputs open with; see the module docstring for the rules."""

    variants: list[str]
    targets: list[Target]
    verdicts: list[Verdict]
    overall: dict[str, str]
    cost: dict[str, tuple[float, float, float]]
    cheapest: str | None
    worst: list[WorstInterval] = field(default_factory=list)
    window: str = ""

    def verdict(self, variant: str, target: Target) -> Verdict:
        return next(v for v in self.verdicts if v.variant == variant and v.target == target)

    def worst_of(self, variant: str, counted: bool) -> WorstInterval | None:
        return next((w for w in self.worst if w.variant == variant and w.counted == counted),
                    None)

    @property
    def meeting(self) -> list[str]:
        """The variants that meet every target, in run order."""
        return [v for v in self.variants if self.targets and self.overall[v] == MET]

    @property
    def undecided(self) -> list[str]:
        return [v for v in self.variants if self.targets and self.overall[v] == UNDECIDED]

    def frame(self) -> pd.DataFrame:
        """The verdicts as a table: variant, target, metric, op, value, mean, ci_low, ci_high,
        status."""
        return pd.DataFrame([
            {"variant": v.variant, "target": str(v.target), "metric": v.target.metric,
             "op": v.target.op, "value": v.target.value, "mean": v.mean, "ci_low": v.ci_low,
             "ci_high": v.ci_high, "status": v.status}
            for v in self.verdicts],
            columns=["variant", "target", "metric", "op", "value", "mean", "ci_low", "ci_high",
                     "status"])


def headline(results, targets: list[Target] | None = None) -> Headline:
    """The headline of `results`, judged against `targets` (default: `results.targets`)."""
    targets = list(results.targets if targets is None else targets)
    summary = results.summary
    variants = list(results.variants)
    index = summary.set_index(["variant", "metric"])

    def value(variant: str, metric: str) -> tuple[float, float, float]:
        if (variant, metric) not in index.index:
            return math.nan, math.nan, math.nan
        row = index.loc[(variant, metric)]
        return float(row["mean"]), float(row["ci_low"]), float(row["ci_high"])

    verdicts, overall = [], {}
    for variant in variants:
        statuses = []
        for target in targets:
            mean, low, high = value(variant, target.metric)
            status = target.judge(mean, low, high)
            verdicts.append(Verdict(variant, target, mean, low, high, status))
            statuses.append(status)
        overall[variant] = _overall(statuses)
    cost = {variant: value(variant, "cost") for variant in variants}
    meeting = [v for v in variants if targets and overall[v] == MET]
    cheapest = min(meeting, key=lambda v: (_finite_or_inf(cost[v][0]), variants.index(v)),
                   default=None)
    window = results.scenario.metrics.pinduoduo.window
    return Headline(variants, targets, verdicts, overall, cost, cheapest,
                    worst_intervals(results.interval_runs, results.scenario, variants),
                    f"{window.start}-{window.end}")


def _overall(statuses: list[str]) -> str:
    if not statuses:
        return NO_DATA
    if MISSED in statuses:
        return MISSED
    if all(status == MET for status in statuses):
        return MET
    return UNDECIDED


def _finite_or_inf(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def interval_band(runs: pd.DataFrame, column: str = INTERVAL_METRIC, level: float = 0.95
                  ) -> pd.DataFrame:
    """Mean over replications of one variant's per-interval series and its t-interval within
    [0, 1] (a share), per interval: columns interval_start_s, interval_end_s, mean, ci_low,
    ci_high, replications (those where the interval had buyers)."""
    grouped = runs.groupby(["interval_start_s", "interval_end_s"], sort=True)[column]
    frame = pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std(ddof=1),
                          "replications": grouped.count()}).reset_index()
    n = frame["replications"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.where(n > 1, frame["sd"].to_numpy(dtype=float) / np.sqrt(n), np.nan)
        t = t_quantile(0.5 + level / 2, np.maximum(n - 1, 1))
    low, high = bounded_band(frame["mean"].to_numpy(dtype=float), se, t, 0.0, 1.0)
    return frame.assign(ci_low=low, ci_high=high).drop(columns="sd")


def counted_interval(start_s: np.ndarray, scenario) -> np.ndarray:
    """Whether each interval starts inside the Pinduoduo counted hours of its day."""
    window = scenario.metrics.pinduoduo.window
    tod = np.mod(np.asarray(start_s, dtype=float), DAY_S)
    return (tod >= window.start.seconds_of_day) & (tod < window.end.seconds_of_day)


def worst_intervals(interval_runs: pd.DataFrame, scenario, variants: list[str]
                    ) -> list[WorstInterval]:
    """Per variant, the interval with the lowest mean reply rate inside the counted hours and
    the one outside them (none where a side has no interval with buyers); the earlier one
    on a tie."""
    found = []
    if interval_runs is None or interval_runs.empty or INTERVAL_METRIC not in interval_runs:
        return found
    for variant in variants:
        runs = interval_runs[interval_runs["variant"] == variant]
        if runs.empty:
            continue
        band = interval_band(runs)
        band = band[np.isfinite(band["mean"].to_numpy(dtype=float))]
        inside = counted_interval(band["interval_start_s"].to_numpy(), scenario)
        for counted in (True, False):
            side = band[inside == counted]
            if side.empty:
                continue
            row = side.sort_values(["mean", "interval_start_s"], kind="stable").iloc[0]
            found.append(WorstInterval(variant, counted, float(row["interval_start_s"]),
                                       float(row["interval_end_s"]), float(row["mean"]),
                                       float(row["ci_low"]), float(row["ci_high"])))
    return found
