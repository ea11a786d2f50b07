"""`supportsim fit`: a scenario of the shop a chat log came from, with a fit report."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import EXIT_OK, UsageError, add_quiet, output_file
from sim.cli.log_options import add_log_arguments, interval_seconds, load_log
from sim.output.tables import text_table
from sim.scenario import load_scenario
from sim.tools.fit import fit_log

HELP = "fit a scenario to a chat log (with fit_report.html)"
#: Parameters printed (every one is in fit_parameters.csv and the report).
PRINTED = (".mean", ".cv", "concurrency", "deflection", "daily_volume", "handover_delay",
           "reply_time_factor_by_open")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_log_arguments(parser)
    parser.add_argument("--out", type=output_file, required=True, metavar="SCENARIO.yaml",
                        help="the fitted scenario; its counts CSV, fit_parameters.csv and "
                             "fit_report.html go beside it")
    parser.add_argument("--settings", type=Path, metavar="SCENARIO",
                        help="metric rules (metrics:, bot.replies_count) to keep in the fitted "
                             "scenario (default: the platforms' standard rules)")
    parser.add_argument("--interval", type=interval_seconds, default=1800.0, metavar="LEN",
                        help="arrival interval of the fitted scenario: 15min, 30min (default), "
                             "1h")
    parser.add_argument("--no-report", action="store_true", help="skip fit_report.html")
    add_quiet(parser)


def main(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() not in (".yaml", ".yml"):
        raise UsageError(f"--out {args.out}: the fitted scenario is a .yaml file")
    log = load_log(args)
    settings = load_scenario(args.settings) if args.settings else None
    fit = fit_log(log, settings, args.interval, name=args.out.stem, progress=not args.quiet)
    written = fit.write(args.out, report=not args.no_report)
    cells = [["parameter", "value", "95% CI", "n"]]
    for p in fit.parameters:
        if any(p.path.endswith(s) or s in p.path for s in PRINTED) and "mix_by_time" not in p.path:
            interval = f"[{p.ci_low:.4g}, {p.ci_high:.4g}]" if p.ci_low == p.ci_low else "-"
            cells.append([p.path, f"{p.value:.4g}", interval, f"{p.n:,}"])
    print(text_table(cells, ["<", ">", ">", ">"]))
    print()
    for note in fit.notes:
        if note not in log.notes:
            print(f"note: {note}")
    print(f"\nwrote {', '.join(p.name for p in written)} to {args.out.parent}/")
    return EXIT_OK
