"""The metrics computed on numpy columns equal, to the last bit, the DataFrame implementation
they replaced (kept in tests/metrics_oracle.py): every scalar metric, the interval series, the
wait distributions and the public table-valued functions, on one replication of every
bundled scenario and variant, on chat logs (buyers with several conversations, buyer-days)
and on tables whose rows and reply order the engine never writes.

One stated difference: sums per agent group (duty hours, typing time) are correctly rounded
(`math.fsum`) where the DataFrame version used pandas' compensated group sums, so
`occupancy_<group>` and `cost` may differ in the last bits: they are allowed 4 units in the
last place.
"""

from __future__ import annotations

import math
from pathlib import Path

import metrics_oracle as oracle
import numpy as np
import pandas as pd
import pytest
from test_chatlog_measure import DUTY, ROWS, stamp

import sim
from sim.analysis import metrics
from sim.chatlog import read_log
from sim.chatlog.measure import day_tables, measuring_scenario
from sim.engine import simulate
from sim.experiment import WAIT_GRID_S, wait_distributions
from sim.scenario import interval_grid

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def same_number(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, int) or isinstance(b, int):
        return type(a) is type(b) and a == b
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


def same_array(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        nan = np.isnan(a)
        return bool(np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan], b[~nan])
                    and np.array_equal(np.signbit(a[~nan]), np.signbit(b[~nan])))
    return bool(np.array_equal(a, b))


def assert_same_frame(new: pd.DataFrame, old: pd.DataFrame, what: str) -> None:
    assert list(new.columns) == list(old.columns), what
    assert len(new) == len(old), what
    for column in old.columns:
        assert same_array(new[column].to_numpy(), old[column].to_numpy()), f"{what}: {column}"


def assert_same_values(new: dict, old: dict, what: str) -> None:
    assert list(new) == list(old), what
    for key, value in old.items():
        if (key.startswith("occupancy_") or key == "cost") and math.isfinite(value) \
                and value != 0:
            assert abs(new[key] - value) <= 4 * math.ulp(value), f"{what}: {key}"
        else:
            assert same_number(new[key], value), f"{what}: {key} {new[key]!r} != {value!r}"


def assert_same_metrics(tables: metrics.Tables, frames: oracle.Tables, scenario, what: str,
                        activations: dict[str, int] | None = None) -> None:
    """Every metric of `tables` (new code) against the oracle on `frames`."""
    assert_same_values(metrics.summarize(tables, scenario, activations),
                       oracle.summarize(frames, scenario, activations), what)
    assert_same_frame(metrics.interval_series(tables, scenario),
                      oracle.interval_series(frames, scenario), f"{what} intervals")
    new_shares = wait_distributions(tables, scenario)
    old_shares = oracle.wait_distributions(frames, scenario, WAIT_GRID_S)
    for name in old_shares:
        assert same_array(new_shares[name], old_shares[name]), f"{what} shares {name}"
    edges = interval_grid(scenario)
    topics = list(scenario.topics)[:1]
    for bot_counts in (False, True):
        label = f"{what} bot_counts={bot_counts}"
        assert_same_frame(metrics.counted_messages(tables, bot_counts),
                          oracle.counted_messages(frames, bot_counts), f"{label} counted")
        assert_same_frame(metrics.first_responses(tables, bot_counts),
                          oracle.first_responses(frames, bot_counts), f"{label} first")
        assert_same_frame(metrics.turns(tables, bot_counts),
                          oracle.turns(frames, bot_counts), f"{label} turns")
        for chosen in (None, topics):
            new = metrics.interval_reply_counts(tables, edges, 300.0, bot_counts, chosen)
            old = oracle.interval_reply_counts(frames, edges, 300.0, bot_counts, chosen)
            assert all(map(same_array, new, old)), f"{label} interval counts {chosen}"
    assert_same_frame(metrics.sessions(tables, 600.0), oracle.sessions(frames, 600.0),
                      f"{what} sessions")
    assert same_array(metrics.last_message_unanswered(tables),
                      oracle.last_message_unanswered(frames)), what


def frames_of(tables: metrics.Tables) -> oracle.Tables:
    return oracle.Tables(tables.conversations, tables.messages, tables.duty, tables.stop_s,
                         tables.start_s, tables.end_s)


