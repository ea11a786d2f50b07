"""Fitting distributions to what a chat log shows: durations (think, typing, bot handling
times), counts (messages per conversation) and censored durations (patience).

Durations: the family (exponential, lognormal or gamma) is the one with the lowest AIC; its
parameters are the sample mean and coefficient of variation, with standard errors from the
central limit theorem and the delta method, which hold whatever the family. Counts: geometric,
shifted Poisson or the empirical distribution, by AIC. Censored durations: the Kaplan-Meier
estimate (`scipy.stats.ecdf` on `scipy.stats.CensoredData`) and a parametric fit by maximum
likelihood on the censored data, the family again by AIC, standard errors from the observed
information.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

Z95 = float(stats.norm.ppf(0.975))
#: Above this many observations, the family is chosen on a fixed random subsample (the
#: parameters still use every observation).
AIC_SAMPLE = 50_000
#: Fewer observations than this and a distribution is not fitted.
MIN_OBSERVATIONS = 30
_RNG_SEED = 15


@dataclass
class Estimate:
    """A fitted number with its standard error and the observations behind it. The numbers a
    scenario is fitted with are >= 0 (times, rates, counts, factors) and a share is at most 1:
    the 95% interval is kept within [`least`, `most`], where the number can be (a difference
    of two means, which can be below 0, says `least=-inf`)."""

    value: float
    se: float
    n: int
    least: float = 0.0
    most: float = math.inf

    @property
    def ci(self) -> tuple[float, float]:
        if not math.isfinite(self.se):
            return (float("nan"), float("nan"))
        return (max(self.value - Z95 * self.se, self.least),
                min(self.value + Z95 * self.se, self.most))


@dataclass
class FittedDistribution:
    """A distribution fitted to observations: its scenario form, estimates and AIC table."""

    family: str
    parameters: dict[str, Estimate]
    aic: dict[str, float]
    n: int
    method: str
    sample: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    censored: np.ndarray | None = field(repr=False, default=None)

    def spec(self) -> dict:
        """The distribution as a scenario field, e.g. `{dist: lognormal, mean: 20.5, cv: 0.7}`."""
        if self.family == "empirical":
            return {"dist": "empirical", "values": [float(v) for v in self.values]}
        spec: dict = {"dist": self.family, "mean": _round(self.parameters["mean"].value)}
        if "cv" in self.parameters:
            spec["cv"] = _round(self.parameters["cv"].value)
        return spec

    @property
    def values(self) -> np.ndarray:
        """An empirical distribution's support, as quantiles of the sample."""
        return _quantile_values(self.sample)

    def frozen(self):
        """The fitted distribution as a scipy frozen distribution (for plots)."""
        mean = self.parameters["mean"].value
        if self.family == "exponential":
            return stats.expon(scale=mean)
        cv = self.parameters["cv"].value
        if self.family == "lognormal":
            sigma = math.sqrt(math.log1p(cv * cv))
            return stats.lognorm(s=sigma, scale=mean / math.exp(sigma * sigma / 2))
        if self.family == "gamma":
            shape = 1.0 / (cv * cv)
            return stats.gamma(a=shape, scale=mean / shape)
        raise ValueError(f"no frozen form of {self.family}")


def _round(value: float) -> float:
    """A value for a scenario file: four significant digits are plenty."""
    return float(f"{value:.4g}")


def _quantile_values(sample: np.ndarray, count: int = 100) -> np.ndarray:
    if len(sample) == 0:
        return np.zeros(0)
    probabilities = (np.arange(count) + 0.5) / count
    return np.quantile(sample, probabilities, method="inverted_cdf")


def _subsample(x: np.ndarray, limit: int = AIC_SAMPLE) -> np.ndarray:
    if len(x) <= limit:
        return x
    return np.random.default_rng(_RNG_SEED).choice(x, size=limit, replace=False)


