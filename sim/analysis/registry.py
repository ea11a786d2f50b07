"""The metric registry: what every metric is, declared once.

Each metric has a name, a unit (`UNITS`), which way is better (higher, lower or neither), a
short label for tables and plots, and a one-line definition; how a value is shown follows from
the unit. Names that depend on the scenario (one occupancy per agent group, one wait per
percentile in `metrics.percentiles`) are declared as families (`Family`). Everything that shows
or judges a metric reads it from here: the terminal tables, the report, the plots, the verdicts
of a comparison, staffing and sweep targets, and the tables of docs/metrics.md. A name that is
neither a declared metric nor a member of a declared family raises `UnknownMetric`, so nothing
is ever guessed from the shape of a name.

Adding a metric is one function in `sim/analysis/metrics.py` (with its value added to the dict
`summarize` returns) and one entry in `ENTRIES` below; then run
`python -m sim.analysis.registry --write docs/metrics.md` to regenerate the doc's tables.
tests/test_registry.py fails when `summarize` emits a name the registry does not declare, or
when docs/metrics.md is out of step with it. A metric computed elsewhere (say, in a notebook)
is declared with `register` before it is compared or shown.
"""

from __future__ import annotations

import difflib
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# --- units --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """What a metric's numbers are, and so how they are shown."""

    name: str
    meaning: str
    axis: str            # the unit in a plot axis label
    style: str = "plain"  # "percent" (a share shown in %), "seconds" or "plain"
    lower: float = 0.0    # the range values lie in: confidence intervals and axes keep to it
    upper: float = math.inf

    @property
    def percent(self) -> bool:
        """Whether values are shares shown as percentages (and differences in points)."""
        return self.style == "percent"

    def format(self, value: float) -> str:
        """A value: 95.12%, 12.3s, 1,234 or 12.34 ('-' when undefined)."""
        if not math.isfinite(value):
            return "-"
        if self.style == "seconds":
            return f"{value:.1f}s"
        if self.style == "percent":
            return f"{100 * value:.2f}%"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.2f}"

    def format_difference(self, value: float) -> str:
        """A difference with its sign; shares in percentage points (+1.23pp)."""
        if not math.isfinite(value):
            return "-"
        if self.style == "seconds":
            return f"{value:+.1f}s"
        if self.style == "percent":
            return f"{100 * value:+.2f}pp"
        if abs(value) >= 1000:
            return f"{value:+,.0f}"
        return f"{value:+.2f}"

    def format_short(self, value: float) -> str:
        """A compact value for a plot cell: 95.1%, 12.3s, 30,712 or three significant digits."""
        if not math.isfinite(value):
            return "-"
        if self.style == "percent":
            return f"{100 * value:.1f}%"
        if self.style == "seconds":
            return f"{value:.1f}s" if abs(value) < 100 else f"{value:,.0f}s"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}"


UNITS = {unit.name: unit for unit in (
    Unit("share", "a share from 0 to 1, shown as a percentage", "%", "percent", upper=1.0),
    Unit("seconds", "seconds", "s", "seconds"),
    Unit("count", "a number of conversations, sessions, orders or agents", "count"),
    Unit("money", "the currency of the groups' hourly_cost (`metrics.currency`)", "money"),
    Unit("hours", "hours", "hours"),
    Unit("ratio", "a plain ratio of two counts", "ratio"),
)}

#: Which way is better; "neither" for metrics that describe the desk rather than judge it.
BETTER = ("higher", "lower", "neither")

#: The counted hours a metric may keep to (see `Metric.window`).
WINDOWS = (None, "all day", "pinduoduo", "taobao", "jd")

#: Sections of docs/metrics.md, one generated table each, in the doc's order.
SECTIONS = {
    "platform": "Platform rates",
    "waits": "Waits",
    "flow": "Flow, work and money",
}


