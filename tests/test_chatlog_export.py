"""A simulation exported as a chat log and read back gives the records it came from: the same
platform rates by the same metric code, the same conversations and outcomes. What a log cannot
show (typing time, when an agent took a conversation it never answered) is the only gap."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, supportsim

import sim
from sim.analysis import metrics
from sim.chatlog import read_log
from sim.chatlog.export import accepting_duty, format_times, log_rows
from sim.chatlog.measure import measurable
from sim.tools.export_log import export_logs

NORMAL_DAY = REPO / "scenarios" / "normal_day.yaml"
DAY0 = dt.date(2026, 3, 2)
#: Metrics that need the time an agent took a conversation, which a log does not show, or
#: the minutes agents spent finishing chats after their shifts, which a duty file (when each
#: agent was taking new conversations) leaves out.
NOT_IN_A_LOG = ("conversations_per_agent", "conversations_per_agent_hour", "agent_hours")


@pytest.fixture(scope="module")
def day():
    scenario = sim.load_scenario(NORMAL_DAY)
    records = sim.simulate(scenario, 1)
    return scenario, records, metrics.Tables.from_records(records)


def read_back(tmp_path, scenario, records, fractional: bool):
    exported = export_logs(scenario, tmp_path / "day.csv", variants=["baseline"],
                           replications=[1], fractional=fractional)
    until = pd.Timestamp(DAY0) + pd.Timedelta(seconds=records.stop_s)
    return read_log(exported[0].log, duty=exported[0].duty, until=until)


def with_buyers(tables):
    """The engine's tables with a buyer per conversation, as a log's records carry."""
    conv = tables.conversations.copy()
    conv["buyer"] = conv["conversation"]
    return metrics.Tables(conv, tables.messages, tables.duty, tables.stop_s, tables.start_s,
                          tables.end_s)


def test_reading_an_exported_log_gives_the_simulated_rates(day, tmp_path):
    scenario, records, tables = day
    log = read_back(tmp_path, scenario, records, fractional=True)
    simulated = metrics.summarize(with_buyers(tables), scenario)
    measured = metrics.summarize(log.tables, scenario)
    compared = [m for m in simulated if measurable(m) and m not in NOT_IN_A_LOG]
    assert len(compared) >= 30
    for name in compared:
        # Times are kept to the microsecond, so waits agree to about 1e-6 s.
        assert measured[name] == pytest.approx(simulated[name], rel=1e-7, abs=1e-5,
                                               nan_ok=True), name
    # The things a log shows exactly: who arrived when, how each conversation ended.
    conv_log, conv_sim = log.conversations, tables.conversations
    np.testing.assert_allclose(conv_log["arrival_s"], conv_sim["arrival_s"], atol=1e-6)
    assert (conv_log["outcome"].astype(str) == conv_sim["outcome"].astype(str)).all()
    assert (conv_log["topic"].astype(str) == conv_sim["topic"].astype(str)).all()
    assert (conv_log["reported"] == conv_sim["reported"]).all()
    np.testing.assert_array_equal(conv_log["n_messages"][conv_log["outcome"] == "served"],
                                  conv_sim["n_messages"][conv_sim["outcome"] == "served"])
    assert conv_sim["reported"].any() and (conv_sim["outcome"] == "abandoned").any()
    assert (conv_sim["outcome"] == "deflected").any()


def test_the_duty_file_holds_the_scheduled_hours(day, tmp_path):
    scenario, records, tables = day
    log = read_back(tmp_path, scenario, records, fractional=True)
    # normal_day.yaml: pre-sale shifts 3 x 8 h + 3 x 8 h + 3 x 9.5 h + 3 x 9.5 h + 2 x 8 h =
    # 121 h; after-sale headcount 1 x 8 + 6 + 8 x 3 + 7 x 2 + 8 x 4 + 7 x 2 + 8 x 3 + 2 x 1 =
    # 124 h. The records count the finishing minutes on top.
    measured = metrics.summarize(log.tables, scenario)["agent_hours"]
    assert measured == pytest.approx(245.0)
    assert metrics.summarize(tables, scenario)["agent_hours"] > 245.0


def test_accepting_duty_numbers_agents_as_the_engine(tmp_path):
    # Standby agents too: outsourcing.yaml calls agency agents in on demand.
    base = sim.load_scenario(REPO / "scenarios" / "outsourcing.yaml")
    scenario = sim.resolve_variants(base)["agency"]
    records = sim.simulate(scenario, 0)
    tables = metrics.Tables.from_records(records)
    accepting = accepting_duty(tables, scenario)
    engine = tables.duty
    assert engine["standby"].any()
    for row in engine.itertuples(index=False):
        mine = accepting[accepting["agent"] == row.agent]
        assert (mine["group"] == str(row.group)).all()
        # Each period of the records starts when a planned one does and ends no earlier than
        # the planned end it began with (agents finish their chats).
        starts = mine["start_s"].to_numpy()
        assert np.isclose(starts, row.start_s).any()
        planned_end = mine["end_s"].to_numpy()[np.isclose(starts, row.start_s)][0]
        assert row.end_s >= planned_end - 1e-9


def test_whole_seconds_are_the_true_times_cut(day):
    _, _, tables = day
    rows = log_rows(tables, DAY0)
    agent_rows = rows[rows["sender"] == "agent"]
    replies = tables.messages[np.isfinite(tables.messages["reply_s"])
                              & ~tables.messages["by_bot"]]
    expected = np.sort(format_times(np.floor(replies["reply_s"].to_numpy()), DAY0))
    assert (np.sort(agent_rows["sent_at"].to_numpy().astype(str)) == expected).all()
    assert format_times(np.array([59.999, 86399.5]), DAY0).tolist() == [
        "2026-03-02 00:00:59", "2026-03-02 23:59:59"]
    assert format_times(np.array([1.25]), DAY0, fractional=True).tolist() == [
        "2026-03-02 00:00:01.250000"]


def test_the_rows_of_a_bot_conversation_in_order(day):
    _, _, tables = day
    rows = log_rows(tables, DAY0)
    conv = tables.conversations
    escalated = conv[conv["via_bot"] & conv["queued_s"].notna()
                     & (conv["outcome"] == "served")].iloc[0]
    mine = rows[rows["conversation_id"] == f"c{int(escalated['conversation']):06d}"]
    senders = mine["sender"].tolist()
    # buyer, bot, hand-over, then the agent's answer to the question handed over.
    assert senders[:4] == ["buyer", "bot", "system", "agent"]
    assert mine["event"].tolist()[2] == "handover"
    assert senders.count("agent") == int(escalated["n_messages"])
    assert senders.count("buyer") == int(escalated["n_messages"])


def test_export_log_writes_every_variant_and_replication(tmp_path):
    out = tmp_path / "logs"
    result = supportsim("export-log", REPO / "tests" / "data" / "minimal.yaml", "--out", out,
                        "--quiet")
    assert result.returncode == 0, result.stderr
    scenario = sim.load_scenario(REPO / "tests" / "data" / "minimal.yaml")
    names = sorted(p.name for p in out.iterdir())
    expected = sorted(f"{v}-r{r}{suffix}" for v in scenario.variant_names
                      for r in range(scenario.replications)
                      for suffix in (".csv", ".duty.csv"))
    assert names == expected


def test_one_run_to_parquet_or_gb18030(tmp_path):
    scenario_path = REPO / "tests" / "data" / "minimal.yaml"
    parquet = tmp_path / "one.parquet"
    result = supportsim("export-log", scenario_path, "--out", parquet, "--variant", "baseline",
                        "--replication", "0", "--quiet")
    assert result.returncode == 0, result.stderr
    gbk = tmp_path / "one.csv"
    result = supportsim("export-log", scenario_path, "--out", gbk, "--variant", "baseline",
                        "--replication", "0", "--encoding", "gb18030", "--quiet")
    assert result.returncode == 0, result.stderr
    from_parquet = read_log(parquet, duty=tmp_path / "one.duty.parquet")
    from_csv = read_log(gbk, encoding="gb18030", duty=tmp_path / "one.duty.csv")
    pd.testing.assert_frame_equal(from_parquet.messages, from_csv.messages)
    bad = supportsim("export-log", scenario_path, "--out", tmp_path / "x.csv",
                     "--variant", "nope", "--quiet")
    assert bad.returncode == 2 and "unknown variant" in bad.stderr


def test_the_shipped_sample_log_is_what_export_log_makes(tmp_path):
    # data/README.md says how the sample was made; the same command must make it again.
    result = supportsim("export-log", REPO / "data" / "sample_shop.yaml", "--variant",
                        "baseline", "--replication", "0", "--out", tmp_path / "sample_log.csv",
                        "--quiet")
    assert result.returncode == 0, result.stderr
    for name in ("sample_log.csv", "sample_log.duty.csv"):
        assert (tmp_path / name).read_bytes() == (REPO / "data" / name).read_bytes(), (
            f"data/{name} is out of date: remake it as data/README.md says")
