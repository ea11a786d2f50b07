"""`supportsim backtest`: a scenario simulated over a chat log's own period, with the log's own
duty, against the rates measured on the log, per day and per interval.

A log is one realisation of its days, not a mean, so the simulated spread it is judged by is
the **prediction interval** of one more replication: mean +- t(R-1) x sd x sqrt(1 + 1/R) over R
replications (the confidence interval of the simulated mean, much narrower, is shown beside
it). A headline rate agrees when the log's value lies inside its prediction interval at the
Bonferroni level for the headline rates together; z is (actual - mean) / (sd x sqrt(1 + 1/R)).
Intervals where the log's reply rate falls outside the prediction interval at the Bonferroni
level for all the log's intervals (family-wise 95%) and beyond every replication's value are
flagged; runs of them are merged, judged again as one span, and said in a sentence when the
log counts at least `MIN_SPAN_BUYERS` buyers in the span. Sentences quote 95% intervals.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from sim.analysis import metrics, registry
from sim.analysis.metrics import Tables
from sim.chatlog.log import ChatLog
from sim.chatlog.measure import WHOLE, day_tables, log_metrics
from sim.engine import simulate
from sim.output.files import write_csv
from sim.parallel import SHARED, make_executor
from sim.scenario import Scenario, scenario_from_dict

#: The rates a backtest judges the scenario by.
HEADLINE = ("reply_rate_5min", "human_reply_rate_3min", "answer_rate_30s",
            "taobao_response_rate_3min", "jd_answer_rate_30s")
#: Shown beside them, not judged.
ALSO_SHOWN = ("reply_rate_5min_allday", "first_response_30s_rate", "first_response_mean_s",
              "message_wait_mean_s", "abandon_rate", "unanswered_rate", "deflection_rate",
              "arrived")
#: Family-wise level of the per-interval flags: each interval is judged at the Bonferroni
#: level 1 - (1 - FAMILY_LEVEL) / intervals, so a right model is flagged somewhere on about
#: one day in twenty.
FAMILY_LEVEL = 0.95
#: A run of flagged intervals is said only when the log counts this many buyers in it: with
#: fewer, one slow conversation moves the rate more than a normal interval allows for.
MIN_SPAN_BUYERS = 50


class BacktestError(ValueError):
    """A scenario and a log that cannot be backtested together (e.g. different periods)."""


@dataclass
class Backtest:
    """What the backtest found.

    - `table`: per period (each day, `all`) and metric: simulated mean, its 95% CI, the 95%
      prediction interval, the log's value, z and whether it agrees;
    - `intervals`: per interval, the 5-minute reply rate (whole-day rule) of the log against
      the simulation, and the buyers counted;
    - `misses`: plain sentences where the model misses.
    """

    log: ChatLog
    scenario: Scenario
    replications: int
    table: pd.DataFrame
    intervals: pd.DataFrame
    misses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        """Whether every headline rate of the whole log agrees."""
        rows = self.table[(self.table["period"] == WHOLE)
                          & self.table["metric"].isin(HEADLINE)]
        return bool(rows["agrees"].fillna(True).all())

    def write(self, out_dir: str | Path) -> list[Path]:
        """backtest.csv, backtest_intervals.csv, backtest.png and backtest.html."""
        from sim.output.backtest_report import write_backtest_report

        out_dir = Path(out_dir)
        write_csv(out_dir / "backtest.csv", self.table)
        write_csv(out_dir / "backtest_intervals.csv", self.intervals)
        return [out_dir / "backtest.csv", out_dir / "backtest_intervals.csv",
                *write_backtest_report(self, out_dir)]


def with_log_duty(scenario: Scenario, log: ChatLog) -> Scenario:
    """The scenario with each group's schedule replaced by the log's duty: one dated shift per
    period an agent was on duty (standby pools are kept)."""
    document = scenario.model_dump(mode="json", by_alias=True)
    document.pop("variants", None)
    duty = log.tables.duty
    unknown = sorted(set(duty["group"].astype(str)) - set(document["groups"]))
    if unknown:
        raise BacktestError(f"the log's duty has group(s) {', '.join(unknown)} that the "
                            f"scenario does not (its groups: {', '.join(document['groups'])})")
    day0 = pd.Timestamp(log.day0)
    for name, group in document["groups"].items():
        mine = duty[duty["group"].astype(str).to_numpy() == name]
        shifts = []
        for start, end in zip(mine["start_s"], mine["end_s"]):
            if end - start < 1.0:
                continue
            stamp = (day0 + pd.Timedelta(seconds=float(start))).strftime("%Y-%m-%d %H:%M:%S")
            shifts.append({"start": stamp, "length": float(end - start), "agents": 1})
        group["schedule"] = ({"shifts": shifts} if shifts else
                             {"headcount": {f"{log.day0.isoformat()} 00:00": 0}})
    return scenario_from_dict(document, source=f"{scenario.name} with the log's duty",
                              base_dir=_base_dir(scenario))


def _check_period(scenario: Scenario, log: ChatLog) -> None:
    horizon = scenario.horizon
    if horizon.day0 != log.day0:
        raise BacktestError(
            f"the scenario's horizon starts on {horizon.day0 or 'an undated day'}, the log on "
            f"{log.day0}: a backtest simulates the log's own period (fit the log, or date the "
            "horizon)")
    if horizon.start_s > 0 or horizon.end_s < log.tables.end_s - 1e-6:
        raise BacktestError(f"the scenario's horizon {horizon.start} to {horizon.end} does not "
                            f"cover the log's days {log.days[0]} to {log.days[-1]}")


def _with_buyers(tables: Tables) -> Tables:
    conv = tables.conversations.copy()
    conv["buyer"] = conv["conversation"]
    return Tables(conv, tables.messages, tables.duty, tables.stop_s, tables.start_s,
                  tables.end_s)


def _replicate(scenario: Scenario, replication: int, seed: int, days: int,
               edges: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """One replication: metrics per period, and per interval buyers replied in time, buyers
    counted and arrivals."""
    records = simulate(scenario, replication, seed)
    tables = _with_buyers(Tables.from_records(records))
    values = {WHOLE: metrics.summarize(tables, scenario)}
    if days > 1:
        for day in range(days):
            part = day_tables(tables, day)
            if len(part.conversations):
                values[str(day)] = metrics.summarize(part, scenario)
    replied, counted = metrics.interval_reply_counts(
        tables, edges, scenario.metrics.pinduoduo.threshold, scenario.bot.replies_count)
    bins, inside = metrics.arrival_intervals(tables.conversations, edges)
    arrivals = np.bincount(bins[inside], minlength=len(edges) - 1)[:len(edges) - 1]
    return values, replied, counted, arrivals


def _spread(values: np.ndarray) -> tuple[float, float, int]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan"), 0
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else float(
        "nan"), len(values)


def _judge(sim: np.ndarray, actual: float, level: float, judged_level: float,
           share: bool = False) -> dict:
    """Mean, CI and prediction interval of replication values, and whether `actual` agrees
    (|z| within the t quantile of `judged_level`); a share's intervals stay within [0, 1]."""
    mean, sd, n = _spread(np.asarray(sim, dtype=float))
    row = {"simulated_mean": mean, "ci_low": np.nan, "ci_high": np.nan, "pi_low": np.nan,
           "pi_high": np.nan, "actual": actual, "z": np.nan, "agrees": np.nan,
           "replications": n}
    if n < 2 or not math.isfinite(actual):
        return row
    t = stats.t.ppf(0.5 + level / 2, n - 1)
    scale = sd * math.sqrt(1 + 1 / n)
    row.update(ci_low=mean - t * sd / math.sqrt(n), ci_high=mean + t * sd / math.sqrt(n),
               pi_low=mean - t * scale, pi_high=mean + t * scale)
    if share:
        for key in ("ci_low", "ci_high", "pi_low", "pi_high"):
            row[key] = min(max(row[key], 0.0), 1.0)
    if scale > 0:
        row["z"] = (actual - mean) / scale
        row["agrees"] = bool(abs(row["z"]) <= stats.t.ppf(0.5 + judged_level / 2, n - 1))
    else:
        row["z"] = 0.0 if actual == mean else math.copysign(math.inf, actual - mean)
        row["agrees"] = bool(actual == mean)
    return row


