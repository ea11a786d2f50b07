"""The intraday what-if: from the desk as it is now, which action helps, and at what cost
(docs/whatif.md).

A what-if starts from a desk state (`sim.engine.state`: a file written by hand from the live
desk, or a snapshot of a simulated day, `sim.snapshot`) and runs every variant of the scenario
(the actions: call the standby agents, raise the bot's deflection, pool the teams, overflow
sooner; the scenario's `variants:` and actions given here as dotted-path overrides) from that
moment for a while (`for_s`, default to the end of the drain). Replication r of every variant
resumes the same state on the random streams of (seed, r): the same buyers arrive later, drawn
from the scenario's curve, and the buyers open at the desk get the same futures, so the
variants' differences are paired (common random numbers). Replication 0 of a snapshot's own
streams continues the simulated day exactly.

What it gives, per variant: the usual summary (every metric over the conversations open now
and arriving in the window, with 95% intervals), the paired comparison with the baseline, the
reply rate by 5-minute interval from now with bounded 95% intervals, the time until the queue
is back under a threshold with its interval, and the cost of each action (the registry's
`cost` metric: agent hours times hourly cost plus call-out fees, as a difference from the
baseline).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.agents import duty_periods
from sim.analysis import metrics
from sim.analysis.compare import compare
from sim.analysis.stats import bounded_interval
from sim.analysis.targets import scenario_targets
from sim.engine.snapshot import resume, snapshots
from sim.engine.state import DeskState, Group, StateError, load, resolve
from sim.experiment import (
    Results,
    replication_metrics,
    summarize_replications,
    wait_distributions,
)
from sim.parallel import SHARED, make_executor
from sim.scenario import BASELINE, Scenario, ScenarioError
from sim.scenario.arguments import (
    names_argument,
    replications_argument,
    require_scenario,
    whole_number,
)
from sim.scenario.variants import variant_document
from sim.units import format_clock, format_duration, moment_seconds, parse_duration

#: Width of the reply-rate intervals counted from the state's time.
STEP_S = 300.0
#: Default `queue_below`: the queue counts as cleared when fewer buyers than this wait...
QUEUE_BELOW = 10
#: ...for at least this long (a queue that dips under the threshold for a moment between two
#: bursts is not cleared).
QUEUE_HOLD_S = 300.0

REPLY_COLUMNS = ["variant", "interval_start_s", "interval_end_s", "interval_start", "mean",
                 "ci_low", "ci_high", "replications"]
CLEAR_COLUMNS = ["variant", "queue_now", "mean_s", "ci_low_s", "ci_high_s", "cleared",
                 "replications"]
COST_COLUMNS = ["variant", "cost", "cost_ci_low", "cost_ci_high", "extra_cost",
                "extra_ci_low", "extra_ci_high"]


@dataclass
class WhatIf:
    """What a what-if found.

    - `results`: a `sim.experiment.Results` of the window (summary, per replication,
      interval series cut to the window), so every table, comparison and plot reads it;
    - `comparison`: paired differences from the baseline (`sim.analysis.compare`);
    - `reply_by_interval`: per variant and 5-minute interval from now, the share of buyers
      whose messages sent in it were answered within 5 minutes (messages waiting now count in
      the first), mean and bounded 95% interval over replications;
    - `queue_clear`: per variant, how long until fewer than `queue_below` buyers wait (for
      `QUEUE_HOLD_S`), mean and 95% interval; `cleared` replications out of `replications`
      (one not cleared in the window counts as the whole window, so its mean is a lower bound);
    - `costs`: the cost of each variant in the window and its paired difference from the
      baseline (the action's cost), with 95% intervals;
    - `time_s`, `until_s`: the window; `state`: the state it started from.
    """

    scenario: Scenario
    state: DeskState
    time_s: float
    until_s: float
    baseline: str
    queue_below: int
    results: Results
    comparison: pd.DataFrame | None
    reply_by_interval: pd.DataFrame
    queue_clear: pd.DataFrame
    costs: pd.DataFrame
    source: str = ""
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def desk(self) -> list[tuple[str, str]]:
        """The desk at the state's time, as (what, how many) rows (`desk_summary`)."""
        return desk_summary(self.state)

    @property
    def window(self) -> str:
        day0 = self.scenario.horizon.day0
        return (f"{format_clock(self.time_s, day0)} to {format_clock(self.until_s, day0)} "
                f"({format_duration(self.until_s - self.time_s)})")

    def write(self, out_dir: Path) -> list[Path]:
        """summary.csv, replications.csv, intervals.csv, comparison.csv, reply_by_interval.csv,
        queue_clear.csv, costs.csv and the state it started from (state.yaml)."""
        from sim.output.files import atomic_write_text, write_csv

        out_dir = Path(out_dir)
        written = self.results.write(out_dir)
        frames = {"reply_by_interval.csv": self.reply_by_interval,
                  "queue_clear.csv": self.queue_clear, "costs.csv": self.costs}
        if self.comparison is not None:
            frames["comparison.csv"] = self.comparison
        for name, frame in frames.items():
            write_csv(out_dir / name, frame)
            written.append(out_dir / name)
        atomic_write_text(out_dir / "state.yaml", self.state.dumps())
        written.append(out_dir / "state.yaml")
        return written


# --- the variants -----------------------------------------------------------------------------


def action_variants(scenario: Scenario, variants: Iterable[str] | None = None,
                    actions: Mapping[str, Mapping[str, Any]] | None = None,
                    source: str = "<scenario>", base_dir: Path | None = None
                    ) -> dict[str, Scenario]:
    """The baseline, the scenario's variants (all, or those named) and the `actions` (name ->
    {dotted path: value}, as a scenario's `variants:` writes them), each a full scenario
    validated as the baseline is."""
    document = scenario.model_dump(mode="json", by_alias=True)
    known = scenario.variant_names
    names = list(dict.fromkeys([BASELINE, *(variants if variants is not None else known)]))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ScenarioError(f"{source}: unknown variant(s) {', '.join(unknown)}; "
                            f"known: {', '.join(known)}")
    for name, overrides in (actions or {}).items():
        if name in known:
            raise ScenarioError(f"{source}: action {name!r}: the scenario has a variant of "
                                "that name; name the action differently")
        if not isinstance(overrides, Mapping) or not overrides:
            raise ScenarioError(f"{source}: action {name!r}: expected dotted-path overrides "
                                "such as routing.mode=pooled")
        document.setdefault("variants", {})[name] = dict(overrides)
        names.append(name)
    base_dir = base_dir or Path.cwd()
    return {name: variant_document(document, name, source, base_dir) for name in names}


def planned_on_duty(scenario: Scenario, time_s: float) -> dict[str, int]:
    """Scheduled agents on duty at `time_s` per group, as the scenario's schedules plan it."""
    counts = {}
    for name, group in scenario.groups.items():
        if group.schedule is None:
            counts[name] = 0
            continue
        counts[name] = sum(1 for d in duty_periods(group.schedule, scenario)
                           if d.start_s <= time_s < d.end_s)
    return counts


def staffed_state(state: DeskState, baseline: Scenario, variant: Scenario,
                  time_s: float) -> DeskState:
    """`state` for `variant`: a variant that plans more scheduled agents on duty at the
    state's time than the baseline does (an action such as "two more agents now") has them on
    duty from the state's time, as agents with no open chat; one that plans fewer has that
    many fewer of the state's agents without chats (never an agent holding a chat)."""
    before, after = planned_on_duty(baseline, time_s), planned_on_duty(variant, time_s)
    groups = dict(state.groups)
    for name, count in after.items():
        change = count - before.get(name, 0)
        if change == 0:
            continue
        group = groups.get(name)
        if group is None:
            if change > 0:
                groups[name] = Group(idle=change)
            continue
        if change > 0:
            groups[name] = group.model_copy(update={"idle": group.idle + change})
            continue
        drop = -change
        idle = min(group.idle, drop)
        drop -= idle
        agents = list(group.agents)
        for k in range(len(agents) - 1, -1, -1):
            if drop and not agents[k].chats and not agents[k].standby:
                del agents[k]
                drop -= 1
        groups[name] = group.model_copy(update={"idle": group.idle - idle, "agents": agents})
    return state.model_copy(update={"groups": groups})


# --- one replication --------------------------------------------------------------------------


def _replicate(shared, name: str, replication: int, seed: int, until_s: float):
    """One variant's replication resumed from the state: its metrics and the window's series."""
    variants, states, time_s, queue_below, source = shared
    scenario = variants[name]
    records = resume(scenario, states[name], replication=replication, seed=seed, source=source,
                     until_s=until_s)
    # Hours (and their cost) count from the state's time: what was spent before is the same
    # whatever is done now. So does typing, the occupancy's numerator: the buyers open now
    # bring the replies they had before, and a reply being typed now began before.
    records = dataclasses.replace(
        records, duty_start_s=np.maximum(records.duty_start_s, time_s),
        work_s=np.clip(records.reply_s - time_s, 0.0, records.work_s))
    values, series, tables = replication_metrics(scenario, records)
    shares = wait_distributions(tables, scenario)
    rates = reply_rates(tables, scenario, time_s, until_s)
    clear, queue_now = queue_clear_time(tables, time_s, until_s, queue_below)
    return values, series, shares, rates, clear, queue_now


def reply_rates(tables: metrics.Tables, scenario: Scenario, time_s: float, until_s: float,
                step_s: float = STEP_S) -> np.ndarray:
    """Per `step_s` interval from `time_s`: the share of buyers with a counted message sent in
    it (a message sent before `time_s` counts in the first) none of which waited more than the
    platform's threshold or was left unanswered by a buyer who gave up (NaN: no buyer)."""
    edges = _edges(time_s, until_s, step_s)
    msgs = metrics.counted_messages(tables, scenario.bot.replies_count)
    msgs = msgs[~msgs["reported"].to_numpy()]
    sent = msgs["sent_s"].to_numpy()
    keep = sent < until_s
    bins = np.maximum(np.searchsorted(edges, sent[keep], side="right") - 1, 0)
    late = ((msgs["offered_wait_s"].to_numpy() > scenario.metrics.pinduoduo.threshold)
            | msgs["left"].to_numpy())[keep]
    frame = pd.DataFrame({"bin": bins, "buyer": msgs["buyer"].to_numpy()[keep], "late": late})
    per_buyer = frame.groupby(["bin", "buyer"], sort=False)["late"].any().reset_index()
    n = len(edges) - 1
    counted = np.bincount(per_buyer["bin"], minlength=n)[:n].astype(float)
    ok = np.bincount(per_buyer["bin"], weights=~per_buyer["late"].to_numpy(),
                     minlength=n)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counted > 0, ok / counted, np.nan)