def variants() -> list:
    params = []
    for path in SCENARIOS:
        base = sim.load_scenario(path)
        for name, scenario in sim.resolve_variants(base, str(path), path.parent).items():
            params.append(pytest.param(scenario, id=f"{path.stem}:{name}"))
    return params


@pytest.mark.parametrize("scenario", variants())
def test_every_bundled_scenario_and_variant(scenario):
    records = simulate(scenario, 0, scenario.seed)
    activations = dict(zip(records.group_names, map(int, records.activations)))
    tables = metrics.Tables.from_records(records)
    # Read on the engine's columns, and on the DataFrames the records make.
    assert_same_metrics(tables, oracle.Tables.from_records(records), scenario, "records",
                        activations)
    frames = frames_of(tables)
    rebuilt = metrics.Tables(frames.conversations, frames.messages, frames.duty,
                             frames.stop_s, frames.start_s, frames.end_s)
    assert_same_metrics(rebuilt, frames, scenario, "frames", activations)


def perturbed(tables: metrics.Tables, seed: int, rounding_s: float | None) -> metrics.Tables:
    """The tables with times the engine never writes: rounded to `rounding_s` (ties between
    sends and replies everywhere, instant replies), or, without it, replies out of order
    within conversations and message rows shuffled."""
    rng = np.random.default_rng(seed)
    conv = tables.conversations.copy()
    msgs = tables.messages.copy()
    if rounding_s is not None:
        for frame, names in ((conv, ("arrival_s", "queued_s", "assigned_s", "end_s")),
                             (msgs, ("sent_s", "reply_s"))):
            for name in names:
                frame[name] = np.floor(frame[name].to_numpy() / rounding_s) * rounding_s
        return metrics.Tables(conv, msgs, tables.duty, tables.stop_s, tables.start_s,
                              tables.end_s)
    sent, reply = msgs["sent_s"].to_numpy(), msgs["reply_s"].to_numpy()
    factor = rng.choice([0.0, 0.5, 1.0, 3.0], size=len(sent))
    msgs["reply_s"] = sent + (reply - sent) * factor
    msgs = msgs.iloc[rng.permutation(len(msgs))].reset_index(drop=True)
    return metrics.Tables(conv, msgs, tables.duty, tables.stop_s, tables.start_s, tables.end_s)


@pytest.mark.parametrize("rounding_s", [60.0, None], ids=["ties", "out-of-order"])
def test_tables_the_engine_never_writes(rounding_s):
    path = ROOT / "scenarios" / "bot_heavy.yaml"
    scenario = sim.load_scenario(path)
    tables = perturbed(metrics.Tables.from_records(simulate(scenario, 1, scenario.seed)), 7,
                       rounding_s)
    assert_same_metrics(tables, frames_of(tables), scenario, f"perturbed {rounding_s}")


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("logs")
    hand = folder / "hand.csv"
    lines = ["conversation_id,buyer_id,sender,agent_id,group,sent_at,event"]
    lines += [f"{c},{b},{s},{a},{'team' if a else ''},{stamp(t)},{e}"
              for c, b, s, a, t, e in ROWS]
    hand.write_text("\n".join(lines) + "\n", encoding="utf-8")
    duty = folder / "hand.duty.csv"
    duty.write_text("agent_id,group,start,end\n" + "".join(
        f"{a},{g},{stamp(s)},{stamp(e)}\n" for a, g, s, e in DUTY), encoding="utf-8")
    sample = ROOT / "data" / "sample_log.csv"
    return {"hand": read_log(hand, duty=duty),
            "sample": read_log(sample, duty=sample.with_suffix(".duty.csv"))}


@pytest.mark.parametrize("name", ["hand", "sample"])
def test_chat_logs(logs, name):
    log = logs[name]
    assert "buyer" in log.tables.conversations
    scenario = measuring_scenario(log)
    assert_same_metrics(log.tables, frames_of(log.tables), scenario, name)
    day = day_tables(log.tables, 0)
    assert_same_metrics(day, frames_of(day), scenario, f"{name} day 0")
    # Buyers that each write several conversations: every two consecutive ones share one.
    conv = log.tables.conversations.copy()
    conv["buyer"] = conv["conversation"].to_numpy() // 2
    pairs = metrics.Tables(conv, log.tables.messages, log.tables.duty, log.tables.stop_s,
                           log.tables.start_s, log.tables.end_s)
    assert_same_metrics(pairs, frames_of(pairs), scenario, f"{name} paired buyers")
