"""The shop bot during a run: whether it answers a new buyer, and what it then decides.

Its settings start as the scenario's and can be changed during the run (`Desk.set_bot`), so
they are plain attributes here rather than read from the frozen scenario.
"""

from __future__ import annotations

import numpy as np

from sim.engine.recorder import items
from sim.scenario.model import bot_active


class BotDesk:
    """The bot's settings and the pre-drawn uniforms that fix its decisions."""

    def __init__(self, scenario, customers, split: int | None = None):
        bot = scenario.bot
        self.enabled = bot.enabled
        self.windows = bot.hours_s
        self.reply_delay = bot.reply_delay
        self.handover_delay = bot.handover_delay
        self.auto_greeting = bot.auto_greeting
        self.topics = customers.topics
        #: Deflection probability per topic code.
        self.deflection = [bot.deflection.get(t, 0.0) for t in customers.topics]
        self.u = items(customers.bot_u)
        if bot.handling_time is not None:
            # Apart for each block of customers (see DeskRun), like the reply lengths.
            u = customers.bot_handling_u
            blocks = [u] if split is None or split >= len(u) else [u[:split], u[split:]]
            self.handling_s = items(np.concatenate(
                [bot.handling_time.from_uniform(block) for block in blocks]))
        else:
            self.handling_s = items(np.zeros(customers.count))

    def answers(self, t: float) -> bool:
        """Whether the bot takes a buyer arriving at `t`."""
        return bot_active(self.enabled, self.windows, t)

    def deflects(self, i: int, topic: int) -> bool:
        """Whether the bot settles conversation `i` itself (else it hands it over)."""
        return self.u[i] < self.deflection[topic]
