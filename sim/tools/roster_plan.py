"""A roster checked by simulation: requirement, integer program, simulation, raise, repeat.

`plan_roster(scenario, target, rules)`:

1. the requirement: the simulation staffing search (`sim.tools.staffing.find_staffing`), or a
   requirement given on the same interval grid;
2. the cheapest roster covering it (`sim.tools.roster.RosterProgram`);
3. the roster simulated on the same replications as the search, under common random numbers
   (the same buyers, messages, think times, reply lengths and patience), with each group's
   shrinkage: every rostered agent misses their shift with that probability, drawn per
   replication;
4. where the target fails in a counted interval, that interval's requirement rises
   (`raise_requirement`) and the program is solved again, until the target holds in every
   counted interval or `max_rounds` is reached (the misses are then listed).

A roster is not the headcount table it covers: shifts overshoot in quiet hours, breaks and
shift ends send agents away with chats open, and a queue built in one interval carries into
the next. Step 3 measures what the table cannot show.

The absences are deterministic: for replication r, group g and pattern p, a generator seeded
by `SeedSequence(seed, spawn_key=(SHRINKAGE_STREAM, r, crc32(g), p.index))` draws one uniform
per rostered agent, in order, and agent j is missing when its uniform is below the shrinkage.
The key is disjoint from the buyers' streams (`SeedSequence(seed, spawn_key=(r,))` and its
children), so absences never shift the customers, and an extra agent on a pattern leaves the
draws of the others unchanged.
"""

from __future__ import annotations

import copy
import shutil
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from tqdm import tqdm

from sim.analysis import metrics, registry
from sim.analysis.stats import t_interval
from sim.arrivals import Customers, sample_customers, streams
from sim.engine import DeskRun
from sim.output.files import atomic_write_bytes, atomic_write_text, write_csv
from sim.parallel import SHARED, make_executor
from sim.scenario import Scenario, rate_table, scenario_from_dict
from sim.tools.roster import (
    TIME_LIMIT_S,
    Pattern,
    Requirement,
    Roster,
    RosterError,
    RosterProgram,
    format_duration,
    requirement_from_headcounts,
    shifts_schedule,
    span_label,
)
from sim.tools.roster_rules import RosterRules
from sim.tools.staffing import (
    StaffingResult,
    Target,
    counted_intervals,
    find_staffing,
    group_topics,
    interval_counts,
    parse_target,
    scope_text,
    time_ordered,
)
from sim.units import format_clock

#: First word of the spawn key of the shrinkage draws: no replication number reaches it, so
#: the key never equals one of the buyers' streams.
SHRINKAGE_STREAM = 0x524F5354
#: Default most rounds of program + simulation.
MAX_ROUNDS = 30


def present_agents(agents: int, shrinkage: float, seed: int, replication: int, group: str,
                   pattern: int) -> int:
    """How many of a pattern's `agents` turn up in `replication` (see the module docstring)."""
    if shrinkage <= 0 or agents == 0:
        return agents
    key = (SHRINKAGE_STREAM, replication, zlib.crc32(group.encode("utf-8")), pattern)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
    return int(np.sum(rng.random(agents) >= shrinkage))


def rostered_scenario(scenario: Scenario, shifts: dict[str, list[tuple[Pattern, int]]],
                      agents: dict[str, list[int]] | None = None) -> Scenario:
    """`scenario` with each rostered group's schedule replaced by its shifts (`agents`: other
    agent counts per shift, in roster order)."""
    day0 = scenario.horizon.day0
    groups = dict(scenario.groups)
    for name, group_shifts in shifts.items():
        schedule = shifts_schedule(group_shifts, day0, None if agents is None else agents[name])
        groups[name] = groups[name].model_copy(update={"schedule": schedule})
    return scenario.model_copy(update={"groups": groups})


