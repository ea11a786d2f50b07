"""The desk's state at one moment, as a versioned YAML or JSON file (docs/snapshots.md).

A state says who is on duty in each group and with which open chats, who waits in each
topic's queue and for how long, which buyers are still with the bot, and which standby agents
have been called. A state written by hand (the live desk) gives what a desk manager sees; a
snapshot of a simulated run (`sim.snapshot`) adds what continues that run exactly: the row of
each buyer among the replication's pre-drawn customers, exact times, and the order in which
events due at the same time run.

Times are seconds since the scenario's day-0 midnight or clock times (`2026-11-11 00:10`, or
`00:10:30` on day 0); durations are seconds or `30s`, `4min`. The file is checked in two
steps: its shape here (unknown keys, types, negative ages), then against the scenario it is
resumed with (`check`): unknown groups or topics, more open chats than a group's windows, a
time outside the horizon.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from sim.scenario import Scenario, ScenarioError
from sim.scenario.checks import format_errors
from sim.scenario.distributions import NonNegativeSeconds
from sim.scenario.yaml_file import read_text, read_yaml
from sim.units import ClockTime, format_clock

FORMAT = "supportsim-desk-state"
VERSION = 1


class StateError(ScenarioError):
    """A desk state that cannot be used: the message names the file, the field and the
    problem."""


def _time(value: object) -> float | ClockTime:
    if isinstance(value, bool):
        # ValueError, not TypeError: pydantic reports it against the field, with the path.
        raise ValueError(f"expected a time (seconds or a clock time), got {value!r}")  # noqa: TRY004
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return ClockTime.parse(value)
    return ClockTime.parse(value)


#: A moment: seconds since day-0 midnight, or a clock time resolved against the scenario.
Time = Annotated[float | ClockTime, BeforeValidator(_time)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]
Order = Annotated[int, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False,
                              arbitrary_types_allowed=True)


class Pending(_Model):
    """An event of the desk due later: when, and (snapshots) its place among events due at
    the same time (`order`: events run by time, then by order)."""

    at: Time = Field(description="when it is due")
    order: Order | None = Field(None, description="rank among all pending events")


class Reply(_Model):
    """A reply an agent is typing."""

    done_at: Time | None = Field(None, description="when it is done (snapshots)")
    remaining: NonNegativeSeconds | None = Field(
        None, description="typing time left (hand-written; default: a whole reply from now)")
    order: Order | None = None


class Answered(_Model):
    """A message answered before the state's time."""

    sent: Time
    reply: Time
    agent: int = Field(-1, description="id of the agent who answered (-1: unknown)")


class Bot(_Model):
    """A buyer still with the bot: what it will decide, and when."""

    deflects: bool = Field(description="the bot settles it (else hands it to people)")
    decides: Pending = Field(description="when the bot settles it or hands it over")


class Chat(_Model):
    """One open conversation: waiting in a queue, open at an agent, or with the bot."""

    id: Count | None = Field(
        None, description="its row among the pre-drawn buyers of `source` (snapshots)")
    topic: str = Field(description="its topic")
    arrived: Time | None = Field(None, description="when the buyer arrived")
    queued: Time | None = Field(
        None, description="when it first reached people (patience and overflow count from "
                          "here; default: when its waiting message was sent)")
    waited: NonNegativeSeconds | None = Field(
        None, description="how long the message awaiting a reply has waited (hand-written)")
    waiting_since: Time | None = Field(
        None, description="send time of the message awaiting a reply (none: the buyer is "
                          "reading the last reply and thinking)")
    answered: Count = Field(0, description="messages answered so far")
    messages: Annotated[int, Field(ge=1)] | None = Field(
        None, description="customer messages in all (default: drawn, at least those sent)")
    typing: Reply | None = Field(None, description="the agent is typing the reply to it")
    next_message: Pending | None = Field(None, description="the buyer's next message (thinking)")
    patience_ends: Pending | None = Field(
        None, description="when the buyer gives up unless an agent starts replying first "
                          "(default: drawn from the topic's patience, given the wait so far)")
    rechecks: list[Pending] = Field(
        default_factory=list, description="times it is offered to agents again (e.g. overflow "
                                          "checks)")
    bot: Bot | None = Field(None, description="still with the bot (only in `with_bot`)")
    assigned: Time | None = Field(None, description="when an agent first took it")
    first_agent: int | None = Field(None, description="id of the agent who first took it")
    bot_reply: Time | None = Field(None, description="when the bot first answered")
    via_bot: bool | None = Field(
        None, description="the buyer met the bot before reaching people (default: when it "
                          "is with the bot or has `bot_reply`; false for an automatic "
                          "greeting only)")
    on_duty_at_arrival: Count | None = None
    history: list[Answered] = Field(default_factory=list,
                                    description="messages answered so far, with times")


