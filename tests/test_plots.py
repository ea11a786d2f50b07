"""Tests for sim.output.plots: every figure is labelled, draws the numbers it claims, reads results
only, and copes with Chinese names whether or not a CJK font is installed."""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

import sim.engine
import sim.experiment
from sim.experiment import run
from sim.output import plots
from sim.scenario import scenario_from_dict


def chinese_desk(variants: dict | None = None, horizon: dict | None = None) -> dict:
    """Two small groups with Chinese names (售前组 pre-sale, 售后组 after-sale)."""
    topic = {"messages": {"dist": "geometric", "mean": 3},
             "think_time": {"dist": "exponential", "mean": "40s"},
             "patience": {"dist": "exponential", "mean": "5min"}}
    group = {"concurrency": 2, "reply_time": {"dist": "lognormal", "mean": "30s", "cv": 0.7},
             "hourly_cost": 30, "schedule": {"headcount": {"09:00": 2}}}
    return {
        "name": "plot_desk",
        "horizon": horizon or {"start": "09:00", "end": "11:00", "drain": "30min"},
        "seed": 5,
        "arrivals": {"interval": "1h", "rates_per_hour": [90, 120],
                     "mix": {"售前": 0.6, "售后": 0.4}},
        "topics": {"售前": {**topic, "presale": True}, "售后": topic},
        "groups": {"售前组": {**group, "skills": ["售前"]},
                   "售后组": {**group, "skills": ["售后"]}},
        "variants": variants if variants is not None else {
            "加人": {"groups.售前组.schedule.headcount": {"09:00": 4}},
            "pooled": {"routing.mode": "pooled"},
        },
    }


@pytest.fixture(scope="module")
def results():
    return run(scenario_from_dict(chinese_desk()), replications=3)


@pytest.fixture(scope="module")
def figures(results):
    return plots.all_figures(results)


def test_every_plot_is_a_labelled_figure(figures):
    assert list(figures) == list(plots.PLOTS)  # with variants, every plot applies
    for name, figure in figures.items():
        assert isinstance(figure, Figure), name
        axes = [ax for ax in figure.axes if ax.get_visible()]
        assert axes, name
        suptitle = figure._suptitle.get_text() if figure._suptitle else ""
        for ax in axes:
            assert ax.get_xlabel().strip(), f"{name}: an axes has no x label"
            assert ax.get_ylabel().strip(), f"{name}: an axes has no y label"
            assert ax.get_title().strip() or suptitle.strip(), f"{name}: no title"
        assert "plot_desk" in (suptitle or axes[0].get_title()), name


def test_units_are_in_the_labels(figures):
    cdf = figures["first_response_cdf"].axes[0]
    assert "(minutes)" in cdf.get_xlabel() and "(%)" in cdf.get_ylabel()
    labels = [ax.get_xlabel() for ax in figures["key_metrics_chart"].axes if ax.get_visible()]
    assert any(label.endswith("_s (s)") for label in labels)
    assert any("(%)" in label for label in labels)


def test_wait_cdf_shows_the_first_response_rate_at_30_seconds(results, figures):
    # The curve's height at 30 s is the share of buyers first answered within 30 s, which
    # metrics.summarize computes separately (first_response_30s_rate).
    ax = figures["first_response_cdf"].axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    for variant in results.variants:
        x, y = lines[variant].get_data()
        at_30s = float(np.asarray(y)[np.searchsorted(np.asarray(x), 0.5)])
        rate = results.per_replication.query("variant == @variant")["first_response_30s_rate"]
        assert at_30s == pytest.approx(rate.mean(), abs=1e-6)  # float32 storage
    thresholds = sorted(line.get_xdata()[0] for line in ax.get_lines()
                        if len(set(line.get_xdata())) == 1)  # the vertical lines
    assert thresholds == pytest.approx([0.5, 3.0, 5.0])  # 30 s, 3 min, 5 min


