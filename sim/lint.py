"""Scenario warnings: settings that validate but are almost certainly mistakes.

`scenario_warnings` returns them and prints nothing; the command line prints each on stderr,
with the file and the field, before it runs. A scenario silences a kind of warning with
`warnings: {ignore: [CODE, ...]}` (`supportsim run --no-warnings` silences all). The kinds:

- `unstaffed_group`: a group with skills but no agent on duty at any moment of the horizon
  and no standby pool. Conversations only it may take wait until their buyers give up; a run
  reports a poor reply rate and nothing else.
- `idle_concurrency`: a concurrency cap that never binds. Every topic the group may take is a
  phone call, which holds an agent alone; or the cap is so high that even at the busiest
  interval the group's agents would have twice the chat windows the conversations could fill
  (`IDLE_CAP_FACTOR`), e.g. 50 typed for 5. A cap that never binds lets every conversation in
  at once, so waits move from the queue into agents' open chats.
- `patience_before_handover`: a topic whose mean patience is shorter than the bot's mean
  hand-over (its handling time plus `handover_delay`). Patience runs from the moment a
  conversation reaches people, after the bot; a buyer this impatient would have left during
  the hand-over, so the patience was most likely meant from the first message.

Variants are checked too; a warning a variant shares with the baseline is given once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.agents import duty_periods
from sim.scenario import BASELINE, Scenario, rate_table, resolve_variants
from sim.scenario.model import WARNING_CODES

#: `idle_concurrency` fires when, in every interval with agents on duty, the group's windows
#: (agents x cap) exceed this many times the conversations it would hold were it to take every
#: conversation it may, plus a Poisson margin of six standard deviations. The count is Little's
#: law, arrival rate x mean time in conversation (typing and thinking; the bot's deflections
#: and the waits left out). In the bundled scenarios the tightest interval of every group has
#: fewer windows than that margin (ratio at most 0.95), so the cap binds there; 50 typed for
#: 5 on the normal day gives 3.7.
IDLE_CAP_FACTOR = 2.0


@dataclass(frozen=True)
class ScenarioWarning:
    """One warning: its code (to silence it), the field it concerns and what is wrong."""

    code: str
    field: str
    message: str
    source: str = "<scenario>"

    def __str__(self) -> str:
        return (f"{self.source}: {self.field}: {self.message} (silence with warnings: "
                f"{{ignore: [{self.code}]}})")


def scenario_warnings(scenario: Scenario, source: str = "<scenario>",
                      variants: bool = True) -> list[ScenarioWarning]:
    """Every warning of `scenario` (and, with `variants`, of each variant), minus the codes in
    each one's `warnings.ignore`."""
    found = [w for w in _warnings(scenario, source, "")
             if w.code not in scenario.warnings.ignore]
    if not variants or not scenario.variants:
        return found
    seen = {(w.code, w.field) for w in found}
    for name, variant in resolve_variants(scenario, source).items():
        if name == BASELINE:
            continue
        for warning in _warnings(variant, source, f"variants.{name} -> "):
            key = (warning.code, warning.field.split(" -> ", 1)[-1])
            if warning.code in variant.warnings.ignore or key in seen:
                continue
            found.append(warning)
    return found


def _warnings(scenario: Scenario, source: str, prefix: str) -> list[ScenarioWarning]:
    found: list[ScenarioWarning] = []

    def warn(code: str, where: str, message: str) -> None:
        assert code in WARNING_CODES
        found.append(ScenarioWarning(code, prefix + where, message, source))

    duty = {name: duty_periods(group.schedule, scenario) if group.schedule else []
            for name, group in scenario.groups.items()}
    for name, group in scenario.groups.items():
        if group.standby is None and not duty[name]:
            only = [t for t in group.skills if scenario.groups_serving(t) == [name]]
            consequence = (f"conversations of {', '.join(only)} only it takes wait until their "
                           "buyers leave" if only else "its skills go to other groups only")
            warn("unstaffed_group", f"groups.{name}.schedule",
                 f"no agent of {name} is on duty at any moment of the horizon "
                 f"({scenario.horizon.start} to {scenario.horizon.end}) and it has no standby "
                 f"pool: {consequence}")
    for name, group in scenario.groups.items():
        problem = _idle_concurrency(scenario, name, duty[name])
        if problem:
            warn("idle_concurrency", f"groups.{name}.concurrency", problem)
    bot = scenario.bot
    if bot.enabled:
        handling = bot.handling_time.mean_value() if bot.handling_time is not None else 0.0
        handover = handling + bot.handover_delay
        for topic, spec in scenario.topics.items():
            if spec.patience is None or bot.deflection.get(topic, 0.0) >= 1.0:
                continue
            patience = spec.patience.mean_value()
            if patience < handover:
                warn("patience_before_handover", f"topics.{topic}.patience",
                     f"mean patience {patience:g}s is shorter than the bot's mean hand-over "
                     f"({handling:g}s handling + {bot.handover_delay:g}s handover_delay = "
                     f"{handover:g}s); patience runs from reaching people, after the bot, so "
                     "was it meant from the buyer's first message?")
    return found


def _idle_concurrency(scenario: Scenario, name: str, periods) -> str | None:
    group = scenario.groups[name]
    topics = [t for t in scenario.topics if name in scenario.groups_serving(t)]
    if not topics:
        return None
    if group.concurrency > 1 and all(scenario.topics[t].channel == "phone" for t in topics):
        return (f"concurrency {group.concurrency} never binds: every topic {name} takes "
                f"({', '.join(topics)}) is a phone call, which holds an agent alone")
    if group.concurrency == 1 or not periods:
        return None
    table = rate_table(scenario)
    edges = table.edges_s
    lengths = np.diff(edges)
    on_duty = np.zeros(len(lengths))
    for period in periods:
        overlap = np.clip(np.minimum(edges[1:], period.end_s)
                          - np.maximum(edges[:-1], period.start_s), 0.0, None)
        on_duty += overlap / lengths
    held = np.zeros(len(lengths))
    for topic in topics:
        spec = scenario.topics[topic]
        if spec.channel == "phone":
            continue
        share = table.mix[:, table.topics.index(topic)]
        messages = spec.messages.mean_value()
        reply = group.reply_dist(topic).mean_value() / group.proficiency
        duration = messages * reply + max(messages - 1.0, 0.0) * spec.think_time.mean_value()
        held += table.rate_per_s * share * duration
    staffed = on_duty > 0.5
    if not staffed.any():
        return None
    margin = held + 6.0 * np.sqrt(held)
    windows = on_duty * group.concurrency
    if np.all(windows[staffed] > IDLE_CAP_FACTOR * np.maximum(margin[staffed], 1.0)):
        busiest = int(np.argmax(np.where(staffed, held / np.maximum(on_duty, 1e-9), -1.0)))
        return (f"concurrency {group.concurrency} will hardly ever bind: even at the busiest "
                f"interval "
                f"its {on_duty[busiest]:.3g} agents on duty would hold about "
                f"{math.ceil(held[busiest]):g} conversations in {windows[busiest]:.0f} windows "
                "(a typo for a smaller cap?)")
    return None
