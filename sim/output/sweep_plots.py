"""Plots of a sweep summary (`sweep_summary.csv`): read results and draw, never re-simulate.

- `metric_vs_parameter`: a metric against one parameter, mean with its 95% CI band, one line
  per value of a second parameter;
- `heatmap`: the metric's mean over two parameters;
- `target_region`: where a target holds over two parameters (e.g. reply_rate_5min >= 0.95),
  with the contour of the mean and the contour where the CI bound meets the target.

Every function takes the summary as a DataFrame (as returned by `sim.tools.sweep.run_sweep` or read
back with `pandas.read_csv`) and returns a matplotlib `Figure`; `draw_all` writes PNG files.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.analysis import registry
from sim.output.files import atomic_write_bytes
from sim.scenario import BASELINE

SUMMARY_COLUMNS = ("variant", "metric", "mean", "ci_low", "ci_high", "replications")
LINE_STYLES = ("-", (0, (5, 2)), (0, (1, 1.5)), (0, (8, 2, 2, 2)), (0, (3, 1, 1, 1, 1, 1)))


def parameter_columns(summary: pd.DataFrame) -> list[str]:
    """The swept parameters: every column of the summary that is not a result column."""
    return [c for c in summary.columns if c not in SUMMARY_COLUMNS]


def select(summary: pd.DataFrame, metric: str, variant: str = BASELINE,
           fixed: dict[str, Any] | None = None) -> pd.DataFrame:
    """Rows of one metric and variant, with some parameters held at given values."""
    if metric not in set(summary["metric"]):
        raise ValueError(f"no metric {metric!r} in the summary "
                         f"(has: {', '.join(dict.fromkeys(summary['metric']))})")
    rows = summary[(summary["metric"] == metric) & (summary["variant"] == variant)]
    if rows.empty:
        raise ValueError(f"no variant {variant!r} in the summary "
                         f"(has: {', '.join(dict.fromkeys(summary['variant']))})")
    for path, value in (fixed or {}).items():
        if path not in rows.columns:
            raise ValueError(f"{path!r} is not a parameter of the summary")
        rows = rows[_equal(rows[path], value)]
    return rows


def _equal(column: pd.Series, value: Any) -> pd.Series:
    # A summary read back from CSV has numbers where the spec had numbers, but compare as
    # text too so that '08:00' or a JSON cell still matches.
    numeric = pd.to_numeric(column, errors="coerce")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and numeric.notna().all():
        return np.isclose(numeric.to_numpy(dtype=float), float(value), rtol=1e-12, atol=0)
    return column.astype(str) == str(value)


def _check_unique(rows: pd.DataFrame, keys: list[str]) -> None:
    repeated = rows.duplicated(subset=keys)
    if repeated.any():
        others = [c for c in parameter_columns(rows) if c not in keys and rows[c].nunique() > 1]
        raise ValueError(f"several rows share the same {', '.join(keys)}: "
                         f"{', '.join(others) or 'another parameter'} also varies; "
                         "hold it with fixed={...}")


def _is_numeric(values: pd.Series) -> bool:
    return bool(pd.to_numeric(values, errors="coerce").notna().all())


def _axis_values(values: pd.Series) -> tuple[np.ndarray, list, bool]:
    """Sorted distinct values, their plotting positions and whether the axis is numeric."""
    distinct = list(dict.fromkeys(values))
    if _is_numeric(values):
        distinct = sorted(distinct, key=float)
        return np.array([float(v) for v in distinct]), distinct, True
    return np.arange(len(distinct), dtype=float), distinct, False


def _format_axis(axis, metric: str) -> None:
    """Ticks in the metric's unit: percent, seconds, or plain numbers with thousands."""
    unit = registry.unit(metric)
    if unit.percent:
        axis.set_major_formatter(PercentFormatter(1.0))
    elif unit.name == "seconds":
        axis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}s" if abs(v) >= 100
                                               else f"{v:g}s"))
    else:
        axis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}" if abs(v) >= 1000
                                               else f"{v:g}"))


