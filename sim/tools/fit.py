"""`supportsim fit`: a scenario of the shop a chat log came from, every parameter estimated from
the log with its standard error (or interval) and the observations behind it.

What is estimated, and how (docs/chat-log.md explains each method and its limits):

- arrivals: conversations per interval, replayed as `counts_csv`, and for planning an hourly
  profile with the mean daily volume (the `planning` variant);
- topic mix: shares by topic, by time of day when the shares differ between blocks of the day
  (a chi-square test);
- messages per conversation (served conversations, complete) and buyer think times (from an
  agent's reply to the buyer's next message): the best of a few families by AIC;
- agents' typing time per group and topic, from replies to later messages that the agent
  started at once: the agent had sent nothing between the buyer's message and the reply, so it
  had nothing older waiting and was not typing (an agent types one reply at a time, oldest
  first); such a response is all typing, never waiting;
- whether typing time grows with the chats the agent holds (a test across open-chat counts),
  and then a factor per count (`reply_time_factor_by_open`);
- buyer patience per topic from abandoned and answered conversations as censored data
  (Kaplan-Meier, then maximum likelihood), censored at the time an agent began typing the first
  reply;
- concurrency per group (the most chats an agent was seen holding), headcount per interval per
  group from duty, the bot's deflection share per topic, answer delay, handling time and
  hand-over delay.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats
from tqdm import tqdm

from sim.analysis.metrics import Tables
from sim.chatlog.format import AGENT, CLOSE, SYSTEM
from sim.chatlog.log import ChatLog
from sim.output.files import atomic_write_text, write_csv
from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
from sim.tools.fitting import (
    MIN_EVENTS,
    MIN_OBSERVATIONS,
    Estimate,
    FittedDistribution,
    Survival,
    fit_censored,
    fit_count,
    fit_duration,
    kaplan_meier,
    proportion,
)
from sim.units import DAY_S

#: Blocks of the day whose topic mixes are compared (hours).
MIX_BLOCK_H = 3
#: Significance below which topic mixes by time of day, and typing times by open chats, are
#: taken to differ.
SIGNIFICANCE = 0.001
#: A group takes a topic when at least this share of its conversations were of that topic.
SKILL_SHARE = 0.02
#: Open-chat counts with fewer typing observations share the factor of the count below.
MIN_PER_LEVEL = 30
#: The most chats a scenario lets an agent hold (`Group.concurrency`).
MAX_CONCURRENCY = 50


@dataclass
class Parameter:
    """One fitted number: its scenario path, value, standard error, 95% interval, the
    observations behind it and how it was estimated."""

    path: str
    value: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    method: str

    @classmethod
    def of(cls, path: str, estimate: Estimate, method: str) -> Parameter:
        low, high = estimate.ci
        return cls(path, estimate.value, estimate.se, low, high, estimate.n, method)


@dataclass
class OpenFactor:
    """Typing time by the chats the agent held when it started: per count, the mean and the
    factor over the base count."""

    group: str
    table: pd.DataFrame       # open, n, mean_s, se_s, factor, factor_se
    p_value: float
    fitted: bool
    factors: list[float]


@dataclass
class Fit:
    """A log's fitted scenario (`document`), its replay counts, every parameter, the data the
    report plots and what was assumed (`notes`)."""

    log: ChatLog
    document: dict
    counts: pd.DataFrame
    parameters: list[Parameter]
    distributions: dict[str, FittedDistribution]
    survival: dict[str, Survival]
    open_factors: dict[str, OpenFactor]
    concurrency: pd.DataFrame
    headcount: pd.DataFrame
    profile: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    interval_s: float = 1800.0
    typing: pd.DataFrame | None = None

    @property
    def table(self) -> pd.DataFrame:
        """The parameters as a table: path, value, se, ci_low, ci_high, n, method."""
        return pd.DataFrame([vars(p) for p in self.parameters])

    def parameter(self, path: str) -> Parameter:
        for parameter in self.parameters:
            if parameter.path == path:
                return parameter
        raise KeyError(f"no fitted parameter {path!r}")

    def scenario(self) -> Scenario:
        """The fitted scenario in memory: the counts replayed as per-interval rates (the same
        arrival curve as the `counts_csv` the written file holds)."""
        document = copy.deepcopy(self.document)
        arrivals = document["arrivals"]
        arrivals.pop("counts_csv")
        arrivals["rates_per_hour"] = [float(c) * 3600.0 / self.interval_s
                                      for c in self.counts["count"]]
        for overrides in document.get("variants", {}).values():
            if "arrivals.counts_csv" in overrides:
                overrides["arrivals.rates_per_hour"] = None
        return scenario_from_dict(document, source=f"{self.log.source} (fitted)")

    def write(self, path: str | Path, report: bool = True) -> list[Path]:
        """Write the scenario (`path`), its counts CSV beside it, the parameter table and the
        report (`fit_report.html`); the scenario is loaded back to prove it is valid."""
        path = Path(path)
        counts_path = path.with_name(f"{path.stem}_counts.csv")
        document = copy.deepcopy(self.document)
        document["arrivals"]["counts_csv"]["path"] = counts_path.name
        write_csv(counts_path, self.counts)
        header = (f"# Fitted by supportsim fit from {self.log.source}; every number is an "
                  "estimate\n# (see fit_report.html and fit_parameters.csv beside this file "
                  "for its standard error,\n# the observations behind it and the method).\n")
        atomic_write_text(path, header + yaml.safe_dump(document, allow_unicode=True,
                                                        sort_keys=False, width=100))
        try:
            load_scenario(path)
        except ScenarioError as exc:  # a bug: the fit must always write a valid scenario
            raise RuntimeError(f"the fitted scenario does not validate: {exc}") from None
        written = [path, counts_path]
        table_path = path.with_name("fit_parameters.csv")
        write_csv(table_path, self.table)
        written.append(table_path)
        if report:
            from sim.output.fit_report import write_fit_report

            written.append(write_fit_report(self, path.with_name("fit_report.html")))
        return written


# --- what the log shows ---------------------------------------------------------------------


def _human_messages(tables: Tables) -> pd.DataFrame:
    """Messages to people in (conversation, seq) order, with the previous message's reply."""
    msgs = tables.messages
    msgs = msgs[~msgs["by_bot"].to_numpy()]
    order = np.lexsort((msgs["seq"].to_numpy(), msgs["conversation"].to_numpy()))
    msgs = msgs.iloc[order].reset_index(drop=True)
    conv = msgs["conversation"].to_numpy()
    same = np.r_[False, conv[1:] == conv[:-1]]
    previous_reply = np.r_[np.nan, msgs["reply_s"].to_numpy()[:-1]]
    previous_agent = np.r_[-1, msgs["agent"].to_numpy()[:-1]]
    msgs["previous_reply_s"] = np.where(same, previous_reply, np.nan)
    msgs["previous_agent"] = np.where(same, previous_agent, -1)
    return msgs


