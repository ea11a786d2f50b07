"""Text tables for the terminal: one helper that lines up columns, and the summary and
comparison tables the commands print."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from sim.analysis.compare import select_metrics
from sim.analysis.registry import format_difference, format_short, format_value, key_metrics
from sim.analysis.targets import MISSED
from sim.units import DAY_S


def text_table(cells: list[list[str]], align: list[str] | None = None) -> str:
    """Rows of cells as aligned columns under a rule; `align` per column: '<' (default) or '>'."""
    if not cells:
        return ""
    columns = len(cells[0])
    align = align or ["<"] * columns
    widths = [max(len(row[i]) for row in cells) for i in range(columns)]
    lines = ["  ".join(cell.rjust(w) if a == ">" else cell.ljust(w)
                       for cell, w, a in zip(row, widths, align)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_summary(summary: pd.DataFrame, preset: str = "pinduoduo",
                   first: list[str] | None = None) -> str:
    """A readable table: one row per metric, one column per variant, mean [95% CI]; the
    preset's key metrics, after the metrics in `first` (those with targets)."""
    names = list(dict.fromkeys([*(first or []), *key_metrics(preset)]))
    variants = list(dict.fromkeys(summary["variant"]))
    index = summary.set_index(["variant", "metric"])
    reps = int(summary["replications"].max()) if len(summary) else 0
    cells = [["metric"] + variants]
    for name in names:
        row = [name]
        for variant in variants:
            if (variant, name) not in index.index:
                row.append("-")
                continue
            entry = index.loc[(variant, name)]
            text = format_value(name, entry["mean"])
            if math.isfinite(entry["ci_low"]):
                text += f" [{format_value(name, entry['ci_low'])}, " \
                        f"{format_value(name, entry['ci_high'])}]"
            row.append(text)
        cells.append(row)
    lines = text_table(cells)
    return lines + f"\n(mean [95% CI] over {reps} replications; intervals kept within each " \
                   "metric's range, see docs/metrics.md)"


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
    lines = text_table(cells)
    confidence = float(comparison["confidence"].iloc[0])
    pairs = int(comparison["pairs"].max())
    note = f"(paired differences variant - baseline over {pairs} replications, " \
           f"{100 * confidence:.4g}% CI"
    if comparison["variant"].nunique() > 1:
        note += f": Bonferroni for {comparison['variant'].nunique()} comparisons"
    return lines + "\n" + note + ")"


# --- the headline -------------------------------------------------------------------------------


def interval_label(start_s: float, end_s: float, scenario) -> str:
    """An interval as a manager reads it: '11-11 00:00-00:15' on a dated horizon of several
    days, '20:00-20:30' within one day, 'day2 00:00-00:30' on an undated one."""
    horizon = scenario.horizon
    multi_day = horizon.days > 1 or horizon.end_s > DAY_S

    def clock(seconds: float, end: bool = False) -> tuple[int, str]:
        day, rest = divmod(round(seconds), int(DAY_S))
        if end and rest == 0 and day > 0:
            day, rest = day - 1, int(DAY_S)
        return day, f"{rest // 3600:02d}:{rest % 3600 // 60:02d}"

    day, start = clock(start_s)
    _, end = clock(end_s, end=True)
    if not multi_day:
        return f"{start}-{end}"
    if horizon.day0 is not None:
        date = horizon.day0 + dt.timedelta(days=day)
        return f"{date:%m-%d} {start}-{end}"
    return f"day{day + 1} {start}-{end}"


def format_interval_value(metric: str, mean: float, low: float, high: float) -> str:
    """'68.9% [63.0%, 74.2%]', a value with its interval in short form."""
    text = format_short(metric, mean)
    if math.isfinite(low) and math.isfinite(high):
        text += f" [{format_short(metric, low)}, {format_short(metric, high)}]"
    return text


def headline_rows(headline, scenario) -> tuple[list[list[str]], list[str]]:
    """The target table of a headline as cells (header first) and the sentences after it."""
    currency = scenario.metrics.currency
    cells = [["variant", *(t.describe() for t in headline.targets),
              *(["every target"] if headline.targets else []), f"cost ({currency})"]]
    for variant in headline.variants:
        row = [variant]
        for target in headline.targets:
            verdict = headline.verdict(variant, target)
            row.append(f"{verdict.status} " + format_interval_value(
                target.metric, verdict.mean, verdict.ci_low, verdict.ci_high))
        if headline.targets:
            row.append(headline.overall[variant])
        row.append(format_value("cost", headline.cost[variant][0]))
        cells.append(row)
    notes = [pick_sentence(headline, scenario)]
    return cells, notes


def pick_sentence(headline, scenario) -> str:
    """Which variant to pick, in one sentence."""
    if not headline.targets:
        return ("No targets set: add them to the scenario (targets: [\"reply_rate_5min>=0.95\"]) "
                "or give --target, and this says which variant meets them.")
    currency = scenario.metrics.currency
    if headline.cheapest is not None:
        mean, _low, high = headline.cost[headline.cheapest]
        others = [v for v in headline.meeting if v != headline.cheapest]
        # Another variant whose mean cost lies inside the cheapest one's interval is not
        # shown to cost more: say so rather than crown a winner by noise.
        level = [v for v in others if math.isfinite(high) and headline.cost[v][0] <= high]
        also = f"; also meeting them: {', '.join(others)}" if others else ""
        if level:
            costs = "s are" if len(level) > 1 else " is"
            also += (f"; {', '.join(level)}'s cost{costs} within {headline.cheapest}'s 95% "
                     f"interval (up to {format_value('cost', high)})")
        return (f"Cheapest variant meeting every target: {headline.cheapest} "
                f"(cost {format_value('cost', mean)} {currency}){also}.")
    blocking = [t.describe() for t in headline.targets
                if all(headline.verdict(v, t).status == MISSED for v in headline.variants)]
    by_all = (f" {', '.join(blocking)}: missed by every variant." if blocking else "")
    if headline.undecided:
        return ("No variant meets every target with 95% confidence; undecided (an interval "
                f"straddles a target, more replications would tell): "
                f"{', '.join(headline.undecided)}.{by_all}")
    return "No variant meets every target." + by_all


def worst_rows(headline, scenario) -> list[list[str]]:
    """The worst-interval table of a headline as cells (header first)."""
    cells = [["variant", f"worst interval in counted hours ({headline.window})",
              "worst interval outside counted hours"]]
    for variant in headline.variants:
        row = [variant]
        for counted in (True, False):
            worst = headline.worst_of(variant, counted)
            if worst is None:
                row.append("-")
                continue
            row.append(f"{interval_label(worst.start_s, worst.end_s, scenario)}: "
                       + format_interval_value("reply_rate_5min", worst.mean, worst.ci_low,
                                               worst.ci_high))
        cells.append(row)
    return cells


def format_headline(headline, scenario, replications: int, source: str = "") -> str:
    """The headline for the terminal: targets met, missed or undecided per variant, which
    variant to pick, and the worst interval inside and outside the counted hours."""
    parts = []
    title = f"headline: {replications} replications, targets judged on the 95% interval"
    if source:
        title += f" (targets from {source})"
    parts.append(title)
    cells, notes = headline_rows(headline, scenario)
    parts.append(text_table(cells))
    parts.extend(notes)
    if headline.worst:
        parts.append("")
        parts.append(text_table(worst_rows(headline, scenario)))
        parts.append("(5-min reply rate of the buyers arriving in each interval, whole-day rule, "
                     "mean [95% CI])")
    return "\n".join(parts)