def mean_cv(x: np.ndarray) -> tuple[Estimate, Estimate]:
    """Sample mean and coefficient of variation with CLT / delta-method standard errors."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    m = float(x.mean())
    centred = x - m
    var = float(np.mean(centred**2))
    s = math.sqrt(var)
    mean = Estimate(m, s / math.sqrt(n), n)
    if s == 0 or m == 0:
        return mean, Estimate(0.0 if m else float("nan"), float("nan"), n)
    mu3 = float(np.mean(centred**3))
    mu4 = float(np.mean(centred**4))
    # cv = sqrt(v) / m; gradient in (v, m) and the covariance of (sample variance, mean).
    gradient = np.array([1.0 / (2.0 * s * m), -s / (m * m)])
    covariance = np.array([[mu4 - var * var, mu3], [mu3, var]]) / n
    se = math.sqrt(max(float(gradient @ covariance @ gradient), 0.0))
    return mean, Estimate(s / m, se, n)


def _loglik(family: str, x: np.ndarray) -> tuple[float, int]:
    """Maximised log-likelihood of a positive sample under a family, and its parameter count."""
    n = len(x)
    if family == "exponential":
        m = x.mean()
        return float(-n * math.log(m) - x.sum() / m), 1
    if family == "lognormal":
        logs = np.log(x)
        sigma = logs.std()
        if sigma == 0:
            return float("-inf"), 2
        return float(np.sum(stats.norm.logpdf(logs, logs.mean(), sigma)) - logs.sum()), 2
    if family == "gamma":
        shape, _, scale = stats.gamma.fit(x, floc=0)
        return float(np.sum(stats.gamma.logpdf(x, shape, scale=scale))), 2
    raise ValueError(family)


DURATION_FAMILIES = ("exponential", "lognormal", "gamma")


def fit_duration(x: np.ndarray, resolution_s: float = 0.0,
                 families: tuple[str, ...] = DURATION_FAMILIES) -> FittedDistribution | None:
    """The best of `families` by AIC for positive durations, or None with too few.

    Values recorded to whole seconds can be 0; for the likelihoods they are taken as half the
    resolution (the mean and CV use them as they are)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x) & (x >= 0)]
    if len(x) < MIN_OBSERVATIONS:
        return None
    positive = np.maximum(_subsample(x), max(resolution_s / 2, 1e-3))
    aic = {}
    for family in families:
        loglik, k = _loglik(family, positive)
        aic[family] = 2 * k - 2 * loglik
    best = min(aic, key=aic.get)
    mean, cv = mean_cv(x)
    parameters = {"mean": mean} if best == "exponential" else {"mean": mean, "cv": cv}
    method = (f"{best} by AIC among {', '.join(families)}; mean and CV from the sample "
              "(CLT and delta-method SE)")
    return FittedDistribution(best, parameters, aic, len(x), method, _subsample(x, 20_000))


def fit_count(x: np.ndarray) -> FittedDistribution | None:
    """Messages per conversation (1, 2, 3, ...): geometric, 1 + Poisson or empirical, by AIC."""
    x = np.asarray(x, dtype=np.int64)
    x = x[x >= 1]
    n = len(x)
    if n < MIN_OBSERVATIONS:
        return None
    m = float(x.mean())
    aic = {}
    if m > 1:
        p = 1.0 / m
        aic["geometric"] = 2 - 2 * float(np.sum((x - 1) * math.log1p(-p) + math.log(p)))
        aic["poisson"] = 2 - 2 * float(np.sum(stats.poisson.logpmf(x - 1, m - 1)))
    values, counts = np.unique(x, return_counts=True)
    aic["empirical"] = 2 * (len(values) - 1) - 2 * float(np.sum(counts * np.log(counts / n)))
    best = min(aic, key=aic.get)
    mean, _ = mean_cv(x.astype(float))
    method = f"{best} by AIC among {', '.join(aic)}; mean from the sample (CLT SE)"
    return FittedDistribution(best, {"mean": mean}, aic, n, method, x)


# --- censored durations -------------------------------------------------------------------------


@dataclass
class Survival:
    """A Kaplan-Meier estimate: times, survival and its 95% band."""

    time_s: np.ndarray
    survival: np.ndarray
    low: np.ndarray
    high: np.ndarray
    events: int
    censored: int


