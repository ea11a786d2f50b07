"""`supportsim run`: every variant x replication of one scenario, summary with CIs, files."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.analysis.compare import compare
from sim.analysis.registry import key_metrics
from sim.analysis.targets import scenario_targets
from sim.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    UsageError,
    add_allow_large,
    add_executor_arguments,
    add_no_warnings,
    add_quiet,
    add_target_arguments,
    at_least_two,
    non_negative_int,
    only_with,
    output_folder,
    output_folder_or,
    print_scenario_warnings,
    relative_precision,
    replications_or_auto,
)
from sim.experiment import PrecisionError, Results, run
from sim.output.files import remove_stale, write_csv, write_files
from sim.output.plots import PLOTS, warm_up
from sim.output.report import plot_images, plot_jobs, write_page
from sim.output.tables import format_comparison, format_headline, format_summary
from sim.parallel import make_executor
from sim.scenario import load_scenario

HELP = "run one scenario: every variant x replication, summary and CIs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    parser.add_argument("--out", type=output_folder,
                        help="output folder (default out/<scenario name>/)")
    parser.add_argument("--replications", type=replications_or_auto, metavar="N|auto",
                        help="override replications; 'auto' adds replications until the CI of "
                             "--precision-metric is narrow enough (see --precision)")
    parser.add_argument("--precision", type=relative_precision, metavar="SHARE",
                        help="with --replications auto: target 95%% CI half-width as a share of "
                             "the mean (default 0.01, i.e. 1%%; '2%%' also accepted)")
    parser.add_argument("--precision-metric", metavar="METRIC",
                        help="with --replications auto: the metric whose CI decides "
                             "(default reply_rate_5min)")
    parser.add_argument("--max-replications", type=at_least_two, metavar="N",
                        help="with --replications auto: stop here even if not precise enough "
                             "(default 100)")
    parser.add_argument("--seed", type=non_negative_int, help="override the scenario's seed")
    parser.add_argument("--variant", action="append", dest="variants",
                        help="run only this variant (repeatable; default: all)")
    parser.add_argument("--baseline", metavar="NAME",
                        help="the variant others are compared with (default: baseline, or the "
                             "first --variant when baseline is not run)")
    parser.add_argument("--records", action="store_true",
                        help="also write per-conversation and per-message Parquet records")
    parser.add_argument("--no-report", action="store_true",
                        help="skip plots/ and report.html (CSV files only)")
    add_target_arguments(parser)
    parser.add_argument("--fail-on-target", action="store_true",
                        help="exit 3 unless some variant meets every target (met, not "
                             "undecided); for scripts and scheduled checks")
    add_no_warnings(parser)
    add_executor_arguments(parser)
    add_allow_large(parser)
    add_quiet(parser)


@dataclass
class RunOutput:
    """What `execute` ran and wrote, for `run` and `compare` to print."""

    results: Results
    comparison: pd.DataFrame | None
    out_dir: Path
    written: list[Path]
    removed: list[Path] = field(default_factory=list)  # an earlier run's files, not made now


def execute(args: argparse.Namespace, need_variants: bool = False) -> RunOutput:
    """Load, run, compare and write everything `run` and `compare` write (no printing)."""
    auto = args.replications == "auto"
    if not auto:
        given = [flag for flag, value in (("--precision", args.precision),
                                          ("--precision-metric", args.precision_metric),
                                          ("--max-replications", args.max_replications))
                 if value is not None]
        if given:
            raise UsageError(only_with(given, "--replications auto"))
    scenario = load_scenario(args.scenario)
    scenario_targets(scenario, str(args.scenario))  # refused before the warnings and the run
    print_scenario_warnings(scenario, str(args.scenario), args)
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
    out_dir = output_folder_or(args.out, Path("out") / scenario.name)
    options = {}
    if auto:
        options = {"precision": 0.01 if args.precision is None else args.precision,
                   "precision_metric": args.precision_metric or "reply_rate_5min",
                   "max_replications": args.max_replications or 100}
    planned = (options["max_replications"] if auto else args.replications
               or scenario.replications) * len(names)
    # One executor for the replications and for the files made from them: the records'
    # Parquet and the report's plots are tasks on the same workers (the longest first), so
    # that this process only merges results and writes bytes.
    jobs = (2 if args.records else 0) + (0 if args.no_report else len(PLOTS))
    with make_executor(args.workers, args.dask, tasks=planned + jobs) as executor:
        if not args.no_report:
            # Each worker's first plot would wait half a second for matplotlib to load: the
            # workers load it as they run out of replications, while others still run.
            executor.prepare(warm_up)
        try:
            results = run(scenario, replications=args.replications, seed=args.seed,
                          variants=names if args.variants else None, keep_records=args.records,
                          progress=not args.quiet, allow_large=args.allow_large,
                          source=str(args.scenario), targets=args.targets, executor=executor,
                          **options)
        except KeyError as exc:
            raise UsageError(str(exc).strip("'\"")) from None
        except PrecisionError as exc:
            raise UsageError(str(exc)) from None
        written = results.write_tables(out_dir)
        comparison = None
        if len(results.variants) > 1:
            comparison = compare(results, baseline=baseline)
            write_csv(out_dir / "comparison.csv", comparison)
        records = results.record_jobs(out_dir) if args.records else []
        plots = [] if args.no_report else plot_jobs(results, out_dir, comparison)
        contents = write_files(records[::-1] + plots, executor)   # messages.parquet first
    written += [job.path for job in records]
    if comparison is not None:
        written.append(out_dir / "comparison.csv")
    if plots:
        written += [job.path for job in plots]
        written.append(write_page(results, out_dir, comparison, plot_images(plots, contents)))
    # Only once everything is written: an interrupted run keeps the earlier run's files.
    outputs = [out_dir / name for name in ("summary.csv", "intervals.csv", "replications.csv",
                                           "comparison.csv", "conversations.parquet",
                                           "messages.parquet", "report.html")]
    outputs += [out_dir / "plots" / f"{name}.png" for name in PLOTS]
    removed = remove_stale(outputs, written)
    return RunOutput(results, comparison, out_dir, written, removed)


def print_footer(output: RunOutput) -> None:
    """How the replications stopped (with --replications auto) and which files were written."""
    if output.results.stopping:
        print(f"\n{output.results.stopping}")
    names = []
    for path in output.written:
        relative = path.relative_to(output.out_dir)
        name = f"{relative.parent}/*{path.suffix}" if relative.parent != Path(".") else path.name
        names.append(name)
    print(f"\nwrote {', '.join(dict.fromkeys(names))} to {output.out_dir}/")
    if output.removed:
        gone = ", ".join(str(p.relative_to(output.out_dir)) for p in output.removed)
        print(f"removed {gone}: left there by an earlier run, not made by this one")


def print_headline(output: RunOutput) -> None:
    """Whether the targets are met and the worst intervals: what every output opens with."""
    results = output.results
    print(format_headline(results.headline(), results.scenario, results.replications))


def target_exit(output: RunOutput, args: argparse.Namespace) -> int:
    """With --fail-on-target: exit 3, saying why on stderr, unless a variant meets every
    target; without it (or without targets) the exit code says nothing about them."""
    if not getattr(args, "fail_on_target", False):
        return EXIT_OK
    head = output.results.headline()
    if not head.targets:
        raise UsageError(f"{args.scenario}: --fail-on-target, but the scenario states no "
                         "targets: add targets: to it or give --target EXPR")
    if head.meeting:
        return EXIT_OK
    undecided = head.undecided
    why = (f"undecided for {', '.join(undecided)} (a CI straddles a target: more "
           "replications may decide)" if undecided else "missed by every variant")
    print(f"targets not met: no variant meets every target ({why})", file=sys.stderr)
    return EXIT_CHECK_FAILED


def main(args: argparse.Namespace) -> int:
    output = execute(args)
    print_headline(output)
    print()
    results = output.results
    preset = results.scenario.metrics.preset
    print(format_summary(results.summary, preset, [t.metric for t in results.targets]))
    if output.comparison is not None:
        print()
        print(format_comparison(output.comparison, key_metrics(preset)))
    print_footer(output)
    return target_exit(output, args)
