"""`supportsim staff`: the fewest agents per interval that meet a target in every counted interval.

The search is simulation-based. Every candidate schedule is run for the same replications with
the same random streams (common random numbers: the same buyers, messages and reply lengths),
so two candidates differ only by their staffing. It starts from the iterative staffing
algorithm (`isa_staffing`; or from the MOL Erlang C estimate), takes most of the start's
surplus off in whole-horizon bulk rounds (`bulk_lower`), then walks the intervals in time
order, because a queue carries over from one interval into the next:

- if the target fails in the interval, add agents there until it holds;
- otherwise remove agents there while the target still holds in that interval and in no
  earlier interval breaks.

A candidate changing interval i is simulated from a snapshot of the desk just before i over a
few intervals (`_partial_pass`), or over the whole horizon (`method="full"`). Passes repeat
until one changes nothing or `max_passes` (one by default with partial runs). The schedule is
then checked on whole-horizon simulations (`polish`), which raise the cells still missing and
take agents off cells with room; the table and its notes come from that check. A cell where
more agents stop helping before the target is met (its metric no better, or hardly better, with
the cap than with fewer) keeps the starting schedule's count, and the report names it. Uncounted
intervals (outside the metric's counted hours) keep the MOL estimate. For comparison the
command also reports SIPP staffing (stationary Erlang C per interval) and MOL staffing, both
simulated on the same replications. docs/staffing.md describes the method and its
measurements.
"""

from __future__ import annotations

import copy
import io
import math
import shutil
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import yaml
from tqdm import tqdm

from sim.analysis import metrics, registry, targets
from sim.analysis import queueing as analytic
from sim.analysis.stats import t_interval
from sim.analysis.targets import Target, TargetError
from sim.arrivals import Customers, sample_customers, streams
from sim.engine import DeskRun
from sim.engine.snapshot import DeskState, capture, prepare
from sim.output.files import atomic_write_bytes, atomic_write_text, write_csv
from sim.output.plots import BEYOND_COLOUR, BEYOND_LABEL, shading_label
from sim.parallel import SHARED, make_executor
from sim.scenario import (
    Scenario,
    Schedule,
    rate_table,
    scenario_from_dict,
)
from sim.units import format_clock

# --- targets ------------------------------------------------------------------------------------

#: Metrics a staffing target may name: those `interval_counts` counts per interval. What a
#: target is, how it is written and checked, is `sim.analysis.targets`.
TARGET_METRICS = ("reply_rate_5min", "first_response_30s_rate", "abandon_rate",
                  "first_response_mean_s")


def parse_target(text: str) -> Target:
    """A target staffing can search for: `sim.analysis.targets.parse_target`, on one of the
    metrics with a per-interval count (`TARGET_METRICS`)."""
    target = targets.parse_target(text)
    if target.metric not in TARGET_METRICS:
        raise TargetError(f"target {text!r}: staffing has no per-interval count of "
                          f"{target.metric}; targets may name {', '.join(TARGET_METRICS)}")
    return target


# --- per-interval metrics -------------------------------------------------------------------------


def interval_counts(tables: metrics.Tables, scenario: Scenario, target: Target,
                    edges_s: np.ndarray, topics: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of the target's metric per interval, by the interval the
    buyer arrived in, over buyers of `topics`, with the same definitions as `metrics.summarize`
    (offered waits, reported buyers out, bot replies counted only when the scenario says so)."""
    bot_counts = scenario.bot.replies_count
    if target.metric == "reply_rate_5min":
        return metrics.interval_reply_counts(tables, edges_s, scenario.metrics.pinduoduo.threshold,
                                             bot_counts, topics)
    conv = tables.conversations
    n_intervals = len(edges_s) - 1
    bins, keep = metrics.arrival_intervals(conv, edges_s)
    keep &= conv["topic"].isin(topics).to_numpy()
    reported = conv["reported"].to_numpy()
    numerator = np.zeros(len(conv))
    counted = np.zeros(len(conv), dtype=bool)
    if target.metric in ("first_response_30s_rate", "first_response_mean_s"):
        first = metrics.first_responses(tables, bot_counts)
        ids = first["conversation"].to_numpy()
        replied = first["replied"].to_numpy()
        wait = first["offered_wait_s"].to_numpy()
        if target.metric == "first_response_30s_rate":
            counted[ids] = True
            numerator[ids] = replied & (wait <= scenario.metrics.first_response_threshold)
        else:
            counted[ids[replied]] = True
            numerator[ids[replied]] = wait[replied]
            # An interval whose buyers all went unanswered has no mean over answered buyers;
            # it must not pass as "no buyers" (staffing it with nobody would meet any target):
            # each of its buyers counts as waiting the whole run, which misses any target a
            # run could meet. (Finite, so that the search's sums and differences of counts
            # stay exact; an infinity would turn into NaN there, which passes.)
            unanswered = np.zeros(len(conv), dtype=bool)
            unanswered[ids[~replied]] = True
            unanswered &= keep & ~reported
        counted &= ~reported
    elif target.metric == "abandon_rate":
        counted = np.isfinite(conv["queued_s"].to_numpy())
        numerator = (conv["outcome"].to_numpy() == "abandoned").astype(float)
    else:  # parse_target admits only the metrics above
        raise TargetError(f"no per-interval definition for {target.metric!r}")
    mask = keep & counted
    # (float even when no buyer counts: bincount of nothing with weights gives integers)
    num = np.bincount(bins[mask], weights=numerator[mask],
                      minlength=n_intervals)[:n_intervals].astype(float)
    den = np.bincount(bins[mask], minlength=n_intervals)[:n_intervals].astype(float)
    if target.metric == "first_response_mean_s":
        left = np.bincount(bins[unanswered], minlength=n_intervals)[:n_intervals]
        none = (den == 0) & (left > 0)
        horizon = scenario.horizon
        whole_run_s = horizon.end_s + horizon.drain - horizon.start_s
        num[none], den[none] = left[none] * whole_run_s, left[none]
    return num, den


@dataclass(frozen=True)
class Evaluation:
    """A schedule's per-interval counts over the replications: arrays (replications, groups,
    intervals)."""

    numerator: np.ndarray
    denominator: np.ndarray

    def estimate(self) -> np.ndarray:
        """Pooled estimate per (group, interval): total numerator over total denominator
        across replications (NaN without buyers)."""
        num, den = self.numerator.sum(axis=0), self.denominator.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan)

    def per_replication(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.denominator > 0, self.numerator / self.denominator, np.nan)

    def holds(self, target: Target) -> np.ndarray:
        """Whether the pooled estimate meets the target, per (group, interval)."""
        return np.vectorize(target.met, otypes=[bool])(self.estimate())


# --- simulation of candidate schedules --------------------------------------------------------


def with_headcounts(scenario: Scenario, headcounts: dict[str, tuple[int, ...]],
                    edges_s: np.ndarray) -> Scenario:
    """`scenario` with the named groups' schedules replaced by headcount step tables."""
    day0 = scenario.horizon.day0
    groups = dict(scenario.groups)
    for name, counts in headcounts.items():
        table = {clock_key(t, day0): int(n) for t, n in zip(edges_s[:-1], counts)}
        groups[name] = groups[name].model_copy(update={"schedule": Schedule(headcount=table)})
    return scenario.model_copy(update={"groups": groups})


def clock_key(seconds: float, day0) -> str:
    """Headcount-table key of a simulation time: 'HH:MM' (dated when the horizon is)."""
    text = format_clock(seconds, day0)
    rest = round(seconds) % 60
    return f"{text}:{rest:02d}" if rest else text


