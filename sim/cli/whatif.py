"""`supportsim whatif`: from the desk now (a state file, or a moment of a simulated day), the
scenario's variants compared over the next hours under common random numbers."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import yaml

from sim.analysis.registry import format_difference, format_value, key_metrics
from sim.cli.common import (
    EXIT_OK,
    UsageError,
    add_allow_large,
    add_executor_arguments,
    add_quiet,
    non_negative_int,
    output_folder,
    output_folder_or,
    positive_int,
)
from sim.engine import limits
from sim.output.files import remove_stale
from sim.output.tables import format_comparison, format_summary, text_table
from sim.scenario import load_scenario
from sim.tools.whatif import QUEUE_BELOW, WhatIf, whatif
from sim.units import format_clock, format_duration, parse_duration

HELP = ("compare the scenario's variants (actions) from the desk now: a state file or a "
        "moment of a simulated day (docs/whatif.md)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    start = parser.add_mutually_exclusive_group(required=True)
    start.add_argument("--state", type=Path, metavar="STATE.yaml",
                       help="the desk now: a state file (docs/snapshots.md)")
    start.add_argument("--at", metavar="TIME",
                       help="take the desk from the simulated day at this moment, e.g. "
                            "'2026-11-11 00:10'")
    parser.add_argument("--for", dest="for_", metavar="DURATION",
                        help="how far ahead to look, e.g. 2h (default: to the end of the "
                             "scenario's drain)")
    parser.add_argument("--replications", type=positive_int, metavar="N",
                        help="replications per variant (default: the scenario's)")
    parser.add_argument("--seed", type=non_negative_int, help="override the scenario's seed")
    parser.add_argument("--snapshot-replication", type=non_negative_int, default=0,
                        metavar="R", help="with --at: the replication whose day gives the "
                                          "desk (default 0)")
    parser.add_argument("--variant", action="append", dest="variants",
                        help="compare only this variant with the baseline (repeatable; "
                             "default: every variant)")
    parser.add_argument("--action", action="append", nargs="+", dest="actions",
                        metavar=("NAME", "PATH=VALUE"),
                        help="an action not in the scenario's variants: a name and dotted-path "
                             "overrides, e.g. --action overflow_sooner routing.mode=overflow "
                             "routing.overflow_after=60s (repeatable)")
    parser.add_argument("--queue-below", type=positive_int, default=QUEUE_BELOW, metavar="N",
                        help="the queue counts as cleared when fewer than N buyers wait for "
                             f"5 minutes (default {QUEUE_BELOW})")
    parser.add_argument("--out", type=output_folder,
                        help="output folder (default out/<scenario name>-whatif/)")
    parser.add_argument("--no-report", action="store_true",
                        help="skip whatif_report.html (CSV files only)")
    add_executor_arguments(parser)
    add_allow_large(parser)
    add_quiet(parser)


def parse_actions(given: list[list[str]] | None) -> dict[str, dict[str, object]]:
    """`--action NAME PATH=VALUE ...` as {name: {path: value}}; values read as YAML scalars."""
    actions: dict[str, dict[str, object]] = {}
    for item in given or []:
        name, *pairs = item
        if "=" in name:
            raise UsageError(f"--action {' '.join(item)}: give a name first, then "
                             "PATH=VALUE overrides")
        if not pairs:
            raise UsageError(f"--action {name}: give at least one PATH=VALUE override")
        if name in actions:
            raise UsageError(f"--action {name}: given twice")
        overrides = {}
        for pair in pairs:
            path, sep, text = pair.partition("=")
            if not sep or not path:
                raise UsageError(f"--action {name}: {pair!r} is not PATH=VALUE")
            try:
                overrides[path] = yaml.safe_load(text)
            except yaml.YAMLError:
                raise UsageError(f"--action {name}: {pair!r}: the value cannot be read") from None
        actions[name] = overrides
    return actions


def main(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    actions = parse_actions(args.actions)
    unknown = [v for v in args.variants or [] if v not in scenario.variant_names]
    if unknown:
        raise UsageError(f"{args.scenario}: unknown variant(s) {', '.join(unknown)}; "
                         f"known: {', '.join(scenario.variant_names)}")
    count = (args.replications or scenario.replications)
    runs = count * (len(args.variants or scenario.variant_names) + len(actions) + 1)
    limits.check(scenario, runs=runs, allow_large=args.allow_large, source=str(args.scenario))
    at: float | str | None = args.at
    if at is not None:
        try:
            at = float(at)
        except ValueError:
            pass
    out_dir = output_folder_or(args.out, Path("out") / f"{scenario.name}-whatif")
    result = whatif(scenario, args.state, at=at, for_s=args.for_,
                    replications=args.replications, seed=args.seed, variants=args.variants,
                    actions=actions, queue_below=args.queue_below,
                    snapshot_replication=args.snapshot_replication, workers=args.workers,
                    dask=args.dask, progress=not args.quiet, source=str(args.scenario))
    written = result.write(out_dir)
    if not args.no_report:
        from sim.output.whatif_report import write_whatif_report

        written += write_whatif_report(result, out_dir)
    # An earlier run's comparison or report in a reused folder would read as this one's.
    removed = remove_stale([out_dir / "comparison.csv", out_dir / "whatif_report.html"],
                           written)
    print(format_whatif(result))
    if args.for_ is not None and result.until_s < result.time_s + parse_duration(args.for_):
        print(f"note: --for {args.for_} reaches past the end of the drain; the window ends "
              f"there ({format_duration(result.until_s - result.time_s)})", file=sys.stderr)
    names = [str(p.relative_to(out_dir)) for p in written]
    print(f"\nwrote {', '.join(names)} to {out_dir}/")
    if removed:
        gone = ", ".join(p.name for p in removed)
        print(f"removed {gone}: left there by an earlier run, not made by this one")
    return EXIT_OK


def format_whatif(result: WhatIf) -> str:
    """Everything the command prints: the desk now, the actions at a glance, the summary and
    comparison tables, the reply rate by 5-minute interval and the queue."""
    scenario = result.scenario
    reps = result.results.replications
    parts = [(f"what-if: {scenario.name}, {result.window}, {reps} replications per variant "
             "under common random numbers"), ""]
    parts.append(text_table([["the desk now", ""], *[list(r) for r in result.desk]]))
    parts += ["", glance_table(result), ""]
    preset = scenario.metrics.preset
    parts.append(format_summary(result.results.summary, preset, ["reply_rate_5min_allday"]))
    if result.comparison is not None:
        # Metrics undefined in the window (a rate whose counted hours it misses) are left out.
        defined = result.comparison[result.comparison["difference"].notna()]
        parts += ["", format_comparison(defined,
                                        ["reply_rate_5min_allday", *key_metrics(preset)])]
    parts += ["", reply_table(result)]
    return "\n".join(parts)


def glance_table(result: WhatIf) -> str:
    """Per variant: the window's 5-minute reply rate, when the queue is back under the
    threshold, and the action's cost against the baseline."""
    summary = result.results.summary.set_index(["variant", "metric"])
    cells = [["variant", "reply rate 5 min", f"queue < {result.queue_below} after",
              f"cost ({result.scenario.metrics.currency})", "extra cost [95% CI]"]]
    clear = result.queue_clear.set_index("variant")
    costs = result.costs.set_index("variant")
    for variant in result.results.variants:
        entry = summary.loc[(variant, "reply_rate_5min_allday")]
        rate = _with_interval("reply_rate_5min_allday", entry["mean"], entry["ci_low"],
                              entry["ci_high"])
        row = clear.loc[variant]
        cells.append([variant, rate, clear_text(row), format_value("cost",
                                                                   costs.loc[variant, "cost"]),
                      "-" if variant == result.baseline else extra_cost_text(costs.loc[variant])])
    note = (f"(over the window; queue: buyers waiting for an agent, cleared when under "
            f"{result.queue_below} for 5 minutes, mean [95% CI] over replications; "
            f"{result.queue_clear['queue_now'].iloc[0]} wait now)")
    return text_table(cells) + "\n" + note