class Agent(_Model):
    """An agent on duty (or past its duty end and finishing its chats)."""

    id: Count | None = Field(None, description="its id in the run (snapshots)")
    slot: Count | None = Field(
        None, description="the schedule slot it fills (default: the next on duty at the "
                          "state's time)")
    standby: bool = Field(False, description="a standby agent called in")
    since: Time | None = Field(None, description="start of its duty (default: the state's time)")
    leaving: bool = Field(False, description="past the end of its duty, finishing its chats")
    until: Pending | None = Field(
        None, description="when it goes home (standby agents and agents added by hand)")
    last_assigned: Time | None = Field(None, description="when it last took a conversation")
    free_rank: Count | None = Field(
        None, description="its place among the group's agents with a free slot at its load")
    chats: list[Chat] = Field(default_factory=list, description="its open conversations")


class Arriving(_Model):
    """A standby agent called in and not yet online."""

    id: Count | None = None
    at: Time
    order: Order | None = None


class Group(_Model):
    """One group at the state's time."""

    agents: list[Agent] = Field(default_factory=list,
                                description="agents on duty, with their open chats")
    idle: Count = Field(0, description="more agents on duty with no open chat (hand-written)")
    activations: Count = Field(0, description="standby agents called in before the state")
    next_check: Pending | None = Field(None, description="the next standby check")
    arriving: list[Arriving] = Field(default_factory=list,
                                     description="standby agents called in, on their way")
    shifts_ahead: list[dict[str, Any]] = Field(
        default_factory=list,
        description="duty changes the scenario plans after the state's time (informative: a "
                    "resume follows the scenario it is given)")


class Source(_Model):
    """The simulated run a snapshot was taken from."""

    seed: Annotated[int, Field(ge=0)]
    replication: Count
    variant: str = "baseline"
    next_arrival: Count = Field(description="row of the next buyer to arrive")
    arrival_order: Order | None = None
    agents: list[str] = Field(default_factory=list,
                              description="the group of every agent id of the run so far")
    duty_due_now: bool = Field(
        False, description="the scenario's duty changes at the state's time are still to be "
                           "made (else the state is after them)")


class DeskState(_Model):
    """The desk at one moment."""

    format: Literal["supportsim-desk-state"] = FORMAT
    version: Literal[1] = Field(VERSION, description="version of this file format")
    scenario: str | None = Field(None, description="name of the scenario (informative)")
    time: Time = Field(description="the moment the state describes")
    time_label: str | None = Field(None, description="the time as a clock time (informative)")
    source: Source | None = Field(None, description="the run a snapshot was taken from")
    groups: dict[str, Group] = Field(default_factory=dict, description="agents per group")
    queues: dict[str, list[Chat]] = Field(
        default_factory=dict,
        description="conversations waiting for an agent, per topic, in the order they will be "
                    "offered")
    with_bot: list[Chat] = Field(default_factory=list, description="buyers still with the bot")

    def dumps(self, json_format: bool = False) -> str:
        """The state as YAML (or JSON) text; floats are written so they read back exactly."""
        data = self.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
        data = {"format": FORMAT, "version": VERSION, **data}
        if json_format:
            return json.dumps(data, indent=1) + "\n"
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def parse(document: Any, source: str = "<state>") -> DeskState:
    """A `DeskState` from a mapping; errors name the source and the field."""
    if not isinstance(document, dict):
        raise StateError(f"{source}: a desk state is a mapping with `time`, `groups`, "
                         "`queues` (see docs/snapshots.md)")
    version = document.get("version", VERSION)
    if version != VERSION or isinstance(version, bool):
        raise StateError(f"{source}: version: {version!r} is not a version of the desk-state "
                         f"format this supportsim reads (it reads version {VERSION}; see "
                         "docs/snapshots.md)")
    if document.get("format", FORMAT) != FORMAT:
        raise StateError(f"{source}: format: {document['format']!r} is not a desk state "
                         f"(expected {FORMAT!r}; see docs/snapshots.md)")
    try:
        return DeskState.model_validate(document)
    except ValidationError as exc:
        raise StateError(format_errors(source, exc, reference="docs/snapshots.md")) from None


