"""Routing and assignment: the policy protocol the engine calls, and the built-in rules.

A policy answers two questions, and the engine asks nothing else (as Ciw passes routing and
service-discipline objects to its simulation):

- `agent_for(conv, now)`: which agent takes a conversation that has just reached people (or
  was handed back, or is offered again at a time the policy asked for); `None` leaves it
  waiting in its topic's queue;
- `next_for(agent, queues, now)`: which waiting conversation an agent with a free slot takes
  next; `None` leaves the slot free.

Three optional methods tell the engine what it prepares before the run: `groups_for(topic)`
(the groups that may ever answer a topic, whose reply lengths it draws), `topics_for(group)`
(the topics whose backlog calls in a group's standby agents) and `recheck_at(conv)` (a time
at which to offer a waiting conversation to agents again, e.g. after an overflow wait).
`RoutingPolicy` gives the defaults; a new rule is one class implementing the protocol,
passed as `sim.simulate(scenario, routing=MyPolicy())` (docs/extending.md).

The built-in rules are what a scenario's `routing:` section names: the mode (which groups
may take a topic: `dedicated`, `pooled`, `overflow` after a wait), the discipline (which
waiting conversation a freed agent takes: `fcfs`, `priority` by topic) and the assignment
(which free agent gets a conversation: `least_busy`, `longest_idle`). Each is registered by
its YAML name in `MODES`, `DISCIPLINES` and `ASSIGNMENTS`; `Router` combines one of each and
keeps the fast paths of the common cases to itself.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError

from sim.agents import Agent, GroupState
from sim.scenario import Routing, Scenario, ScenarioError
from sim.scenario.checks import format_errors

if TYPE_CHECKING:  # the engine's live conversation: read-only to a policy
    from sim.engine.conversation import Conversation


class TopicQueues:
    """Conversations waiting for an agent, one FIFO per topic; leavers are skipped lazily."""

    def __init__(self, n_topics: int):
        self.queues = [deque() for _ in range(n_topics)]
        self.length = 0

    # Entries are (ticket, conversation); an entry is live while the conversation still holds
    # that ticket, so a conversation that left and came back is never seen twice.

    def push(self, conv, front: bool = False) -> None:
        conv.ticket += 1
        entry = (conv.ticket, conv)
        queue = self.queues[conv.topic]
        queue.appendleft(entry) if front else queue.append(entry)
        self.length += 1
        conv.queued = True

    def head(self, topic: int):
        """The conversation of `topic` that has waited longest (handed-back ones first)."""
        queue = self.queues[topic]
        while queue:
            ticket, conv = queue[0]
            if conv.queued and ticket == conv.ticket:
                return conv
            queue.popleft()
        return None

    def take(self, conv) -> None:
        """Remove `conv` from waiting; a non-head entry goes stale and is skipped later."""
        queue = self.queues[conv.topic]
        if queue and queue[0][1] is conv:
            queue.popleft()
        conv.queued = False
        self.length -= 1

    def waiting(self, topic: int) -> list:
        """The conversations of `topic` waiting now, in the order they will be offered."""
        return [conv for ticket, conv in self.queues[topic]
                if conv.queued and ticket == conv.ticket]

    def scan(self, topic: int):
        """The conversations of `topic` waiting now, one by one in the order of `waiting`
        (for a policy that looks past the head and stops early; do not change the queues
        while scanning)."""
        for ticket, conv in self.queues[topic]:
            if conv.queued and ticket == conv.ticket:
                yield conv


# --- the protocol -------------------------------------------------------------------------------


class RoutingPolicy:
    """The routing protocol: subclass it (or write a class with the same methods).

    `setup` is called at the start of every run, with that run's groups, so one policy object
    can serve many replications; the other methods are called by the engine during the run.
    A policy reads the desk (agents' `open`, `on_duty`, `has_slot`, groups' `agents` and
    `free` levels, the queues' `head`) and never changes it: the engine does the assigning.
    """

    def setup(self, scenario: Scenario, groups: Sequence[GroupState],
              topics: Sequence[str]) -> None:
        """Remember the run's groups (in scenario order) and topic names (codes are indices)."""
        self.scenario = scenario
        self.groups = list(groups)
        self.topics = tuple(topics)

    def agent_for(self, conv: Conversation, now: float) -> Agent | None:
        """The agent that takes `conv` now, or None to leave it waiting."""
        raise NotImplementedError(f"{type(self).__name__} does not define agent_for(conv, now) "
                                  "(docs/extending.md)")

    def next_for(self, agent: Agent, queues: TopicQueues, now: float) -> Conversation | None:
        """The waiting conversation `agent` (which has a free slot) takes next, or None."""
        raise NotImplementedError(f"{type(self).__name__} does not define next_for(agent, "
                                  "queues, now) (docs/extending.md)")

    def groups_for(self, topic: int) -> Sequence[GroupState]:
        """Groups that may ever answer `topic` (default: every group)."""
        return self.groups

    def topics_for(self, group: GroupState) -> Sequence[int]:
        """Topics `group` may take; their backlog triggers its standby agents (default: all)."""
        return range(len(self.topics))

    #: A policy whose `recheck_at` always says None may set this False, so that the engine
    #: does not ask for every conversation that waits.
    rechecks = True

    def recheck_at(self, conv: Conversation) -> float | None:
        """When to offer `conv`, waiting in the queue, to `agent_for` again (default: never)."""
        return None


class PolicyError(ValueError):
    """A routing policy answered outside the protocol (e.g. an agent with no free slot)."""


class Checked:
    """A user's policy with its answers checked against the protocol as the engine asks.

    The engine trusts what a policy returns (it assigns at once), so an answer that breaks the
    rules, an agent with no free slot or a conversation that is not waiting, would run on as a
    desk that cannot exist. This wrapper stops the run there with what was wrong. Everything
    else is the policy's own; the built-in `Router` is not wrapped (its answers are right by
    construction, and they are asked once per conversation).
    """

    def __init__(self, policy):
        self.policy = policy
        self.name = type(policy).__name__

    def __getattr__(self, name: str):
        # Only names this wrapper lacks come here; `policy` itself is one only while the
        # object is being rebuilt (a copy, an unpickling), where forwarding would recurse.
        if name == "policy":
            raise AttributeError(name)
        return getattr(self.policy, name)

    def setup(self, scenario, groups, topics) -> None:
        self.policy.setup(scenario, groups, topics)
        self.groups_run = list(groups)

    def agent_for(self, conv, now: float):
        agent = self.policy.agent_for(conv, now)
        if agent is None:
            return None
        if not isinstance(agent, Agent) or agent.group not in self.groups_run:
            raise PolicyError(f"{self.name}.agent_for returned {agent!r}, not an agent of this "
                              "run's groups (nor None)")
        if not agent.can_take(conv.phone):
            raise PolicyError(
                f"{self.name}.agent_for gave {conv!r} to agent {agent.id} of {agent.group.name}, "
                f"which cannot take it now (open {agent.open} of {agent.group.concurrency}, on "
                f"duty {agent.on_duty and not agent.leaving}, on a call {agent.phone}): return "
                "an agent with agent.can_take(conv.phone), or None to leave it waiting")
        self._answers_for("agent_for", agent, conv)
        return agent

    def next_for(self, agent, queues, now: float):
        conv = self.policy.next_for(agent, queues, now)
        if conv is None:
            return None
        if not getattr(conv, "queued", False) or getattr(conv, "done", True):
            raise PolicyError(f"{self.name}.next_for returned {conv!r}, which is not waiting in "
                              "the queues (return one of queues.waiting(topic), or None)")
        if not agent.can_take(conv.phone):
            raise PolicyError(
                f"{self.name}.next_for gave {conv!r} to agent {agent.id} of {agent.group.name}, "
                "which cannot take it (a call needs an agent with no open chat)")
        self._answers_for("next_for", agent, conv)
        return conv

    def _answers_for(self, method: str, agent, conv) -> None:
        """`agent`'s group is one the policy said may answer `conv`'s topic."""
        if agent.group not in self.policy.groups_for(conv.topic):
            raise PolicyError(
                f"{self.name}.{method} gave {conv!r} to group {agent.group.name}, which its "
                f"groups_for({conv.topic}) does not list (its reply lengths are not drawn)")

    def recheck_at(self, conv):
        due = self.policy.recheck_at(conv)
        if due is not None and not due >= conv.queued_s:
            raise PolicyError(f"{self.name}.recheck_at returned {due!r} for {conv!r}, before it "
                              f"started waiting ({conv.queued_s!r}): return a later time or None")
        return due


def checked(policy):
    """`policy` as the engine runs it: the built-in `Router` as it is, any other wrapped in
    `Checked` (accepting anything that has the protocol's two questions)."""
    if type(policy) is Router:
        return policy
    missing = [m for m in ("setup", "agent_for", "next_for") if not callable(getattr(
        policy, m, None))]
    if missing:
        raise PolicyError(f"routing={policy!r} is not a routing policy: it has no "
                          f"{', '.join(missing)} (subclass sim.policies.RoutingPolicy; "
                          "docs/extending.md)")
    return Checked(policy)


# --- the built-in rules -------------------------------------------------------------------------


class Mode:
    """Which groups may take a topic at once, and which only after `after` seconds of waiting."""

    name = ""

    def __init__(self, after: float = 0.0):
        self.after = after

    def groups(self, scenario: Scenario, groups: Sequence[GroupState],
               topics: Sequence[str]) -> tuple[list[list[GroupState]], list[list[GroupState]]]:
        """Per topic code: the groups taking it at once, and those taking it after the wait."""
        raise NotImplementedError


class Dedicated(Mode):
    """Each group takes the topics among its skills."""

    name = "dedicated"

    def groups(self, scenario, groups, topics):
        primary = [[g for g in groups if name in g.spec.skills] for name in topics]
        return primary, [[] for _ in topics]


class Pooled(Mode):
    """Every group takes every topic."""

    name = "pooled"

    def groups(self, scenario, groups, topics):
        return [list(groups) for _ in topics], [[] for _ in topics]


class Overflow(Mode):
    """Groups take their skills at once; the others help (limited by `overflow_skills`) once a
    conversation has waited `after` seconds since it first reached the queue."""

    name = "overflow"

    def groups(self, scenario, groups, topics):
        primary = [[g for g in groups if name in g.spec.skills] for name in topics]
        late = [[g for g in groups if name not in g.spec.skills
                 and (g.spec.overflow_skills is None or name in g.spec.overflow_skills)]
                for name in topics]
        return primary, late


def least_busy(groups: Sequence[GroupState], phone: bool) -> Agent | None:
    """The free agent with the lowest share of its group's windows in use; within a group, the
    one that has been at that load longest (`GroupState.least_busy`)."""
    best, best_load = None, 2.0
    for group in groups:
        agent = group.least_busy(phone)
        if agent is not None:
            load = agent.open / group.concurrency
            if load < best_load:
                best, best_load = agent, load
    return best


def longest_idle(groups: Sequence[GroupState], phone: bool) -> Agent | None:
    """The free agent *assigned* a conversation least recently (`Agent.last_assigned_s`),
    whatever its load; an agent never assigned one comes first."""
    best = None
    for group in groups:
        agent = group.longest_idle(phone)
        if agent is not None and (best is None or agent.last_assigned_s < best.last_assigned_s):
            best = agent
    return best


class Fcfs:
    """A freed agent takes the conversation that has waited longest, across its topics."""

    name = "fcfs"

    def __init__(self, priority: Sequence[str] = ()):
        pass

    def key(self, topics: Sequence[str]) -> Callable:
        return lambda item: (item[1].queued_s, item[1].id)


class TopicPriority:
    """A freed agent takes the highest-ranked topic first (listed topics in order, then the
    rest), and within a topic the conversation that has waited longest."""

    name = "priority"

    def __init__(self, priority: Sequence[str] = ()):
        self.priority = list(priority)

    def key(self, topics: Sequence[str]) -> Callable:
        code = {name: i for i, name in enumerate(topics)}
        ranked = [code[name] for name in self.priority]
        ranked += [t for t in range(len(topics)) if t not in ranked]
        rank = {t: i for i, t in enumerate(ranked)}
        return lambda item: (rank[item[0]], item[1].queued_s)


#: The built-in rules by the names a scenario's `routing:` section uses.
MODES: dict[str, type[Mode]] = {m.name: m for m in (Dedicated, Pooled, Overflow)}
DISCIPLINES: dict[str, type] = {d.name: d for d in (Fcfs, TopicPriority)}
ASSIGNMENTS: dict[str, Callable[[Sequence[GroupState], bool], Agent | None]] = {
    "least_busy": least_busy, "longest_idle": longest_idle}


class Router(RoutingPolicy):
    """The built-in policy: a mode, a discipline and an assignment rule, as a scenario's
    `routing:` section names them (`settings`; by default the scenario's own at `setup`)."""

    def __init__(self, settings: Routing | dict | None = None):
        if isinstance(settings, dict):
            try:
                settings = Routing.model_validate(settings)
            except ValidationError as exc:
                raise ScenarioError(format_errors("Router", exc, prefix="routing.")) from None
        elif settings is not None and not isinstance(settings, Routing):
            raise ScenarioError(f"Router: settings must be a scenario's routing (a "
                                f"sim.scenario.Routing or its dict), got {settings!r:.60}")
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: Routing) -> Router:
        return cls(settings)

    def setup(self, scenario, groups, topics) -> None:
        super().setup(scenario, groups, topics)
        settings = self.settings or scenario.routing
        # A model_copy(update=...) of the settings skips their validation: name a rule that
        # does not exist here rather than as a KeyError.
        for field, known in (("mode", MODES), ("discipline", DISCIPLINES),
                             ("assignment", ASSIGNMENTS)):
            value = getattr(settings, field)
            if value not in known:
                raise ScenarioError(f"Router: routing.{field}: {value!r} is not one of "
                                    f"{', '.join(known)}")
        groups, topics = self.groups, self.topics
        self.mode = MODES[settings.mode](settings.overflow_after)
        self.overflow_after_s = settings.overflow_after
        self.pick = ASSIGNMENTS[settings.assignment]
        discipline = DISCIPLINES[settings.discipline](settings.priority)
        self.key = discipline.key(topics)
        self.primary, self.overflow = self.mode.groups(scenario, groups, topics)
        self.all_groups = [self.primary[t] + self.overflow[t] for t in range(len(topics))]
        # Per group, the topics it takes at once and those it takes after the overflow wait.
        self.takes = {
            g.index: [t for t in range(len(topics)) if g in self.primary[t]] for g in groups
        }
        self.takes_late = {
            g.index: [t for t in range(len(topics)) if g in self.overflow[t]] for g in groups
        }
        self.phone = [scenario.topics[name].channel == "phone" for name in topics]
        self.rechecks = any(self.overflow)  # `recheck_at` can only say None otherwise
        # Fast paths of the common cases. Per group, its one topic when it takes just one and
        # none after the overflow wait: `next_for` then has a single queue to look at.
        self.only_topic = {
            g.index: self.takes[g.index][0]
            if len(self.takes[g.index]) == 1 and not self.takes_late[g.index] else None
            for g in groups
        }
        # Per topic, the one group a conversation can go to when there is just one and the
        # least busy agent is picked, before and after the overflow wait: `agent_for` then
        # looks at that group's free levels directly.
        single = self.pick is least_busy
        self.only_group: list[GroupState | None] = [
            c[0] if single and len(c) == 1 else None for c in self.primary]
        self.only_group_late: list[GroupState | None] = [
            c[0] if single and len(c) == 1 else None for c in self.all_groups]
        # The topics whose one group is the same before and after any overflow wait.
        self.direct: list[GroupState | None] = [
            g if not self.overflow[t] else None for t, g in enumerate(self.only_group)]

    def agent_for(self, conv, now: float) -> Agent | None:
        topic = conv.topic
        group = self.direct[topic]
        if group is None:
            # Compared as the overflow check's own due time (queued + wait), so the check
            # finds the conversation overflowed at that instant whatever the rounding.
            if self.overflow[topic] and now >= conv.queued_s + self.overflow_after_s:
                group, groups = self.only_group_late[topic], self.all_groups[topic]
            else:
                group, groups = self.only_group[topic], self.primary[topic]
            if group is None:
                return self.pick(groups, self.phone[topic])
        # GroupState.least_busy, inlined: once per conversation, the common case.
        for level in group.free[:1] if conv.phone else group.free:
            if level:
                return next(iter(level))
        return None

    def next_for(self, agent: Agent, queues: TopicQueues, now: float):
        group = agent.group
        only = self.only_topic[group.index]
        if only is not None:
            head = queues.head(only)
            return head if head is not None and (agent.open == 0 or not self.phone[only]) else None
        candidates = []
        for t in self.takes[group.index]:
            head = queues.head(t)
            if head is not None and (agent.open == 0 or not self.phone[t]):
                candidates.append((t, head))
        wait = self.overflow_after_s
        for t in self.takes_late[group.index]:
            head = queues.head(t)
            if (
                head is not None
                and head.queued_s + wait <= now
                and (agent.open == 0 or not self.phone[t])
            ):
                candidates.append((t, head))
        if not candidates:
            return None
        return min(candidates, key=self.key)[1]

    def groups_for(self, topic: int):
        return self.all_groups[topic]

    def topics_for(self, group: GroupState):
        return self.takes[group.index] + self.takes_late[group.index]

    def recheck_at(self, conv) -> float | None:
        # Other groups may take it once it has waited the overflow time since it first
        # reached the queue (a hand-back does not restart the wait).
        if self.overflow[conv.topic]:
            return conv.queued_s + self.overflow_after_s
        return None
