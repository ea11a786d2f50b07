"""Text tables for the terminal: one helper that lines up columns, and the summary and
comparison tables the commands print."""

from __future__ import annotations

import math

import pandas as pd

from sim.analysis.compare import select_metrics
from sim.analysis.registry import format_difference, format_value, key_metrics


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


def format_summary(summary: pd.DataFrame, preset: str = "pinduoduo") -> str:
    """A readable table: one row per metric, one column per variant, mean [95% CI]."""
    names = key_metrics(preset)
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
    return lines + f"\n(mean [95% CI] over {reps} replications)"


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
