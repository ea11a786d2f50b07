"""Scenario files: the typed, validated, immutable description of one desk and its variants.

A scenario is YAML, read with the safe loader and checked once here; everything downstream
receives a frozen `Scenario`. Variants are named overrides of dotted paths applied to the raw
document before validation, so a variant is exactly as checked as the baseline.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim.distributions import COUNT_KINDS, Distribution, NonNegativeSeconds, PositiveSeconds
from sim.units import DAY_S, ClockTime

BASELINE = "baseline"

Clock = Annotated[ClockTime, BeforeValidator(ClockTime.parse), PlainSerializer(str)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s.][^.]*$")]
Probability = Annotated[float, Field(ge=0, le=1)]


class ScenarioError(Exception):
    """A scenario (or a file it names) that cannot be used, with a message for its author."""


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(Frozen):
    """A daily clock window, e.g. counted hours 08:00-23:00 or the bot's hours."""

    start: Clock
    end: Clock

    @model_validator(mode="after")
    def _ordered(self):
        if self.start.date or self.end.date:
            raise ValueError("a daily window takes clock times without a date, e.g. '08:00'")
        if self.end.seconds_of_day <= self.start.seconds_of_day:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self


class Horizon(Frozen):
    """The simulated span; times may carry dates to cover several days."""

    start: Clock
    end: Clock
    drain: NonNegativeSeconds = Field(
        default=3600.0,
        description="after the last arrival, keep serving open conversations this long",
    )

    @model_validator(mode="after")
    def _ordered(self):
        if self.end.date and not self.start.date:
            raise ValueError("give the start a date too when the end has one")
        if self.end_s <= self.start_s:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self

    @property
    def day0(self) -> dt.date | None:
        return self.start.date

    @property
    def start_s(self) -> float:
        return self.start.seconds_of_day

    @property
    def end_s(self) -> float:
        return self.end.seconds(self.day0)

    @property
    def days(self) -> int:
        """Number of calendar days the horizon touches."""
        return int((self.end_s - 1e-9) // DAY_S) + 1


class Spike(Frozen):
    """A burst of traffic: the rate is multiplied by 1 + (multiplier - 1) exp(-(t - at) / decay)."""

    at: Clock
    multiplier: float = Field(gt=0, le=1000)
    decay: PositiveSeconds
    ramp: NonNegativeSeconds = Field(
        default=0.0, description="linear build-up before `at` (0 = a step at `at`)"
    )


class MixChange(Frozen):
    """From a time on, conversations follow another topic mix (e.g. the after-sale wave)."""

    start: Clock = Field(alias="from")
    mix: dict[Name, Annotated[float, Field(ge=0)]]


class ArrivalCSV(Frozen):
    """Historical counts per interval, columns `start,count`, one row per interval."""

    path: str
    column: str = "count"


class Arrivals(Frozen):
    """Conversation arrivals: a non-homogeneous Poisson process, constant per interval."""

    interval: PositiveSeconds = 1800.0
    daily_volume: Annotated[float, Field(ge=0, le=1e8)] | None = None
    volume_per_day: dict[str, Annotated[float, Field(ge=0, le=1e8)]] | None = None
    profile: list[Annotated[float, Field(ge=0)]] | None = None
    rates_per_hour: list[Annotated[float, Field(ge=0, le=1e8)]] | None = None
    counts_csv: ArrivalCSV | None = None
    spikes: list[Spike] = []
    mix: dict[Name, Annotated[float, Field(ge=0)]]
    mix_changes: list[MixChange] = []
    overdispersion_cv: Annotated[float, Field(ge=0, le=5)] = 0.0
    reported_share: Probability = Field(
        default=0.0, description="share of buyers the shop reported or blacklisted"
    )

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: float) -> float:
        if value not in (900, 1800, 3600):
            raise ValueError("interval must be 15min, 30min or 1h")
        return float(value)

    @model_validator(mode="after")
    def _one_source(self):
        sources = [
            name
            for name, given in (
                ("daily_volume/volume_per_day + profile", self.profile is not None),
                ("rates_per_hour", self.rates_per_hour is not None),
                ("counts_csv", self.counts_csv is not None),
            )
            if given
        ]
        if len(sources) != 1:
            raise ValueError(
                "give exactly one arrival source: a profile with daily_volume or volume_per_day, "
                f"rates_per_hour, or counts_csv (got {', '.join(sources) or 'none'})"
            )
        if self.profile is not None:
            if (self.daily_volume is None) == (self.volume_per_day is None):
                raise ValueError("a profile needs exactly one of daily_volume or volume_per_day")
            per_day = int(DAY_S // self.interval)
            if len(self.profile) not in (24, per_day):
                raise ValueError(
                    f"profile needs 24 hourly weights or {per_day} weights (one per interval), "
                    f"got {len(self.profile)}"
                )
            if sum(self.profile) <= 0:
                raise ValueError("profile weights sum to zero")
        elif self.daily_volume is not None or self.volume_per_day is not None:
            raise ValueError("daily_volume/volume_per_day go with a profile only")
        if self.volume_per_day:
            for day in self.volume_per_day:
                try:
                    dt.date.fromisoformat(day)
                except ValueError:
                    raise ValueError(f"volume_per_day key {day!r} is not a date YYYY-MM-DD")
        if not self.mix or sum(self.mix.values()) <= 0:
            raise ValueError("mix needs at least one topic with a positive share")
        return self


class Topic(Frozen):
    """What conversations of one topic look like from the buyer's side."""

    messages: Distribution = Field(description="customer messages per conversation (a count)")
    think_time: Distribution = Field(
        description="time from an agent's reply to the buyer's next message"
    )
    patience: Distribution | None = Field(
        default=None,
        description="how long a buyer waits for the first human reply before leaving (none: forever)",
    )
    channel: Literal["chat", "phone"] = "chat"
    presale: bool = Field(
        default=False, description="conversations that may turn into orders (lost-order metric)"
    )

    @field_validator("messages")
    @classmethod
    def _count(cls, value):
        if value.dist not in COUNT_KINDS:
            raise ValueError(f"messages is a count: use one of {', '.join(COUNT_KINDS)}")
        if value.dist == "deterministic" and (value.value < 1 or value.value != int(value.value)):
            raise ValueError("a deterministic message count must be a whole number >= 1")
        if value.dist == "empirical" and any(v < 1 or v != int(v) for v in value.values):
            raise ValueError("empirical message counts must be whole numbers >= 1")
        return value


class Shift(Frozen):
    """Agents on duty from `start` for `length`, minus breaks; an undated start repeats daily."""

    start: Clock
    length: PositiveSeconds
    agents: Annotated[int, Field(ge=0, le=100_000)]
    breaks: list["Break"] = []

    @model_validator(mode="after")
    def _fits(self):
        if self.length > 2 * DAY_S:
            raise ValueError("a shift longer than 48h is surely a typo")
        for brk in self.breaks:
            if brk.after + brk.length > self.length:
                raise ValueError(f"a break ending at {brk.after + brk.length:.0f}s is past the shift")
        return self


class Break(Frozen):
    """A pause `after` this long into the shift, lasting `length`."""

    after: NonNegativeSeconds
    length: PositiveSeconds


Shift.model_rebuild()


class Schedule(Frozen):
    """Who is on duty: a headcount step table or a list of shifts."""

    headcount: dict[str, Annotated[int, Field(ge=0, le=100_000)]] | None = None
    shifts: list[Shift] | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.headcount is None) == (self.shifts is None):
            raise ValueError("give exactly one of headcount (a step table) or shifts")
        if self.headcount is not None:
            if not self.headcount:
                raise ValueError("headcount table is empty")
            times = [ClockTime.parse(key) for key in self.headcount]
            if len({t.date is None for t in times}) > 1:
                raise ValueError("headcount keys are all 'HH:MM' (daily) or all dated, not mixed")
        return self

    def steps(self) -> list[tuple[ClockTime, int]]:
        return sorted(
            ((ClockTime.parse(key), count) for key, count in (self.headcount or {}).items()),
            key=lambda item: (item[0].date or dt.date.min, item[0].seconds_of_day),
        )