@dataclass(frozen=True)
class Verification:
    """A roster's target metric counts on the check replications: arrays (replications,
    groups, intervals)."""

    numerator: np.ndarray
    denominator: np.ndarray

    def estimate(self) -> np.ndarray:
        """Pooled over replications: total numerator over total denominator (NaN without
        buyers), per (group, interval)."""
        num, den = self.numerator.sum(axis=0), self.denominator.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan)

    def per_replication(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.denominator > 0, self.numerator / self.denominator, np.nan)

    def holds(self, target: Target) -> np.ndarray:
        return np.vectorize(target.met, otypes=[bool])(self.estimate())


class _CheckContext:
    """What a worker needs to simulate rosters: the scenario, target, streams and shrinkage.
    Each worker gets its own copy once and keeps every replication's buyers in it."""

    def __init__(self, scenario: Scenario, target: Target, groups: list[str],
                 edges_s: np.ndarray, seed: int, shrinkage: dict[str, float]):
        self.scenario = scenario
        self.target = target
        self.groups = groups
        self.topics = {g: group_topics(scenario, g) for g in groups}
        self.edges_s = edges_s
        self.seed = seed
        self.shrinkage = shrinkage
        self.table = rate_table(scenario)
        self._customers: dict[int, Customers] = {}

    def customers(self, replication: int) -> Customers:
        # Buyers depend only on (seed, replication) and the arrival fields, never on staffing.
        if replication not in self._customers:
            self._customers[replication] = sample_customers(
                self.scenario, streams(self.seed, replication), self.table)
        return self._customers[replication]

    def attendance(self, shifts: dict[str, list[tuple[Pattern, int]]], replication: int
                   ) -> dict[str, list[int]]:
        return {g: [present_agents(n, self.shrinkage.get(g, 0.0), self.seed, replication, g,
                                   p.index) for p, n in group_shifts]
                for g, group_shifts in shifts.items()}

    def run(self, shifts: dict[str, list[tuple[Pattern, int]]], replication: int,
            attended: bool = True) -> tuple[np.ndarray, np.ndarray]:
        agents = self.attendance(shifts, replication) if attended else None
        candidate = rostered_scenario(self.scenario, shifts, agents)
        records = DeskRun(candidate, self.customers(replication)).run()
        tables = metrics.Tables.from_records(records)
        counts = [interval_counts(tables, candidate, self.target, self.edges_s, self.topics[g])
                  for g in self.groups]
        return np.array([c[0] for c in counts]), np.array([c[1] for c in counts])


def _run_roster(context: _CheckContext, shifts, replication: int, attended: bool):
    """One task: a roster on one replication, with the worker's copy of the context."""
    return context.run(shifts, replication, attended)


@dataclass
class Round:
    """One round: the requirement the program covered, its roster, and the simulation."""

    number: int
    required: dict[str, np.ndarray]
    roster: Roster
    verification: Verification
    misses: np.ndarray  # (groups, intervals): counted cells where the target fails


@dataclass(frozen=True)
class OneFewer:
    """The final roster with one agent fewer in its tightest counted interval."""

    group: str
    interval: int
    pattern: Pattern
    estimate_before: float
    estimate_after: float
    holds_after: bool  # the target still holds in that interval
    misses_after: int  # counted cells that miss the target with one agent fewer


