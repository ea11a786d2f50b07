"""Plots of a run's results: one function per plot, each taking `Results` and returning a Figure.

They read results only and never simulate. Figures are plain `matplotlib.figure.Figure`
objects (no pyplot state), drawn by the Agg renderer when saved, and displayed inline by
Jupyter when returned from a cell::

    from sim.output import plots
    plots.first_response_cdf(results)

Chinese names (groups, variants) need a font with the glyphs: the first installed one of
`CJK_FONTS` is used as a fallback behind DejaVu Sans; without one the plots still draw,
with empty boxes for the missing glyphs.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special

from sim.analysis import compare, registry
from sim.analysis.stats import bounded_band, metric_bounds, metric_interval
from sim.units import DAY_S

if TYPE_CHECKING:  # for annotations only: matplotlib is imported on first use
    from matplotlib.figure import Figure

#: Fonts with Chinese glyphs, in order of preference (Linux, macOS, Windows names).
CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "PingFang SC",
    "Heiti SC", "Hiragino Sans GB", "Microsoft YaHei", "SimHei", "AR PL UMing CN",
    "Noto Sans CJK JP", "Noto Sans CJK TC",
)
#: Wait thresholds marked on the wait distributions: 30 s answer, Taobao 3 min, Pinduoduo 5 min.
THRESHOLDS_S = (30.0, 180.0, 300.0)
BETTER_COLOUR, WORSE_COLOUR, NEUTRAL_COLOUR = "#1a9850", "#d73027", "#777777"
#: Targets are drawn in black, dash-dotted, so they never pass for a variant or a threshold.
TARGET_STYLE = {"color": "black", "ls": (0, (6, 2, 1, 2)), "lw": 1.3, "zorder": 5}
#: Line styles per variant, in order: where variants' lines coincide, the later (thinner,
#: dashed) ones are drawn on top of the earlier and stay visible.
LINE_STYLES = ("-", (0, (5, 2)), (0, (1, 1.5)), (0, (8, 2, 2, 2)), (0, (3, 1, 1, 1, 1, 1)))


def _ticker():
    """matplotlib.ticker, imported on first use: importing this module does not import
    matplotlib, so a process that only names or describes plots (the report's parent process
    when the plots are drawn by workers) never loads it."""
    import matplotlib.ticker

    return matplotlib.ticker


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Name of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager

    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def font_family() -> list[str]:
    """Latin text in DejaVu Sans, Chinese glyphs from the CJK font when there is one."""
    return ["DejaVu Sans"] + ([cjk_font()] if cjk_font() else [])


@contextmanager
def figure_style():
    """The look of every figure: fonts (with a CJK fallback when one is installed), sizes,
    grid. Font properties are fixed when a text is created, so figures built here keep the
    fallback font even when drawn later (in a notebook or by savefig)."""
    import matplotlib

    with matplotlib.rc_context({
        "font.family": font_family(),
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.fontsize": 8,
        "legend.frameon": False,
    }):
        yield


#: Counted intervals more agents cannot bring to the target, in staffing and roster plots.
BEYOND_COLOUR = "#fdae61"
BEYOND_LABEL = "more agents cannot reach the target"


def shading_label(uncounted: bool, beyond: bool) -> str:
    """The x-axis label of a plot that shades uncounted intervals grey and marks intervals
    more agents cannot help in orange: it names only the shading that is there."""
    where = "intervals the target does not count"
    if beyond:
        orange = f"orange: counted, but {BEYOND_LABEL}"
        parts = [f"grey: {where}", orange] if uncounted else [orange]
        return f"time ({'; '.join(parts)})"
    return f"time (shaded: {where})" if uncounted else "time"


def warm_up() -> None:
    """Load what drawing the first figure loads (matplotlib, its Agg canvas, the fonts,
    with the CJK fallback looked up), without drawing anything kept: a worker does it while
    it would otherwise wait (`sim.parallel.Executor.prepare`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    _ticker()
    with figure_style():
        figure = new_figure(1.0, 1.0)
        figure.add_subplot().set_title("0")
        FigureCanvasAgg(figure).draw()


def new_figure(width: float = 8.0, height: float = 4.5) -> Figure:
    """A figure of the given size in inches (100 dpi, constrained layout), not tied to pyplot."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _colours(results) -> dict[str, str]:
    import matplotlib

    cycle = matplotlib.color_sequences["tab10"]
    return {name: cycle[i % len(cycle)] for i, name in enumerate(results.variants)}


def _line_style(results, variant: str) -> dict:
    """Colour, dash pattern and width of a variant's line: each later variant thinner and
    dashed, so lines that lie on top of each other remain distinguishable."""
    order = list(results.variants).index(variant)
    return {"color": _colours(results)[variant], "ls": LINE_STYLES[order % len(LINE_STYLES)],
            "lw": max(2.8 - 0.5 * order, 1.0), "zorder": 3 + order}


def _targets(results, *metrics: str) -> list:
    """The run's targets on any of `metrics`."""
    return [t for t in getattr(results, "targets", []) if t.metric in metrics]


def _target_text(target) -> str:
    return f"target {target.op} {registry.format_value(target.metric, target.value)}" \
           f" ({target.metric})"


def _unit(results, metric: str) -> str:
    return registry.unit_label(metric, results.scenario)


def _title(results, text: str) -> str:
    return f"{results.scenario.name}: {text}"


# --- time axes ----------------------------------------------------------------------------


def _time_axis(ax, scenario) -> None:
    """Ticks at readable clock times; dates (or day numbers) when the horizon spans days."""
    span_s = scenario.horizon.end_s - scenario.horizon.start_s
    step_h = 1 if span_s <= 8 * 3600 else 2 if span_s <= DAY_S else 6 if span_s <= 3 * DAY_S else 24
    day0 = scenario.horizon.day0
    multi_day = span_s > DAY_S or scenario.horizon.end_s > DAY_S

    def label(seconds: float, _position=None) -> str:
        day, rest = divmod(round(seconds), int(DAY_S))
        clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}"
        if not multi_day:
            return "24:00" if day == 1 and rest == 0 else clock
        if day0 is not None:
            return f"{(day0 + dt.timedelta(days=day)).strftime('%m-%d')}\n{clock}"
        return f"day {day + 1}\n{clock}"

    ax.xaxis.set_major_locator(_ticker().MultipleLocator(step_h * 3600))
    ax.xaxis.set_major_formatter(_ticker().FuncFormatter(label))
    ax.set_xlim(scenario.horizon.start_s, scenario.horizon.end_s)
    ax.set_xlabel("date and time" if multi_day else "time of day")