def queue_length_at(tables: metrics.Tables, times_s: np.ndarray) -> np.ndarray:
    """Buyers waiting for an agent at each time: from reaching people until an agent takes
    them, or they give up, or the run ends."""
    conv = tables.conversations
    queued = conv["queued_s"].to_numpy()
    assigned, end = conv["assigned_s"].to_numpy(), conv["end_s"].to_numpy()
    leave = np.where(np.isfinite(assigned), assigned,
                     np.where(np.isfinite(end), end, tables.stop_s))
    waiting = np.isfinite(queued)
    starts, stops = np.sort(queued[waiting]), np.sort(leave[waiting])
    times_s = np.asarray(times_s, dtype=float)
    # In the queue at t: reached people at or before t and not yet left (left after t).
    return (np.searchsorted(starts, times_s, side="right")
            - np.searchsorted(stops, times_s, side="right"))


def queue_clear_time(tables: metrics.Tables, time_s: float, until_s: float, below: int,
                     hold_s: float = QUEUE_HOLD_S) -> tuple[float, int]:
    """Seconds from `time_s` until fewer than `below` buyers wait and keep doing so for
    `hold_s` (NaN: not within the window), and the queue at `time_s`."""
    conv = tables.conversations
    queued = conv["queued_s"].to_numpy()
    assigned, end = conv["assigned_s"].to_numpy(), conv["end_s"].to_numpy()
    leave = np.where(np.isfinite(assigned), assigned,
                     np.where(np.isfinite(end), end, tables.stop_s))
    changes = np.concatenate([queued[np.isfinite(queued)], leave[np.isfinite(queued)]])
    changes = np.unique(np.clip(changes[(changes >= time_s) & (changes <= until_s)],
                                time_s, until_s))
    moments = np.unique(np.r_[time_s, changes])
    lengths = queue_length_at(tables, moments)
    need = min(hold_s, until_s - time_s)
    # The queue is constant from one moment to the next: find the first moment from which it
    # stays under the threshold for `need`.
    start = None
    for k, moment in enumerate(moments):
        if lengths[k] >= below:
            start = None
            continue
        if start is None:
            start = moment
        following = moments[k + 1] if k + 1 < len(moments) else until_s
        if following - start >= need:
            return float(start - time_s), int(lengths[0])
    return math.nan, int(lengths[0])


