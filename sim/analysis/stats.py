"""Statistics over replications: the t-interval every CI of the tool is built from, and its
bounded form for metrics that cannot leave a range (shares in [0, 1], counts and times >= 0).

A plain t-interval of a share near 100% can reach past 100% (97.5% [94.6%, 100.4%]), and
one of a rare count below zero (0.20 [-0.36, 0.76]). `bounded_interval` keeps the point
estimate (the mean over replications) and the standard error of the mean, but builds the
interval on a scale where the bound is infinitely far away and maps it back (the delta
method, as Stata's `proportion` and `mean` with a logit or log transform do):

- a share, bounded on both sides, on the logit scale: logit(m) +- t * se / (m (1 - m));
- a quantity bounded below by zero (a count, seconds, money), on the log scale:
  log(m) +- t * se / m, i.e. m * exp(+-t * se / m).

Both agree with the plain t-interval to first order when the mean is far from its bound
relative to the standard error, are asymmetric near it (longer on the side away from the
bound), and always contain the mean. A mean sitting on its bound means every replication
did (values cannot lie beyond it), and the interval is that single point.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from sim.analysis import registry


def t_quantile(p, df):
    """Student's t quantile `p` with `df` degrees of freedom (scalars or arrays): what
    `scipy.stats.t.ppf(p, df)` returns, to the last bit, taken from `scipy.special.stdtrit` as
    that function does. Importing `scipy.stats` costs about 0.7 s, which every command would
    otherwise pay before its first replication (and a parallel run before forking)."""
    return special.stdtrit(df, p)


def t_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t confidence interval of independent replication values.

    NaN values (a metric undefined in a replication, e.g. no buyer in the counted window) are
    dropped; with fewer than two values the interval is undefined (NaN).
    """
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    n = len(data)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(data.mean())
    if n < 2:
        return mean, math.nan, math.nan
    sd = float(data.std(ddof=1))
    half = float(t_quantile(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def bounded_interval(values, lower: float = -math.inf, upper: float = math.inf,
                     level: float = 0.95) -> tuple[float, float, float]:
    """Mean and a t confidence interval that stays within [lower, upper] (see the module
    docstring for the method); with no finite bound it is `t_interval`. NaN values are
    dropped; with fewer than two values the interval is undefined (NaN)."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    n = len(data)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(data.mean())
    if n < 2:
        return mean, math.nan, math.nan
    se = float(data.std(ddof=1)) / math.sqrt(n)
    t = float(t_quantile(0.5 + level / 2, n - 1))
    low, high = bounded_band(np.array([mean]), np.array([se]), np.array([t]), lower, upper)
    return mean, float(low[0]), float(high[0])


def bounded_band(mean: np.ndarray, se: np.ndarray, t: np.ndarray, lower: float = -math.inf,
                 upper: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
    """Interval bounds, element by element, of means with standard errors `se` and t
    quantiles `t`, built on the logit scale within [lower, upper] (both finite), on the log
    scale with one finite bound, plainly with none. NaN where mean or se is NaN."""
    mean, se, t = (np.asarray(a, dtype=float) for a in (mean, se, t))
    mean, se, t = np.broadcast_arrays(mean, se, t)
    half = t * se
    low, high = mean - half, mean + half
    finite_low, finite_high = math.isfinite(lower), math.isfinite(upper)
    if not (finite_low or finite_high):
        return low, high
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if finite_low and finite_high:
            width = upper - lower
            p = (mean - lower) / width
            inside = (p > 0) & (p < 1)
            z = np.log(p) - np.log1p(-p)
            dz = half / (width * p * (1 - p))
            low_t = lower + width * _expit(z - dz)
            high_t = lower + width * _expit(z + dz)
        elif finite_low:
            distance = mean - lower
            inside = distance > 0
            factor = np.exp(half / distance)
            low_t, high_t = lower + distance / factor, lower + distance * factor
        else:
            distance = upper - mean
            inside = distance > 0
            factor = np.exp(half / distance)
            low_t, high_t = upper - distance * factor, upper - distance / factor
    # On the bound (or a rounding hair past it) every value is there: a single point.
    on_bound = ~inside & np.isfinite(mean) & np.isfinite(se)
    point = np.clip(mean, lower, upper)
    low = np.where(inside, low_t, np.where(on_bound, point, np.nan))
    high = np.where(inside, high_t, np.where(on_bound, point, np.nan))
    # A zero standard error is a zero-width interval on any scale.
    flat = inside & (half == 0)
    return np.where(flat, mean, low), np.where(flat, mean, high)


def _expit(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def metric_interval(name: str, values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and 95% interval of a metric over replications, within the range of its unit in
    `sim.analysis.registry` (a name the registry does not know gets the plain t-interval)."""
    lower, upper = metric_bounds(name)
    return bounded_interval(values, lower, upper, level)


def metric_bounds(name: str) -> tuple[float, float]:
    """The range a metric's values lie in, from its unit; unbounded for an unknown name."""
    if not registry.is_metric(name):
        return -math.inf, math.inf
    unit = registry.unit(name)
    return unit.lower, unit.upper
