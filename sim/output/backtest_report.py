"""The backtest's plot (`backtest.png`: the log's reply rate and arrivals over the day against
the simulation's mean and prediction band) and its page (`backtest.html`, self-contained)."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np

from sim import __version__
from sim.analysis import registry
from sim.output import plots
from sim.output.files import atomic_write_bytes, atomic_write_text
from sim.output.report import CSS, figure_png

_SIM, _LOG = "#4c72b0", "#222222"


def figure(result):
    """Per interval: the 5-minute reply rate and the arrivals, log against simulation."""
    frame = result.intervals
    x = frame["interval_start_s"].to_numpy() / 3600.0
    end = frame["interval_end_s"].to_numpy()[-1] / 3600.0
    with plots.figure_style():
        fig = plots.new_figure(10, 5.5)
        rate, load = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
        edges = np.r_[x, end]

        def steps(values):
            return np.r_[values, values[-1:]]

        rate.fill_between(edges, steps(frame["pi_low"].to_numpy()),
                          steps(frame["pi_high"].to_numpy()), step="post", color=_SIM,
                          alpha=0.2, linewidth=0,
                          label="simulated 95% prediction interval")
        rate.step(edges, steps(frame["simulated_reply_rate_5min"].to_numpy()), where="post",
                  color=_SIM, label=f"simulated mean ({result.replications} replications)")
        rate.step(edges, steps(frame["actual_reply_rate_5min"].to_numpy()), where="post",
                  color=_LOG, linewidth=1.4, label="the log")
        misses = frame[frame["miss"]]
        rate.plot(misses["interval_start_s"] / 3600.0 + (edges[1] - edges[0]) / 2,
                  misses["actual_reply_rate_5min"], "v", color="#d73027", ms=6,
                  label="missed (family-wise 95%)")
        rate.set_ylabel("5-min reply rate")
        rate.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
        rate.legend(fontsize=7, loc="lower left")
        load.step(edges, steps(frame["simulated_arrivals"].to_numpy()), where="post",
                  color=_SIM, label="simulated arrivals (mean)")
        load.step(edges, steps(frame["actual_arrivals"].to_numpy().astype(float)),
                  where="post", color=_LOG, label="the log's arrivals")
        load.set_ylabel("conversations")
        load.set_xlabel("hours since the log's first midnight")
        load.legend(fontsize=7)
        fig.suptitle(f"Backtest of {result.scenario.name} against {Path(result.log.source).name}")
    return fig


def _cell(metric: str, value: float) -> str:
    return registry.format_value(metric, value) if math.isfinite(value) else "-"


def render(result, png: bytes) -> str:
    esc = html.escape
    verdict = ("agrees with the log on every headline rate" if result.agrees else
               "misses the log on a headline rate")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        (f"<title>backtest: {esc(result.scenario.name)}</title><style>{CSS}</style></head>"
        "<body>"),
        f"<h1>Backtest of {esc(result.scenario.name)}</h1>",
        (f'<p class="note">The scenario {esc(verdict)} (whole log, each rate inside its '
        "prediction interval at the Bonferroni level for the headline rates).</p>"),
        "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in result.notes) + "</ul>",
    ]
    if result.misses:
        parts.append("<h2>Where the model misses</h2><ul>"
                     + "".join(f"<li>{esc(m)}</li>" for m in result.misses) + "</ul>")
    data = base64.b64encode(png).decode("ascii")
    parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="backtest plot">'
                 "<figcaption>The log's 5-minute reply rate per interval (whole-day rule) "
                 "against the simulation (backtest.png)</figcaption></figure>")
    parts.append('<h2>Rates</h2><table><thead><tr><th class="name">period</th>'
                 '<th class="name">metric</th><th>simulated mean [95% CI]</th>'
                 "<th>95% prediction interval</th><th>actual</th><th>z</th>"
                 '<th class="name">agrees</th></tr></thead><tbody>')
    for row in result.table.itertuples(index=False):
        agrees = "" if row.agrees != row.agrees else ("yes" if row.agrees else "no")
        parts.append(
            f'<tr><td class="name">{esc(row.period)}</td><td class="name">{esc(row.metric)}'
            f"</td><td>{_cell(row.metric, row.simulated_mean)} [{_cell(row.metric, row.ci_low)}"
            f", {_cell(row.metric, row.ci_high)}]</td><td>[{_cell(row.metric, row.pi_low)}, "
            f"{_cell(row.metric, row.pi_high)}]</td><td>{_cell(row.metric, row.actual)}</td>"
            f"<td>{row.z:+.2f}</td><td class=\"name\">{agrees}</td></tr>")
    parts.append("</tbody></table>")
    parts.append(f'<p class="meta">supportsim {esc(__version__)}</p></body></html>')
    return "\n".join(parts) + "\n"


def write_backtest_report(result, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    png = figure_png(figure(result))
    atomic_write_bytes(out_dir / "backtest.png", png)
    atomic_write_text(out_dir / "backtest.html", render(result, png))
    return [out_dir / "backtest.png", out_dir / "backtest.html"]
