"""Scenario files: the typed, validated, immutable description of one desk and its variants.

A scenario is YAML, read with the safe loader and checked once here; everything downstream
receives a frozen `Scenario`. Variants are named overrides of dotted paths applied to the raw
document before validation, so a variant is exactly as checked as the baseline.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from sim.scenario.distributions import (
    COUNT_KINDS,
    KINDS,
    Distribution,
    NonNegativeSeconds,
    PositiveSeconds,
)
from sim.units import DAY_S, ClockTime, parse_duration

BASELINE = "baseline"

Clock = Annotated[ClockTime, BeforeValidator(ClockTime.parse), PlainSerializer(str)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s.][^.\r\n\t\f\v]*$")]
Probability = Annotated[float, Field(ge=0, le=1)]
#: Relative weights (topic shares, profile values): normalised by their sum, so bounded only
#: to keep that sum finite.
Weight = Annotated[float, Field(ge=0, le=1e12)]


class Frozen(BaseModel):
    # Infinite or NaN numbers are always typos in a scenario (and would poison costs and rates).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Window(Frozen):
    """A daily clock window, e.g. counted hours 08:00-23:00 or the bot's hours."""

    start: Clock = Field(description="first second of the window, e.g. '08:00'")
    end: Clock = Field(description="end of the window (exclusive), e.g. '23:00' or '24:00'")

    @model_validator(mode="after")
    def _ordered(self):
        if self.start.date or self.end.date:
            raise ValueError("a daily window takes clock times without a date, e.g. '08:00'")
        if self.end.seconds_of_day <= self.start.seconds_of_day:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self


class Horizon(Frozen):
    """The simulated span; times may carry dates to cover several days."""

    start: Clock = Field(description="when arrivals begin; give a date for multi-day horizons")
    end: Clock = Field(description="when arrivals stop ('24:00' is midnight at the end of the day)")
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

    at: Clock = Field(description="when the burst peaks, e.g. '2026-11-11 00:00'")
    multiplier: float = Field(
        gt=0, le=1000, description="rate multiplier at the peak (1 = no spike)"
    )
    decay: PositiveSeconds = Field(
        description="time constant of the exponential decay after the peak"
    )
    ramp: NonNegativeSeconds = Field(
        default=0.0, description="linear build-up before `at` (0 = a step at `at`)"
    )


class MixChange(Frozen):
    """From a time on, conversations follow another topic mix (e.g. the after-sale wave)."""

    start: Clock = Field(alias="from", description="from this time on (YAML key `from`)")
    mix: dict[Name, Weight] = Field(
        description="topic shares (normalised) from then on"
    )


class ArrivalCSV(Frozen):
    """Historical counts per interval, columns `start,count`, one row per interval."""

    path: str = Field(description="CSV file relative to the scenario, inside its folder")
    column: str = Field(
        "count", description="column holding the counts (the time column is `start`)"
    )


class Arrivals(Frozen):
    """Conversation arrivals: a non-homogeneous Poisson process, constant per interval."""

    interval: PositiveSeconds = Field(
        1800.0, description="length of an interval with constant rate: 15min, 30min or 1h"
    )
    daily_volume: Annotated[float, Field(ge=0, le=1e8)] | None = Field(
        None, description="expected conversations per day (with `profile`)"
    )
    volume_per_day: dict[str, Annotated[float, Field(ge=0, le=1e8)]] | None = Field(
        None, description="expected conversations per date 'YYYY-MM-DD' (with `profile`)"
    )
    profile: list[Weight] | None = Field(
        None, description="intraday weights: 24 hourly values or one per interval"
    )
    rates_per_hour: list[Annotated[float, Field(ge=0, le=1e8)]] | None = Field(
        None,
        description="conversations per hour: 24 hourly values or one per interval of a day "
        "(both repeat daily), or one per interval of the horizon",
    )
    counts_csv: ArrivalCSV | None = Field(None, description="historical counts per interval")
    spikes: list[Spike] = Field(
        [], description="bursts on top of the base rate, e.g. the Double 11 opening"
    )
    mix: dict[Name, Weight] = Field(
        description="topic shares of arriving conversations (normalised)"
    )
    mix_changes: list[MixChange] = Field(
        [], description="later topic mixes, e.g. an after-sale wave"
    )
    overdispersion_cv: Annotated[float, Field(ge=0, le=5)] = Field(
        0.0,
        description="coefficient of variation of a gamma factor on each day's volume "
        "(0 = plain Poisson)",
    )
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


