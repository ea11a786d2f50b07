"""Tests for sim.analysis.compare (paired differences, verdicts, `supportsim compare`) and for the
replication controls in sim.experiment (common random numbers, `--replications auto`).

Expected intervals are recomputed in the tests from the t distribution (scipy), never taken
from the code under test; simulation tests use fixed seeds.
"""

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from sim.analysis.compare import (
    BETTER,
    HIGHER,
    LOWER,
    NO_DIFFERENCE,
    TOO_FEW,
    WORSE,
    compare,
    paired_differences,
)
from sim.analysis.registry import direction
from sim.cli import main as main_entry
from sim.experiment import PrecisionError, run, variant_seed
from sim.output.tables import format_comparison
from sim.scenario import load_document, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]


def tiny_desk(agents: int = 3, rate_per_hour: float = 120.0, hours: int = 2,
              variants: dict | None = None, seed: int = 11, replications: int = 3) -> dict:
    """A one-topic, one-group desk that runs in a fraction of a second."""
    return {
        "name": "tiny_desk",
        "horizon": {"start": "09:00", "end": f"{9 + hours:02d}:00", "drain": "30min"},
        "seed": seed,
        "replications": replications,
        "arrivals": {"interval": "1h", "rates_per_hour": [rate_per_hour] * hours,
                     "mix": {"presale": 1.0}},
        "topics": {"presale": {
            "messages": {"dist": "geometric", "mean": 3},
            "think_time": {"dist": "exponential", "mean": "40s"},
            "patience": {"dist": "exponential", "mean": "5min"},
            "presale": True,
        }},
        "groups": {"team": {
            "skills": ["presale"],
            "concurrency": 2,
            "reply_time": {"dist": "lognormal", "mean": "30s", "cv": 0.7},
            "hourly_cost": 30,
            "schedule": {"headcount": {"09:00": agents}},
        }},
        "metrics": {"pinduoduo": {"window": {"start": "00:00", "end": "24:00"}}},
        "variants": variants or {},
    }


def t_half_width(values, confidence: float) -> float:
    values = np.asarray(values, dtype=float)
    n = len(values)
    return stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / math.sqrt(n)


# --- pure functions ---------------------------------------------------------------------------


def test_direction_of_metrics():
    for name in ("reply_rate_5min", "human_reply_rate_3min", "answer_rate_30s",
                 "taobao_response_rate_3min", "jd_answer_rate_30s", "first_response_30s_rate",
                 "reply_rate_5min_allday"):
        assert direction(name) == 1, name
    for name in ("first_response_mean_s", "message_wait_p95_s", "abandon_rate", "cost",
                 "lost_orders", "lost_gmv"):
        assert direction(name) == -1, name
    for name in ("arrived", "deflection_rate", "occupancy", "occupancy_team", "agent_hours"):
        assert direction(name) == 0, name


def _frame(baseline, **variants) -> pd.DataFrame:
    rows = []
    for name, values in {"baseline": baseline, **variants}.items():
        for r, row in enumerate(values):
            rows.append({"variant": name, "replication": r, **row})
    return pd.DataFrame(rows)


def test_paired_interval_and_verdicts_on_hand_made_numbers():
    base = [{"reply_rate_5min": 0.80 + 0.01 * r, "first_response_mean_s": 60.0 + r,
             "arrived": 100 + r} for r in range(4)]
    # Differences: +0.05 +- small for the rate, +10 s for the wait, +1/-1 for arrivals.
    other = [{"reply_rate_5min": b["reply_rate_5min"] + d, "first_response_mean_s":
              b["first_response_mean_s"] + 10 + e, "arrived": b["arrived"] + a}
             for b, d, e, a in zip(base, (0.04, 0.05, 0.06, 0.05), (0, 1, -1, 0), (1, -1, 1, -1))]
    result = paired_differences(_frame(base, other=other)).set_index("metric")

    rate = result.loc["reply_rate_5min"]
    diffs = np.array([0.04, 0.05, 0.06, 0.05])
    assert rate["difference"] == pytest.approx(diffs.mean())
    half = t_half_width(diffs, 0.95)
    assert rate["ci_low"] == pytest.approx(diffs.mean() - half)
    assert rate["ci_high"] == pytest.approx(diffs.mean() + half)
    assert rate["confidence"] == pytest.approx(0.95)  # one comparison: no correction
    assert rate["verdict"] == BETTER
    assert result.loc["first_response_mean_s", "verdict"] == WORSE  # waits: lower is better
    assert result.loc["arrived", "verdict"] == NO_DIFFERENCE  # mean difference 0