class _Context:
    """What a worker needs to run candidates: fixed scenario, streams and metric settings.

    The executor gives every worker its own copy once (`shared=`), so the buyers each worker
    draws stay cached there for every later candidate."""

    def __init__(self, scenario: Scenario, target: Target, groups: list[str],
                 topics: dict[str, list[str]], edges_s: np.ndarray, seed: int):
        self.scenario = scenario
        self.target = target
        self.groups = groups
        self.topics = topics
        self.edges_s = edges_s
        self.seed = seed
        self.table = rate_table(scenario)
        self._customers: dict[int, Customers] = {}
        self._candidates: OrderedDict[tuple, Scenario] = OrderedDict()

    def candidate(self, headcounts: dict[str, tuple[int, ...]]) -> Scenario:
        # A worker runs a candidate on several replications in a row: its scenario is built
        # once (the last few are kept).
        key = schedule_key(headcounts, list(headcounts))
        scenario = self._candidates.get(key)
        if scenario is None:
            scenario = with_headcounts(self.scenario, headcounts, self.edges_s)
            self._candidates[key] = scenario
            if len(self._candidates) > CANDIDATES_KEPT:
                self._candidates.popitem(last=False)
        else:
            self._candidates.move_to_end(key)
        return scenario

    def customers(self, replication: int) -> Customers:
        # Customers depend only on (seed, replication) and the arrival fields, never on the
        # staffing, so they are drawn once and reused by every candidate.
        if replication not in self._customers:
            rngs = streams(self.seed, replication)
            self._customers[replication] = sample_customers(self.scenario, rngs, self.table)
        return self._customers[replication]

    def run(self, headcounts: dict[str, tuple[int, ...]], replication: int
            ) -> tuple[np.ndarray, np.ndarray]:
        candidate = self.candidate(headcounts)
        records = DeskRun(candidate, self.customers(replication)).run()
        return self.counts(candidate, records)


    def counts(self, candidate: Scenario, records) -> tuple[np.ndarray, np.ndarray]:
        tables = metrics.Tables.from_records(records)
        counts = [interval_counts(tables, candidate, self.target, self.edges_s, self.topics[g])
                  for g in self.groups]
        return np.array([c[0] for c in counts]), np.array([c[1] for c in counts])

    def run_from_start(self, headcounts: dict[str, tuple[int, ...]], replication: int,
                       snapshot_at: int) -> tuple[np.ndarray, np.ndarray, DeskState]:
        """A full run, with the desk written down just before interval `snapshot_at` starts."""
        candidate = self.candidate(headcounts)
        run = DeskRun(candidate, self.customers(replication))
        caps = []
        records = run.run(pause_at=[snapshot_time(self.edges_s, snapshot_at)],
                          on_pause=lambda r: caps.append(capture(r, self.seed, replication)))
        return (*self.counts(candidate, records), caps[0].finish())

    def run_window(self, headcounts: dict[str, tuple[int, ...]], replication: int,
                   state: DeskState, next_at: int | None, stop_index: int
                   ) -> tuple[np.ndarray, np.ndarray, DeskState | None]:
        """A partial run: from `state` (the desk just before some interval starts) to the
        start of interval `stop_index` (the end of the drain for the last), counting the
        buyers open at the state's time or arriving before the stop; the desk is written down
        just before interval `next_at`."""
        candidate = self.candidate(headcounts)
        horizon = self.scenario.horizon
        # The last interval's window runs through the drain, as a full run does.
        stop_s = (float(self.edges_s[stop_index]) if stop_index < n_intervals(self.edges_s)
                  else horizon.end_s + horizon.drain)
        run, rows = prepare(candidate, state, replication, self.seed, until_s=stop_s,
                            customers=self.customers(replication))
        caps = []
        pause = [] if next_at is None else [snapshot_time(self.edges_s, next_at)]
        records = run.run(pause_at=pause,
                          on_pause=lambda r: caps.append(capture(r, self.seed, replication)))
        rows = rows[records.arrival_s[rows] < stop_s]
        num, den = self.counts(candidate, records.subset(rows))
        return num, den, (caps[0].finish() if caps else None)

    def occupancy(self, headcounts: dict[str, tuple[int, ...]], replication: int,
                  per_interval: int) -> tuple[np.ndarray, np.ndarray]:
        """Busy slots and busy typists of each group at `per_interval` evenly spaced times
        of every interval (arrays (groups, intervals, per_interval)), for the ISA start."""
        candidate = self.candidate(headcounts)
        records = DeskRun(candidate, self.customers(replication)).run()
        return busy_counts(records, candidate, self.groups, self.edges_s, per_interval)


def snapshot_time(edges_s: np.ndarray, interval: int) -> float:
    """When the desk is written down for a change at `interval`: a millisecond before the
    interval starts, so a candidate's own change of headcount at the start is still ahead of
    the state (a state taken at the exact start would already be past the change the
    schedule it came from makes there, or makes none)."""
    return float(edges_s[interval]) - SNAPSHOT_LEAD_S


def schedule_key(headcounts: dict[str, np.ndarray], groups: list[str], upto: int | None = None
                 ) -> tuple:
    """A hashable form of `groups`' headcounts (up to interval `upto`), for caches."""
    return tuple((g, tuple(int(n) for n in headcounts[g][:upto])) for g in groups)


#: Candidate scenarios a worker keeps built.
CANDIDATES_KEPT = 8

#: How long before an interval's start its snapshot is taken.
SNAPSHOT_LEAD_S = 1e-3


