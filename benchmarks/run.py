"""supportsim's benchmark: one command, one table, every comparison measured in the same run.

    .venv/bin/python benchmarks/run.py            # full: about 15 minutes on the 2-core machine
    .venv/bin/python benchmarks/run.py --quick    # small version of everything, one to two minutes

Sections (see benchmarks/README.md and docs/performance.md):
  a. M/M/c (50 servers, rho 0.9, 200,000 customers) on supportsim and five references, run
     interleaved A B C ... A B C ..., medians, ratios, the Erlang C check, memory per customer;
  b. the large-shop Double-11 day of benchmarks/large_shop.yaml, each run in a fresh process
     pinned to one core: wall time, peak RSS, microseconds and bytes of records per message;
  c. the same day at 1x, 2x and 4x volume, interleaved with (b): cost per message vs 1x;
  d. sweeps on 1 vs 2 workers, from benchmarks/sweep_bench.py when that file exists;
  e. one whole large-shop replication (simulate + every metric), the numpy metrics against
     the DataFrame ones they replaced, on the same records;
  f. `supportsim run scenarios/double11.yaml` on 1 vs 2 workers and on a Dask LocalCluster:
     wall, CPU, the machine's other work, and whether the files are the same bytes.

The table goes to stdout (and to a Markdown file with --markdown); progress goes to stderr.
Targets are judged here, by the benchmark, never by timed tests.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import gc
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import baselines  # a sibling file, importable once BENCH_DIR is on the path

LARGE_SHOP = BENCH_DIR / "large_shop.yaml"
GIB = 1024**3

# Targets of issue 7.
TARGET_VS_CIW = 8.0  # supportsim customers/s over Ciw's, at least
TARGET_VS_HEAPQ = 2.0  # supportsim time per customer over the heapq loop's, at most
TARGET_DAY_S = 20.0  # one large-shop replication, at most
TARGET_DAY_RSS = 1.5 * GIB  # peak RSS of that replication, at most
TARGET_RECORD_BYTES = 200.0  # bytes of records per message, below
TARGET_SCALING = 1.10  # time per message at k x volume over 1x, at most
TARGET_TWO_WORKERS = 1.7  # a sweep on 2 workers over 1, at least this much faster
# Targets of issue 18.
TARGET_REPLICATION_S = 5.0  # one large-shop replication, simulate + every metric, at most
TARGET_METRICS_SHARE = 0.25  # the metrics' share of that replication, at most
TARGET_WHOLE_VS_CIW = 8.0  # a whole M/M/c replication's customers/s over Ciw's, at least
TARGET_RUN_TWO_WORKERS = 1.8  # `run scenarios/double11.yaml` on 2 workers over 1, at least
RUN_SCENARIO = ROOT / "scenarios" / "double11.yaml"
RUN_FILES = ("summary.csv", "replications.csv", "intervals.csv", "comparison.csv",
             "conversations.parquet", "messages.parquet")


@dataclass
class Row:
    """One line of the table; `result` is PASS, MISS, or empty for information."""

    what: str
    value: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    result: str = ""


@dataclass
class Section:
    title: str
    rows: list[Row] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def say(message: str) -> None:
    """Progress on stderr, so stdout carries only the table."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fmt_rate(value: float) -> str:
    return f"{value / 1000:,.1f}k/s"


def fmt_bytes(value: float) -> str:
    if value >= GIB:
        return f"{value / GIB:.2f} GiB"
    if value >= 1024**2:
        return f"{value / 1024**2:,.0f} MiB"
    return f"{value:,.0f} B"


# --- child processes -----------------------------------------------------------------------------