# --- metrics and families -----------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One metric: its name, unit, which way is better, label and definition (and the section
    of docs/metrics.md that lists it; None for a metric declared with `register`)."""

    name: str
    unit: str
    better: str
    label: str
    definition: str
    section: str | None = None
    family: str | None = None  # the pattern of the family it belongs to, if any
    #: Whose counted hours the metric keeps to: "pinduoduo", "taobao" or "jd" (their
    #: `metrics.<platform>` windows), "all day", or None for metrics without a window.
    window: str | None = None

    def __post_init__(self):
        _check_fields(self.name, self.unit, self.better, self.section, self.definition)
        if self.window not in WINDOWS:
            raise ValueError(f"metric {self.name!r}: window must be one of "
                             f"{', '.join(str(w) for w in WINDOWS)}")

    @property
    def sign(self) -> int:
        """+1 when a higher value is better, -1 when lower is better, 0 when neither."""
        return {"higher": 1, "lower": -1, "neither": 0}[self.better]

    @property
    def bound(self) -> str | None:
        """The comparison a target on this metric makes: '>=' when higher is better, '<=' when
        lower is better, None when neither way is better."""
        return {"higher": ">=", "lower": "<=", "neither": None}[self.better]

    @property
    def unit_info(self) -> Unit:
        return UNITS[self.unit]

    def format(self, value: float) -> str:
        return self.unit_info.format(value)

    def format_difference(self, value: float) -> str:
        return self.unit_info.format_difference(value)


@dataclass(frozen=True)
class Family:
    """Metrics whose names depend on the scenario, e.g. `occupancy_<group>`: one per value of
    the placeholder, which `values` lists for a scenario and `accepts` checks in a name."""

    pattern: str
    unit: str
    better: str
    label: Callable[[str], str]
    definition: str
    section: str | None
    values: Callable[[object], list[str]]
    accepts: Callable[[str], bool]

    def __post_init__(self):
        _check_fields(self.pattern, self.unit, self.better, self.section, self.definition)
        if self.pattern.count("<") != 1 or self.pattern.count(">") != 1:
            raise ValueError(f"family {self.pattern!r}: one <placeholder> expected")

    @property
    def prefix(self) -> str:
        return self.pattern.split("<")[0]

    @property
    def suffix(self) -> str:
        return self.pattern.split(">")[1]

    def name(self, value: str) -> str:
        return f"{self.prefix}{value}{self.suffix}"

    def parameter(self, name: str) -> str | None:
        """The placeholder's value when `name` is a member of the family, else None."""
        if not (name.startswith(self.prefix) and name.endswith(self.suffix)):
            return None
        value = name[len(self.prefix):len(name) - len(self.suffix)]
        return value if value and self.accepts(value) else None

    def member(self, name: str) -> Metric | None:
        value = self.parameter(name)
        if value is None:
            return None
        return Metric(name, self.unit, self.better, self.label(value), self.definition,
                      self.section, family=self.pattern)

    def names(self, scenario) -> list[str]:
        """The members a scenario's runs report."""
        return [self.name(value) for value in self.values(scenario)]


def _check_fields(name: str, unit: str, better: str, section: str | None,
                  definition: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"metric {name!r}: unknown unit {unit!r} (units: {', '.join(UNITS)})")
    if better not in BETTER:
        raise ValueError(f"metric {name!r}: better must be one of {', '.join(BETTER)}")
    if section is not None and section not in SECTIONS:
        raise ValueError(f"metric {name!r}: unknown section {section!r}")
    if not definition or "\n" in definition or "|" in definition:
        raise ValueError(f"metric {name!r}: the definition must be one line without '|'")


def _percentile_text(value: str) -> bool:
    """Whether `value` is how `metrics.percentile_metrics` writes a percentile (`p:g`)."""
    try:
        number = float(value)
    except ValueError:
        return False
    return 0 < number < 100 and f"{number:g}" == value


def _ordinal(value: str) -> str:
    if not value.isdigit():
        return f"{value}th"
    number = int(value)
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10,
                                                                                    "th")
    return f"{value}{suffix}"


def _percentiles(scenario) -> list[str]:
    return [f"{p:g}" for p in scenario.metrics.percentiles]


def _groups(scenario) -> list[str]:
    return [str(name) for name in scenario.groups]


def _any_name(value: str) -> bool:
    return bool(value)


