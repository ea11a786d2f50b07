"""What one run observed, as numpy columns: the engine's only output, and all the metrics read."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

OPEN, DEFLECTED, SERVED, ABANDONED = 0, 1, 2, 3
OUTCOMES = ("open", "deflected", "served", "abandoned")


class ConservationError(RuntimeError):
    """Arrived conversations do not add up to deflected + served + abandoned + open."""


@dataclass
class Records:
    """Everything a run observed, as columns. Times are seconds since day-0 midnight."""

    topics: tuple[str, ...]
    group_names: tuple[str, ...]
    start_s: float
    end_s: float
    stop_s: float
    # one row per conversation
    arrival_s: np.ndarray
    topic: np.ndarray
    outcome: np.ndarray
    via_bot: np.ndarray
    bot_reply_s: np.ndarray
    queued_s: np.ndarray
    assigned_s: np.ndarray
    end_at_s: np.ndarray
    agent: np.ndarray
    group: np.ndarray
    on_duty_at_arrival: np.ndarray
    reported: np.ndarray
    n_messages: np.ndarray
    msg_start: np.ndarray
    # one row per planned human-phase message (unsent ones keep NaN times)
    sent_s: np.ndarray
    reply_s: np.ndarray
    msg_agent: np.ndarray
    work_s: np.ndarray
    # one row per duty period
    duty_agent: np.ndarray
    duty_group: np.ndarray
    duty_start_s: np.ndarray
    duty_end_s: np.ndarray
    duty_standby: np.ndarray
    activations: np.ndarray  # per group: standby agents called in

    def subset(self, rows) -> Records:
        """The records of conversations `rows` (in that order) with their messages; duty
        periods and activations are kept whole."""
        rows = np.asarray(rows, dtype=np.int64)
        n_messages = self.n_messages[rows]
        msg_start = np.zeros(len(rows), dtype=np.int64)
        if len(rows):
            np.cumsum(n_messages[:-1], out=msg_start[1:])
        messages = (np.repeat(self.msg_start[rows] - msg_start, n_messages)
                    + np.arange(int(n_messages.sum()), dtype=np.int64))
        per_conversation = {name: getattr(self, name)[rows] for name in (
            "arrival_s", "topic", "outcome", "via_bot", "bot_reply_s", "queued_s",
            "assigned_s", "end_at_s", "agent", "group", "on_duty_at_arrival", "reported")}
        per_message = {name: getattr(self, name)[messages]
                       for name in ("sent_s", "reply_s", "msg_agent", "work_s")}
        return dataclasses.replace(self, **per_conversation, **per_message,
                                   n_messages=n_messages, msg_start=msg_start)

    def counts(self) -> dict[str, int]:
        values = np.bincount(self.outcome, minlength=4)
        return {"arrived": len(self.outcome), **dict(zip(OUTCOMES, map(int, values)))}

    def check_conservation(self) -> None:
        """Fail loudly unless arrived = deflected + served + abandoned + open at end."""
        c = self.counts()
        total = c["deflected"] + c["served"] + c["abandoned"] + c["open"]
        if total != c["arrived"]:
            raise ConservationError(
                f"conservation broken: arrived {c['arrived']} != deflected {c['deflected']} + "
                f"served {c['served']} + abandoned {c['abandoned']} + open {c['open']}"
            )
        answered = np.isfinite(self.reply_s)
        if np.any(answered & ~np.isfinite(self.sent_s)) or np.any(
            self.reply_s[answered] < self.sent_s[answered] - 1e-9
        ):
            raise ConservationError("a reply precedes its message")
        # Each outcome must agree with what happened to the conversation's messages.
        replies = np.add.reduceat(answered, self.msg_start) if len(self.msg_start) else answered
        first_replied = answered[self.msg_start] if len(self.msg_start) else answered
        queued = np.isfinite(self.queued_s)
        ended = np.isfinite(self.end_at_s)
        checks = {
            "a served conversation has an unanswered message": (self.outcome == SERVED)
            & (replies != self.n_messages),
            "a deflected conversation reached people or skipped the bot": (
                self.outcome == DEFLECTED
            )
            & (queued | ~self.via_bot),
            "an abandoned conversation had its first message answered": (self.outcome == ABANDONED)
            & first_replied,
            "an open conversation has an end time": (self.outcome == OPEN) & ended,
            "a closed conversation has no end time": (self.outcome != OPEN) & ~ended,
        }
        for problem, broken in checks.items():
            if np.any(broken):
                raise ConservationError(
                    f"conservation broken: {problem} (conversation {np.flatnonzero(broken)[0]})"
                )

    def conversations(self) -> pd.DataFrame:
        """One row per conversation."""
        return pd.DataFrame(
            {
                "conversation": np.arange(len(self.arrival_s)),
                "topic": pd.Categorical.from_codes(self.topic, self.topics),
                "arrival_s": self.arrival_s,
                "outcome": pd.Categorical.from_codes(self.outcome, OUTCOMES),
                "via_bot": self.via_bot,
                "bot_reply_s": self.bot_reply_s,
                "queued_s": self.queued_s,
                "assigned_s": self.assigned_s,
                "end_s": self.end_at_s,
                "agent": self.agent,
                "group": pd.Categorical.from_codes(self.group, self.group_names),
                "on_duty_at_arrival": self.on_duty_at_arrival,
                "reported": self.reported,
                "n_messages": self.n_messages,
            }
        )

    def message_columns(self) -> dict[str, np.ndarray]:
        """The columns of `messages()` (but the topic) as numpy arrays: one row per sent
        message, bot-phase first messages and human-phase messages, in conversation order, a
        conversation's bot-phase row (`seq` -1) before its own."""
        n = len(self.n_messages)
        conv = np.repeat(np.arange(n), self.n_messages)
        sent = np.flatnonzero(np.isfinite(self.sent_s))
        human_conv = conv[sent]
        del conv  # a message-sized array, not needed past here
        has_bot = self.via_bot | np.isfinite(self.bot_reply_s)
        bot_conv = np.flatnonzero(has_bot)
        # Both kinds of row are already in conversation order: merge them by position rather
        # than concatenate and sort. A bot row goes after the human rows of earlier
        # conversations, a human row after the bot rows of its own and earlier ones: counted
        # per conversation and summed, which is what a search of one in the other would find.
        human_of = np.bincount(human_conv, minlength=n)
        bot_at = np.arange(len(bot_conv)) + (np.cumsum(human_of) - human_of)[bot_conv]
        human_at = np.arange(len(sent)) + np.cumsum(has_bot)[human_conv]
        rows = len(bot_conv) + len(sent)

        def column(dtype, bot_values, human_values) -> np.ndarray:
            out = np.empty(rows, dtype=dtype)
            out[bot_at] = bot_values
            out[human_at] = human_values
            return out

        return {
            "conversation": column(np.int64, bot_conv, human_conv),
            "seq": column(np.int64, -1, sent - self.msg_start[human_conv]),
            "by_bot": column(bool, True, False),
            "sent_s": column(float, self.arrival_s[bot_conv], self.sent_s[sent]),
            "reply_s": column(float, self.bot_reply_s[bot_conv], self.reply_s[sent]),
            "agent": column(np.int64, -1, self.msg_agent[sent]),
            "work_s": column(float, 0.0, self.work_s[sent]),
        }

    def messages(self) -> pd.DataFrame:
        """One row per sent message (`message_columns`), with its conversation's topic."""
        columns = self.message_columns()
        topic = pd.Categorical.from_codes(self.topic[columns["conversation"]], self.topics)
        return pd.DataFrame({**columns, "topic": topic})

    def duty(self) -> pd.DataFrame:
        """One row per period an agent was on duty (including finishing after a shift)."""
        return pd.DataFrame(
            {
                "agent": self.duty_agent,
                "group": pd.Categorical.from_codes(self.duty_group, self.group_names),
                "start_s": self.duty_start_s,
                "end_s": self.duty_end_s,
                "standby": self.duty_standby,
            }
        )
