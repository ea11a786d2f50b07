"""Reading chat logs: bad logs are refused with one line naming the file, the line and the
column (exit 2, no traceback); rows out of order are sorted with a note; real exports with
Chinese column names, their own sender values and GB18030 bytes read through a format file; a
Parquet log reads like its CSV."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import supportsim

from sim import cli
from sim.chatlog import ChatLogError, read_log
from sim.chatlog.measure import log_metrics

HEADER = "conversation_id,buyer_id,sender,agent_id,group,topic,sent_at"
GOOD = [
    "c1,b1,buyer,,,presale,2026-11-11 10:00:00",
    "c1,b1,agent,a1,team,,2026-11-11 10:00:20",
    "c1,b1,buyer,,,,2026-11-11 10:01:00",
    "c1,b1,agent,a1,team,,2026-11-11 10:01:40",
    "c2,b2,buyer,,,order,2026-11-11 10:05:00",
    "c2,b2,bot,,,,2026-11-11 10:05:02",
    "c2,b2,agent,a2,team,,2026-11-11 10:06:00",
]


def write(tmp_path, lines, name="log.csv", header=HEADER, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(("\n".join([header, *lines]) + "\n").encode(encoding))
    return path


def replaced(index: int, line: str) -> list[str]:
    lines = list(GOOD)
    lines[index] = line
    return lines


BAD = {
    "missing column": (lambda p: write(p, [g.rsplit(",", 1)[0] for g in GOOD],
                                       header=HEADER.rsplit(",", 1)[0]),
                       ["line 1", "missing column(s) sent_at"]),
    "unparseable time": (lambda p: write(p, replaced(2, "c1,b1,buyer,,,,2026-11-11 25:61:00")),
                         ["line 4", "column sent_at", "not a valid date and time"]),
    "time in another shape": (lambda p: write(p, replaced(2, "c1,b1,buyer,,,,11/11/2026 10:01")),
                              ["line 4", "column sent_at", "expected YYYY-MM-DD HH:MM:SS"]),
    "reply before any buyer message": (
        lambda p: write(p, [*GOOD, "c3,b3,agent,a1,team,,2026-11-11 10:09:00",
                            "c3,b3,buyer,,,,2026-11-11 10:10:00"]),
        ["line 9", "column sender", "before any buyer message"]),
    "a reply with no buyer at all": (
        lambda p: write(p, [*GOOD, "c3,b3,bot,,,,2026-11-11 10:09:00"]),
        ["line 9", "column sender", "no buyer message"]),
    "agent row without agent id": (lambda p: write(p, replaced(3, "c1,b1,agent,,team,,"
                                                                 "2026-11-11 10:01:40")),
                                   ["line 5", "column agent_id", "without an agent id"]),
    "duplicated row": (lambda p: write(p, [*GOOD[:3], GOOD[2], *GOOD[3:]]),
                       ["line 5", "duplicates line 4"]),
    "mixed time zones": (lambda p: write(p, replaced(1, "c1,b1,agent,a1,team,,"
                                                       "2026-11-11 10:00:20+08:00")),
                         ["line 3", "column sent_at", "mixed time zones"]),
    "two utc offsets": (lambda p: write(p, [g + "+08:00" for g in GOOD[:4]]
                                        + [g + "+00:00" for g in GOOD[4:]]),
                        ["line 6", "column sent_at", "mixed time zones", "+0000", "+0800"]),
    "bytes not in the encoding": (
        lambda p: write(p, replaced(4, "c2,b2,buyer,,,售后,2026-11-11 10:05:00"),
                        encoding="gbk"),
        ["line 6", "column topic", "not valid utf-8", "--encoding"]),
    "empty file": (lambda p: (p / "log.csv").write_bytes(b"") or p / "log.csv",
                   ["the file is empty"]),
    "header only": (lambda p: write(p, []), ["no rows after the header"]),
    "unknown sender": (lambda p: write(p, replaced(1, "c1,b1,客服,a1,team,,2026-11-11 10:00:20")),
                       ["line 3", "column sender", "unknown value '客服'"]),
    "a row with a field too many": (lambda p: write(p, replaced(1, GOOD[1] + ",extra")),
                                    ["line 3", "expected 7 columns"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_log_is_refused_naming_the_file_line_and_column(case, tmp_path, capsys):
    make, fragments = BAD[case]
    path = make(tmp_path)
    with pytest.raises(ChatLogError) as caught:
        read_log(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    for fragment in fragments:
        assert fragment in message
    # The command line says the same in one line and exits 2.
    assert cli.main(["metrics", str(path), "--quiet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {message}"


def test_no_traceback_reaches_the_user(tmp_path):
    path = BAD["duplicated row"][0](tmp_path)
    result = supportsim("metrics", path, "--quiet")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith(f"error: {path}: line 5")


def test_rows_out_of_time_order_are_sorted_with_a_note(tmp_path, capsys):
    shuffled = [GOOD[1], GOOD[0], *GOOD[2:]]
    log = read_log(write(tmp_path, shuffled))
    assert any("1 rows were out of time order" in note and "line 3" in note
               for note in log.notes)
    ordered = read_log(write(tmp_path, GOOD, name="ordered.csv"))
    pd.testing.assert_frame_equal(log.messages, ordered.messages)
    assert cli.main(["metrics", str(tmp_path / "log.csv"), "--quiet",
                     "--out", str(tmp_path / "o")]) == 0
    assert "out of time order" in capsys.readouterr().err


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join([HEADER, *GOOD]) + "\n").encode())
    assert len(read_log(path).conversations) == 2


CHINESE_HEADER = "会话ID,买家,发送方,客服,分组,咨询类型,发送时间"
CHINESE = [
    "c1,b1,买家,,,售前,2026/11/11 10:00:00",
    "c1,b1,客服,a1,售前组,,2026/11/11 10:00:20",
    "c1,b1,买家,,,,2026/11/11 10:01:00",
    "c1,b1,客服,a1,售前组,,2026/11/11 10:01:40",
    "c2,b2,买家,,,售中,2026/11/11 10:05:00",
    "c2,b2,机器人,,,,2026/11/11 10:05:02",
    "c2,b2,客服,a2,售前组,,2026/11/11 10:06:00",
]
FORMAT = """\
columns:
  conversation_id: 会话ID
  buyer_id: 买家
  sender: 发送方
  agent_id: 客服
  group: 分组
  topic: 咨询类型
  sent_at: 发送时间