#: Every metric `metrics.summarize` reports, in the order of docs/metrics.md.
ENTRIES: tuple[Metric | Family, ...] = (
    # platform rates
    Metric("reply_rate_5min", "share", "higher", "5-min reply rate of buyers",
           "Pinduoduo: share of buyers none of whose counted messages sent in the counted hours "
           "waited over the threshold (5 min) or went unanswered because the buyer left; buyers "
           "with no such message are out", "platform", window="pinduoduo"),
    Metric("reply_rate_5min_allday", "share", "higher", "5-min reply rate of buyers, all day",
           "`reply_rate_5min` over the whole day: every counted message is judged", "platform",
           window="all day"),
    Metric("human_reply_rate_3min", "share", "higher", "3-min human reply rate",
           "Pinduoduo 3-minute human reply rate: as `reply_rate_5min` with a 3-min threshold, "
           "bot replies never counting", "platform", window="pinduoduo"),
    Metric("human_reply_rate_3min_allday", "share", "higher", "3-min human reply rate, all day",
           "`human_reply_rate_3min` over the whole day", "platform", window="all day"),
    Metric("answer_rate_30s", "share", "higher", "30-s answer rate",
           "Pinduoduo 30-second answer rate: share of buyers whose first human-phase message, "
           "sent in the counted hours, was answered within 30 s", "platform",
           window="pinduoduo"),
    Metric("answer_rate_30s_allday", "share", "higher", "30-s answer rate, all day",
           "`answer_rate_30s` over the whole day", "platform", window="all day"),
    Metric("taobao_response_rate_3min", "share", "higher", "Taobao 3-min response rate (turns)",
           "Taobao: share of turns started in the counted hours answered within the threshold "
           "(3 min)", "platform", window="taobao"),
    Metric("jd_answer_rate_30s", "share", "higher", "JD 30-s answer rate (sessions)",
           "JD: share of sessions answered within 30 s, leaving out sessions started in the "
           "excluded hours and offline sessions", "platform", window="jd"),
    Metric("jd_offline_sessions", "count", "lower", "JD offline sessions",
           "JD sessions started with no agent on duty (left out of `jd_answer_rate_30s`)",
           "platform"),
    # waits
    Metric("first_response_30s_rate", "share", "higher", "first response within 30 s",
           "share of buyers whose first counted message was answered within "
           "`metrics.first_response_threshold` (30 s); unanswered buyers count as not within. "
           "With bot replies not counting and a 30-s threshold it is `answer_rate_30s_allday`",
           "waits", window="all day"),
    Metric("first_response_mean_s", "seconds", "lower", "mean first response",
           "mean wait of the first counted message, over answered buyers", "waits"),
    Family("first_response_p<q>_s", "seconds", "lower",
           lambda q: f"{_ordinal(q)} pct first response",
           "percentile q (from `metrics.percentiles`) of the first counted message's wait, over "
           "answered buyers", "waits", _percentiles, _percentile_text),
    Metric("message_wait_mean_s", "seconds", "lower", "mean message wait",
           "mean wait of all answered counted messages", "waits"),
    Family("message_wait_p<q>_s", "seconds", "lower",
           lambda q: f"{_ordinal(q)} pct message wait",
           "percentile q (from `metrics.percentiles`) of all answered counted messages' waits",
           "waits", _percentiles, _percentile_text),
    # flow, work and money
    Metric("arrived", "count", "neither", "conversations arrived",
           "conversations that arrived", "flow"),
    Metric("served", "count", "neither", "conversations served",
           "conversations that ended served by people", "flow"),
    Metric("deflected", "count", "neither", "conversations deflected",
           "conversations the bot resolved without people", "flow"),
    Metric("abandoned", "count", "lower", "conversations abandoned",
           "conversations whose buyer left unanswered", "flow"),
    Metric("open_at_end", "count", "lower", "conversations open at the end",
           "conversations still open when the run ended", "flow"),
    Metric("abandon_rate", "share", "lower", "abandonment rate",
           "abandoned / conversations that reached people", "flow"),
    Metric("unanswered_rate", "share", "lower", "last message unanswered",
           "conversations whose last customer message got no reply (the buyer left, or was "
           "still waiting at the end) / conversations that reached people", "flow"),
    Metric("deflection_rate", "share", "neither", "bot deflection rate",
           "deflected / arrived", "flow"),
    Metric("occupancy", "share", "neither", "occupancy",
           "typing time / time on duty, all groups (including finishing after a shift)", "flow"),
    Family("occupancy_<group>", "share", "neither", lambda group: f"occupancy of {group}",
           "`occupancy` of one agent group", "flow", _groups, _any_name),
    Metric("agent_hours", "hours", "neither", "agent hours",
           "hours on duty, all groups", "flow"),
    Metric("conversations_per_agent", "ratio", "neither", "conversations per agent",
           "conversations assigned per agent who worked", "flow"),
    Metric("conversations_per_agent_hour", "ratio", "neither", "conversations per agent hour",
           "conversations assigned per agent hour on duty", "flow"),
    Metric("cost", "money", "lower", "cost",
           "agent hours x the group's `hourly_cost`, plus `activation_cost` per standby agent "
           "called", "flow"),
    Metric("standby_activations", "count", "neither", "standby agents called",
           "standby agents called in", "flow"),
    Metric("lost_orders", "count", "lower", "lost presale orders",
           "over presale topics: sum of `base_rate x (1 - 0.5^(first_response / half_life))`, "
           "the whole `base_rate` for a buyer never answered (`metrics.conversion`)", "flow"),
    Metric("lost_gmv", "money", "lower", "lost GMV", "`lost_orders x order_value`", "flow"),
)