def busy_counts(records, scenario: Scenario, groups: list[str], edges_s: np.ndarray,
                per_interval: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group, at `per_interval` times inside each interval: the chat slots in use or
    wanted (conversations with people, assigned or waiting for an agent; a phone call takes
    every slot of its agent) and the replies in progress or wanted (messages sent and not yet
    answered: an agent types one reply at a time). A conversation counts for the group whose
    agent took it, else for every staffed group that may take its topic, shared evenly."""
    n = len(edges_s) - 1
    offsets = (np.arange(per_interval) + 0.5) / per_interval
    times = (edges_s[:-1, None] + np.diff(edges_s)[:, None] * offsets[None, :]).ravel()
    topics = records.topics
    queued = records.queued_s
    people = np.isfinite(queued)
    end = np.where(np.isfinite(records.end_at_s), records.end_at_s, records.stop_s)
    takers = {t: [k for k, g in enumerate(groups) if topics[t] in group_topics(scenario, g)]
              for t in range(len(topics))}
    name_index = {name: k for k, name in enumerate(records.group_names)}
    slots = np.zeros((len(groups), len(times)))
    typing = np.zeros((len(groups), len(times)))
    sent, reply = records.sent_s, records.reply_s
    conv_of_msg = np.repeat(np.arange(len(queued)), records.n_messages)
    msg_end = np.where(np.isfinite(reply), reply, end[conv_of_msg])
    for k, g in enumerate(groups):
        weight = np.zeros(len(queued))
        served = records.group == name_index[g]
        weight[served] = 1.0
        unserved = people & (records.group < 0)
        for t, who in takers.items():
            if k in who:
                weight[unserved & (records.topic == t)] = 1.0 / len(who)
        spec = scenario.groups[g]
        phone = np.array([scenario.topics[t].channel == "phone" for t in topics])[records.topic]
        slot_weight = np.where(phone, spec.concurrency, 1.0) * weight
        keep = people & (weight > 0)
        slots[k] = _in_progress(queued[keep], end[keep], slot_weight[keep], times)
        mw = weight[conv_of_msg]
        mkeep = np.isfinite(sent) & (mw > 0)
        typing[k] = _in_progress(sent[mkeep], msg_end[mkeep], mw[mkeep], times)
    shape = (len(groups), n, per_interval)
    return slots.reshape(shape), typing.reshape(shape)


def _in_progress(starts: np.ndarray, ends: np.ndarray, weights: np.ndarray,
                 times: np.ndarray) -> np.ndarray:
    """Total weight of the spans [start, end) covering each time."""
    order_s, order_e = np.argsort(starts), np.argsort(ends)
    begun = np.concatenate([[0.0], np.cumsum(weights[order_s])])
    ended = np.concatenate([[0.0], np.cumsum(weights[order_e])])
    return (begun[np.searchsorted(starts[order_s], times, side="right")]
            - ended[np.searchsorted(ends[order_e], times, side="right")])


def _run_candidate(context: _Context, headcounts: dict[str, tuple[int, ...]],
                   replication: int) -> tuple[np.ndarray, np.ndarray]:
    """One task: a candidate on one replication, with the worker's copy of the context."""
    return context.run(headcounts, replication)


def _run_from_start(context: _Context, headcounts, replication: int, snapshot_at: int):
    return context.run_from_start(headcounts, replication, snapshot_at)


def _run_window(context: _Context, headcounts, replication: int, state: DeskState,
                next_at: int | None, stop_index: int):
    return context.run_window(headcounts, replication, state, next_at, stop_index)


def _occupancy(context: _Context, headcounts, replication: int, per_interval: int):
    return context.occupancy(headcounts, replication, per_interval)


class Evaluator:
    """Runs candidate schedules on fixed replications (common random numbers), with a cache.

    A candidate runs either over the whole horizon (`__call__`, `from_start`) or from the
    desk states of its replications just before one interval up to a later interval
    (`window`, a partial simulation). The replications of a candidate run on
    `sim.parallel.make_executor(workers, dask)` (default: in this process), which gives each
    worker the context once. `full_runs` and `partial_runs` count simulated replications."""

    def __init__(self, context: _Context, replications: int, workers: int | None = 1,
                 dask: str | None = None):
        self.context = context
        self.replications = replications
        self.cache: dict[tuple, Evaluation] = {}
        self.windows: dict[tuple, tuple[Evaluation, list[DeskState] | None]] = {}
        self.starts: dict[tuple, tuple[Evaluation, list[DeskState]]] = {}
        self.full_runs = 0
        self.partial_runs = 0
        self._executor = make_executor(workers, dask, shared=context, tasks=replications)

    @property
    def runs(self) -> int:
        return self.full_runs + self.partial_runs

    def close(self) -> None:
        self._executor.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._executor.__exit__(*exc)

    def _key(self, headcounts: dict[str, np.ndarray], upto: int | None = None) -> tuple:
        return schedule_key(headcounts, self.context.groups, upto)

    def __call__(self, headcounts: dict[str, np.ndarray]) -> Evaluation:
        key = self._key(headcounts)
        if key not in self.cache:
            frozen = dict(key)
            results = self._executor.map(
                _run_candidate, [(SHARED, frozen, r) for r in range(self.replications)])
            self.full_runs += self.replications
            self.cache[key] = Evaluation(np.array([r[0] for r in results]),
                                         np.array([r[1] for r in results]))
        return self.cache[key]

    def from_start(self, headcounts: dict[str, np.ndarray], snapshot_at: int
                   ) -> tuple[Evaluation, list[DeskState]]:
        """A full simulation of every replication, with its desk just before `snapshot_at`."""
        key = (snapshot_at, self._key(headcounts))
        if key in self.starts:
            return self.starts[key]
        frozen = dict(self._key(headcounts))
        results = self._executor.map(
            _run_from_start, [(SHARED, frozen, r, snapshot_at) for r in range(self.replications)])
        self.full_runs += self.replications
        evaluation = Evaluation(np.array([r[0] for r in results]),
                                np.array([r[1] for r in results]))
        self.cache.setdefault(self._key(headcounts), evaluation)
        self.starts[key] = evaluation, [r[2] for r in results]
        return self.starts[key]

    def window(self, headcounts: dict[str, np.ndarray], states: list[DeskState], start: int,
               next_at: int | None, stop_index: int, need_states: bool = False
               ) -> tuple[Evaluation, list[DeskState] | None]:
        """Partial simulations from `states` (the replications' desks just before interval
        `start`, under the schedule `headcounts` has before it) to the start of interval
        `stop_index`: counts of the buyers open at `start` or arriving before the stop, and
        the desks just before `next_at`. Cached by the schedule up to the stop, which fixes
        the result (the desks only while `keep_states` keeps them: `need_states` runs the
        candidate again if they were dropped)."""
        # The peak headcounts fix the run's agents and their ids, which the desks name.
        peaks = tuple(int(np.max(headcounts[g])) for g in self.context.groups)
        key = (start, next_at, stop_index, self._key(headcounts, stop_index), peaks)
        cached = self.windows.get(key)
        if cached is None or (need_states and next_at is not None and cached[1] is None):
            frozen = dict(self._key(headcounts))
            results = self._executor.map(
                _run_window, [(SHARED, frozen, r, states[r], next_at, stop_index)
                              for r in range(self.replications)])
            self.partial_runs += self.replications
            evaluation = Evaluation(np.array([r[0] for r in results]),
                                    np.array([r[1] for r in results]))
            self.windows[key] = (evaluation, None if next_at is None else [r[2] for r in results])
        return self.windows[key]

    def occupancy(self, headcounts: dict[str, np.ndarray], per_interval: int
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Busy slots and busy typists (replications, groups, intervals, per_interval)."""
        frozen = dict(self._key(headcounts))
        results = self._executor.map(
            _occupancy, [(SHARED, frozen, r, per_interval) for r in range(self.replications)])
        self.full_runs += self.replications
        return np.array([r[0] for r in results]), np.array([r[1] for r in results])

    def keep_states(self, start: int, headcounts: dict[str, np.ndarray]) -> None:
        """Drop the desks of the partial runs from `start` except `headcounts`' (the
        accepted schedule's); their counts stay cached."""
        for key, (evaluation, states) in list(self.windows.items()):
            if key[0] == start and states is not None and key[3] != self._key(headcounts,
                                                                               key[2]):
                self.windows[key] = (evaluation, None)

    def forget_windows(self) -> None:
        """Drop cached partial runs (their desk states take memory)."""
        self.windows.clear()
        self.starts.clear()


# --- analytic estimates ---------------------------------------------------------------------------


def group_topics(scenario: Scenario, group: str) -> list[str]:
    """Topics whose buyers a group's target is measured on: its skills (all topics if pooled)."""
    if scenario.routing.mode == "pooled":
        return list(scenario.topics)
    return list(scenario.groups[group].skills)


def _bot_active(scenario: Scenario, times_s: np.ndarray) -> np.ndarray:
    return np.array([scenario.bot.active_at(float(t)) for t in times_s], dtype=bool)


def group_arrival_rates(scenario: Scenario, group: str) -> np.ndarray:
    """Expected conversations per second reaching the group's people, per interval: the
    scenario's rate times the share of the group's topics, less what the bot deflects."""
    table = rate_table(scenario)
    topics = list(table.topics)
    active = _bot_active(scenario, table.edges_s[:-1])
    share = np.zeros(len(table.rate_per_s))
    for topic in group_topics(scenario, group):
        deflect = scenario.bot.deflection.get(topic, 0.0)
        share += table.mix[:, topics.index(topic)] * np.where(active, 1.0 - deflect, 1.0)
    rates = table.rate_per_s * share
    if scenario.routing.mode == "pooled":
        rates = rates / len(scenario.groups)  # a pooled load, shared evenly for the estimate
    return rates


def handling_time_s(scenario: Scenario, group: str) -> float:
    """Agent time one conversation costs, for the Erlang estimates: the larger of its slot
    time over the concurrency (slots bind) and its typing time (the agent types one reply at a
    time), averaged over the group's topics by expected volume."""
    spec = scenario.groups[group]
    table = rate_table(scenario)
    volume = table.rate_per_s * np.diff(table.edges_s)
    slot = typing = weight = 0.0
    for topic in group_topics(scenario, group):
        share = float(np.sum(volume * table.mix[:, list(table.topics).index(topic)]))
        t = scenario.topics[topic]
        messages = t.messages.mean_value()
        reply = spec.reply_dist(topic).mean_value() / spec.proficiency
        concurrency = 1 if t.channel == "phone" else spec.concurrency
        slot_s = messages * reply + (messages - 1) * t.think_time.mean_value()
        slot += share * slot_s / concurrency
        typing += share * messages * reply
        weight += share
    if weight == 0:
        return 1.0
    return max(slot, typing) / weight


def abandon_rate_per_s(scenario: Scenario, group: str) -> float:
    """Volume-weighted 1 / mean patience of the group's topics (0 for topics without)."""
    table = rate_table(scenario)
    volume = table.rate_per_s * np.diff(table.edges_s)
    total = rate = 0.0
    for topic in group_topics(scenario, group):
        share = float(np.sum(volume * table.mix[:, list(table.topics).index(topic)]))
        patience = scenario.topics[topic].patience
        total += share
        if patience is not None and patience.mean_value() > 0:
            rate += share / patience.mean_value()
    return rate / total if total else 0.0


def analytic_staffing(scenario: Scenario, group: str, target: Target, method: str) -> np.ndarray:
    """Agents per interval by SIPP or MOL (Erlang C; Erlang A for an abandonment target)."""
    rates = group_arrival_rates(scenario, group)
    service_rate = 1.0 / handling_time_s(scenario, group)
    interval_s = scenario.arrivals.interval
    # Erlang formulas want a probability strictly inside (0, 1).
    share = min(max(target.value, 1e-6), 1 - 1e-6)
    abandon_rate = None
    if target.metric == "reply_rate_5min":
        kind, goal, threshold = "service_level", share, scenario.metrics.pinduoduo.threshold
    elif target.metric == "first_response_30s_rate":
        kind, goal, threshold = "service_level", share, scenario.metrics.first_response_threshold
    elif target.metric == "abandon_rate":
        kind, goal, threshold = "p_abandon", share, None
        abandon_rate = abandon_rate_per_s(scenario, group)
    else:
        kind, goal, threshold = "mean_wait", target.value, None
    try:
        return analytic.staffing_per_interval(rates, interval_s, service_rate, goal, method,
                                              kind, threshold, abandon_rate=abandon_rate)
    except ValueError as exc:
        raise StaffingError(f"{method.upper()} estimate for group {group}: {exc}") from None


# --- the search ---------------------------------------------------------------------------------


def time_ordered(mask: np.ndarray) -> list[tuple[int, int]]:
    """The True cells of a (groups, intervals) mask as (group index, interval), in time
    order (groups in order within an interval)."""
    return sorted(((int(k), int(i)) for k, i in zip(*np.nonzero(mask))),
                  key=lambda cell: (cell[1], cell[0]))


def scope_text(reachable: int, beyond: int) -> str:
    """Where a schedule or roster is meant to meet the target, for titles, given the counted
    intervals more agents can bring to it (`reachable`) and those they cannot (`beyond`)."""
    if not reachable and not beyond:
        return "in the counted intervals (none in this horizon)"
    if not reachable:
        return ("in the counted intervals (more agents cannot bring the one to it)"
                if beyond == 1 else
                f"in the counted intervals (more agents can bring none of the {beyond} to it)")
    return ("in every counted interval" if not beyond else
            f"in every counted interval more agents can bring to it ({beyond} cannot)")


class StaffingError(Exception):
    """The search cannot go on (e.g. a cell that might meet the target with more agents
    than --max-agents allows)."""


class Plateau(NamedTuple):
    """Why a counted cell is left at `kept` agents: it misses the target with `cap` agents
    (`at_cap`) and with `probe` (`at_probe`), and gains too little between the two."""

    kept: int
    cap: int
    at_cap: float
    probe: int
    at_probe: float


@dataclass
class Unreachable:
    """Counted cells where more agents stopped helping before the target was met: the cell
    misses it with the cap and with `probe` agents (ample: at least twice the cap and the
    default cap), and its metric is no better, or hardly better, with `probe` than with the
    cap (`_stopped_helping`; its buyers are lost or answered late whatever the staffing).
    Each keeps the count it had when that was found (the starting schedule's unless a pass
    had lowered it) and is left out of the search from then on; the report names them.
    Staffing it up to where the metric stops improving could take many times the agents for
    no gain against the target.

    `cells` maps (group index, interval) to its `Plateau`."""

    probe: int = 0
    cells: dict[tuple[int, int], Plateau] = field(default_factory=dict)

    def __contains__(self, cell: tuple[int, int]) -> bool:
        return cell in self.cells

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """(groups, intervals) bool: True on the cells found unreachable."""
        marked = np.zeros(shape, dtype=bool)
        for k, i in self.cells:
            marked[k, i] = True
        return marked


@dataclass
class StaffingResult:
    """What the search found, with the analytic schedules it is compared against.

    Headcount arrays are per interval of `edges_s`; evaluations are on the search replications.
    """

    scenario: Scenario
    target: Target
    groups: list[str]
    edges_s: np.ndarray
    counted: np.ndarray  # (groups, intervals) bool
    headcount: dict[str, np.ndarray]
    mol: dict[str, np.ndarray]
    sipp: dict[str, np.ndarray]
    evaluation: Evaluation
    mol_evaluation: Evaluation
    sipp_evaluation: Evaluation
    replications: int
    seed: int
    passes: int
    converged: bool
    runs: int
    notes: list[str] = field(default_factory=list)
    full_runs: int = 0      # replications simulated over the whole horizon
    partial_runs: int = 0   # replications simulated from a snapshot over a few intervals
    start: str = "mol"
    method: str = "full"
    lookahead: int = 0
    initial: dict[str, np.ndarray] | None = None  # the schedule the search started from
    initial_evaluation: Evaluation | None = None
    isa_rounds: int = 0
    bulk_rounds: int = 0  # whole-horizon rounds lowering every cell with room at once
    isa_alpha: float = 0.0
    unreachable: Unreachable = field(default_factory=Unreachable)

    def unreachable_mask(self) -> np.ndarray:
        """(groups, intervals) bool: the counted cells that no staffing brings to the target
        (`Unreachable`) and that miss it on the final simulation."""
        fails = self.counted & ~self.evaluation.holds(self.target)
        return fails & self.unreachable.mask(fails.shape)

    def unreachable_cells(self) -> list[tuple[int, int]]:
        """`unreachable_mask`'s cells as (group index, interval), in time order."""
        return time_ordered(self.unreachable_mask())

    def aim(self) -> str:
        """Where the schedule is meant to meet the target, for titles: every counted
        interval, but those more agents cannot bring to it."""
        beyond = len(self.unreachable_cells())
        return scope_text(int(self.counted.sum()) - beyond, beyond)

    def missing_cells(self) -> list[tuple[str, str]]:
        """(group, interval clock) of the counted cells where the target fails on the final
        simulation, but for those no staffing brings to it (`unreachable_cells`)."""
        fails = self.counted & ~self.evaluation.holds(self.target) & ~self.unreachable_mask()
        day0 = self.scenario.horizon.day0
        return [(self.groups[k], clock_key(self.edges_s[i], day0))
                for k, i in zip(*np.nonzero(fails))]

    def check_notes(self, max_passes: int) -> list[str]:
        """What the final full simulation says about the schedule, in words that agree
        with the table: it meets the target in every counted interval, or these miss."""
        missing = self.missing_cells()
        passes = _many(max_passes, "pass", "passes")
        # Whole-horizon passes settle given enough of them. The partial search's pass is not
        # meant to: the full check's rounds after it decide the schedule, and more passes
        # judged on partial runs leave more cells missing (PARTIAL_PASSES), so no advice to
        # raise them.
        settled = ("" if self.converged or self.method == "partial" else
                   f"; the search did not settle within {passes}, so the schedule "
                   "may not be locally minimal (raise --max-passes)")
        notes = self._unreachable_notes()
        if not self.counted.any():
            return [(f"no interval of the horizon is counted by {self.target.metric} (it "
                     "counts the Pinduoduo counted hours only: metrics.pinduoduo.window; "
                     "--all-day counts every interval), so every interval keeps the MOL "
                     "estimate")]
        if not missing:
            if notes and len(self.unreachable_cells()) == int(self.counted.sum()):
                return notes  # no counted interval is left to meet the target in
            every = "every other" if notes else "every"
            return notes + [(f"the full simulation of the schedule meets the target in {every} "
                             f"counted interval{settled}")]
        shown = ", ".join(f"{clock} ({group})" for group, clock in missing[:12])
        more = f" and {len(missing) - 12} more" if len(missing) > 12 else ""
        if self.method == "partial":
            why = (f"the full check's {POLISH_ROUNDS} whole-horizon rounds of raising missed "
                   "cells did not clear them (a raised cell can tip a later one over the edge "
                   "of the target)")
        else:  # whole-horizon candidates: only a search that did not settle leaves misses
            why = (f"the search did not settle within {passes} and the full check's "
                   f"{REPAIR_ROUNDS} rounds of raising missed cells did not clear them (a "
                   "raised cell can break a later one; raise --max-passes)")
        return notes + [(f"{len(missing)} {'other ' if notes else ''}counted interval(s) miss "
                         f"the target on the full simulation: {shown}{more}; {why}")]

    def _unreachable_notes(self) -> list[str]:
        """The counted cells no staffing brings to the target, with their numbers."""
        cells = self.unreachable_cells()
        if not cells:
            return []
        day0 = self.scenario.horizon.day0
        values = self.evaluation.estimate()
        shown = []
        for k, i in cells[:12]:
            plateau = self.unreachable.cells[(k, i)]
            staffed = int(self.headcount[self.groups[k]][i])
            shown.append(f"{clock_key(self.edges_s[i], day0)} ({self.groups[k]}: "
                         f"{plateau.at_cap:.4g} with {plateau.cap} agents, {plateau.at_probe:.4g}"
                         f" with {plateau.probe}; kept at {staffed}: {values[k, i]:.4g})")
        more = f" and {len(cells) - 12} more" if len(cells) > 12 else ""
        start = "ISA start" if self.start == "isa" else "MOL estimate"
        from_start = all(self.unreachable.cells[(k, i)].kept == self.initial[self.groups[k]][i]
                         for k, i in cells)
        kept = (f"its count from the {start}" if from_start else
                f"the count it had when the search found this (the {start}'s, unless the "
                "search had lowered it before)")
        probes = sorted({self.unreachable.cells[cell].probe for cell in cells})
        return [(f"{len(cells)} counted interval(s) cannot meet the target by adding agents: "
                 f"{', '.join(shown)}{more}. More agents stop helping there before "
                 f"{self.target.metric} reaches the target, or help so little that at the "
                 f"rate seen from the cap to {'/'.join(map(str, probes))} agents it would take "
                 "more than as many again (its buyers are lost or answered late whatever the "
                 "staffing: e.g. replies slower than the target, or buyers leaving before "
                 f"anyone could answer), so each keeps {kept}; choose another target, or more "
                 "--replications if an interval's numbers rest on few buyers")]

    def agent_hours(self, schedule: dict[str, np.ndarray]) -> dict[str, float]:
        widths_h = np.diff(self.edges_s) / 3600.0
        return {g: float(np.sum(schedule[g] * widths_h)) for g in self.groups}

    def cost(self, schedule: dict[str, np.ndarray]) -> float:
        hours = self.agent_hours(schedule)
        return float(sum(hours[g] * self.scenario.groups[g].hourly_cost for g in self.groups))

    def missed(self, evaluation: Evaluation) -> int:
        """Counted (group, interval) cells where the target fails."""
        return int(np.sum(self.counted & ~evaluation.holds(self.target)))

    def table(self) -> pd.DataFrame:
        """One row per (group, interval): staffing by each method and the simulated metric."""
        rows = []
        rates = {g: group_arrival_rates(self.scenario, g) for g in self.groups}
        values = self.evaluation.per_replication()
        pooled = self.evaluation.estimate()
        sipp, mol = self.sipp_evaluation.estimate(), self.mol_evaluation.estimate()
        day0 = self.scenario.horizon.day0
        share = registry.is_share(self.target.metric)
        beyond = self.unreachable_mask()
        for k, group in enumerate(self.groups):
            for i, start in enumerate(self.edges_s[:-1]):
                _, low, high = t_interval(values[:, k, i])
                if share:  # a share's interval stays within [0, 1]
                    low, high = max(low, 0.0), min(high, 1.0)
                rows.append({
                    "group": group, "interval_start_s": start,
                    "interval_end_s": self.edges_s[i + 1], "clock": clock_key(start, day0),
                    "counted": bool(self.counted[k, i]),
                    "arrivals_per_hour": rates[group][i] * 3600.0,
                    "mol": int(self.mol[group][i]), "sipp": int(self.sipp[group][i]),
                    "simulation": int(self.headcount[group][i]),
                    self.target.metric: pooled[k, i], "ci_low": low, "ci_high": high,
                    "buyers_per_replication": self.evaluation.denominator[:, k, i].mean(),
                    "sipp_" + self.target.metric: sipp[k, i],
                    "mol_" + self.target.metric: mol[k, i],
                    # False where more agents cannot bring the cell to the target (for
                    # this target: `supportsim roster --requirements` reads both).
                    "reachable": not beyond[k, i], "target": str(self.target),
                })
        return pd.DataFrame(rows)


def counted_intervals(scenario: Scenario, target: Target, edges_s: np.ndarray,
                      all_day: bool = False) -> np.ndarray:
    """Intervals the target applies to: for reply_rate_5min those starting inside the
    Pinduoduo counted hours (unless `all_day`), for the other metrics every interval."""
    if target.metric == "reply_rate_5min" and not all_day:
        return metrics.in_window(edges_s[:-1], scenario.metrics.pinduoduo.window)
    return np.ones(len(edges_s) - 1, dtype=bool)


def staffable_groups(scenario: Scenario, wanted: list[str] | None) -> list[str]:
    """The groups to staff: the named ones, or every group with a schedule."""
    if not wanted:
        groups = [g for g, spec in scenario.groups.items() if spec.schedule is not None]
        if not groups:
            raise TargetError("no group has a schedule to staff")
        return groups
    for name in wanted:
        if name not in scenario.groups:
            raise TargetError(f"unknown group {name!r}; known: {', '.join(scenario.groups)}")
    return list(dict.fromkeys(wanted))


#: ISA: the delay probability each counted interval is staffed for (the share of sampled
#: moments at which every agent's typing or every chat slot is taken).
ISA_ALPHA = 0.6
#: ISA: at most this many simulations (each of every replication) before the search.
ISA_ITERATIONS = 6
#: ISA: moments sampled per interval and replication.
ISA_SAMPLES = 30



def find_staffing(scenario: Scenario, target: Target | str, groups: list[str] | None = None, *,
                  replications: int | None = None, seed: int | None = None,
                  all_day: bool = False, workers: int | None = 1, dask: str | None = None,
                  max_passes: int | None = None, max_agents: int | None = None,
                  progress: bool = False, start: str = "isa", method: str = "partial",
                  lookahead: int | None = None, isa_alpha: float = ISA_ALPHA,
                  isa_iterations: int = ISA_ITERATIONS) -> StaffingResult:
    """The fewest agents per interval (per group) meeting `target` in every counted interval,
    by simulation under common random numbers (see the module docstring for the method).

    `start`: "isa" (the iterative staffing algorithm) or "mol"; `method`: "partial"
    (candidates simulated from a snapshot over `lookahead` intervals past the changed one,
    default `default_lookahead`) or "full" (every candidate over the whole horizon). The
    result is always checked by a full simulation of the replications.

    Each candidate's replications run on `sim.parallel.make_executor(workers, dask)` (default:
    in this process); the result is the same on every executor."""
    target = parse_target(target) if isinstance(target, str) else target
    if max_passes is None:
        max_passes = PARTIAL_PASSES if method == "partial" else FULL_PASSES
    if start not in ("isa", "mol"):
        raise StaffingError(f"unknown start {start!r}; use 'isa' or 'mol'")
    if method not in ("partial", "full"):
        raise StaffingError(f"unknown method {method!r}; use 'partial' or 'full'")
    if not 0 < isa_alpha < 1:
        raise StaffingError(f"ISA delay probability {isa_alpha} is not between 0 and 1")
    groups = staffable_groups(scenario, groups)
    replications = replications or scenario.replications
    seed = scenario.seed if seed is None else seed
    edges = rate_table(scenario).edges_s
    lookahead = default_lookahead(edges) if lookahead is None else lookahead
    if lookahead < 1:
        raise StaffingError(f"look-ahead {lookahead}: at least 1 interval")
    counted_row = counted_intervals(scenario, target, edges, all_day)
    counted = np.tile(counted_row, (len(groups), 1))
    notes = []
    if target.metric == "abandon_rate":
        for g in groups:
            if abandon_rate_per_s(scenario, g) == 0:
                raise TargetError(
                    f"target {target}: no topic of group {g!r} has a patience, so nobody "
                    "abandons; choose another target")
    for g in groups:
        if scenario.groups[g].schedule is not None and scenario.groups[g].schedule.shifts:
            notes.append(f"group {g}: its shifts are replaced by a headcount table")
    mol = {g: analytic_staffing(scenario, g, target, "mol") for g in groups}
    sipp = {g: analytic_staffing(scenario, g, target, "sipp") for g in groups}
    # The default cap: ample agents for any interval of the day (the ISA starts there).
    ample = max(50, 4 * max(int(m.max()) for m in mol.values()) + 20)
    cap = max_agents or ample
    context = _Context(scenario, target, groups, {g: group_topics(scenario, g) for g in groups},
                       edges, seed)
    cells = [(i, k) for i in range(n_intervals(edges)) for k in range(len(groups))
             if counted[k, i]]
    converged, passes, isa_rounds, repaired, bulk_rounds = False, 0, 0, 0, 0
    # A cell that misses with the cap is tried with ample agents before it is called
    # unreachable (`_raise`): twice the cap, and at least the default cap.
    unreachable = Unreachable(probe=max(2 * cap, ample))
    with Evaluator(context, replications, workers, dask) as evaluate:
        if start == "isa" and cells:
            with _rounds_bar(f"staff {scenario.name} ISA start", isa_iterations,
                             progress) as bar:
                initial, isa_rounds = isa_staffing(evaluate, scenario, groups, counted, mol,
                                                   cap, isa_alpha, isa_iterations, bar=bar)
        else:
            initial = {g: mol[g].astype(np.int64).copy() for g in groups}
        current = {g: initial[g].copy() for g in groups}
        if method == "partial" and cells:
            with _rounds_bar(f"staff {scenario.name} bulk rounds", BULK_ROUNDS,
                             progress) as bar:
                current, bulk_rounds = bulk_lower(evaluate, current, target, counted,
                                                  lookahead, bar=bar)
        for passes in range(1, max_passes + 1):
            # One bar per pass, whose total is known: a search that settles early ends its
            # last bar full instead of shrinking a bar sized for every pass.
            with tqdm(total=len(cells), desc=f"staff {scenario.name} pass {passes}",
                      unit="interval", disable=not progress, leave=False) as bar:
                if method == "partial" and cells:
                    # Partial runs stay cached from pass to pass: where the schedule up to
                    # a window's stop is unchanged, a later pass re-checks it for nothing.
                    current, changed = _partial_pass(evaluate, current, target, counted, cap,
                                                     lookahead, bar, scenario.horizon.day0,
                                                     unreachable)
                else:
                    current, changed = _full_pass(evaluate, current, target, counted, cells,
                                                  cap, bar, scenario.horizon.day0, unreachable)
            if not changed:
                converged = True
                break
        # The final check: every replication over the whole horizon (cached when the last
        # pass started from this schedule). A counted cell it finds missing is raised by
        # whole-horizon simulations, in time order, and the schedule checked again; cells
        # that no staffing brings to the target are left as the passes staffed them.
        state = evaluate(current)
        day0 = scenario.horizon.day0
        reachable = counted & ~unreachable.mask(counted.shape)
        if method == "partial" and cells:
            with _rounds_bar(f"staff {scenario.name} full check", POLISH_ROUNDS,
                             progress) as bar:
                current, state, repaired, trimmed = polish(evaluate, current, target,
                                                           reachable, lookahead, edges, cap,
                                                           bar=bar)
        else:
            trimmed = 0
            for _ in range(REPAIR_ROUNDS):
                missing = [(i, k) for i, k in cells
                           if reachable[k, i] and not state.holds(target)[k, i]]
                if not missing:
                    break
                for i, k in missing:
                    if (k, i) not in unreachable and not evaluate(current).holds(target)[k, i]:
                        current, _ = _raise(evaluate, current, groups[k], i, k, target, cap,
                                            clock_key(edges[i], day0), unreachable)
                        repaired += (k, i) not in unreachable
                state = evaluate(current)
        start_state = evaluate(initial)
        mol_state = evaluate({g: mol[g] for g in groups})
        sipp_state = evaluate({g: sipp[g] for g in groups})
        full_runs, partial_runs = evaluate.full_runs, evaluate.partial_runs
    result = StaffingResult(scenario, target, groups, edges, counted, current, mol, sipp, state,
                            mol_state, sipp_state, replications, seed, passes, converged,
                            full_runs + partial_runs, notes, full_runs=full_runs,
                            partial_runs=partial_runs, start=start, method=method,
                            lookahead=lookahead, initial=initial, initial_evaluation=start_state,
                            isa_rounds=isa_rounds, isa_alpha=isa_alpha,
                            bulk_rounds=bulk_rounds, unreachable=unreachable)
    if repaired:
        result.notes.append(f"the full check raised {repaired} counted cell(s) the passes had "
                            "left missing, by whole-horizon simulations")
    if trimmed:
        result.notes.append(f"the full check took {trimmed} agent(s) off counted cells with "
                            "room, by whole-horizon simulations")
    result.notes.extend(result.check_notes(max_passes))
    return result


#: Default passes. With partial simulations one pass: the bulk rounds before it and the
#: whole-horizon rounds after it (`polish`) do what more passes would. On Double 11 a second
#: pass changed 70 cells and its schedule missed 11 cells on the full simulation where the
#: first pass's missed 3, at the same agent-hours: a change there moves the 5-minute rate of
#: cells hours later by up to 0.02, so passes judged on partial runs do not settle.
PARTIAL_PASSES = 1
FULL_PASSES = 4

#: Rounds of the final check raising cells that miss on the full simulation.
REPAIR_ROUNDS = 3

#: Whole-horizon rounds of the partial search's final check (`polish`).
POLISH_ROUNDS = 12


@contextmanager
def _rounds_bar(desc: str, most: int, progress: bool):
    """A bar of whole-horizon rounds, sized by the most a stage may run; a stage that ends
    early fills it, so its total never changes under the user."""
    with tqdm(total=most, desc=desc, unit="round", disable=not progress, leave=False) as bar:
        yield bar
        bar.update(bar.total - bar.n)


def polish(evaluate: Evaluator, current: dict[str, np.ndarray], target: Target,
           counted: np.ndarray, lookahead: int, edges_s: np.ndarray, cap: int, bar=None
           ) -> tuple[dict[str, np.ndarray], Evaluation, int, int]:
    """The partial search's final check, on whole-horizon simulations (what the table shows).

    Each round simulates the schedule. While counted cells miss, each group's earliest miss
    gets one agent more, and so do its misses within the look-ahead after it (a miss is
    often the wake of an earlier one; the passes leave cells at the edge of the target, so
    one agent is what a miss usually lacks, and a raise can tip a later cell, which the next
    round sees). A raised cell is not lowered again. Once none misses, a bulk round
    (`bulk_lower`) tries to take an agent off every other cell with room. It ends when a bulk
    round takes nothing off or after `POLISH_ROUNDS`, and returns the schedule with the fewest
    agent-hours among those it saw meeting the target in every counted cell (the last one if
    none did), its evaluation, the agents it added and those it took off."""
    groups = evaluate.context.groups
    widths = np.diff(edges_s)
    index = np.arange(len(widths))
    best = None
    added = taken = 0
    raised_cells = np.zeros_like(counted)
    for _ in range(POLISH_ROUNDS):
        if bar is not None:
            bar.update()
        state = evaluate(current)
        fails = counted & ~state.holds(target)
        if fails.any():
            more = np.zeros_like(fails)
            for k in range(len(groups)):
                misses = np.flatnonzero(fails[k])
                if len(misses):
                    more[k] = fails[k] & (index <= misses[0] + lookahead)
            raised = {g: np.minimum(current[g] + more[k], cap) for k, g in enumerate(groups)}
            added += int(sum(np.sum(raised[g] - current[g]) for g in groups))
            raised_cells |= more
            current = raised
            continue
        seconds = float(sum(np.sum(current[g] * widths) for g in groups))
        if best is None or seconds < best[0]:
            best = (seconds, current, state)
        lowered, _ = bulk_lower(evaluate, current, target, counted, lookahead, rounds=1,
                                held_back=raised_cells)
        off = int(sum(np.sum(current[g] - lowered[g]) for g in groups))
        if off == 0:
            break
        taken += off
        current = lowered
    if best is None:
        return current, evaluate(current), added, taken
    return best[1], best[2], added, taken


def n_intervals(edges_s: np.ndarray) -> int:
    return len(edges_s) - 1


def default_lookahead(edges_s: np.ndarray) -> int:
    """Intervals a partial simulation runs past the changed one: half an hour's worth."""
    width = float(np.min(np.diff(edges_s)))
    return max(1, math.ceil(1800.0 / width))


def isa_staffing(evaluate: Evaluator, scenario: Scenario, groups: list[str], counted: np.ndarray,
                 fixed: dict[str, np.ndarray], cap: int, alpha: float, iterations: int,
                 bar=None) -> tuple[dict[str, np.ndarray], int]:
    """The iterative staffing algorithm (Feldman, Mandelbaum, Massey and Whitt, 2008) on the
    counted cells; the others keep `fixed`.

    Start with ample agents (`cap`); simulate; in each interval take the distribution of the
    group's load (sampled moments pooled over the interval and the replications) and staff
    the fewest agents at which the load reaches their capacity with probability at most
    `alpha`; simulate that and repeat until no interval moves by more than one agent. From
    the second round on the new staffing is taken halfway from the one just simulated
    (rounded up): a finite desk's load includes its queue, so the plain iteration
    overshoots and undershoots in turn. The load of a chat desk has
    two capacities: chat slots (conversations assigned or waiting, over the concurrency) and
    typing (replies being typed or waiting to be typed: an agent types one at a time); the
    larger requirement counts. Returns the staffing and the simulations it took."""
    current = {g: np.where(counted[k], cap, fixed[g]).astype(np.int64)
               for k, g in enumerate(groups)}
    rounds = 0
    for rounds in range(1, iterations + 1):
        if bar is not None:
            bar.update()
        slots, typing = evaluate.occupancy(current, ISA_SAMPLES)
        proposal = {}
        for k, g in enumerate(groups):
            concurrency = scenario.groups[g].concurrency
            need = np.minimum(isa_requirement(slots[:, k], typing[:, k], concurrency, alpha),
                              cap)
            if rounds > 1:  # damped: halfway from the staffing just simulated, rounded up
                need = np.ceil((need + current[g]) / 2)
            proposal[g] = np.where(counted[k], need, fixed[g]).astype(np.int64)
        step = max(int(np.max(np.abs(proposal[g] - current[g]))) for g in groups)
        current = proposal
        if rounds > 1 and step <= 1:
            break
    return current, rounds


def bulk_lower(evaluate: Evaluator, current: dict[str, np.ndarray], target: Target,
               counted: np.ndarray, lookahead: int, rounds: int | None = None,
               held_back: np.ndarray | None = None, bar=None
               ) -> tuple[dict[str, np.ndarray], int]:
    """Take most of the start's surplus off in whole-horizon simulations, before the passes.

    Each round lowers every counted cell that meets the target (and was not held back) by one
    agent at once and simulates the day. A cell that held and now misses gets its agent
    back, and so do the cells of its group lowered in the `lookahead` intervals before it
    (whose queues may have broken it); those cells are held back from then on. Rounds go
    on until no cell is left to lower (at most `rounds`, default `BULK_ROUNDS`); cells of
    `held_back` are never lowered (their breaking still counts). A round costs
    one simulation of the replications (two when a cell is given back), where the passes
    would try each cell's agents one by one; the passes then settle every cell from there.
    Returns the schedule and the rounds run."""
    groups = evaluate.context.groups
    rounds = BULK_ROUNDS if rounds is None else rounds
    schedule = np.array([current[g] for g in groups], dtype=np.int64)
    held_back = ~counted if held_back is None else (held_back | ~counted)
    state = evaluate(current)
    done = 0
    for done in range(1, rounds + 1):
        holds = state.holds(target)
        lower = counted & ~held_back & holds & (schedule > 0)
        if not lower.any():
            done -= 1
            break
        if bar is not None:  # a round that finds nothing to lower is no round
            bar.update()
        trial = schedule - lower
        trial_state = evaluate({g: trial[k] for k, g in enumerate(groups)})
        broke = counted & holds & ~trial_state.holds(target)
        back = np.zeros_like(lower)
        for k, i in zip(*np.nonzero(broke)):
            back[k, max(0, i - lookahead): i + 1] = True
        back &= lower
        held_back = held_back | back
        schedule = trial + back
        state = (trial_state if not back.any()
                 else evaluate({g: schedule[k] for k, g in enumerate(groups)}))
    return {g: schedule[k].copy() for k, g in enumerate(groups)}, done


#: At most this many bulk rounds (each lowers the cells with room by one agent).
BULK_ROUNDS = 12


def isa_requirement(slots: np.ndarray, typing: np.ndarray, concurrency: int, alpha: float
                    ) -> np.ndarray:
    """Agents per interval from sampled loads (replications, intervals, moments): the fewest
    `s` with P(slots >= concurrency * s) <= alpha and P(typing >= s) <= alpha."""
    def pooled(values: np.ndarray) -> np.ndarray:
        flat = np.moveaxis(values, 1, 0).reshape(values.shape[1], -1)
        return np.quantile(flat, 1.0 - alpha, axis=1, method="inverted_cdf")

    by_slots = np.floor(pooled(slots) / concurrency + 1e-9) + 1
    by_typing = np.floor(pooled(typing) + 1e-9) + 1
    return np.maximum(by_slots, by_typing).astype(np.int64)


def _full_pass(evaluate: Evaluator, current: dict[str, np.ndarray], target: Target,
               counted: np.ndarray, cells: list[tuple[int, int]], cap: int, bar, day0,
               unreachable: Unreachable) -> tuple[dict[str, np.ndarray], bool]:
    """One pass in time order, every candidate simulated over the whole horizon."""
    groups = evaluate.context.groups
    edges = evaluate.context.edges_s
    state = evaluate(current)
    changed = False
    for i, k in cells:
        group = groups[k]
        bar.set_postfix_str(f"{clock_key(edges[i], day0)} {group}={current[group][i]}",
                            refresh=False)
        current, state, moved = _settle(evaluate, current, state, group, i, k, target, cap,
                                        counted, clock_key(edges[i], day0), unreachable)
        changed = changed or moved
        bar.update()
    return current, changed


def _partial_pass(evaluate: Evaluator, current: dict[str, np.ndarray], target: Target,
                  counted: np.ndarray, cap: int, lookahead: int, bar, day0,
                  unreachable: Unreachable) -> tuple[dict[str, np.ndarray], bool]:
    """One pass in time order where a candidate changing interval i is simulated only from
    the desk just before i (a snapshot of the current schedule's run) to `lookahead`
    intervals past i.

    The pass starts with a full simulation of the current schedule: its per-interval counts
    are the estimate. A candidate's estimate is that estimate plus the difference between
    the candidate's partial run and the current schedule's partial run from the same desk
    (the same buyers, up to the same stop): buyers open at the snapshot or arriving before
    the stop are counted in both, so the difference holds every effect the change has on
    them, on earlier intervals too; later buyers are taken as unaffected. Interval i's own
    counts are refreshed from the current schedule's partial run when the pass reaches it
    (every buyer of interval i is in it), so changes made earlier in the pass are carried
    into i exactly. The desk just before i + 1 comes from the accepted candidate's run."""
    groups = evaluate.context.groups
    edges = evaluate.context.edges_s
    n = n_intervals(edges)
    live = np.flatnonzero(counted.any(axis=0))
    first = int(live[0])
    # An interval at the horizon's start has no desk before it: its candidates run in full.
    at_start = snapshot_time(edges, first) <= edges[0]
    full, states = evaluate.from_start(current, first + 1 if at_start else first)
    num, den = full.numerator.copy(), full.denominator.copy()

    together = separable(evaluate.context.scenario, groups)
    changed = False
    i = first
    while True:
        following = i + 1 if i + 1 < n else None
        stop = min(i + 1 + lookahead, n)
        in_full = snapshot_time(edges, i) <= edges[0]

        # This interval's window, bound now (the loop moves `states` on once it is done).
        def simulate(schedule, need_states=False, in_full=in_full, i=i, states=states,
                     following=following, stop=stop):
            if in_full:
                return evaluate.from_start(schedule, i + 1)
            return evaluate.window(schedule, states, i, following, stop, need_states)

        base, base_states = simulate(current, need_states=True)
        if in_full:
            num, den = base.numerator.copy(), base.denominator.copy()
        num[:, :, i] = base.numerator[:, :, i]
        den[:, :, i] = base.denominator[:, :, i]
        here = [k for k in range(len(groups)) if counted[k, i]]
        # Groups that share no buyers are settled together: one run tries a change of each,
        # and each group's cells answer for its own change alone.
        turns = [here] if together else [[k] for k in here]
        for ks in turns:
            bar.set_postfix_str(
                f"{clock_key(edges[i], day0)} "
                + " ".join(f"{groups[k]}={current[groups[k]][i]}" for k in ks), refresh=False)
            estimate = Evaluation(num, den)

            def probe(schedule, base=base, num=num, den=den):
                # A candidate with another peak headcount has other agent ids than the desk
                # states name; a resume maps the state's agents by group and slot, so its run
                # is still the candidate's own (tests/test_staffing.py).
                trial, _ = simulate(schedule)
                return Evaluation(num + trial.numerator - base.numerator,
                                  den + trial.denominator - base.denominator)

            where = clock_key(edges[i], day0)
            if len(ks) == 1:
                current, estimate, moved = _settle(probe, current, estimate, groups[ks[0]], i,
                                                   ks[0], target, cap, counted, where,
                                                   unreachable)
            else:
                current, estimate, moved = _settle_together(probe, current, estimate, ks, i,
                                                            target, cap, counted, where,
                                                            unreachable)
            changed = changed or moved
            base, base_states = simulate(current, need_states=True)
            num, den = estimate.numerator.copy(), estimate.denominator.copy()
            bar.update(len(ks))
        evaluate.keep_states(i, current)
        later = live[live > i]
        if not len(later):
            break
        after = int(later[0])
        if after == i + 1:
            states = base_states
        elif in_full:
            states = evaluate.from_start(current, after)[1]
        else:  # uncounted intervals between: run the current schedule through them once
            _, states = evaluate.window(current, states, i, after, min(after + 1, n), True)
        i = after
    return current, changed


def _settle(evaluate, current: dict[str, np.ndarray], state: Evaluation, group: str,
            interval: int, group_index: int, target: Target, cap: int, counted: np.ndarray,
            where: str, unreachable: Unreachable
            ) -> tuple[dict[str, np.ndarray], Evaluation, bool]:
    """One cell's turn: raised to the fewest agents that meet the target if it misses, then
    lowered while one agent fewer still meets it and breaks no cell before it; returns the
    schedule, its evaluation and whether it changed. `evaluate` is a full or a partial run.
    A cell no staffing brings to the target (`unreachable`) keeps what `_raise` gave it."""
    cell = (group_index, interval)
    if cell in unreachable:
        return current, state, False
    changed = False
    if not state.holds(target)[group_index, interval]:
        current, state = _raise(evaluate, current, group, interval, group_index, target, cap,
                                where, unreachable)
        if cell in unreachable:  # only recorded: the schedule is as it was
            return current, state, False
        changed = True
    while current[group][interval] > 0:
        trial = _with(current, group, interval, -1)
        trial_state = evaluate(trial)
        if not _still_fine(state, trial_state, target, counted, interval, group_index):
            break
        current, state, changed = trial, trial_state, True
    return current, state, changed


def _settle_together(evaluate, current: dict[str, np.ndarray], state: Evaluation,
                     group_indices: list[int], interval: int, target: Target, cap: int,
                     counted: np.ndarray, where: str, unreachable: Unreachable
                     ) -> tuple[dict[str, np.ndarray], Evaluation, bool]:
    """`_settle` for the cells of several separable groups in one interval: each missing
    cell is raised on its own, then every group still above zero loses one agent in the same
    candidate, each group keeping the loss only if its own cells allow it (`_still_fine` on
    its row), until none may lose more; a cell found `unreachable` is left as it is. The
    groups share no buyers, so a group's row of a candidate's evaluation depends on its own
    headcount only, and a row taken from a candidate in which other groups changed too is the
    row of its own change."""
    groups = list(current)
    changed = False
    for k in group_indices:
        if (k, interval) not in unreachable and not state.holds(target)[k, interval]:
            current, state = _raise(evaluate, current, groups[k], interval, k, target, cap,
                                    where, unreachable)
            changed = changed or (k, interval) not in unreachable
    active = [k for k in group_indices
              if current[groups[k]][interval] > 0 and (k, interval) not in unreachable]
    while active:
        trial = {g: counts.copy() for g, counts in current.items()}
        for k in active:
            trial[groups[k]][interval] -= 1
        trial_state = evaluate(trial)
        kept = [k for k in active
                if _still_fine(state, trial_state, target, counted, interval, k, rows=[k])]
        if not kept:
            break
        numerator, denominator = state.numerator.copy(), state.denominator.copy()
        current = dict(current)
        for k in kept:
            current[groups[k]] = trial[groups[k]]
            numerator[:, k] = trial_state.numerator[:, k]
            denominator[:, k] = trial_state.denominator[:, k]
        state, changed = Evaluation(numerator, denominator), True
        active = [k for k in kept if current[groups[k]][interval] > 0]
    return current, state, changed


def separable(scenario: Scenario, groups: list[str]) -> bool:
    """Whether each of `groups` serves buyers no other group serves (dedicated routing, no
    topic in two groups' skills), so a group's cells depend on its own headcount only."""
    if scenario.routing.mode != "dedicated":
        return False
    served = [topic for g in scenario.groups for topic in scenario.groups[g].skills]
    return len(served) == len(set(served))


def _raise(evaluate, current: dict[str, np.ndarray], group: str, interval: int,
           group_index: int, target: Target, cap: int, where: str, unreachable: Unreachable
           ) -> tuple[dict[str, np.ndarray], Evaluation]:
    """The fewest agents above the current count that meet the target in this cell: steps
    of 1, 2, 4, ... until it holds, then bisection back (far misses cost few runs).
    `evaluate` gives a schedule's evaluation (full or partial).

    A cell that misses even with `cap` agents is tried with `unreachable.probe` (ample). If
    it misses there too, and does no better, or hardly (`_stopped_helping`), more agents
    stopped helping: it keeps its current count and is recorded in `unreachable`. One that
    meets the target with the probe, or still gains towards it, is an error: more agents than
    the cap would help."""
    start = low = int(current[group][interval])  # known to fail
    step, high = 1, None
    while high is None:
        candidate = min(low + step, cap)
        state = evaluate(_set(current, group, interval, candidate))
        if state.holds(target)[group_index, interval]:
            high = candidate
        elif candidate >= cap:
            probe = max(unreachable.probe, 2 * cap)
            ample = evaluate(_set(current, group, interval, probe))
            if (ample.holds(target)[group_index, interval]
                    or not _stopped_helping(state, ample, cap, probe, group_index, interval,
                                            target)):
                raise StaffingError(_beyond_cap(state, ample, group, group_index, interval,
                                                target, cap, probe, where))
            # More agents stopped helping: the cell keeps its count, and is named.
            unreachable.cells[(group_index, interval)] = Plateau(
                start, cap, float(state.estimate()[group_index, interval]), probe,
                float(ample.estimate()[group_index, interval]))
            return current, evaluate(current)
        else:
            low, step = candidate, step * 2
    while high - low > 1:
        middle = (low + high) // 2
        if evaluate(_set(current, group, interval, middle)).holds(target)[group_index, interval]:
            high = middle
        else:
            low = middle
    best = _set(current, group, interval, high)
    return best, evaluate(best)


def _stopped_helping(below: Evaluation, above: Evaluation, fewer: int, more: int,
                     group_index: int, interval: int, target: Target) -> bool:
    """Whether more agents stopped helping in the cell: its metric is no better with `more`
    agents than with `fewer`, or so little better that, at the rate it gained from `fewer`
    to `more`, the target would take more than another `more` agents. Once a cell has the
    agents its load needs (`more` is ample), a metric's gain per agent only shrinks as
    agents are added, so the straight line through the two counts reaches the target no
    later than the metric does. Below the load the gain can grow (an S-shaped curve), which
    is why `_raise` asks this of the cap and an ample probe, not of two counts below."""
    if fewer >= more:
        return False
    was = float(below.estimate()[group_index, interval])
    now = float(above.estimate()[group_index, interval])
    sign = -1.0 if target.op == "<=" else 1.0
    gain, gap = sign * (now - was), sign * (target.value - now)
    if not (math.isfinite(gain) and math.isfinite(gap)):
        return False
    return gain <= 0 or gap / gain * (more - fewer) > more


def _beyond_cap(at_cap: Evaluation, ample: Evaluation, group: str, group_index: int,
                interval: int, target: Target, cap: int, probe: int, where: str) -> str:
    """Why a cell that misses with `cap` agents stops the search: with `probe` it meets the
    target, or still gains towards it, so more agents than the cap would help."""
    now = float(at_cap.estimate()[group_index, interval])
    then = float(ample.estimate()[group_index, interval])
    verdict = ("meets the target" if ample.holds(target)[group_index, interval]
               else "still gains towards the target")
    return (f"target {target} not met in the interval starting {where} for group {group} "
            f"even with {cap} agents ({target.metric} {now:.4g} there; with {probe} agents "
            f"{then:.4g}, which {verdict}): more agents would help, so allow them with "
            "--max-agents")


def _set(schedule: dict[str, np.ndarray], group: str, interval: int, value: int
         ) -> dict[str, np.ndarray]:
    changed = {g: counts.copy() for g, counts in schedule.items()}
    changed[group][interval] = value
    return changed


def _with(schedule: dict[str, np.ndarray], group: str, interval: int, step: int
          ) -> dict[str, np.ndarray]:
    changed = {g: counts.copy() for g, counts in schedule.items()}
    changed[group][interval] += step
    return changed


def _still_fine(before: Evaluation, after: Evaluation, target: Target, counted: np.ndarray,
                interval: int, group_index: int, rows: list[int] | None = None) -> bool:
    """Whether removing an agent keeps the target in this cell and breaks no counted cell up
    to this interval that held before (cells that already failed are left to their own turn);
    `rows`: only these groups' cells are looked at (default: every group's)."""
    held, holds = before.holds(target), after.holds(target)
    if not holds[group_index, interval]:
        return False
    rows = slice(None) if rows is None else rows
    upto = counted[rows, : interval + 1]
    return not np.any(upto & held[rows, : interval + 1] & ~holds[rows, : interval + 1])


# --- outputs -------------------------------------------------------------------------------------


def staffed_document(document: dict, result: StaffingResult) -> tuple[dict, list[str]]:
    """The scenario document with the found headcount tables; variants that no longer apply
    (they override a replaced schedule) are dropped and named."""
    doc = copy.deepcopy(document)
    day0 = result.scenario.horizon.day0
    for group in result.groups:
        table = {clock_key(t, day0): int(n) for t, n in zip(result.edges_s[:-1],
                                                            result.headcount[group])}
        doc["groups"][group]["schedule"] = {"headcount": table}
    dropped = []
    for name, overrides in list((doc.get("variants") or {}).items()):
        if any(str(path).startswith(tuple(f"groups.{g}.schedule" for g in result.groups))
               for path in (overrides or {})):
            del doc["variants"][name]
            dropped.append(name)
    if "variants" in doc and not doc["variants"]:
        del doc["variants"]
    doc["description"] = (
        f"{doc.get('description', '').strip()}\nStaffing of {', '.join(result.groups)} found by "
        f"'supportsim staff' for {result.target} {result.aim()} "
        f"({result.replications} replications, seed {result.seed}).").strip()
    return doc, dropped


def write_outputs(result: StaffingResult, document: dict, source: Path, out_dir: Path,
                  command: str | None = None) -> list[Path]:
    """staffed.yaml (a runnable scenario), staffing.csv and staffing.png in `out_dir`.
    `command` is the command line its header names (the CLI's own; by default the scenario,
    the target and the groups)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc, dropped = staffed_document(document, result)
    counts = (doc.get("arrivals") or {}).get("counts_csv")
    written = []
    if counts:
        # The file must sit beside the scenario that names it.
        origin = (source.parent / counts["path"]).resolve()
        copy_path = out_dir / Path(counts["path"]).name
        if origin != copy_path.resolve():
            shutil.copyfile(origin, copy_path)
        counts["path"] = copy_path.name
        written.append(copy_path)
    yaml_path = out_dir / "staffed.yaml"
    if command is None:
        named = ("" if set(result.groups) == set(result.scenario.groups)
                 else "".join(f" --group {g}" for g in result.groups))
        command = f"supportsim staff {source.name} --target \"{result.target}\"{named}"
    header = (f"# Staffing found by `{command}`.\n"
              f"# The search ran on seed {result.seed}: check the staffing on other buyers with "
              f"`supportsim run staffed.yaml --seed N`, N another seed.\n")
    unreachable = result.unreachable_cells()
    if unreachable:
        header += (f"# {_many(len(unreachable), 'counted interval')} cannot meet the target with "
                   "more agents (the staff report names them, staffing.csv marks them "
                   "reachable=False); the search does not raise them.\n")
    if dropped:
        header += f"# Variants dropped (they changed a replaced schedule): {', '.join(dropped)}\n"
    text = header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    scenario_from_dict(yaml.safe_load(text), source=str(yaml_path), base_dir=out_dir)
    atomic_write_text(yaml_path, text)
    csv_path = out_dir / "staffing.csv"
    write_csv(csv_path, result.table())
    png_path = out_dir / "staffing.png"
    buffer = io.BytesIO()
    plot(result).savefig(buffer, format="png", dpi=110)
    atomic_write_bytes(png_path, buffer.getvalue())
    return [yaml_path, csv_path, png_path] + written


def plot(result: StaffingResult):
    """Required agents over the horizon per group: simulation search, MOL and SIPP."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    groups = result.groups
    figure = Figure(figsize=(10, 3.6 * len(groups)), layout="constrained")
    axes = figure.subplots(len(groups), 1, squeeze=False)[:, 0]
    edges_h = result.edges_s / 3600.0
    day0 = result.scenario.horizon.day0
    beyond = result.unreachable_mask()
    for k, (ax, group) in enumerate(zip(axes, groups)):
        for name, schedule, style in (("simulation search", result.headcount, "-"),
                                      ("MOL (Erlang C)", result.mol, "--"),
                                      ("SIPP (Erlang C)", result.sipp, ":")):
            values = np.append(schedule[group], schedule[group][-1])
            ax.step(edges_h, values, where="post", ls=style, lw=2 if style == "-" else 1.5,
                    label=name)
        for i in np.flatnonzero(~result.counted[k]):
            ax.axvspan(edges_h[i], edges_h[i + 1], color="grey", alpha=0.12, lw=0)
        for n, i in enumerate(np.flatnonzero(beyond[k])):
            ax.axvspan(edges_h[i], edges_h[i + 1], color=BEYOND_COLOUR, alpha=0.3, lw=0,
                       label=BEYOND_LABEL if n == 0 else None)
        rates = group_arrival_rates(result.scenario, group) * 3600.0
        twin = ax.twinx()
        twin.step(edges_h, np.append(rates, rates[-1]), where="post", color="grey", lw=1,
                  alpha=0.6)
        twin.set_ylabel("conversations to people per hour", color="grey")
        twin.set_ylim(bottom=0)
        ax.set_xlim(edges_h[0], edges_h[-1])
        ax.set_ylabel(f"agents on duty ({group})")
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda h, _p: format_clock(h * 3600.0, day0)))
        ax.grid(alpha=0.3)
    labelled = {}  # one legend for every panel's lines (a mark may show in a later one only)
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labelled.setdefault(label, handle)
    axes[0].legend(labelled.values(), labelled.keys(), loc="lower left",
                   bbox_to_anchor=(0.0, 1.0), ncol=4, fontsize=8, frameon=False)
    axes[-1].set_xlabel(shading_label(not result.counted.all(), bool(beyond.any())))
    figure.suptitle(f"Agents needed for {result.target} {result.aim()}")
    return figure