def kaplan_meier(events: np.ndarray, censored: np.ndarray) -> Survival:
    """Kaplan-Meier survival of durations observed (`events`) or known only to exceed a value
    (`censored`), by `scipy.stats.ecdf` on `scipy.stats.CensoredData`."""
    data = stats.CensoredData(uncensored=np.asarray(events, dtype=float),
                              right=np.asarray(censored, dtype=float))
    result = stats.ecdf(data)
    sf = result.sf
    with warnings.catch_warnings():
        # Greenwood's band is undefined where the estimate reaches 0; it is NaN there.
        warnings.simplefilter("ignore", RuntimeWarning)
        band = sf.confidence_interval(0.95)
    return Survival(sf.quantiles, sf.probabilities, band.low.probabilities,
                    band.high.probabilities, len(events), len(censored))


def _censored_nll(family: str, theta: np.ndarray, events: np.ndarray, censored: np.ndarray
                  ) -> float:
    """Negative log-likelihood in (log mean, log cv) of right-censored durations."""
    mean = math.exp(theta[0])
    if family == "exponential":
        return float(len(events) * theta[0] + (events.sum() + censored.sum()) / mean)
    cv = math.exp(theta[1])
    if family == "lognormal":
        sigma2 = math.log1p(cv * cv)
        sigma = math.sqrt(sigma2)
        mu = theta[0] - sigma2 / 2
        z_e = (np.log(events) - mu) / sigma
        z_c = (np.log(np.maximum(censored, 1e-12)) - mu) / sigma
        ll = np.sum(stats.norm.logpdf(z_e) - math.log(sigma) - np.log(events))
        ll += np.sum(special.log_ndtr(-z_c))
        return float(-ll)
    if family == "gamma":
        shape = 1.0 / (cv * cv)
        scale = mean / shape
        ll = np.sum((shape - 1) * np.log(events) - events / scale)
        ll -= len(events) * (special.gammaln(shape) + shape * math.log(scale))
        with np.errstate(divide="ignore"):
            ll += np.sum(np.log(special.gammaincc(shape, censored / scale)))
        return float(-ll) if np.isfinite(ll) else 1e300
    raise ValueError(family)


def _hessian(fun, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    k = len(x)
    h = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * step, np.eye(k)[j] * step
            h[i, j] = (fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej)
                       + fun(x - ei - ej)) / (4 * step * step)
    return h


def _proportional(events: np.ndarray, censored: np.ndarray, limit: int = AIC_SAMPLE):
    """A subsample keeping the share of events and censored times."""
    total = len(events) + len(censored)
    if total <= limit:
        return events, censored
    rng = np.random.default_rng(_RNG_SEED)
    fraction = limit / total
    take = (max(int(len(events) * fraction), 1), int(len(censored) * fraction))
    return (rng.choice(events, size=take[0], replace=False),
            rng.choice(censored, size=take[1], replace=False))


def _maximise(family: str, events: np.ndarray, censored: np.ndarray, start: np.ndarray
              ) -> np.ndarray:
    if family == "exponential":
        return np.array([math.log((events.sum() + censored.sum()) / len(events))])
    result = optimize.minimize(lambda th: _censored_nll(family, th, events, censored), start,
                               method="L-BFGS-B", bounds=[(-20, 25), (-6, 4)])
    return result.x


#: With fewer events than `MIN_OBSERVATIONS` but at least this many, only the exponential is
#: fitted to censored durations (its estimate, exposure over events, needs no more).
MIN_EVENTS = 5


