"""Distributions a scenario can name, sampled by inverse transform from uniforms.

Every sampler turns uniforms in (0, 1) into values, so a block of uniforms drawn once per
replication gives the same customers to every variant (common random numbers) and the same
quantile of a reply-time distribution to whichever agent group ends up answering.
"""

from __future__ import annotations

import math
import typing
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from scipy import special

from sim.units import parse_duration

Seconds = Annotated[float, BeforeValidator(parse_duration)]
PositiveSeconds = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
NonNegativeSeconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def mean_value(self) -> float:
        raise NotImplementedError

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.from_uniform(rng.random(size))


class Exponential(_Dist):
    """Memoryless durations: `{dist: exponential, mean: 30s}`."""

    dist: Literal["exponential"]
    mean: PositiveSeconds

    def mean_value(self) -> float:
        return self.mean

    def from_uniform(self, u):
        return -self.mean * np.log1p(-np.asarray(u, dtype=float))


class LogNormal(_Dist):
    """Right-skewed durations given by mean and coefficient of variation."""

    dist: Literal["lognormal"]
    mean: PositiveSeconds
    cv: float = Field(gt=0, le=20)

    def mean_value(self) -> float:
        return self.mean

    def from_uniform(self, u):
        sigma2 = math.log1p(self.cv**2)
        mu = math.log(self.mean) - sigma2 / 2
        return np.exp(mu + math.sqrt(sigma2) * special.ndtri(np.asarray(u, dtype=float)))


class Gamma(_Dist):
    """Gamma durations given by mean and coefficient of variation."""

    dist: Literal["gamma"]
    mean: PositiveSeconds
    cv: float = Field(gt=0, le=20)

    def mean_value(self) -> float:
        return self.mean

    def from_uniform(self, u):
        shape = 1.0 / self.cv**2
        return special.gammaincinv(shape, np.asarray(u, dtype=float)) * self.mean / shape


class Deterministic(_Dist):
    """A fixed value: `{dist: deterministic, value: 20s}`."""

    dist: Literal["deterministic"]
    value: NonNegativeSeconds

    def mean_value(self) -> float:
        return self.value

    def from_uniform(self, u):
        return np.full(np.shape(u), self.value, dtype=float)


class Uniform(_Dist):
    """Uniform between `low` and `high`."""

    dist: Literal["uniform"]
    low: NonNegativeSeconds
    high: NonNegativeSeconds

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError("high must not be below low")
        return self

    def mean_value(self) -> float:
        return (self.low + self.high) / 2

    def from_uniform(self, u):
        return self.low + (self.high - self.low) * np.asarray(u, dtype=float)


class Empirical(_Dist):
    """Resampling of observed values, each equally likely."""

    dist: Literal["empirical"]
    values: list[NonNegativeSeconds] = Field(min_length=1)

    def mean_value(self) -> float:
        return float(np.mean(self.values))

    def from_uniform(self, u):
        # Sorted, so this is the quantile function: the same uniform is the same quantile in
        # every group, whatever order the values were listed in.
        values = np.sort(np.asarray(self.values, dtype=float))
        index = np.minimum((np.asarray(u) * len(values)).astype(np.int64), len(values) - 1)
        return values[index]


class Geometric(_Dist):
    """Counts 1, 2, 3, ... with the given mean (messages per conversation)."""

    dist: Literal["geometric"]
    mean: float = Field(ge=1)

    def mean_value(self) -> float:
        return self.mean

    def from_uniform(self, u):
        if self.mean == 1:
            return np.ones(np.shape(u))
        p = 1.0 / self.mean
        return np.maximum(1.0, np.ceil(np.log1p(-np.asarray(u, dtype=float)) / math.log1p(-p)))


class Poisson(_Dist):
    """Counts 1 + Poisson(mean - 1), a less dispersed alternative to geometric."""

    dist: Literal["poisson"]
    mean: float = Field(ge=1)

    def mean_value(self) -> float:
        return self.mean

    def from_uniform(self, u):
        # Imported here, by the one distribution that needs it: `scipy.stats` costs about
        # 0.7 s to import, which loading any scenario would otherwise pay.
        from scipy import stats

        # ppf(0) is -1: a uniform of exactly 0 (which numpy can draw) is the lowest count, 1.
        return 1.0 + np.maximum(stats.poisson.ppf(np.asarray(u, dtype=float), self.mean - 1.0),
                                0.0)


Distribution = Annotated[
    Exponential | LogNormal | Gamma | Deterministic | Uniform | Empirical | Geometric | Poisson,
    Field(discriminator="dist"),
]
#: Every `dist:` a scenario may name, and those that give counts (messages per conversation).
KINDS = tuple(typing.get_args(member.model_fields["dist"].annotation)[0]
              for member in typing.get_args(typing.get_args(Distribution)[0]))
COUNT_KINDS = ("geometric", "poisson", "deterministic", "empirical")