def test_neutral_metric_says_higher_or_lower():
    base = [{"arrived": 100.0 + r} for r in range(5)]
    more = [{"arrived": b["arrived"] + 20 + (r % 2)} for r, b in enumerate(base)]
    less = [{"arrived": b["arrived"] - 20 - (r % 2)} for r, b in enumerate(base)]
    result = paired_differences(_frame(base, more=more, less=less)).set_index("variant")
    assert result.loc["more", "verdict"] == HIGHER
    assert result.loc["less", "verdict"] == LOWER


def test_bonferroni_widens_intervals_with_more_than_one_comparison():
    base = [{"cost": 100.0 + 3 * r} for r in range(6)]
    steps = (2.0, 5.0, 3.0, 4.0, 1.0, 6.0)
    a = [{"cost": b["cost"] + s} for b, s in zip(base, steps)]
    result = paired_differences(_frame(base, a=a, b=a, c=a)).set_index("variant")
    # Three comparisons: each interval at 1 - 0.05 / 3.
    assert result.loc["a", "confidence"] == pytest.approx(1 - 0.05 / 3)
    half = t_half_width(steps, 1 - 0.05 / 3)
    assert result.loc["a", "ci_high"] - result.loc["a", "difference"] == pytest.approx(half)
    single = paired_differences(_frame(base, a=a)).iloc[0]
    assert single["ci_high"] - single["difference"] < half


def test_nan_pairs_are_dropped_and_too_few_pairs_say_so():
    base = [{"abandon_rate": v} for v in (0.1, math.nan, 0.2)]
    other = [{"abandon_rate": v} for v in (0.2, 0.3, math.nan)]
    row = paired_differences(_frame(base, other=other)).iloc[0]
    assert row["pairs"] == 1
    assert row["verdict"] == TOO_FEW


def test_unknown_baseline_is_a_clear_error():
    frame = _frame([{"cost": 1.0}], other=[{"cost": 2.0}])
    with pytest.raises(KeyError, match="baseline 'nope'"):
        paired_differences(frame, baseline="nope")


# --- simulated comparisons --------------------------------------------------------------------


@pytest.fixture(scope="module")
def doubled():
    """A loaded desk, the same desk under another name, and one with twice the agents."""
    document = tiny_desk(agents=3, rate_per_hour=150, variants={
        "identical": {"groups.team.concurrency": 2},
        "twice_the_agents": {"groups.team.schedule.headcount": {"09:00": 6}},
    })
    return run(scenario_from_dict(document), replications=4)


def test_twice_the_agents_is_better_and_identical_is_no_different(doubled):
    result = compare(doubled).set_index(["variant", "metric"])
    base = doubled.per_replication.query("variant == 'baseline'")["reply_rate_5min"]
    assert base.mean() < 0.9  # the baseline is loaded, so there is room to be better
    assert result.loc[("twice_the_agents", "reply_rate_5min"), "verdict"] == BETTER
    assert result.loc[("twice_the_agents", "first_response_mean_s"), "verdict"] == BETTER
    assert result.loc[("twice_the_agents", "cost"), "verdict"] == WORSE
    identical = result.loc["identical"]
    assert (identical["verdict"] == NO_DIFFERENCE).all()
    assert (identical["difference"].fillna(0) == 0).all()
    # Two comparisons against one baseline: Bonferroni at 97.5% each.
    assert np.allclose(result["confidence"], 0.975)


def test_comparison_table_shows_the_chosen_metrics(doubled):
    text = format_comparison(compare(doubled), ["reply_rate_5min", "cost"])
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["variant", "metric"]
    assert sum("reply_rate_5min" in line for line in lines) == 2
    assert not any("arrived" in line for line in lines)
    assert "Bonferroni for 2 comparisons" in lines[-1]
    assert "better" in text and "pp" in text