def _edges(time_s: float, until_s: float, step_s: float) -> np.ndarray:
    count = max(1, math.ceil((until_s - time_s) / step_s - 1e-9))
    return np.minimum(time_s + step_s * np.arange(count + 1), until_s)


# --- the state -------------------------------------------------------------------------------


def snapshot_at(scenario: Scenario, at: float | str | dt.datetime, replication: int = 0,
                seed: int | None = None, variant: str = BASELINE,
                source: str | None = None) -> DeskState:
    """The desk of replication `replication` of `variant` at `at` (seconds or a clock time
    such as "2026-11-11 00:10")."""
    source = source or scenario.name
    chosen = action_variants(scenario, [variant] if variant != BASELINE else [], None, source)
    at_s = _moment(at, scenario, "--at")
    horizon = scenario.horizon
    if not horizon.start_s < at_s < horizon.end_s + horizon.drain:
        raise StateError(f"{source}: --at: {format_clock(at_s, horizon.day0)} is not inside "
                         f"the scenario's horizon ({format_clock(horizon.start_s, horizon.day0)}"
                         f" to {format_clock(horizon.end_s + horizon.drain, horizon.day0)} "
                         "with the drain)")
    states, _ = snapshots(chosen[variant], [at_s], replication, seed, variant=variant)
    return states[0]


