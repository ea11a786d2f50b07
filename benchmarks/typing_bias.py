"""How well `supportsim fit` separates typing time from waiting, on logs with a known truth.

    .venv/bin/python benchmarks/typing_bias.py               # five desks x 3 replications
    .venv/bin/python benchmarks/typing_bias.py --replications 1

A log shows response times (waiting + typing). The fit estimates typing time from replies the
agent started at once: replies to a later message of a conversation, by the agent holding it,
with no row of that agent between the buyer's message and the reply (so it had nothing older
waiting and was not typing). For desks of different load and concurrency this script simulates
days, exports them as logs (whole seconds, as platforms write them), fits them, and compares
per group and topic the fitted mean typing time with the truth: the scenario's mean and the
mean over every reply of the simulated day (the records know each reply's typing time). Beside
it, the naive estimate, the mean response time to the same kind of message, shows what the
separation removes, and the group's occupancy (typing time over time on duty) how busy the
desk was. Bias is in percent of the truth; the z column is the bias over the fit's stated
standard error (pooled over replications: mean bias / (SE / sqrt(replications))); "replies
used" is the share of replies to later messages that the agent had started at once.
It prints a Markdown table (docs/chat-log.md quotes one run).
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.analysis import metrics
from sim.analysis.metrics import Tables
from sim.chatlog import read_log
from sim.engine import simulate
from sim.scenario import load_document, scenario_from_dict
from sim.tools.export_log import export_logs
from sim.tools.fit import _human_messages, fit_log


def normal_day(scale: float = 1.0, name: str = "normal_day") -> dict:
    document, _ = load_document(ROOT / "scenarios" / "normal_day.yaml")
    document = copy.deepcopy(document)
    document.pop("variants", None)
    document["name"] = name
    document["horizon"] = {"start": "2026-03-02 00:00", "end": "2026-03-02 24:00",
                           "drain": "1h"}
    document["arrivals"]["daily_volume"] *= scale
    return document


def single_desk(concurrency: int, rate: float, agents: int, name: str, factors=None) -> dict:
    group = {"skills": ["chat"], "concurrency": concurrency,
             "reply_time": {"dist": "lognormal", "mean": "25s", "cv": 0.6},
             "schedule": {"headcount": {"00:00": agents}}}
    if factors:
        group["reply_time_factor_by_open"] = factors
    return {
        "name": name, "seed": 7,
        "horizon": {"start": "2026-03-02 00:00", "end": "2026-03-02 24:00", "drain": "1h"},
        "arrivals": {"interval": "1h", "rates_per_hour": [rate] * 24, "mix": {"chat": 1}},
        "topics": {"chat": {"messages": {"dist": "geometric", "mean": 4},
                            "think_time": {"dist": "exponential", "mean": "60s"},
                            "patience": {"dist": "exponential", "mean": "5min"}}},
        "groups": {"desk": group},
    }


DESKS = {
    "normal_day.yaml (5 chats)": lambda: normal_day(),
    "normal_day.yaml at 1.4x volume": lambda: normal_day(1.4, "busy_day"),
    "one chat at a time": lambda: single_desk(1, 100, 10, "one_chat"),
    "8 chats, heavy load": lambda: single_desk(8, 260, 6, "eight_chats"),
    "replies slow with open chats": lambda: single_desk(
        4, 110, 8, "slowing", [1.0, 1.15, 1.35, 1.6]),
}


def measure(document: dict, replication: int, folder: Path) -> list[dict]:
    scenario = scenario_from_dict(document, source=document["name"])
    exported = export_logs(scenario, folder / f"{scenario.name}-{replication}.csv",
                           variants=["baseline"], replications=[replication])[0]
    log = read_log(exported.log, duty=exported.duty)
    fit = fit_log(log)
    records = Tables.from_records(simulate(scenario, replication))
    occupancy = metrics.occupancy_by_group(records)
    msgs = records.messages
    answered = msgs[np.isfinite(msgs["work_s"].to_numpy()) & ~msgs["by_bot"].to_numpy()]
    group_of = dict(zip(records.duty["agent"], records.duty["group"].astype(str)))
    answered_group = answered["agent"].map(group_of).to_numpy()
    later = _human_messages(log.tables)
    later = later[(later["seq"].to_numpy() >= 1) & np.isfinite(later["reply_s"].to_numpy())
                  & (later["previous_reply_s"].to_numpy() <= later["sent_s"].to_numpy())]
    log_group = np.asarray(log.agent_groups, dtype=object)[later["agent"].to_numpy()]
    rows = []
    for name, group in scenario.groups.items():
        for topic in group.skills:
            single = len(group.skills) == 1 or not fit.document["groups"][name].get(
                "reply_time_by_topic")
            path = (f"groups.{name}.reply_time.mean" if single else
                    f"groups.{name}.reply_time_by_topic.{topic}.mean")
            try:
                fitted = fit.parameter(path)
            except KeyError:
                continue
            mine = (answered_group == name) & (answered["topic"].astype(str).to_numpy() == topic)
            true_work = answered["work_s"].to_numpy()[mine]
            factors = group.reply_time_factor_by_open
            # With factors the fitted mean is the typing time at one open chat.
            truth = group.reply_dist(topic).mean_value() / group.proficiency
            chosen = (log_group == name) & (later["topic"].astype(str).to_numpy() == topic)
            response = (later["reply_s"] - later["sent_s"]).to_numpy()[chosen]
            samples = fit.typing
            used = int(((samples["group"] == name) & (samples["topic"] == topic)).sum())
            rows.append({"group": name, "topic": topic, "truth": truth,
                         "all_replies": float(true_work.mean()) if not factors else math.nan,
                         "fitted": fitted.value, "se": fitted.se, "used": used,
                         "replies": len(response), "naive": float(response.mean()),
                         "occupancy": occupancy[name]})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=3)
    args = parser.parse_args(argv)
    lines = [("| desk | group / topic | truth (s) | mean of all replies (s) | fitted (s) | bias | "
             "z | replies used | occupancy | naive response mean (s) | naive bias |"),
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for desk, make in DESKS.items():
            runs = [measure(make(), r, Path(tmp)) for r in range(args.replications)]
            for i, row in enumerate(runs[0]):
                same = [run[i] for run in runs]
                truth = row["truth"]
                fitted = np.mean([r["fitted"] for r in same])
                se = np.sqrt(np.mean([r["se"] ** 2 for r in same])) / math.sqrt(len(same))
                naive = np.mean([r["naive"] for r in same])
                used = sum(r["used"] for r in same) / max(sum(r["replies"] for r in same), 1)
                every = np.mean([r["all_replies"] for r in same])
                every_text = f"{every:.2f}" if math.isfinite(every) else "(varies)"
                lines.append(
                    f"| {desk} | {row['group']} / {row['topic']} | {truth:.1f} | "
                    f"{every_text} | {fitted:.2f} | {100 * (fitted - truth) / truth:+.1f}% | "
                    f"{(fitted - truth) / se:+.1f} | {100 * used:.0f}% | "
                    f"{np.mean([r['occupancy'] for r in same]):.2f} | {naive:.1f} | "
                    f"{100 * (naive - truth) / truth:+.0f}% |")
                print(lines[-1], file=sys.stderr)
    print(f"{args.replications} replications per desk; whole-second logs\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