@dataclass
class RosterPlan:
    """What `plan_roster` found: every round, the final roster, and the price of the rules."""

    scenario: Scenario
    target: Target
    rules: RosterRules
    groups: list[str]
    edges_s: np.ndarray
    counted: np.ndarray  # (groups, intervals) bool
    requirement: Requirement  # the requirement before any round raised it
    rounds: list[Round]
    replications: int
    seed: int
    shrinkage: dict[str, float]
    runs: int
    staffing: StaffingResult | None = None
    full_attendance: Verification | None = None  # the final roster with nobody missing
    one_fewer: OneFewer | None = None
    notes: list[str] = field(default_factory=list)
    staffing_s: float = 0.0
    program_s: float = 0.0
    simulation_s: float = 0.0
    #: (groups, intervals) bool: counted cells the staffing search found more agents cannot
    #: bring to the target; left out of `counted`, so the rounds do not raise them in vain.
    beyond: np.ndarray | None = None

    def beyond_count(self) -> int:
        return 0 if self.beyond is None else int(self.beyond.sum())

    def aim(self) -> str:
        """Where the roster is meant to meet the target, for titles."""
        return scope_text(int(self.counted.sum()), self.beyond_count())

    def counted_text(self) -> str:
        """What the counts of cells missing are out of: "of 56", or "of 56 that more agents
        can bring to the target" when some counted cells cannot be."""
        cells = int(self.counted.sum())
        return (f"of {cells}" if not self.beyond_count() or not cells else
                f"of the {cells} that more agents can bring to it")

    def met_text(self) -> str:
        """One line: whether the roster meets the target, the first line of every output."""
        beyond = self.beyond_count()
        cells = int(self.counted.sum())
        if self.met and beyond and not cells:
            which = ("the one counted interval" if beyond == 1 else
                     f"any of the {beyond} counted intervals")
            return (f"target {self.target}: more agents cannot bring {which} to it; the "
                    f"roster covers the requirement (round {len(self.rounds)})")
        if not cells:
            return (f"target {self.target}: no interval of the horizon is counted; the roster "
                    f"covers the requirement (round {len(self.rounds)})")
        if self.met:
            where = (f"every counted interval but the {beyond} that more agents cannot bring "
                     "to it" if beyond else "every counted interval")
            return (f"target {self.target} met in {where} by the roster "
                    f"(round {len(self.rounds)})")
        also = f", besides {beyond} that more agents cannot bring to it" if beyond else ""
        return (f"target {self.target} NOT met: {len(self.misses())} counted interval(s) miss "
                f"it after {len(self.rounds)} round(s){also}")

    @property
    def first(self) -> Roster:
        return self.rounds[0].roster

    @property
    def final(self) -> Roster:
        return self.rounds[-1].roster

    @property
    def met(self) -> bool:
        return not self.rounds[-1].misses.any()

    def misses(self) -> list[tuple[str, int]]:
        """Counted (group, interval) cells where the final roster misses the target."""
        last = self.rounds[-1].misses
        return [(g, i) for k, g in enumerate(self.groups) for i in np.flatnonzero(last[k])]

    def headcount_cost(self) -> float:
        """The requirement's agent-hours at each group's cheapest rate: what covering the
        headcount table exactly would cost, so roster cost minus this is the price of the
        shift rules."""
        return float(sum(self.requirement.agent_hours(g) * _cheapest_rate(self.final, g)
                         for g in self.groups))

    def tightest(self) -> tuple[int, int] | None:
        """(group index, interval) of the counted cell with the least slack over the target."""
        estimate = self.rounds[-1].verification.estimate()
        sign = 1.0 if self.target.op == ">=" else -1.0
        slack = np.where(self.counted & np.isfinite(estimate),
                         sign * (estimate - self.target.value), np.inf)
        if not np.isfinite(slack).any():
            return None
        k, i = np.unravel_index(int(np.argmin(slack)), slack.shape)
        return int(k), int(i)

    def table(self) -> pd.DataFrame:
        """One row per (group, interval): requirement, on duty, and the simulated target
        metric of the final roster (coverage.csv)."""
        metric = self.target.metric
        final = self.rounds[-1]
        estimate = final.verification.estimate()
        values = final.verification.per_replication()
        share = registry.is_share(metric)
        day0 = self.scenario.horizon.day0
        rows = []
        for k, group in enumerate(self.groups):
            for i in range(len(self.edges_s) - 1):
                _, low, high = t_interval(values[:, k, i])
                if share:
                    low, high = max(low, 0.0), min(high, 1.0)
                rows.append({
                    "group": group, "interval_start_s": self.edges_s[i],
                    "interval_end_s": self.edges_s[i + 1],
                    "clock": format_clock(self.edges_s[i], day0),
                    "counted": bool(self.counted[k, i]
                                    or (self.beyond is not None and self.beyond[k, i])),
                    "required": int(self.requirement.agents[group][i]),
                    "required_final": int(final.required[group][i]),
                    "on_duty_first": int(self.first.groups[group].on_duty[i]),
                    "on_duty": int(self.final.groups[group].on_duty[i]),
                    metric: estimate[k, i], "ci_low": low, "ci_high": high,
                    "buyers_per_replication": final.verification.denominator[:, k, i].mean(),
                    "met": bool(self.target.met(estimate[k, i])),
                    # False where more agents cannot bring the cell to the target.
                    "reachable": not (self.beyond is not None and self.beyond[k, i]),
                })
        return pd.DataFrame(rows)