def _agent_rows(log: ChatLog) -> tuple[np.ndarray, np.ndarray]:
    frame = log.rows.frame
    rows = frame[frame["sender"].to_numpy() == AGENT]
    agent, t = rows["agent"].to_numpy().astype(np.int64), rows["t_s"].to_numpy()
    order = np.lexsort((t, agent))
    return agent[order], t[order]


def _key(agent: np.ndarray, t: np.ndarray) -> np.ndarray:
    # Agents and times in one sortable number: times are below 10^8 s (three years).
    return agent.astype(np.float64) * 1e8 + t


def _previous_agent_row(log: ChatLog, agent: np.ndarray, t: np.ndarray) -> np.ndarray:
    """For each (agent, time): the time of the agent's last row strictly before it (-inf)."""
    agents, times = _agent_rows(log)
    keys = _key(agents, times)
    at = np.searchsorted(keys, _key(agent, t), side="left") - 1
    found = at >= 0
    same_agent = np.zeros(len(agent), dtype=bool)
    same_agent[found] = agents[at[found]] == agent[found]
    return np.where(same_agent, times[np.maximum(at, 0)], -np.inf)


def _open_chats(tables: Tables, agent: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Conversations each agent held at each time, from its first reply to the end."""
    conv = tables.conversations
    held = conv["agent"].to_numpy() >= 0
    owner = conv["agent"].to_numpy()[held]
    start = conv["assigned_s"].to_numpy()[held]
    end = conv["end_s"].to_numpy()[held]
    end = np.where(np.isfinite(end), end, 1e8 - 1)
    starts = np.sort(_key(owner, start))
    ends = np.sort(_key(owner, end))
    point = _key(agent, t)
    return (np.searchsorted(starts, point, side="right")
            - np.searchsorted(ends, point, side="right")).astype(np.int64)


def typing_samples(log: ChatLog) -> pd.DataFrame:
    """Responses that are pure typing: replies to a later message of a conversation (its
    agent holds it), answered by the agent that answered the previous one, with no row of that
    agent between the buyer's message and the reply. Columns: conversation, agent, group,
    topic, sent_s, typing_s, open (chats the agent held then)."""
    tables = log.tables
    msgs = _human_messages(tables)
    reply = msgs["reply_s"].to_numpy()
    sent = msgs["sent_s"].to_numpy()
    agent = msgs["agent"].to_numpy()
    candidate = ((msgs["seq"].to_numpy() >= 1) & np.isfinite(reply)
                 & (msgs["previous_reply_s"].to_numpy() <= sent)
                 & (msgs["previous_agent"].to_numpy() == agent) & (agent >= 0))
    rows = msgs[candidate]
    agent, sent, reply = agent[candidate], sent[candidate], reply[candidate]
    idle = _previous_agent_row(log, agent, reply) < sent
    rows, agent, sent, reply = rows[idle], agent[idle], sent[idle], reply[idle]
    groups = np.asarray(log.agent_groups, dtype=object)
    return pd.DataFrame({
        "conversation": rows["conversation"].to_numpy(),
        "agent": agent,
        "group": groups[agent] if len(agent) else np.zeros(0, dtype=object),
        "topic": rows["topic"].astype(str).to_numpy(),
        "sent_s": sent,
        "typing_s": reply - sent,
        "open": _open_chats(tables, agent, sent),
    })


def _resolution(log: ChatLog) -> float:
    """1 when the log's times are whole seconds, else 0."""
    t = log.rows.frame["t_s"].to_numpy()
    return 1.0 if np.all(t == np.floor(t)) else 0.0


# --- the pieces of the fit --------------------------------------------------------------------


class _Builder:
    """Collects parameters and notes while the scenario document is built."""

    def __init__(self, log: ChatLog, interval_s: float):
        self.log = log
        self.interval_s = interval_s
        self.parameters: list[Parameter] = []
        self.distributions: dict[str, FittedDistribution] = {}
        self.notes: list[str] = list(log.notes)
        self.resolution = _resolution(log)

    def add(self, path: str, estimate: Estimate, method: str) -> None:
        self.parameters.append(Parameter.of(path, estimate, method))

    def distribution(self, path: str, fitted: FittedDistribution) -> dict:
        self.distributions[path] = fitted
        for name, estimate in fitted.parameters.items():
            self.add(f"{path}.{name}", estimate, fitted.method)
        return fitted.spec()

    # arrivals ----------------------------------------------------------------------------

    def arrivals(self) -> tuple[dict, pd.DataFrame, dict, pd.DataFrame]:
        log, interval = self.log, self.interval_s
        tables = log.tables
        arrival = tables.conversations["arrival_s"].to_numpy()
        intervals = round(tables.end_s / interval)
        counts = np.bincount(np.floor(arrival / interval).astype(np.int64),
                             minlength=intervals)[:intervals]
        starts = np.arange(intervals) * interval
        day0 = log.day0
        stamps = [(pd.Timestamp(day0) + pd.Timedelta(seconds=float(s))).strftime(
            "%Y-%m-%d %H:%M") for s in starts]
        counts_frame = pd.DataFrame({"start": stamps, "count": counts})
        days = len(log.days)
        per_day = np.bincount(np.floor(arrival / DAY_S).astype(np.int64), minlength=days)
        total = len(arrival)
        if days >= 2:
            volume = Estimate(float(per_day.mean()), float(per_day.std(ddof=1) / math.sqrt(days)),
                              days)
            how = f"mean of {days} daily counts (SE from their spread)"
        else:
            volume = Estimate(float(total), math.sqrt(total), 1)
            how = "the day's count (Poisson SE)"
        self.add("arrivals.daily_volume", volume, how)
        hours = np.bincount(np.floor(np.mod(arrival, DAY_S) / 3600).astype(np.int64),
                            minlength=24)[:24]
        shares = hours / max(total, 1)
        profile = [float(f"{s:.5g}") for s in shares]
        for hour, count in enumerate(hours):
            self.add(f"arrivals.profile.{hour}", proportion(int(count), total),
                     "share of the conversations arriving in this hour of the day "
                     "(binomial SE)")
        planning = {"arrivals.counts_csv": None, "arrivals.profile": profile,
                    "arrivals.daily_volume": float(f"{volume.value:.6g}")}
        if days >= 3 and volume.value > 0:
            extra = max(float(per_day.var(ddof=1)) - volume.value, 0.0)
            cv = math.sqrt(extra) / volume.value
            planning["arrivals.overdispersion_cv"] = float(f"{cv:.3g}")
            self.add("arrivals.overdispersion_cv", Estimate(cv, float("nan"), days),
                     "daily counts' variance beyond Poisson, as a CV")
        else:
            self.notes.append(f"{days} day(s) of log: too few to estimate day-to-day "
                              "over-dispersion; the planning variant is plain Poisson")
        mix, changes = self.mix()
        arrivals = {"interval": interval, "counts_csv": {"path": "counts.csv"}, "mix": mix}
        if changes:
            arrivals["mix_changes"] = changes
        if tables.conversations["reported"].any():
            share = proportion(int(tables.conversations["reported"].sum()), total)
            arrivals["reported_share"] = float(f"{share.value:.4g}")
            self.add("arrivals.reported_share", share, "share of buyers marked reported")
        profile_frame = pd.DataFrame({"hour": np.arange(24), "share": shares,
                                      "conversations_per_day": hours / max(days, 1)})
        return arrivals, counts_frame, planning, profile_frame

    def mix(self) -> tuple[dict, list]:
        conv = self.log.tables.conversations
        topics = list(conv["topic"].cat.categories)
        codes = conv["topic"].cat.codes.to_numpy()
        total = len(codes)
        overall = np.bincount(codes, minlength=len(topics))
        mix = {}
        for i, topic in enumerate(topics):
            share = proportion(int(overall[i]), total)
            mix[topic] = float(f"{share.value:.4g}")
            self.add(f"arrivals.mix.{topic}", share, "share of conversations (binomial SE)")
        if len(topics) < 2:
            return mix, []
        arrival = conv["arrival_s"].to_numpy()
        block = (np.mod(arrival, DAY_S) // (MIX_BLOCK_H * 3600)).astype(np.int64)
        blocks = int(24 // MIX_BLOCK_H)
        table = np.zeros((blocks, len(topics)))
        np.add.at(table, (block, codes), 1)
        used = table.sum(axis=1) > 0
        kept = table[used][:, table.sum(axis=0) > 0]
        if kept.shape[0] < 2 or kept.shape[1] < 2:
            return mix, []
        p_value = stats.chi2_contingency(kept)[1]
        if p_value >= SIGNIFICANCE:
            self.notes.append(f"topic mix: the same in every {MIX_BLOCK_H}-hour block of the "
                              f"day (chi-square p = {p_value:.3g}); one mix is fitted")
            return mix, []
        self.notes.append(f"topic mix: differs by time of day (chi-square p = {p_value:.2g}); "
                          f"one mix per {MIX_BLOCK_H}-hour block, repeated every day")
        changes = []
        for b in range(blocks):
            if table[b].sum() == 0:
                continue
            shares = {}
            for i, topic in enumerate(topics):
                share = proportion(int(table[b, i]), int(table[b].sum()))
                shares[topic] = float(f"{share.value:.4g}")
                self.add(f"arrivals.mix_by_time.{b * MIX_BLOCK_H:02d}h.{topic}", share,
                         f"share of conversations arriving {b * MIX_BLOCK_H:02d}:00-"
                         f"{(b + 1) * MIX_BLOCK_H:02d}:00 (binomial SE)")
            if sum(shares.values()) <= 0:
                continue
            for day in self.log.days:
                stamp = f"{day.isoformat()} {b * MIX_BLOCK_H:02d}:00"
                changes.append({"from": stamp, "mix": shares})
        return mix, changes

    # topics -------------------------------------------------------------------------------

    def topics(self, msgs: pd.DataFrame) -> dict:
        conv = self.log.tables.conversations
        result = {}
        served = conv["outcome"].to_numpy() == "served"
        patience = self.patience(msgs)
        for topic in conv["topic"].cat.categories:
            mine = (conv["topic"].to_numpy() == topic)
            spec: dict = {}
            counts = fit_count(conv["n_messages"].to_numpy()[mine & served])
            if counts is None:
                spec["messages"] = {"dist": "deterministic", "value": 1}
                self.notes.append(f"topic {topic}: fewer than {MIN_OBSERVATIONS} served "
                                  "conversations; one message per conversation assumed")
            else:
                spec["messages"] = self.distribution(f"topics.{topic}.messages", counts)
            think = self.think_times(msgs, topic)
            if think is None:
                spec["think_time"] = {"dist": "deterministic", "value": 0}
                self.notes.append(f"topic {topic}: fewer than {MIN_OBSERVATIONS} think times; "
                                  "0 assumed")
            else:
                spec["think_time"] = self.distribution(f"topics.{topic}.think_time", think)
            if topic in patience:
                spec["patience"] = self.distribution(f"topics.{topic}.patience",
                                                     patience[topic])
            result[topic] = spec
        self.notes.append("topics: none is marked presale (the log does not say which "
                          "conversations can turn into orders); set `presale: true` by hand "
                          "for lost orders")
        return result

    def think_times(self, msgs: pd.DataFrame, topic: str) -> FittedDistribution | None:
        previous = msgs["previous_reply_s"].to_numpy()
        sent = msgs["sent_s"].to_numpy()
        ok = (msgs["topic"].astype(str).to_numpy() == topic) & np.isfinite(previous) & (
            previous <= sent)
        return fit_duration(sent[ok] - previous[ok], self.resolution)

    def patience(self, msgs: pd.DataFrame) -> dict[str, FittedDistribution]:
        """Per topic: time from reaching people to leaving (abandoned, an event) or to an
        agent starting to type the first reply (answered, right-censored there)."""
        log = self.log
        conv = log.tables.conversations
        reached = np.isfinite(conv["queued_s"].to_numpy())
        outcome = conv["outcome"].astype(str).to_numpy()
        queued = conv["queued_s"].to_numpy()
        end = conv["end_s"].to_numpy()
        first = msgs[msgs["seq"].to_numpy() == 0].set_index("conversation")
        first_reply = np.full(len(conv), np.nan)
        first_agent = np.full(len(conv), -1, dtype=np.int64)
        first_reply[first.index.to_numpy()] = first["reply_s"].to_numpy()
        first_agent[first.index.to_numpy()] = first["agent"].to_numpy()
        answered = reached & np.isfinite(first_reply) & (first_agent >= 0)
        # Typing of the first reply began when the agent finished its previous reply, or at
        # the hand-over, or when the agent came on duty, whichever was last.
        begun = np.full(len(conv), np.nan)
        rows = np.flatnonzero(answered)
        previous = _previous_agent_row(log, first_agent[rows], first_reply[rows])
        duty_start = _duty_start(log.tables.duty, first_agent[rows], first_reply[rows])
        begun[rows] = np.maximum.reduce([queued[rows], previous, duty_start])
        begun[rows] = np.minimum(begun[rows], first_reply[rows])
        abandoned = reached & (outcome == "abandoned") & ~np.isfinite(first_reply)
        still = reached & (outcome == "open") & ~np.isfinite(first_reply)
        self.survival: dict[str, Survival] = {}
        frame = log.rows.frame
        if not ((frame["event"].to_numpy() == CLOSE) & (frame["sender"].to_numpy() == SYSTEM)
                ).any():
            # An unanswered buyer's last message says they were still there then, not when
            # they left: without close rows the log holds no patience to estimate.
            self.notes.append("patience: the log marks no closes (system rows with event "
                              "close), so when an unanswered buyer left is unknown; no "
                              "patience is fitted (buyers wait forever): set it by hand, or "
                              "export the close events")
            return {}
        topics = conv["topic"].astype(str).to_numpy()
        stop = log.tables.stop_s
        fitted = {}
        for topic in conv["topic"].cat.categories:
            mine = topics == topic
            events = (end - queued)[mine & abandoned]
            censored = np.r_[(begun - queued)[mine & answered], (stop - queued)[mine & still]]
            if len(events) == 0:
                self.notes.append(f"topic {topic}: no buyer left unanswered, so no patience is "
                                  "fitted (buyers wait forever)")
                continue
            self.survival[topic] = kaplan_meier(events, censored)
            result = fit_censored(events, censored, self.resolution)
            if result is None:
                self.notes.append(f"topic {topic}: only {len(events)} buyers left unanswered; "
                                  f"fewer than {MIN_EVENTS}, no patience is fitted")
                continue
            if len(events) < MIN_OBSERVATIONS:
                self.notes.append(f"topic {topic}: {len(events)} buyers left unanswered; "
                                  "patience fitted as exponential only")
            fitted[topic] = result
        return fitted

    # groups ---------------------------------------------------------------------------------

    def groups(self, typing: pd.DataFrame, headcount: dict[str, dict]) -> tuple[dict, dict,
                                                                                pd.DataFrame]:
        log = self.log
        conv = log.tables.conversations
        topics = list(conv["topic"].cat.categories)
        result, factors, concurrency_rows = {}, {}, []
        cap = _concurrency(log.tables)
        for group in log.groups:
            mine = conv["group"].astype(str).to_numpy() == group
            counts = conv.loc[mine, "topic"].astype(str).value_counts()
            total = int(counts.sum())
            skills = [t for t in topics if total and counts.get(t, 0) / total >= SKILL_SHARE]
            for topic in topics:
                if topic not in skills and _main_group(conv, topic) == group:
                    skills.append(topic)
            seen = cap.get(group, (1, 0))
            concurrency_rows.append({"group": group, "max_open": seen[0],
                                     "agent_seconds_at_max": seen[1]})
            self.add(f"groups.{group}.concurrency", Estimate(float(seen[0]), float("nan"),
                                                             int(mine.sum())),
                     "most chats an agent of the group was seen holding (a lower bound of "
                     "the cap; equal to it when agents often reached it)")
            spec: dict = {"skills": skills or topics,
                          "concurrency": int(min(max(seen[0], 1), MAX_CONCURRENCY))}
            if seen[0] > MAX_CONCURRENCY:
                self.notes.append(f"group {group}: agents held up to {seen[0]} chats; the "
                                  f"scenario's cap is at most {MAX_CONCURRENCY}")
            samples = typing[typing["group"].to_numpy() == group]
            factor = self.open_factor(group, samples, spec["concurrency"])
            factors[group] = factor
            scale = np.ones(len(samples))
            levels = np.clip(samples["open"].to_numpy(), 1, spec["concurrency"])
            if factor.fitted:
                spec["reply_time_factor_by_open"] = factor.factors
                vector = factor_vector(levels, samples["typing_s"].to_numpy(),
                                       spec["concurrency"])
                scale = vector[levels - 1]
                for level, value in enumerate(factor.factors, start=1):
                    row = factor.table[factor.table["open"] == level]
                    if len(row):
                        self.add(f"groups.{group}.reply_time_factor_by_open.{level - 1}",
                                 Estimate(value, float(row["factor_se"].iloc[0]),
                                          int(row["n"].iloc[0])),
                                 "mean typing time at this many open chats over the base "
                                 "count's (delta-method SE)")
            base = samples["typing_s"].to_numpy() / scale
            pooled = fit_duration(base, self.resolution)
            topic_names = list(dict.fromkeys(samples["topic"]))
            if factor.fitted and pooled is not None:
                codes = np.array([topic_names.index(t) for t in samples["topic"]], dtype=np.int64)
                mean_se, cv_se = _bootstrap_normalised(samples["typing_s"].to_numpy(), levels,
                                                       codes, len(topic_names),
                                                       spec["concurrency"])
                _rescale(pooled, mean_se[-1], cv_se[-1])
            if pooled is None:
                spec["reply_time"] = {"dist": "deterministic", "value": 0}
                self.notes.append(f"group {group}: fewer than {MIN_OBSERVATIONS} replies "
                                  "typed at once; typing time unknown (0 assumed)")
            else:
                spec["reply_time"] = self.distribution(f"groups.{group}.reply_time", pooled)
                by_topic = {}
                for topic in skills:
                    chosen = samples["topic"].to_numpy() == topic
                    fitted = fit_duration(base[chosen], self.resolution)
                    if fitted is not None and factor.fitted:
                        at = topic_names.index(topic)
                        _rescale(fitted, mean_se[at], cv_se[at])
                    if fitted is not None and len(skills) > 1:
                        by_topic[topic] = self.distribution(
                            f"groups.{group}.reply_time_by_topic.{topic}", fitted)
                if by_topic:
                    spec["reply_time_by_topic"] = by_topic
            spec["schedule"] = {"headcount": headcount.get(group) or {
                f"{log.day0.isoformat()} 00:00": 0}}
            result[group] = spec
        return result, factors, pd.DataFrame(concurrency_rows)

    def open_factor(self, group: str, samples: pd.DataFrame, concurrency: int) -> OpenFactor:
        levels = np.clip(samples["open"].to_numpy(), 1, concurrency)
        typing = samples["typing_s"].to_numpy()
        rows = []
        for level in range(1, concurrency + 1):
            x = typing[levels == level]
            if len(x) == 0:
                continue
            rows.append({"open": level, "n": len(x), "mean_s": float(x.mean()),
                         "se_s": float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1
                         else float("nan")})
        table = pd.DataFrame(rows, columns=["open", "n", "mean_s", "se_s"])
        usable = table[table["n"] >= MIN_PER_LEVEL]
        p_value = float("nan")
        if len(usable) >= 2:
            groups = [np.log(np.maximum(typing[levels == lv], 0.5)) for lv in usable["open"]]
            p_value = float(stats.kruskal(*groups).pvalue)
        fitted = bool(len(usable) >= 2 and p_value < SIGNIFICANCE)
        table["factor"] = np.nan
        table["factor_se"] = np.nan
        factors: list[float] = []
        if len(usable):
            base = usable.iloc[0]
            ratio = table["mean_s"] / base["mean_s"]
            table["factor"] = ratio
            table["factor_se"] = ratio * np.sqrt((table["se_s"] / table["mean_s"]) ** 2
                                                 + (base["se_s"] / base["mean_s"]) ** 2)
            table.loc[table["open"] == base["open"], "factor_se"] = 0.0
        if fitted:
            top = int(usable["open"].max())
            vector = factor_vector(levels, typing, concurrency)
            factors = [float(f"{value:.4g}") for value in vector[:top]]
            self.notes.append(
                f"group {group}: typing time grows with open chats (Kruskal-Wallis p = "
                f"{p_value:.2g}); factors by open chats fitted, relative to "
                f"{int(usable.iloc[0]['open'])} open")
        elif len(usable) >= 2:
            self.notes.append(f"group {group}: typing time does not differ by open chats "
                              f"(Kruskal-Wallis p = {p_value:.2g}); no factor")
        return OpenFactor(group, table, p_value, fitted, factors)

    def headcount(self) -> tuple[dict[str, dict], pd.DataFrame]:
        """Agents on duty per interval per group (time average, rounded), as dated steps."""
        duty = self.log.tables.duty
        interval = self.interval_s
        edges = np.arange(0.0, self.log.tables.end_s + interval, interval)
        edges = edges[edges <= self.log.tables.end_s + 1e-9]
        result, frames = {}, []
        for group in self.log.groups:
            mine = duty[duty["group"].astype(str).to_numpy() == group]
            seconds = _overlap(mine["start_s"].to_numpy(), mine["end_s"].to_numpy(), edges)
            average = seconds / np.diff(edges)
            counts = np.round(average).astype(int)
            steps, last = {}, None
            for start, count in zip(edges[:-1], counts):
                if count != last:
                    stamp = (pd.Timestamp(self.log.day0) + pd.Timedelta(seconds=float(start))
                             ).strftime("%Y-%m-%d %H:%M")
                    steps[stamp] = int(count)
                    last = count
            result[group] = steps
            frames.append(pd.DataFrame({"group": group, "interval_start_s": edges[:-1],
                                        "agents_on_duty": average, "headcount": counts}))
        how = ("inferred from activity" if self.log.duty_inferred else "from the duty file")
        self.notes.append(f"headcount per interval per group: time-average agents on duty "
                          f"({how}), rounded")
        return result, pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def bot(self, settings: Scenario | None) -> dict:
        conv = self.log.tables.conversations
        via_bot = conv["via_bot"].to_numpy() | np.isfinite(conv["bot_reply_s"].to_numpy())
        replies_count = settings.bot.replies_count if settings is not None else False
        if not via_bot.any():
            return {"enabled": False, "replies_count": replies_count}
        arrival = conv["arrival_s"].to_numpy()
        outcome = conv["outcome"].astype(str).to_numpy()
        topics = conv["topic"].astype(str).to_numpy()
        deflected = via_bot & (outcome == "deflected")
        escalated = via_bot & np.isfinite(conv["queued_s"].to_numpy())
        bot: dict = {"enabled": True, "replies_count": replies_count, "deflection": {}}
        for topic in conv["topic"].cat.categories:
            mine = via_bot & (topics == topic)
            share = proportion(int((deflected & mine).sum()), int(mine.sum()))
            if share.n:
                bot["deflection"][topic] = float(f"{share.value:.4g}")
                self.add(f"bot.deflection.{topic}", share,
                         "share of the bot's conversations it settled (binomial SE)")
        delay = conv["bot_reply_s"].to_numpy()[via_bot] - arrival[via_bot]
        reply_delay = Estimate(float(np.median(delay)), float(delay.std() / math.sqrt(
            len(delay))), len(delay))
        bot["reply_delay"] = float(f"{reply_delay.value:.4g}")
        self.add("bot.reply_delay", reply_delay, "median time to the bot's first answer")
        passed = conv["queued_s"].to_numpy()[escalated] - arrival[escalated]
        settled = conv["end_s"].to_numpy()[deflected] - arrival[deflected]
        handling = None
        if self.log.rows.has_events and len(settled) >= MIN_OBSERVATIONS:
            handling = fit_duration(settled, self.resolution)
            if len(passed):
                gap = float(passed.mean() - settled.mean())
                se = math.sqrt(passed.var() / len(passed) + settled.var() / len(settled))
                bot["handover_delay"] = float(f"{max(gap, 0.0):.4g}")
                # The difference itself, and its plain interval: below 0 when the bot hands
                # over no later than it settles (the scenario takes 0 then).
                self.add("bot.handover_delay", Estimate(gap, se, len(passed), least=-math.inf),
                         "mean time to hand over minus mean time to settle (the bot works "
                         "as long on both)")
        elif len(passed) >= MIN_OBSERVATIONS:
            handling = fit_duration(passed, self.resolution)
            bot["handover_delay"] = 0.0
            self.notes.append("bot: without close events the bot's handling time cannot be "
                              "told from its hand-over delay; the time to hand over is fitted "
                              "as handling time")
        if handling is not None:
            bot["handling_time"] = self.distribution("bot.handling_time", handling)
        elif any(v > 0 for v in bot["deflection"].values()):
            times = settled if len(settled) else passed
            mean = float(times.mean()) if len(times) else 0.0
            bot["handling_time"] = ({"dist": "exponential", "mean": float(f"{mean:.4g}")}
                                    if mean > 0 else {"dist": "deterministic", "value": 0})
            self.notes.append(f"bot: fewer than {MIN_OBSERVATIONS} settled or handed-over "
                              "conversations; handling time taken as exponential with their "
                              "mean")
        hours = np.floor(np.mod(arrival, DAY_S) / 3600).astype(np.int64)
        with np.errstate(invalid="ignore"):
            share = np.bincount(hours, weights=via_bot, minlength=24) / np.bincount(
                hours, minlength=24)
        on = np.where(np.isfinite(share), share >= 0.5, True)
        if not on.all():
            bot["hours"] = _windows(on)
            self.notes.append("bot: runs only in the hours when it answered most "
                              "conversations: " + ", ".join(
                                  f"{w['start']}-{w['end']}" for w in bot["hours"]))
        return bot


def factor_vector(levels: np.ndarray, typing: np.ndarray, concurrency: int) -> np.ndarray:
    """The factor of each open-chat count 1..concurrency: the mean typing time at that count
    over the mean at the base count, the first with `MIN_PER_LEVEL` replies; a count with
    fewer replies takes the factor of the count below it (1 below the base)."""
    sums = np.bincount(levels, weights=typing, minlength=concurrency + 1)[1:concurrency + 1]
    counts = np.bincount(levels, minlength=concurrency + 1)[1:concurrency + 1]
    usable = counts >= MIN_PER_LEVEL
    result = np.ones(concurrency)
    if not usable.any():
        return result
    means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    base = means[np.flatnonzero(usable)[0]]
    value = 1.0
    for level in range(concurrency):
        if usable[level]:
            value = means[level] / base
        result[level] = value
    return result


#: Resamples behind the standard errors of typing times normalised by fitted factors.
BOOTSTRAP = 200


def _bootstrap_normalised(typing: np.ndarray, levels: np.ndarray, topics: np.ndarray,
                          count: int, concurrency: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors of the mean and CV of typing times divided by their factor, pooled
    (last column) and per topic, by resampling the replies and fitting the factors again: the
    factors are estimated from the same replies, so the replies are not independent of them."""
    rng = np.random.default_rng(15)
    means = np.full((BOOTSTRAP, count + 1), np.nan)
    cvs = np.full((BOOTSTRAP, count + 1), np.nan)
    n = len(typing)
    for b in range(BOOTSTRAP):
        pick = rng.integers(n, size=n)
        w, level, topic = typing[pick], levels[pick], topics[pick]
        base = w / factor_vector(level, w, concurrency)[level - 1]
        total = np.bincount(topic, minlength=count).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(topic, weights=base, minlength=count) / total
            square = np.bincount(topic, weights=base * base, minlength=count) / total
            means[b, :count] = mean
            cvs[b, :count] = np.sqrt(np.maximum(square - mean * mean, 0)) / mean
        means[b, count] = base.mean()
        cvs[b, count] = base.std() / base.mean()
    return np.nanstd(means, axis=0, ddof=1), np.nanstd(cvs, axis=0, ddof=1)


def _rescale(fitted: FittedDistribution, mean_se: float, cv_se: float) -> None:
    """Replace a fitted distribution's standard errors by resampled ones."""
    fitted.parameters["mean"].se = float(mean_se)
    if "cv" in fitted.parameters:
        fitted.parameters["cv"].se = float(cv_se)
    fitted.method += f"; SE by resampling the replies {BOOTSTRAP} times, factors refitted"


def _windows(on: np.ndarray) -> list[dict]:
    windows, start = [], None
    for hour in range(25):
        active = hour < 24 and on[hour]
        if active and start is None:
            start = hour
        if not active and start is not None:
            windows.append({"start": f"{start:02d}:00", "end": f"{hour:02d}:00"})
            start = None
    return windows


def _main_group(conv: pd.DataFrame, topic: str) -> str | None:
    groups = conv.loc[(conv["topic"].astype(str) == topic).to_numpy()
                      & (conv["agent"].to_numpy() >= 0), "group"].astype(str)
    return groups.value_counts().index[0] if len(groups) else None


def _duty_start(duty: pd.DataFrame, agent: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Start of the duty period each agent was in at each time (-inf when none covers it)."""
    if len(duty) == 0:
        return np.full(len(agent), -np.inf)
    owner = duty["agent"].to_numpy().astype(np.int64)
    start = duty["start_s"].to_numpy()
    end = duty["end_s"].to_numpy()
    order = np.lexsort((start, owner))
    keys = _key(owner[order], start[order])
    at = np.searchsorted(keys, _key(agent, t), side="right") - 1
    found = at >= 0
    ok = np.zeros(len(agent), dtype=bool)
    ok[found] = (owner[order][at[found]] == agent[found]) & (end[order][at[found]] >= t[found])
    return np.where(ok, start[order][np.maximum(at, 0)], -np.inf)


def _overlap(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Seconds of [start, end) spans inside each interval of `edges`."""
    total = np.zeros(len(edges) - 1)
    for lo, hi in zip(starts, ends):
        a = np.clip(lo, edges[:-1], edges[1:])
        b = np.clip(hi, edges[:-1], edges[1:])
        total += np.maximum(b - a, 0.0)
    return total


def _concurrency(tables: Tables) -> dict[str, tuple[int, float]]:
    """Per group: the most conversations an agent held at once (from its first reply to the
    conversation's end) and the agent-seconds spent at that level."""
    conv = tables.conversations
    held = conv["agent"].to_numpy() >= 0
    agent = conv["agent"].to_numpy()[held]
    group = conv["group"].astype(str).to_numpy()[held]
    start = conv["assigned_s"].to_numpy()[held]
    end = conv["end_s"].to_numpy()[held]
    end = np.where(np.isfinite(end), end, tables.stop_s)
    times = np.r_[start, end]
    delta = np.r_[np.ones(len(start)), -np.ones(len(end))]
    who = np.r_[agent, agent]
    # Ends before starts at one instant: a slot freed and taken again is not two chats.
    order = np.lexsort((delta, times, who))
    times, delta, who = times[order], delta[order], who[order]
    level = np.cumsum(delta)
    result: dict[str, tuple[int, float]] = {}
    agent_group = dict(zip(agent, group))
    if len(times) == 0:
        return result
    duration = np.r_[np.diff(times), 0.0]
    boundary = np.r_[who[1:] != who[:-1], True]
    duration[boundary] = 0.0
    frame = pd.DataFrame({"who": who, "level": level, "duration": duration})
    frame["group"] = frame["who"].map(agent_group)
    for name, part in frame.groupby("group"):
        top = int(part["level"].max())
        result[str(name)] = (top, float(part.loc[part["level"] == top, "duration"].sum()))
    return result


# --- the whole fit ------------------------------------------------------------------------------


def fit_log(log: ChatLog, settings: Scenario | None = None, interval_s: float = 1800.0,
            name: str | None = None, progress: bool = False) -> Fit:
    """Fit a scenario to a chat log (see the module docstring for what and how).

    `settings` (a scenario) gives the metric rules and whether bot replies count; the fitted
    scenario keeps them. `interval_s` is the arrival interval (15, 30 or 60 minutes).
    """
    builder = _Builder(log, interval_s)
    steps = ["arrivals", "messages and think times", "typing times", "groups", "bot"]
    with tqdm(total=len(steps), desc=f"fit {Path(log.source).name}", unit="step",
              disable=not progress, leave=False) as bar:
        arrivals, counts, planning, profile = builder.arrivals()
        bar.update()
        msgs = _human_messages(log.tables)
        topics = builder.topics(msgs)
        bar.update()
        typing = typing_samples(log)
        bar.update()
        headcount, headcount_frame = builder.headcount()
        groups, factors, concurrency = builder.groups(typing, headcount)
        bar.update()
        bot = builder.bot(settings)
        bar.update()
    last_day = log.days[-1]
    drain = max(3600.0, math.ceil(log.tables.stop_s - log.tables.end_s))
    stem = name or Path(log.source).stem
    document = {
        "name": _scenario_name(f"{stem}_fitted"),
        "description": (f"Fitted by supportsim fit from {Path(log.source).name}: "
                        f"{len(log.conversations):,} conversations, {log.days[0]} to "
                        f"{last_day}."),
        "horizon": {"start": f"{log.day0.isoformat()} 00:00",
                    "end": f"{last_day.isoformat()} 24:00", "drain": drain},
        "seed": 1,
        "replications": 5,
        "arrivals": arrivals,
        "topics": topics,
        "groups": groups,
        "bot": bot,
        "routing": {"mode": "dedicated", "discipline": "fcfs", "assignment": "least_busy"},
        "variants": {"planning": planning},
    }
    if settings is not None:
        document["metrics"] = settings.metrics.model_dump(mode="json")
    if not bot.get("enabled"):
        document.pop("bot")
    builder.notes.append("routing: dedicated, each group taking the topics it answered "
                         f"(at least {SKILL_SHARE:.0%} of its conversations); overflow and "
                         "priorities are not read from the log")
    fit = Fit(log, document, counts, builder.parameters, builder.distributions,
              getattr(builder, "survival", {}), factors, concurrency, headcount_frame, profile,
              builder.notes, interval_s, typing)
    fit.scenario()   # validates the document now, so a bad fit fails here, not on writing
    return fit


def _scenario_name(text: str) -> str:
    cleaned = "".join("_" if c in ". \t\r\n" else c for c in text).strip("_") or "fitted"
    return cleaned[:64]