def _one_core() -> None:
    """Pin this process to one CPU and keep numerical libraries single-threaded."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})


CHILD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_child(*args: str, timeout_s: float = 3600, script: Path | None = None) -> dict:
    """Run `script` (this one by default) in a fresh interpreter with `args`; it prints one
    JSON object last."""
    env = {**os.environ, **CHILD_ENV}
    done = subprocess.run(
        [sys.executable, str(script or Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {' '.join(args)} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def probe_mmc_memory(engine: str, customers: int) -> dict:
    """Child: peak traced memory of one M/M/c run per customer (tracemalloc counts Python
    objects and numpy buffers alike; it is started after imports and set-up)."""
    import tracemalloc

    case = baselines.MMc(customers=customers)
    scenario = baselines.mmc_scenario(case) if engine == "supportsim" else None
    if engine == "ciw":
        import ciw  # noqa: F401 - imported before tracing starts
    tracemalloc.start()
    if scenario is not None:
        result = baselines.run_supportsim(case, scenario)
    else:
        result = baselines.REFERENCES[engine](case)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"engine": engine, "customers": result.customers, "peak_bytes": peak}


def scaled_document(factor: float) -> dict:
    """The large-shop day with volume and every headcount multiplied by `factor`."""
    from sim.scenario import load_document

    document, _ = load_document(LARGE_SHOP)
    document = copy.deepcopy(document)
    arrivals = document["arrivals"]
    for key in ("daily_volume",):
        if arrivals.get(key) is not None:
            arrivals[key] = arrivals[key] * factor
    for day, volume in (arrivals.get("volume_per_day") or {}).items():
        arrivals["volume_per_day"][day] = volume * factor

    def people(count: int) -> int:
        return max(1, round(count * factor)) if count > 0 else 0

    for group in document["groups"].values():
        schedule = group.get("schedule") or {}
        for key, count in (schedule.get("headcount") or {}).items():
            schedule["headcount"][key] = people(count)
        for shift in schedule.get("shifts") or []:
            shift["agents"] = people(shift["agents"])
        if group.get("standby"):
            group["standby"]["cap"] = people(group["standby"]["cap"])
    document["name"] = f"{document['name']}_x{factor:g}".replace(".", "_")
    return document


def scaled_scenario(factor: float):
    """The large-shop day at `factor` times the volume, validated as `supportsim` would."""
    from sim.scenario import scenario_from_dict

    return scenario_from_dict(
        scaled_document(factor), source=str(LARGE_SHOP), base_dir=LARGE_SHOP.parent
    )


def records_nbytes(records) -> int:
    """Bytes of every numpy array a `Records` holds."""
    return sum(
        value.nbytes
        for field in dataclasses.fields(records)
        if isinstance(value := getattr(records, field.name), np.ndarray)
    )


def peak_rss_bytes() -> int:
    """Peak resident memory of this process.

    VmHWM in /proc belongs to the process's own address space. `ru_maxrss` is the fallback
    only: Linux carries it across fork and exec, so a child started by a big parent would
    report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def probe_day(factor: float) -> dict:
    """Child: one replication of the scaled large-shop day, as `sim.experiment.run` does it
    with records kept, on one core. Reports wall and CPU time (total and engine), peak RSS,
    sizes."""
    _one_core()
    from sim import experiment

    rss_after_imports = peak_rss_bytes()
    scenario = scaled_scenario(factor)
    seen: dict = {}
    simulate = experiment.simulate

    # Wrapping the engine inside the replication times it without running the day twice.
    def timed_simulate(*args, **kwargs):
        watch = baselines.Stopwatch()
        records = simulate(*args, **kwargs)
        seen["engine_wall_s"], seen["engine_cpu_s"] = watch.read()
        seen["peak_rss_engine"] = peak_rss_bytes()
        seen["records_bytes"] = records_nbytes(records)
        seen["messages"] = int(records.n_messages.sum())
        seen["sent"] = int(np.isfinite(records.sent_s).sum())
        seen["counts"] = records.counts()
        return records

    experiment.simulate = timed_simulate
    watch = baselines.Stopwatch()
    results = experiment.run(scenario, replications=1, keep_records=True)
    total_wall_s, total_cpu_s = watch.read()
    if "engine_cpu_s" not in seen:
        raise RuntimeError(
            "sim.experiment.run no longer calls sim.experiment.simulate; "
            "update probe_day in benchmarks/run.py"
        )
    tables_bytes = 0
    for tables in results.records.values():
        for frame in (tables.conversations, tables.messages, tables.duty):
            tables_bytes += int(frame.memory_usage(deep=True).sum())
    return {
        "factor": factor,
        "total_wall_s": total_wall_s,
        "total_cpu_s": total_cpu_s,
        "peak_rss": peak_rss_bytes(),
        "rss_after_imports": rss_after_imports,
        "tables_bytes": tables_bytes,
        "reply_rate_5min": results.metric("reply_rate_5min")["mean"],
        **seen,
    }