class Standby(Frozen):
    """On-call or outsourced agents called in when the backlog or the oldest wait passes a limit.

    The backlog counts customer messages of the group's topics awaiting a reply, whether the
    conversation still waits for an agent or sits in a busy agent's open chats.
    """

    queue_length: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="call agents in when this many messages await a reply")
    oldest_wait: PositiveSeconds | None = Field(
        default=None, description="call agents in when a message has waited this long")
    activation_delay: NonNegativeSeconds = 600.0
    batch: Annotated[int, Field(ge=1)] = 1
    cap: Annotated[int, Field(ge=1, le=100_000)]
    stay: PositiveSeconds = 7200.0
    check_every: PositiveSeconds = 60.0
    activation_cost: Annotated[float, Field(ge=0)] = 0.0

    @model_validator(mode="after")
    def _trigger(self):
        if self.queue_length is None and self.oldest_wait is None:
            raise ValueError("a standby pool needs a trigger: queue_length or oldest_wait")
        return self


class Group(Frozen):
    """A team of agents sharing skills, a concurrency cap, reply speed, cost and schedule."""

    skills: list[Name] = Field(min_length=1)
    overflow_skills: list[Name] | None = Field(
        default=None, description="topics taken after the overflow wait (default: all)"
    )
    concurrency: Annotated[int, Field(ge=1, le=50)] = 5
    reply_time: Distribution
    reply_time_by_topic: dict[Name, Distribution] = {}
    proficiency: Annotated[float, Field(gt=0, le=10)] = 1.0
    hourly_cost: Annotated[float, Field(ge=0)] = 0.0
    end_of_shift: Literal["finish", "hand_back"] = "finish"
    schedule: Schedule | None = None
    standby: Standby | None = None

    @model_validator(mode="after")
    def _staffed(self):
        if self.schedule is None and self.standby is None:
            raise ValueError("a group needs a schedule, a standby pool, or both")
        return self

    def reply_dist(self, topic: str):
        return self.reply_time_by_topic.get(topic, self.reply_time)