METRICS: dict[str, Metric] = {e.name: e for e in ENTRIES if isinstance(e, Metric)}
FAMILIES: dict[str, Family] = {e.pattern: e for e in ENTRIES if isinstance(e, Family)}

#: Headline metrics of each platform preset (shown first).
PRESET_METRICS = {
    "pinduoduo": ["reply_rate_5min", "human_reply_rate_3min", "answer_rate_30s"],
    "taobao": ["taobao_response_rate_3min"],
    "jd": ["jd_answer_rate_30s"],
}
#: Further metrics in printed tables and the report, after the preset's.
TABLE_METRICS = [
    "first_response_30s_rate", "first_response_mean_s", "first_response_p90_s",
    "message_wait_mean_s", "message_wait_p95_s", "abandon_rate", "deflection_rate",
    "occupancy", "agent_hours", "cost", "lost_orders", "arrived",
]
#: Table metrics a preset leaves out because one of its own rates says the same: with
#: Pinduoduo's rule (bot replies not counting) `first_response_30s_rate` is
#: `answer_rate_30s_allday`, the whole-day twin of the preset's `answer_rate_30s`.
PRESET_OMITS = {"pinduoduo": ["first_response_30s_rate"]}


class UnknownMetric(KeyError):
    """A name that is neither a declared metric nor a member of a declared family."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown metric"


# --- lookups --------------------------------------------------------------------------------


def lookup(name: str) -> Metric:
    """The metric called `name`, a member of a family included; `UnknownMetric` otherwise."""
    metric = METRICS.get(name)
    if metric is not None:
        return metric
    if not isinstance(name, str):
        raise UnknownMetric(f"unknown metric {name!r}: metric names are strings")
    for family in FAMILIES.values():
        member = family.member(name)
        if member is not None:
            return member
    close = difflib.get_close_matches(str(name), list(METRICS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UnknownMetric(
        f"unknown metric {name!r}{hint}: neither a metric nor a member of a family declared in "
        f"sim.analysis.registry (families: {', '.join(FAMILIES)})")


def is_metric(name: str) -> bool:
    try:
        lookup(name)
    except UnknownMetric:
        return False
    return True


def label(name: str) -> str:
    """A short plain-language name for tables and plot titles."""
    return lookup(name).label


def better(name: str) -> str:
    """'higher', 'lower' or 'neither'."""
    return lookup(name).better


def direction(name: str) -> int:
    """+1 when a higher value is better, -1 when lower is better, 0 when neither."""
    return lookup(name).sign


def unit(name: str) -> Unit:
    return lookup(name).unit_info


def is_share(name: str) -> bool:
    """Whether the metric is a share (0..1), shown as a percentage."""
    return lookup(name).unit_info.percent


def format_value(name: str, value: float) -> str:
    """A metric's value in its unit: 95.12%, 12.3s, 1,234 or 12.34 ('-' when undefined)."""
    return lookup(name).format(value)