def parameter_label(path: str, labels: dict[str, str] | None = None) -> str:
    """A swept parameter's axis name: its `label` in the spec, else read from the path
    ('groups.presale_team.schedule.headcount.2026-11-10 23:30' is 'presale_team agents from
    2026-11-10 23:30', 'bot.deflection.presale' is 'bot deflection of presale')."""
    if labels and path in labels:
        return labels[path]
    parts = path.split(".")
    words = lambda items: " ".join(items).replace("_", " ")
    if parts[0] == "groups" and len(parts) >= 5 and parts[2:4] == ["schedule", "headcount"]:
        return f"{parts[1]} agents from {'.'.join(parts[4:])}"
    if parts[0] in ("groups", "topics") and len(parts) >= 3:
        return f"{parts[1]} {words(parts[2:])}"
    if parts[:2] == ["bot", "deflection"] and len(parts) == 3:
        return f"bot deflection of {parts[2]}"
    return words(parts)


def metric_label(metric: str, currency: str | None = None) -> str:
    """A metric's axis name: its label and unit from the registry, money in `currency`."""
    unit = registry.unit(metric)
    shown = currency if unit.name == "money" and currency else unit.axis
    return f"{registry.label(metric)} ({shown})"


def _held(fixed: dict[str, Any] | None, labels: dict[str, str] | None = None) -> str:
    held = ", ".join(f"{parameter_label(k, labels)} = {v}" for k, v in (fixed or {}).items())
    return f"\nheld at {held}" if held else ""


def _title(metric: str, variant: str, fixed: dict[str, Any] | None,
           labels: dict[str, str] | None = None) -> str:
    return f"{registry.label(metric)} ({variant})" + _held(fixed, labels)


def metric_vs_parameter(summary: pd.DataFrame, metric: str, x: str, by: str | None = None,
                        variant: str = BASELINE, fixed: dict[str, Any] | None = None,
                        target: float | None = None, labels: dict[str, str] | None = None,
                        currency: str | None = None) -> Figure:
    """A metric against parameter `x`: mean and 95% CI band, one line per value of `by`;
    axes named by `labels` (path -> name) or from the paths."""
    rows = select(summary, metric, variant, fixed)
    _check_unique(rows, [x] + ([by] if by else []))
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    ax = figure.add_subplot()
    groups = [(None, rows)] if by is None else [
        (value, rows[_equal(rows[by], value)]) for value in _axis_values(rows[by])[1]]
    numeric = _is_numeric(rows[x])
    _, ticks, _ = _axis_values(rows[x])
    for order, (value, group) in enumerate(groups):
        if numeric:
            group = group.assign(_x=pd.to_numeric(group[x])).sort_values("_x")
            xs = group["_x"].to_numpy(dtype=float)
        else:
            xs = np.array([ticks.index(v) for v in group[x]], dtype=float)
            index = np.argsort(xs)
            group, xs = group.iloc[index], xs[index]
        label = None if by is None else f"{parameter_label(by, labels)} = {value}"
        # Each later line thinner and dashed, so lines lying on top of each other still show.
        line, = ax.plot(xs, group["mean"].to_numpy(dtype=float), marker="o", label=label,
                        ls=LINE_STYLES[order % len(LINE_STYLES)], lw=max(2.6 - 0.5 * order, 1.0),
                        ms=max(7 - order, 3))
        ax.fill_between(xs, group["ci_low"].to_numpy(dtype=float),
                        group["ci_high"].to_numpy(dtype=float), color=line.get_color(),
                        alpha=0.2, linewidth=0)
    if not numeric:
        ax.set_xticks(range(len(ticks)), [str(v) for v in ticks])
    if target is not None:
        ax.axhline(target, color="black", linestyle="--", linewidth=1,
                   label=f"target {registry.format_value(metric, target)}")
    if not registry.unit(metric).percent:
        ax.set_ylim(bottom=0)  # a count, time or cost from zero: differences at their size
    ax.set_xlabel(parameter_label(x, labels))
    ax.set_ylabel(metric_label(metric, currency))
    _format_axis(ax.yaxis, metric)
    ax.set_title(_title(metric, variant, fixed, labels)
                 + "\nmean, band: 95% CI over replications", fontsize=10)
    ax.grid(alpha=0.3)
    if by is not None or target is not None:
        ax.legend(fontsize=8)
    return figure