def fit_censored(events: np.ndarray, censored: np.ndarray, resolution_s: float = 0.0,
                 families: tuple[str, ...] = DURATION_FAMILIES) -> FittedDistribution | None:
    """Maximum likelihood on right-censored durations, for each family; the result is the
    family with the lowest AIC, as fitted.

    Censoring often hides the right tail: then the families fit the observed range about
    equally well while implying different means, and the mean is not known from the log. So
    the standard errors include that: each parameter's SE is sqrt(SE^2 + sum over families of
    Akaike weight x (family's estimate - the chosen one)^2), in the spirit of Burnham &
    Anderson's unconditional variance (2002, section 4.3), with each family's own SE from its
    observed information (delta method from log mean, log CV). When one family is clearly
    best its weight is about 1 and this is its own SE. With few events
    (`MIN_EVENTS` to `MIN_OBSERVATIONS`) only the exponential is fitted. Times recorded to
    whole seconds (`resolution_s` 1) can be 0; those are taken as half a second, since a
    tiny duration taken at face value has a likelihood that shape parameters can chase."""
    events = np.asarray(events, dtype=float)
    events = np.maximum(events[np.isfinite(events)], max(resolution_s / 2, 1e-3))
    censored = np.asarray(censored, dtype=float)
    censored = censored[np.isfinite(censored) & (censored > 0)]
    if len(events) < MIN_EVENTS:
        return None
    if len(events) < MIN_OBSERVATIONS:
        families = ("exponential",)
    small_e, small_c = _proportional(events, censored)
    subsampled = len(small_e) < len(events) or len(small_c) < len(censored)
    start = np.array([math.log((small_e.sum() + small_c.sum()) / len(small_e)), 0.0])
    rough = {f: _maximise(f, small_e, small_c, start) for f in families}
    rough_aic = {f: 2 * len(th) + 2 * _censored_nll(f, th, small_e, small_c)
                 for f, th in rough.items()}
    best_rough = min(rough_aic.values())
    fits, aic = {}, {}
    for family, theta in rough.items():
        if rough_aic[family] - best_rough > 30:   # weight below 1e-6 on the subsample
            continue
        if subsampled:
            theta = _maximise(family, events, censored, theta)
        fits[family] = theta
        aic[family] = 2 * len(theta) + 2 * _censored_nll(family, theta, events, censored)
    best = min(aic, key=aic.get)
    weights = {f: math.exp(-0.5 * (a - aic[best])) for f, a in aic.items()}
    total = sum(weights.values())
    weights = {f: w / total for f, w in weights.items()}
    estimates = {f: _censored_estimates(f, fits[f], events, censored) for f in fits}
    parameters = {}
    for name in ("mean", "cv"):
        value, own_se = estimates[best][name]
        spread = sum(weights[f] * (e[name][0] - value) ** 2 for f, e in estimates.items())
        parameters[name] = Estimate(value, math.sqrt(own_se ** 2 + spread), len(events))
    if best == "exponential":
        parameters.pop("cv")
    shares = ", ".join(f"{f} {weights[f]:.2f}" for f in sorted(weights, key=weights.get,
                                                                     reverse=True))
    method = (f"{best} by AIC (Akaike weights {shares}); maximum likelihood on "
              f"{len(events)} events and {len(censored)} right-censored times; SE includes the "
              "spread between the families")
    rejected = {f: a for f, a in rough_aic.items() if f not in aic}
    return FittedDistribution(best, parameters, {**aic, **rejected}, len(events) + len(censored),
                              method, _subsample(events, 20_000), _subsample(censored, 20_000))


def _censored_estimates(family: str, theta: np.ndarray, events: np.ndarray,
                        censored: np.ndarray) -> dict[str, tuple[float, float]]:
    """Mean and CV of one family's censored fit, each with its SE."""
    mean = math.exp(theta[0])
    if family == "exponential":
        return {"mean": (mean, mean / math.sqrt(len(events))), "cv": (1.0, 0.0)}
    information = _hessian(lambda th: _censored_nll(family, th, events, censored), theta)
    try:
        se = np.sqrt(np.maximum(np.diag(np.linalg.inv(information)), 0.0))
    except np.linalg.LinAlgError:
        se = np.array([np.nan, np.nan])
    cv = math.exp(theta[1])
    return {"mean": (mean, mean * float(se[0])), "cv": (cv, cv * float(se[1]))}


def proportion(successes: int, trials: int) -> Estimate:
    """A share with its binomial standard error."""
    if trials == 0:
        return Estimate(float("nan"), float("nan"), 0)
    p = successes / trials
    return Estimate(p, math.sqrt(p * (1 - p) / trials), trials, most=1.0)