def metrics_oracle():
    """The DataFrame implementation of the metrics the numpy one replaced (a test helper,
    tests/metrics_oracle.py), for the old-against-new rows."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import metrics_oracle as oracle

    return oracle


def old_metrics(scenario, records) -> dict[str, float]:
    """Every metric, the interval series and the wait distributions of one run, as the
    DataFrame implementation computed them (what `replication_metrics` plus
    `wait_distributions` compute now)."""
    from sim.experiment import WAIT_GRID_S

    oracle = metrics_oracle()
    tables = oracle.Tables.from_records(records)
    activations = dict(zip(records.group_names, map(int, records.activations)))
    values = oracle.summarize(tables, scenario, activations)
    oracle.interval_series(tables, scenario)
    oracle.wait_distributions(tables, scenario, WAIT_GRID_S)
    return values


def new_metrics(scenario, records) -> dict[str, float]:
    """Every metric, the interval series and the wait distributions, as a replication of
    `sim.experiment.run` computes them."""
    from sim import experiment

    values, _, tables = experiment.replication_metrics(scenario, records)
    experiment.wait_distributions(tables, scenario)
    return values


def run_supportsim_with_old_metrics(case: baselines.MMc, scenario) -> baselines.Run:
    """A whole M/M/c replication with the old (DataFrame) metrics: the baseline of the new."""
    from sim.experiment import simulate

    watch = baselines.Stopwatch()
    records = simulate(scenario, 0, case.seed)
    old_metrics(scenario, records)
    timing = watch.read()
    assigned = np.isfinite(records.assigned_s)
    waits = (records.assigned_s - records.queued_s)[assigned]
    return baselines.Run("supportsim+old-metrics", timing, len(records.arrival_s), waits)


# --- a. M/M/c -----------------------------------------------------------------------------------


def bench_mmc(customers: int, repeats: int) -> Section:
    section = Section(
        f"a. M/M/c: 50 servers, rho 0.9, {customers:,} customers "
        f"(median of {repeats}, engines interleaved; customers per CPU second)"
    )
    case = baselines.MMc(customers=customers)
    scenario = baselines.mmc_scenario(case)
    ours = {
        "supportsim": baselines.run_supportsim,
        "supportsim+metrics": baselines.run_supportsim_with_metrics,
        "supportsim+old-metrics": run_supportsim_with_old_metrics,
    }
    engines = {name: (lambda c, f=f: f(c, scenario)) for name, f in ours.items()}
    engines.update(baselines.REFERENCES)
    try:
        import ciw  # noqa: F401 - only whether it is installed
    except ImportError:
        del engines["ciw"]
        section.notes.append("Ciw is not installed (pip install -e '.[bench]'): no Ciw column.")

    # One small untimed run each, so imports and first-call costs stay out of the medians.
    warm = baselines.MMc(customers=2_000)
    warm_scenario = baselines.mmc_scenario(warm)
    for name, engine in engines.items():
        if name in ours:
            ours[name](warm, warm_scenario)
        else:
            engine(warm)

    runs: dict[str, list[baselines.Run]] = {name: [] for name in engines}
    for round_ in range(repeats):
        for name, engine in engines.items():
            # Collect the previous engine's garbage now, so no engine pays for another's.
            gc.collect()
            result = engine(case)
            runs[name].append(result)
            say(
                f"M/M/c round {round_ + 1}/{repeats}: {name} {result.cpu_s:.2f} s CPU, "
                f"{result.seconds:.2f} s wall ({fmt_rate(result.customers_per_s)})"
            )

    # Throughput per CPU second: what each engine costs on a core of its own (see README).
    rate = {name: statistics.median(r.customers_per_s for r in rs) for name, rs in runs.items()}
    cpu = {name: statistics.median(r.cpu_s for r in rs) for name, rs in runs.items()}
    wall = {name: statistics.median(r.seconds for r in rs) for name, rs in runs.items()}
    for name in engines:
        section.rows.append(
            Row(
                f"{name}: customers/s ({cpu[name]:.2f} s CPU, {wall[name]:.2f} s wall per run)",
                fmt_rate(rate[name]),
                ratio=""
                if name == "ciw" or "ciw" not in rate
                else f"{rate[name] / rate['ciw']:.1f}x Ciw",
            )
        )
    ours = rate["supportsim"]
    if "ciw" in rate:
        ratio = ours / rate["ciw"]
        section.rows.append(
            Row(
                "supportsim vs Ciw, customers/s",
                fmt_rate(ours),
                fmt_rate(rate["ciw"]),
                f"{ratio:.2f}x",
                f">= {TARGET_VS_CIW:g}x",
                verdict(ratio >= TARGET_VS_CIW),
            )
        )
    us_ours, us_heapq = 1e6 / ours, 1e6 / rate["heapq"]
    ratio = us_ours / us_heapq
    section.rows.append(
        Row(
            "supportsim time / heapq time, per customer",
            f"{us_ours:.2f} us",
            f"{us_heapq:.2f} us",
            f"{ratio:.2f}x",
            f"<= {TARGET_VS_HEAPQ:g}x",
            verdict(ratio <= TARGET_VS_HEAPQ),
        )
    )
    if "simpy-calendar" in rate:
        # What keeping SimPy's calendar costs by itself: entries and a callback per event.
        floor = rate["heapq"] / rate["simpy-calendar"]
        section.rows.append(
            Row(
                "simpy-calendar time / heapq time, per customer (the floor under SimPy's calendar)",
                f"{1e6 / rate['simpy-calendar']:.2f} us",
                f"{us_heapq:.2f} us",
                f"{floor:.2f}x",
            )
        )
    for name in ("simpy-process", "simpy-callbacks", "simpy-calendar"):
        section.rows.append(
            Row(
                f"supportsim vs {name}, customers/s",
                fmt_rate(ours),
                fmt_rate(rate[name]),
                f"{ours / rate[name]:.2f}x",
            )
        )
    with_metrics = rate["supportsim+metrics"]
    with_old = rate["supportsim+old-metrics"]
    if "ciw" in rate:
        ratio = with_metrics / rate["ciw"]
        section.rows.append(
            Row(
                "whole replication (simulate + every metric) vs Ciw, customers/s",
                fmt_rate(with_metrics),
                fmt_rate(rate["ciw"]),
                f"{ratio:.2f}x",
                f">= {TARGET_WHOLE_VS_CIW:g}x",
                verdict(ratio >= TARGET_WHOLE_VS_CIW),
            )
        )
        section.rows.append(
            Row(
                "  the same with the old DataFrame metrics vs Ciw, customers/s",
                fmt_rate(with_old),
                fmt_rate(rate["ciw"]),
                f"{with_old / rate['ciw']:.2f}x",
            )
        )
    new_s = cpu["supportsim+metrics"] - cpu["supportsim"]
    old_s = cpu["supportsim+old-metrics"] - cpu["supportsim"]
    section.rows.append(
        Row(
            "metrics alone, new vs old (CPU s per run, simulate's median subtracted)",
            f"{new_s:.3f} s",
            f"{old_s:.3f} s old",
            f"{old_s / new_s:.1f}x faster" if new_s > 0 else "",
        )
    )

    section.rows += erlang_c_rows(case, runs["supportsim"][-1])
    means = ", ".join(f"{name} {np.mean(rs[-1].waits_s):.2f}" for name, rs in runs.items())
    section.notes.append(f"mean queue wait (s) of the last run of each engine: {means}.")
    section.notes.append(
        "Erlang C check: 99% batch-means interval of supportsim's last run, whose real "
        "coverage is at least 95% at this load (benchmarks/README.md)."
    )
    section.notes.append(
        "supportsim times sim.engine.simulate (sampling, SimPy run, records); "
        "supportsim+metrics a whole replication (simulate + tables + every metric and series); "
        "supportsim+old-metrics the same with the DataFrame metrics it replaced "
        "(tests/metrics_oracle.py). "
        "References time their simulation including random draws, not result extraction."
    )

    memory_customers = customers
    per_customer = {}
    for name in ("supportsim", "ciw"):
        if name not in engines:
            continue
        say(f"M/M/c memory probe: {name} ({memory_customers:,} customers, fresh process)")
        probe = run_child("--probe-mmc", name, str(memory_customers))
        per_customer[name] = probe["peak_bytes"] / probe["customers"]
    if per_customer:
        ours_mem = per_customer["supportsim"]
        ciw_mem = per_customer.get("ciw")
        section.rows.append(
            Row(
                "peak memory per customer (tracemalloc)",
                fmt_bytes(ours_mem),
                "" if ciw_mem is None else f"{fmt_bytes(ciw_mem)} Ciw",
                "" if ciw_mem is None else f"{ours_mem / ciw_mem:.2f}x",
            )
        )
    return section


def erlang_c_rows(case: baselines.MMc, run: baselines.Run) -> list[Row]:
    """supportsim's P(wait > 0) and mean wait against Erlang C, with 95% batch-means CIs."""
    from sim.analysis.stats import t_interval

    theory = case.erlang_c()
    waits = run.waits_s[len(run.waits_s) // 50 :]  # the first 2% warm up from an empty desk
    # Batch means: consecutive batches (10,000 customers in the full run, 4,000 in the quick
    # one) are nearly independent, and a t-interval over their means is the CI. Nearly is not
    # quite at rho 0.9: over 80 seeds of the heapq reference the nominal 95% interval covered
    # the Erlang C values only 90-94% of the time, the 99% interval 97-99% (full) and 95-98%
    # (quick). So the check uses the 99% interval, whose real coverage is at least 95%.
    batches = np.array_split(waits, 20 if len(waits) >= 100_000 else 5)
    rows = []
    for label, values, expected, unit in (
        ("P(wait > 0)", [float(np.mean(b > 0)) for b in batches], theory.p_wait, ""),
        ("mean wait", [float(np.mean(b)) for b in batches], theory.mean_wait, " s"),
    ):
        mean, low, high = t_interval(values, level=0.99)
        rows.append(
            Row(
                f"Erlang C check: {label}",
                f"{mean:.4f}{unit}",
                f"{expected:.4f}{unit} theory",
                f"CI {low:.4f}-{high:.4f}",
                "theory in CI (see note)",
                verdict(low <= expected <= high),
            )
        )
    return rows


# --- b. and c. the large-shop day ----------------------------------------------------------------


def bench_day(
    factors: list[float], repeats: dict[float, int], quick: bool
) -> tuple[Section, Section]:
    base = factors[0]
    day = Section(
        f"b. large-shop Double-11 day ({LARGE_SHOP.name}"
        f"{f', at {base:g}x volume' if base != 1 else ''}), one replication with records kept, "
        f"fresh process on one core (median of {repeats[base]})"
    )
    scaling = Section(
        "c. scaling: the same day at "
        + ", ".join(f"{f / base:g}x" for f in factors)
        + " volume (headcounts scaled too; interleaved with b; "
        + ", ".join(str(repeats[f]) for f in factors)
        + " runs; ratios are medians of same-round pairs)"
    )
    probes: dict[float, list[dict]] = {f: [] for f in factors}
    for round_ in range(max(repeats.values())):
        for factor in factors:
            if round_ < repeats[factor]:
                probe = run_child("--probe-day", repr(factor))
                probes[factor].append(probe)
                say(
                    f"day round {round_ + 1}: {factor:g}x volume: "
                    f"{probe['total_cpu_s']:.1f} s CPU, {probe['total_wall_s']:.1f} s wall "
                    f"(engine {probe['engine_cpu_s']:.1f} s CPU), {fmt_bytes(probe['peak_rss'])}"
                )

    def median(factor: float, key: str) -> float:
        return statistics.median(p[key] for p in probes[factor])

    first = probes[base][0]
    messages = first["messages"]
    counts = first["counts"]
    total_cpu, engine_cpu = median(base, "total_cpu_s"), median(base, "engine_cpu_s")
    total_wall, engine_wall = median(base, "total_wall_s"), median(base, "engine_wall_s")
    peak = max(p["peak_rss"] for p in probes[base])
    record_bytes = first["records_bytes"] / messages
    full_only = "full run only" if quick else ""
    day.rows += [
        Row("conversations / customer messages", f"{counts['arrived']:,} / {messages:,}"),
        Row(
            "one replication (simulate + metrics), CPU time",
            f"{total_cpu:.2f} s",
            baseline=f"{total_wall:.2f} s wall",
            target=full_only or f"<= {TARGET_DAY_S:g} s",
            result="" if quick else verdict(total_cpu <= TARGET_DAY_S),
        ),
        Row(
            "  of which the engine (sim.engine.simulate)",
            f"{engine_cpu:.2f} s",
            baseline=f"{engine_wall:.2f} s wall",
            ratio=f"{engine_cpu / total_cpu:.0%} of total",
        ),
        Row(
            "peak RSS (max over runs)",
            fmt_bytes(peak),
            baseline=(
                f"{fmt_bytes(first['rss_after_imports'])} after imports, "
                f"{fmt_bytes(max(p['peak_rss_engine'] for p in probes[base]))} after the engine"
            ),
            target=full_only or f"<= {TARGET_DAY_RSS / GIB:g} GiB",
            result="" if quick else verdict(peak <= TARGET_DAY_RSS),
        ),
        Row(
            "time per message, one replication",
            f"{1e6 * total_cpu / messages:.2f} us",
            baseline=f"engine {1e6 * engine_cpu / messages:.2f} us",
        ),
        Row(
            "records (numpy arrays) per message",
            f"{record_bytes:.1f} B",
            target=f"< {TARGET_RECORD_BYTES:g} B",
            result=verdict(record_bytes < TARGET_RECORD_BYTES),
        ),
        Row("kept tables (DataFrames) per message", f"{first['tables_bytes'] / messages:.1f} B"),
    ]
    day.notes.append(
        f"conversations: {counts['served']:,} served, {counts['deflected']:,} deflected by the "
        f"bot, {counts['abandoned']:,} abandoned, {counts['open']:,} open at the end; "
        f"messages = customer messages drawn for the day (rows of the per-message records); "
        f"{first['sent']:,} of them reached people, the rest belonged to conversations the bot "
        f"deflected or buyers who left. 5-minute reply rate of the run: "
        f"{first['reply_rate_5min']:.3f}."
    )
    day.notes.append(
        "times are CPU seconds (user + system) of the pinned process, judged against the "
        "targets: other work on the machine stretches wall time much more than CPU time (it "
        "still slows each instruction somewhat through shared cores and caches); on an idle "
        "machine the two agree (wall shown beside)."
    )

    def per_message(probe: dict, key: str) -> float:
        return probe[key] / probe["messages"]

    def paired_ratio(factor: float, key: str) -> float:
        """Median over rounds of (cost per message at `factor`) / (at 1x) in the same round.

        Pairing runs of the same round cancels the drift of the machine's load between
        rounds, which the ratio of two medians would not (the last 1x rounds run alone)."""
        pairs = zip(probes[factor], probes[base])
        return statistics.median(per_message(k, key) / per_message(one, key) for k, one in pairs)

    for factor in factors:
        label = f"{factor / base:g}x"
        cost = statistics.median(per_message(p, "total_cpu_s") for p in probes[factor])
        engine_cost = statistics.median(per_message(p, "engine_cpu_s") for p in probes[factor])
        judged = factor != base
        if judged:
            ratio = paired_ratio(factor, "total_cpu_s")
            ratio_text = (
                f"{ratio:.2f}x 1x (engine {paired_ratio(factor, 'engine_cpu_s'):.2f}x, "
                f"wall {paired_ratio(factor, 'total_wall_s'):.2f}x)"
            )
        scaling.rows.append(
            Row(
                f"{label}: CPU time per message ({probes[factor][0]['messages']:,} messages, "
                f"{median(factor, 'total_cpu_s'):.1f} s)",
                f"{1e6 * cost:.2f} us",
                baseline=f"engine {1e6 * engine_cost:.2f} us",
                ratio=ratio_text if judged else "",
                target=f"<= {TARGET_SCALING:.2f}x 1x" if judged else "",
                result=verdict(ratio <= TARGET_SCALING) if judged else "",
            )
        )
        if judged:
            engine_peak = max(p["peak_rss_engine"] for p in probes[factor])
            scaling.rows.append(
                Row(
                    f"{label}: peak RSS",
                    fmt_bytes(max(p["peak_rss"] for p in probes[factor])),
                    baseline=f"{fmt_bytes(engine_peak)} after the engine",
                )
            )
    return day, scaling


# --- e. metrics at engine speed ------------------------------------------------------------------


def probe_metrics(factor: float, old_first: bool) -> dict:
    """Child: one replication of the scaled large-shop day on one core: the engine, then the
    new and the old metrics of the same records (in the order given), each timed apart."""
    _one_core()
    from sim.experiment import simulate

    scenario = scaled_scenario(factor)
    watch = baselines.Stopwatch()
    records = simulate(scenario, 0, scenario.seed)
    simulate_wall, simulate_cpu = watch.read()
    steps = [("old", old_metrics), ("new", new_metrics)]
    if not old_first:
        steps.reverse()
    out = {"factor": factor, "simulate_cpu_s": simulate_cpu, "simulate_wall_s": simulate_wall,
           "messages": int(records.n_messages.sum())}
    values = {}
    for name, compute in steps:
        gc.collect()
        watch = baselines.Stopwatch()
        values[name] = compute(scenario, records)
        out[f"{name}_wall_s"], out[f"{name}_cpu_s"] = watch.read()
    out["same_reply_rate"] = values["new"]["reply_rate_5min"] == values["old"]["reply_rate_5min"]
    return out


def bench_metrics(factor: float, repeats: int, quick: bool) -> Section:
    section = Section(
        f"e. one whole replication of the large-shop day ({LARGE_SHOP.name}"
        f"{f', at {factor:g}x volume' if factor != 1 else ''}): simulate + every metric, series "
        f"and wait distribution, new (numpy) against old (DataFrame) metrics on the same "
        f"records; fresh process on one core (median of {repeats}, order alternating)"
    )
    probes = []
    for round_ in range(repeats):
        probe = run_child("--probe-metrics", repr(factor), str(round_ % 2))
        probes.append(probe)
        say(f"metrics round {round_ + 1}/{repeats}: simulate {probe['simulate_cpu_s']:.2f} s, "
            f"new metrics {probe['new_cpu_s']:.2f} s, old {probe['old_cpu_s']:.2f} s CPU")

    def median(key: str) -> float:
        return statistics.median(p[key] for p in probes)

    def paired(fn) -> float:
        return statistics.median(fn(p) for p in probes)

    simulate_cpu, new_cpu, old_cpu = median("simulate_cpu_s"), median("new_cpu_s"), median(
        "old_cpu_s")
    total_new = paired(lambda p: p["simulate_cpu_s"] + p["new_cpu_s"])
    total_old = paired(lambda p: p["simulate_cpu_s"] + p["old_cpu_s"])
    share_new = paired(lambda p: p["new_cpu_s"] / (p["simulate_cpu_s"] + p["new_cpu_s"]))
    share_old = paired(lambda p: p["old_cpu_s"] / (p["simulate_cpu_s"] + p["old_cpu_s"]))
    speedup = paired(lambda p: (p["simulate_cpu_s"] + p["old_cpu_s"])
                     / (p["simulate_cpu_s"] + p["new_cpu_s"]))
    messages = probes[0]["messages"]
    full_only = "full run only" if quick else ""
    section.rows += [
        Row(
            "whole replication (simulate + metrics), CPU time",
            f"{total_new:.2f} s",
            f"{total_old:.2f} s with old metrics",
            f"{speedup:.2f}x faster",
            full_only or f"<= {TARGET_REPLICATION_S:g} s",
            "" if quick else verdict(total_new <= TARGET_REPLICATION_S),
        ),
        Row("  simulate (sim.engine.simulate)", f"{simulate_cpu:.2f} s",
            f"{median('simulate_wall_s'):.2f} s wall",
            f"{1e6 * simulate_cpu / messages:.2f} us per message"),
        Row(
            "  metrics (tables, every metric and series, wait distributions)",
            f"{new_cpu:.2f} s",
            f"{old_cpu:.2f} s old",
            f"{paired(lambda p: p['old_cpu_s'] / p['new_cpu_s']):.1f}x faster",
        ),
        Row(
            "  metrics' share of the replication",
            f"{share_new:.0%}",
            f"{share_old:.0%} old",
            "",
            f"<= {TARGET_METRICS_SHARE:.0%}",
            verdict(share_new <= TARGET_METRICS_SHARE),
        ),
        Row("time per message, whole replication", f"{1e6 * total_new / messages:.2f} us",
            f"{1e6 * total_old / messages:.2f} us old"),
    ]
    if not all(p["same_reply_rate"] for p in probes):
        section.rows.append(Row("new and old metrics disagree", "reply_rate_5min", result="MISS"))
    section.notes.append(
        f"{messages:,} customer messages. CPU seconds of the pinned process; the old metrics "
        "are the DataFrame implementation kept as the test oracle (tests/metrics_oracle.py), "
        "equal to the new one to the last bit except per-group sums (docs/performance.md)."
    )
    return section


# --- f. run on 1 vs 2 workers, and on Dask -------------------------------------------------------


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has been busy (all processes), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_command(out: Path, workers: int, dask: bool, report: bool, replications: int) -> dict:
    """`supportsim run scenarios/double11.yaml` in a fresh interpreter: wall and CPU seconds
    (its own and its workers'), the machine's other work meanwhile, digests of its files."""
    import hashlib
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    args = ["run", str(RUN_SCENARIO), "--replications", str(replications), "--records",
            "--quiet", "--workers", str(workers), "--out", str(out)]
    if dask:
        args += ["--dask", "local"]
    if not report:
        args.append("--no-report")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, wall0 = _busy_cpu_s(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())", *args],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **CHILD_ENV},
        timeout=3600, check=False)
    wall = time.perf_counter() - wall0
    busy = _busy_cpu_s() - busy0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"supportsim {' '.join(args)} failed:\n{done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    digests = {name: hashlib.sha256((out / name).read_bytes()).hexdigest()
               for name in RUN_FILES if (out / name).exists()}
    return {"wall_s": wall, "cpu_s": cpu, "others_cores": max(busy - cpu, 0.0) / wall,
            "digests": digests}


