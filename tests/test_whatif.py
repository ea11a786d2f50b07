"""The intraday what-if (sim/tools/whatif.py, `supportsim whatif`, `supportsim snapshot`):
variants compared from a desk state under common random numbers, the reply rate from now, the
time to clear the queue, the cost of each action."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO

import sim
from sim.analysis.metrics import Tables
from sim.cli import main as cli_main
from sim.engine.snapshot import resume
from sim.engine.state import load
from sim.tools.whatif import action_variants, queue_clear_time, reply_rates, whatif

HOUR = 3600.0


def shop_document() -> dict:
    """A small desk short of agents at 10:00, with a variant of two more and a pooled one."""
    topic = {"messages": {"dist": "geometric", "mean": 3},
             "think_time": {"dist": "exponential", "mean": "40s"},
             "patience": {"dist": "exponential", "mean": "10min"}}
    group = {"concurrency": 3, "reply_time": {"dist": "lognormal", "mean": "25s", "cv": 0.7},
             "hourly_cost": 30}
    return {
        "name": "whatif_desk",
        "horizon": {"start": "09:00", "end": "13:00", "drain": "30min"},
        "seed": 5,
        "replications": 3,
        "arrivals": {"interval": "1h", "rates_per_hour": [500, 200, 150, 100],
                     "mix": {"buy": 0.7, "fix": 0.3}},
        "topics": {"buy": topic, "fix": topic},
        "groups": {"sales": {**group, "skills": ["buy"],
                             "schedule": {"headcount": {"09:00": 3}}},
                   "care": {**group, "skills": ["fix"],
                            "schedule": {"headcount": {"09:00": 2}}}},
        "variants": {"plus_two": {"groups.sales.schedule.headcount": {"09:00": 5}},
                     "pooled": {"routing.mode": "pooled"}},
    }


@pytest.fixture(scope="module")
def shop_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("whatif") / "shop.yaml"
    path.write_text(yaml.safe_dump(shop_document()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shop(shop_path):
    return sim.load_scenario(shop_path)


@pytest.fixture(scope="module")
def at_ten(shop):
    return whatif(shop, at="10:00", for_s="1h", queue_below=3)


def test_the_window_and_its_intervals(at_ten):
    assert at_ten.time_s == 10 * HOUR and at_ten.until_s == 11 * HOUR
    frame = at_ten.reply_by_interval
    assert set(frame["variant"]) == {"baseline", "plus_two", "pooled"}
    starts = sorted(set(frame["interval_start_s"]))
    assert starts == [10 * HOUR + 300 * k for k in range(12)]
    assert ((frame["ci_low"] <= frame["mean"]) & (frame["mean"] <= frame["ci_high"])
            & (frame["ci_low"] >= 0) & (frame["ci_high"] <= 1)).all()


def test_variants_meet_the_same_buyers(at_ten):
    # Common random numbers: replication r of every variant resumes the same desk and meets
    # the same later buyers, so the count of buyers is the same in every variant.
    per = at_ten.results.per_replication.pivot(index="replication", columns="variant",
                                               values="arrived")
    assert (per["plus_two"] == per["baseline"]).all() and (per["pooled"] == per["baseline"]).all()
    assert per["baseline"].nunique() > 1  # and replications differ


def test_more_agents_clear_the_queue_sooner_and_cost_more(at_ten):
    clear = at_ten.queue_clear.set_index("variant")
    assert clear.loc["baseline", "queue_now"] >= 3  # the desk is short at 10:00
    assert clear.loc["plus_two", "mean_s"] < clear.loc["baseline", "mean_s"]
    costs = at_ten.costs.set_index("variant")
    # Two more agents for the hour at 30 an hour: 60 more, give or take the end of a chat.
    assert costs.loc["plus_two", "extra_ci_low"] > 0
    assert costs.loc["plus_two", "extra_cost"] == pytest.approx(60, abs=10)
    assert costs.loc["baseline", "extra_cost"] == 0
    summary = at_ten.results.summary.set_index(["variant", "metric"])
    assert (summary.loc[("plus_two", "reply_rate_5min_allday"), "mean"]
            > summary.loc[("baseline", "reply_rate_5min_allday"), "mean"])


def test_the_hours_count_from_now(at_ten, shop):
    hours = at_ten.results.summary.set_index(["variant", "metric"]).loc[
        ("baseline", "agent_hours"), "mean"]
    # Five agents for the one-hour window (agents finishing a chat after 11:00 do not count:
    # the run stops at 11:00).
    assert hours == pytest.approx(5.0, abs=1e-9)


def test_a_higher_threshold_counts_the_queue_cleared_sooner(shop):
    low = whatif(shop, at="10:00", for_s="1h", queue_below=1, variants=[], replications=2)
    high = whatif(shop, at="10:00", for_s="1h", queue_below=8, variants=[], replications=2)
    a, b = low.queue_clear.iloc[0], high.queue_clear.iloc[0]
    assert (b["mean_s"] <= a["mean_s"]) or (a["cleared"] < a["replications"])
    assert b["mean_s"] < a["mean_s"] or a["cleared"] < b["cleared"]


def test_an_action_is_a_variant_written_on_the_spot(shop):
    both = whatif(shop, at="10:00", for_s="30min", variants=["pooled"], replications=2,
                  actions={"pool_now": {"routing.mode": "pooled"}})
    per = both.results.per_replication.set_index(["variant", "replication"])
    pd.testing.assert_frame_equal(per.loc["pooled"], per.loc["pool_now"])
    with pytest.raises(sim.ScenarioError, match="has a variant of that name"):
        action_variants(shop, actions={"pooled": {"routing.mode": "pooled"}})
    with pytest.raises(sim.ScenarioError, match="routing.mode"):
        action_variants(shop, actions={"odd": {"routing.mode": "sideways"}})


def test_replication_zero_of_a_snapshot_continues_the_day(shop):
    # The what-if's baseline replication 0, from a snapshot of replication 0, is the simulated
    # day itself: its buyers' records are the uninterrupted run's.
    state = sim.snapshot(shop, 10 * HOUR)
    resumed = resume(shop, state, replication=0)
    full = sim.simulate(shop)
    rows = np.flatnonzero(~(full.end_at_s < 10 * HOUR))
    assert np.array_equal(resumed.end_at_s, full.end_at_s[rows], equal_nan=True)


def test_occupancy_counts_typing_from_now(shop):
    # Replication 0 from a snapshot is the simulated day itself, so the window's occupancy is
    # the day's typing over its duty inside the window: the replies that end in it, typed from
    # now on (the buyers open now bring replies typed before, and one being typed now began
    # before), over the agents' time on duty from now on. A reply still being typed when the
    # window ends is not counted, as at the end of any run (docs/whatif.md).
    now, until = 10 * HOUR + 600, 11 * HOUR + 600
    result = whatif(shop, at=now, for_s="1h", replications=1, variants=[])
    full = sim.simulate(shop)
    ended = (full.msg_agent >= 0) & (full.reply_s > now) & (full.reply_s < until)
    assert (full.reply_s[ended] - full.work_s[ended] < now).any()  # a reply spans now
    typing = np.minimum(full.work_s[ended], full.reply_s[ended] - now).sum()
    duty = np.clip(np.minimum(full.duty_end_s, until) - np.maximum(full.duty_start_s, now),
                   0, None).sum()
    row = result.results.per_replication.set_index("variant").loc["baseline"]
    assert row["occupancy"] == pytest.approx(typing / duty, rel=1e-9)
    assert (result.results.intervals["occupancy"] <= 1).all()


def test_every_executor_gives_the_same_what_if(shop):
    one = whatif(shop, at="10:00", for_s="30min", replications=2, workers=1)
    two = whatif(shop, at="10:00", for_s="30min", replications=2, workers=2)
    pd.testing.assert_frame_equal(one.results.summary, two.results.summary)
    pd.testing.assert_frame_equal(one.reply_by_interval, two.reply_by_interval)
    pd.testing.assert_frame_equal(one.queue_clear, two.queue_clear)


# --- the measures, on hand-built records ----------------------------------------------------


def tables(conversations: list[dict], messages: list[dict], stop_s: float) -> Tables:
    conv = pd.DataFrame(conversations)
    conv["topic"] = pd.Categorical(conv.get("topic", ["q"] * len(conv)))
    conv["outcome"] = pd.Categorical(conv["outcome"],
                                     categories=["open", "deflected", "served", "abandoned"])
    conv["reported"] = False
    conv["arrival_s"] = conv["queued_s"]
    conv["on_duty_at_arrival"] = True
    msgs = pd.DataFrame(messages)
    msgs["by_bot"] = False
    msgs["seq"] = msgs.groupby("conversation").cumcount()
    msgs["agent"] = 0
    msgs["work_s"] = 0.0
    duty = pd.DataFrame({"agent": [], "group": [], "start_s": [], "end_s": [], "standby": []})
    return Tables(conv, msgs, duty, stop_s)


def test_queue_clear_time_by_hand():
    nan = math.nan
    # Three buyers wait from 0; taken at 100, 200 and 900; one more waits 400-450.
    conv = [{"conversation": i, "queued_s": q, "assigned_s": a, "end_s": nan, "outcome": "open"}
            for i, (q, a) in enumerate([(0, 100), (0, 200), (0, 900), (400, 450)])]
    t = tables(conv, [{"conversation": 0, "sent_s": 0.0, "reply_s": nan}], stop_s=2000)
    # Under 2 from 200 on, except 400-450 (2 again): stays under for 300 s from 450.
    assert queue_clear_time(t, 0.0, 2000.0, below=2, hold_s=300) == (450.0, 3)
    # Under 3 from 100 on (the fourth makes 2 at most).
    assert queue_clear_time(t, 0.0, 2000.0, below=3, hold_s=300) == (100.0, 3)
    # Never under 1 for 300 s before 1200: from 900, to the end.
    assert queue_clear_time(t, 0.0, 2000.0, below=1, hold_s=300) == (900.0, 3)
    assert math.isnan(queue_clear_time(t, 0.0, 1000.0, below=1, hold_s=300)[0])


def test_reply_rates_by_hand(shop):
    nan = math.nan
    t0 = 10 * HOUR
    conv = [{"conversation": i, "queued_s": t0 - 60, "assigned_s": nan, "end_s": nan,
             "outcome": "served"} for i in range(3)]
    msgs = [
        {"conversation": 0, "sent_s": t0 - 60, "reply_s": t0 + 100},   # waited 160 s: ok
        {"conversation": 1, "sent_s": t0 - 60, "reply_s": t0 + 400},   # waited 460 s: late
        {"conversation": 2, "sent_s": t0 + 320, "reply_s": t0 + 330},  # second interval, ok
        {"conversation": 0, "sent_s": t0 + 350, "reply_s": t0 + 700},  # 350 s: late
    ]
    rates = reply_rates(tables(conv, msgs, t0 + 900), shop, t0, t0 + 900)
    assert rates.tolist()[:2] == [0.5, 0.5]
    assert math.isnan(rates[2])


# --- the command line ----------------------------------------------------------------------


def test_snapshot_then_whatif_from_the_file(shop_path, tmp_path, capsys):
    state = tmp_path / "state.yaml"
    assert cli_main(["snapshot", str(shop_path), "--at", "10:00", "-o", str(state)]) == 0
    printed = capsys.readouterr().out
    assert "group sales" in printed and f"wrote {state}" in printed
    assert load(state).time == 10 * HOUR
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    common = ["--for", "30min", "--replications", "2", "--workers", "1", "--quiet"]
    assert cli_main(["whatif", str(shop_path), "--state", str(state), *common,
                     "--out", str(out_a)]) == 0
    printed = capsys.readouterr()
    text = printed.out
    assert "reaches past the end of the drain" not in printed.err
    for part in ("what-if: whatif_desk", "the desk now", "queue < 10 after",
                 "extra cost [95% CI]", "reply_rate_5min_allday", "paired differences",
                 "10:25"):
        assert part in text, part
    assert cli_main(["whatif", str(shop_path), "--at", "10:00", *common, "--no-report",
                     "--out", str(out_b)]) == 0
    # The same desk from the file or from the day: the same numbers, to the byte.
    for name in ("summary.csv", "reply_by_interval.csv", "queue_clear.csv", "costs.csv"):
        assert (out_a / name).read_bytes() == (out_b / name).read_bytes(), name
    assert (out_a / "whatif_report.html").exists()
    assert not (out_b / "whatif_report.html").exists()


@pytest.mark.parametrize(("args", "problem"), [
    (["--action", "x=1"], "give a name first"),
    (["--action", "faster"], "at least one PATH=VALUE"),
    (["--action", "faster", "routing.mode"], "is not PATH=VALUE"),
    (["--action", "odd", "routing.mode=sideways"], "routing.mode"),
    (["--variant", "nope"], "unknown variant(s) nope"),
    (["--for", "soon"], "--for: "),
    (["--for", "0s"], "longer than zero"),
])
def test_bad_options_exit_2(shop_path, tmp_path, capsys, args, problem):
    code = cli_main(["whatif", str(shop_path), "--at", "10:00", "--quiet", "--no-report",
                     "--replications", "2", "--out", str(tmp_path / "out"), *args])
    assert code == 2
    assert problem in capsys.readouterr().err


def test_a_window_past_the_drain_is_cut_there_and_said(shop_path, tmp_path, capsys):
    assert cli_main(["whatif", str(shop_path), "--at", "10:00", "--for", "100h", "--quiet",
                     "--no-report", "--replications", "2", "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr()
    assert "note: --for 100h reaches past the end of the drain; the window ends there" \
        in printed.err


def test_a_reused_whatif_folder_keeps_no_report_of_an_earlier_run(shop_path, tmp_path, capsys):
    out = tmp_path / "o"
    common = ["whatif", str(shop_path), "--at", "10:00", "--for", "30min", "--quiet",
              "--replications", "2", "--out", str(out)]
    assert cli_main(common) == 0
    assert (out / "whatif_report.html").is_file()
    capsys.readouterr()
    assert cli_main([*common, "--no-report"]) == 0
    assert not (out / "whatif_report.html").exists()
    assert "removed whatif_report.html: left there by an earlier run" in capsys.readouterr().out


def test_a_state_and_a_time_are_exclusive(shop_path, tmp_path):
    with pytest.raises(SystemExit) as caught:
        cli_main(["whatif", str(shop_path), "--at", "10:00", "--state", str(tmp_path / "s")])
    assert caught.value.code == 2


def test_the_double11_whatif_from_python():
    scenario = sim.load_scenario(REPO / "scenarios" / "double11.yaml")
    result = sim.whatif(scenario, at="2026-11-11 00:10", for_s="20min", replications=2,
                        variants=["pooled"])
    assert result.window == "2026-11-11 00:10 to 2026-11-11 00:30 (20min)"
    assert result.queue_clear.set_index("variant").loc["baseline", "queue_now"] > 10
