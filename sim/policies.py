"""Routing policies: which groups may take a topic, which agent gets a conversation, and
which waiting conversation a freed agent takes next.

A new rule is one class here; the engine only calls `Router`.
"""

from __future__ import annotations

from collections import deque

from sim.agents import Agent, GroupState
from sim.scenario import Scenario


def _least_busy(groups: list[GroupState], phone: bool) -> Agent | None:
    best, best_load = None, 2.0
    for group in groups:
        agent = group.least_busy(phone)
        if agent is not None:
            load = agent.open / group.concurrency
            if load < best_load:
                best, best_load = agent, load
    return best


def _longest_idle(groups: list[GroupState], phone: bool) -> Agent | None:
    best = None
    for group in groups:
        agent = group.longest_idle(phone)
        if agent is not None and (best is None or agent.last_assigned_s < best.last_assigned_s):
            best = agent
    return best


ASSIGNMENT = {"least_busy": _least_busy, "longest_idle": _longest_idle}


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


class Router:
    """Routing and assignment rules of one scenario, over the run's groups."""

    def __init__(self, scenario: Scenario, groups: list[GroupState], topics: tuple[str, ...]):
        routing = scenario.routing
        self.mode = routing.mode
        self.overflow_after_s = routing.overflow_after
        self.pick = ASSIGNMENT[routing.assignment]
        code = {name: i for i, name in enumerate(topics)}
        self.primary: list[list[GroupState]] = [[] for _ in topics]
        self.overflow: list[list[GroupState]] = [[] for _ in topics]
        for group in groups:
            for name in topics:
                if self.mode == "pooled" or name in group.spec.skills:
                    self.primary[code[name]].append(group)
                elif self.mode == "overflow" and (
                    group.spec.overflow_skills is None or name in group.spec.overflow_skills
                ):
                    self.overflow[code[name]].append(group)
        self.all_groups = [self.primary[t] + self.overflow[t] for t in range(len(topics))]
        # Per group, the topics it takes at once and those it takes after the overflow wait.
        self.takes = {
            g.index: [t for t in range(len(topics)) if g in self.primary[t]] for g in groups
        }
        self.takes_late = {
            g.index: [t for t in range(len(topics)) if g in self.overflow[t]] for g in groups
        }
        if routing.discipline == "priority":
            ranked = [code[name] for name in routing.priority]
            ranked += [t for t in range(len(topics)) if t not in ranked]
            self.rank = {t: i for i, t in enumerate(ranked)}
        else:
            self.rank = None
        self.phone = [scenario.topics[name].channel == "phone" for name in topics]
        # Per group, its one topic when it takes just one and none after the overflow wait:
        # `next_for` then has a single queue to look at.
        self.only_topic = {
            g.index: self.takes[g.index][0]
            if len(self.takes[g.index]) == 1 and not self.takes_late[g.index] else None
            for g in groups
        }
        # Per topic, the one group a new conversation can go to when there is just one and the
        # least busy agent is picked: the engine looks there directly (`agent_for` would too).
        first = self.all_groups if self.overflow_after_s <= 0 else self.primary
        self.only_group: list[GroupState | None] = [
            groups[0] if len(groups) == 1 and self.pick is _least_busy else None
            for groups in first
        ]

    def agent_for(self, conv, now: float) -> Agent | None:
        """The agent a newly waiting conversation goes to, if any is free for it."""
        # Compared as the overflow check's own due time (queued + wait), so the check finds
        # the conversation overflowed at that instant whatever the rounding of a difference.
        overflowed = now >= conv.queued_s + self.overflow_after_s
        groups = self.all_groups[conv.topic] if overflowed else self.primary[conv.topic]
        return self.pick(groups, self.phone[conv.topic])

    def next_for(self, agent: Agent, queues: TopicQueues, now: float):
        """The waiting conversation `agent` should take next, or None."""
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
        if self.rank is None:
            return min(candidates, key=lambda item: (item[1].queued_s, item[1].id))[1]
        rank = self.rank
        return min(candidates, key=lambda item: (rank[item[0]], item[1].queued_s))[1]
