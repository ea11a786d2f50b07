"""`supportsim validate`: the engine against queueing theory, over a grid of loads.

Three reductions of the desk have exact steady-state answers:

- **M/M/c**: one message per conversation, concurrency 1, no bot, no patience, a constant
  arrival rate and exponential reply times -> Erlang C;
- **M/M/c+M**: the same with exponential patience -> Erlang A (exact birth-death chain);
- **chat**: concurrency K, two messages, replies taking no time and an exponential think time
  in between, so a conversation holds one of the n*K slots for exactly the think time ->
  Erlang C with n*K servers.

Each case is simulated for several independent replications of one long day; only arrivals
after a burn-in are counted (the engine starts empty), and arrivals stop an hour before the end
so every counted buyer is served (FCFS: later arrivals never change an earlier buyer's wait).
The measurements come straight from the engine's records: a conversation's queue wait is
`assigned_s - queued_s`, or `end_s - queued_s` when the buyer abandoned.

Every check reports the 95% t-interval over replications. A check passes when the theoretical
value lies inside the *simultaneous* interval of the run (Bonferroni: each at level
1 - 0.05 / checks, so all of them hold together with 95% probability) widened by a small
absolute tolerance (see `TOLERANCE` and docs/validation.md). With per-check 95% intervals, a
run of 16 checks flagged a false failure about one time in three (6 of 20 seeds, measured on
an earlier quick grid with 6 replications per case).
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.analysis.queueing import erlang_a, erlang_c
from sim.analysis.stats import t_interval
from sim.engine import ABANDONED, simulate
from sim.output.files import atomic_write_bytes, write_csv
from sim.output.tables import text_table
from sim.parallel import make_executor
from sim.scenario import Scenario, scenario_from_dict

SYSTEMS = ("M/M/c", "M/M/c+M", "chat")

#: Metrics checked per system. Times are in units of the mean service time.
METRICS = {
    "M/M/c": ("p_wait", "mean_wait", "service_level"),
    "M/M/c+M": ("p_wait", "p_abandon", "mean_wait", "service_level"),
    "chat": ("p_wait", "mean_wait", "service_level"),
}

#: Absolute tolerance added to the CI half-width, in each metric's unit: probabilities as such,
#: mean wait as a multiple of the theoretical E[W | W > 0] (the threshold of `service_level`).
#: Why any: the burn-in length rests on a heuristic relaxation time, the per-replication
#: estimates are ratios (bias O(1/customers)), and a CI from well-behaved replications can be
#: narrower than these residual biases. Half a percent of each metric's natural scale is far
#: below the errors a wrong model makes: 10% longer service moves P(wait > 0) on the quick grid
#: by 0.05 (M/M/1 at rho 0.5) to 0.55 (M/M/50 at rho 0.9).
TOLERANCE = {"p_wait": 0.005, "p_abandon": 0.005, "service_level": 0.005, "mean_wait": 0.005}

#: Burn-in length in relaxation times (the start-empty transient decays like exp(-t / tau)).
BURN_IN_RELAXATIONS = 10.0
#: Arrivals run for 23 hours of a one-day horizon; the last hour has none, so counted buyers
#: still in the queue are served before the agents leave at 24:00.
ARRIVAL_HOURS = 23
DEFAULT_SEED = 20260501

#: Family-wise confidence level of the PASS bands over all checks of one run.
FAMILY_LEVEL = 0.95

COLUMNS = [
    "case", "system", "agents", "concurrency", "servers", "rho", "patience_ratio", "metric",
    "threshold", "theory", "sim_mean", "ci_low", "ci_high", "tolerance", "pass_low",
    "pass_high", "error", "status", "replications", "customers", "censored",
]


@dataclass(frozen=True)
class Case:
    """One reduction at one load: `agents` agents of concurrency `concurrency` at
    utilisation `rho` = lambda / (servers mu); `patience_ratio` = theta / mu (M/M/c+M)."""

    system: str
    agents: int
    rho: float
    concurrency: int = 1
    patience_ratio: float = 0.0
    customers: int = 20_000  # counted customers per replication
    replications: int = 8

    def __post_init__(self):
        if self.system not in SYSTEMS:
            raise ValueError(f"system must be one of {', '.join(SYSTEMS)}, got {self.system!r}")
        if (self.system == "M/M/c+M") != (self.patience_ratio > 0):
            raise ValueError("patience_ratio > 0 goes with M/M/c+M and only with it")
        if self.system != "chat" and self.concurrency != 1:
            raise ValueError("M/M/c reductions have concurrency 1")
        if self.system != "M/M/c+M" and not 0 < self.rho < 1:
            raise ValueError("without abandonment rho must lie in (0, 1)")

    @property
    def servers(self) -> int:
        return self.agents * self.concurrency

    @property
    def label(self) -> str:
        text = f"{self.system} n={self.agents}"
        if self.concurrency > 1:
            text += f" K={self.concurrency}"
        text += f" rho={self.rho:.3g}"
        if self.patience_ratio:
            text += f" theta/mu={self.patience_ratio:g}"
        return text

    def relaxation_time(self) -> float:
        """Heuristic relaxation time in mean service times: the slower of one service time
        (the busy-server part) and the queue's 1 / (c mu (1 - sqrt(rho))^2 + theta) (Morse's
        M/M/1 result, scaled to c servers)."""
        queue_rate = self.servers * (1 - math.sqrt(self.rho)) ** 2 + self.patience_ratio
        return max(1.0, 1.0 / queue_rate)

    def theory(self):
        """The steady-state law, in units where the mean service time is 1."""
        arrival_rate = self.rho * self.servers
        if self.system == "M/M/c+M":
            return erlang_a(self.servers, arrival_rate, 1.0, self.patience_ratio)
        return erlang_c(self.servers, arrival_rate, 1.0)


def quick_grid() -> list[Case]:
    """A handful of cases, one per reduction and regime, for the test suite (seconds)."""
    return [
        Case("M/M/c", 1, 0.5, customers=10_000),
        Case("M/M/c", 10, 0.8, customers=15_000),
        Case("M/M/c", 50, 0.9, customers=30_000),
        # Published check: lambda = 2/min, 1/mu = 4 min, 1/theta = 5 min, n = 9.
        Case("M/M/c+M", 9, 8 / 9, patience_ratio=0.8, customers=10_000),
        Case("chat", 4, 0.85, concurrency=3, customers=15_000),
    ]


def full_grid() -> list[Case]:
    """rho from 0.5 to 0.98 and 1 to 200 agents; counted customers grow with the relaxation
    time so every case spans at least ~100 relaxation times per replication (capped)."""
    mmc = [(1, 0.5), (1, 0.7), (1, 0.8), (2, 0.7), (2, 0.9), (5, 0.5), (5, 0.8), (10, 0.8),
           (10, 0.9), (20, 0.9), (50, 0.9), (50, 0.95), (100, 0.95), (200, 0.5), (200, 0.95),
           (200, 0.98)]
    cases = [Case("M/M/c", n, rho) for n, rho in mmc]
    cases += [
        Case("M/M/c+M", 9, 8 / 9, patience_ratio=0.8),
        Case("M/M/c+M", 1, 0.9, patience_ratio=0.5),
        Case("M/M/c+M", 10, 0.95, patience_ratio=0.5),
        Case("M/M/c+M", 20, 1.1, patience_ratio=1.0),
        Case("M/M/c+M", 50, 0.98, patience_ratio=0.2),
        Case("M/M/c+M", 200, 0.98, patience_ratio=0.1),
    ]
    cases += [
        Case("chat", 2, 0.8, concurrency=3),
        Case("chat", 10, 0.9, concurrency=5),
        Case("chat", 20, 0.95, concurrency=10),
    ]
    return [replace(c, customers=_customers_for(c)) for c in cases]


def _customers_for(case: Case, minimum: int = 20_000, cap: int = 500_000) -> int:
    per_relaxation = case.rho * case.servers * case.relaxation_time()
    return int(min(cap, max(minimum, 150 * per_relaxation)))


# --- one case ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where a case sits in the simulated day (seconds) and its time unit."""

    service_s: float  # theoretical mean service time
    arrival_rate_per_s: float
    burn_in_s: float
    arrivals_end_s: float