def _cheapest_rate(roster: Roster, group: str) -> float:
    rates = [p.hourly_cost for p, _ in roster.groups[group].shifts]
    return min(rates) if rates else 0.0


def _check_requirement(requirement: Requirement, scenario: Scenario, groups: list[str],
                       edges_s: np.ndarray) -> Requirement:
    """A given requirement must sit on the scenario's grid and name every rostered group."""
    where = requirement.source
    if requirement.day0 != scenario.horizon.day0 or len(requirement.edges_s) != len(edges_s) \
            or not np.allclose(requirement.edges_s, edges_s):
        given = span_label(requirement.edges_s[0], requirement.edges_s[-1], requirement.day0)
        wanted = span_label(edges_s[0], edges_s[-1], scenario.horizon.day0)
        raise RosterError(
            f"{where}: its intervals ({given} in {format_duration(requirement.interval_s)} "
            f"steps) are not the scenario's ({wanted} in "
            f"{format_duration(scenario.arrivals.interval)} steps)")
    missing = [g for g in groups if g not in requirement.agents]
    if missing:
        raise RosterError(f"{where}: no requirement for group(s) {', '.join(missing)}")
    return requirement.subset(groups)


def raise_requirement(required: np.ndarray, on_duty: np.ndarray, misses: np.ndarray,
                      streak: np.ndarray, held_with: np.ndarray) -> np.ndarray:
    """The next round's requirement (arrays groups x intervals).

    A missed cell needs more agents than the roster had on duty there, which may be more than
    it required: it rises above that, by 1, 1, 2, 2, 3, ... agents over consecutive misses
    (`streak`), so a deep shortfall takes few rounds and a shallow one is not overshot. A cell
    that held in an earlier round with more agents (`held_with`: the fewest on duty it held
    with) and misses now because a re-solved roster gave it fewer returns to that number
    first. Cells that held keep their requirement."""
    had = np.maximum(required, on_duty)
    regressed = (held_with < np.iinfo(np.int64).max) & (on_duty < held_with)
    step = np.where(regressed, np.maximum(held_with, required), had + (streak + 1) // 2)
    return np.where(misses, step, required).astype(np.int64)


def plan_roster(scenario: Scenario, target: Target | str, rules: RosterRules, *,
                requirement: Requirement | None = None, replications: int | None = None,
                seed: int | None = None, all_day: bool = False, workers: int | None = 1,
                dask: str | None = None, max_rounds: int = MAX_ROUNDS,
                max_passes: int | None = None, max_agents: int | None = None,
                time_limit_s: float = TIME_LIMIT_S,
                check_one_fewer: bool = True, source: str = "<rules>",
                progress: bool = False) -> RosterPlan:
    """The cheapest roster under `rules` that meets `target` in every counted interval when
    simulated (see the module docstring). Without `requirement` the staffing search finds one
    (with `replications`, `seed`, `all_day`, `max_passes`, `max_agents`, whose defaults are
    `find_staffing`'s, so the search is the one `supportsim staff` runs); the roster is
    simulated on the same replications. Simulations run on
    `sim.parallel.make_executor(workers, dask)`; the plan is the same on every executor."""
    target = parse_target(target) if isinstance(target, str) else target
    if max_rounds < 1:
        raise RosterError("max_rounds must be at least 1")
    groups = list(rules.groups)
    unknown = [g for g in groups if g not in scenario.groups]
    if unknown:
        raise RosterError(f"{source}: groups.{unknown[0]}: the scenario has no such group "
                          f"(groups: {', '.join(scenario.groups)})")
    replications = replications or scenario.replications
    seed = scenario.seed if seed is None else seed
    edges = rate_table(scenario).edges_s
    day0 = scenario.horizon.day0
    staffing, staffing_s = None, 0.0
    if requirement is None:
        began = time.perf_counter()
        staffing = find_staffing(scenario, target, groups, replications=replications,
                                 seed=seed, all_day=all_day, workers=workers, dask=dask,
                                 max_passes=max_passes, max_agents=max_agents,
                                 progress=progress)
        staffing_s = time.perf_counter() - began
        # The search's groups are `groups`, in this order: its rows are this plan's.
        unreachable = staffing.unreachable_mask()
        requirement = requirement_from_headcounts(
            {g: staffing.headcount[g] for g in groups}, staffing.edges_s, day0,
            source="the staffing search",
            counted={g: staffing.counted[k] for k, g in enumerate(groups)},
            reachable={g: ~unreachable[k] for k, g in enumerate(groups)})
    else:
        requirement = _check_requirement(requirement, scenario, groups, edges)
    counted = np.tile(counted_intervals(scenario, target, edges, all_day), (len(groups), 1))
    beyond = None
    notes: list[str] = []
    reachable = requirement.reachable
    if (reachable is not None and requirement.target is not None
            and not requirement.target.same_as(target)):
        reachable = None
        if not all(reachable_row.all() for reachable_row in requirement.reachable.values()):
            notes.append(f"{requirement.source}: its reachable column was found for "
                         f"{requirement.target}, not {target}, so it is not used: every "
                         "counted interval is judged")
    if reachable is not None:
        # Cells the staffing search (run here, or its staffing.csv) found more agents cannot
        # bring to the target: covered, but not raised round after round.
        cannot = counted & ~np.array([reachable[g] for g in groups])
        if cannot.any():
            beyond = cannot
            counted = counted & ~beyond
    shrinkage = {g: rules.groups[g].shrinkage for g in groups}
    program = RosterProgram(requirement, rules,
                            {g: scenario.groups[g].hourly_cost for g in groups}, source,
                            time_limit_s)
    context = _CheckContext(scenario, target, groups, edges, seed, shrinkage)
    required = {g: requirement.agents[g].copy() for g in groups}
    streak = np.zeros(counted.shape, dtype=np.int64)  # consecutive rounds each cell missed
    held_with = np.full(counted.shape, np.iinfo(np.int64).max)  # fewest on duty that held
    rounds: list[Round] = []
    program_s = simulation_s = 0.0
    runs = 0
    with make_executor(workers, dask, shared=context, tasks=replications) as executor, \
            tqdm(total=max_rounds, desc=f"roster {scenario.name}", unit="round",
                 disable=not progress, leave=False) as bar:

        def simulate(roster: Roster, attended: bool = True) -> Verification:
            nonlocal runs, simulation_s
            began = time.perf_counter()
            shifts = {g: roster.groups[g].shifts for g in groups}
            results = executor.map(_run_roster, [(SHARED, shifts, r, attended)
                                                 for r in range(replications)])
            runs += replications
            simulation_s += time.perf_counter() - began
            return Verification(np.array([r[0] for r in results]),
                                np.array([r[1] for r in results]))

        for number in range(1, max_rounds + 1):
            try:
                roster = program.solve(required)
            except RosterError as exc:
                if number == 1:
                    raise
                notes.append(f"round {number}: the requirement cannot rise further within the "
                             f"rules ({exc})")
                break
            program_s += roster.solve_s
            verification = simulate(roster)
            misses = counted & ~verification.holds(target)
            rounds.append(Round(number, {g: v.copy() for g, v in required.items()}, roster,
                                verification, misses))
            bar.set_postfix_str(f"round {number}: {int(misses.sum())} interval(s) missing",
                                refresh=False)
            bar.update()
            if not misses.any():
                break
            on_duty = np.array([roster.groups[g].on_duty for g in groups])
            held = counted & ~misses
            held_with = np.where(held, np.minimum(held_with, on_duty), held_with)
            streak = np.where(misses, streak + 1, 0)
            raised = raise_requirement(np.array([required[g] for g in groups]), on_duty,
                                       misses, streak, held_with)
            required = {g: raised[k] for k, g in enumerate(groups)}
        bar.total = bar.n
        bar.refresh()
        plan = RosterPlan(scenario, target, rules, groups, edges, counted, requirement, rounds,
                          replications, seed, shrinkage, runs, staffing, notes=notes,
                          staffing_s=staffing_s, beyond=beyond)
        if any(shrinkage.values()):
            plan.full_attendance = simulate(plan.final, attended=False)
        if plan.met and check_one_fewer and (cell := plan.tightest()) is not None:
            k, i = cell
            fewer, pattern = plan.final.without_one(groups[k], i)
            check = simulate(fewer)
            after = check.estimate()
            plan.one_fewer = OneFewer(
                groups[k], i, pattern, float(rounds[-1].verification.estimate()[k, i]),
                float(after[k, i]), bool(target.met(after[k, i])),
                int(np.sum(counted & ~check.holds(target))))
        plan.runs = runs
    if not plan.met:
        cells = plan.misses()
        listed = ", ".join(f"{g} {requirement.label(i)}" for g, i in cells[:8])
        more = f" and {len(cells) - 8} more" if len(cells) > 8 else ""
        hint = ("; if more agents cannot bring some of them to the target, the staffing.csv "
                "of `supportsim staff` for this target marks them (its reachable column) and "
                "the rounds leave them out" if reachable is None else "")
        notes.append(f"after {len(rounds)} round(s) the target still fails in {len(cells)} "
                     f"counted interval(s): {listed}{more}{hint}")
    if beyond is not None:
        listed = ", ".join(f"{groups[k]} {requirement.label(i)}"
                           for k, i in time_ordered(beyond)[:8])
        more = f" and {plan.beyond_count() - 8} more" if plan.beyond_count() > 8 else ""
        found = ("as the staffing search found; its report says why"
                 if requirement.source == "the staffing search" else
                 f"{requirement.source} marks them reachable false")
        anyway = int(np.sum(beyond & plan.rounds[-1].verification.holds(target)))
        anyway = (f"; this roster meets the target in {anyway} of them anyway" if anyway
                  else "")
        notes.append(f"{plan.beyond_count()} counted interval(s) cannot meet the target by "
                     f"adding agents ({found}): {listed}{more}; the roster covers their "
                     f"requirement and the counts above leave them out{anyway}")
    plan.program_s, plan.simulation_s = program_s, simulation_s
    return plan


# --- reports and files ------------------------------------------------------------------------


def format_plan(plan: RosterPlan) -> str:
    """The rounds, costs, the one-fewer check and the final shifts, for the terminal."""
    target = plan.target
    shrink = ", ".join(f"{g} {100 * s:g}%" for g, s in plan.shrinkage.items() if s)
    lines = [f"roster for {target} {plan.aim()} ({plan.replications} "
             f"replications, seed {plan.seed}"
             + (f", shrinkage {shrink}" if shrink else "") + f", {plan.runs} simulation runs)"]
    lines.append(f"\n{'round':<6} {'cost':>10} {'shifts':>7} {'agent-hours':>12}  counted "
                 f"intervals missing the target ({plan.counted_text()})")
    for r in plan.rounds:
        lines.append(f"{r.number:<6} {r.roster.cost():>10,.0f} {r.roster.shift_count():>7} "
                     f"{r.roster.duty_hours():>12.1f}  {int(r.misses.sum())}")
    headcount = plan.headcount_cost()
    first, final = plan.first.cost(), plan.final.cost()
    hours = sum(plan.requirement.agent_hours(g) for g in plan.groups)
    lines.append(f"\nheadcount table (the requirement, {hours:,.1f} agent-hours at each "
                 f"group's cheapest rate): cost {headcount:,.0f}")
    lines.append(f"first roster: cost {first:,.0f}; final roster: cost {final:,.0f}")
    if headcount > 0:
        lines.append(f"price of the shift rules (first roster over the table): "
                     f"{first - headcount:+,.0f} ({100 * (first - headcount) / headcount:+.1f}%); "
                     f"added by the simulation check: {final - first:+,.0f}")
    if plan.full_attendance is not None:
        misses = int(np.sum(plan.counted & ~plan.full_attendance.holds(target)))
        lines.append(f"with nobody missing (as `supportsim run` of the rostered scenario "
                     f"shows it): {misses} counted interval(s) miss the target")
    if plan.one_fewer is not None:
        few = plan.one_fewer
        where = plan.requirement.label(few.interval)
        verdict = ("still meets the target there: the rules force an overshoot"
                   if few.holds_after else "misses the target there")
        lines.append(f"tightest interval: {few.group} {where} at "
                     f"{registry.format_value(target.metric, few.estimate_before)}; one agent "
                     f"fewer (off the shift {describe_pattern(few.pattern, plan.final.day0)}) "
                     f"gives {registry.format_value(target.metric, few.estimate_after)}: "
                     f"{verdict}")
    lines.append("")
    lines.append(format_roster(plan.final))
    lines.append(f"\ntime: staffing search {plan.staffing_s:.1f} s, integer programs "
                 f"{plan.program_s:.1f} s, simulation checks {plan.simulation_s:.1f} s")
    lines.extend(f"note: {note}" for note in plan.notes)
    return "\n".join(lines)


def describe_pattern(pattern: Pattern, day0) -> str:
    """'long 2026-11-11 08:00-16:00, break 12:00-13:00'."""
    text = f"{pattern.kind} {span_label(pattern.start_s, pattern.end_s, day0)}"
    if pattern.breaks:
        text += f", break {pattern.describe_breaks(day0)}"
    return text


def format_roster(roster: Roster) -> str:
    """The shifts per group with their agents and cost."""
    lines = []
    for group, result in roster.groups.items():
        lines.append(f"group {group}: {sum(n for _, n in result.shifts)} shifts, at least "
                     f"{result.agents} agents (one shift a day each), cost "
                     f"{roster.cost(group):,.0f} ({result.status})")
        lines.append(f"  {'start':<17} {'end':<17} {'kind':<12} {'breaks':<14} {'agents':>6}")
        for pattern, agents in result.shifts:
            lines.append(f"  {format_clock(pattern.start_s, roster.day0):<17} "
                         f"{format_clock(pattern.end_s, roster.day0):<17} {pattern.kind:<12} "
                         f"{pattern.describe_breaks(roster.day0) or '-':<14} {agents:>6}")
    return "\n".join(lines)


def rostered_document(document: dict, roster: Roster, groups: list[str], description: str
                      ) -> tuple[dict, list[str]]:
    """The scenario document with the roster's shifts; variants that override a replaced
    schedule no longer apply and are dropped (and named)."""
    doc = copy.deepcopy(document)
    block = roster.document()["groups"]
    for group in groups:
        doc["groups"][group]["schedule"] = block[group]["schedule"]
    dropped = []
    prefixes = tuple(f"groups.{g}.schedule" for g in groups)
    for name, overrides in list((doc.get("variants") or {}).items()):
        if any(str(path).startswith(prefixes) for path in (overrides or {})):
            del doc["variants"][name]
            dropped.append(name)
    if "variants" in doc and not doc["variants"]:
        del doc["variants"]
    doc["description"] = f"{doc.get('description', '').strip()}\n{description}".strip()
    return doc, dropped


def _yaml_text(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def write_roster_files(roster: Roster, out_dir: Path, header: str,
                       plan: RosterPlan | None = None) -> list[Path]:
    """roster.yaml, roster.csv (and days.csv with days off), the plots and roster.html."""
    from sim.output import roster_plots
    from sim.output.report import figure_png
    from sim.output.roster_report import render_roster_html

    out_dir = Path(out_dir)
    written = []
    path = out_dir / "roster.yaml"
    atomic_write_text(path, header + _yaml_text(roster.document()))
    written.append(path)
    path = out_dir / "roster.csv"
    write_csv(path, roster.table())
    written.append(path)
    days = roster.days_table()
    if len(days):
        path = out_dir / "days.csv"
        write_csv(path, days)
        written.append(path)
    if plan is not None:
        path = out_dir / "coverage.csv"
        write_csv(path, plan.table())
        written.append(path)
    images = {}
    for name, figure in roster_plots.figures(roster, plan).items():
        images[name] = figure_png(figure)
        path = out_dir / f"{name}.png"
        atomic_write_bytes(path, images[name])
        written.append(path)
    path = out_dir / "roster.html"
    atomic_write_text(path, render_roster_html(roster, plan, images))
    written.append(path)
    return written


def write_plan_outputs(plan: RosterPlan, document: dict, source: Path, out_dir: Path,
                       command: str | None = None) -> list[Path]:
    """Everything `supportsim roster SCENARIO` writes: the roster files, rostered.yaml (the
    scenario with the roster, runnable) and the staffing search's requirement. `command` is
    the command line the headers name (the CLI's own; by default the scenario and target)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    described = (f"Roster of {', '.join(plan.groups)} from 'supportsim roster' for "
                 f"{plan.target} ({plan.replications} replications, seed {plan.seed}): "
                 f"{plan.met_text()}.")
    doc, dropped = rostered_document(document, plan.final, plan.groups, described)
    written = []
    counts = (doc.get("arrivals") or {}).get("counts_csv")
    if counts:
        origin = (source.parent / counts["path"]).resolve()
        copy_path = out_dir / Path(counts["path"]).name
        if origin != copy_path.resolve():
            shutil.copyfile(origin, copy_path)
        counts["path"] = copy_path.name
        written.append(copy_path)
    if command is None:
        command = f"supportsim roster {source.name} --target \"{plan.target}\""
    header = f"# Shifts found by `{command}`.\n"
    shrink = {g: s for g, s in plan.shrinkage.items() if s}
    if shrink:
        header += ("# Checked with shrinkage (agents missing per replication): "
                   + ", ".join(f"{g} {100 * s:g}%" for g, s in shrink.items())
                   + "; a scenario run has everyone present.\n")
    header += "# Paste each group's `schedule:` into the scenario, or run rostered.yaml.\n"
    yaml_path = out_dir / "rostered.yaml"
    text = header
    if dropped:
        text += f"# Variants dropped (they changed a replaced schedule): {', '.join(dropped)}\n"
    text += _yaml_text(doc)
    scenario_from_dict(yaml.safe_load(text), source=str(yaml_path), base_dir=out_dir)
    atomic_write_text(yaml_path, text)
    written.append(yaml_path)
    if plan.staffing is not None:
        path = out_dir / "staffing.csv"
        write_csv(path, plan.staffing.table())
        written.append(path)
    return write_roster_files(plan.final, out_dir, header, plan) + written