def bench_run(repeats: int, quick: bool) -> Section:
    import tempfile

    replications = 1 if quick else 5
    reports = (False,) if quick else (True, False)
    section = Section(
        f"f. supportsim run {RUN_SCENARIO.relative_to(ROOT)} (4 variants x {replications} "
        f"replications, --records) on 1 vs 2 workers, and on a Dask LocalCluster (median of "
        f"{repeats}, configurations interleaved; wall seconds)"
    )
    configs = [(report, workers) for report in reports for workers in (1, 2)]
    runs: dict[tuple[bool, int], list[dict]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory(prefix="supportsim-bench-") as folder:
        base = Path(folder)
        for round_ in range(repeats):
            for report, workers in configs:
                run = run_command(base / f"w{workers}-{report}-{round_}", workers, False, report,
                                  replications)
                runs[(report, workers)].append(run)
                say(f"run round {round_ + 1}/{repeats}: {workers} worker(s)"
                    f"{'' if report else ', --no-report'}: {run['wall_s']:.1f} s wall, "
                    f"{run['cpu_s']:.1f} s CPU, other work {run['others_cores']:.2f} cores")
        say("run on a Dask LocalCluster (2 workers)")
        dask_run = run_command(base / "dask", 2, True, reports[-1], replications)

    def median(config, key: str) -> float:
        return statistics.median(r[key] for r in runs[config])

    for report in reports:
        label = "" if report else " --no-report"
        one, two = (report, 1), (report, 2)
        speedup = median(one, "wall_s") / median(two, "wall_s")
        best = min(r["wall_s"] for r in runs[one]) / min(r["wall_s"] for r in runs[two])
        judged = report or quick or len(reports) == 1
        for config in (one, two):
            section.rows.append(Row(
                f"run{label}, {config[1]} worker{'s' if config[1] > 1 else ''}",
                f"{median(config, 'wall_s'):.2f} s wall",
                f"{median(config, 'cpu_s'):.1f} s CPU; other work "
                f"{median(config, 'others_cores'):.2f} cores",
                f"{speedup:.2f}x faster (best {best:.2f}x)" if config == two else "",
                ("full run only" if quick else f">= {TARGET_RUN_TWO_WORKERS:g}x faster")
                if config == two and judged else "",
                ("" if quick else verdict(speedup >= TARGET_RUN_TWO_WORKERS))
                if config == two and judged else "",
            ))
    reference = runs[(reports[-1], 1)][0]["digests"]
    differing = sorted({name for config in configs for run in runs[config]
                        for name, digest in run["digests"].items()
                        if reference.get(name) != digest}
                       | {name for name, digest in dask_run["digests"].items()
                          if reference.get(name) != digest})
    section.rows.append(Row(
        "Dask LocalCluster, 2 workers" + ("" if reports[-1] else " --no-report"),
        f"{dask_run['wall_s']:.2f} s wall",
        f"{dask_run['cpu_s']:.1f} s CPU; other work {dask_run['others_cores']:.2f} cores",
    ))
    section.rows.append(Row(
        f"same bytes on 1 worker, 2 workers and Dask ({len(reference)} files: summary, "
        "replications, intervals, comparison, records)",
        "yes" if not differing else "differ: " + ", ".join(differing),
        target="identical", result=verdict(not differing and len(reference) == len(RUN_FILES)),
    ))
    section.notes.append(
        "wall time of the whole command in a fresh interpreter (imports, replications, files, "
        "report); CPU = the command's and its workers' user + system seconds; other work = "
        "CPU the rest of the machine used meanwhile (/proc/stat), in cores: a speed-up on 2 "
        "workers needs both cores free, so it is only meaningful when that is near 0."
    )
    return section


# --- d. sweeps -----------------------------------------------------------------------------------


SWEEP_KEYS = ("what", "value", "baseline", "ratio", "target", "result")


def bench_sweep(quick: bool) -> Section:
    section = Section("d. sweep on 1 vs 2 workers")
    path = BENCH_DIR / "sweep_bench.py"
    if not path.exists():
        section.notes.append("sweep benchmark not available")
        return section
    try:
        # A plain import (BENCH_DIR is on sys.path), so that worker processes unpickling
        # functions of sweep_bench find the very same module.
        module = importlib.import_module("sweep_bench")
        rows = module.bench(quick)
    except Exception as exc:  # noqa: BLE001 - another file's failure must not lose the table
        traceback.print_exc()
        section.rows.append(
            Row("sweep benchmark failed", f"{type(exc).__name__}: {exc}", result="MISS")
        )
        return section
    for raw in rows:
        if "workers" in raw and "median_s" in raw and "what" not in raw:
            section.rows.append(_worker_row(raw))
            continue
        known = {
            key: raw.get(key, raw.get("status", "") if key == "result" else "")
            for key in SWEEP_KEYS
        }
        extra = {k: v for k, v in raw.items() if k not in SWEEP_KEYS and k != "status"}
        row = Row(**{key: _text(value) for key, value in known.items()})
        if extra:
            row.what = (row.what + " " if row.what else "") + ", ".join(
                f"{k}={_text(v)}" for k, v in extra.items()
            )
        section.rows.append(row)
    return section


#: `supportsim staff scenarios/double11.yaml --target "reply_rate_5min>=0.95"` on 2 workers:
#: under this many seconds wall, with no counted cell missing on the full simulation and no
#: more agent-hours than the whole-horizon search found (656.8, docs/staffing.md: that search
#: takes 25 min to over an hour, too long to run beside the others here).
TARGET_STAFF_WALL_S = 120.0
STAFF_REFERENCE_HOURS = 656.8


def bench_staff(quick: bool) -> Section:
    """The staffing search as a user runs it (`staff_bench.run_once`: the real command in a
    fresh interpreter); quick: the normal day's presale team, information only."""
    section = Section("g. supportsim staff --target \"reply_rate_5min>=0.95\" on 2 workers "
                      "(one run; wall and CPU of the command and its workers)")
    module = importlib.import_module("staff_bench")
    scenario, groups = (("scenarios/normal_day.yaml", ["presale_team"]) if quick
                        else ("scenarios/double11.yaml", []))
    say(f"staff {scenario}")
    try:
        got = module.run_once(scenario, groups, 2, [])
    except SystemExit as exc:  # the command failed: say so in the table, keep the others
        section.rows.append(Row(f"staff {scenario}", str(exc), result="MISS"))
        return section
    name = Path(scenario).stem
    row = Row(f"staff {name}: wall", f"{got['wall_s']:.1f} s ({got['cpu_s']:.0f} CPU s; "
              f"{got['full']} full and {got['partial']} partial simulations)")
    hours = Row(f"staff {name}: agent-hours", f"{got['agent_hours']:.1f}")
    missed = Row(f"staff {name}: counted cells missing on the full simulation",
                 f"{got['missed']} of {got['cells']}")
    if not quick:
        row.target, row.result = (f"< {TARGET_STAFF_WALL_S:g} s",
                                  verdict(got["wall_s"] < TARGET_STAFF_WALL_S))
        hours.baseline = f"whole-horizon search {STAFF_REFERENCE_HOURS:g} (docs/staffing.md)"
        hours.target = f"<= {STAFF_REFERENCE_HOURS:g}"
        hours.result = verdict(got["agent_hours"] <= STAFF_REFERENCE_HOURS + 1e-9)
        missed.target, missed.result = "0", verdict(got["missed"] == 0)
    section.rows += [row, hours, missed]
    return section


def _worker_row(raw: dict) -> Row:
    """A row of sweep_bench's measurements (benchmark, workers, median_s, speedup, ...).

    The sweep itself is judged here (2 workers at least 1.7x faster); other benchmarks it
    reports, such as a pure busy loop showing what the machine allows, are information.
    """
    workers = int(raw["workers"])
    kind = str(raw.get("benchmark", "sweep"))
    subject = raw.get("scenario")
    what = f"{kind}{f' of {subject}' if subject not in (None, '', '-') else ''}"
    if "tasks" in raw:
        what += f", {raw['tasks']} tasks"
    what += f", {workers} worker{'s' if workers != 1 else ''}"
    if "repeats" in raw:
        what += f" ({raw['repeats']} runs)"
    cores = _number(raw.get("cores_used"))
    if cores is not None:
        what += f", {cores:.2f} cores busy"
    value = f"{float(raw['median_s']):.2f} s wall"
    best = _number(raw.get("min_s"))
    if best is not None:
        value += f" (best {best:.2f} s)"
    row = Row(what, value)
    speedup = _number(raw.get("speedup"))
    best_speedup = _number(raw.get("best_speedup"))
    if workers > 1 and speedup is not None:
        row.baseline = "1 worker"
        row.ratio = f"{speedup:.2f}x faster (median)"
        if best_speedup is not None:
            row.ratio = f"{best_speedup:.2f}x faster (best of {raw.get('repeats', '?')}); " \
                        f"{speedup:.2f}x (median)"
        efficiency = _number(raw.get("efficiency"))
        if efficiency is not None:
            row.ratio += f"; {efficiency:.2f} of the busy loop's"
        if workers == 2 and kind == "sweep":
            # Host interference only adds time: the best run is judged, the median shown.
            judged = best_speedup if best_speedup is not None else speedup
            row.target = f">= {TARGET_TWO_WORKERS:g}x faster"
            row.result = verdict(judged >= TARGET_TWO_WORKERS)
    return row


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)