def layout(case: Case) -> Layout:
    """Time scale of a case: the arrival rate is chosen so the day holds the burn-in plus the
    counted customers; the mean service time follows from rho."""
    burn_customers = max(200.0, BURN_IN_RELAXATIONS * case.rho * case.servers
                         * case.relaxation_time())
    arrivals_end_s = ARRIVAL_HOURS * 3600.0
    rate = (case.customers + burn_customers) / arrivals_end_s
    service_s = case.rho * case.servers / rate
    return Layout(service_s, rate, burn_customers / rate, arrivals_end_s)


def scenario_for(case: Case, service_time_factor: float = 1.0) -> Scenario:
    """The desk scenario that reduces to `case`.

    `service_time_factor` multiplies the simulated service time (reply time, or think time for
    chat) while the theory keeps the nominal one: a deliberate mis-configuration, so the check
    can be shown to catch it.
    """
    lay = layout(case)
    service_s = lay.service_s * service_time_factor
    rates = [lay.arrival_rate_per_s * 3600.0] * ARRIVAL_HOURS + [0.0] * (24 - ARRIVAL_HOURS)
    if case.system == "chat":
        topic = {"messages": {"dist": "deterministic", "value": 2},
                 "think_time": {"dist": "exponential", "mean": service_s}}
        reply = {"dist": "deterministic", "value": 0}
    else:
        topic = {"messages": {"dist": "deterministic", "value": 1},
                 "think_time": {"dist": "deterministic", "value": 0}}
        reply = {"dist": "exponential", "mean": service_s}
    if case.patience_ratio:
        topic["patience"] = {"dist": "exponential", "mean": lay.service_s / case.patience_ratio}
    document = {
        "name": "validation",
        "horizon": {"start": "00:00", "end": "24:00", "drain": "1h"},
        "arrivals": {"interval": "1h", "rates_per_hour": rates, "mix": {"q": 1}},
        "topics": {"q": topic},
        "groups": {"desk": {
            "skills": ["q"], "concurrency": case.concurrency, "reply_time": reply,
            "schedule": {"headcount": {"00:00": case.agents}},
        }},
    }
    return scenario_from_dict(document, source=f"<validation {case.label}>")


