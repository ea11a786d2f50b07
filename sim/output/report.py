"""One self-contained HTML report per run: metrics, comparison, plots and the scenario.

Images are PNGs embedded as base64 data URIs and the styles are inline, so `report.html`
opens offline in any browser and can be mailed as one file. It reads results only.
"""

from __future__ import annotations

import base64
import copy
import html
import io
import math
import re
import warnings
from pathlib import Path

import pandas as pd
import yaml

from sim import __version__
from sim.analysis import compare, registry
from sim.analysis.targets import MET, MISSED, UNDECIDED
from sim.output import plots
from sim.output.files import FileJob, atomic_write_text, write_files
from sim.output.tables import format_interval_value, interval_label, pick_sentence

PLOT_DPI = 110
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

#: The report's styles, for other pages of the same look (what-if, roster, fit, backtest).
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC",
       "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2rem; }
.meta { color: #555; font-size: .9rem; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: .4rem .8rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0 1rem; }
th, td { border-bottom: 1px solid #e5e5e5; padding: .25rem .6rem; text-align: right;
         white-space: nowrap; }
th { background: #f4f4f4; }
td.name, th.name { text-align: left; }
td.better { color: #1a7a3c; font-weight: 600; }
td.worse { color: #b8231a; font-weight: 600; }
td.neutral { color: #666; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .85rem; }
pre { background: #f7f7f7; padding: .8rem; overflow-x: auto; font-size: .8rem; }
nav a { margin-right: 1rem; }
#headline { background: #f7f9fc; border: 1px solid #d8e0ec; border-radius: 6px;
            padding: .2rem 1rem .6rem; margin-top: 1rem; }
#headline h2 { border-bottom: none; margin-top: .8rem; }
td.met { color: #1a7a3c; font-weight: 600; }
td.missed { color: #b8231a; font-weight: 600; }
td.undecided { color: #a15c00; font-weight: 600; }
p.pick { font-size: 1.05rem; font-weight: 600; }
div.wide { overflow-x: auto; }
"""



def figure_png(figure, dpi: int = PLOT_DPI) -> bytes:
    """PNG bytes of a figure; a missing Chinese glyph (no CJK font) does not warn per glyph."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def write_report(results, out_dir: Path, comparison: pd.DataFrame | None = None,
                 executor=None) -> list[Path]:
    """Write `plots/*.png` and `report.html` into `out_dir`; returns the paths written.

    With `executor` (any `sim.parallel` executor) the plots are drawn on its workers, each
    plot a task (`plot_jobs`), and this process only assembles the page: the same bytes."""
    out_dir = Path(out_dir)
    if comparison is None and len(results.variants) > 1:
        comparison = compare.compare(results)
    jobs = plot_jobs(results, out_dir, comparison)
    contents = write_files(jobs, executor)
    return [*contents, write_page(results, out_dir, comparison, plot_images(jobs, contents))]


def plot_names(results, comparison: pd.DataFrame | None) -> list[str]:
    """The report's plots for `results`, in reading order (the differences only with a
    comparison)."""
    return [name for name in plots.PLOTS
            if name != "differences_chart" or (comparison is not None and not comparison.empty)]


def plot_png(results, name: str, comparison: pd.DataFrame | None = None) -> bytes:
    """The PNG of one of the report's plots (`plots.PLOTS[name]`)."""
    plot = plots.PLOTS[name]
    figure = plot(results, comparison=comparison) if name == "differences_chart" \
        else plot(results)
    return figure_png(figure)


def plot_jobs(results, out_dir: Path, comparison: pd.DataFrame | None = None) -> list[FileJob]:
    """`plots/<name>.png` of every plot of the report, as jobs for
    `sim.output.files.write_files`. The jobs carry the results without their records (the
    plots never read them), so a worker receives a few hundred kB, not the runs."""
    light = copy.copy(results)
    light.records = {}
    return [FileJob(Path(out_dir) / "plots" / f"{name}.png", plot_png, (light, name, comparison))
            for name in plot_names(results, comparison)]


def plot_images(jobs: list[FileJob], contents: dict[Path, bytes]) -> dict[str, bytes]:
    """The PNGs of `plot_jobs` that `write_files` made, by plot name, in the jobs' order."""
    return {job.path.stem: contents[job.path] for job in jobs if job.fn is plot_png}


def write_page(results, out_dir: Path, comparison: pd.DataFrame | None,
               images: dict[str, bytes]) -> Path:
    """Write `report.html` with `images` (PNG bytes by plot name) embedded; its path."""
    path = Path(out_dir) / "report.html"
    atomic_write_text(path, render_html(results, comparison, images))
    return path


def render_html(results, comparison: pd.DataFrame | None, images: dict[str, bytes]) -> str:
    """The report as one HTML string with the given PNGs embedded."""
    scenario = results.scenario
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(scenario.name)}: supportsim report</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{esc(scenario.name)}</h1>",
    ]
    if scenario.description.strip():
        parts.append(f"<p>{esc(scenario.description.strip())}</p>")
    parts.append(f'<p class="meta">{_run_facts(results)}</p>')
    if results.stopping:
        parts.append(f'<p class="note">{esc(results.stopping)}.</p>')
    if _needs_cjk(results) and plots.cjk_font() is None:
        parts.append('<p class="note">No font with Chinese glyphs was found when drawing, so '
                     "Chinese names in the plots show as boxes; install one (e.g. the "
                     "fonts-noto-cjk package) and run again.</p>")
    sections = [("headline", "Headline"), ("metrics", "Key metrics")]
    if comparison is not None and not comparison.empty:
        sections.append(("comparison", "Comparison with the baseline"))
    sections += [("plots", "Plots"), ("scenario", "Scenario")]
    parts.append("<nav>" + "".join(f'<a href="#{key}">{esc(title)}</a>'
                                   for key, title in sections) + "</nav>")

    parts.append(headline_html(results))

    preset = scenario.metrics.preset
    targeted = [t.metric for t in getattr(results, "targets", [])]
    parts.append('<h2 id="metrics">Key metrics</h2>')
    parts.append(f"<p>Mean and 95% confidence interval over {results.replications} "
                 "replications, kept within what each metric can take (a rate within 0-100%, "
                 "a count or a time at least zero; see docs/metrics.md).</p>")
    parts.append(metrics_table(results.summary,
                               list(dict.fromkeys(targeted + registry.key_metrics(preset))),
                               scenario))
    every = [m for m in dict.fromkeys(results.summary["metric"])]
    parts.append("<details><summary>All metrics</summary>"
                 + metrics_table(results.summary, every, scenario) + "</details>")

    if comparison is not None and not comparison.empty:
        confidence = float(comparison["confidence"].iloc[0])
        count = comparison["variant"].nunique()
        correction = (f", Bonferroni-corrected for {count} comparisons" if count > 1 else "")
        parts.append('<h2 id="comparison">Comparison with the baseline</h2>')
        parts.append(
            f"<p>Paired difference variant &minus; baseline, replication by replication (the "
            f"variants met the same buyers), with its {100 * confidence:.4g}% confidence "
            f"interval{correction}. A verdict is given only when the interval excludes zero; "
            "rates are in percentage points (pp).</p>")
        parts.append(comparison_table(comparison, registry.key_metrics(preset)))
        parts.append("<details><summary>All metrics</summary>"
                     + comparison_table(comparison, None) + "</details>")

    parts.append('<h2 id="plots">Plots</h2>')
    for name, png in images.items():
        caption = _caption(name)
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<figure id="plot-{esc(name)}"><img src="data:image/png;base64,{data}" '
                     f'alt="{esc(caption)}"><figcaption>{esc(caption)} '
                     f"(plots/{esc(name)}.png)</figcaption></figure>")

    parts.append('<h2 id="scenario">Scenario</h2>')
    parts.append("<p>The baseline as the simulator read it, every default filled in; each "
                 "variant overrides the fields listed under <code>variants</code>.</p>")
    document = scenario.model_dump(mode="json", by_alias=True)
    parts.append(f"<pre>{esc(_yaml(document))}</pre>")
    parts.append(f'<p class="meta">supportsim {esc(__version__)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def headline_html(results) -> str:
    """The headline section: each target met, missed or undecided per variant, which variant
    to pick, and the worst interval inside and outside the counted hours."""
    esc = html.escape
    scenario = results.scenario
    headline = results.headline()
    parts = ['<section id="headline"><h2>Headline</h2>']
    if headline.targets:
        parts.append("<p>Targets: " + ", ".join(f"<code>{esc(t.describe())}</code>"
                                                 for t in headline.targets)
                     + f". Each is <b>met</b> when its whole 95% interval over "
                     f"{results.replications} replications satisfies it, <b>missed</b> when "
                     "none of it does, <b>undecided</b> when the interval straddles it.</p>")
    currency = esc(scenario.metrics.currency)
    rows = ['<table class="headline"><thead><tr><th class="name">variant</th>']
    rows += [f"<th>{esc(t.describe())}</th>" for t in headline.targets]
    if headline.targets:
        rows.append("<th>every target</th>")
    rows.append(f"<th>cost ({currency})</th></tr></thead><tbody>")
    for variant in headline.variants:
        rows.append(f'<tr><td class="name">{esc(variant)}</td>')
        for target in headline.targets:
            verdict = headline.verdict(variant, target)
            text = format_interval_value(target.metric, verdict.mean, verdict.ci_low,
                                         verdict.ci_high)
            rows.append(f'<td class="{_status_class(verdict.status)}">{esc(verdict.status)} '
                        f"{esc(text)}</td>")
        if headline.targets:
            status = headline.overall[variant]
            rows.append(f'<td class="{_status_class(status)}">{esc(status)}</td>')
        rows.append(f"<td>{esc(registry.format_value('cost', headline.cost[variant][0]))}"
                    "</td></tr>")
    rows.append("</tbody></table>")
    parts.append("".join(rows))
    parts.append(f'<p class="pick">{esc(pick_sentence(headline, scenario))}</p>')
    if headline.worst:
        parts.append("<p>The worst intervals of the 5-minute reply rate (buyers by the interval "
                     "they arrived in, every message judged, mean and 95% interval): a spike "
                     "outside the counted hours leaves the headline rate untouched and shows "
                     "only here.</p>")
        cells = [('<table class="worst"><thead><tr><th class="name">variant</th>'
                  f"<th>worst interval in counted hours ({esc(headline.window)})</th>"
                  "<th>worst interval outside counted hours</th></tr></thead><tbody>")]
        for variant in headline.variants:
            cells.append(f'<tr><td class="name">{esc(variant)}</td>')
            for counted in (True, False):
                worst = headline.worst_of(variant, counted)
                if worst is None:
                    cells.append("<td>-</td>")
                    continue
                when = interval_label(worst.start_s, worst.end_s, scenario)
                value = format_interval_value("reply_rate_5min", worst.mean, worst.ci_low,
                                              worst.ci_high)
                cells.append(f"<td>{esc(when)}: {esc(value)}</td>")
            cells.append("</tr>")
        cells.append("</tbody></table>")
        parts.append("".join(cells))
    parts.append("</section>")
    return "\n".join(parts)


def _status_class(status: str) -> str:
    return {MET: "met", MISSED: "missed", UNDECIDED: "undecided"}.get(status, "neutral")


def metrics_table(summary: pd.DataFrame, metrics: list[str], scenario=None) -> str:
    """HTML table: one row per metric, one column per variant, mean [95% CI]; the meaning
    column names each rate's counted hours and money's currency when given the scenario."""
    esc = html.escape
    variants = list(dict.fromkeys(summary["variant"]))
    index = summary.set_index(["variant", "metric"])
    rows = ['<div class="wide"><table class="metrics"><thead><tr>'
            '<th class="name">metric</th>'
            '<th class="name">meaning</th>'
            + "".join(f"<th>{esc(v)}</th>" for v in variants) + "</tr></thead><tbody>"]
    for metric in metrics:
        if not any((v, metric) in index.index for v in variants):
            continue
        cells = []
        for variant in variants:
            if (variant, metric) not in index.index:
                cells.append("<td>-</td>")
                continue
            entry = index.loc[(variant, metric)]
            text = registry.format_value(metric, entry["mean"])
            if math.isfinite(entry["ci_low"]):
                text += (f" [{registry.format_value(metric, entry['ci_low'])}, "
                         f"{registry.format_value(metric, entry['ci_high'])}]")
            cells.append(f"<td>{esc(text)}</td>")
        meaning = registry.describe(metric, scenario)
        if scenario is not None and registry.unit(metric).name == "money":
            meaning += f" ({registry.unit_label(metric, scenario)})"
        rows.append(f'<tr><td class="name">{esc(metric)}</td>'
                    f'<td class="name">{esc(meaning)}</td>'
                    + "".join(cells) + "</tr>")
    rows.append("</tbody></table></div>")
    return "".join(rows)


def comparison_table(comparison: pd.DataFrame, metrics: list[str] | None) -> str:
    """HTML table of paired differences with verdicts, key metrics first when given."""
    esc = html.escape
    frame = compare.select_metrics(comparison, metrics)
    rows = [('<div class="wide"><table class="comparison"><thead><tr>'
             '<th class="name">variant</th>'
             '<th class="name">metric</th><th>baseline</th><th>variant</th>'
             '<th>difference</th><th>CI</th><th class="name">verdict</th></tr></thead><tbody>')]
    for row in frame.itertuples(index=False):
        interval = "-"
        if math.isfinite(row.ci_low):
            interval = (f"[{registry.format_difference(row.metric, row.ci_low)}, "
                        f"{registry.format_difference(row.metric, row.ci_high)}]")
        kind = {compare.BETTER: "better", compare.WORSE: "worse"}.get(row.verdict, "neutral")
        rows.append(
            f'<tr><td class="name">{esc(row.variant)}</td><td class="name">{esc(row.metric)}</td>'
            f"<td>{esc(registry.format_value(row.metric, row.baseline_mean))}</td>"
            f"<td>{esc(registry.format_value(row.metric, row.variant_mean))}</td>"
            f"<td>{esc(registry.format_difference(row.metric, row.difference))}</td>"
            f"<td>{esc(interval)}</td>"
            f'<td class="name {kind}">{esc(row.verdict)}</td></tr>')
    rows.append("</tbody></table></div>")
    return "".join(rows)


def _run_facts(results) -> str:
    scenario = results.scenario
    seed = scenario.seed if results.seed is None else results.seed
    streams = ("common random numbers (every variant met the same buyers)"
               if results.common_random_numbers else "independent streams per variant")
    facts = [
        f"{results.replications} replications",
        f"seed {seed}",
        f"variants: {', '.join(results.variants)}",
        streams,
        f"platform preset: {scenario.metrics.preset}",
        f"horizon {scenario.horizon.start} to {scenario.horizon.end}",
    ]
    return " &middot; ".join(html.escape(f) for f in facts)


def _caption(name: str) -> str:
    plot = plots.PLOTS.get(name)
    doc = (plot.__doc__ or name).strip() if plot else name
    return " ".join(doc.split("\n\n")[0].split())


def _needs_cjk(results) -> bool:
    scenario = results.scenario
    names = [*results.variants, *scenario.groups, *scenario.topics, scenario.name]
    return any(_CJK.search(name) for name in names)


def _yaml(document: dict) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