def test_common_random_numbers_narrow_the_interval_of_a_difference():
    # The bundled normal day (peak morning only, to keep the test short) against a close
    # variant: one more agent on the early presale shift. Under common random numbers both
    # meet the same buyers, so their results are positively correlated and the paired
    # difference varies less than with independent streams. Measured, not assumed: both
    # intervals come from the same number of replications of the same two scenarios.
    document, path = load_document(ROOT / "scenarios" / "normal_day.yaml")
    document = copy.deepcopy(document)
    document["horizon"] = {"start": "08:00", "end": "14:00", "drain": "30min"}
    document["variants"] = {"one_more": {"groups.presale_team.schedule.shifts.0.agents": 7}}
    scenario = scenario_from_dict(document, base_dir=path.parent)
    crn = run(scenario, replications=5)
    independent = run(scenario, replications=5, variants=["one_more"],
                      common_random_numbers=False)
    assert variant_seed(scenario.seed, "one_more", False) != scenario.seed
    base = crn.per_replication.query("variant == 'baseline'")
    paired_crn = crn.per_replication
    paired_ind = pd.concat([base, independent.per_replication], ignore_index=True)
    assert not np.allclose(paired_ind.query("variant == 'one_more'")["arrived"].to_numpy(),
                           base["arrived"].to_numpy())  # truly other buyers
    for metric in ("reply_rate_5min", "first_response_mean_s"):
        narrow = paired_differences(paired_crn, metrics=[metric]).iloc[0]
        wide = paired_differences(paired_ind, metrics=[metric]).iloc[0]
        assert narrow["ci_high"] - narrow["ci_low"] < wide["ci_high"] - wide["ci_low"], metric
    a = base["reply_rate_5min"].to_numpy()
    b = crn.per_replication.query("variant == 'one_more'")["reply_rate_5min"].to_numpy()
    assert np.corrcoef(a, b)[0, 1] > 0  # the mechanism: positive correlation under CRN


# --- --replications auto ----------------------------------------------------------------------


def test_auto_replications_stop_by_precision_on_an_easy_case():
    # Plenty of agents: almost every buyer is answered in time, the rate barely varies.
    scenario = scenario_from_dict(tiny_desk(agents=8, rate_per_hour=120))
    results = run(scenario, replications="auto", precision=0.01, max_replications=30)
    assert results.stopped_by == "precision"
    assert "stopped by precision" in results.stopping
    assert results.replications < 30
    for _, frame in results.per_replication.groupby("variant"):
        values = frame["reply_rate_5min"].to_numpy()
        assert t_half_width(values, 0.95) <= 0.01 * values.mean()


def test_auto_replications_stop_by_the_cap_on_a_hard_case():
    # Overloaded and a 0.1% target: far more replications than the cap would be needed.
    scenario = scenario_from_dict(tiny_desk(agents=2, rate_per_hour=200, hours=1))
    results = run(scenario, replications="auto", precision=0.001, max_replications=7)
    assert results.stopped_by == "cap"
    assert results.replications == 7
    assert "stopped by the cap of 7 replications" in results.stopping
    values = results.per_replication["reply_rate_5min"].to_numpy()
    assert t_half_width(values, 0.95) > 0.001 * values.mean()


def test_auto_replications_grow_past_the_pilot_when_needed():
    # A middling case: the pilot of 5 is not precise enough at 2%, the cap of 40 is enough.
    scenario = scenario_from_dict(tiny_desk(agents=4, rate_per_hour=120, hours=2))
    results = run(scenario, replications="auto", precision=0.02, max_replications=40)
    pilot = results.per_replication[results.per_replication["replication"] < 5]
    values = pilot["reply_rate_5min"].to_numpy()
    assert t_half_width(values, 0.95) > 0.02 * values.mean()  # the pilot alone was not enough
    assert results.stopped_by == "precision"
    assert 5 < results.replications < 40


def test_auto_replications_refuse_a_metric_that_is_never_defined():
    # Counted hours 20:00-23:00 on a 09:00-10:00 desk: no buyer counts, the rate is NaN.
    document = tiny_desk(hours=1)
    document["metrics"]["pinduoduo"]["window"] = {"start": "20:00", "end": "23:00"}
    with pytest.raises(PrecisionError, match="undefined in every replication"):
        run(scenario_from_dict(document), replications="auto", max_replications=6)


