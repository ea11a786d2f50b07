"""Wall time of the intraday what-if against a full-day run of the same variants, measured in
the same invocation, side by side.

    python benchmarks/whatif_bench.py [--runs 3] [--workers 2]

Rows (each the real command line in a fresh interpreter, runs interleaved, median of `--runs`):

- `whatif`: `supportsim whatif scenarios/double11.yaml --at "2026-11-11 00:10" --for 2h`
  (the snapshot of the day up to 00:10, then every variant x replication from there for two
  hours, the tables and the HTML page);
- `whatif, no page`: the same with `--no-report`;
- `run (baseline)`: `supportsim run scenarios/double11.yaml`, the whole day of every variant x
  replication with its report: what answering the same question without a state would take.

The ratio column is each row's median over the baseline's.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "double11.yaml"


def commands(workers: int, out: Path) -> dict[str, list[str]]:
    common = ["--workers", str(workers), "--quiet"]
    whatif = ["whatif", str(SCENARIO), "--at", "2026-11-11 00:10", "--for", "2h", *common]
    return {
        "run (baseline)": ["run", str(SCENARIO), *common, "--out", str(out / "run")],
        "whatif": [*whatif, "--out", str(out / "whatif")],
        "whatif, no page": [*whatif, "--no-report", "--out", str(out / "whatif_csv")],
    }


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from sim.cli import console; console()", *args],
                   check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        rows = commands(args.workers, Path(folder))
        times: dict[str, list[float]] = {name: [] for name in rows}
        for _ in range(args.runs):
            for name, command in rows.items():
                times[name].append(timed(command))
    base = statistics.median(times["run (baseline)"])
    print(f"double11, {args.workers} workers, median of {args.runs} runs (wall seconds)\n")
    print(f"{'command':<18} {'median':>8} {'min':>8} {'max':>8} {'ratio':>7}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<18} {median:8.2f} {min(values):8.2f} {max(values):8.2f} "
              f"{median / base:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