def threshold(case: Case) -> float:
    """Wait threshold of the service-level check, in mean service times: the theoretical
    E[W | W > 0] (for Erlang C, 1 / (c mu - lambda)), where the CDF is steepest-ish."""
    law = case.theory()
    return law.mean_wait / law.p_wait


def theory_values(case: Case) -> dict[str, float]:
    law = case.theory()
    values = {
        "p_wait": law.p_wait,
        "mean_wait": law.mean_wait,
        "service_level": law.service_level(threshold(case)),
    }
    if case.system == "M/M/c+M":
        values["p_abandon"] = law.p_abandon
    return values


def replicate(case: Case, replication: int, seed: int, service_time_factor: float = 1.0
              ) -> dict[str, float]:
    """One replication of a case: the metrics over customers arriving after the burn-in."""
    lay = layout(case)
    records = simulate(scenario_for(case, service_time_factor), replication, seed)
    counted = records.arrival_s >= lay.burn_in_s
    queued = records.queued_s[counted]
    assigned = records.assigned_s[counted]
    abandoned = records.outcome[counted] == ABANDONED
    # The wait ends at assignment, or when the buyer gives up; neither (still queued when the
    # agents left) is a censored wait, longer than anything measured.
    wait_s = np.where(np.isfinite(assigned), assigned - queued,
                      np.where(abandoned, records.end_at_s[counted] - queued, np.inf))
    wait = wait_s / lay.service_s
    censored = int(np.sum(~np.isfinite(wait)))
    t = threshold(case)
    n = len(wait)
    return {
        "customers": n,
        "censored": censored,
        "p_wait": float(np.mean(wait > 0)) if n else math.nan,
        "mean_wait": float(np.mean(wait)) if n and not censored else math.nan,
        "service_level": float(np.mean(np.isfinite(assigned) & (wait <= t))) if n else math.nan,
        "p_abandon": float(np.mean(abandoned)) if n else math.nan,
    }


