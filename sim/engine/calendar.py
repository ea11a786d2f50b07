"""Putting events on SimPy's calendar at exact times, through its public API only.

`Environment.schedule(event, priority, delay)` files an event at `now + delay`, and
`Environment.run(until=t)` stops at `now + (t - now)`. When an event is due at a time fixed in
advance (the next buyer's arrival, a shift change, an overflow check due since a buyer first
queued), the difference and the sum can round to a neighbour of that time; these helpers pick
the delay (or the `until` value) for which SimPy's own arithmetic lands on the time exactly, so
the run's clock and its records are the times the customers and schedules were drawn with.
"""

from __future__ import annotations

from math import inf, nextafter

import numpy as np
from simpy.events import NORMAL, URGENT, Timeout

__all__ = ["NORMAL", "URGENT", "Step", "delay_until", "exact_gaps", "until_value"]


def delay_until(now: float, time_s: float) -> float:
    """The delay `d >= 0` with `now + d == time_s` in floating point (`time_s >= now`)."""
    delay = time_s - now
    if now + delay == time_s:
        return delay
    # The sum is monotone in the delay and moves by at most one step of `time_s`'s spacing per
    # step of the delay's (the delay is the smaller), so it lands on `time_s` on the way.
    while now + delay < time_s:
        delay = nextafter(delay, inf)
    while now + delay > time_s:
        delay = nextafter(delay, -inf)
    return delay


def exact_gaps(times_s: np.ndarray) -> np.ndarray:
    """For sorted times, the delays `d[i]` with `times_s[i-1] + d[i] == times_s[i]` exactly
    (`d[0]` is 0): the delay from one buyer's arrival to the next's, computed once."""
    times_s = np.asarray(times_s, dtype=float)
    gaps = np.zeros(len(times_s))
    if len(times_s) > 1:
        gaps[1:] = np.diff(times_s)
        for i in np.flatnonzero(times_s[:-1] + gaps[1:] != times_s[1:]) + 1:
            gaps[i] = delay_until(float(times_s[i - 1]), float(times_s[i]))
    return gaps


def until_value(now: float, time_s: float) -> float:
    """The `until` for `Environment.run` that stops the run at `time_s` exactly."""
    candidate = time_s
    for _ in range(64):
        landed = now + (candidate - now)
        if landed == time_s:
            return candidate
        candidate = nextafter(candidate, inf if landed < time_s else -inf)
    raise RuntimeError(f"cannot stop a run at {time_s!r} exactly from {now!r}")


class Step(Timeout):
    """A `Timeout` that says what it is for in a plain attribute, `target` (the buyer, the
    agent, the group), and can be armed again once processed.

    Reading a plain attribute costs a third of reading `Event.value`, a property, and a run
    reads one for every event. Processed steps of a kind go back to a spare list and are
    armed again for the next use (target, callbacks, then `Environment.schedule`), so a run
    allocates about as many as are ever pending at once.
    """

    target: object = None
