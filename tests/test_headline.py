"""Tests for sim.analysis.headline and its text (sim.output.tables): verdicts per variant and
target, the cheapest variant meeting every target, and the worst intervals inside and outside
the counted hours, on hand-built summaries whose answers are known."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from conftest import MINIMAL

from sim.analysis.headline import headline
from sim.analysis.targets import MET, MISSED, NO_DATA, UNDECIDED, parse_target
from sim.experiment import run
from sim.output.tables import format_headline, interval_label, pick_sentence
from sim.scenario import scenario_from_dict


def scenario(horizon: dict | None = None):
    document = yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))
    if horizon:
        document["horizon"] = horizon
        document["arrivals"] = {"interval": "1h", "rates_per_hour": [60] * 24,
                                "mix": document["arrivals"]["mix"]}
    return scenario_from_dict(document)


def summary(rows: dict[str, dict[str, tuple[float, float, float]]]) -> pd.DataFrame:
    return pd.DataFrame([(variant, metric, *values, 5)
                         for variant, metrics in rows.items()
                         for metric, values in metrics.items()],
                        columns=["variant", "metric", "mean", "ci_low", "ci_high",
                                 "replications"])


def results(rows, targets, interval_runs=None, horizon=None):
    return SimpleNamespace(summary=summary(rows), variants=list(rows),
                           targets=[parse_target(t) for t in targets],
                           interval_runs=interval_runs if interval_runs is not None
                           else pd.DataFrame(), scenario=scenario(horizon))


ROWS = {
    # reply rate >= 95% and mean first response <= 30 s
    "baseline": {"reply_rate_5min": (0.96, 0.94, 0.97), "first_response_mean_s": (25, 22, 28),
                 "cost": (100.0, 99.0, 101.0)},     # undecided on the rate
    "cheap_bad": {"reply_rate_5min": (0.90, 0.88, 0.92), "first_response_mean_s": (20, 18, 22),
                  "cost": (80.0, 79.0, 81.0)},      # misses the rate
    "good": {"reply_rate_5min": (0.98, 0.97, 0.99), "first_response_mean_s": (15, 12, 18),
             "cost": (120.0, 119.0, 121.0)},        # meets both
    "good_cheaper": {"reply_rate_5min": (0.97, 0.96, 0.98),
                     "first_response_mean_s": (29, 26, 29.9), "cost": (110.0, 109.0, 111.0)},
}
TARGETS = ["reply_rate_5min>=0.95", "first_response_mean_s<=30"]


def test_each_target_is_met_missed_or_undecided_on_its_interval():
    found = headline(results(ROWS, TARGETS))
    rate, wait = found.targets
    assert found.verdict("baseline", rate).status == UNDECIDED
    assert found.verdict("baseline", wait).status == MET
    assert found.verdict("cheap_bad", rate).status == MISSED
    assert found.verdict("good_cheaper", wait).status == MET   # 29.9 is still under 30
    assert found.overall == {"baseline": UNDECIDED, "cheap_bad": MISSED, "good": MET,
                             "good_cheaper": MET}
    frame = found.frame()
    assert list(frame.columns[:3]) == ["variant", "target", "metric"]
    assert len(frame) == 8 and set(frame["status"]) == {MET, MISSED, UNDECIDED}


def test_the_cheapest_variant_meeting_every_target_is_picked():
    found = headline(results(ROWS, TARGETS))
    assert found.meeting == ["good", "good_cheaper"]
    assert found.cheapest == "good_cheaper"          # 110 < 120; cheap_bad misses
    sentence = pick_sentence(found, scenario())
    assert sentence == ("Cheapest variant meeting every target: good_cheaper (cost 110.00 CNY); "
                        "also meeting them: good.")
    # A rival whose mean cost lies inside the cheapest one's interval is said to be level.
    rows = {**ROWS, "good": {**ROWS["good"], "cost": (110.5, 109.0, 112.0)}}
    sentence = pick_sentence(headline(results(rows, TARGETS)), scenario())
    assert sentence.endswith("also meeting them: good; good's cost is within good_cheaper's "
                             "95% interval (up to 111.00).")


def test_without_a_confident_winner_the_undecided_are_named():
    rows = {k: v for k, v in ROWS.items() if k in ("baseline", "cheap_bad")}
    found = headline(results(rows, TARGETS))
    assert found.cheapest is None and found.undecided == ["baseline"]
    assert "undecided" in pick_sentence(found, scenario()) and "baseline" in \
        pick_sentence(found, scenario())
    missing = headline(results({"cheap_bad": ROWS["cheap_bad"]}, TARGETS))
    # cheap_bad misses the rate and meets the wait: the sentence names what nobody meets.
    assert pick_sentence(missing, scenario()) == ("No variant meets every target. "
                                                  "reply_rate_5min >= 95.00%: missed by every "
                                                  "variant.")


def test_without_targets_nothing_is_picked_and_the_sentence_says_how_to_set_them():
    found = headline(results(ROWS, []))
    assert found.cheapest is None and set(found.overall.values()) == {NO_DATA}
    assert "targets:" in pick_sentence(found, scenario()) and "--target" in \
        pick_sentence(found, scenario())


def interval_runs(values_by_start: dict[float, list[float]], variant="baseline", length=3600.0):
    rows = []
    for start, values in values_by_start.items():
        for replication, value in enumerate(values):
            rows.append({"variant": variant, "replication": replication,
                         "interval_start_s": start, "interval_end_s": start + length,
                         "reply_rate_5min": value})
    return pd.DataFrame(rows)


def logit_interval(values: list[float]) -> tuple[float, float, float]:
    """The bounded interval written out: logit(m) +- t se / (m (1 - m)), mapped back."""
    from scipy import stats

    n = len(values)
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    dz = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) / (m * (1 - m))
    z = math.log(m / (1 - m))
    return m, 1 / (1 + math.exp(-(z - dz))), 1 / (1 + math.exp(-(z + dz)))


def test_the_worst_interval_inside_and_outside_the_counted_hours():
    # Counted hours 08:00-23:00 (the default). 07:00 is outside, 09:00 and 10:00 inside; on a
    # second day 00:00 is outside again and worse than 07:00.
    runs = interval_runs({7 * 3600.0: [0.60, 0.70], 9 * 3600.0: [0.90, 0.92],
                          10 * 3600.0: [0.80, 0.84], 86400.0: [0.50, 0.52],
                          86400.0 + 3600: [math.nan, math.nan]})
    horizon = {"start": "2026-11-10 07:00", "end": "2026-11-11 02:00", "drain": "1h"}
    found = headline(results({"baseline": ROWS["baseline"]}, TARGETS, runs, horizon))
    counted, outside = found.worst_of("baseline", True), found.worst_of("baseline", False)
    assert (counted.start_s, counted.end_s) == (36000.0, 39600.0)
    assert (counted.mean, counted.ci_low, counted.ci_high) == pytest.approx(
        logit_interval([0.80, 0.84]))
    assert outside.start_s == 86400.0
    assert outside.mean == pytest.approx(0.51)
    assert found.window == "08:00-23:00"
    assert interval_label(outside.start_s, outside.end_s, scenario(horizon)) == \
        "11-11 00:00-01:00"


@pytest.mark.parametrize("horizon, start, end, text", [
    ({"start": "08:00", "end": "24:00"}, 84600.0, 86400.0, "23:30-24:00"),
    ({"start": "08:00", "end": "12:00"}, 28800.0, 30600.0, "08:00-08:30"),
    ({"start": "2026-11-10 20:00", "end": "2026-11-11 24:00"}, 86400.0, 87300.0,
     "11-11 00:00-00:15"),
    ({"start": "2026-11-10 20:00", "end": "2026-11-11 24:00"}, 171900.0, 172800.0,
     "11-11 23:45-24:00"),
    ({"start": "20:00", "end": "2026-11-11 02:00"}, None, None, None),
])
def test_interval_labels(horizon, start, end, text):
    if text is None:
        with pytest.raises(Exception, match="give the start a date"):
            scenario(horizon)
        return
    assert interval_label(start, end, scenario(horizon)) == text


def test_a_real_run_opens_with_the_headline():
    document = yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))
    # Always met (a rate is never below 0) and never met (the desk costs more than 1).
    document["targets"] = ["reply_rate_5min>=0", "cost<=1"]
    found = run(scenario_from_dict(document), replications=3)
    head = found.headline()
    assert {v.status for v in head.verdicts if v.target.metric == "reply_rate_5min"} == {MET}
    assert {v.status for v in head.verdicts if v.target.metric == "cost"} == {MISSED}
    assert head.cheapest is None
    text = format_headline(head, found.scenario, found.replications)
    lines = text.splitlines()
    assert lines[0].startswith("headline: 3 replications")
    assert "reply_rate_5min >= 0.00%" in lines[1] and "cost <= 1.00" in lines[1]
    assert "No variant meets every target." in text
    assert "worst interval in counted hours (08:00-23:00)" in text
    # The worst interval's value is the mean over replications of the interval series.
    worst = head.worst_of("baseline", True)
    runs = found.interval_runs.query("variant == 'baseline' and interval_start_s == @worst."
                                     "start_s")
    assert worst.mean == pytest.approx(runs["reply_rate_5min"].mean())