# --- profile ------------------------------------------------------------------------------------


def profile_day(profiler: str, factor: float, top: int = 25) -> str:
    """One replication of the large-shop day under a profiler; the report as text.

    cProfile runs on CPU time (`time.process_time`), so other work on the machine does not
    shift the shares; its per-call overhead inflates small functions somewhat. pyinstrument
    samples the wall clock every millisecond with little overhead and shows the call tree.
    """
    _one_core()
    from sim import experiment

    scenario = scaled_scenario(factor)

    def replication():
        return experiment.run(scenario, replications=1, keep_records=True)

    if profiler == "pyinstrument":
        from pyinstrument import Profiler

        sampler = Profiler(interval=0.001)
        sampler.start()
        replication()
        sampler.stop()
        return sampler.output_text(unicode=False, color=False)
    import cProfile
    import io
    import pstats

    tracer = cProfile.Profile(time.process_time)
    tracer.enable()
    replication()
    tracer.disable()
    out = io.StringIO()
    stats = pstats.Stats(tracer, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# --- the table -----------------------------------------------------------------------------------


HEADER = ("what", "value", "baseline", "ratio", "target", "result")


def machine_lines(quick: bool) -> list[str]:
    import simpy

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--", "sim")
    versions = f"simpy {simpy.__version__}, numpy {np.__version__}"
    try:
        import ciw as ciw_module

        versions += f", ciw {ciw_module.__version__}"
    except ImportError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        (
            f"supportsim benchmark, {'quick' if quick else 'full'} mode, "
            f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}"
        ),
        f"Python {platform.python_version()} on {cpu}, {os.cpu_count()} cores; {versions}",
        (
            f"commit {commit or '?'}{' with local changes in sim/' if dirty else ''}; "
            f"load average at the end {load} (other work on the machine stretches wall times; "
            f"CPU times and interleaving keep the comparisons fair)"
        ),
    ]


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=ROOT, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def render_text(head: list[str], sections: list[Section]) -> str:
    rows = [row for section in sections for row in section.rows]
    widths = [max([len(name)] + [len(getattr(r, name)) for r in rows]) for name in HEADER]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    out = [*head, ""]
    for section in sections:
        out.append(section.title)
        if section.rows:
            out.append("  " + line(HEADER))
            out.append("  " + line(["-" * w for w in widths]))
            out += ["  " + line([getattr(r, name) for name in HEADER]) for r in section.rows]
        out += [f"  note: {note}" for note in section.notes]
        out.append("")
    return "\n".join(out)