def load(path: str | Path) -> DeskState:
    """Read a desk state from a YAML or JSON file (a `.json` file is read as JSON, which is
    faster for a big desk; anything else as YAML, of which JSON is a part)."""
    path = Path(path)
    try:
        document = _read_json(path) if path.suffix.lower() == ".json" else read_yaml(path)
    except StateError:
        raise
    except ScenarioError as exc:  # the file is missing or unreadable, or not valid YAML
        raise StateError(str(exc)) from None
    return parse(document, str(path))


def _read_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(f"{path}: line {exc.lineno}, column {exc.colno}: not valid "
                         f"JSON: {exc.msg}") from None
    except RecursionError:
        raise StateError(f"{path}: not valid JSON: nesting too deep") from None


# --- against a scenario ---------------------------------------------------------------------


def _seconds(value, day0):
    if value is None or isinstance(value, float):
        return value
    return value.seconds(day0)


def _updated(item, update: dict):
    """`item` with the fields of `update`; `item` itself when none of them changes (the
    models are frozen), so resolving a state that is already in seconds copies nothing."""
    for name, value in update.items():
        old = getattr(item, name)
        if old is not value and old != value:
            return item.model_copy(update=update)
    return item


def resolve(state: DeskState, scenario: Scenario, source: str = "<state>") -> DeskState:
    """`state` with every time in seconds, checked against `scenario` (a `StateError` names
    the field and the problem)."""
    day0 = scenario.horizon.day0
    horizon = scenario.horizon
    stop = horizon.end_s + horizon.drain
    errors: list[str] = []

    def fail(path: str, problem: str) -> None:
        errors.append(f"{source}: {path}: {problem}")

    time_s = _seconds(state.time, day0)
    if not horizon.start_s <= time_s < stop:
        fail("time", f"{format_clock(time_s, day0)} is outside the scenario's horizon "
                     f"({format_clock(horizon.start_s, day0)} to "
                     f"{format_clock(stop, day0)} with the drain)")

    def when(value, path: str, past: bool | None = None) -> float | None:
        seconds = _seconds(value, day0)
        if seconds is None:
            return None
        if past is True and seconds > time_s:
            fail(path, f"{format_clock(seconds, day0)} is after the state's time")
        if past is False and seconds < time_s:
            fail(path, f"{format_clock(seconds, day0)} is before the state's time")
        return seconds

    def pending(item: Pending | None, path: str) -> Pending | None:
        if item is None:
            return None
        return _updated(item, {"at": when(item.at, f"{path}.at", past=False)})

    topics = scenario.topics

    def chat(item: Chat, path: str, cap_ok: bool = True) -> Chat:
        if item.topic not in topics:
            fail(f"{path}.topic", f"unknown topic {item.topic!r} (topics: "
                                  f"{', '.join(topics)})")
        if item.waited is not None and item.waiting_since is not None:
            fail(f"{path}.waited", "give `waited` or `waiting_since`, not both")
        waiting = item.waiting_since
        if item.waited is not None:
            waiting = time_s - item.waited
        waiting = when(waiting, f"{path}.waiting_since", past=True)
        if item.messages is not None:
            sent = item.answered + (waiting is not None)
            if item.messages < max(sent, 1):
                fail(f"{path}.messages", f"{item.messages} is fewer than the {sent} messages "
                                         "already sent")
            if item.messages == item.answered and waiting is None:
                fail(f"{path}.messages", "every message is answered: the conversation is over")
        if item.typing is not None and waiting is None:
            fail(f"{path}.typing", "a reply is typed only to a message awaiting one "
                                   "(give `waited` or `waiting_since`)")
        if item.next_message is not None and waiting is not None:
            fail(f"{path}.next_message", "the buyer cannot be thinking and waiting at once")
        if len(item.history) > item.answered:
            fail(f"{path}.history", f"{len(item.history)} answered messages listed, more "
                                    f"than `answered` ({item.answered})")
        queued = when(item.queued, f"{path}.queued", past=True)
        arrived = when(item.arrived, f"{path}.arrived", past=True)
        if queued is None:
            queued = waiting if waiting is not None else time_s
        if arrived is None:
            arrived = queued
        if arrived > queued:
            fail(f"{path}.arrived", "after the buyer reached people")
        typing = item.typing
        if typing is not None:
            typing = _updated(typing, {
                "done_at": when(typing.done_at, f"{path}.typing.done_at", past=False)})
        history = [_updated(h, {"sent": when(h.sent, f"{path}.history.{k}.sent", True),
                                        "reply": when(h.reply, f"{path}.history.{k}.reply",
                                                      True)})
                   for k, h in enumerate(item.history)]
        return _updated(item, {
            "waited": None, "waiting_since": waiting, "queued": queued, "arrived": arrived,
            "typing": typing, "history": history,
            "next_message": pending(item.next_message, f"{path}.next_message"),
            "patience_ends": pending(item.patience_ends, f"{path}.patience_ends"),
            "rechecks": [pending(r, f"{path}.rechecks.{k}") for k, r in enumerate(item.rechecks)],
            "assigned": when(item.assigned, f"{path}.assigned", past=True),
            "bot_reply": when(item.bot_reply, f"{path}.bot_reply"),
            "bot": None if item.bot is None else _updated(item.bot, {
                "decides": pending(item.bot.decides, f"{path}.bot.decides")}),
        })

    groups = {}
    for name, group in state.groups.items():
        path = f"groups.{name}"
        spec = scenario.groups.get(name)
        if spec is None:
            fail(path, f"unknown group {name!r} (groups: {', '.join(scenario.groups)})")
            continue
        agents = []
        for k, agent in enumerate(group.agents):
            apath = f"{path}.agents.{k}"
            if len(agent.chats) > spec.concurrency:
                fail(f"{apath}.chats", f"{len(agent.chats)} open chats, more than the group's "
                                       f"concurrency of {spec.concurrency}")
            typing = [c for c in agent.chats if c.typing is not None]
            if len(typing) > 1:
                fail(f"{apath}.chats", "an agent types one reply at a time, "
                                       f"{len(typing)} are marked `typing`")
            phone = [c for c in agent.chats if c.topic in topics
                     and topics[c.topic].channel == "phone"]
            if phone and len(agent.chats) > 1:
                fail(f"{apath}.chats", "an agent on a phone call holds no other conversation")
            for c in agent.chats:
                if c.bot is not None:
                    fail(f"{apath}.chats", "a conversation at an agent is not with the bot")
            if agent.standby and spec.standby is None:
                fail(f"{apath}.standby", f"group {name!r} has no standby pool")
            agents.append(_updated(agent, {
                "since": when(agent.since, f"{apath}.since", past=True),
                "last_assigned": when(agent.last_assigned, f"{apath}.last_assigned", True),
                "until": pending(agent.until, f"{apath}.until"),
                "chats": [chat(c, f"{apath}.chats.{j}") for j, c in enumerate(agent.chats)],
            }))
        if (group.next_check or group.arriving) and spec.standby is None:
            fail(path, f"group {name!r} has no standby pool")
        arriving = [_updated(a, {"at": when(a.at, f"{path}.arriving.{k}.at", False)})
                    for k, a in enumerate(group.arriving)]
        groups[name] = _updated(group, {
            "agents": agents, "arriving": arriving,
            "next_check": pending(group.next_check, f"{path}.next_check")})
    queues = {}
    for topic, chats in state.queues.items():
        if topic not in topics:
            fail(f"queues.{topic}", f"unknown topic {topic!r} (topics: {', '.join(topics)})")
            continue
        resolved = []
        for k, c in enumerate(chats):
            cpath = f"queues.{topic}.{k}"
            if c.topic != topic:
                fail(f"{cpath}.topic", f"a conversation of topic {c.topic!r} in the queue of "
                                       f"{topic!r}")
            if c.typing is not None or c.bot is not None:
                fail(cpath, "a conversation waiting for an agent is neither typed nor with "
                            "the bot")
            resolved.append(chat(c, cpath))
        queues[topic] = resolved
    with_bot = []
    for k, c in enumerate(state.with_bot):
        cpath = f"with_bot.{k}"
        if c.bot is None:
            fail(f"{cpath}.bot", "a buyer with the bot needs `bot: {deflects, decides}`")
        with_bot.append(chat(c, cpath))
    seen: dict[int, str] = {}
    every = [(f"queues.{t}.{k}", c) for t, chats in queues.items() for k, c in enumerate(chats)]
    every += [(f"groups.{g}.agents.{a}.chats.{k}", c) for g, group in groups.items()
              for a, agent in enumerate(group.agents) for k, c in enumerate(agent.chats)]
    every += [(f"with_bot.{k}", c) for k, c in enumerate(with_bot)]
    for path, c in every:
        if c.id is not None:
            if c.id in seen:
                fail(f"{path}.id", f"conversation {c.id} is listed twice (also at {seen[c.id]})")
            seen[c.id] = path
    if errors:
        raise StateError("\n".join(dict.fromkeys(errors)))
    return _updated(state, {"time": time_s, "groups": groups, "queues": queues,
                                    "with_bot": with_bot})