def test_fixed_replications_do_not_claim_a_stopping_rule():
    results = run(scenario_from_dict(tiny_desk(hours=1)), replications=2)
    assert results.stopped_by is None and results.stopping == ""
    assert results.replications == 2


# --- command line -----------------------------------------------------------------------------


def _write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "desk.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_cli_compare_writes_comparison_csv(tmp_path, capsys):
    path = _write(tmp_path, tiny_desk(agents=3, rate_per_hour=150, hours=1, variants={
        "more": {"groups.team.schedule.headcount": {"09:00": 6}}}))
    code = main_entry(["compare", str(path), "--replications", "3", "--out",
                       str(tmp_path / "out"), "--quiet", "--no-report"])
    out = capsys.readouterr().out
    assert code == 0
    # The headline first (no targets set: it says how to set them), then the comparison.
    lines = out.splitlines()
    assert lines[0].startswith("headline:") and any("No targets set" in line for line in lines)
    assert any(line.split()[:2] == ["variant", "metric"] for line in lines)
    table = pd.read_csv(tmp_path / "out" / "comparison.csv")
    assert set(table["variant"]) == {"more"}
    assert {"difference", "ci_low", "ci_high", "verdict"} <= set(table.columns)
    assert table.set_index("metric").loc["reply_rate_5min", "verdict"] == BETTER


def test_cli_compare_errors_are_one_line_with_exit_2(tmp_path, capsys):
    plain = _write(tmp_path, tiny_desk())
    assert main_entry(["compare", str(plain), "--quiet", "--out", str(tmp_path / "o")]) == 2
    assert "nothing to compare" in capsys.readouterr().err
    with_variant = _write(tmp_path, tiny_desk(variants={"x": {"groups.team.concurrency": 3}}))
    assert main_entry(["compare", str(with_variant), "--baseline", "nope", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--baseline 'nope'" in err and len(err.strip().splitlines()) == 1
    assert main_entry(["run", str(with_variant), "--precision", "0.05", "--quiet"]) == 2
    assert "--precision only applies with --replications auto" in capsys.readouterr().err


def test_cli_auto_replications_says_what_stopped_it(tmp_path, capsys):
    path = _write(tmp_path, tiny_desk(agents=2, rate_per_hour=200, hours=1))
    code = main_entry(["run", str(path), "--replications", "auto", "--precision", "0.1%",
                       "--max-replications", "3", "--out", str(tmp_path / "out"), "--quiet",
                       "--no-report"])
    assert code == 0
    assert "stopped by the cap of 3 replications" in capsys.readouterr().out
    assert main_entry(["run", str(path), "--replications", "auto", "--precision-metric",
                       "no_such_metric", "--max-replications", "3", "--quiet", "--out",
                       str(tmp_path / "o2")]) == 2
    assert "unknown precision metric 'no_such_metric'" in capsys.readouterr().err


def test_a_reused_out_folder_keeps_no_file_of_an_earlier_run(tmp_path, capsys):
    # A comparison, records and a differences plot left from an earlier run would read as this
    # run's; they are removed once this run's files are written, and said. Files the command
    # never writes stay.
    path = _write(tmp_path, tiny_desk(variants={"x": {"groups.team.concurrency": 3}}))
    out = tmp_path / "o"
    assert main_entry(["compare", str(path), "--replications", "2", "--records", "--quiet",
                       "--out", str(out)]) == 0
    earlier = ["comparison.csv", "messages.parquet", "conversations.parquet",
               "plots/differences_chart.png"]
    assert all((out / name).is_file() for name in earlier)
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main_entry(["run", str(path), "--variant", "x", "--replications", "2", "--quiet",
                       "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert not any((out / name).exists() for name in earlier)
    assert "left there by an earlier run" in printed
    assert all(name in printed for name in earlier)
    assert (out / "notes.txt").read_text() == "mine"
    assert set(pd.read_csv(out / "summary.csv")["variant"]) == {"x"}
    assert (out / "plots" / "key_metrics_chart.png").is_file()
