"""The agent pool: the run's groups and agents, who holds which conversation, who is on duty.

Whether an agent has a free slot is kept in one place, `GroupState.refresh` (sim/agents.py),
which every change of load or duty goes through: when an agent takes or gives up a
conversation (`ConversationFlow.assign` and `close`, `drop` here), and when its duty starts
or ends (`on`, `off`).
"""

from __future__ import annotations

from sim.agents import Agent, GroupState


class AgentPool:
    """Groups (in scenario order) and every agent of the run, by id."""

    def __init__(self, scenario, recorder):
        self.groups = [
            GroupState(i, name, spec, spec.concurrency)
            for i, (name, spec) in enumerate(scenario.groups.items())
        ]
        self.by_name = {g.name: g for g in self.groups}
        self.agents: list[Agent] = []
        self.recorder = recorder
        self.on_duty = 0  # agents on duty and not past the end of their duty
        self.now = None  # the run's clock, set by the desk: `lambda: env.now`

    def new_agent(self, group: GroupState, standby: bool = False, slot: int = -1) -> Agent:
        agent = Agent(len(self.agents), group, standby=standby, slot=slot)
        self.agents.append(agent)
        group.agents.append(agent)
        return agent

    def drop(self, agent: Agent, conv) -> None:
        """`agent` no longer holds `conv` (closed or handed back); it is re-filed by the caller
        (`refile`, or `release_if_done` when its duty is over)."""
        conv.agent = None
        agent.conversations.discard(conv)
        agent.open -= 1
        agent.phone = False

    def refile(self, agent: Agent) -> None:
        agent.group.refresh(agent)

    def on(self, agent: Agent, now: float) -> bool:
        """Start `agent`'s duty at `now`; False if it was on duty already."""
        if agent.on_duty and not agent.leaving:
            return False
        if not agent.on_duty:
            agent.duty_start_s = now
        agent.on_duty = True
        agent.leaving = False
        self.on_duty += 1
        agent.group.refresh(agent)
        return True

    def off(self, agent: Agent) -> bool:
        """End `agent`'s duty: it takes nothing new and goes home once its chats are done;
        False if it was not on duty (or already leaving)."""
        if not agent.on_duty or agent.leaving:
            return False
        agent.leaving = True
        self.on_duty -= 1
        agent.group.refresh(agent)
        return True

    def release_if_done(self, agent: Agent, now: float) -> None:
        """A leaving agent with nothing left to do goes home; its duty period is recorded."""
        if agent.leaving and not agent.conversations and agent.typing is None:
            agent.on_duty = False
            agent.leaving = False
            agent.phone = False
            self.recorder.duty(agent, now)