def _grid(rows: pd.DataFrame, x: str, y: str, column: str):
    xs, x_labels, x_numeric = _axis_values(rows[x])
    ys, y_labels, y_numeric = _axis_values(rows[y])
    values = np.full((len(ys), len(xs)), np.nan)
    for _, row in rows.iterrows():
        values[y_labels.index(row[y]), x_labels.index(row[x])] = float(row[column])
    return xs, ys, x_labels, y_labels, x_numeric and y_numeric, values


def heatmap(summary: pd.DataFrame, metric: str, x: str, y: str, variant: str = BASELINE,
            fixed: dict[str, Any] | None = None, labels: dict[str, str] | None = None,
            currency: str | None = None) -> Figure:
    """The metric's mean over two parameters, one cell per point, values written in the
    metric's unit (95.1%, 12.3s, 30,712)."""
    rows = select(summary, metric, variant, fixed)
    _check_unique(rows, [x, y])
    _, _, x_labels, y_labels, _, means = _grid(rows, x, y, "mean")
    figure = Figure(figsize=(1.2 + 0.9 * max(len(x_labels), 4), 1.5 + 0.6 * max(len(y_labels), 3)),
                    layout="constrained")
    ax = figure.add_subplot()
    image = ax.imshow(means, origin="lower", aspect="auto", cmap="viridis")
    bar = figure.colorbar(image, ax=ax, label=metric_label(metric, currency))
    _format_axis(bar.ax.yaxis, metric)
    if means.size <= 400:
        finite = means[np.isfinite(means)]
        middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for (i, j), value in np.ndenumerate(means):
            if math.isfinite(value):
                ax.text(j, i, registry.format_short(metric, value), ha="center", va="center",
                        fontsize=8, color="black" if value > middle else "white")
    ax.set_xticks(range(len(x_labels)), [str(v) for v in x_labels])
    ax.set_yticks(range(len(y_labels)), [str(v) for v in y_labels])
    ax.set_xlabel(parameter_label(x, labels))
    ax.set_ylabel(parameter_label(y, labels))
    ax.set_title("mean " + _title(metric, variant, fixed, labels), fontsize=10)
    return figure


