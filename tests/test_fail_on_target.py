"""`run --fail-on-target` and `compare --fail-on-target`: exit 3 unless some variant meets every
target, 0 when one does; without the flag a missed target does not change the exit code."""

from __future__ import annotations

import yaml

from sim.cli import main as main_entry

DESK = {
    "name": "target_desk",
    "horizon": {"start": "09:00", "end": "11:00", "drain": "30min"},
    "seed": 5,
    "arrivals": {"interval": "1h", "rates_per_hour": [120, 120], "mix": {"presale": 1.0}},
    "topics": {"presale": {"messages": {"dist": "geometric", "mean": 2},
                           "think_time": {"dist": "exponential", "mean": "30s"},
                           "patience": {"dist": "exponential", "mean": "5min"}}},
    "groups": {"team": {"skills": ["presale"], "concurrency": 3, "hourly_cost": 30,
                        "reply_time": {"dist": "exponential", "mean": "20s"},
                        "schedule": {"headcount": {"09:00": 1}}}},
    # One agent for 120 buyers an hour is far too few; ten are plenty.
    "variants": {"ten": {"groups.team.schedule.headcount": {"09:00": 10}}},
}


def write(tmp_path, **changes):
    document = {**DESK, **changes}
    path = tmp_path / "desk.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def call(command, path, tmp_path, *extra):
    return main_entry([command, str(path), "--replications", "3", "--out",
                       str(tmp_path / "out"), "--quiet", "--no-report", "--workers", "1",
                       *extra])


def test_exit_3_when_no_variant_meets_the_targets(tmp_path, capsys):
    path = write(tmp_path, variants={})
    assert call("run", path, tmp_path, "--target", "reply_rate_5min>=0.95") == 0
    capsys.readouterr()
    code = call("run", path, tmp_path, "--target", "reply_rate_5min>=0.95", "--fail-on-target")
    assert code == 3
    assert "no variant meets every target (missed by every variant)" in capsys.readouterr().err


def test_exit_0_when_a_variant_meets_them(tmp_path, capsys):
    path = write(tmp_path)
    for command in ("run", "compare"):
        code = call(command, path, tmp_path, "--target", "reply_rate_5min>=0.95",
                    "--fail-on-target")
        assert code == 0, capsys.readouterr()
        assert "Cheapest variant" in capsys.readouterr().out


def test_fail_on_target_without_targets_is_bad_input(tmp_path, capsys):
    code = call("run", write(tmp_path, variants={}), tmp_path, "--fail-on-target")
    assert code == 2
    assert "states no targets" in capsys.readouterr().err
