"""`supportsim metrics` on a hand-written log equals the rates worked out by hand: each platform
rule, the counted-hour edges, a buyer back 8 minutes after a conversation (one JD session), a
bot-only buyer, a hand-over, an abandoned buyer and offline sessions.

The log below is one day, 2026-11-11, two agents of one group. Every expected value is derived
in the comments from the rows, under the default rules: Pinduoduo 08:00-23:00 with 5 min (and
3 min, 30 s) per buyer-day, bot replies not counting; Taobao 08:00-24:00 with 3 min per turn,
bot replies counting; JD 30 s per session, sessions started 23:00-09:00 and offline ones out.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import supportsim

from sim.chatlog import read_log
from sim.chatlog.measure import log_metrics

DAY = "2026-11-11"
# conversation, buyer, sender, agent, time, event
ROWS = [
    # B1: answered in 20 s, then a message waits 6 min (360 s).
    ("c1", "B1", "buyer", "", "10:00:00", ""),
    ("c1", "B1", "agent", "a1", "10:00:20", ""),
    ("c1", "B1", "buyer", "", "10:02:00", ""),
    ("c1", "B1", "agent", "a1", "10:08:00", ""),
    # B2: 22:50 answered in 10 s (inside the counted hours); 23:01 waits 39 min (outside).
    ("c2", "B2", "buyer", "", "22:50:00", ""),
    ("c2", "B2", "agent", "a1", "22:50:10", ""),
    ("c2", "B2", "buyer", "", "23:01:00", ""),
    ("c2", "B2", "agent", "a1", "23:40:00", ""),
    # B3: writes at 07:59, before the counted hours and before anyone is on duty: 11 min.
    ("c3", "B3", "buyer", "", "07:59:00", ""),
    ("c3", "B3", "agent", "a1", "08:10:00", ""),
    # B4: two conversations; the second starts 8 minutes after the first ended (12:01:10).
    ("c4a", "B4", "buyer", "", "12:00:00", ""),
    ("c4a", "B4", "agent", "a2", "12:00:40", ""),
    ("c4a", "B4", "buyer", "", "12:01:00", ""),
    ("c4a", "B4", "agent", "a2", "12:01:10", ""),
    ("c4b", "B4", "buyer", "", "12:09:10", ""),
    ("c4b", "B4", "agent", "a2", "12:09:15", ""),
    # B5: the bot answers and settles it: a bot-only buyer.
    ("c5", "B5", "buyer", "", "14:00:00", ""),
    ("c5", "B5", "bot", "", "14:00:02", ""),
    ("c5", "B5", "system", "", "14:00:40", "close"),
    # B6: the bot answers, hands over at 15:00:30, an agent answers 30 s later.
    ("c6", "B6", "buyer", "", "15:00:00", ""),
    ("c6", "B6", "bot", "", "15:00:02", ""),
    ("c6", "B6", "system", "", "15:00:30", "handover"),
    ("c6", "B6", "agent", "a2", "15:01:00", ""),
    # B7: nobody answers; the buyer leaves at 16:07.
    ("c7", "B7", "buyer", "", "16:00:00", ""),
    ("c7", "B7", "system", "", "16:07:00", "close"),
    # B8: writes at 20:00 when nobody is on duty; answered at 21:05 (65 min).
    ("c8", "B8", "buyer", "", "20:00:00", ""),
    ("c8", "B8", "agent", "a1", "21:05:00", ""),
]
DUTY = [("a1", "team", "08:00:00", "19:00:00"), ("a1", "team", "21:00:00", "24:00:00"),
        ("a2", "team", "09:00:00", "18:00:00")]


def stamp(clock: str) -> str:
    return "2026-11-12 00:00:00" if clock == "24:00:00" else f"{DAY} {clock}"


@pytest.fixture
def files(tmp_path):
    log = tmp_path / "hand.csv"
    lines = ["conversation_id,buyer_id,sender,agent_id,group,sent_at,event"]
    lines += [f"{c},{b},{s},{a},{'team' if a else ''},{stamp(t)},{e}"
              for c, b, s, a, t, e in ROWS]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    duty = tmp_path / "hand.duty.csv"
    duty.write_text("agent_id,group,start,end\n" + "".join(
        f"{a},{g},{stamp(s)},{stamp(e)}\n" for a, g, s, e in DUTY), encoding="utf-8")
    return log, duty


@pytest.fixture
def measured(files):
    log, duty = files
    return log_metrics(read_log(log, duty=duty))


def test_pinduoduo_rates_per_buyer_day(measured):
    value = measured.value
    # In the counted hours: B1 (360 s > 5 min), B2 (22:50 in 10 s; 23:01 not judged), B4,
    # B6 (30 s), B7 (left), B8 (65 min); B3 wrote only at 07:59 and is out, B5 is bot-only.
    # Replied: B2, B4, B6 -> 3 of 6.
    assert value("reply_rate_5min") == pytest.approx(3 / 6)
    # Whole day: B3 (11 min) joins, B2's 23:01 message counts: replied B4, B6 -> 2 of 7.
    assert value("reply_rate_5min_allday") == pytest.approx(2 / 7)
    # 3 minutes: the same verdicts (no wait falls between 3 and 5 minutes).
    assert value("human_reply_rate_3min") == pytest.approx(3 / 6)
    assert value("human_reply_rate_3min_allday") == pytest.approx(2 / 7)
    # 30 s, the buyer-day's first message: B1 20 s, B2 10 s, B6 30 s (within) against B4
    # 40 s (its first conversation), B7 and B8 -> 3 of 6; all day B3 (660 s) adds one -> 3/7.
    assert value("answer_rate_30s") == pytest.approx(3 / 6)
    assert value("answer_rate_30s_allday") == pytest.approx(3 / 7)


def test_taobao_turns(measured):
    # Turns started 08:00-24:00: B1 2 (20 s ok, 360 s late), B2 2 (ok, 39 min late), B4 3 (all
    # ok), B5 1 (the bot's 2 s counts), B6 2 (bot 2 s, then the hand-over answered in 30 s),
    # B7 1 (never answered), B8 1 (65 min): 8 of 12 in time.
    assert measured.value("taobao_response_rate_3min") == pytest.approx(8 / 12)


def test_jd_sessions_join_a_buyer_back_within_ten_minutes(measured):
    # Sessions: B1 (20 s), B2 (10 s), B4 (one session: judged on c4a's 40 s), B6 (30 s), B7
    # (never); B3 started 07:59 (excluded hours), B8 is offline, B5 has no human answer.
    # 3 of 5 within 30 s. Had c4b been a session of its own (5 s), it would be 4 of 6.
    assert measured.value("jd_answer_rate_30s") == pytest.approx(3 / 5)
    # Offline: B3 (07:59) and B8 (20:00) wrote with nobody on duty.
    assert measured.value("jd_offline_sessions") == 2


def test_waits_counts_and_abandonment(measured):
    value = measured.value
    assert value("arrived") == 9
    assert value("deflected") == 1 and value("deflection_rate") == pytest.approx(1 / 9)
    assert value("abandoned") == 1 and value("served") == 7
    # Eight conversations reached people; c7 left unanswered.
    assert value("abandon_rate") == pytest.approx(1 / 8)
    assert value("unanswered_rate") == pytest.approx(1 / 8)
    # First responses per conversation: c1 20, c2 10, c3 660, c4a 40, c4b 5, c6 30 within or
    # not of 30 s, c7 never, c8 3900: 4 of 8 within; the mean over the 7 answered.
    assert value("first_response_30s_rate") == pytest.approx(4 / 8)
    assert value("first_response_mean_s") == pytest.approx(
        (20 + 10 + 660 + 40 + 5 + 30 + 3900) / 7)
    # Every answered message to people: 20, 360, 10, 2340, 660, 40, 10, 5, 30, 3900.
    assert value("message_wait_mean_s") == pytest.approx(7375 / 10)
    # Duty: a1 11 h + 3 h, a2 9 h.
    assert value("agent_hours") == pytest.approx(23.0)
    # Nothing a log cannot show is reported.
    assert "occupancy" not in measured.values.index
    assert "cost" not in measured.values.index


def test_the_interval_series_counts_arrivals_where_they_arrived(measured):
    series = measured.intervals.set_index("interval_start_s")
    assert series["arrivals"].sum() == 9
    assert series.loc[12 * 3600.0, "arrivals"] == 2          # c4a and c4b, 12:00-12:30
    assert series.loc[7.5 * 3600.0, "arrivals"] == 1         # c3 at 07:59
    assert series["occupancy"].isna().all()
    # Each row starts with its local start time, as every intervals.csv does.
    assert list(measured.intervals.columns[:2]) == ["interval_start", "interval_start_s"]
    assert series.loc[12 * 3600.0, "interval_start"] == pd.Timestamp(
        measured.scenario.horizon.day0) + pd.Timedelta(hours=12)


def test_the_command_prints_and_writes_the_same_rates(files, tmp_path):
    log, duty = files
    out = tmp_path / "out"
    result = supportsim("metrics", log, "--duty", duty, "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "50.00%" in result.stdout                     # reply_rate_5min
    table = (out / "metrics.csv").read_text(encoding="utf-8")
    assert "all,jd_answer_rate_30s,0.6\n" in table
    header = (out / "intervals.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("interval_start,interval_start_s,interval_end_s,arrivals,")


def test_without_a_duty_file_duty_is_inferred_and_said(files):
    log, _ = files
    inferred = read_log(log)
    assert inferred.duty_inferred
    assert any("inferred from activity" in note for note in inferred.notes)
    # a1 replies at 08:10, 10:00:20-10:08, 22:50:10, 21:05, 23:40: runs split on gaps over 30
    # minutes; a2 at 12:00:40-12:09:15 and 15:01.
    duty = inferred.duty.sort_values(["agent", "start_s"])
    assert len(duty) == 7


def test_a_log_of_two_days_is_measured_per_day(tmp_path):
    log = tmp_path / "two.csv"
    # Day 1: one buyer answered in 10 s, one in 6 min. Day 2: one buyer answered in 20 s.
    log.write_text(
        "conversation_id,buyer_id,sender,agent_id,sent_at\n"
        "a,B1,buyer,,2026-11-11 10:00:00\n" "a,B1,agent,x,2026-11-11 10:00:10\n"
        "b,B2,buyer,,2026-11-11 11:00:00\n" "b,B2,agent,x,2026-11-11 11:06:00\n"
        "c,B1,buyer,,2026-11-12 10:00:00\n" "c,B1,agent,x,2026-11-12 10:00:20\n",
        encoding="utf-8")
    measured = log_metrics(read_log(log))
    assert list(measured.values.columns) == ["all", "2026-11-11", "2026-11-12"]
    assert measured.value("reply_rate_5min", "2026-11-11") == pytest.approx(1 / 2)
    assert measured.value("reply_rate_5min", "2026-11-12") == pytest.approx(1.0)
    # Over the whole log three buyer-days: B1 twice (two days), B2 once.
    assert measured.value("reply_rate_5min") == pytest.approx(2 / 3)
    assert measured.value("arrived", "2026-11-12") == 1
    long = measured.long()
    assert list(long.columns) == ["period", "metric", "value"]