values:
  sender: {买家: buyer, 客服: agent, 机器人: bot}
  topic: {售前: presale, 售中: order}
  group: {售前组: team}
time_format: "%Y/%m/%d %H:%M:%S"
encoding: gb18030
"""


def test_a_chinese_export_reads_through_a_format_file(tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text(FORMAT, encoding="utf-8")
    path = write(tmp_path, CHINESE, name="export.csv", header=CHINESE_HEADER,
                 encoding="gb18030")
    plain = read_log(write(tmp_path, GOOD))
    chinese = read_log(path, mapping)
    pd.testing.assert_frame_equal(chinese.messages, plain.messages)
    pd.testing.assert_frame_equal(chinese.conversations, plain.conversations)
    assert chinese.topics == ["presale", "order"]
    # Without the encoding the bytes are refused, naming where.
    with pytest.raises(ChatLogError, match=r"export.csv: line 1: bytes .* not valid utf-8"):
        read_log(path, mapping, encoding="utf-8")
    # With the format file's names missing, the message names the export's own column.
    broken = write(tmp_path, [c.rsplit(",", 1)[0] for c in CHINESE], name="broken.csv",
                   header=CHINESE_HEADER.rsplit(",", 1)[0], encoding="gb18030")
    with pytest.raises(ChatLogError, match="missing column\\(s\\) sent_at \\(as '发送时间'\\)"):
        read_log(broken, mapping)


def test_the_format_file_renames_the_duty_files_columns_and_groups_too(tmp_path):
    # A Chinese export comes with a Chinese duty file: its columns are mapped by duty_columns
    # and its group labels by the same `values: group:` as the log's, so both name one group.
    mapping = tmp_path / "map.yaml"
    mapping.write_text(FORMAT + "duty_columns: {agent_id: 客服, group: 分组, start: 上线时间, "
                       "end: 下线时间}\n", encoding="utf-8")
    log = write(tmp_path, CHINESE, name="export.csv", header=CHINESE_HEADER, encoding="gb18030")
    duty = write(tmp_path, ["a1,售前组,2026/11/11 09:00:00,2026/11/11 12:00:00",
                            "a2,售前组,2026/11/11 09:30:00,2026/11/11 12:00:00"],
                 name="duty.csv", header="客服,分组,上线时间,下线时间", encoding="gb18030")
    plain_duty = write(tmp_path, ["a1,team,2026-11-11 09:00:00,2026-11-11 12:00:00",
                                  "a2,team,2026-11-11 09:30:00,2026-11-11 12:00:00"],
                       name="plain_duty.csv", header="agent_id,group,start,end")
    chinese = read_log(log, mapping, duty=duty)
    plain = read_log(write(tmp_path, GOOD), duty=plain_duty)
    assert chinese.agent_groups == plain.agent_groups == ["team", "team"]
    assert not any("another group" in note for note in chinese.notes)
    pd.testing.assert_frame_equal(chinese.tables.duty, plain.tables.duty)


def test_a_bad_format_file_names_its_field(tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns: {sender: a}\nvalues: {sender: {x: customer}}\n")
    with pytest.raises(ChatLogError, match="map.yaml: values.sender.x"):
        read_log(write(tmp_path, GOOD), mapping)
    mapping.write_text("colums: {}\n")
    # The keys of a format file are listed on the chat-log page, not the scenario reference.
    with pytest.raises(ChatLogError, match=r"colums: unknown key \(check the spelling; see "
                                           r"docs/chat-log.md\)"):
        read_log(write(tmp_path, GOOD), mapping)


def test_parquet_reads_like_csv_and_converts_zones(tmp_path):
    frame = pd.read_csv(write(tmp_path, GOOD), dtype=str, keep_default_na=False)
    # Times given in UTC are the local (Asia/Shanghai) times minus 8 hours.
    frame["sent_at"] = (pd.to_datetime(frame["sent_at"]) - pd.Timedelta(hours=8)).dt.tz_localize(
        "UTC")
    path = tmp_path / "log.parquet"
    frame.to_parquet(path, index=False)
    from_parquet = read_log(path)
    from_csv = read_log(tmp_path / "log.csv")
    pd.testing.assert_frame_equal(from_parquet.messages, from_csv.messages)
    assert from_parquet.day0.isoformat() == "2026-11-11"


def test_the_same_rates_in_another_time_zone_setting(tmp_path):
    # Offsets are turned into the stated zone's local time, so counted hours follow it.
    lines = [g + "+08:00" for g in GOOD]
    shanghai = log_metrics(read_log(write(tmp_path, lines)))
    plain = log_metrics(read_log(write(tmp_path, GOOD, name="plain.csv")))
    assert shanghai.values.equals(plain.values)
    utc = read_log(write(tmp_path, lines, name="utc.csv"), timezone="UTC")
    assert utc.conversations["arrival_s"].iloc[0] == 2 * 3600.0   # 10:00+08:00 is 02:00 UTC