def _band(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean and 95% t-interval over replications of an interval series, per interval, kept
    within the metric's range (a rate within [0, 1]; `sim.analysis.stats.bounded_band`)."""
    grouped = frame.groupby("interval_start_s", sort=True)[column]
    mean, sd, n = grouped.mean(), grouped.std(ddof=1), grouped.count()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = special.stdtrit(np.maximum(n - 1, 1).to_numpy(), 0.975)  # t.ppf(0.975, df)
        se = (sd / np.sqrt(n)).where(n > 1)
    low, high = bounded_band(mean.to_numpy(), se.to_numpy(), t, *metric_bounds(column))
    return pd.DataFrame({"mean": mean, "low": low, "high": high}, index=mean.index)


def _steps(x: np.ndarray, *ys: np.ndarray, end: float):
    """Interval values as steps: each value held from its interval's start to the next."""
    edges = np.r_[x, end]
    return (edges, *(np.r_[y, y[-1]] for y in ys))


# --- wait distributions -------------------------------------------------------------------


def _wait_cdf(results, quantity: str, what: str, denominator: str) -> Figure:
    cdf = results.wait_cdf(quantity)
    colours = _colours(results)
    with figure_style():
        fig = new_figure()
        ax = fig.add_subplot()
        # Show up to where the slowest variant has (almost) all of its answers, but at least
        # 6 min so the 5-minute mark is always in view and at most 2 h.
        x_max_s = 360.0
        for variant, frame in cdf.groupby("variant", sort=False):
            share = frame["share"].to_numpy()
            final = np.nanmax(share) if np.isfinite(share).any() else 0.0
            reached = frame["wait_s"].to_numpy()[share >= 0.995 * final]
            if len(reached):
                x_max_s = max(x_max_s, float(reached[0]) * 1.1)
        x_max_s = min(x_max_s, 7200.0)
        for variant in results.variants:
            frame = cdf[cdf["variant"] == variant]
            minutes = frame["wait_s"].to_numpy() / 60
            ax.plot(minutes, frame["share"], label=variant, drawstyle="steps-post",
                    **_line_style(results, variant))
            if frame["ci_low"].notna().any():
                ax.fill_between(minutes, frame["ci_low"], frame["ci_high"], step="post",
                                color=colours[variant], alpha=0.2, lw=0)
        for threshold, name in zip(THRESHOLDS_S, ("30 s", "3 min", "5 min")):
            ax.axvline(threshold / 60, color="black", ls="--", lw=0.8, alpha=0.7)
            # Labelled at the foot of the line, where the curves rarely are.
            ax.annotate(name, (threshold / 60, 0.0), xytext=(3, 4),
                        textcoords="offset points", fontsize=8)
        if quantity == "first_response":
            # first_response_30s_rate is this curve's height at its threshold.
            at_s = results.scenario.metrics.first_response_threshold
            for target in _targets(results, "first_response_30s_rate"):
                ax.plot([0, at_s / 60], [target.value, target.value], **TARGET_STYLE,
                        label=_target_text(target))
                ax.plot([at_s / 60], [target.value], marker="D", color="black", ms=5,
                        zorder=6)
        ax.set_xlim(0, x_max_s / 60)
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(_ticker().PercentFormatter(1.0))
        ax.set_xlabel(f"{what} (minutes)")
        ax.set_ylabel(f"share of {denominator} answered within (%)")
        ax.set_title(_title(results, f"{what}: empirical distribution "
                                     f"(mean of {results.replications} replications, 95% band)"))
        ax.legend(title="variant", loc="lower right")
    return fig


def first_response_cdf(results) -> Figure:
    """Share of buyers whose first message was answered within t, per variant."""
    return _wait_cdf(results, "first_response", "first response time", "buyers")


def message_wait_cdf(results) -> Figure:
    """Share of customer messages answered within t, per variant."""
    return _wait_cdf(results, "message_wait", "message wait", "messages")


# --- over the horizon ---------------------------------------------------------------------


def reply_rate_by_interval(results) -> Figure:
    """5-minute reply rate of the buyers arriving in each interval, per variant, with 95% bands."""
    scenario = results.scenario
    runs = results.interval_runs
    colours = _colours(results)
    end_s = scenario.horizon.end_s
    threshold_min = scenario.metrics.pinduoduo.threshold / 60
    with figure_style():
        fig = new_figure(9.0, 4.5)
        ax = fig.add_subplot()
        window = scenario.metrics.pinduoduo.window
        for day in range(scenario.horizon.days):
            # Shade the hours outside the platform's counting window.
            for start, stop in ((0.0, window.start.seconds_of_day),
                                (window.end.seconds_of_day, DAY_S)):
                if stop > start:
                    ax.axvspan(day * DAY_S + start, day * DAY_S + stop, color="0.93", lw=0,
                               zorder=0)
        lowest = 1.0
        for variant in results.variants:
            band = _band(runs[runs["variant"] == variant], "reply_rate_5min")
            x, mean, low, high = _steps(band.index.to_numpy(), band["mean"].to_numpy(),
                                        band["low"].to_numpy(), band["high"].to_numpy(), end=end_s)
            ax.plot(x, mean, drawstyle="steps-post", label=variant,
                    **_line_style(results, variant))
            ax.fill_between(x, low, high, step="post", color=colours[variant], alpha=0.15, lw=0)
            lowest = min(lowest, np.nanmin(np.r_[mean, 1.0]))
        # The per-interval rate is the whole-day rule: a target on either 5-min rate is the
        # line every interval is held to.
        levels: dict[float, list[str]] = {}
        for target in _targets(results, "reply_rate_5min", "reply_rate_5min_allday"):
            levels.setdefault(target.value, []).append(target.metric)
        for level, names in levels.items():
            text = registry.format_value("reply_rate_5min", level)
            ax.axhline(level, **TARGET_STYLE, label=f"target >= {text} ({', '.join(names)})")
            lowest = min(lowest, level)
        _time_axis(ax, scenario)
        # Zoom in when every interval does well, in steps of 10 points, so dips stay visible.
        ax.set_ylim(max(0.0, math.floor(10 * lowest - 0.5) / 10), 1.02)
        ax.yaxis.set_major_formatter(_ticker().PercentFormatter(1.0))
        ax.set_ylabel(f"buyers with no reply later than {threshold_min:g} min (%)")
        ax.set_title(_title(results, f"{threshold_min:g}-minute reply rate by arrival interval "
                                     "(95% band; grey: outside counted hours)"))
        ax.legend(title="variant", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def load_and_staffing(results) -> Figure:
    """Arrivals, agents on duty and queue length over the horizon, per variant."""
    scenario = results.scenario
    intervals = results.intervals
    end_s = scenario.horizon.end_s
    panels = (
        ("arrivals", "arrivals per hour", "conversations arriving"),
        ("agents_on_duty", "agents on duty (mean)", "agents on duty"),
        ("queue_length", "conversations waiting (mean)", "queue for an agent"),
    )
    with figure_style():
        fig = new_figure(9.0, 8.0)
        axes = fig.subplots(3, 1, sharex=True)
        for ax, (column, ylabel, title) in zip(axes, panels):
            frames = {v: intervals[intervals["variant"] == v] for v in results.variants}
            values = {v: f[column].to_numpy(dtype=float) for v, f in frames.items()}
            if column == "arrivals":
                values = {v: y * 3600 / (f["interval_end_s"] - f["interval_start_s"]).to_numpy()
                          for (v, y), f in zip(values.items(), frames.values())}
            # Variants with the same series (under common random numbers every variant sees
            # the same arrivals; most keep the same staffing) are one line naming them all,
            # so no line hides another.
            lines: list[tuple[list[str], np.ndarray]] = []
            for variant, y in values.items():
                for names, shared in lines:
                    if len(shared) == len(y) and np.allclose(shared, y, equal_nan=True):
                        names.append(variant)
                        break
                else:
                    lines.append(([variant], y))
            for names, y in lines:
                x = frames[names[0]]["interval_start_s"].to_numpy()
                if len(lines) == 1 and len(names) > 1:
                    label, style = "all variants", {"color": "black", "lw": 1.4}
                else:
                    label, style = ", ".join(names), _line_style(results, names[0])
                xs, ys = _steps(x, y, end=end_s)
                ax.plot(xs, ys, drawstyle="steps-post", label=label, **style)
            ax.set_ylabel(ylabel)
            ax.set_title(title)
            ax.set_ylim(bottom=0)
            _time_axis(ax, scenario)
            ax.legend(loc="upper left")
        fig.suptitle(_title(results, "load, staffing and queue "
                                     f"(mean of {results.replications} replications)"))
    return fig


# --- per variant --------------------------------------------------------------------------


def _wrap(text: str, width: int = 34) -> str:
    """A panel title on up to two lines."""
    if len(text) <= width or ", " not in text:
        return text
    head, _, tail = text.rpartition(", ")
    return f"{head},\n{tail}"


def _interval(results, variant: str, metric: str) -> tuple[float, float, float]:
    """Mean and 95% interval within the metric's range, as in the summary."""
    frame = results.per_replication
    values = frame.loc[frame["variant"] == variant, metric].to_numpy(dtype=float)
    return metric_interval(metric, values)


def _whisker(mean: float, low: float, high: float) -> tuple[float, float]:
    if not math.isfinite(low):
        return 0.0, 0.0
    return mean - low, high - mean


def occupancy_chart(results) -> Figure:
    """Occupancy (typing time over time on duty) per agent group and variant, 95% CIs."""
    family = registry.FAMILIES["occupancy_<group>"]
    by_column = {c: family.parameter(c) for c in results.per_replication.columns}
    columns = [c for c, group in by_column.items() if group is not None]
    groups = [by_column[c] for c in columns] + ["all groups"]
    columns = columns + ["occupancy"]
    variants = list(results.variants)
    colours = _colours(results)
    width = 0.8 / len(variants)
    with figure_style():
        fig = new_figure(max(6.0, 1.2 + 1.3 * len(groups) * max(1, len(variants) / 2)), 4.5)
        ax = fig.add_subplot()
        x = np.arange(len(groups))
        for i, variant in enumerate(variants):
            cells = [_interval(results, variant, column) for column in columns]
            means = [c[0] for c in cells]
            errors = np.array([_whisker(*c) for c in cells]).T
            ax.bar(x + (i - (len(variants) - 1) / 2) * width, means, width * 0.95,
                   yerr=errors, capsize=3, color=colours[variant], label=variant,
                   error_kw={"lw": 1})
        for target in _targets(results, "occupancy"):
            ax.axhline(target.value, **TARGET_STYLE, label=_target_text(target))
        ax.set_xticks(x, groups)
        ax.set_ylim(0, 1.0)
        ax.yaxis.set_major_formatter(_ticker().PercentFormatter(1.0))
        ax.set_xlabel("agent group")
        ax.set_ylabel("occupancy: typing time / time on duty (%)")
        ax.set_title(_title(results, "occupancy per group (95% CI)"))
        ax.legend(title="variant", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _metric_axis(axis, metric: str, results=None) -> str:
    """Formats an axis (ax.xaxis or ax.yaxis) for a metric's unit and returns the unit for the
    label (money in the scenario's currency)."""
    unit = registry.unit(metric)
    if unit.percent:
        # Few ticks, without trailing zeros (95%, 97.5%), so a narrow axis stays readable.
        axis.set_major_locator(_ticker().MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        axis.set_major_formatter(_ticker().FuncFormatter(
            lambda v, _p: f"{100 * v:.2f}".rstrip("0").rstrip(".") + "%"))
    elif unit.name != "seconds":
        axis.set_major_formatter(_ticker().FuncFormatter(
            lambda v, _p: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}"))
    return registry.unit_label(metric, results.scenario) if results is not None else unit.axis


def _fit_limits(get, set_, metric: str, values: list[float]) -> None:
    """Axis limits that keep every value (and target) in view: a share zoomed but within
    [0, 1]; a count, time or cost from zero, so a 0.1% difference does not look large."""
    lower, upper = metric_bounds(metric)
    low, high = get()
    finite = [v for v in values if math.isfinite(v)]
    if registry.unit(metric).percent:
        if finite:
            pad = 0.08 * ((max(finite) - min(finite)) or 0.01)
            low, high = min(low, min(finite) - pad), max(high, max(finite) + pad)
        set_(max(low, lower), min(high, upper + 0.005))
    else:
        # From zero: pad in proportion to the axis, so the largest value is not on its edge.
        if finite:
            high = max(high, max(finite) * 1.1)
        set_(lower if math.isfinite(lower) else low, high)


def _key_panel_metrics(results) -> list[str]:
    """The targeted metrics, then the preset's headline rate, the whole-day 5-minute rate, the
    first response, abandonment, cost and lost orders: six panels or one per target."""
    preset = results.scenario.metrics.preset
    targeted = [t.metric for t in getattr(results, "targets", [])]
    wanted = [*targeted, registry.headline(preset), "reply_rate_5min", "reply_rate_5min_allday",
              "first_response_mean_s", "abandon_rate", "cost", "lost_orders"]
    present = set(results.per_replication.columns)
    chosen = [m for m in dict.fromkeys(wanted) if m in present]
    return chosen[:max(6, len(dict.fromkeys(targeted)))]


def key_metrics_chart(results) -> Figure:
    """The key metrics per variant: mean with 95% CI whiskers, one panel per metric."""
    metrics = _key_panel_metrics(results)
    variants = list(results.variants)
    colours = _colours(results)
    ncols = 3
    nrows = math.ceil(len(metrics) / ncols)
    with figure_style():
        fig = new_figure(10.0, 1.2 + nrows * (0.9 + 0.35 * len(variants)))
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        y = np.arange(len(variants))[::-1]
        for ax, metric in zip(axes, metrics):
            shown = []
            for yi, variant in zip(y, variants):
                mean, low, high = _interval(results, variant, metric)
                err = np.array(_whisker(mean, low, high)).reshape(2, 1)
                ax.errorbar([mean], [yi], xerr=err, fmt="o", color=colours[variant], capsize=4)
                shown += [mean, low, high]
            for target in _targets(results, metric):
                ax.axvline(target.value, **TARGET_STYLE, label=_target_text(target))
                shown.append(target.value)
            ax.set_yticks(y, variants)
            ax.set_ylim(-0.6, len(variants) - 0.4)
            ax.margins(x=0.15)
            _fit_limits(ax.get_xlim, ax.set_xlim, metric, shown)
            unit = _metric_axis(ax.xaxis, metric, results)
            ax.set_xlabel(f"{metric} ({unit})")
            ax.set_ylabel("variant")
            ax.set_title(_wrap(registry.describe(metric, results.scenario)))
            if _targets(results, metric):
                ax.legend(loc="best", fontsize=7)
        for ax in axes[len(metrics):]:
            ax.set_visible(False)
        fig.suptitle(_title(results, f"key metrics per variant (mean and 95% CI over "
                                     f"{results.replications} replications)"))
    return fig


def cost_vs_reply_rate(results) -> Figure:
    """Each variant's cost against its reply rate (the preset's headline rate), 95% CIs."""
    preset = results.scenario.metrics.preset
    rate = registry.headline(preset)
    colours = _colours(results)
    with figure_style():
        fig = new_figure(7.0, 5.0)
        ax = fig.add_subplot()
        costs, rates = [], []
        for variant in results.variants:
            cost = _interval(results, variant, "cost")
            reply = _interval(results, variant, rate)
            ax.errorbar([cost[0]], [reply[0]],
                        xerr=np.array(_whisker(*cost)).reshape(2, 1),
                        yerr=np.array(_whisker(*reply)).reshape(2, 1),
                        fmt="o", ms=7, capsize=4, color=colours[variant], label=variant)
            ax.annotate(variant, (cost[0], reply[0]), xytext=(6, 6), textcoords="offset points")
            costs += list(cost)
            rates += list(reply)
        for target in _targets(results, rate):
            ax.axhline(target.value, **TARGET_STYLE, label=_target_text(target))
            rates.append(target.value)
        for target in _targets(results, "cost"):
            ax.axvline(target.value, **TARGET_STYLE, label=_target_text(target))
            costs.append(target.value)
        ax.margins(0.2)
        _fit_limits(ax.get_xlim, ax.set_xlim, "cost", costs)
        _fit_limits(ax.get_ylim, ax.set_ylim, rate, rates)
        unit = _metric_axis(ax.yaxis, rate, results)
        currency = _metric_axis(ax.xaxis, "cost", results)
        ax.set_xlabel(f"cost over the horizon ({currency}; agent hours and standby), from zero")
        ax.set_ylabel(f"{registry.describe(rate, results.scenario)} ({unit})")
        ax.set_title(_title(results, "cost against reply rate (95% CI; up and left is better)"))
        ax.legend(title="variant", loc="best")
    return fig


def differences_chart(results, baseline: str | None = None,
                       comparison: pd.DataFrame | None = None) -> Figure:
    """Difference of each variant from the baseline on the key metrics, with the paired CI
    (Bonferroni-corrected for several variants) coloured by verdict."""
    if comparison is None:
        comparison = compare.compare(results, baseline)
    if comparison.empty:
        raise ValueError("differences_chart needs at least one variant besides the baseline")
    baseline = next(v for v in results.variants if v not in set(comparison["variant"]))
    metrics = [m for m in _key_panel_metrics(results) if m in set(comparison["metric"])]
    variants = list(dict.fromkeys(comparison["variant"]))
    ncols = 3
    nrows = math.ceil(len(metrics) / ncols)
    colour = {compare.BETTER: BETTER_COLOUR, compare.WORSE: WORSE_COLOUR}
    with figure_style():
        fig = new_figure(10.0, 1.4 + nrows * (0.9 + 0.35 * len(variants)))
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        y = np.arange(len(variants))[::-1]
        for ax, metric in zip(axes, metrics):
            rows = comparison[comparison["metric"] == metric].set_index("variant")
            for yi, variant in zip(y, variants):
                row = rows.loc[variant]
                err = np.array(_whisker(row["difference"], row["ci_low"], row["ci_high"]))
                ax.errorbar([row["difference"]], [yi], xerr=err.reshape(2, 1), fmt="o",
                            capsize=4, color=colour.get(row["verdict"], NEUTRAL_COLOUR))
            ax.axvline(0, color="black", lw=0.8)
            ax.set_yticks(y, variants)
            ax.set_ylim(-0.6, len(variants) - 0.4)
            ax.margins(x=0.2)
            unit = registry.unit(metric)
            axis_unit = "pp" if unit.percent else _unit(results, metric)
            if unit.percent:
                ax.xaxis.set_major_formatter(
                    _ticker().FuncFormatter(lambda v, _p: f"{100 * v:+.1f}"))
            ax.set_xlabel(f"\u0394 {metric} ({axis_unit}, difference)")
            ax.set_ylabel("variant")
            ax.set_title(registry.label(metric))
        for ax in axes[len(metrics):]:
            ax.set_visible(False)
        confidence = float(comparison["confidence"].iloc[0])
        fig.suptitle(_title(results, f"difference from {baseline} (paired, "
                                     f"{100 * confidence:.4g}% CI); green better, red worse, "
                                     "grey no significant difference"))
    return fig


#: The plots of a report, by file name (without .png), in reading order.
PLOTS = {
    "key_metrics_chart": key_metrics_chart,
    "differences_chart": differences_chart,
    "first_response_cdf": first_response_cdf,
    "message_wait_cdf": message_wait_cdf,
    "reply_rate_by_interval": reply_rate_by_interval,
    "load_and_staffing": load_and_staffing,
    "occupancy_chart": occupancy_chart,
    "cost_vs_reply_rate": cost_vs_reply_rate,
}


def all_figures(results, comparison: pd.DataFrame | None = None) -> dict[str, Figure]:
    """Every plot that applies to `results` (the differences only with variants)."""
    if comparison is None and len(results.variants) > 1:
        comparison = compare.compare(results)
    figures = {}
    for name, plot in PLOTS.items():
        if name == "differences_chart":
            if comparison is None or comparison.empty:
                continue
            figures[name] = plot(results, comparison=comparison)
        else:
            figures[name] = plot(results)
    return figures
