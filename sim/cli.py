"""`supportsim`: a thin command-line shell over the Python API.

Exit codes: 0 ok, 1 internal error, 2 bad input, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import traceback
from pathlib import Path

import pandas as pd

from sim.scenario import ScenarioError

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

#: Sub-commands and the modules implementing them (each has `add_arguments` and `main`).
COMMANDS = {
    "run": ("sim.cli", "run one scenario: every variant x replication, summary and CIs"),
    "compare": ("sim.compare", "compare a scenario's variants against a baseline"),
    "sweep": ("sim.sweep", "run a grid of scenario parameters, in parallel or on Dask"),
    "validate": ("sim.validation", "check the engine against Erlang C / Erlang A"),
    "staff": ("sim.staffing", "find the minimal headcount per interval for a target"),
}


class UsageError(Exception):
    """Bad command-line input (exit code 2)."""


# --- supportsim run -----------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    parser.add_argument("--out", type=Path, help="output folder (default out/<scenario name>/)")
    parser.add_argument("--replications", type=_positive_int, help="override replications")
    parser.add_argument("--seed", type=_non_negative_int, help="override the scenario's seed")
    parser.add_argument("--variant", action="append", dest="variants",
                        help="run only this variant (repeatable; default: all)")
    parser.add_argument("--records", action="store_true",
                        help="also write per-conversation and per-message Parquet records")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    from sim.experiment import run
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    out_dir = args.out or Path("out") / scenario.name
    try:
        results = run(scenario, replications=args.replications, seed=args.seed,
                      variants=args.variants, keep_records=args.records,
                      progress=not args.quiet)
    except KeyError as exc:
        raise UsageError(str(exc).strip("'\"")) from None
    written = results.write(out_dir, records=args.records)
    print(format_summary(results.summary, scenario.metrics.preset))
    print(f"\nwrote {', '.join(p.name for p in written)} to {out_dir}/")
    return EXIT_OK


# --- formatting -----------------------------------------------------------------------------

PRESET_METRICS = {
    "pinduoduo": ["reply_rate_5min", "human_reply_rate_3min", "answer_rate_30s"],
    "taobao": ["taobao_response_rate_3min"],
    "jd": ["jd_answer_rate_30s"],
}
TABLE_METRICS = [
    "first_response_30s_rate", "first_response_mean_s", "first_response_p90_s",
    "message_wait_mean_s", "message_wait_p95_s", "abandon_rate", "deflection_rate",
    "occupancy", "agent_hours", "cost", "lost_orders", "arrived",
]


def format_value(metric: str, value: float) -> str:
    if not math.isfinite(value):
        return "-"
    if metric.endswith("_s"):
        return f"{value:.1f}s"
    if "rate" in metric or metric.startswith("occupancy"):
        return f"{100 * value:.2f}%"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def format_summary(summary: pd.DataFrame, preset: str = "pinduoduo") -> str:
    """A readable table: one row per metric, one column per variant, mean [95% CI]."""
    names = PRESET_METRICS[preset] + [m for m in PRESET_METRICS["pinduoduo"][:1]
                                      if m not in PRESET_METRICS[preset]] + TABLE_METRICS
    variants = list(dict.fromkeys(summary["variant"]))
    index = summary.set_index(["variant", "metric"])
    reps = int(summary["replications"].max()) if len(summary) else 0
    cells = [["metric"] + variants]
    for name in names:
        row = [name]
        for variant in variants:
            if (variant, name) not in index.index:
                row.append("-")
                continue
            entry = index.loc[(variant, name)]
            text = format_value(name, entry["mean"])
            if math.isfinite(entry["ci_low"]):
                text += f" [{format_value(name, entry['ci_low'])}, " \
                        f"{format_value(name, entry['ci_high'])}]"
            row.append(text)
        cells.append(row)
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + f"\n(mean [95% CI] over {reps} replications)"


# --- entry point ----------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supportsim",
        description="Simulate an online shop's chat service desk and report platform metrics.",
        epilog="exit codes: 0 ok, 1 internal error, 2 bad input, 130 interrupted",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(handler=module.main)
    return parser


def main_entry(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ScenarioError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("\ninterrupted: outputs are written whole or not at all; finished files are kept",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence, reported plainly
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("SUPPORTSIM_DEBUG"):
            traceback.print_exc()
        else:
            print("(set SUPPORTSIM_DEBUG=1 to see the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def console() -> None:
    sys.exit(main_entry())
