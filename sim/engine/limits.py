"""Work estimates made before simulating, so an absurd scenario is refused in a second
instead of exhausting memory or running for hours."""

from __future__ import annotations

from dataclasses import dataclass

from sim.agents import duty_periods
from sim.scenario import Scenario, ScenarioError, rate_table
from sim.units import DAY_S

MAX_MESSAGES_PER_RUN = 50_000_000
MAX_HORIZON_DAYS = 31
MAX_AGENTS = 200_000
MAX_TOTAL_MESSAGES = 2_000_000_000
#: Measured order of magnitude of engine cost, used only to phrase the estimate.
SECONDS_PER_MESSAGE = 10e-6
BYTES_PER_MESSAGE = 200


class WorkloadError(ScenarioError):
    """A scenario refused before simulating because its runs would be too large."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: refused before simulating: {'; '.join(problems)} "
                         "(allow_large=True runs it anyway)")

    def __reduce__(self):
        return (type(self), (self.source, self.problems))


@dataclass(frozen=True)
class Workload:
    """Expected size of one replication of one variant."""

    conversations: float
    messages: float
    agents: int
    horizon_days: float

    @property
    def memory_gib(self) -> float:
        return self.messages * BYTES_PER_MESSAGE / 2**30

    @property
    def seconds(self) -> float:
        return self.messages * SECONDS_PER_MESSAGE


def estimate(scenario: Scenario) -> Workload:
    """Expected conversations, customer messages and scheduled agents of one run."""
    table = rate_table(scenario)
    conversations = table.expected_arrivals * (1.0 + scenario.arrivals.overdispersion_cv)
    weights = table.rate_per_s * (table.edges_s[1:] - table.edges_s[:-1])
    shares = (table.mix * weights[:, None]).sum(axis=0) / max(weights.sum(), 1e-12)
    per_conversation = (
        sum(
            share * scenario.topics[name].messages.mean_value()
            for share, name in zip(shares, table.topics)
        )
        + 1.0
    )  # the bot-phase message
    agents = 0
    for group in scenario.groups.values():
        if group.schedule is not None:
            agents += len({d.slot for d in duty_periods(group.schedule, scenario)})
        if group.standby is not None:
            agents += group.standby.cap
    span = (scenario.horizon.end_s - scenario.horizon.start_s) / DAY_S
    return Workload(float(conversations), float(conversations * per_conversation), agents, span)


def check(
    scenario: Scenario, runs: int = 1, allow_large: bool = False, source: str = "<scenario>"
) -> Workload:
    """Refuse a scenario whose runs would exhaust memory or time, unless `allow_large`."""
    work = estimate(scenario)
    problems = []
    if work.horizon_days > MAX_HORIZON_DAYS:
        problems.append(
            f"horizon: {work.horizon_days:.1f} days is over the {MAX_HORIZON_DAYS}-day limit"
        )
    if work.messages > MAX_MESSAGES_PER_RUN:
        problems.append(
            f"arrivals: about {work.messages:,.0f} customer messages per run "
            f"(~{work.memory_gib:.1f} GiB, ~{work.seconds / 60:,.0f} min) is over the "
            f"{MAX_MESSAGES_PER_RUN:,} limit"
        )
    if work.agents > MAX_AGENTS:
        problems.append(f"groups: {work.agents:,} agents is over the {MAX_AGENTS:,} limit")
    if work.messages * runs > MAX_TOTAL_MESSAGES:
        problems.append(
            f"replications: {runs} runs of about {work.messages:,.0f} messages "
            f"(~{work.seconds * runs / 3600:,.1f} h) is over the {MAX_TOTAL_MESSAGES:,} limit"
        )
    if problems and not allow_large:
        raise WorkloadError(source, problems)
    return work
