"""Units (sim.units): durations, clock times and their formatting, edge cases included."""

from __future__ import annotations

import datetime as dt

import pytest

from sim.units import DAY_S, ClockTime, format_clock, format_duration, parse_duration

DAY0 = dt.date(2026, 11, 10)

# --- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, seconds", [
    ("30s", 30.0), ("10sec", 10.0), ("5min", 300.0), ("5m", 300.0), ("2h", 7200.0),
    ("2d", 2 * DAY_S), ("250ms", 0.25), ("1.5h", 5400.0), ("0.5min", 30.0),
    ("1h30min", 5400.0), ("1h 30min 15s", 5415.0), ("1d2h", 93600.0),
    ("0", 0.0), ("0s", 0.0), ("90", 90.0), ("  90  ", 90.0), ("2.5", 2.5), ("1e3", 1000.0),
    (12, 12.0), (2.5, 2.5), (0, 0.0), ("-5min", -300.0), ("-90", -90.0),
])
def test_a_duration_is_read_in_seconds(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", [
    "5 minutes", "1h30", "abc", "min", "5x", "h1", "1,5h", "--5s", "5s-", "1 h 30",
])
def test_unreadable_durations_name_the_units(value):
    with pytest.raises(ValueError, match="cannot read duration") as info:
        parse_duration(value)
    assert "s, min, h or d" in str(info.value)


@pytest.mark.parametrize("value", ["", "   ", "-"])
def test_an_empty_duration_says_so(value):
    with pytest.raises(ValueError, match="empty"):
        parse_duration(value)


@pytest.mark.parametrize("value", [True, False, None, [5], {"s": 5}, b"5s"])
def test_a_duration_of_the_wrong_type_is_a_value_error(value):
    # ValueError (not TypeError), so a pydantic field reports it against the field.
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(value)


@pytest.mark.parametrize("value", [
    float("inf"), float("-inf"), float("nan"), "inf", "nan", "-inf", 10**400, "9" * 400 + "h",
])
def test_a_duration_must_be_finite(value):
    with pytest.raises(ValueError, match="finite"):
        parse_duration(value)


def test_a_huge_bad_value_is_cut_in_the_message():
    with pytest.raises(ValueError) as info:
        parse_duration("x" * 500)
    message = str(info.value)
    assert "..." in message and len(message) < 200


# --- clock times --------------------------------------------------------------------------------


@pytest.mark.parametrize("text, date, seconds", [
    ("00:00", None, 0.0), ("08:00", None, 8 * 3600.0), ("8:05", None, 8 * 3600.0 + 300),
    ("23:59:59", None, DAY_S - 1), ("24:00", None, DAY_S), ("24:00:00", None, DAY_S),
    (" 08:00 ", None, 8 * 3600.0),
    ("2026-11-11 00:00", dt.date(2026, 11, 11), 0.0),
    ("2026-11-11T20:30", dt.date(2026, 11, 11), 20.5 * 3600),
    ("2026-11-11 24:00", dt.date(2026, 11, 11), DAY_S),
])
def test_clock_times_are_read(text, date, seconds):
    value = ClockTime.parse(text)
    assert value.date == date
    assert value.seconds_of_day == seconds


@pytest.mark.parametrize("text", [
    "24:00:01", "24:01", "25:00", "08:60", "08:00:60", "-01:00",
])
def test_clock_times_out_of_range_are_refused(text):
    with pytest.raises(ValueError, match="out of range|cannot read clock time"):
        ClockTime.parse(text)


@pytest.mark.parametrize("text", ["8am", "08-00", "8:5", "0800", "2026-11-11", "08:00 PM",
                                  "2026/11/11 08:00", ""])
def test_unreadable_clock_times_say_the_format(text):
    with pytest.raises(ValueError, match="'HH:MM' or 'YYYY-MM-DD HH:MM'"):
        ClockTime.parse(text)


def test_an_impossible_date_is_refused_as_such():
    with pytest.raises(ValueError, match="invalid date"):
        ClockTime.parse("2026-02-30 10:00")


@pytest.mark.parametrize("value", [28800, 8.0, None, dt.date(2026, 11, 11), dt.time(8, 0)])
def test_a_clock_time_of_the_wrong_type_is_a_value_error(value):
    with pytest.raises(ValueError, match="expected a clock time"):
        ClockTime.parse(value)


def test_a_datetime_from_yaml_is_a_dated_clock_time():
    # The YAML safe loader turns an unquoted `2026-11-11 08:30:15` into a datetime.
    value = ClockTime.parse(dt.datetime(2026, 11, 11, 8, 30, 15))
    assert value == ClockTime(dt.date(2026, 11, 11), 8 * 3600 + 30 * 60 + 15)
    same = ClockTime.parse(value)
    assert same is value


def test_seconds_count_from_day0_midnight():
    assert ClockTime.parse("20:00").seconds(DAY0) == 20 * 3600
    assert ClockTime.parse("2026-11-10 20:00").seconds(DAY0) == 20 * 3600
    assert ClockTime.parse("2026-11-11 00:00").seconds(DAY0) == DAY_S
    # 24:00 of day 1 is the midnight that starts day 2.
    assert ClockTime.parse("2026-11-11 24:00").seconds(DAY0) == 2 * DAY_S
    assert ClockTime.parse("2026-11-12 00:00").seconds(DAY0) == 2 * DAY_S
    assert ClockTime.parse("2026-11-09 23:00").seconds(DAY0) == -3600
    # Without a day 0 (an undated horizon) the time of day is all there is.
    assert ClockTime.parse("2026-11-11 06:00").seconds(None) == 6 * 3600


@pytest.mark.parametrize("text, shown", [
    ("08:00", "08:00"), ("8:05", "08:05"), ("00:00", "00:00"), ("24:00", "24:00"),
    ("23:59:30", "23:59:30"), ("08:00:00", "08:00"),
    ("2026-11-11T20:30", "2026-11-11 20:30"), ("2026-11-11 00:00:05", "2026-11-11 00:00:05"),
])
def test_clock_times_print_canonically_and_read_back(text, shown):
    value = ClockTime.parse(text)
    assert str(value) == shown
    assert ClockTime.parse(str(value)) == value


# --- formatting simulation times ----------------------------------------------------------------


@pytest.mark.parametrize("seconds, shown", [
    (0.0, "00:00"), (8 * 3600 + 59, "08:00"), (8 * 3600 + 59.6, "08:01"),
    (DAY_S - 30, "23:59"), (DAY_S, "day1 00:00"), (2 * DAY_S + 3600, "day2 01:00"),
])
def test_format_clock_rounds_to_the_second_and_shows_minutes(seconds, shown):
    assert format_clock(seconds) == shown


def test_format_clock_with_a_date_names_the_day():
    assert format_clock(20 * 3600, DAY0) == "2026-11-10 20:00"
    assert format_clock(DAY_S + 3600, DAY0) == "2026-11-11 01:00"
    assert format_clock(31 * DAY_S, DAY0) == "2026-12-11 00:00"


@pytest.mark.parametrize("seconds", [28800, 30600, 2700, 90, 1, 0, 2 * DAY_S, -5400])
def test_format_duration_reads_back_as_the_same_seconds(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


def test_format_duration_writes_what_scenario_files_write():
    assert [format_duration(s) for s in (28800, 30600, 2700, 90, 0)] == [
        "8h", "8h30min", "45min", "1min30s", "0s"]
