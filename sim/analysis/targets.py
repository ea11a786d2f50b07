"""Targets: what a desk must achieve, written `METRIC>=VALUE` or `METRIC<=VALUE`, and whether
results meet one.

One syntax everywhere: a scenario's `targets:`, `--target` of `supportsim run` and `compare`,
and `supportsim staff --target` (which searches only metrics with a per-interval count). What a
metric is (its unit, which way is better) is its entry in `sim.analysis.registry`, so a target
can only name a known metric, only bound it the way that is better, and only with a value the
metric can take: a share within [0, 1] (also written 95%), seconds above zero, a count, hours
or money at least zero. A metric better neither way (occupancy) takes either bound.

A target is judged on a confidence interval: **met** when the whole interval satisfies it,
**missed** when none of it does, **undecided** when the interval straddles the target (more
replications would tell). With a single replication (no interval) the estimate decides.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sim.analysis import registry
from sim.scenario import ScenarioError

MET, MISSED, UNDECIDED, NO_DATA = "met", "missed", "undecided", "no data"

_TARGET = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_.]*)\s*(?P<op>>=|<=|=>|=<|>|<|==|=)\s*"
    r"(?P<value>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<percent>%?)\s*$"
)
_EXAMPLE = "'reply_rate_5min>=0.95'"


class TargetError(ValueError):
    """A target that cannot be used, with a message for the user."""


@dataclass(frozen=True)
class Target:
    """A bound on a metric, e.g. reply_rate_5min >= 0.95; `op` is '>=' or '<=', the way the
    metric's registry entry says is better."""

    metric: str
    op: str  # ">=" or "<="
    value: float

    def __post_init__(self):
        problem = _problem(self.metric, self.op, self.value)
        if problem:
            raise TargetError(problem)

    def met(self, estimate: float) -> bool:
        """Whether an estimate satisfies the target (no buyers, nothing to satisfy: True)."""
        if not math.isfinite(estimate):
            return True
        return estimate >= self.value - 1e-12 if self.op == ">=" else estimate <= self.value + 1e-12

    def judge(self, mean: float, ci_low: float = math.nan, ci_high: float = math.nan) -> str:
        """MET, MISSED or UNDECIDED from a mean and its confidence interval (the estimate
        alone when there is no interval); NO_DATA when the mean is undefined."""
        if not math.isfinite(mean):
            return NO_DATA
        if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
            return MET if self.met(mean) else MISSED
        worst, best = (ci_low, ci_high) if self.op == ">=" else (ci_high, ci_low)
        if self.met(worst):
            return MET
        if not self.met(best):
            return MISSED
        return UNDECIDED

    def describe(self) -> str:
        """The target for people: 'reply_rate_5min >= 95.00%', 'first_response_mean_s <= 20.0s'."""
        return f"{self.metric} {self.op} {registry.format_value(self.metric, self.value)}"

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    def same_as(self, other: Target) -> bool:
        """The same bound, however written: '80.1%' and '0.801' (which `str` rounds to six
        digits) are one target."""
        return (self.metric == other.metric and self.op == other.op
                and math.isclose(self.value, other.value, rel_tol=1e-6, abs_tol=1e-12))


def _problem(metric: str, op: str, value: float, text: str | None = None) -> str | None:
    """Why (metric, op, value) is not a usable target, or None."""
    where = f"target {text!r}: " if text is not None else ""
    try:
        spec = registry.lookup(metric)
    except registry.UnknownMetric as exc:
        if text is None:
            return str(exc)
        hint = re.search(r"\(did you mean '[^']+'\?\)", str(exc))
        return f"unknown metric {metric!r} in target {text!r}" + (f" {hint[0]}" if hint else "")
    if op not in (">=", "<="):
        return f"{where}use >= or <= (a target is a bound, not {op!r})"
    wanted = spec.bound
    if wanted is not None and op != wanted:
        return (f"{where}{metric} is better when {spec.better}, so its target is "
                f"{metric}{wanted}VALUE")
    if not math.isfinite(value):
        return f"{where}the value must be a finite number"
    unit = spec.unit_info
    if unit.name == "share" and not 0.0 <= value <= 1.0:
        return f"{where}{value:g} is outside [0, 1]; {metric} is a share (write 0.95 or 95%)"
    if unit.name == "seconds" and not value > 0:
        return f"{where}{metric} needs a positive number of seconds"
    if value < unit.lower:
        return f"{where}{metric} is never below {unit.lower:g} ({unit.name}), so {value:g} " \
               "cannot be a bound"
    return None


def parse_target(text: str) -> Target:
    """Read `METRIC>=VALUE` or `METRIC<=VALUE` (a share may be written as 95%)."""
    match = _TARGET.match(text if isinstance(text, str) else "")
    if not match:
        raise TargetError(f"cannot read target {text!r}: write METRIC>=VALUE or METRIC<=VALUE, "
                          f"e.g. {_EXAMPLE}")
    metric, percent = match["metric"], match["percent"]
    op = {"=>": ">=", "=<": "<="}.get(match["op"], match["op"])
    value = float(match["value"])
    if percent and registry.is_metric(metric):
        if not registry.is_share(metric):
            raise TargetError(f"target {text!r}: {metric} is in {registry.lookup(metric).unit}, "
                              "not a percentage")
        value /= 100.0
    problem = _problem(metric, op, value, text)
    if problem:
        raise TargetError(problem)
    return Target(metric, op, value)


def merge(base: list[Target], extra: list[Target]) -> list[Target]:
    """`base` with `extra` added; an extra target on a metric `base` already bounds the same
    way replaces it (the command line overrides the scenario)."""
    merged = {(t.metric, t.op): t for t in base}
    for target in extra:
        merged.pop((target.metric, target.op), None)
        merged[(target.metric, target.op)] = target
    return list(merged.values())


def scenario_targets(scenario, source: str = "<scenario>") -> list[Target]:
    """The scenario's `targets:`, each read and checked against the metric registry; a
    `ScenarioError` naming the file and the field (targets.N) for the first bad one, so a
    mistake stops the run before anything is simulated."""
    found: list[Target] = []
    names = set(registry.metric_names(scenario))
    for index, text in enumerate(scenario.targets):
        try:
            target = parse_target(text)
        except TargetError as exc:
            raise ScenarioError(f"{source}: targets.{index}: {exc}") from None
        if target.metric not in names:
            raise ScenarioError(f"{source}: targets.{index}: {target.metric!r} is not reported "
                                f"for this scenario (e.g. a group or a percentile it does not "
                                "have)")
        if any((t.metric, t.op) == (target.metric, target.op) for t in found):
            raise ScenarioError(f"{source}: targets.{index}: {target.metric} {target.op} is "
                                "bounded twice; keep one")
        found.append(target)
    return found


def parse_targets(texts, source: str = "--target") -> list[Target]:
    """Targets given as text (the command line's `--target`), with `source` in the message
    of a bad one."""
    found = []
    for text in texts or []:
        try:
            found.append(parse_target(text))
        except TargetError as exc:
            raise TargetError(f"{source}: {exc}") from None
    return found