def _whole(value: object) -> bool:
    """Whether a count as written is a whole number (`3`, `3.0`, `'3'`; not `3min`, `2.5`)."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return False
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or value.is_integer()


def _quoted(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Topic(Frozen):
    """What conversations of one topic look like from the buyer's side."""

    messages: Distribution = Field(description="customer messages per conversation (a count)")
    think_time: Distribution = Field(
        description="time from an agent's reply to the buyer's next message"
    )
    patience: Distribution | None = Field(
        default=None,
        description="how long a buyer waits for the first human reply before leaving "
        "(none: forever)",
    )
    channel: Literal["chat", "phone"] = Field(
        "chat", description="chat, or phone (occupies an agent entirely)"
    )
    presale: bool = Field(
        default=False, description="conversations that may turn into orders (lost-order metric)"
    )

    @field_validator("messages", mode="before")
    @classmethod
    def _count_document(cls, value):
        """Refuse a duration distribution, or a count that is no number, before the
        distribution's own checks: they would ask for its other fields or read a duration."""
        if not isinstance(value, dict) or not isinstance(value.get("dist"), str):
            return value
        kind = value["dist"]
        if kind in KINDS and kind not in COUNT_KINDS:
            raise ValueError(f"messages is a count: use one of {', '.join(COUNT_KINDS)}")
        if kind == "deterministic" and "value" in value and not _whole(value["value"]):
            raise ValueError(f"{_quoted(value['value'])} is not a whole number of messages")
        if kind == "empirical" and isinstance(value.get("values"), list):
            for index, item in enumerate(value["values"]):
                if not _whole(item):
                    raise ValueError(
                        f"values.{index}: {_quoted(item)} is not a whole number of messages")
        return value

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

    start: Clock = Field(description="start of the shift; an undated time repeats every day")
    length: PositiveSeconds = Field(description="length of the shift including breaks")
    agents: Annotated[int, Field(ge=0, le=100_000)] = Field(description="agents working this shift")
    breaks: list[Break] = Field([], description="pauses within the shift")

    @model_validator(mode="after")
    def _fits(self):
        if self.length > 2 * DAY_S:
            raise ValueError("a shift longer than 48h is surely a typo")
        if self.start.date is None and self.length > DAY_S:
            # Each day's repetition would still be on duty when the next one starts.
            raise ValueError("a daily shift (a start without a date) lasts at most 24h; give "
                             "the start a date for a longer one")
        for brk in self.breaks:
            if brk.after + brk.length > self.length:
                raise ValueError(
                    f"a break ending at {brk.after + brk.length:.0f}s is past the shift"
                )
        return self


class Break(Frozen):
    """A pause `after` this long into the shift, lasting `length`."""

    after: NonNegativeSeconds = Field(description="time from the shift's start to the break")
    length: PositiveSeconds = Field(description="length of the break")


Shift.model_rebuild()


class Schedule(Frozen):
    """Who is on duty: a headcount step table or a list of shifts."""

    headcount: dict[str, Annotated[int, Field(ge=0, le=100_000)]] | None = Field(
        None, description="agents on duty from each time on: keys 'HH:MM' (daily) or all dated"
    )
    shifts: list[Shift] | None = Field(None, description="explicit shifts")

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
        default=None, description="call agents in when this many messages await a reply"
    )
    oldest_wait: PositiveSeconds | None = Field(
        default=None, description="call agents in when a message has waited this long"
    )
    activation_delay: NonNegativeSeconds = Field(
        600.0, description="time from the call to the agents being online"
    )
    batch: Annotated[int, Field(ge=1)] = Field(1, description="agents called per activation")
    cap: Annotated[int, Field(ge=1, le=100_000)] = Field(
        description="most standby agents active at once"
    )
    stay: PositiveSeconds = Field(
        7200.0, description="how long a called agent stays before going home"
    )
    check_every: Annotated[float, BeforeValidator(parse_duration), Field(ge=1)] = Field(
        60.0, description="how often the trigger is checked (at least 1 s)")
    activation_cost: Annotated[float, Field(ge=0, le=1e7)] = Field(
        0.0, description="cost per agent called in (on top of hourly cost)"
    )

    @model_validator(mode="after")
    def _trigger(self):
        if self.queue_length is None and self.oldest_wait is None:
            raise ValueError("a standby pool needs a trigger: queue_length or oldest_wait")
        return self


