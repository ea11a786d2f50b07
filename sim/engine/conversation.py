"""A conversation's live state during a run (its records are written to `Records`)."""

from __future__ import annotations


class Conversation:
    """One buyer's conversation while it is open.

    Slots set only when first needed (`timer`, `next_s`) are read only after that. What a
    policy may read: `id` (the row of the run's customers), `topic` (a code into the
    run's topic names), `phone`, `queued_s` (when it first reached people: waits and overflow
    count from there), `waiting_s` (send time of the message awaiting a reply, or of the next
    message while the buyer is still typing it, a time after now; None when neither),
    `answered` and `n` (messages answered and in all), `agent` (the agent holding it, if any)
    and `queued` (waiting in its topic's queue now).
    """

    __slots__ = (
        "agent",
        "answered",
        "base",
        "done",
        "event",
        "id",
        "n",
        "next_s",
        "phone",
        "queued",
        "queued_s",
        "seen_agent",
        "ticket",
        "timer",
        "topic",
        "typing",
        "waiting_s",
    )

    def __init__(self, index: int, topic: int, n: int, base: int, phone: bool):
        self.id = index
        self.topic = topic
        self.n = n
        self.base = base
        self.answered = 0
        self.agent = None
        self.queued = False
        self.queued_s = 0.0
        self.ticket = 0
        self.done = False
        self.typing = False
        self.waiting_s: float | None = None  # send time of the next message to answer
        self.phone = phone
        self.seen_agent = False
        # The conversation's own event: the bot's decision; `next_s` is when it is due (set
        # with it: the callback's clock, cheaper to read than `Environment.now`). Later
        # messages need no event (`waiting_s` holds the next one's send time).
        self.event = None
        # `timer`, set when the buyer starts waiting: the live patience timer's event while
        # the first message waits, None once the buyer is being answered (a timer left on the
        # calendar then does nothing when it fires).

    def __repr__(self) -> str:
        return f"Conversation({self.id}, topic={self.topic}, answered={self.answered}/{self.n})"