class Bot(Frozen):
    """The shop bot: answers first, deflects some conversations, hands the rest to people."""

    enabled: bool = True
    deflection: dict[Name, Probability] = {}
    reply_delay: NonNegativeSeconds = 2.0
    handling_time: Distribution | None = None
    handover_delay: NonNegativeSeconds = 5.0
    hours: list[Window] = []
    replies_count: bool = Field(
        default=False, description="whether bot replies count as replies in platform metrics"
    )
    auto_greeting: bool = Field(
        default=False, description="answer every first message at once, even off bot hours"
    )


class Routing(Frozen):
    """How waiting conversations meet agents."""

    mode: Literal["dedicated", "pooled", "overflow"] = "dedicated"
    overflow_after: NonNegativeSeconds = 60.0
    discipline: Literal["fcfs", "priority"] = "fcfs"
    priority: list[Name] = []
    assignment: Literal["least_busy", "longest_idle"] = "least_busy"


class Conversion(Frozen):
    """Presale conversion as a decaying function of first response: base * 0.5^(t / half_life)."""

    base_rate: Probability = 0.42
    half_life: PositiveSeconds = 300.0
    order_value: Annotated[float, Field(ge=0)] = 100.0


class PinduoduoRule(Frozen):
    window: Window = Window(start="08:00", end="23:00")
    threshold: PositiveSeconds = 300.0


class TaobaoRule(Frozen):
    window: Window = Window(start="08:00", end="24:00")
    threshold: PositiveSeconds = 180.0
    bot_replies_count: bool = True


class JDRule(Frozen):
    excluded_from: Clock = ClockTime.parse("23:00")
    excluded_until: Clock = ClockTime.parse("09:00")
    threshold: PositiveSeconds = 30.0
    session_gap: NonNegativeSeconds = 600.0


class Metrics(Frozen):
    """Which platform's rules headline the report, and the settings of every rule."""

    preset: Literal["pinduoduo", "taobao", "jd"] = "pinduoduo"
    pinduoduo: PinduoduoRule = PinduoduoRule()
    taobao: TaobaoRule = TaobaoRule()
    jd: JDRule = JDRule()
    first_response_threshold: PositiveSeconds = 30.0
    percentiles: list[Annotated[float, Field(gt=0, lt=100)]] = [50, 80, 90, 95, 99]
    conversion: Conversion = Conversion()