def target_region(summary: pd.DataFrame, metric: str, level: float, x: str, y: str,
                  direction: str | None = None, variant: str = BASELINE,
                  fixed: dict[str, Any] | None = None,
                  labels: dict[str, str] | None = None) -> Figure:
    """Where `metric` meets `level` over two parameters (`direction` at_least or at_most; by
    default the one the metric's registry entry says is better).

    Shaded: the mean meets the target; solid line: the contour mean = level; dashed line: the
    contour where the 95% CI bound (ci_low for at_least, ci_high for at_most) meets it, i.e.
    the region where the target holds with confidence. Dots: the points run (filled = met).
    With a non-numeric parameter (e.g. routing.mode) only the dots are drawn.
    """
    if direction is None:
        direction = registry.target_direction(metric)
        if direction is None:
            raise ValueError(f"{metric} is better neither higher nor lower: give direction "
                             "at_least or at_most")
    if direction not in ("at_least", "at_most"):
        raise ValueError(f"direction must be at_least or at_most, got {direction!r}")
    rows = select(summary, metric, variant, fixed)
    _check_unique(rows, [x, y])
    xs, ys, x_labels, y_labels, numeric, means = _grid(rows, x, y, "mean")
    bound = _grid(rows, x, y, "ci_low" if direction == "at_least" else "ci_high")[5]
    sign = 1.0 if direction == "at_least" else -1.0
    margin = sign * (means - level)          # >= 0 where the mean meets the target
    margin_sure = sign * (bound - level)
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    ax = figure.add_subplot()
    grid_x, grid_y = np.meshgrid(xs, ys)
    # Contours interpolate between points: meaningful only when both axes are numbers.
    if numeric and len(xs) > 1 and len(ys) > 1:
        masked = np.ma.masked_invalid(margin)
        if np.nanmax(margin) >= 0:
            ax.contourf(grid_x, grid_y, masked, levels=[0, np.inf], colors=["tab:green"],
                        alpha=0.25)
        if np.nanmin(margin) < 0 <= np.nanmax(margin):
            ax.contour(grid_x, grid_y, masked, levels=[0], colors=["tab:green"], linewidths=2)
        sure = np.ma.masked_invalid(margin_sure)
        if np.isfinite(margin_sure).any() and np.nanmin(margin_sure) < 0 <= np.nanmax(margin_sure):
            ax.contour(grid_x, grid_y, sure, levels=[0], colors=["tab:green"],
                       linestyles="dashed", linewidths=1.5)
    met = margin >= 0
    ax.scatter(grid_x[met], grid_y[met], color="tab:green", zorder=3, label="mean meets target")
    ax.scatter(grid_x[~met & np.isfinite(margin)], grid_y[~met & np.isfinite(margin)],
               facecolors="none", edgecolors="tab:red", zorder=3, label="mean misses target")
    if numeric:
        ax.plot([], [], color="tab:green", linewidth=2, label="mean = target")
        ax.plot([], [], color="tab:green", linestyle="dashed", label="95% CI bound = target")
    # Contours fill exactly the grid's box; pad it so the corner points stay visible.
    for values, set_limits in ((xs, ax.set_xlim), (ys, ax.set_ylim)):
        pad = 0.05 * (values.max() - values.min()) or 0.5
        set_limits(values.min() - pad, values.max() + pad)
    if not _is_numeric(rows[x]):
        ax.set_xticks(xs, [str(v) for v in x_labels])
    if not _is_numeric(rows[y]):
        ax.set_yticks(ys, [str(v) for v in y_labels])
    ax.set_xlabel(parameter_label(x, labels))
    ax.set_ylabel(parameter_label(y, labels))
    relation = ">=" if direction == "at_least" else "<="
    ax.set_title(f"where {metric} {relation} {registry.format_value(metric, level)} "
                 f"({variant})" + _held(fixed, labels), fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return figure


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")


def draw_all(summary: pd.DataFrame, parameters: list[str] | None, out_dir: str | Path,
             settings=None, target=None, metrics: list[str] | None = None,
             labels: dict[str, str] | None = None, currency: str | None = None) -> list[Path]:
    """Write the standard plots of a sweep as PNG files; the paths written.

    For each variant and metric (`settings.metrics`, else `metrics`, else reply_rate_5min):
    the line plot over `x` (one line per `by`), and with two parameters a heatmap; with a target, the region where it holds. `x`/`by` default to the
    first two parameters, and parameters beyond those are held at their first value.
    `settings` and `target` are a spec's `plots` and `target` sections, `labels` its axis
    names by parameter path, `currency` the base scenario's `metrics.currency`.
    """
    out_dir = Path(out_dir)
    parameters = list(parameters or parameter_columns(summary))
    if not parameters:
        return []
    x = getattr(settings, "x", None) or parameters[0]
    by = getattr(settings, "by", None) or next((p for p in parameters if p != x), None)
    fixed = dict(getattr(settings, "fixed", None) or {})
    for path in parameters:
        if path not in (x, by) and path not in fixed:
            fixed[path] = next(iter(summary[path]))
    present = list(dict.fromkeys(summary["metric"]))
    headline = "reply_rate_5min" if "reply_rate_5min" in present else present[0]
    wanted = getattr(settings, "metrics", None) or metrics or [headline]
    if target is not None and target.metric not in wanted:
        wanted = [*wanted, target.metric]
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for variant in dict.fromkeys(summary["variant"]):
        for metric in wanted:
            level = target.value if target is not None and target.metric == metric else None
            figures = [("line", metric_vs_parameter(summary, metric, x, by, variant, fixed,
                                                    target=level, labels=labels,
                                                    currency=currency))]
            if by is not None:
                figures.append(("heatmap", heatmap(summary, metric, x, by, variant, fixed,
                                                   labels=labels, currency=currency)))
                if level is not None:
                    figures.append(("target", target_region(
                        summary, metric, level, x, by, target.direction, variant, fixed,
                        labels=labels)))
            for kind, figure in figures:
                path = out_dir / f"{_slug(variant)}_{_slug(metric)}_{kind}.png"
                buffer = io.BytesIO()
                figure.savefig(buffer, format="png", dpi=110)
                atomic_write_bytes(path, buffer.getvalue())
                written.append(path)
    return written