def format_difference(name: str, value: float) -> str:
    """A difference with its sign, shares in percentage points: +1.23pp, -4.5s, +12.00."""
    return lookup(name).format_difference(value)


def format_short(name: str, value: float) -> str:
    """A compact value for a plot cell: 95.1% or three significant digits."""
    return lookup(name).unit_info.format_short(value)


def key_metrics(preset: str = "pinduoduo") -> list[str]:
    """The metrics a table shows: the preset's headline ones, the 5-minute reply rate in the
    counted hours and over the whole day (a spike outside the counted hours shows only in the
    second), then the rest."""
    omitted = set(PRESET_OMITS.get(preset, []))
    names = list(dict.fromkeys(_preset(preset) + ["reply_rate_5min"]))
    names.insert(names.index("reply_rate_5min") + 1, "reply_rate_5min_allday")
    names += [name for name in TABLE_METRICS if name not in omitted]
    return list(dict.fromkeys(names))


def headline(preset: str = "pinduoduo") -> str:
    """The preset's first headline metric (its platform's main rate)."""
    return _preset(preset)[0]


def counted_hours(name: str, scenario) -> str | None:
    """The hours a metric counts in a scenario, in words: '08:00-23:00', 'all day',
    'sessions started 09:00-23:00'; None for a metric without a window."""
    window = lookup(name).window
    if window is None or window == "all day":
        return window
    if window == "jd":
        rule = scenario.metrics.jd
        return f"sessions started {rule.excluded_until}-{rule.excluded_from}"
    rule = getattr(scenario.metrics, window).window
    return f"{rule.start}-{rule.end}"


def describe(name: str, scenario=None) -> str:
    """The metric's label with its counted hours when it has any: '5-min reply rate of buyers,
    08:00-23:00'; the plain label without a scenario."""
    text = label(name)
    hours = counted_hours(name, scenario) if scenario is not None else None
    if hours is None or hours in text:
        return text
    return f"{text}, {hours}"


def unit_label(name: str, scenario=None) -> str:
    """The unit of a metric for an axis or a column: %, s, count, or the scenario's currency
    (`metrics.currency`) for money."""
    unit = lookup(name).unit_info
    if unit.name == "money" and scenario is not None:
        return str(scenario.metrics.currency)
    return unit.axis


def _preset(preset: str) -> list[str]:
    if preset not in PRESET_METRICS:
        raise KeyError(f"unknown platform preset {preset!r} (presets: "
                       f"{', '.join(PRESET_METRICS)})")
    return list(PRESET_METRICS[preset])


def bound(name: str) -> str | None:
    """The comparison a target on the metric makes: '>=' when higher is better, '<=' when lower
    is better, None when neither way is better (a target must then say which it is)."""
    return lookup(name).bound


def target_direction(name: str) -> str | None:
    """A sweep target's default direction: 'at_least' when higher is better, 'at_most' when
    lower is better, None when neither way is better."""
    return {">=": "at_least", "<=": "at_most", None: None}[bound(name)]


def metric_names(scenario) -> list[str]:
    """Every metric name a run of `scenario` reports, families expanded for its agent groups
    and percentiles."""
    names: list[str] = []
    for entry in ENTRIES:
        names.extend([entry.name] if isinstance(entry, Metric) else entry.names(scenario))
    return names


def register(entry: Metric | Family) -> None:
    """Declare a metric (or family) computed outside `summarize`, e.g. in a notebook, so that
    comparisons, tables and plots can judge and show it. Declaring the same entry again does
    nothing; a different declaration of a known name is refused."""
    if isinstance(entry, Metric):
        if entry.family is not None:
            raise ValueError(f"{entry.name!r} is a member of family {entry.family!r}")
        known = METRICS.get(entry.name)
        owners = [f.pattern for f in FAMILIES.values() if f.parameter(entry.name) is not None]
        if known is None and owners:
            raise ValueError(f"{entry.name!r} is already a member of family {owners[0]!r}")
        if known is not None and known != entry:
            raise ValueError(f"metric {entry.name!r} is already declared differently")
        METRICS[entry.name] = entry
    elif isinstance(entry, Family):
        known = FAMILIES.get(entry.pattern)
        if known is not None and known != entry:
            raise ValueError(f"family {entry.pattern!r} is already declared differently")
        members = [n for n in METRICS if entry.parameter(n) is not None]
        if members:
            raise ValueError(f"family {entry.pattern!r} would take in metric {members[0]!r}")
        FAMILIES[entry.pattern] = entry
    else:
        raise TypeError(f"register takes a Metric or a Family, not {type(entry).__name__}")