class Scenario(Frozen):
    """One desk, one day or several: the complete input of a simulation run."""

    name: Name
    description: str = ""
    horizon: Horizon
    seed: Annotated[int, Field(ge=0)] = 0
    replications: Annotated[int, Field(ge=1, le=10_000)] = 5
    arrivals: Arrivals
    topics: dict[Name, Topic] = Field(min_length=1)
    groups: dict[Name, Group] = Field(min_length=1)
    bot: Bot = Bot(enabled=False)
    routing: Routing = Routing()
    metrics: Metrics = Metrics()
    variants: dict[Name, dict[str, Any]] = {}

    @model_validator(mode="after")
    def _consistent(self):
        topics = set(self.topics)
        known = f"known topics: {', '.join(sorted(topics))}"

        def check(names, where):
            for name in names:
                if name not in topics:
                    raise ValueError(f"{where} names topic {name!r}, which is not defined ({known})")

        check(self.arrivals.mix, "arrivals.mix")
        for change in self.arrivals.mix_changes:
            check(change.mix, "arrivals.mix_changes")
        check(self.bot.deflection, "bot.deflection")
        check(self.routing.priority, "routing.priority")
        for name, group in self.groups.items():
            check(group.skills, f"groups.{name}.skills")
            check(group.overflow_skills or [], f"groups.{name}.overflow_skills")
            check(group.reply_time_by_topic, f"groups.{name}.reply_time_by_topic")
        for topic in topics:
            if self.bot.enabled and self.bot.deflection.get(topic, 0.0) >= 1.0:
                continue
            if not self.groups_serving(topic):
                raise ValueError(
                    f"topic {topic!r} reaches people but no group can serve it "
                    f"(routing.mode={self.routing.mode}); add it to a group's skills"
                )
        if self.bot.enabled and any(p > 0 for p in self.bot.deflection.values()):
            if self.bot.handling_time is None:
                raise ValueError("bot.handling_time is needed when the bot deflects conversations")
        return self

    def groups_serving(self, topic: str) -> list[str]:
        """Groups that may ever take `topic` under the routing mode."""
        if self.routing.mode == "pooled":
            return list(self.groups)
        serving = [name for name, g in self.groups.items() if topic in g.skills]
        if self.routing.mode == "overflow":
            serving += [
                name
                for name, g in self.groups.items()
                if topic not in g.skills and (g.overflow_skills is None or topic in g.overflow_skills)
            ]
        return serving

    @property
    def variant_names(self) -> list[str]:
        return [BASELINE, *self.variants]


# ---------------------------------------------------------------------------------------------
# Loading


class _SafeLoader(yaml.SafeLoader):
    """The safe loader, refusing duplicate keys (a silent overwrite hides typos)."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_SafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _format_errors(source: str, exc: ValidationError, prefix: str = "") -> str:
    lines = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"] if not _is_union_tag(part))
        path = f"{prefix}{path}" if path else prefix.rstrip(".") or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/scenario-reference.md)"
        elif error["type"] == "missing":
            message = "required field is missing"
        lines.append(f"{source}: {path}: {message}")
    return "\n".join(dict.fromkeys(lines))


def _is_union_tag(part) -> bool:
    # Discriminated unions add the tag ('exponential', ...) and pydantic's function names to the
    # location; they say nothing to a scenario author.
    return isinstance(part, str) and (
        part in {"exponential", "lognormal", "gamma", "deterministic", "uniform", "empirical",
                 "geometric", "poisson"}
        or part.startswith(("function-", "constrained-", "lax-", "json-or-python"))
        or part in {"int", "float", "str"}
    )


def read_yaml(path: Path) -> Any:
    """Parse a YAML file with the safe loader; errors name the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    try:
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "python/" in str(exc) or "could not determine a constructor" in str(exc):
            problem = "tags such as !!python/... are not allowed in scenario files"
        raise ScenarioError(f"{path}: not valid YAML{where}: {problem}") from None


def set_dotted(document: dict, dotted: str, value: Any, source: str) -> None:
    """Set `a.b.c` in a nested dict/list document; every parent must exist."""
    parts = dotted.split(".")
    node: Any = document
    for depth, part in enumerate(parts[:-1]):
        where = ".".join(parts[: depth + 1])
        if isinstance(node, dict) and part in node and isinstance(node[part], (dict, list)):
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part not in node:
            node[part] = {}
            node = node[part]
        else:
            raise ScenarioError(f"{source}: {dotted}: {where} is not a section that can be set")
    last = parts[-1]
    if isinstance(node, list):
        if not (last.isdigit() and int(last) < len(node)):
            raise ScenarioError(f"{source}: {dotted}: {last} is not an index of the list")
        node[int(last)] = value
    else:
        node[last] = value