def desk_summary(state: DeskState) -> list[tuple[str, str]]:
    """What a state holds, as (what, how many) rows: agents and open chats per group, buyers
    waiting per topic with the longest wait, buyers with the bot."""
    now = float(state.time)
    rows = []
    for name, group in state.groups.items():
        agents = len(group.agents) + group.idle
        chats = sum(len(a.chats) for a in group.agents)
        text = f"{agents} on duty, {chats} open chats"
        if group.arriving:
            text += f", {len(group.arriving)} standby agents on their way"
        rows.append((f"group {name}", text))
    for topic, chats in state.queues.items():
        waits = [now - float(c.queued) for c in chats if isinstance(c.queued, float)]
        text = f"{len(chats)} waiting"
        if waits:
            text += f", longest {format_duration(max(waits))}"
        rows.append((f"queue {topic}", text))
    rows.append(("with the bot", str(len(state.with_bot))))
    return rows


# --- the what-if ------------------------------------------------------------------------------


def whatif(scenario: Scenario, state: DeskState | str | Path | None = None, *,
           at: float | str | dt.datetime | None = None, for_s: float | str | None = None,
           replications: int | None = None, seed: int | None = None,
           variants: Iterable[str] | None = None,
           actions: Mapping[str, Mapping[str, Any]] | None = None,
           baseline: str = BASELINE, queue_below: int = QUEUE_BELOW,
           snapshot_replication: int = 0, workers: int | None = 1, dask: str | None = None,
           progress: bool = False, source: str | None = None) -> WhatIf:
    """Compare the scenario's variants (and `actions`) from a desk state onward.

    `state` is a `DeskState` or the path of a state file; or give `at` (seconds, a clock
    time such as "2026-11-11 00:10", or a `datetime`) to take the state from replication
    `snapshot_replication` of the simulated day. `for_s` (seconds or "2h") limits the window
    (default: to the end of the scenario's drain). Every variant runs `replications`
    replications (default: the scenario's) under common random numbers, on
    `sim.parallel.make_executor(workers, dask)`.
    """
    scenario = require_scenario(scenario, "whatif")
    source = source or scenario.name
    replications = replications_argument(replications, "whatif")
    variants = names_argument(variants, "variants", "whatif")
    queue_below = whole_number(queue_below, "queue_below", 1, "whatif")
    if (state is None) == (at is None):
        raise StateError(f"{source}: give a desk state or a time to take one at (`at`), "
                         "not both and not neither")
    horizon = scenario.horizon
    stop = horizon.end_s + horizon.drain
    state_source = "<state>"
    if at is not None:
        state = snapshot_at(scenario, at, snapshot_replication, seed, source=source)
        state_source = f"{source} at {format_clock(float(state.time), horizon.day0)}"
    elif not isinstance(state, DeskState):
        state_source = str(state)
        state = load(state)
    resolved = resolve(state, scenario, state_source)
    time_s = float(resolved.time)
    until_s = stop
    if for_s is not None:
        length = _duration(for_s, "--for")
        until_s = min(stop, time_s + length)
    scenario_targets(scenario, source)
    chosen = action_variants(scenario, variants, actions, source)
    if baseline not in chosen:
        raise ScenarioError(f"{source}: baseline {baseline!r} is not among the variants run "
                            f"({', '.join(chosen)})")
    states = {}
    for name, variant in chosen.items():
        label = state_source if name == baseline else f"{state_source} (variant {name})"
        states[name] = staffed_state(resolve(state, variant, label), chosen[baseline],
                                     variant, time_s)
    count = replications or scenario.replications
    seed = scenario.seed if seed is None else seed
    tasks = [(SHARED, name, r, seed, until_s) for r in range(count) for name in chosen]
    shared = (chosen, states, time_s, queue_below, state_source)
    with make_executor(workers, dask, shared=shared, tasks=len(tasks)) as executor, \
            tqdm(total=len(tasks), desc=f"what-if {scenario.name}", unit="run",
                 disable=not progress, leave=False) as bar:
        outcomes = executor.map(_replicate, tasks, progress=bar)
    return _collect(scenario, resolved, chosen, tasks, outcomes, time_s, until_s, baseline,
                    queue_below, source, dict(actions or {}))


