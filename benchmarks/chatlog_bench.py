"""Benchmark of the chat-log pipeline on a large shop's Double-11 day.

    .venv/bin/python benchmarks/chatlog_bench.py            # the 1x day: a few minutes
    .venv/bin/python benchmarks/chatlog_bench.py --quick    # a tenth of the day

The day of benchmarks/large_shop.yaml (`run.py`'s `scaled_scenario`) is simulated and exported
as a chat log with its duty file (whole seconds, UTF-8 CSV), as `supportsim export-log` does.
Then one fresh process, pinned to one core, does what a manager's export goes through: read
and check the log, measure it (every metric per day and overall, the per-interval series),
fit a scenario and write it back (scenario, counts, parameter table; the HTML report is timed
apart). Each step's wall and CPU seconds and the process's peak RSS after it are printed,
against the targets of issue 15: read + measure + fit + write under 60 s and 2 GiB.

Baselines measured in the same run, in their own fresh processes: `pandas.read_csv` of the
same file (what parsing alone costs) and the simulation of the day (what producing it costs).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(ROOT))

from run import (
    GIB,
    _one_core,
    fmt_bytes,
    peak_rss_bytes,
    run_child,
    scaled_scenario,
)

TARGET_S = 60.0
TARGET_RSS = 2 * GIB


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def child_export(factor: float, folder: str) -> dict:
    """Simulate the day and write its log and duty file."""
    _one_core()
    from sim.analysis.metrics import Tables
    from sim.chatlog.export import duty_rows, log_rows
    from sim.engine import simulate
    from sim.output.log_file import write_log_file
    from sim.tools.export_log import log_day0

    scenario = scaled_scenario(factor)
    wall, cpu = clocks()
    records = simulate(scenario, 0)
    simulate_wall, simulate_cpu = time.perf_counter() - wall, time.process_time() - cpu
    tables = Tables.from_records(records)
    day0 = log_day0(scenario)
    rows = log_rows(tables, day0)
    log = Path(folder) / "large_day.csv"
    write_log_file(log, rows)
    write_log_file(Path(folder) / "large_day.duty.csv", duty_rows(tables, day0,
                                                                   scenario=scenario))
    return {"rows": len(rows), "conversations": len(tables.conversations),
            "customer_messages": int((rows["sender"] == "buyer").sum()),
            "bytes": log.stat().st_size, "simulate_wall_s": simulate_wall,
            "simulate_cpu_s": simulate_cpu, "export_wall_s": time.perf_counter() - wall,
            "export_cpu_s": time.process_time() - cpu}


def child_pandas(folder: str) -> dict:
    """Baseline: parsing alone, every column as text."""
    _one_core()
    import pandas as pd

    wall, cpu = clocks()
    frame = pd.read_csv(Path(folder) / "large_day.csv", dtype=str, keep_default_na=False)
    return {"rows": len(frame), "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu, "peak_rss": peak_rss_bytes()}


def child_pipeline(folder: str) -> dict:
    """Read, measure, fit, write: each step timed, peak RSS after each."""
    _one_core()
    from sim.chatlog import log_metrics, read_log
    from sim.output.fit_report import write_fit_report
    from sim.tools.fit import fit_log

    folder = Path(folder)
    steps = {}
    start = clocks()

    def step(name: str, began: tuple[float, float]) -> tuple[float, float]:
        now = clocks()
        steps[name] = {"wall_s": now[0] - began[0], "cpu_s": now[1] - began[1],
                       "peak_rss": peak_rss_bytes()}
        return now

    imported = peak_rss_bytes()
    began = clocks()
    log = read_log(folder / "large_day.csv", duty=folder / "large_day.duty.csv")
    began = step("read and check", began)
    measured = log_metrics(log)
    began = step("measure", began)
    fit = fit_log(log)
    began = step("fit", began)
    fit.write(folder / "fitted" / "large_day.yaml", report=False)
    began = step("write the scenario", began)
    total = {"wall_s": began[0] - start[0], "cpu_s": began[1] - start[1],
             "peak_rss": peak_rss_bytes()}
    write_fit_report(fit, folder / "fitted" / "fit_report.html")
    step("fit report (HTML, plots)", began)
    return {"steps": steps, "total": total, "rss_after_imports": imported,
            "reply_rate_5min": measured.value("reply_rate_5min"),
            "parameters": len(fit.parameters)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the day")
    parser.add_argument("--volume", type=float, help="scale of the day (default 1, quick 0.1)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        result = {"export": lambda: child_export(float(rest[0]), rest[1]),
                  "pandas": lambda: child_pandas(rest[0]),
                  "pipeline": lambda: child_pipeline(rest[0])}[kind]()
        print(json.dumps(result))
        return 0
    factor = args.volume or (0.1 if args.quick else 1.0)
    script = Path(__file__).resolve()
    with tempfile.TemporaryDirectory(prefix="chatlog_bench_") as folder:
        print(f"[{time.strftime('%H:%M:%S')}] simulating and exporting the {factor:g}x day",
              file=sys.stderr)
        exported = run_child("--child", "export", str(factor), folder, script=script)
        print(f"[{time.strftime('%H:%M:%S')}] pandas.read_csv baseline", file=sys.stderr)
        pandas = run_child("--child", "pandas", folder, script=script)
        print(f"[{time.strftime('%H:%M:%S')}] read, measure, fit, write", file=sys.stderr)
        pipeline = run_child("--child", "pipeline", folder, script=script)
    total = pipeline["total"]
    lines = [
        (f"chat-log pipeline, large-shop Double-11 day at {factor:g}x: "
        f"{exported['rows']:,} rows ({exported['customer_messages']:,} customer messages, "
        f"{exported['conversations']:,} conversations), {exported['bytes'] / 2**20:,.0f} MiB "
        "of CSV"),
        "",
        "| step | wall s | CPU s | peak RSS after | target | result |",
        "|---|---|---|---|---|---|",
    ]
    for name, step in pipeline["steps"].items():
        lines.append(f"| {name} | {step['wall_s']:.1f} | {step['cpu_s']:.1f} | "
                     f"{fmt_bytes(step['peak_rss'])} |  |  |")
    ok = total["wall_s"] < TARGET_S and total["peak_rss"] < TARGET_RSS
    lines.append(f"| read + measure + fit + write | {total['wall_s']:.1f} | "
                 f"{total['cpu_s']:.1f} | {fmt_bytes(total['peak_rss'])} | < 60 s, < 2 GiB | "
                 f"{'PASS' if ok else 'MISS'} |")
    lines += [
        "",
        "| baseline (same run) | wall s | CPU s | ratio |",
        "|---|---|---|---|",
        (f"| pandas.read_csv of the log, all text | {pandas['wall_s']:.1f} | "
        f"{pandas['cpu_s']:.1f} | read and check / this: "
        f"{pipeline['steps']['read and check']['cpu_s'] / pandas['cpu_s']:.2f}x (CPU) |"),
        (f"| simulating the day (one replication) | {exported['simulate_wall_s']:.1f} | "
        f"{exported['simulate_cpu_s']:.1f} | pipeline / this: "
        f"{total['cpu_s'] / exported['simulate_cpu_s']:.2f}x (CPU) |"),
        "",
        (f"(peak RSS after imports {fmt_bytes(pipeline['rss_after_imports'])}; the log's "
        f"reply_rate_5min {100 * pipeline['reply_rate_5min']:.2f}%; "
        f"{pipeline['parameters']} parameters fitted; each process pinned to one core)"),
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