def case_seed(seed: int, index: int) -> int:
    """Independent streams per case (so the cases' errors are not correlated)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


# --- the grid -------------------------------------------------------------------------------


def run_grid(cases: list[Case] | None = None, *, quick: bool = True, seed: int = DEFAULT_SEED,
             replications: int | None = None, workers: int | None = 1,
             dask: str | None = None, service_time_factor: float = 1.0,
             progress: bool = False) -> pd.DataFrame:
    """Simulate every case and compare with theory; one row per (case, metric).

    `cases` defaults to the quick or full grid; `replications` overrides every case's;
    `service_time_factor` != 1 mis-configures the simulated desk on purpose (theory unchanged).
    The replications run on `sim.parallel.make_executor(workers, dask)` (default: in this
    process); the table is the same on every executor. Columns: see `COLUMNS`; `status` is
    PASS or FAIL.
    """
    if cases is None:
        cases = quick_grid() if quick else full_grid()
    if replications is not None:
        if replications < 2:
            raise ValueError("a confidence interval needs at least 2 replications")
        cases = [replace(c, replications=replications) for c in cases]
    runs = [(i, r) for i, case in enumerate(cases) for r in range(case.replications)]
    # Longest first, so the last worker is not left alone with the biggest case (a stable
    # sort: each case's replications stay in order).
    runs.sort(key=lambda run: -cases[run[0]].customers
              * (3 if cases[run[0]].system == "chat" else 1))
    tasks = [(cases[i], r, case_seed(seed, i), service_time_factor) for i, r in runs]
    results: dict[int, list[dict[str, float]]] = {i: [] for i in range(len(cases))}
    with make_executor(workers, dask, tasks=len(tasks)) as executor, \
            tqdm(total=len(tasks), desc="validate", unit="run", disable=not progress,
                 leave=False) as bar:
        for (index, _), values in zip(runs, executor.map(replicate, tasks, progress=bar)):
            results[index].append(values)
    rows = []
    checks = sum(len(METRICS[case.system]) for case in cases)
    each_level = 1.0 - (1.0 - FAMILY_LEVEL) / checks
    for index, case in enumerate(cases):
        runs = pd.DataFrame(results[index])
        theory = theory_values(case)
        t = threshold(case)
        for metric in METRICS[case.system]:
            values = runs[metric].to_numpy()
            mean, low, high = t_interval(values)
            _, band_low, band_high = t_interval(values, each_level)
            tolerance = TOLERANCE[metric] * (t if metric == "mean_wait" else 1.0)
            band_low, band_high = band_low - tolerance, band_high + tolerance
            value = theory[metric]
            ok = math.isfinite(band_low) and band_low <= value <= band_high
            rows.append({
                "case": index, "system": case.system, "agents": case.agents,
                "concurrency": case.concurrency, "servers": case.servers, "rho": case.rho,
                "patience_ratio": case.patience_ratio, "metric": metric,
                "threshold": t if metric == "service_level" else math.nan,
                "theory": value, "sim_mean": mean, "ci_low": low, "ci_high": high,
                "tolerance": tolerance, "pass_low": band_low, "pass_high": band_high,
                "error": mean - value,
                "status": "PASS" if ok else "FAIL",
                "replications": len(runs), "customers": int(runs["customers"].sum()),
                "censored": int(runs["censored"].sum()),
            })
    return pd.DataFrame(rows, columns=COLUMNS)


# --- output -----------------------------------------------------------------------------------


def format_table(table: pd.DataFrame) -> str:
    """Simulation against theory, one line per check; each column as wide as its widest
    cell, so headers sit over their columns whatever the case labels and numbers."""
    cells = [["case", "metric", "theory", "simulation [95% CI]", "pass band", "status"]]
    for _, row in table.iterrows():
        case = Case(row["system"], int(row["agents"]), float(row["rho"]),
                    int(row["concurrency"]), float(row["patience_ratio"]))
        sim = f"{row['sim_mean']:.4f} [{row['ci_low']:.4f}, {row['ci_high']:.4f}]"
        band = f"[{row['pass_low']:.4f}, {row['pass_high']:.4f}]"
        cells.append([case.label, str(row["metric"]), f"{row['theory']:.4f}", sim, band,
                      str(row["status"])])
    lines = [text_table(cells, ["<", "<", ">", ">", ">", "<"])]
    passed = int((table["status"] == "PASS").sum())
    lines.append(
        f"{passed} of {len(table)} checks passed. Times in mean service times; service level "
        "at t = E[W | W > 0]. Pass band: simultaneous 95% interval over all checks of the run "
        "(Bonferroni) widened by the tolerance.")
    return "\n".join(lines)


def plot(table: pd.DataFrame):
    """Simulation against theory, one panel per metric, 95% CIs as error bars."""
    from matplotlib.figure import Figure

    metrics = [m for m in ("p_wait", "service_level", "p_abandon", "mean_wait")
               if m in set(table["metric"])]
    titles = {"p_wait": "P(wait > 0)", "service_level": "P(wait <= E[W | W > 0])",
              "p_abandon": "P(abandon)", "mean_wait": "mean wait (service times)"}
    figure = Figure(figsize=(4.2 * len(metrics), 4.4), layout="constrained")
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    markers = {"M/M/c": "o", "M/M/c+M": "s", "chat": "^"}
    colours = {"M/M/c": "tab:blue", "M/M/c+M": "tab:orange", "chat": "tab:green"}
    for ax, metric in zip(axes, metrics):
        rows = table[table["metric"] == metric]
        log = metric == "mean_wait"
        if log:
            # Waits span decades; near-zero ones (lightly loaded large desks) would squash the
            # axis and are checked all the same in the table.
            rows = rows[rows["theory"] >= 1e-3]
        for system, part in rows.groupby("system", sort=False):
            failed = part["status"] != "PASS"
            err = np.vstack([part["sim_mean"] - part["ci_low"], part["ci_high"] - part["sim_mean"]])
            ax.errorbar(part["theory"], part["sim_mean"], yerr=err, fmt=markers[system],
                        color=colours[system], ms=5, capsize=2, label=system)
            if failed.any():
                ax.scatter(part["theory"][failed], part["sim_mean"][failed], s=120,
                           facecolors="none", edgecolors="red", label=f"{system} FAIL")
        if rows.empty:
            continue
        low = float(min(rows["theory"].min(), rows["ci_low"].min()))
        high = float(max(rows["theory"].max(), rows["ci_high"].max()))
        if log:
            low = max(low, 0.5 * float(rows["theory"].min()))
            ax.plot([low, high * 1.2], [low, high * 1.2], color="grey", lw=1, ls="--",
                    label="simulation = theory")
            ax.set_xscale("log")
            ax.set_yscale("log")
        else:
            pad = 0.05 * (high - low or 1.0)
            ax.plot([low - pad, high + pad], [low - pad, high + pad], color="grey", lw=1,
                    ls="--", label="simulation = theory")
        ax.set_title(titles[metric])
        ax.set_xlabel("theory (Erlang C / Erlang A)")
        ax.set_ylabel("simulation, mean and 95% CI")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    passed = int((table["status"] == "PASS").sum())
    figure.suptitle(f"Engine against queueing theory: {passed} of {len(table)} checks pass")
    return figure


def write_outputs(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """validation.csv and validation.png in `out_dir`."""
    out_dir = Path(out_dir)
    csv_path, png_path = out_dir / "validation.csv", out_dir / "validation.png"
    write_csv(csv_path, table)
    buffer = io.BytesIO()
    plot(table).savefig(buffer, format="png", dpi=110)
    atomic_write_bytes(png_path, buffer.getvalue())
    return [csv_path, png_path]


def cases_frame(cases: list[Case]) -> pd.DataFrame:
    """The grid as a table (for docs and notebooks)."""
    return pd.DataFrame([{**asdict(c), "servers": c.servers,
                          "relaxation_time": c.relaxation_time()} for c in cases])