def test_reply_rate_line_is_the_mean_over_replications(results, figures):
    ax = figures["reply_rate_by_interval"].axes[0]
    line = next(line for line in ax.get_lines() if line.get_label() == "baseline")
    x, y = (np.asarray(v, dtype=float) for v in line.get_data())
    runs = results.interval_runs.query("variant == 'baseline'")
    expected = runs.groupby("interval_start_s")["reply_rate_5min"].mean()
    for start, value in expected.items():
        assert y[np.searchsorted(x, start)] == pytest.approx(value)


def test_key_metric_whiskers_are_95_percent_t_intervals_on_the_log_scale(results, figures):
    from scipy import stats

    ax = next(ax for ax in figures["key_metrics_chart"].axes if ax.get_xlabel().startswith("cost"))
    values = results.per_replication.query("variant == 'baseline'")["cost"].to_numpy()
    # Cost is >= 0: the interval is m * exp(+-t se / m) (docs/metrics.md, Confidence intervals).
    mean = values.mean()
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    low, high = mean * math.exp(-half / mean), mean * math.exp(half / mean)
    # errorbar draws the whisker as a LineCollection segment (low, y) -> (high, y).
    segments = [seg for coll in ax.collections for seg in coll.get_segments()]
    ends = [sorted((seg[0][0], seg[1][0])) for seg in segments]
    assert any(end == pytest.approx([low, high]) for end in ends)
    # The cost axis starts at zero, so a 0.1% difference does not look large.
    assert ax.get_xlim()[0] == 0.0
    assert "(CNY)" in ax.get_xlabel()


def test_plots_read_results_only(results, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a plot re-ran the simulation")

    monkeypatch.setattr(sim.engine, "simulate", forbidden)
    monkeypatch.setattr(sim.experiment, "simulate", forbidden)
    figures = plots.all_figures(results)
    assert len(figures) == len(plots.PLOTS)


def test_one_variant_has_no_differences_plot():
    single = run(scenario_from_dict(chinese_desk(variants={})), replications=2)
    figures = plots.all_figures(single)
    assert "differences_chart" not in figures
    assert set(figures) == set(plots.PLOTS) - {"differences_chart"}
    with pytest.raises(ValueError, match="at least one variant"):
        plots.differences_chart(single)


def test_texts_carry_the_cjk_fallback_family(figures):
    # Whatever fonts this machine has, every text asks for DejaVu Sans first and then the CJK
    # font when one was found, so drawing later (notebook, savefig) still finds the glyphs.
    ax = figures["occupancy_chart"].axes[0]
    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    assert [t.get_text() for t in labels][:2] == ["售前组", "售后组"]
    for text in labels + [ax.title, ax.xaxis.label]:
        assert text.get_fontfamily() == plots.font_family()


def test_without_a_cjk_font_plots_still_draw(results, monkeypatch):
    from matplotlib import font_manager

    from sim.output.report import figure_png

    plots.cjk_font.cache_clear()
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [
        entry for entry in font_manager.fontManager.ttflist if entry.name not in plots.CJK_FONTS])
    try:
        assert plots.cjk_font() is None
        assert plots.font_family() == ["DejaVu Sans"]
        png = figure_png(plots.occupancy_chart(results))
        assert png.startswith(b"\x89PNG")
    finally:
        plots.cjk_font.cache_clear()


def test_multi_day_axis_shows_dates():
    document = chinese_desk(variants={}, horizon={
        "start": "2026-11-10 23:00", "end": "2026-11-11 01:00", "drain": "30min"})
    document["groups"]["售前组"]["schedule"] = {"headcount": {"00:00": 2}}
    document["groups"]["售后组"]["schedule"] = {"headcount": {"00:00": 2}}
    single = run(scenario_from_dict(document), replications=2)
    figure = plots.reply_rate_by_interval(single)
    ax = figure.axes[0]
    formatter = ax.xaxis.get_major_formatter()
    assert formatter(86400.0) == "11-11\n00:00"
    assert ax.get_xlabel() == "date and time"