def _check_registry() -> None:
    """Declarations that would make a lookup ambiguous, a list name nothing or the doc miss an
    entry."""
    for name in METRICS:
        owners = [f.pattern for f in FAMILIES.values() if f.parameter(name) is not None]
        if owners:
            raise ValueError(f"metric {name!r} is also a member of family {owners[0]!r}")
    for entry in ENTRIES:
        if entry.section is None:
            name = entry.name if isinstance(entry, Metric) else entry.pattern
            raise ValueError(f"{name}: no section of docs/metrics.md")
    for name in [*TABLE_METRICS, *(n for names in PRESET_METRICS.values() for n in names),
                 *(n for names in PRESET_OMITS.values() for n in names)]:
        lookup(name)


_check_registry()


# --- docs/metrics.md ----------------------------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
_BEGIN = "<!-- metrics table: {section}; generated by python -m sim.analysis.registry -->"
_END = "<!-- end metrics table -->"
_BLOCK = re.compile(
    r"<!-- metrics table: (?P<section>[a-z_]+);[^>]*-->\n.*?<!-- end metrics table -->", re.DOTALL)


def doc_table(section: str) -> str:
    """The Markdown table of one section: metric, unit, which way is better, definition."""
    if section not in SECTIONS:
        raise KeyError(f"unknown section {section!r} (sections: {', '.join(SECTIONS)})")
    rows = ["| metric | unit | better | definition |", "|---|---|---|---|"]
    for entry in ENTRIES:
        if entry.section != section:
            continue
        name = entry.name if isinstance(entry, Metric) else entry.pattern
        rows.append(f"| `{name}` | {entry.unit} | {entry.better} | {entry.definition} |")
    return "\n".join(rows)


def doc_block(section: str) -> str:
    """A section's table between its marker comments."""
    return f"{_BEGIN.format(section=section)}\n{doc_table(section)}\n{_END}"


def update_doc(text: str) -> str:
    """`text` with every marked table replaced by the registry's; each section's markers must
    be there exactly once."""
    found = [m["section"] for m in _BLOCK.finditer(text)]
    for section in SECTIONS:
        if found.count(section) != 1:
            raise ValueError(f"the doc has {found.count(section)} tables marked "
                             f"'{_BEGIN.format(section=section)}' ... '{_END}' (one expected)")
    unknown = [s for s in found if s not in SECTIONS]
    if unknown:
        raise ValueError(f"the doc marks a table of unknown section {unknown[0]!r} "
                         f"(sections: {', '.join(SECTIONS)})")
    return _BLOCK.sub(lambda m: doc_block(m["section"]), text)


USAGE = """usage: python -m sim.analysis.registry [--write FILE | --check FILE]

Print the metric tables generated from the registry; with --write, rewrite the tables between
the marker comments of FILE (docs/metrics.md); with --check, report (status 1) when they differ
from the registry."""


def tables_text() -> str:
    """Every section's generated table between its markers, under the section's title."""
    return "\n\n".join(f"{title}:\n\n{doc_block(section)}" for section, title in SECTIONS.items())


def main(argv: list[str]) -> int:
    """`python -m sim.analysis.registry [--write FILE | --check FILE]`; returns the status
    (0 done or in step, 1 out of step, 2 bad arguments or file)."""
    if not argv:
        print(tables_text())
        return 0
    if argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if len(argv) != 2 or argv[0] not in ("--write", "--check"):
        print(USAGE, file=sys.stderr)
        return 2
    action, path = argv[0], Path(argv[1])
    try:
        text = path.read_text(encoding="utf-8")
        updated = update_doc(text)
    except (OSError, ValueError) as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 2
    if action == "--check":
        if updated != text:
            print(f"{path}: the metric tables differ from the registry; run "
                  f"python -m sim.analysis.registry --write {path}", file=sys.stderr)
            return 1
        return 0
    if updated != text:
        path.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