def _validate(document: Any, source: str, base_dir: Path, prefix: str = "") -> Scenario:
    try:
        return Scenario.model_validate(document, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ScenarioError(_format_errors(source, exc, prefix)) from None


def load_document(path: str | Path) -> tuple[dict, Path]:
    """The raw YAML mapping of a scenario file."""
    path = Path(path)
    document = read_yaml(path)
    if document is None:
        raise ScenarioError(f"{path}: the file is empty")
    if not isinstance(document, dict):
        raise ScenarioError(f"{path}: expected a mapping of scenario fields at the top level")
    return document, path


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and return a scenario; every variant is validated too."""
    document, path = load_document(path)
    return scenario_from_dict(document, source=str(path), base_dir=path.parent)


def scenario_from_dict(document: dict, source: str = "<scenario>", base_dir: Path | None = None
                       ) -> Scenario:
    """Validate a scenario given as a mapping (as from YAML); checks every variant."""
    base_dir = base_dir or Path.cwd()
    scenario = _validate(document, source, base_dir)
    if scenario.arrivals.counts_csv is not None:
        # Read the file now so a bad row fails at load time, and pin its absolute path so the
        # resolved scenario no longer depends on where it was loaded from.
        csv_spec = scenario.arrivals.counts_csv
        read_counts_csv(csv_spec, base_dir, scenario.arrivals.interval, scenario.horizon.day0)
        document = copy.deepcopy(document)
        document["arrivals"]["counts_csv"]["path"] = str((base_dir / csv_spec.path).resolve())
        scenario = _validate(document, source, base_dir)
    for name in scenario.variants:
        variant_document(document, name, source, base_dir)
    return scenario


def variant_document(document: dict, name: str, source: str, base_dir: Path) -> Scenario:
    """The scenario of variant `name`: the baseline with that variant's overrides applied."""
    if name == BASELINE:
        return _validate(document, source, base_dir)
    overrides = document.get("variants", {}).get(name)
    if overrides is None:
        raise ScenarioError(f"{source}: no variant named {name!r}")
    if not isinstance(overrides, dict):
        raise ScenarioError(f"{source}: variants.{name}: expected a mapping of dotted paths")
    derived = copy.deepcopy({k: v for k, v in document.items() if k != "variants"})
    for dotted, value in overrides.items():
        if not isinstance(dotted, str) or dotted.split(".")[0] in ("variants", "name"):
            raise ScenarioError(f"{source}: variants.{name}: {dotted!r} cannot be overridden")
        set_dotted(derived, dotted, copy.deepcopy(value), f"{source}: variants.{name}")
    return _validate(derived, source, base_dir, prefix=f"variants.{name} -> ")


def resolve_variants(scenario: Scenario, source: str = "<scenario>",
                     base_dir: Path | None = None) -> dict[str, Scenario]:
    """Every variant of a scenario as a full scenario, baseline first."""
    document = scenario.model_dump(mode="json", by_alias=True)
    base_dir = base_dir or Path.cwd()
    return {
        name: variant_document(document, name, source, base_dir)
        for name in scenario.variant_names
    }


def read_counts_csv(spec: ArrivalCSV, base_dir: Path, interval_s: float, day0: dt.date | None,
                    confine: bool = True) -> list[tuple[float, float]]:
    """Rows (start_s, count) of a historical counts file, checked line by line.

    With `confine`, the file must lie inside `base_dir` (the scenario's folder), so a scenario
    passed around cannot make the simulator read arbitrary files.
    """
    path = (base_dir / spec.path).resolve()
    try:
        if confine:
            path.relative_to(base_dir.resolve())
    except ValueError:
        raise ScenarioError(
            f"{spec.path}: arrivals.counts_csv must stay inside the scenario's folder"
        ) from None
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot open arrivals.counts_csv: {exc.strerror}") from None
    rows: list[tuple[float, float]] = []
    with handle:
        reader = csv.DictReader(handle)
        missing = {"start", spec.column} - set(reader.fieldnames or [])
        if missing:
            raise ScenarioError(f"{path}: line 1: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            try:
                start = ClockTime.parse(row["start"]).seconds(day0)
                count = float(row[spec.column])
            except (ValueError, TypeError) as exc:
                raise ScenarioError(f"{path}: line {line}: {exc}") from None
            if not count >= 0:
                raise ScenarioError(f"{path}: line {line}: count must be >= 0, got {count}")
            if rows:
                step = start - rows[-1][0]
                if step <= 0:
                    raise ScenarioError(f"{path}: line {line}: times out of order")
                if abs(step - interval_s) > 1e-6:
                    raise ScenarioError(
                        f"{path}: line {line}: rows are {step:.0f}s apart but "
                        f"arrivals.interval is {interval_s:.0f}s"
                    )
            rows.append((start, count))
    if not rows:
        raise ScenarioError(f"{path}: no rows")
    return rows
