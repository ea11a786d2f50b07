"""The fit report (`fit_report.html`): every fitted distribution drawn against what the log
showed, every parameter with its standard error, 95% interval and observations, the notes on
what was assumed, and the scenario written. One self-contained file: the plots are PNGs
embedded as data URIs, like the run report (`sim.output.report`). It reads a `Fit` only."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np
import yaml
from scipy import stats

from sim import __version__
from sim.output import plots
from sim.output.files import atomic_write_text
from sim.output.report import CSS, figure_png

DURATION_FAMILIES = ("exponential", "lognormal", "gamma")

_COLOUR_DATA, _COLOUR_FIT = "#4c72b0", "#dd5555"


def _grid(count: int, width: float = 10.0, per_row: int = 3):
    rows = max(1, math.ceil(count / per_row))
    columns = min(count, per_row) or 1
    figure = plots.new_figure(width, 2.6 * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[count:]:
        ax.set_visible(False)
    return figure, axes


def _duration_panels(fit, prefix: str, title: str):
    chosen = {path: d for path, d in fit.distributions.items()
              if path.startswith(prefix) and d.family in DURATION_FAMILIES and d.censored is None}
    if not chosen:
        return None
    with plots.figure_style():
        figure, axes = _grid(len(chosen))
        for ax, (path, fitted) in zip(axes, chosen.items()):
            sample = fitted.sample
            top = float(np.quantile(sample, 0.99)) if len(sample) else 1.0
            bins = np.linspace(0, max(top, 1.0), 40)
            ax.hist(np.clip(sample, 0, bins[-1]), bins=bins, density=True, color=_COLOUR_DATA,
                    alpha=0.55, label=f"log (n={fitted.n:,})")
            grid = np.linspace(bins[0], bins[-1], 200)[1:]
            ax.plot(grid, fitted.frozen().pdf(grid), color=_COLOUR_FIT,
                    label=_spec_text(fitted.spec()))
            ax.set_title(path.removeprefix(prefix).strip(".") or path, fontsize=9)
            ax.set_xlabel("seconds")
            ax.legend(fontsize=7)
        figure.suptitle(title)
    return figure


def _count_panels(fit):
    chosen = {path: d for path, d in fit.distributions.items() if path.endswith(".messages")}
    if not chosen:
        return None
    with plots.figure_style():
        figure, axes = _grid(len(chosen))
        for ax, (path, fitted) in zip(axes, chosen.items()):
            values, counts = np.unique(fitted.sample, return_counts=True)
            top = int(np.quantile(fitted.sample, 0.99)) + 1
            keep = values <= top
            ax.bar(values[keep], counts[keep] / counts.sum(), color=_COLOUR_DATA, alpha=0.55,
                   label=f"log (n={fitted.n:,})")
            k = np.arange(1, top + 1)
            mean = fitted.parameters["mean"].value
            if fitted.family == "geometric":
                ax.plot(k, stats.geom.pmf(k, 1 / mean), "o-", color=_COLOUR_FIT, ms=3,
                        label=f"geometric, mean {mean:.3g}")
            elif fitted.family == "poisson":
                ax.plot(k, stats.poisson.pmf(k - 1, mean - 1), "o-", color=_COLOUR_FIT, ms=3,
                        label=f"1 + Poisson, mean {mean:.3g}")
            else:
                ax.plot([], [], color=_COLOUR_FIT, label="empirical (as observed)")
            ax.set_title(path.split(".")[1], fontsize=9)
            ax.set_xlabel("customer messages per conversation")
            ax.legend(fontsize=7)
        figure.suptitle("Messages per conversation (served conversations)")
    return figure


def _patience_panels(fit):
    if not fit.survival:
        return None
    with plots.figure_style():
        figure, axes = _grid(len(fit.survival))
        for ax, (topic, km) in zip(axes, fit.survival.items()):
            ax.step(km.time_s, km.survival, where="post", color=_COLOUR_DATA,
                    label=f"Kaplan-Meier ({km.events:,} left, {km.censored:,} censored)")
            ax.fill_between(km.time_s, km.low, km.high, step="post", color=_COLOUR_DATA,
                            alpha=0.2, linewidth=0)
            fitted = fit.distributions.get(f"topics.{topic}.patience")
            if fitted is not None:
                top = float(km.time_s[-1]) if len(km.time_s) else 1.0
                grid = np.linspace(0, top, 200)
                ax.plot(grid, fitted.frozen().sf(grid), color=_COLOUR_FIT,
                        label=_spec_text(fitted.spec()))
            ax.set_ylim(0, 1.02)
            ax.set_title(topic, fontsize=9)
            ax.set_xlabel("seconds after reaching people")
            ax.set_ylabel("still waiting")
            ax.legend(fontsize=7)
        figure.suptitle("Patience: share of buyers still willing to wait")
    return figure


def _open_factor_panels(fit):
    factors = {g: f for g, f in fit.open_factors.items() if len(f.table)}
    if not factors:
        return None
    with plots.figure_style():
        figure, axes = _grid(len(factors))
        for ax, (group, factor) in zip(axes, factors.items()):
            table = factor.table
            ax.errorbar(table["open"], table["mean_s"], yerr=1.96 * table["se_s"], fmt="o",
                        color=_COLOUR_DATA, capsize=3, label="mean typing time (95% CI)")
            if factor.fitted:
                base = table.loc[table["factor"] == 1.0, "mean_s"]
                base_s = float(base.iloc[0]) if len(base) else float(table["mean_s"].iloc[0])
                levels = np.arange(1, len(factor.factors) + 1)
                ax.plot(levels, base_s * np.asarray(factor.factors), "-", color=_COLOUR_FIT,
                        label="fitted factors")
            verdict = "grows" if factor.fitted else "flat"
            ax.set_title(f"{group}: {verdict} (p = {factor.p_value:.2g})", fontsize=9)
            ax.set_xlabel("open chats when typing began")
            ax.set_ylabel("seconds")
            ax.legend(fontsize=7)
        figure.suptitle("Typing time by the chats the agent held")
    return figure


def _arrival_figure(fit):
    counts = fit.counts["count"].to_numpy()
    interval = fit.interval_s
    starts = np.arange(len(counts)) * interval
    with plots.figure_style():
        figure = plots.new_figure(10, 3.2)
        ax = figure.subplots()
        ax.step(starts / 3600, counts, where="post", color=_COLOUR_DATA,
                label=f"conversations per {interval / 60:g} min (replayed as counts_csv)")
        volume = fit.parameter("arrivals.daily_volume").value
        hourly = fit.profile["share"].to_numpy() * volume * interval / 3600
        hours = (starts % 86400) // 3600
        ax.step(starts / 3600, hourly[hours.astype(int)], where="post", color=_COLOUR_FIT,
                label="planning: hourly profile x daily volume")
        ax.set_xlabel("hours since the first midnight")
        ax.set_ylabel("conversations")
        ax.legend(fontsize=7)
        figure.suptitle("Arrivals")
    return figure


def _headcount_figure(fit):
    frame = fit.headcount
    if frame.empty:
        return None
    with plots.figure_style():
        figure = plots.new_figure(10, 3.2)
        ax = figure.subplots()
        for group, part in frame.groupby("group"):
            x = part["interval_start_s"].to_numpy() / 3600
            ax.step(x, part["agents_on_duty"], where="post", label=f"{group}: on duty")
            ax.step(x, part["headcount"], where="post", linestyle=":", label=f"{group}: fitted")
        ax.set_xlabel("hours since the first midnight")
        ax.set_ylabel("agents")
        ax.legend(fontsize=7)
        figure.suptitle("Headcount per interval (time-average on duty, and the rounded table)")
    return figure


def _spec_text(spec: dict) -> str:
    if spec["dist"] == "exponential":
        return f"exponential, mean {spec['mean']:.3g}"
    return f"{spec['dist']}, mean {spec['mean']:.3g}, cv {spec['cv']:.2g}"


def figures(fit) -> dict[str, tuple[str, object]]:
    """Every figure of the report: name -> (caption, Figure)."""
    made = {
        "arrivals": ("Conversations per interval, and the planning profile", _arrival_figure),
        "messages": ("Messages per conversation: observed against fitted", _count_panels),
        "think_times": ("Buyer think times: observed against fitted",
                        lambda f: _duration_panels(f, "topics.", "Think times")),
        "typing_times": ("Typing times from replies started at once: observed against fitted",
                         lambda f: _duration_panels(f, "groups.", "Typing times")),
        "bot_handling": ("The bot's handling time: observed against fitted",
                         lambda f: _duration_panels(f, "bot.", "Bot handling time")),
        "patience": ("Patience: Kaplan-Meier with its 95% band against the fitted survival",
                     _patience_panels),
        "open_chats": ("Typing time by open chats", _open_factor_panels),
        "headcount": ("Agents on duty per interval", _headcount_figure),
    }
    result = {}
    for name, (caption, make) in made.items():
        figure = make(fit)
        if figure is not None:
            result[name] = (caption, figure)
    return result


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.4g}"


def parameter_table(fit) -> str:
    esc = html.escape
    rows = [('<table><thead><tr><th class="name">parameter</th><th>value</th><th>SE</th>'
            '<th>95% CI</th><th>n</th><th class="name">how</th></tr></thead><tbody>')]
    for p in fit.parameters:
        interval = (f"[{_number(p.ci_low)}, {_number(p.ci_high)}]"
                    if math.isfinite(p.ci_low) else "-")
        rows.append(f'<tr><td class="name">{esc(p.path)}</td><td>{_number(p.value)}</td>'
                    f"<td>{_number(p.se)}</td><td>{esc(interval)}</td><td>{p.n:,}</td>"
                    f'<td class="name" style="white-space: normal">{esc(p.method)}</td></tr>')
    rows.append("</tbody></table>")
    return "".join(rows)


def render(fit, images: dict[str, tuple[str, bytes]]) -> str:
    esc = html.escape
    log = fit.log
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(fit.document['name'])}: supportsim fit report</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Fit of {esc(Path(log.source).name)}</h1>",
        (f'<p class="meta">{len(log.conversations):,} conversations, '
        f"{len(log.rows.frame):,} rows, {log.days[0]} to {log.days[-1]}; "
        f"{len(fit.parameters)} parameters; duty "
        f"{'inferred from activity' if log.duty_inferred else 'from the duty file'}</p>"),
        ('<nav><a href="#notes">Notes</a><a href="#plots">Plots</a>'
        '<a href="#parameters">Parameters</a><a href="#scenario">Scenario</a></nav>'),
        '<h2 id="notes">What was assumed</h2><ul>',
    ]
    parts += [f"<li>{esc(note)}</li>" for note in fit.notes]
    parts.append("</ul>")
    parts.append('<h2 id="plots">Fitted against observed</h2>')
    for name, (caption, png) in images.items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<figure id="plot-{esc(name)}"><img src="data:image/png;base64,{data}" '
                     f'alt="{esc(caption)}"><figcaption>{esc(caption)}</figcaption></figure>')
    parts.append('<h2 id="parameters">Parameters</h2>')
    parts.append("<p>Each with its standard error, 95% interval (estimate &plusmn; 1.96 SE) "
                 "and the number of observations behind it. Profile and mix shares are "
                 "binomial; means are sample means (central limit theorem), CVs by the delta "
                 "method; censored fits from the observed information.</p>")
    parts.append(parameter_table(fit))
    parts.append('<h2 id="scenario">The fitted scenario</h2>')
    document = dict(fit.document)
    parts.append(f"<pre>{esc(yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100))}</pre>")
    parts.append(f'<p class="meta">supportsim {esc(__version__)}</p></body></html>')
    return "\n".join(parts) + "\n"


def write_fit_report(fit, path: Path) -> Path:
    """Write the report to `path` (plots embedded); returns the path."""
    images = {name: (caption, figure_png(figure))
              for name, (caption, figure) in figures(fit).items()}
    atomic_write_text(Path(path), render(fit, images))
    return Path(path)
