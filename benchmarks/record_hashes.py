"""Hashes of the records and metrics of every bundled scenario and variant, to prove a refactor
kept behaviour.

    python benchmarks/record_hashes.py > before.json      # on the commit you start from
    python benchmarks/record_hashes.py --compare before.json

Each (scenario, variant, replication) gets one SHA-256 over every record array (names, dtypes,
shapes and bytes) and one over its scalar metrics and interval series, so a change to the
engine and a change to a metric definition show up separately.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sim


def _simulate():
    return getattr(sim, "simulate", None) or __import__("sim.engine", fromlist=["x"]).simulate


def records_hash(records) -> str:
    digest = hashlib.sha256()
    for f in dataclasses.fields(records):
        value = getattr(records, f.name)
        digest.update(f.name.encode())
        if isinstance(value, np.ndarray):
            digest.update(str(value.dtype).encode() + str(value.shape).encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


def metrics_hash(scenario, records) -> tuple[str, dict[str, float]]:
    try:
        from sim.experiment import replication_metrics
    except ImportError:  # the layout before sim/analysis/
        from sim.analysis import metrics

        def replication_metrics(scenario, records):
            tables = metrics.Tables.from_records(records)
            activations = dict(zip(records.group_names, map(int, records.activations)))
            return (metrics.summarize(tables, scenario, activations),
                    metrics.interval_series(tables, scenario))

    values, series = replication_metrics(scenario, records)[:2]
    digest = hashlib.sha256()
    digest.update(json.dumps(values, sort_keys=True, default=float).encode())
    digest.update(series.to_csv(index=False).encode())
    return digest.hexdigest(), values


def collect(replications: int = 2) -> dict[str, dict]:
    simulate = _simulate()
    out: dict[str, dict] = {}
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        base = sim.load_scenario(path)
        for name, scenario in sim.resolve_variants(base, str(path), path.parent).items():
            for r in range(replications):
                records = simulate(scenario, r, scenario.seed)
                entry = {"records": records_hash(records)}
                entry["metrics"], entry["values"] = metrics_hash(scenario, records)
                out[f"{path.name}:{name}:{r}"] = entry
                print(f"{path.name}:{name}:{r} {entry['records'][:12]}", file=sys.stderr)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, help="a JSON file written by an earlier run")
    parser.add_argument("--replications", type=int, default=2)
    args = parser.parse_args()
    now = collect(args.replications)
    if args.compare is None:
        json.dump(now, sys.stdout, indent=1, sort_keys=True, default=float)
        return 0
    before = json.loads(args.compare.read_text())
    changed = 0
    for key in sorted(set(before) | set(now)):
        old, new = before.get(key, {}), now.get(key, {})
        for part in ("records", "metrics"):
            if part in old and part in new and old[part] != new[part]:
                changed += 1
                detail = ""
                if part == "metrics":
                    diffs = [m for m in sorted(set(old["values"]) | set(new["values"]))
                             if old["values"].get(m) != new["values"].get(m)]
                    detail = " metrics differing: " + ", ".join(diffs)
                print(f"{key}: {part} changed{detail}")
        if not old or not new:
            changed += 1
            print(f"{key}: only in {'new' if new else 'old'} run")
    print(f"{len(now)} runs compared, {changed} differences")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