class Group(Frozen):
    """A team of agents sharing skills, a concurrency cap, reply speed, cost and schedule."""

    skills: list[Name] = Field(min_length=1, description="topics the group takes at once")
    overflow_skills: list[Name] | None = Field(
        default=None, description="topics taken after the overflow wait (default: all)"
    )
    concurrency: Annotated[int, Field(ge=1, le=50)] = Field(
        5, description="most open conversations per agent (chat windows)"
    )
    reply_time: Distribution = Field(description="typing time of one reply")
    reply_time_by_topic: dict[Name, Distribution] = Field(
        {}, description="reply time for particular topics, overriding `reply_time`"
    )
    proficiency: Annotated[float, Field(gt=0, le=10)] = Field(
        1.0, description="speed factor: reply times are divided by it"
    )
    hourly_cost: Annotated[float, Field(ge=0, le=1e6)] = Field(
        0.0, description="cost per agent hour on duty"
    )
    end_of_shift: Literal["finish", "hand_back"] = Field(
        "finish", description="at shift end: finish open chats, or hand them back to the queue"
    )
    schedule: Schedule | None = Field(None, description="who is on duty when")
    standby: Standby | None = Field(None, description="agents called in on demand")
    reply_time_factor_by_open: list[Annotated[float, Field(gt=0, le=100)]] | None = Field(
        None, min_length=1,
        description="typing time factor by the open chats the agent holds when it starts a "
        "reply: the first value for 1 open chat, the second for 2, ...; the last value also "
        "for more (none: reply time does not depend on open chats)",
    )

    @model_validator(mode="after")
    def _staffed(self):
        if self.schedule is None and self.standby is None:
            raise ValueError("a group needs a schedule, a standby pool, or both")
        return self

    @model_validator(mode="after")
    def _open_factors(self):
        factors = self.reply_time_factor_by_open
        if factors is not None and len(factors) > self.concurrency:
            raise ValueError(
                f"reply_time_factor_by_open: {len(factors)} factors for a concurrency of "
                f"{self.concurrency} (at most one per open chat)")
        return self

    def reply_dist(self, topic: str):
        return self.reply_time_by_topic.get(topic, self.reply_time)


class Bot(Frozen):
    """The shop bot: answers first, deflects some conversations, hands the rest to people."""

    enabled: bool = Field(True, description="whether a bot answers first")
    deflection: dict[Name, Probability] = Field(
        {}, description="probability per topic that the bot settles the conversation"
    )
    reply_delay: NonNegativeSeconds = Field(2.0, description="time to the bot's first answer")
    handling_time: Distribution | None = Field(
        None, description="time the bot spends before settling or handing over"
    )
    handover_delay: NonNegativeSeconds = Field(
        5.0, description="time from the bot giving up to the conversation reaching the queue"
    )
    hours: list[Window] = Field([], description="daily windows when the bot runs (empty: all day)")
    replies_count: bool = Field(
        default=False, description="whether bot replies count as replies in platform metrics"
    )
    auto_greeting: bool = Field(
        default=False, description="answer every first message at once, even off bot hours"
    )

    @property
    def hours_s(self) -> tuple[tuple[float, float], ...]:
        """The bot's daily windows as (start, end) seconds of the day; empty means all day."""
        return tuple((w.start.seconds_of_day, w.end.seconds_of_day) for w in self.hours)

    def active_at(self, t_s: float) -> bool:
        """Whether the bot answers a conversation arriving at `t_s`."""
        return bot_active(self.enabled, self.hours_s, t_s)