# --- targets, axes and overlapping lines ----------------------------------------------------


@pytest.fixture(scope="module")
def targeted():
    document = chinese_desk()
    document["targets"] = ["reply_rate_5min>=0.95", "first_response_30s_rate>=0.8",
                           "cost<=100000"]
    return run(scenario_from_dict(document), replications=3)


def _target_lines(ax):
    return [line for line in ax.get_lines() if line.get_label().startswith("target")]


def test_every_plot_of_a_targeted_metric_draws_its_target(targeted):
    figures = plots.all_figures(targeted)
    reply = figures["reply_rate_by_interval"].axes[0]
    lines = _target_lines(reply)
    assert len(lines) == 1 and set(lines[0].get_ydata()) == {0.95}
    assert reply.get_ylim()[0] <= 0.95 <= reply.get_ylim()[1]
    cdf = figures["first_response_cdf"].axes[0]
    line = _target_lines(cdf)[0]
    assert list(line.get_ydata()) == [0.8, 0.8] and line.get_xdata()[-1] == 0.5  # 30 s
    panels = {ax.get_xlabel().split(" (")[0]: ax for ax in figures["key_metrics_chart"].axes
              if ax.get_visible()}
    # Targeted metrics come first, each with its line and the target inside the axis.
    assert list(panels)[:3] == ["reply_rate_5min", "first_response_30s_rate", "cost"]
    for metric, value in (("reply_rate_5min", 0.95), ("first_response_30s_rate", 0.8),
                          ("cost", 100000.0)):
        ax = panels[metric]
        assert [set(line.get_xdata()) for line in _target_lines(ax)] == [{value}]
        low, high = ax.get_xlim()
        assert low <= value <= high
    assert panels["cost"].get_xlim()[0] == 0.0
    cost_plot = figures["cost_vs_reply_rate"].axes[0]
    assert cost_plot.get_xlim()[0] == 0.0 and "(CNY;" in cost_plot.get_xlabel()
    assert any(set(line.get_ydata()) == {0.95} for line in _target_lines(cost_plot))


def test_a_share_axis_stays_within_0_and_100_percent(targeted):
    figure = plots.key_metrics_chart(targeted)
    for ax in figure.axes:
        if ax.get_visible() and "(%)" in ax.get_xlabel():
            low, high = ax.get_xlim()
            assert low >= 0.0 and high <= 1.005


def test_bands_stay_within_0_and_1(targeted):
    ax = plots.reply_rate_by_interval(targeted).axes[0]
    for band in ax.collections:
        for path in band.get_paths():
            ys = path.vertices[:, 1]
            ys = ys[np.isfinite(ys)]
            assert ys.min() >= 0.0 and ys.max() <= 1.0
    cdf = targeted.wait_cdf("first_response")
    assert cdf["ci_low"].min() >= 0.0 and cdf["ci_high"].max() <= 1.0


def test_variants_with_the_same_series_share_one_named_line(results):
    # Under common random numbers every variant sees the same arrivals: one line for all.
    # Staffing differs for 加人 only: its line is its own, the others share one.
    figure = plots.load_and_staffing(results)
    arrivals, on_duty, _queue = figure.axes
    assert [line.get_label() for line in arrivals.get_lines()] == ["all variants"]
    labels = [line.get_label() for line in on_duty.get_lines()]
    assert "加人" in labels and any("baseline" in label and "pooled" in label
                                    for label in labels)


def test_overlapping_variant_lines_differ_in_dash_and_width(results):
    ax = plots.reply_rate_by_interval(results).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    # Each later variant thinner (and drawn above), so a line under another still shows.
    widths = [lines[v].get_linewidth() for v in results.variants]
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == len(widths)
    orders = [lines[v].get_zorder() for v in results.variants]
    assert orders == sorted(orders)
    assert lines["baseline"].get_linestyle() == "-" and lines["pooled"].get_linestyle() != "-"
