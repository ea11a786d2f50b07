"""Tests for `supportsim validate`: the quick grid passes, and a mis-configured desk fails it.

Expected theory values here come from closed forms (M/M/1) and the literature (the published
Erlang A check listed in docs/validation.md), not from the code under test.
"""

import re

import pandas as pd
import pytest

from sim.cli import main as main_entry
from sim.cli.common import EXIT_CHECK_FAILED
from sim.tools import validation
from sim.tools.validation import Case, quick_grid, run_grid


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("validation")
    code = main_entry(["validate", "--quick", "--out", str(out), "--quiet", "--workers", "2"])
    return code, out


def test_quick_grid_passes_and_writes_csv_and_plot(quick_run, capsys):
    code, out = quick_run
    table = pd.read_csv(out / "validation.csv")
    failed = table[table["status"] != "PASS"]
    assert code == 0, f"quick validation failed:\n{failed.to_string()}"
    assert set(table["system"]) == {"M/M/c", "M/M/c+M", "chat"}
    assert (table["censored"] == 0).all()
    # Each check's 95% interval is inside its (wider, Bonferroni) pass band.
    assert (table["pass_low"] <= table["ci_low"]).all()
    assert (table["ci_high"] <= table["pass_high"]).all()
    png = (out / "validation.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_theory_column_matches_closed_forms_and_published_values(quick_run):
    _, out = quick_run
    table = pd.read_csv(out / "validation.csv").set_index(["system", "agents", "metric"])
    # M/M/1 at rho = 0.5: P(wait > 0) = rho, mean wait = rho / (1 - rho) service times.
    assert table.loc[("M/M/c", 1, "p_wait"), "theory"] == pytest.approx(0.5, abs=1e-9)
    assert table.loc[("M/M/c", 1, "mean_wait"), "theory"] == pytest.approx(1.0, abs=1e-9)
    # Mandelbaum & Zeltyn: lambda = 2/min, 1/mu = 4 min, 1/theta = 5 min, n = 9.
    assert round(table.loc[("M/M/c+M", 9, "p_wait"), "theory"], 4) == 0.4253
    assert round(table.loc[("M/M/c+M", 9, "p_abandon"), "theory"], 4) == 0.0822


def test_doubled_service_rate_fails_every_case():
    # The simulated desk serves twice as fast as the theory assumes: every case must notice.
    table = run_grid(quick_grid(), service_time_factor=0.5, workers=2)
    failed_cases = set(table.loc[table["status"] == "FAIL", "case"])
    assert failed_cases == set(range(len(quick_grid())))


def test_ten_percent_slower_service_is_caught():
    # A subtler mistake: at rho 0.8 with 10 agents, 10% longer service means rho 0.88 and
    # P(wait > 0) rising from 0.41 to about 0.6, far outside any band of this size.
    case = Case("M/M/c", 10, 0.8, customers=15_000, replications=6)
    table = run_grid([case], service_time_factor=1.1)
    assert (table.loc[table["metric"] == "p_wait", "status"] == "FAIL").all()


def test_failed_check_gives_exit_code_3(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(validation, "quick_grid",
                        lambda: [Case("M/M/c", 2, 0.7, customers=3_000, replications=3)])
    code = main_entry(["validate", "--quick", "--out", str(tmp_path), "--quiet", "--workers",
                       "1", "--service-time-factor", "0.5"])
    assert code == EXIT_CHECK_FAILED == 3
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--replications", "1"], ["--workers", "0"],
                                  ["--service-time-factor", "-1"]])
def test_bad_options_exit_2(args, tmp_path, capsys):
    # argparse refuses them before anything runs (its usage message, exit status 2).
    with pytest.raises(SystemExit) as exit_info:
        main_entry(["validate", "--quick", "--out", str(tmp_path), "--quiet", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {args[0]}: expected" in err and "Traceback" not in err
    assert not (tmp_path / "validation.csv").exists()


def test_the_table_lines_up_headers_and_columns_whatever_the_cells_hold():
    from sim.tools.validation import format_table

    rows = []
    for system, agents, patience, metric in (("M/M/c", 1, 0.0, "p_wait"),
                                             ("M/M/c+M", 200, 0.125, "p_abandon"),
                                             ("chat", 12, 0.0, "service_level")):
        rows.append({"system": system, "agents": agents, "rho": 0.98, "concurrency": 1,
                     "patience_ratio": patience, "metric": metric, "theory": 0.123456,
                     "sim_mean": 12.5, "ci_low": 1.25, "ci_high": 123.75, "pass_low": -0.5,
                     "pass_high": 1000.125, "status": "PASS" if agents > 1 else "FAIL"})
    lines = format_table(pd.DataFrame(rows)).splitlines()
    header, rule, body = lines[0], lines[1], lines[2:5]
    # Each column starts where its header starts and the rule runs under each header.
    starts = [m.start() for m in re.finditer(r"-+", rule)]
    assert len(starts) == 6
    for start, name in zip(starts, ["case", "metric"]):
        assert header[start:].startswith(name)
        assert all((start == 0 or line[start - 1] == " ") and line[start] != " "
                   for line in body)
    ends = [m.end() for m in re.finditer(r"-+", rule)]
    for end in ends[2:5]:   # numbers align right, under the end of their header
        assert header[end - 1] != " " and all(line[end - 1] != " " for line in body)
    assert all(line.rstrip().endswith(("PASS", "FAIL")) for line in body)