def bot_active(enabled: bool, hours_s: tuple[tuple[float, float], ...], t_s: float) -> bool:
    """The one bot-hours rule: on, and inside one of its daily windows (none: all day).

    A plain function of precomputed windows so the engine can call it once per arrival."""
    if not enabled:
        return False
    if not hours_s:
        return True
    tod = t_s % DAY_S
    return any(lo <= tod < hi for lo, hi in hours_s)


class Routing(Frozen):
    """How waiting conversations meet agents."""

    mode: Literal["dedicated", "pooled", "overflow"] = Field(
        "dedicated",
        description="dedicated: groups take their skills; pooled: anyone takes anything; "
        "overflow: others help after a wait",
    )
    overflow_after: NonNegativeSeconds = Field(
        60.0, description="wait after which other groups may take a conversation (overflow mode)"
    )
    discipline: Literal["fcfs", "priority"] = Field(
        "fcfs",
        description="which waiting conversation a freed agent takes: oldest first, or by "
        "topic priority",
    )
    priority: list[Name] = Field([], description="topics in priority order (discipline: priority)")
    assignment: Literal["least_busy", "longest_idle"] = Field(
        "least_busy", description="which free agent gets a conversation"
    )


class Conversion(Frozen):
    """Presale conversion as a decaying function of first response: base * 0.5^(t / half_life)."""

    base_rate: Probability = Field(
        0.42, description="conversion of a presale buyer answered at once"
    )
    half_life: PositiveSeconds = Field(
        300.0, description="first-response time that halves the conversion"
    )
    order_value: Annotated[float, Field(ge=0, le=1e7)] = Field(
        100.0, description="value of an order, for lost GMV"
    )


class PinduoduoRule(Frozen):
    window: Window = Field(Window(start="08:00", end="23:00"), description="counted hours")
    threshold: PositiveSeconds = Field(
        300.0, description="a buyer is unreplied if any message waits longer"
    )


class TaobaoRule(Frozen):
    window: Window = Field(
        Window(start="08:00", end="24:00"), description="counted hours (turns started inside)"
    )
    threshold: PositiveSeconds = Field(
        180.0, description="a turn counts as answered in time within this"
    )
    bot_replies_count: bool = Field(True, description="bots of approved vendors count as answers")


class JDRule(Frozen):
    excluded_from: Clock = Field(
        ClockTime.parse("23:00"), description="sessions started from this time ..."
    )
    excluded_until: Clock = Field(
        ClockTime.parse("09:00"), description="... until this time are excluded"
    )
    threshold: PositiveSeconds = Field(30.0, description="first answer within this counts")
    session_gap: NonNegativeSeconds = Field(
        600.0, description="a buyer back within this of a session's close continues it"
    )


class Metrics(Frozen):
    """Which platform's rules headline the report, and the settings of every rule."""

    preset: Literal["pinduoduo", "taobao", "jd"] = Field(
        "pinduoduo", description="the platform whose rules headline the printed table"
    )
    pinduoduo: PinduoduoRule = Field(PinduoduoRule(), description="Pinduoduo rules (per buyer)")
    taobao: TaobaoRule = Field(TaobaoRule(), description="Taobao rules (per turn)")
    jd: JDRule = Field(JDRule(), description="JD rules (per session)")
    first_response_threshold: PositiveSeconds = Field(
        30.0, description="threshold of first_response_30s_rate"
    )
    percentiles: list[Annotated[float, Field(gt=0, lt=100)]] = Field(
        [50, 80, 90, 95, 99],
        max_length=20,
        description="percentiles reported for first response and message waits (at most 20)",
    )
    conversion: Conversion = Field(
        Conversion(), description="conversion-vs-first-response curve for lost orders"
    )
    currency: Annotated[str, Field(min_length=1, max_length=12, pattern=r"^\S+$")] = Field(
        "CNY", description="the currency of `hourly_cost`, costs and GMV, as tables and plots "
        "label money (e.g. CNY, USD, 元)"
    )