def _outside_range(sim: np.ndarray, actual: float) -> bool:
    """Whether the log's value lies beyond every replication's: a guard against skewed
    spreads (a quiet night where one long complaint decides the rate)."""
    sim = np.asarray(sim, dtype=float)
    sim = sim[np.isfinite(sim)]
    return bool(len(sim) and math.isfinite(actual) and (actual < sim.min() or actual > sim.max()))


def _clock(log: ChatLog, seconds: float, with_date: bool) -> str:
    stamp = pd.Timestamp(log.day0) + pd.Timedelta(seconds=float(seconds))
    text = stamp.strftime("%H:%M")
    if text == "00:00" and seconds > 0 and not with_date:
        text = "24:00"
    return f"{stamp.strftime('%Y-%m-%d')} {text}" if with_date else text


def backtest(log: ChatLog, scenario: Scenario, *, replications: int = 10,
             seed: int | None = None, duty: str = "log", workers: int | None = 1,
             dask: str | None = None, progress: bool = False) -> Backtest:
    """Simulate `scenario` over the log's period (with the log's duty unless
    `duty="scenario"`) and judge it against the log's measured rates."""
    if replications < 2:
        raise BacktestError("a backtest needs at least 2 replications for its intervals")
    if duty not in ("log", "scenario"):
        raise BacktestError(f"duty must be 'log' or 'scenario', not {duty!r}")
    _check_period(scenario, log)
    notes = []
    simulated = with_log_duty(scenario, log) if duty == "log" else scenario
    if duty == "log":
        notes.append("simulated with the log's own duty: "
                     + ("inferred from activity" if log.duty_inferred else "the duty file"))
    else:
        notes.append("simulated with the scenario's own schedules")
    buyers = log.tables.conversations["buyer"].nunique()
    if buyers < len(log.conversations):
        notes.append(f"the log has {len(log.conversations):,} conversations of {buyers:,} "
                     "buyers; the simulation makes every conversation its own buyer, so its "
                     "per-buyer rates count conversations where the log's count buyer-days")
    measured = log_metrics(log, simulated, simulated.arrivals.interval)
    edges = measured.intervals["interval_start_s"].to_numpy()
    edges = np.r_[edges, measured.intervals["interval_end_s"].to_numpy()[-1:]]
    days = len(log.days)
    seed = scenario.seed if seed is None else seed
    tasks = [(SHARED, r, seed, days, edges) for r in range(replications)]
    with make_executor(workers, dask, shared=simulated, tasks=len(tasks)) as executor, \
            tqdm(total=len(tasks), desc=f"backtest {simulated.name}", unit="run",
                 disable=not progress, leave=False) as bar:
        outcomes = executor.map(_replicate, tasks, progress=bar)
    periods = [WHOLE] + ([str(d) for d in range(days)] if days > 1 else [])
    names = [p if p == WHOLE else log.days[int(p)].isoformat() for p in periods]
    shown = list(HEADLINE) + [m for m in ALSO_SHOWN if m not in HEADLINE]
    judged_level = 1 - 0.05 / len(HEADLINE)
    rows = []
    for period, label in zip(periods, names):
        if label not in measured.values.columns:
            continue
        for metric in shown:
            sim = [o[0].get(period, {}).get(metric, np.nan) for o in outcomes]
            actual = float(measured.values.loc[metric, label]) if metric in \
                measured.values.index else np.nan
            rows.append({"period": label, "metric": metric,
                         **_judge(np.asarray(sim, float), actual, 0.95, judged_level,
                                  registry.is_share(metric))})
    table = pd.DataFrame(rows)
    replied = np.array([o[1] for o in outcomes])
    counted = np.array([o[2] for o in outcomes])
    arrivals = np.array([o[3] for o in outcomes])
    actual_replied, actual_counted = metrics.interval_reply_counts(
        log.tables, edges, simulated.metrics.pinduoduo.threshold, simulated.bot.replies_count)
    interval_rows = []
    with np.errstate(invalid="ignore", divide="ignore"):
        sim_rate = replied / counted
        actual_rate = actual_replied / actual_counted
    level = 1 - (1 - FAMILY_LEVEL) / max(len(edges) - 1, 1)
    for i in range(len(edges) - 1):
        judged = _judge(sim_rate[:, i], float(actual_rate[i]), 0.95, level, share=True)
        outside = _outside_range(sim_rate[:, i], float(actual_rate[i]))
        interval_rows.append({
            "interval_start_s": edges[i], "interval_end_s": edges[i + 1],
            "start": _clock(log, edges[i], True),
            "actual_arrivals": int(measured.intervals["arrivals"].iloc[i]),
            "simulated_arrivals": float(arrivals[:, i].mean()),
            "actual_buyers": int(actual_counted[i]),
            "actual_reply_rate_5min": judged["actual"],
            "simulated_reply_rate_5min": judged["simulated_mean"],
            "pi_low": judged["pi_low"], "pi_high": judged["pi_high"], "z": judged["z"],
            "miss": judged["agrees"] is False and outside,
        })
    intervals = pd.DataFrame(interval_rows)
    misses = _sentences(log, table, intervals, replied, counted, actual_replied,
                        actual_counted, edges, level)
    return Backtest(log, simulated, replications, table, intervals, misses, notes)