def render_markdown(head: list[str], sections: list[Section]) -> str:
    out = [*(f"{line}  " for line in head), ""]
    for section in sections:
        out.append(f"**{section.title}**")
        out.append("")
        if section.rows:
            out.append("| " + " | ".join(HEADER) + " |")
            out.append("|" + "---|" * len(HEADER))
            for r in section.rows:
                cells = [getattr(r, name).replace("|", "/") for name in HEADER]
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
        out += [f"- {note}" for note in section.notes]
        if section.notes:
            out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small version of everything (one to two minutes)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="runs per engine and per day size (default 5, quick 3)",
    )
    parser.add_argument(
        "--big-repeats",
        type=int,
        default=None,
        help="runs of the 2x and 4x days (default 3; quick: --repeats)",
    )
    parser.add_argument(
        "--only",
        choices=("mmc", "day", "sweep", "metrics", "run", "staff"),
        action="append",
        help="run only these sections (repeatable)",
    )
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    parser.add_argument(
        "--profile",
        choices=("cprofile", "pyinstrument"),
        help="instead of the table, profile one replication of the large-shop "
        "day and print where the time goes (pyinstrument: pip install)",
    )
    parser.add_argument(
        "--profile-volume",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="volume factor of the profiled day (default 1)",
    )
    parser.add_argument(
        "--probe-mmc", nargs=2, metavar=("ENGINE", "CUSTOMERS"), help=argparse.SUPPRESS
    )
    parser.add_argument("--probe-day", type=float, metavar="FACTOR", help=argparse.SUPPRESS)
    parser.add_argument("--probe-metrics", nargs=2, metavar=("FACTOR", "OLD_FIRST"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.probe_mmc:
        print(json.dumps(probe_mmc_memory(args.probe_mmc[0], int(args.probe_mmc[1]))))
        return 0
    if args.probe_day is not None:
        print(json.dumps(probe_day(args.probe_day)))
        return 0
    if args.probe_metrics:
        factor, old_first = args.probe_metrics
        print(json.dumps(probe_metrics(float(factor), old_first == "1")))
        return 0

    if args.profile:
        print(profile_day(args.profile, args.profile_volume))
        return 0

    repeats = args.repeats or (3 if args.quick else 5)
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    big_repeats = args.big_repeats or (repeats if args.quick else min(repeats, 3))
    only = set(args.only or ("mmc", "day", "metrics", "sweep", "run", "staff"))
    started = time.perf_counter()
    sections: list[Section] = []
    if "mmc" in only:
        sections.append(bench_mmc(20_000 if args.quick else 200_000, repeats))
    if "day" in only:
        # Quick mode runs the day at a twentieth and a tenth of its volume and headcount.
        factors = [0.05, 0.1] if args.quick else [1.0, 2.0, 4.0]
        day_repeats = {f: (repeats if i == 0 else big_repeats) for i, f in enumerate(factors)}
        sections += bench_day(factors, day_repeats, args.quick)
    if "sweep" in only:
        say("sweep benchmark")
        sections.append(bench_sweep(args.quick))
    if "metrics" in only:
        sections.append(bench_metrics(0.1 if args.quick else 1.0, repeats, args.quick))
    if "run" in only:
        sections.append(bench_run(1 if args.quick else min(repeats, 3), args.quick))
    if "staff" in only:
        sections.append(bench_staff(args.quick))
    head = machine_lines(args.quick)
    head.append(f"benchmark wall time {time.perf_counter() - started:.0f} s")
    print(render_text(head, sections))
    if args.markdown:
        args.markdown.write_text(render_markdown(head, sections) + "\n", encoding="utf-8")
    missed = [r.what for s in sections for r in s.rows if r.result == "MISS"]
    if missed:
        print(f"{len(missed)} target(s) missed: " + "; ".join(m.strip() for m in missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
