"""`supportsim sweep`: a grid of scenario parameters, in parallel or on Dask, resumable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.analysis.targets import scenario_targets
from sim.cli.common import (
    EXIT_OK,
    EXIT_TASKS_FAILED,
    add_allow_large,
    add_executor_arguments,
    add_no_warnings,
    add_quiet,
    output_folder,
    output_folder_or,
    positive_int,
    print_scenario_warnings,
)
from sim.scenario import scenario_from_dict
from sim.tools.sweep import (
    FAILURES_FILE,
    SUMMARY_FILE,
    describe_task,
    format_table,
    load_plan,
    run_sweep,
)

HELP = "run a grid of scenario parameters, in parallel or on Dask"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="sweep spec YAML file (see docs/sweeps.md)")
    parser.add_argument("--out", type=output_folder,
                        help="output folder (default out/<spec name>/); rerun to resume")
    parser.add_argument("--replications", type=positive_int,
                        help="override the spec's replications")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    add_no_warnings(parser)
    add_executor_arguments(parser)
    add_allow_large(parser)
    add_quiet(parser)


def main(args: argparse.Namespace) -> int:
    plan = load_plan(args.spec, replications=args.replications, allow_large=args.allow_large)
    base = scenario_from_dict(plan.base_document, source=str(plan.base_path),
                              base_dir=plan.base_path.parent)
    scenario_targets(base, str(plan.base_path))
    print_scenario_warnings(base, str(plan.base_path), args)
    out_dir = output_folder_or(args.out, Path("out") / args.spec.stem)
    outcome = run_sweep(plan, out_dir, workers=args.workers, dask=args.dask,
                        progress=not args.quiet)
    print(format_table(plan, outcome.summary))
    written = [SUMMARY_FILE]
    if not args.no_plots and outcome.summary is not None and len(outcome.summary):
        from sim.output import sweep_plots  # matplotlib only when plots are wanted

        paths = sweep_plots.draw_all(outcome.summary, plan.parameters, out_dir / "plots",
                                     settings=plan.spec.plots, target=plan.spec.target,
                                     metrics=plan.spec.metrics, labels=plan.spec.labels,
                                     currency=base.metrics.currency)
        if paths:
            written.append(f"{len(paths)} PNG plots in plots/")
    print(f"\n{outcome.computed} tasks run, {outcome.skipped} reused; wrote "
          f"{', '.join(written)} to {out_dir}/")
    if outcome.failures:
        print(f"error: {len(outcome.failures)} task(s) failed twice; the summary leaves them "
              f"out (listed in {out_dir / FAILURES_FILE}); run again to retry them:",
              file=sys.stderr)
        for failure in outcome.failures:
            print(f"  {describe_task(plan, failure.task)}: {failure.error}", file=sys.stderr)
        return EXIT_TASKS_FAILED
    return EXIT_OK