#: Scenario warnings (`sim.lint`): legal settings that are almost certainly mistakes.
WARNING_CODES = ("unstaffed_group", "idle_concurrency", "patience_before_handover")

#: A target as written: METRIC>=VALUE or METRIC<=VALUE, a share also as 95%; the metric and
#: the value are checked against the metric registry by `sim.analysis.targets`.
TargetText = Annotated[str, Field(min_length=3, max_length=200)]


class Warnings(Frozen):
    """Scenario warnings to leave unsaid: legal settings that are almost certainly mistakes,
    printed on stderr before a run (docs/robustness.md, Scenario warnings)."""

    ignore: list[Literal[WARNING_CODES]] = Field(
        [], description="warning codes to silence: " + ", ".join(WARNING_CODES)
    )


class Scenario(Frozen):
    """One desk, one day or several: the complete input of a simulation run."""

    name: Name = Field(description="short name; the default output folder is out/<name>/")
    description: str = Field("", description="what the scenario represents (shown in reports)")
    horizon: Horizon = Field(description="the simulated span")
    seed: Annotated[int, Field(ge=0)] = Field(0, description="seed of the random streams")
    replications: Annotated[int, Field(ge=1, le=10_000)] = Field(
        5, description="independent replications per variant"
    )
    arrivals: Arrivals = Field(description="when conversations arrive and their topics")
    topics: dict[Name, Topic] = Field(min_length=1, description="conversation types by topic name")
    groups: dict[Name, Group] = Field(min_length=1, description="agent groups by name")
    bot: Bot = Field(Bot(enabled=False), description="the shop bot (off unless given)")
    routing: Routing = Field(Routing(), description="routing and assignment policy")
    metrics: Metrics = Field(Metrics(), description="metric settings")
    variants: dict[Name, dict[str, Any]] = Field(
        {}, description="named overrides of dotted paths, compared on the same customers"
    )
    targets: list[TargetText] = Field(
        [], max_length=20,
        description="what the desk must achieve, e.g. 'reply_rate_5min>=0.95' or "
        "'first_response_mean_s<=30': every output opens with whether each is met",
    )
    warnings: Warnings = Field(Warnings(), description="scenario warnings to silence")

    @model_validator(mode="after")
    def _consistent(self):
        # Cross-field problems start with the dotted path they concern ("path: problem"), which
        # the error formatter turns into the field path of the message.
        topics = set(self.topics)
        known = f"known topics: {', '.join(sorted(topics))}"

        def check(names, where):
            for name in names:
                if name not in topics:
                    raise ValueError(f"{where}: topic {name!r} is not defined ({known})")

        check(self.arrivals.mix, "arrivals.mix")
        for index, change in enumerate(self.arrivals.mix_changes):
            check(change.mix, f"arrivals.mix_changes.{index}.mix")
        check(self.bot.deflection, "bot.deflection")
        check(self.routing.priority, "routing.priority")
        for name, group in self.groups.items():
            check(group.skills, f"groups.{name}.skills")
            check(group.overflow_skills or [], f"groups.{name}.overflow_skills")
            check(group.reply_time_by_topic, f"groups.{name}.reply_time_by_topic")
        bot_all_day = self.bot.enabled and not self.bot.hours
        for topic in sorted(topics):
            if bot_all_day and self.bot.deflection.get(topic, 0.0) >= 1.0:
                continue
            if not self.groups_serving(topic):
                raise ValueError(
                    f"topics.{topic}: reaches people but no group can serve it "
                    f"(routing.mode is {self.routing.mode}); add it to a group's skills"
                )
        deflects = self.bot.enabled and any(p > 0 for p in self.bot.deflection.values())
        if deflects and self.bot.handling_time is None:
            raise ValueError("bot.handling_time: needed when the bot deflects conversations")
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
                if topic not in g.skills
                and (g.overflow_skills is None or topic in g.overflow_skills)
            ]
        return serving

    @property
    def variant_names(self) -> list[str]:
        return [BASELINE, *self.variants]
