"""Paired comparison of a scenario's variants against a baseline.

Replication r of every variant meets the same buyers (common random numbers), so the
difference variant - baseline is formed per replication and its mean gets a t-interval. With
more than one variant the confidence level of each interval is Bonferroni-corrected, so that
all variant-vs-baseline intervals of one metric hold together with 95% confidence.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.analysis import registry
from sim.analysis.stats import t_interval

COMPARISON_COLUMNS = [
    "variant", "metric", "baseline_mean", "variant_mean", "difference", "ci_low", "ci_high",
    "confidence", "pairs", "direction", "verdict",
]

BETTER, WORSE, NO_DIFFERENCE, HIGHER, LOWER = (
    "better", "worse", "no significant difference", "higher", "lower")
TOO_FEW = "too few replications"

#: The `direction` column, from the registry's `better` of each metric.
DIRECTION_TEXT = {"higher": "higher is better", "lower": "lower is better", "neither": "neutral"}


def verdict(metric: str, ci_low: float, ci_high: float) -> str:
    """'better'/'worse' (or 'higher'/'lower' for neutral metrics) when the CI excludes zero;
    which way is better is the metric's in `sim.analysis.registry`."""
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return TOO_FEW
    if ci_low > 0:
        sign = 1
    elif ci_high < 0:
        sign = -1
    else:
        return NO_DIFFERENCE
    way = registry.direction(metric)
    if way == 0:
        return HIGHER if sign > 0 else LOWER
    return BETTER if sign == way else WORSE


def paired_differences(per_replication: pd.DataFrame, baseline: str = "baseline",
                       metrics: list[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """Difference variant - baseline per replication for every variant and metric.

    `per_replication` has columns variant, replication and one per metric (as
    `Results.per_replication`). A pair is dropped when either value is NaN. Each interval has
    confidence 1 - (1 - level) / m for m variants compared (Bonferroni).
    """
    variants = list(dict.fromkeys(per_replication["variant"]))
    if baseline not in variants:
        raise KeyError(f"baseline {baseline!r} is not among the variants run "
                       f"({', '.join(variants)})")
    others = [v for v in variants if v != baseline]
    names = metrics or [c for c in per_replication.columns if c not in ("variant", "replication")]
    confidence = 1 - (1 - level) / max(len(others), 1)
    frames = {v: f.set_index("replication") for v, f in per_replication.groupby("variant")}
    base = frames[baseline]
    rows = []
    for variant in others:
        other = frames[variant]
        common = base.index.intersection(other.index)
        for metric in names:
            a = base.loc[common, metric].to_numpy(dtype=float)
            b = other.loc[common, metric].to_numpy(dtype=float)
            paired = np.isfinite(a) & np.isfinite(b)
            diff, low, high = t_interval(b[paired] - a[paired], confidence)
            rows.append({
                "variant": variant,
                "metric": metric,
                "baseline_mean": float(np.mean(a[paired])) if paired.any() else math.nan,
                "variant_mean": float(np.mean(b[paired])) if paired.any() else math.nan,
                "difference": diff,
                "ci_low": low,
                "ci_high": high,
                "confidence": confidence,
                "pairs": int(paired.sum()),
                "direction": DIRECTION_TEXT[registry.better(metric)],
                "verdict": verdict(metric, low, high),
            })
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def compare(results, baseline: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """`paired_differences` of a `Results` (every metric it holds). The baseline defaults to
    the variant named 'baseline', or the first variant run when that one was left out."""
    if baseline is None:
        baseline = "baseline" if "baseline" in results.variants else next(iter(results.variants))
    return paired_differences(results.per_replication, baseline, level=level)


def select_metrics(comparison: pd.DataFrame, metrics: list[str] | None) -> pd.DataFrame:
    """The rows of `metrics` only, in that order within each variant (None: all, as they are)."""
    if metrics is None:
        return comparison
    metric_order = {m: i for i, m in enumerate(metrics)}
    variant_order = {v: i for i, v in enumerate(dict.fromkeys(comparison["variant"]))}
    chosen = comparison[comparison["metric"].isin(metric_order)]
    return (
        chosen.assign(_v=chosen["variant"].map(variant_order),
                      _m=chosen["metric"].map(metric_order))
        .sort_values(["_v", "_m"], kind="stable")
        .drop(columns=["_v", "_m"])
    )
