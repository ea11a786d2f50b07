"""Queueing formulas used to validate the simulator and to estimate staffing.

Every function is unit-agnostic: rates and times only have to share one unit (the project uses
seconds). All formulas stay finite up to thousands of agents because nothing is computed with
factorials or large powers: Erlang B runs through its bounded recursion and the Erlang A chain is
handled in log space.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln, log_ndtr, logsumexp

__all__ = [
    "ErlangA",
    "ErlangC",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "garnett_staffing",
    "halfin_whitt_beta",
    "halfin_whitt_staffing",
    "min_agents_erlang_a",
    "min_agents_erlang_c",
    "offered_load_mol",
    "offered_load_mol_boundaries",
    "staffing_per_interval",
]

ErlangCKind = Literal["service_level", "p_wait", "mean_wait"]
ErlangAKind = Literal["service_level", "p_wait", "p_abandon", "mean_wait"]

# Queue states beyond this make the Erlang A chain unreasonably large; it only happens with
# near-zero abandonment in overload, where the answer is "the queue explodes" anyway.
_MAX_QUEUE_STATES = 5_000_000
# Truncate the Erlang A chain once the neglected tail mass is below this.
_TAIL_MASS = 1e-12
_TOO_MANY_STATES = (
    f"Erlang A chain needs more than {_MAX_QUEUE_STATES} queue states: abandonment is too slow "
    "for this load (use abandon_rate=0 for Erlang C)"
)
# Staffing searches give up beyond this many agents (targets are validated first, so hitting it
# means the target is practically unreachable).
_MAX_AGENTS = 10_000_000


def _check_rate(name: str, value: float, *, positive: bool) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"{name} must be a finite {kind} number, got {value!r}")
    return value


def _check_agents(agents: int) -> int:
    if int(agents) != agents or agents < 0:
        raise ValueError(f"agents must be a non-negative integer, got {agents!r}")
    return int(agents)


def _ceil(x: float) -> int:
    # R + beta*sqrt(R) is often an integer up to rounding; do not add an agent for 1e-15.
    return math.ceil(x - 1e-9 * max(1.0, abs(x)))


# --------------------------------------------------------------------------------------------
# Erlang B and C
# --------------------------------------------------------------------------------------------


def erlang_b(agents: int, offered_load: float) -> float:
    """Blocking probability of M/M/n/n (Erlang loss formula) for `offered_load` erlangs."""
    agents = _check_agents(agents)
    offered_load = _check_rate("offered_load", offered_load, positive=False)
    b = 1.0
    # The recursion stays in [0, 1], unlike a^n / n!, so it is stable for any n.
    for k in range(1, agents + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def _erlang_c_from_b(agents: int, offered_load: float, b: float) -> float:
    return agents * b / (agents - offered_load * (1.0 - b))


@dataclass(frozen=True)
class ErlangC:
    """Steady state of M/M/n (Erlang C): waiting probability and the waiting-time law."""

    agents: int
    arrival_rate: float
    service_rate: float
    p_wait: float  # P(W > 0); 1 when the load is unstable

    @property
    def offered_load(self) -> float:
        """Offered load a = lambda / mu in erlangs."""
        return self.arrival_rate / self.service_rate

    @property
    def stable(self) -> bool:
        """Whether a steady state exists (a < n); otherwise waits grow without bound."""
        return self.arrival_rate == 0 or self.offered_load < self.agents

    @property
    def utilisation(self) -> float:
        """Long-run fraction of agent time spent serving (1 when unstable)."""
        if not self.stable:
            return 1.0
        return self.offered_load / self.agents if self.agents else 0.0

    @property
    def mean_wait(self) -> float:
        """Mean wait in queue of all arrivals (ASA), in the time unit of the rates."""
        if not self.stable:
            return math.inf
        if self.p_wait == 0:
            return 0.0
        return self.p_wait / (self.agents * self.service_rate - self.arrival_rate)

    @property
    def mean_queue_length(self) -> float:
        """Mean number waiting (Little's law on the queue)."""
        if not self.stable:
            return math.inf
        return self.arrival_rate * self.mean_wait

    def service_level(self, t: float) -> float:
        """P(W <= t): fraction of arrivals answered within `t`."""
        if t < 0:
            return 0.0
        if not self.stable:
            return 0.0
        drain_rate = self.agents * self.service_rate - self.arrival_rate
        return 1.0 - self.p_wait * math.exp(-drain_rate * t)


def erlang_c(agents: int, arrival_rate: float, service_rate: float) -> ErlangC:
    """Erlang C (M/M/n) waiting probability, mean wait and service level for `agents` agents."""
    agents = _check_agents(agents)
    arrival_rate = _check_rate("arrival_rate", arrival_rate, positive=False)
    service_rate = _check_rate("service_rate", service_rate, positive=True)
    offered_load = arrival_rate / service_rate
    if arrival_rate == 0:
        p_wait = 0.0
    elif offered_load >= agents:
        p_wait = 1.0
    else:
        p_wait = _erlang_c_from_b(agents, offered_load, erlang_b(agents, offered_load))
    return ErlangC(agents, arrival_rate, service_rate, p_wait)


# --------------------------------------------------------------------------------------------
# Erlang A (M/M/n+M)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErlangA:
    """Steady state of M/M/n+M (Erlang A, exponential patience) from the exact birth-death chain.

    `mean_wait` and the waiting time W of `wait_cdf` run until service or abandonment, whichever
    comes first; `service_level` counts only customers actually served within the threshold.
    With abandon_rate = 0 this is Erlang C (closed forms, unstable when a >= n).
    """

    agents: int
    arrival_rate: float
    service_rate: float
    abandon_rate: float
    p_wait: float  # P(W > 0): an arrival finds all agents busy
    p_abandon: float
    mean_wait: float
    # log P(arrival finds n + j in system), j = 0..J (PASTA); used for the waiting-time law.
    log_queue_probs: np.ndarray = field(repr=False, compare=False)

    @property
    def offered_load(self) -> float:
        """Offered load a = lambda / mu in erlangs."""
        return self.arrival_rate / self.service_rate

    @property
    def p_served(self) -> float:
        """Fraction of arrivals eventually served."""
        return 1.0 - self.p_abandon

    @property
    def utilisation(self) -> float:
        """Long-run fraction of agent time spent serving."""
        if self.agents == 0:
            return 0.0
        return self.arrival_rate * self.p_served / (self.agents * self.service_rate)

    @property
    def mean_queue_length(self) -> float:
        """Mean number waiting (Little's law on the queue)."""
        return self.arrival_rate * self.mean_wait

    def service_level(self, t: float) -> float:
        """P(served and W <= t): fraction of all arrivals answered within `t` (abandons fail)."""
        if t < 0 or math.isinf(self.mean_wait):
            return 0.0
        if self.arrival_rate == 0:
            return 1.0
        if math.isinf(t):
            return self.p_served
        if self.abandon_rate == 0:
            return self._erlang_c_service_level(t)
        n_mu = self.agents * self.service_rate
        if n_mu == 0:
            return 0.0
        theta = self.abandon_rate
        j = np.arange(self.log_queue_probs.size)
        # Served within t, having found j ahead: (n mu / r_{j+1}) * P(K' > j), where K' counts
        # events of a (negative-binomial) chain; see _log_event_count_cdf.
        log_cdf = _log_event_count_cdf(n_mu, theta, t, j.size, first_slot=1)
        served_by_t = -np.expm1(np.minimum(log_cdf, 0.0))
        log_served_share = math.log(n_mu) - np.log(n_mu + (j + 1) * theta)
        queued = np.exp(self.log_queue_probs + log_served_share) * served_by_t
        return float(min(1.0, (1.0 - self.p_wait) + queued.sum()))

    def wait_cdf(self, t: float) -> float:
        """P(W <= t) with W the wait until service or abandonment (abandons count as ended)."""
        if t < 0 or math.isinf(self.mean_wait):
            return 0.0
        if self.arrival_rate == 0 or math.isinf(t):
            return 1.0
        if self.abandon_rate == 0:
            return self._erlang_c_service_level(t)
        # P(W > t | j ahead) = P(offered wait V_j > t) * P(patience > t).
        log_cdf = _log_event_count_cdf(
            self.agents * self.service_rate, self.abandon_rate, t, self.log_queue_probs.size
        )
        log_tail = logsumexp(self.log_queue_probs + log_cdf) - self.abandon_rate * t
        return float(max(0.0, -math.expm1(log_tail)))

    def _erlang_c_service_level(self, t: float) -> float:
        drain_rate = self.agents * self.service_rate - self.arrival_rate
        return 1.0 - self.p_wait * math.exp(-drain_rate * t)


def _log_event_count_cdf(
    n_mu: float, theta: float, t: float, size: int, first_slot: int = 0
) -> np.ndarray:
    """log P(K <= j), j = 0..size-1, for the count K that decides the Erlang A wait.

    A customer with j others ahead reaches service after j+1 'slots' of rates r_i = n mu + i theta
    (i = j..0), so its offered wait V_j is hypoexponential. With z = exp(-theta t),
    exp(-theta V_j) ~ Beta(n mu / theta, j + 1), hence P(V_j > t) = P(K <= j) for K negative
    binomial with pmf p_k = exp(-r_0 t) prod_{i<k} (r_i h) / k!, h = (1 - z) / theta. Written this
    way there is no cancellation (unlike the partial-fraction form) and theta = 0 gives the
    Poisson / Erlang limit exactly. `first_slot=1` shifts the rates to r_1, r_2, ..., which gives
    the Beta(x + 1, j + 1) law needed for "served within t".
    """
    h = t if theta == 0 else -math.expm1(-theta * t) / theta
    rates = n_mu + (first_slot + np.arange(size)) * theta
    with np.errstate(divide="ignore"):
        log_terms = np.log(rates[:-1] * h) if size > 1 else np.empty(0)
    log_pmf = np.empty(size)
    log_pmf[0] = -rates[0] * t
    log_pmf[1:] = log_pmf[0] + np.cumsum(log_terms) - gammaln(np.arange(2, size + 1))
    return np.logaddexp.accumulate(log_pmf)


def _log_stationary(
    agents: int, arrival_rate: float, service_rate: float, abandon_rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised log pi_k for k < n and for k = n + j (j = 0..J), abandon_rate > 0."""
    n_mu = agents * service_rate
    log_lambda = math.log(arrival_rate)
    k = np.arange(agents + 1)
    log_low = k * math.log(arrival_rate / service_rate) - gammaln(k + 1)
    # Ratios lambda / (n mu + j theta) fall below 1 after this many queue states.
    peak = max(0.0, (arrival_rate - n_mu) / abandon_rate + 1)
    if peak > _MAX_QUEUE_STATES / 2:
        raise ValueError(_TOO_MANY_STATES)
    size = max(256, 2 * math.ceil(peak) + 64)
    while True:
        j = np.arange(1, size)
        log_ratio = log_lambda - np.log(n_mu + j * abandon_rate)
        log_queue = log_low[-1] + np.concatenate(([0.0], np.cumsum(log_ratio)))
        log_total = np.logaddexp(logsumexp(log_low[:-1]), logsumexp(log_queue))
        # Ratios keep falling past the end, so the tail is below a geometric series.
        r = arrival_rate / (n_mu + size * abandon_rate)
        if r < 1:
            log_tail = log_queue[-1] + math.log(r) - math.log1p(-r)
            if log_tail - log_total < math.log(_TAIL_MASS):
                return log_low[:-1] - log_total, log_queue - log_total
        if size >= _MAX_QUEUE_STATES:
            raise ValueError(_TOO_MANY_STATES)
        size = min(2 * size, _MAX_QUEUE_STATES)


def erlang_a(
    agents: int, arrival_rate: float, service_rate: float, abandon_rate: float
) -> ErlangA:
    """Erlang A (M/M/n+M): waiting and abandonment probabilities, mean wait, wait law.

    Raises ValueError when abandonment is so slow relative to the overload (or to 1 - rho) that
    the chain would need more than 5 million queue states.
    """
    agents = _check_agents(agents)
    arrival_rate = _check_rate("arrival_rate", arrival_rate, positive=False)
    service_rate = _check_rate("service_rate", service_rate, positive=True)
    abandon_rate = _check_rate("abandon_rate", abandon_rate, positive=False)
    params = (agents, arrival_rate, service_rate, abandon_rate)
    if arrival_rate == 0:
        return ErlangA(*params, 0.0, 0.0, 0.0, np.full(1, -np.inf))
    if abandon_rate == 0:
        c = erlang_c(agents, arrival_rate, service_rate)
        return ErlangA(*params, c.p_wait, 0.0, c.mean_wait, np.empty(0))
    log_low, log_queue = _log_stationary(*params)
    queue_probs = np.exp(log_queue)
    # Sum whichever side is smaller, so a p_wait near 0 or near 1 keeps its precision.
    p_queue = float(queue_probs.sum())
    p_wait = p_queue if p_queue < 0.5 else 1.0 - float(np.exp(log_low).sum())
    mean_queue = float(np.dot(np.arange(queue_probs.size), queue_probs))
    mean_wait = mean_queue / arrival_rate  # Little's law on the queue
    p_abandon = min(1.0, abandon_rate * mean_wait)
    return ErlangA(*params, p_wait, p_abandon, mean_wait, log_queue)


# --------------------------------------------------------------------------------------------
# Square-root staffing (QED regime)
# --------------------------------------------------------------------------------------------


def _check_probability(name: str, p: float) -> float:
    if not 0 < p < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {p!r}")
    return float(p)


def halfin_whitt_staffing(offered_load: float, beta: float) -> int:
    """Square-root staffing: ceil(R + beta sqrt(R)) agents for R erlangs."""
    offered_load = _check_rate("offered_load", offered_load, positive=False)
    return max(0, _ceil(offered_load + beta * math.sqrt(offered_load)))


def _log_hazard(x: float) -> float:
    # Standard normal hazard phi(x) / (1 - Phi(x)), in logs so large |x| neither under- nor
    # overflows.
    return -0.5 * x * x - 0.5 * math.log(2 * math.pi) - float(log_ndtr(-x))


def _solve_increasing(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Root of an increasing f, widening [lo, hi] until it brackets one."""
    while f(lo) > 0:
        lo = lo * 2 if lo < 0 else lo - 1.0
    while f(hi) < 0:
        hi *= 2
    return float(brentq(f, lo, hi, xtol=1e-12, rtol=1e-12))


def halfin_whitt_beta(target_p_wait: float) -> float:
    """beta > 0 with Halfin-Whitt P(W > 0) = [1 + beta Phi(beta) / phi(beta)]^-1 = target."""
    target_p_wait = _check_probability("target_p_wait", target_p_wait)
    goal = math.log1p(-target_p_wait) - math.log(target_p_wait)  # log(1/p - 1)

    def excess(beta: float) -> float:
        # log(beta Phi(beta) / phi(beta)) - goal, increasing in beta.
        return (
            math.log(beta) + float(log_ndtr(beta)) + 0.5 * beta * beta
            + 0.5 * math.log(2 * math.pi) - goal
        )

    return _solve_increasing(excess, 1e-300, 1.0)


def garnett_staffing(
    arrival_rate: float, service_rate: float, abandon_rate: float, target_p_wait: float
) -> int:
    """Agents from the Garnett-Mandelbaum-Reiman QED approximation of Erlang A's P(W > 0).

    P(W > 0) ~ [1 + sqrt(theta/mu) h(beta sqrt(mu/theta)) / h(-beta)]^-1 with h the standard
    normal hazard and n = R + beta sqrt(R); beta may be negative since abandonment keeps the
    queue stable.
    """
    arrival_rate = _check_rate("arrival_rate", arrival_rate, positive=False)
    service_rate = _check_rate("service_rate", service_rate, positive=True)
    abandon_rate = _check_rate("abandon_rate", abandon_rate, positive=False)
    target_p_wait = _check_probability("target_p_wait", target_p_wait)
    offered_load = arrival_rate / service_rate
    if abandon_rate == 0:
        return halfin_whitt_staffing(offered_load, halfin_whitt_beta(target_p_wait))
    goal = math.log1p(-target_p_wait) - math.log(target_p_wait)
    ratio = math.sqrt(service_rate / abandon_rate)

    def excess(beta: float) -> float:
        return -math.log(ratio) + _log_hazard(beta * ratio) - _log_hazard(-beta) - goal

    beta = _solve_increasing(excess, -1.0, 1.0)
    return halfin_whitt_staffing(offered_load, beta)


# --------------------------------------------------------------------------------------------
# Minimum staffing by search
# --------------------------------------------------------------------------------------------


def _min_meeting(meets: Callable[[int], bool], start: int) -> int:
    """Smallest n >= 0 with meets(n), for a criterion that stays met once met."""
    start = max(0, start)
    step = 1
    if meets(start):
        high = start
        low = start - 1
        while low >= 0 and meets(low):
            high, low = low, low - step
            step *= 2
        low = max(low, -1)  # -1 stands for "known not to meet"
    else:
        low = start
        high = start + 1
        while not meets(high):
            if high > _MAX_AGENTS:
                raise ValueError(f"target not met with {_MAX_AGENTS} agents")
            low, high = high, high + step
            step *= 2
    while high - low > 1:  # invariant: meets(high), not meets(low) (or low == -1)
        mid = (low + high) // 2
        if meets(mid):
            high = mid
        else:
            low = mid
    return high


def _check_target(kind: str, target: float, threshold: float | None, kinds: Sequence[str]) -> None:
    if kind not in kinds:
        raise ValueError(f"kind must be one of {', '.join(kinds)}; got {kind!r}")
    if kind == "service_level":
        if threshold is None or threshold < 0:
            raise ValueError("kind='service_level' needs a non-negative threshold time")
        _check_probability("service level target", target)
    elif kind in ("p_wait", "p_abandon"):
        _check_probability(f"{kind} target", target)
    elif not target > 0:
        raise ValueError(f"mean_wait target must be positive, got {target!r}")


def min_agents_erlang_c(
    arrival_rate: float,
    service_rate: float,
    target: float,
    kind: ErlangCKind = "service_level",
    threshold: float | None = None,
) -> int:
    """Fewest agents for which Erlang C meets the target.

    kind='service_level': P(W <= threshold) >= target; 'p_wait': P(W > 0) <= target;
    'mean_wait': mean wait <= target (same time unit as the rates).
    """
    arrival_rate = _check_rate("arrival_rate", arrival_rate, positive=False)
    service_rate = _check_rate("service_rate", service_rate, positive=True)
    _check_target(kind, target, threshold, ("service_level", "p_wait", "mean_wait"))
    if arrival_rate == 0:
        return 0
    offered_load = arrival_rate / service_rate
    # Step up from the smallest stable staffing, carrying the Erlang B recursion along, so the
    # whole search costs one pass of the recursion.
    b = 1.0
    for n in range(1, _MAX_AGENTS + 1):
        b = offered_load * b / (n + offered_load * b)
        if n <= offered_load:
            continue
        result = ErlangC(n, arrival_rate, service_rate, _erlang_c_from_b(n, offered_load, b))
        if kind == "service_level":
            assert threshold is not None
            met = result.service_level(threshold) >= target
        elif kind == "p_wait":
            met = result.p_wait <= target
        else:
            met = result.mean_wait <= target
        if met:
            return n
    raise ValueError(f"target not met with {_MAX_AGENTS} agents")


def min_agents_erlang_a(
    arrival_rate: float,
    service_rate: float,
    abandon_rate: float,
    target: float,
    kind: ErlangAKind = "service_level",
    threshold: float | None = None,
) -> int:
    """Fewest agents for which Erlang A meets the target.

    kind='service_level': P(served and W <= threshold) >= target; 'p_wait': P(W > 0) <= target;
    'p_abandon': P(Ab) <= target; 'mean_wait': mean wait of all arrivals <= target.
    """
    arrival_rate = _check_rate("arrival_rate", arrival_rate, positive=False)
    service_rate = _check_rate("service_rate", service_rate, positive=True)
    abandon_rate = _check_rate("abandon_rate", abandon_rate, positive=False)
    _check_target(kind, target, threshold, ("service_level", "p_wait", "p_abandon", "mean_wait"))
    if arrival_rate == 0:
        return 0

    def meets(n: int) -> bool:
        if abandon_rate == 0 and n * service_rate <= arrival_rate:
            return False
        result = erlang_a(n, arrival_rate, service_rate, abandon_rate)
        if kind == "service_level":
            assert threshold is not None
            return result.service_level(threshold) >= target
        if kind == "p_wait":
            return result.p_wait <= target
        if kind == "p_abandon":
            return result.p_abandon <= target
        return result.mean_wait <= target

    # Abandonment can make fewer than R agents enough, so search both ways from R.
    return _min_meeting(meets, round(arrival_rate / service_rate))


# --------------------------------------------------------------------------------------------
# Time-varying load
# --------------------------------------------------------------------------------------------


def _check_profile(
    times: Sequence[float] | np.ndarray, rates: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    times_arr = np.asarray(times, dtype=float)
    rates_arr = np.asarray(rates, dtype=float)
    if rates_arr.ndim != 1 or rates_arr.size == 0:
        raise ValueError("rates must be a non-empty 1-d sequence")
    if times_arr.shape != (rates_arr.size + 1,):
        raise ValueError("times must hold the len(rates) + 1 interval boundaries")
    if np.any(np.diff(times_arr) <= 0) or not np.all(np.isfinite(times_arr)):
        raise ValueError("times must be finite and strictly increasing")
    if np.any(rates_arr < 0) or not np.all(np.isfinite(rates_arr)):
        raise ValueError("rates must be finite and non-negative")
    return times_arr, rates_arr


def _mol_pieces(
    times: Sequence[float] | np.ndarray,
    rates: Sequence[float] | np.ndarray,
    service_rate: float,
    initial_load: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """MOL at the boundaries and per-interval means for piecewise-constant arrival rates."""
    times_arr, rates_arr = _check_profile(times, rates)
    service_rate = _check_rate("service_rate", service_rate, positive=True)
    level = rates_arr / service_rate  # where each piece's m(t) is heading
    widths = np.diff(times_arr)
    decay = np.exp(-service_rate * widths)
    # (1 - e^{-mu w}) / (mu w): mean of the decaying transient over the piece, without
    # cancellation for short pieces.
    mean_decay = -np.expm1(-service_rate * widths) / (service_rate * widths)
    boundaries = np.empty(times_arr.size)
    boundaries[0] = level[0] if initial_load is None else float(initial_load)
    means = np.empty(rates_arr.size)
    for i in range(rates_arr.size):
        gap = boundaries[i] - level[i]
        boundaries[i + 1] = level[i] + gap * decay[i]
        means[i] = level[i] + gap * mean_decay[i]
    return boundaries, means


def offered_load_mol_boundaries(
    times: Sequence[float] | np.ndarray,
    rates: Sequence[float] | np.ndarray,
    service_rate: float,
    initial_load: float | None = None,
) -> np.ndarray:
    """Modified offered load m(t) at the boundaries `times` (len(rates) + 1 values).

    rates[i] is the arrival rate on [times[i], times[i+1]); m solves m' = lambda(t) - mu m
    exactly, from m(times[0]) = initial_load (default rates[0] / mu, i.e. already in balance).
    """
    return _mol_pieces(times, rates, service_rate, initial_load)[0]


def offered_load_mol(
    times: Sequence[float] | np.ndarray,
    rates: Sequence[float] | np.ndarray,
    service_rate: float,
    initial_load: float | None = None,
) -> np.ndarray:
    """Time-average of the modified offered load m(t) over each interval (len(rates) values).

    Same conventions as `offered_load_mol_boundaries`; m(t) is the mean number in service of
    the M_t/M/infinity queue, which lags the arrival rate by about one service time.
    """
    return _mol_pieces(times, rates, service_rate, initial_load)[1]


def staffing_per_interval(
    rates: Sequence[float] | np.ndarray,
    interval_s: float,
    service_rate: float,
    target: float,
    method: Literal["sipp", "mol"] = "sipp",
    kind: ErlangAKind = "service_level",
    threshold: float | None = None,
    *,
    abandon_rate: float | None = None,
    mol_statistic: Literal["max", "mean"] = "max",
    initial_load: float | None = None,
) -> np.ndarray:
    """Agents per interval meeting a stationary target, by SIPP or by the MOL approximation.

    'sipp' uses each interval's own arrival rate; 'mol' uses the arrival rate mu * m where m is
    the maximum of the modified offered load over the interval (mol_statistic='max', the
    default, so the target holds throughout the interval) or its time average ('mean').
    Erlang C is used unless `abandon_rate` is given, then Erlang A.
    """
    rates_arr = np.asarray(rates, dtype=float)
    if not interval_s > 0:
        raise ValueError(f"interval_s must be positive, got {interval_s!r}")
    times = np.arange(rates_arr.size + 1) * float(interval_s)
    if method == "sipp":
        _check_profile(times, rates_arr)
        effective = rates_arr
    elif method == "mol":
        boundaries, means = _mol_pieces(times, rates_arr, service_rate, initial_load)
        if mol_statistic == "max":
            # m(t) is monotone within a constant-rate piece, so its maximum sits at an end.
            load = np.maximum(boundaries[:-1], boundaries[1:])
        elif mol_statistic == "mean":
            load = means
        else:
            raise ValueError(f"mol_statistic must be 'max' or 'mean', got {mol_statistic!r}")
        effective = service_rate * load
    else:
        raise ValueError(f"method must be 'sipp' or 'mol', got {method!r}")
    if abandon_rate is None:
        if kind == "p_abandon":
            raise ValueError("kind='p_abandon' needs an abandon_rate")
        agents = [
            min_agents_erlang_c(lam, service_rate, target, kind, threshold) for lam in effective
        ]
    else:
        agents = [
            min_agents_erlang_a(lam, service_rate, abandon_rate, target, kind, threshold)
            for lam in effective
        ]
    return np.asarray(agents, dtype=np.int64)
