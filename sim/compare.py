"""Paired comparison of a scenario's variants against a baseline, and `supportsim compare`.

Replication r of every variant meets the same buyers (common random numbers), so the
difference variant - baseline is formed per replication and its mean gets a t-interval. With
more than one variant the confidence level of each interval is Bonferroni-corrected, so that
all variant-vs-baseline intervals of one metric hold together with 95% confidence.
"""

from __future__ import annotations

import argparse
import math
import re

import numpy as np
import pandas as pd

from sim.stats import t_interval

COMPARISON_COLUMNS = [
    "variant", "metric", "baseline_mean", "variant_mean", "difference", "ci_low", "ci_high",
    "confidence", "pairs", "direction", "verdict",
]

BETTER, WORSE, NO_DIFFERENCE, HIGHER, LOWER = (
    "better", "worse", "no significant difference", "higher", "lower")
TOO_FEW = "too few replications"

# Which way is good, by metric name. Rates of answering in time: higher; waits, losses and
# money: lower. Anything else (volumes, occupancy, deflection, hours) describes the desk
# rather than judging it, so it gets 'higher'/'lower' instead of 'better'/'worse'.
_HIGHER_IS_BETTER = re.compile(
    r"^(reply_rate|human_reply_rate|answer_rate|taobao_response_rate|jd_answer_rate"
    r"|first_response_\d+s_rate)")
_LOWER_IS_BETTER = re.compile(
    r"(_s$|^abandon|^cost$|^lost_|^open_at_end$|^jd_offline_sessions$)")

#: Headline metrics of each platform preset (shown first).
PRESET_METRICS = {
    "pinduoduo": ["reply_rate_5min", "human_reply_rate_3min", "answer_rate_30s"],
    "taobao": ["taobao_response_rate_3min"],
    "jd": ["jd_answer_rate_30s"],
}
#: Further metrics in printed tables and the report, after the preset's.
TABLE_METRICS = [
    "first_response_30s_rate", "first_response_mean_s", "first_response_p90_s",
    "message_wait_mean_s", "message_wait_p95_s", "abandon_rate", "deflection_rate",
    "occupancy", "agent_hours", "cost", "lost_orders", "arrived",
]

#: Plain-language names for the report and plot labels.
METRIC_LABELS = {
    "reply_rate_5min": "5-min reply rate of buyers",
    "human_reply_rate_3min": "3-min human reply rate",
    "answer_rate_30s": "30-s answer rate",
    "taobao_response_rate_3min": "Taobao 3-min response rate (turns)",
    "jd_answer_rate_30s": "JD 30-s answer rate (sessions)",
    "first_response_30s_rate": "first response within 30 s",
    "first_response_mean_s": "mean first response",
    "first_response_p90_s": "90th pct first response",
    "message_wait_mean_s": "mean message wait",
    "message_wait_p95_s": "95th pct message wait",
    "abandon_rate": "abandonment rate",
    "deflection_rate": "bot deflection rate",
    "occupancy": "occupancy",
    "agent_hours": "agent hours",
    "cost": "cost",
    "lost_orders": "lost presale orders",
    "lost_gmv": "lost GMV",
    "arrived": "conversations arrived",
}


def key_metrics(preset: str = "pinduoduo") -> list[str]:
    """The metrics a table shows: the preset's headline ones, the 5-minute reply rate, the rest."""
    names = PRESET_METRICS[preset] + ["reply_rate_5min"] + TABLE_METRICS
    return list(dict.fromkeys(names))


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def direction(metric: str) -> int:
    """+1 when a higher value is better, -1 when lower is better, 0 when neither."""
    if _HIGHER_IS_BETTER.search(metric):
        return 1
    if _LOWER_IS_BETTER.search(metric):
        return -1
    return 0


def format_value(metric: str, value: float) -> str:
    """A metric's value in its unit: seconds, percent, or a plain number."""
    if not math.isfinite(value):
        return "-"
    if metric.endswith("_s"):
        return f"{value:.1f}s"
    if "rate" in metric or metric.startswith("occupancy"):
        return f"{100 * value:.2f}%"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def format_difference(metric: str, value: float) -> str:
    """A difference with its sign, rates in percentage points."""
    if not math.isfinite(value):
        return "-"
    if metric.endswith("_s"):
        return f"{value:+.1f}s"
    if "rate" in metric or metric.startswith("occupancy"):
        return f"{100 * value:+.2f}pp"
    if abs(value) >= 1000:
        return f"{value:+,.0f}"
    return f"{value:+.2f}"


def verdict(metric: str, ci_low: float, ci_high: float) -> str:
    """'better'/'worse' (or 'higher'/'lower' for neutral metrics) when the CI excludes zero."""
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return TOO_FEW
    if ci_low > 0:
        sign = 1
    elif ci_high < 0:
        sign = -1
    else:
        return NO_DIFFERENCE
    way = direction(metric)
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
            way = direction(metric)
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
                "direction": {1: "higher is better", -1: "lower is better", 0: "neutral"}[way],
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


def format_comparison(comparison: pd.DataFrame, metrics: list[str] | None = None) -> str:
    """A readable table: per variant and metric, baseline, variant, difference [CI], verdict."""
    if comparison.empty:
        return "(no variants to compare)"
    comparison = select_metrics(comparison, metrics)
    cells = [["variant", "metric", "baseline", "variant", "difference [CI]", "verdict"]]
    previous = None
    for row in comparison.itertuples(index=False):
        interval = ""
        if math.isfinite(row.ci_low):
            interval = (f" [{format_difference(row.metric, row.ci_low)}, "
                        f"{format_difference(row.metric, row.ci_high)}]")
        cells.append([
            row.variant if row.variant != previous else "",
            row.metric,
            format_value(row.metric, row.baseline_mean),
            format_value(row.metric, row.variant_mean),
            format_difference(row.metric, row.difference) + interval,
            row.verdict,
        ])
        previous = row.variant
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    confidence = float(comparison["confidence"].iloc[0])
    pairs = int(comparison["pairs"].max())
    note = f"(paired differences variant - baseline over {pairs} replications, " \
           f"{100 * confidence:.4g}% CI"
    if comparison["variant"].nunique() > 1:
        note += f": Bonferroni for {comparison['variant'].nunique()} comparisons"
    return "\n".join(lines) + "\n" + note + ")"


# --- supportsim compare ---------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from sim import cli

    cli.add_arguments(parser)
    parser.add_argument("--all-metrics", action="store_true",
                        help="print every metric, not only the key ones (the CSV has them all)")


def main(args: argparse.Namespace) -> int:
    """Run the scenario like `supportsim run`, but lead with the comparison table."""
    from sim import cli

    outcome = cli.execute(args, need_variants=True)
    preset = outcome.results.scenario.metrics.preset
    shown = None if args.all_metrics else key_metrics(preset)
    print(format_comparison(outcome.comparison, shown))
    cli.print_footer(outcome)
    return cli.EXIT_OK
