"""`supportsim`: a thin command-line shell over the Python API.

Exit codes: 0 ok, 1 internal error, 2 bad input, 3 a validation check failed,
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

# The metric lists and value formatting live with the comparison, which the report shares;
# PRESET_METRICS, TABLE_METRICS and format_value stay importable from here.
from sim.compare import PRESET_METRICS, TABLE_METRICS, format_value, key_metrics  # noqa: F401
from sim.outputs import write_csv
from sim.scenario import ScenarioError

if TYPE_CHECKING:
    from sim.experiment import Results

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
    parser.add_argument("--replications", type=_replications, metavar="N|auto",
                        help="override replications; 'auto' adds replications until the CI of "
                             "--precision-metric is narrow enough (see --precision)")
    parser.add_argument("--precision", type=_relative_precision, metavar="SHARE",
                        help="with --replications auto: target 95%% CI half-width as a share of "
                             "the mean (default 0.01, i.e. 1%%; '2%%' also accepted)")
    parser.add_argument("--precision-metric", metavar="METRIC",
                        help="with --replications auto: the metric whose CI decides "
                             "(default reply_rate_5min)")
    parser.add_argument("--max-replications", type=_at_least_two, metavar="N",
                        help="with --replications auto: stop here even if not precise enough "
                             "(default 100)")
    parser.add_argument("--seed", type=_non_negative_int, help="override the scenario's seed")
    parser.add_argument("--variant", action="append", dest="variants",
                        help="run only this variant (repeatable; default: all)")
    parser.add_argument("--baseline", metavar="NAME",
                        help="the variant others are compared with (default: baseline, or the "
                             "first --variant when baseline is not run)")
    parser.add_argument("--records", action="store_true",
                        help="also write per-conversation and per-message Parquet records")
    parser.add_argument("--no-report", action="store_true",
                        help="skip plots/ and report.html (CSV files only)")
    parser.add_argument("--allow-large", action="store_true",
                        help="run even when the work estimate is over the safety limits "
                             "(see docs/robustness.md)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


@dataclass
class Outcome:
    """What `execute` ran and wrote, for the sub-commands to print."""

    results: Results
    comparison: pd.DataFrame | None
    out_dir: Path
    written: list[Path]


def execute(args: argparse.Namespace, need_variants: bool = False) -> Outcome:
    """Load, run, compare and write everything `run` and `compare` write (no printing)."""
    from sim import compare
    from sim.experiment import PrecisionError, run
    from sim.scenario import load_scenario

    auto = args.replications == "auto"
    if not auto:
        given = [flag for flag, value in (("--precision", args.precision),
                                          ("--precision-metric", args.precision_metric),
                                          ("--max-replications", args.max_replications))
                 if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)} only apply with --replications auto")
    scenario = load_scenario(args.scenario)
    names = list(dict.fromkeys(args.variants or scenario.variant_names))
    if args.variants and (args.baseline or need_variants):
        # Naming a baseline (or asking to compare) means comparing against it: run it too.
        reference = args.baseline or "baseline"
        names = [reference] + [n for n in names if n != reference]
    unknown = [v for v in names if v not in scenario.variant_names]
    if unknown:
        raise UsageError(f"{args.scenario}: unknown variant(s) {', '.join(unknown)}; "
                         f"known: {', '.join(scenario.variant_names)}")
    baseline = args.baseline or ("baseline" if "baseline" in names else names[0])
    if baseline not in names:
        raise UsageError(f"{args.scenario}: --baseline {baseline!r} is not a variant of the "
                         f"scenario (known: {', '.join(scenario.variant_names)})")
    if need_variants and len(names) < 2:
        raise UsageError(f"{args.scenario}: nothing to compare: only {names[0]!r} would run; "
                         "add variants under `variants:` or name more with --variant")
    out_dir = args.out or Path("out") / scenario.name
    options = {}
    if auto:
        options = {"precision": 0.01 if args.precision is None else args.precision,
                   "precision_metric": args.precision_metric or "reply_rate_5min",
                   "max_replications": args.max_replications or 100}
    try:
        results = run(scenario, replications=args.replications, seed=args.seed,
                      variants=names if args.variants else None, keep_records=args.records,
                      progress=not args.quiet, allow_large=args.allow_large,
                      source=str(args.scenario), **options)
    except KeyError as exc:
        raise UsageError(str(exc).strip("'\"")) from None
    except PrecisionError as exc:
        raise UsageError(str(exc)) from None
    written = results.write(out_dir, records=args.records)
    comparison = None
    if len(results.variants) > 1:
        comparison = compare.compare(results, baseline=baseline)
        write_csv(out_dir / "comparison.csv", comparison)
        written.append(out_dir / "comparison.csv")
    if not args.no_report:
        from sim.report import write_report

        written += write_report(results, out_dir, comparison)
    return Outcome(results, comparison, out_dir, written)


def print_footer(outcome: Outcome) -> None:
    """How the replications stopped (with --replications auto) and which files were written."""
    if outcome.results.stopping:
        print(f"\n{outcome.results.stopping}")
    names = []
    for path in outcome.written:
        relative = path.relative_to(outcome.out_dir)
        name = f"{relative.parent}/*{path.suffix}" if relative.parent != Path(".") else path.name
        names.append(name)
    print(f"\nwrote {', '.join(dict.fromkeys(names))} to {outcome.out_dir}/")


def main(args: argparse.Namespace) -> int:
    from sim.compare import format_comparison

    outcome = execute(args)
    preset = outcome.results.scenario.metrics.preset
    print(format_summary(outcome.results.summary, preset))
    if outcome.comparison is not None:
        print()
        print(format_comparison(outcome.comparison, key_metrics(preset)))
    print_footer(outcome)
    return EXIT_OK


# --- formatting -----------------------------------------------------------------------------

def format_summary(summary: pd.DataFrame, preset: str = "pinduoduo") -> str:
    """A readable table: one row per metric, one column per variant, mean [95% CI]."""
    names = key_metrics(preset)
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


def _replications(text: str) -> int | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number >= 1 or 'auto', got {text!r}") from None


def _at_least_two(text: str) -> int:
    value = _non_negative_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"expected a whole number >= 2 (a CI needs two replications), got {text!r}")
    return value


def _relative_precision(text: str) -> float:
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a share of the mean such as 0.01 or 1%, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a share of the mean between 0 and 1 (e.g. 0.01 or 1%), got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (shared by the sub-commands)."""
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
        epilog="exit codes: 0 ok, 1 internal error, 2 bad input, 3 validation failed, "
        "130 interrupted",
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
        from sim.outputs import written

        if written:
            kept = ", ".join(str(p) for p in dict.fromkeys(written))
            print(f"\ninterrupted: kept these complete files: {kept}; no file is left "
                  "half-written", file=sys.stderr)
        else:
            print("\ninterrupted: nothing was written (no file is left half-written)",
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