def _sentences(log, table, intervals, replied, counted, actual_replied, actual_counted,
               edges, level: float) -> list[str]:
    """Plain sentences: each headline rate of a period outside its interval, then each run
    of intervals whose reply rate misses, judged again as one span."""
    fmt = registry.format_value
    sentences = []
    for row in table.itertuples(index=False):
        if row.metric in HEADLINE and row.agrees is False:
            sentences.append(
                f"{row.period} {row.metric}: simulated {fmt(row.metric, row.simulated_mean)} "
                f"[{fmt(row.metric, row.pi_low)}, {fmt(row.metric, row.pi_high)}], actual "
                f"{fmt(row.metric, row.actual)}")
    flagged = intervals["miss"].to_numpy()
    sign = np.sign(intervals["z"].fillna(0).to_numpy())
    with_date = len(log.days) > 1
    i = 0
    while i < len(flagged):
        if not flagged[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(flagged) and flagged[j + 1] and sign[j + 1] == sign[i]:
            j += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            sim = replied[:, i:j + 1].sum(axis=1) / counted[:, i:j + 1].sum(axis=1)
            actual = actual_replied[i:j + 1].sum() / actual_counted[i:j + 1].sum()
        judged = _judge(sim, float(actual), 0.95, level, share=True)
        buyers = int(actual_counted[i:j + 1].sum())
        if judged["agrees"] is False and _outside_range(sim, float(actual)) and \
                buyers >= MIN_SPAN_BUYERS:
            span = (f"{_clock(log, edges[i], with_date)}-"
                    f"{_clock(log, edges[j + 1], False)}")
            name = "reply_rate_5min"
            sentences.append(
                f"{span}: simulated {fmt(name, judged['simulated_mean'])} "
                f"[{fmt(name, judged['pi_low'])}, {fmt(name, judged['pi_high'])}], actual "
                f"{fmt(name, judged['actual'])}")
        i = j + 1
    return sentences


def halved(scenario: Scenario) -> Scenario:
    """The scenario with every headcount and shift halved (rounded down): a deliberately
    wrong staffing, to see a backtest flag it."""
    document = scenario.model_dump(mode="json", by_alias=True)
    for group in document["groups"].values():
        schedule = group.get("schedule") or {}
        for key, count in (schedule.get("headcount") or {}).items():
            schedule["headcount"][key] = count // 2
        for shift in schedule.get("shifts") or []:
            shift["agents"] = shift["agents"] // 2
    return scenario_from_dict(copy.deepcopy(document), source=f"{scenario.name} halved",
                              base_dir=_base_dir(scenario))


def _base_dir(scenario: Scenario) -> Path | None:
    """Where a scenario's counts file is (loaded scenarios pin its absolute path), so that a
    scenario derived from it validates wherever the process runs."""
    counts = scenario.arrivals.counts_csv
    return Path(counts.path).parent if counts is not None else None
