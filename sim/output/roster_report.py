"""The roster report: one self-contained HTML file (roster.html) with whether the target is
met, the rounds, the cost against the headcount table, the shifts and the plots, embedded as
PNG like `sim.output.report`. It reads a roster and its plan, never simulates."""

from __future__ import annotations

import base64
import html
import math

import yaml

from sim import __version__
from sim.analysis import registry
from sim.output.report import CSS
from sim.output.roster_plots import coverage, gantt
from sim.units import format_duration

_CAPTIONS = {"roster_coverage": coverage, "roster_shifts": gantt}


def _caption(name: str) -> str:
    plot = _CAPTIONS.get(name)
    doc = (plot.__doc__ or name).strip() if plot else name
    return " ".join(doc.split("\n\n")[0].split())


def _table(header: list[str], rows: list[list[str]], names: int = 1) -> str:
    esc = html.escape
    head = "".join(f'<th class="name">{esc(h)}</th>' if i < names else f"<th>{esc(h)}</th>"
                   for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="name">{esc(c)}</td>' if i < names
                                    else f"<td>{esc(c)}</td>" for i, c in enumerate(row))
                   + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_roster_html(roster, plan, images: dict[str, bytes]) -> str:
    """The roster section as a page: `plan` (None for a roster from a requirement file
    alone) adds the simulation check."""
    esc = html.escape
    title = plan.scenario.name if plan is not None else "roster"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{esc(title)}: supportsim roster</title>",
             f"<style>{CSS}</style></head><body>", f"<h1>{esc(title)}: roster</h1>"]
    if plan is not None:
        verdict = plan.met_text()
        parts.append(f'<p class="{"meta" if plan.met else "note"}"><strong>'
                     f"{esc(verdict[0].upper() + verdict[1:])}</strong>, simulated on "
                     f"{plan.replications} replications (seed {plan.seed}, the same buyers in "
                     "every round).</p>")
        parts.append(_plan_section(plan))
    else:
        parts.append(f'<p class="meta">Cheapest shifts covering {esc(roster.requirement.source)}'
                     "; not simulated (give a scenario and a target to check it).</p>")
    parts.append('<h2 id="shifts">Shifts</h2>')
    for group, result in roster.groups.items():
        parts.append(f"<p><strong>{esc(group)}</strong>: {sum(n for _, n in result.shifts)} "
                     f"shifts, {result.agents} agents, {roster.duty_hours(group):,.1f} hours on "
                     f"duty, cost {roster.cost(group):,.0f} ({esc(result.status)})</p>")
        frame = roster.table()
        frame = frame[frame["group"] == group]
        parts.append(_table(["kind", "start", "end", "breaks", "agents", "hours on duty",
                             "rate", "cost"],
                            [[r.kind, r.start, r.end, r.breaks or "-", str(r.agents),
                              f"{r.duty_hours:g}", f"{r.hourly_cost:g}", f"{r.cost:,.0f}"]
                             for r in frame.itertuples()], names=4))
    parts.append('<h2 id="plots">Plots</h2>')
    for name, png in images.items():
        data = base64.b64encode(png).decode("ascii")
        caption = _caption(name)
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{esc(caption)}">'
                     f"<figcaption>{esc(caption)} ({esc(name)}.png)</figcaption></figure>")
    if plan is not None:
        parts.append('<h2 id="intervals">Per interval</h2>')
        parts.append(_interval_table(plan))
        rules = _durations(plan.rules.model_dump(mode="json", by_alias=True,
                                                 exclude_none=True))
        parts.append('<h2 id="rules">Shift rules</h2>')
        parts.append(f"<pre>{esc(yaml.safe_dump(rules, sort_keys=False, width=100))}</pre>")
    parts.append(f'<p class="meta">supportsim {esc(__version__)}</p></body></html>')
    return "\n".join(parts) + "\n"


_DURATIONS = {"lengths", "every", "length", "earliest", "latest", "min_shift", "from", "to"}


def _durations(value, key: str | None = None):
    """The rules as written in a file: seconds back to '8h', '30min'."""
    if isinstance(value, dict):
        return {k: _durations(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_durations(v, key) for v in value]
    if key in _DURATIONS and isinstance(value, float):
        return format_duration(value)
    return value


def _plan_section(plan) -> str:
    metric = plan.target.metric
    headcount = plan.headcount_cost()
    final = plan.final.cost()
    rows = [[str(r.number), f"{r.roster.cost():,.0f}", str(r.roster.shift_count()),
             f"{r.roster.duty_hours():,.1f}", str(int(r.misses.sum()))] for r in plan.rounds]
    parts = ['<h2 id="rounds">Rounds: program, simulation, raise</h2>',
             ("<p>Each round solves the integer program for the requirement, simulates the "
              "roster on the same replications, and raises the requirement by one agent in "
              "every counted interval that misses the target.</p>"),
             _table(["round", "cost", "shifts", "hours on duty",
                     f"counted intervals missing ({plan.counted_text()})"], rows)]
    first = plan.first.cost()
    facts = [f"headcount table (the requirement at each group's cheapest rate): {headcount:,.0f}",
             f"first roster: {first:,.0f}", f"final roster: {final:,.0f}"]
    if headcount > 0:
        facts.append(f"price of the shift rules (first roster over the table): "
                     f"{first - headcount:+,.0f} ({100 * (first - headcount) / headcount:+.1f}%)")
    facts.append(f"added by the simulation check (final over first roster): "
                 f"{final - first:+,.0f}")
    shrink = [f"{g} {100 * s:g}%" for g, s in plan.shrinkage.items() if s]
    if shrink:
        facts.append("shrinkage: " + ", ".join(shrink) + " of rostered agents missing, drawn "
                     "per replication")
    if plan.one_fewer is not None:
        few = plan.one_fewer
        facts.append(
            f"tightest interval {few.group} {plan.requirement.label(few.interval)}: "
            f"{registry.format_value(metric, few.estimate_before)}; with one agent fewer "
            f"{registry.format_value(metric, few.estimate_after)} "
            f"({'still met' if few.holds_after else 'missed'})")
    parts.append("<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in facts) + "</ul>")
    for note in plan.notes:
        parts.append(f'<p class="note">{html.escape(note)}</p>')
    return "\n".join(parts)


def _interval_table(plan) -> str:
    metric = plan.target.metric
    frame = plan.table()
    rows = []
    for r in frame.itertuples(index=False):
        value = getattr(r, metric)
        shown = "-" if not math.isfinite(value) else registry.format_value(metric, value)
        rows.append([r.group, r.clock, "yes" if r.counted else "no", str(r.required),
                     str(r.required_final), str(r.on_duty), shown,
                     "-" if not r.counted or not math.isfinite(value) else
                     "met" if r.met else "MISSED" if r.reachable else
                     "missed (more agents cannot reach it)"])
    return ("<details><summary>Requirement, agents on duty and the target metric per "
            "interval</summary>"
            + _table(["group", "interval", "counted", "required", "raised to", "on duty",
                      metric, "target"], rows, names=2) + "</details>")