def _many(count: int, word: str, plural: str | None = None) -> str:
    """`count` and `word`, in the plural unless the count is one: "1 pass", "2 passes"."""
    return f"{count} {word if count == 1 else plural or word + 's'}"


def format_report(result: StaffingResult) -> str:
    """Per-interval staffing and the comparison of methods, for the terminal."""
    table = result.table()
    metric = result.target.metric
    start = (f"ISA start ({_many(result.isa_rounds, 'simulation round')})"
             if result.start == "isa" and result.counted.any() else "MOL start")
    if result.bulk_rounds:
        start += f", {_many(result.bulk_rounds, 'bulk round')}"
    lines = [(f"staffing for {result.target} {result.aim()} "
              f"({_many(result.replications, 'replication')}, seed {result.seed}, {start}, "
              f"{_many(result.passes, 'pass', 'passes')})"),
             (f"simulations: {result.full_runs} full (whole horizon) and "
              f"{result.partial_runs} partial (from a snapshot, up to "
              f"{_many(result.lookahead, 'interval')} past the change), one per replication"
              if result.method == "partial" else
              f"simulations: {result.full_runs} full (whole horizon), one per replication")]
    for group in result.groups:
        part = table[table["group"] == group]
        lines.append(f"\ngroup {group}")
        lines.append(f"{'interval':<17} {'conv/h':>7} {'MOL':>4} {'SIPP':>5} {'sim':>4}  "
                     f"{metric} [95% CI]")
        for _, row in part.iterrows():
            value = row[metric]
            shown = "-" if not math.isfinite(value) else (
                f"{value:.4f} [{row['ci_low']:.4f}, {row['ci_high']:.4f}]")
            mark = ("  (not counted)" if not row["counted"] else
                    "" if row["reachable"] else "  (more agents cannot reach the target)")
            lines.append(f"{row['clock']:<17} {row['arrivals_per_hour']:>7.1f} {row['mol']:>4d} "
                         f"{row['sipp']:>5d} {row['simulation']:>4d}  {shown}{mark}")
    cells = int(result.counted.sum())
    lines.append(f"\n{'method':<22} {'agent-hours':>12} {'cost':>12}  counted intervals missing "
                 f"the target (of {cells}, simulated)")
    methods = [("simulation search", result.headcount, result.evaluation)]
    if (result.start == "isa" and result.initial_evaluation is not None
            and result.counted.any()):
        methods.append(("ISA start", result.initial, result.initial_evaluation))
    methods += [("MOL (Erlang C)", result.mol, result.mol_evaluation),
                ("SIPP (Erlang C)", result.sipp, result.sipp_evaluation)]
    for name, schedule, evaluation in methods:
        hours = sum(result.agent_hours(schedule).values())
        lines.append(f"{name:<22} {hours:>12.1f} {result.cost(schedule):>12,.0f}  "
                     f"{result.missed(evaluation)}")
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)