def clear_text(row) -> str:
    text = format_duration(row["mean_s"]) if math.isfinite(row["mean_s"]) else "-"
    if math.isfinite(row["ci_low_s"]):
        text += f" [{format_duration(row['ci_low_s'])}, {format_duration(row['ci_high_s'])}]"
    if row["cleared"] < row["replications"]:
        text = f">= {text} ({row['cleared']}/{row['replications']} cleared)"
    return text


def extra_cost_text(row) -> str:
    text = format_difference("cost", row["extra_cost"])
    if math.isfinite(row["extra_ci_low"]):
        text += (f" [{format_difference('cost', row['extra_ci_low'])}, "
                 f"{format_difference('cost', row['extra_ci_high'])}]")
    return text


def _with_interval(metric: str, mean: float, low: float, high: float) -> str:
    text = format_value(metric, mean)
    if math.isfinite(low):
        text += f" [{format_value(metric, low)}, {format_value(metric, high)}]"
    return text


def reply_table(result: WhatIf) -> str:
    """The reply rate by 5-minute interval from now, one column per variant."""
    frame = result.reply_by_interval
    variants = list(result.results.variants)
    day0 = result.scenario.horizon.day0
    cells = [["from", *variants]]
    for start, rows in frame.groupby("interval_start_s", sort=True):
        by_variant = rows.set_index("variant")
        line = [format_clock(float(start), day0).split(" ")[-1]]
        for variant in variants:
            r = by_variant.loc[variant]
            line.append(_with_interval("reply_rate_5min", r["mean"], r["ci_low"], r["ci_high"]))
        cells.append(line)
    return (text_table(cells) + "\n(share of buyers whose messages sent in each 5 minutes, "
            "those waiting now in the first, were all answered within 5 minutes; mean [95% CI])")
