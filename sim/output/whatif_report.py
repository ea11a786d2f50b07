"""The what-if's HTML page: the desk now, the actions at a glance (reply rate, queue cleared,
cost), the reply rate by 5-minute interval from now, the summary and comparison tables.

Self-contained like `report.html` (its styles, PNG embedded as a data URI, nothing loaded from
the network); it reads a `sim.tools.whatif.WhatIf` and never simulates.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from sim import __version__
from sim.analysis import registry
from sim.output.files import atomic_write_text
from sim.output.plots import LINE_STYLES, font_family
from sim.output.report import CSS, comparison_table, figure_png, metrics_table
from sim.units import format_clock, format_duration

REPORT_NAME = "whatif_report.html"


def write_whatif_report(result, out_dir: Path) -> list[Path]:
    """Write `whatif_report.html` into `out_dir`; returns the path written."""
    path = Path(out_dir) / REPORT_NAME
    atomic_write_text(path, render_whatif_html(result, figure_png(reply_rate_chart(result))))
    return [path]


def reply_rate_chart(result) -> Figure:
    """The 5-minute reply rate by 5-minute interval from now, per variant, with 95% bands."""
    frame = result.reply_by_interval
    fig = Figure(figsize=(9.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.set_prop_cycle(None)
    for k, variant in enumerate(result.results.variants):
        rows = frame[frame["variant"] == variant].sort_values("interval_start_s")
        minutes = (rows["interval_start_s"].to_numpy() - result.time_s) / 60.0
        mean = rows["mean"].to_numpy()
        line, = ax.plot(minutes, mean, drawstyle="steps-post", label=variant,
                        ls=LINE_STYLES[k % len(LINE_STYLES)])
        ax.fill_between(minutes, rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy(),
                        step="post", color=line.get_color(), alpha=0.15, lw=0)
    lowest = float(np.nanmin(np.r_[frame["mean"].to_numpy(dtype=float), 1.0]))
    ax.set_ylim(max(0.0, math.floor(10 * lowest - 0.5) / 10), 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(f"minutes from {format_clock(result.time_s, result.scenario.horizon.day0)}")
    ax.set_ylabel("buyers answered within 5 min (%)")
    ax.set_title("5-minute reply rate by 5-minute interval from now (95% band)",
                 fontfamily=font_family())
    ax.grid(alpha=0.3)
    ax.legend(title="variant", loc="lower right")
    return fig


def render_whatif_html(result, png: bytes) -> str:
    """The page as one HTML string with the chart embedded."""
    esc = html.escape
    scenario = result.scenario
    summary = result.results.summary
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        (f"<title>{esc(scenario.name)}: what-if from "
        f"{esc(format_clock(result.time_s, scenario.horizon.day0))}</title>"),
        f"<style>{CSS}</style></head><body>",
        (f"<h1>{esc(scenario.name)}: what if, from "
        f"{esc(format_clock(result.time_s, scenario.horizon.day0))}</h1>"),
        (f'<p class="meta">{esc(result.window)} &middot; {result.results.replications} '
        "replications per variant &middot; common random numbers (every variant resumes the "
        "same desk and meets the same later buyers) &middot; supportsim "
        f"{esc(__version__)}</p>"),
        ('<nav><a href="#headline">Actions at a glance</a><a href="#desk">The desk now</a>'
        '<a href="#reply">Reply rate from now</a><a href="#metrics">Key metrics</a>'
        '<a href="#comparison">Comparison</a></nav>'),
    ]
    parts.append(glance_html(result))
    parts.append('<h2 id="desk">The desk now</h2><table><tbody>')
    for what, value in result.desk:
        parts.append(f'<tr><td class="name">{esc(what)}</td><td class="name">{esc(value)}'
                     "</td></tr>")
    parts.append("</tbody></table>")
    data = base64.b64encode(png).decode("ascii")
    parts.append('<h2 id="reply">Reply rate from now</h2>')
    parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="5-minute reply rate '
                 'by 5-minute interval from now"><figcaption>Share of buyers whose messages '
                 "sent in each 5 minutes (those waiting now in the first) were all answered "
                 "within 5 minutes; mean and bounded 95% interval over replications."
                 "</figcaption></figure>")
    preset = scenario.metrics.preset
    defined = [m for m in dict.fromkeys(["reply_rate_5min_allday", *registry.key_metrics(preset)])
               if summary[summary["metric"] == m]["mean"].notna().any()]
    parts.append('<h2 id="metrics">Key metrics over the window</h2>')
    parts.append("<p>Mean and 95% interval over replications, of the conversations open now "
                 "and those arriving in the window; hours and cost count from now.</p>")
    parts.append(metrics_table(summary, defined, scenario))
    if result.comparison is not None:
        comparison = result.comparison[result.comparison["difference"].notna()]
        parts.append('<h2 id="comparison">Comparison with the baseline</h2>')
        parts.append("<p>Paired difference variant &minus; baseline, replication by "
                     "replication, with its Bonferroni-corrected interval.</p>")
        parts.append(comparison_table(comparison, defined))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def glance_html(result) -> str:
    """The what-if's headline: per variant the window's reply rate, when the queue is back
    under the threshold, and the action's cost."""
    esc = html.escape
    scenario = result.scenario
    summary = result.results.summary.set_index(["variant", "metric"])
    clear = result.queue_clear.set_index("variant")
    costs = result.costs.set_index("variant")
    currency = esc(scenario.metrics.currency)
    rows = ['<section id="headline"><h2>Actions at a glance</h2>',
            (f"<p>{int(result.queue_clear['queue_now'].iloc[0])} buyers wait for an agent now. "
            f"The queue counts as cleared once fewer than {result.queue_below} wait for 5 "
            "minutes.</p>"),
            ('<table class="headline"><thead><tr><th class="name">variant</th>'
            "<th>5-min reply rate over the window</th>"
            f"<th>queue under {result.queue_below} after</th><th>cost ({currency})</th>"
            f"<th>cost of the action ({currency})</th></tr></thead><tbody>")]
    best, best_rate = None, -1.0
    for variant in result.results.variants:
        entry = summary.loc[(variant, "reply_rate_5min_allday")]
        rate = registry.format_value("reply_rate_5min_allday", entry["mean"])
        if math.isfinite(entry["ci_low"]):
            rate += (f" [{registry.format_value('reply_rate_5min_allday', entry['ci_low'])}, "
                     f"{registry.format_value('reply_rate_5min_allday', entry['ci_high'])}]")
        if entry["mean"] > best_rate:
            best, best_rate = variant, entry["mean"]
        c = clear.loc[variant]
        cleared = format_duration(c["mean_s"]) if math.isfinite(c["mean_s"]) else "-"
        if math.isfinite(c["ci_low_s"]):
            cleared += f" [{format_duration(c['ci_low_s'])}, {format_duration(c['ci_high_s'])}]"
        if c["cleared"] < c["replications"]:
            cleared = f"&ge; {esc(cleared)} ({c['cleared']}/{c['replications']} cleared)"
        else:
            cleared = esc(cleared)
        cost = costs.loc[variant]
        extra = "-"
        if variant != result.baseline:
            extra = registry.format_difference("cost", cost["extra_cost"])
            if math.isfinite(cost["extra_ci_low"]):
                extra += (f" [{registry.format_difference('cost', cost['extra_ci_low'])}, "
                          f"{registry.format_difference('cost', cost['extra_ci_high'])}]")
        rows.append(f'<tr><td class="name">{esc(variant)}</td><td>{esc(rate)}</td>'
                    f"<td>{cleared}</td><td>{esc(registry.format_value('cost', cost['cost']))}"
                    f"</td><td>{esc(extra)}</td></tr>")
    rows.append("</tbody></table>")
    if best is not None:
        rows.append(f'<p class="pick">Highest 5-minute reply rate over the window: '
                    f"{esc(best)}.</p>")
    rows.append("</section>")
    return "\n".join(rows)