def _collect(scenario, state, chosen, tasks, outcomes, time_s, until_s, baseline,
             queue_below, source, actions) -> WhatIf:
    rows, series, cdfs = [], [], {}
    rates: dict[str, list[np.ndarray]] = {name: [] for name in chosen}
    clears: dict[str, list[float]] = {name: [] for name in chosen}
    queue_now: dict[str, int] = {}
    for (_, name, r, _, _), (values, frame, shares, rate, clear, now) in zip(tasks, outcomes):
        rows.append({"variant": name, "replication": r, **values})
        frame = frame[(frame["interval_end_s"] > time_s)
                      & (frame["interval_start_s"] < until_s)].copy()
        frame.insert(0, "replication", r)
        frame.insert(0, "variant", name)
        series.append(frame)
        for quantity, share in shares.items():
            cdfs.setdefault((name, quantity), []).append(share)
        rates[name].append(rate)
        clears[name].append(clear)
        queue_now.setdefault(name, now)
    per_replication = pd.DataFrame(rows)
    interval_runs = pd.concat(series, ignore_index=True)
    intervals = (interval_runs.drop(columns="replication")
                 .groupby(["variant", "interval_start_s", "interval_end_s"], sort=False)
                 .mean().reset_index())
    intervals.insert(1, "interval_start", metrics.interval_start(intervals["interval_start_s"],
                                                         scenario.horizon.day0))
    judged = scenario_targets(scenario, source)
    results = Results(scenario, chosen, per_replication, summarize_replications(per_replication),
                      intervals, interval_runs, {}, {k: np.vstack(v) for k, v in cdfs.items()},
                      None, "", True, tasks[0][3] if tasks else scenario.seed, judged)
    comparison = compare(results, baseline=baseline) if len(chosen) > 1 else None

    edges = _edges(time_s, until_s, STEP_S)
    reply_rows = []
    for name in chosen:
        runs = np.vstack(rates[name])
        for k in range(len(edges) - 1):
            mean, low, high = bounded_interval(runs[:, k], 0.0, 1.0)
            reply_rows.append((name, edges[k], edges[k + 1], mean, low, high,
                               int(np.isfinite(runs[:, k]).sum())))
    reply = pd.DataFrame(reply_rows, columns=[c for c in REPLY_COLUMNS if c != "interval_start"])
    reply.insert(3, "interval_start", metrics.interval_start(reply["interval_start_s"],
                                                     scenario.horizon.day0))
    window = until_s - time_s
    clear_rows = []
    for name in chosen:
        values = np.array(clears[name], dtype=float)
        cleared = int(np.isfinite(values).sum())
        censored = np.where(np.isfinite(values), values, window)
        mean, low, high = bounded_interval(censored, 0.0, window)
        clear_rows.append((name, queue_now[name], mean, low, high, cleared, len(values)))
    clear = pd.DataFrame(clear_rows, columns=CLEAR_COLUMNS)
    cost_rows = []
    summary = results.summary.set_index(["variant", "metric"])
    for name in chosen:
        entry = summary.loc[(name, "cost")]
        extra = (0.0, 0.0, 0.0)
        if comparison is not None and name != baseline:
            row = comparison[(comparison["variant"] == name) & (comparison["metric"] == "cost")]
            if len(row):
                extra = tuple(float(row.iloc[0][c]) for c in ("difference", "ci_low",
                                                               "ci_high"))
        cost_rows.append((name, float(entry["mean"]), float(entry["ci_low"]),
                          float(entry["ci_high"]), *extra))
    costs = pd.DataFrame(cost_rows, columns=COST_COLUMNS)
    return WhatIf(scenario, state, time_s, until_s, baseline, queue_below, results,
                  comparison, reply, clear, costs, source, actions)


def _moment(value: float | str | dt.datetime, scenario: Scenario, name: str) -> float:
    try:
        return moment_seconds(value, scenario.horizon.day0)
    except ValueError as exc:
        raise StateError(f"{name}: {exc}") from None


def _duration(value: float | str, name: str) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise StateError(f"{name}: {exc}") from None
    if not seconds > 0:
        raise StateError(f"{name}: the window must be longer than zero, got {value!r}")
    return seconds


__all__ = ["QUEUE_BELOW", "STEP_S", "WhatIf", "action_variants", "queue_clear_time",
           "queue_length_at", "reply_rates", "whatif"]
