"""Plots of a roster: its shifts with their breaks (Gantt-style), and coverage against the
requirement per interval. They read a roster (and the plan that checked it), never simulate.
"""

from __future__ import annotations

import datetime as dt

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

from sim.output.plots import BEYOND_COLOUR, BEYOND_LABEL, figure_style, shading_label
from sim.units import DAY_S

#: Height of one shift row in the Gantt chart, inches.
ROW_IN = 0.2
BREAK_COLOUR = "#d9d9d9"


def _time_axis(ax, edges_s: np.ndarray, day0: dt.date | None) -> None:
    span_s = edges_s[-1] - edges_s[0]
    step_h = 1 if span_s <= 8 * 3600 else 2 if span_s <= DAY_S else 6 if span_s <= 3 * DAY_S \
        else 24
    multi_day = span_s > DAY_S or edges_s[-1] > DAY_S

    def label(seconds: float, _position=None) -> str:
        day, rest = divmod(round(seconds), int(DAY_S))
        clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}"
        if not multi_day:
            return "24:00" if day == 1 and rest == 0 else clock
        if day0 is not None:
            return f"{(day0 + dt.timedelta(days=day)).strftime('%m-%d')}\n{clock}"
        return f"day {day + 1}\n{clock}"

    ax.xaxis.set_major_locator(MultipleLocator(step_h * 3600))
    ax.xaxis.set_major_formatter(FuncFormatter(label))


def gantt(roster) -> Figure:
    """The shifts of the roster, one row per shift pattern worked: on duty in colour (by kind
    of shift), breaks in grey, the number of agents at the right; the dotted lines bound the
    requirement's intervals."""
    groups = list(roster.groups)
    rows = [len(roster.groups[g].shifts) for g in groups]
    heights = [max(r, 1) * ROW_IN + 0.9 for r in rows]
    edges = roster.requirement.edges_s
    with figure_style():
        figure = Figure(figsize=(10, sum(heights) + 0.6), dpi=100, layout="constrained")
        axes = figure.subplots(len(groups), 1, squeeze=False,
                               gridspec_kw={"height_ratios": heights})[:, 0]
        cycle = matplotlib.color_sequences["tab10"]
        kinds = list(dict.fromkeys(p.kind for g in groups for p, _ in roster.groups[g].shifts))
        colour = {kind: cycle[i % len(cycle)] for i, kind in enumerate(kinds)}
        lo = min([edges[0]] + [p.start_s for g in groups for p, _ in roster.groups[g].shifts])
        hi = max([edges[-1]] + [p.end_s for g in groups for p, _ in roster.groups[g].shifts])
        for ax, group in zip(axes, groups):
            shifts = roster.groups[group].shifts
            for row, (pattern, agents) in enumerate(shifts):
                y = len(shifts) - 1 - row
                pieces = [(a, b - a) for a, b in pattern.pieces()]
                ax.broken_barh(pieces, (y - 0.35, 0.7), facecolors=colour[pattern.kind])
                pauses = [(pattern.start_s + a, b) for a, b in pattern.breaks]
                if pauses:
                    ax.broken_barh(pauses, (y - 0.35, 0.7), facecolors=BREAK_COLOUR)
                ax.text(pattern.end_s, y, f" {agents}", va="center", fontsize=7)
            for x in (edges[0], edges[-1]):
                ax.axvline(x, color="grey", ls=":", lw=1)
            ax.set_xlim(lo, hi + 0.04 * (hi - lo))
            ax.set_ylim(-0.7, max(len(shifts), 1) - 0.3)
            ax.set_yticks([])
            ax.grid(axis="y", visible=False)
            total = sum(n for _, n in shifts)
            ax.set_title(f"{group}: {total} shifts in {len(shifts)} patterns "
                         "(number of agents at the right)", loc="left")
            _time_axis(ax, np.array([lo, hi]), roster.requirement.day0)
        handles = [Patch(color=colour[k], label=k) for k in kinds]
        handles.append(Patch(color=BREAK_COLOUR, label="break"))
        axes[0].legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.02),
                       ncol=len(handles))
    return figure


def coverage(roster, plan=None) -> Figure:
    """Agents on duty per interval against the requirement: the requirement the roster was
    built from, the raised requirement of the final round (if the simulation raised it), and
    the first and final rosters; intervals the target does not count are shaded, and those
    where the final roster misses the target are marked."""
    groups = list(roster.groups)
    requirement = plan.requirement if plan is not None else roster.requirement
    edges = requirement.edges_s
    with figure_style():
        figure = Figure(figsize=(10, 3.2 * len(groups) + 0.4), dpi=100, layout="constrained")
        axes = figure.subplots(len(groups), 1, squeeze=False)[:, 0]
        for k, (ax, group) in enumerate(zip(axes, groups)):
            required = requirement.agents[group]
            ax.step(edges, np.r_[required, required[-1]], where="post", color="black", lw=1.2,
                    label="requirement")
            if plan is not None:
                raised = plan.rounds[-1].required[group]
                if np.any(raised != required):
                    ax.step(edges, np.r_[raised, raised[-1]], where="post", color="black",
                            ls="--", lw=1, label=f"raised (round {len(plan.rounds)})")
                if len(plan.rounds) > 1:
                    first = plan.first.groups[group].on_duty
                    ax.step(edges, np.r_[first, first[-1]], where="post", color="#9ecae1",
                            lw=1.2, label="on duty, first roster")
                beyond = (np.zeros_like(plan.counted[k]) if plan.beyond is None
                          else plan.beyond[k])
                for i in np.flatnonzero(~plan.counted[k] & ~beyond):
                    ax.axvspan(edges[i], edges[i + 1], color="grey", alpha=0.12, lw=0)
                for n, i in enumerate(np.flatnonzero(beyond)):
                    # Counted, and missed whatever the staffing: marked, not shaded as
                    # uncounted.
                    ax.axvspan(edges[i], edges[i + 1], color=BEYOND_COLOUR, alpha=0.3, lw=0,
                               label=BEYOND_LABEL if n == 0 else None)
                missed = np.flatnonzero(plan.rounds[-1].misses[k])
                if len(missed):
                    middle = (edges[missed] + edges[missed + 1]) / 2
                    top = roster.groups[group].on_duty[missed] + 0.5
                    ax.plot(middle, top, "x", color="#d73027", label="target missed")
            on_duty = roster.groups[group].on_duty
            ax.step(edges, np.r_[on_duty, on_duty[-1]], where="post", color="#08519c", lw=2,
                    label="on duty, final roster" if plan is not None else "on duty")
            ax.set_xlim(edges[0], edges[-1])
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(f"agents ({group})")
            _time_axis(ax, edges, requirement.day0)
        # One legend for every panel's lines (a mark may show in a later panel only).
        labelled = {}
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                labelled.setdefault(label, handle)
        axes[0].legend(labelled.values(), labelled.keys(), loc="lower left",
                       bbox_to_anchor=(0.0, 1.0), ncol=5)
        label = "time"
        if plan is not None:
            judged = plan.counted if plan.beyond is None else plan.counted | plan.beyond
            label = shading_label(not judged.all(), plan.beyond_count() > 0)
        axes[-1].set_xlabel(label)
    return figure


def figures(roster, plan=None) -> dict[str, Figure]:
    """The roster's plots by file name (without .png)."""
    return {"roster_coverage": coverage(roster, plan), "roster_shifts": gantt(roster)}
