"""supportsim: a discrete-event simulator of an online shop's chat customer-service desk.

Typical use from a notebook::

    import sim
    scenario = sim.load_scenario("scenarios/normal_day.yaml")
    results = sim.run(scenario, replications=5)
    results.summary          # long form: variant, metric, mean, ci_low, ci_high, replications
    results.intervals        # per-interval series per variant
    records = sim.simulate(scenario, replication=0)   # one run's raw records

The package reads as the data flow: `sim.scenario` -> `sim.arrivals`, `sim.agents`,
`sim.policies` -> `sim.engine` -> `sim.analysis` -> `sim.experiment` -> `sim.tools` ->
`sim.output`, with `sim.parallel` the one executor and `sim.cli` the command line
(docs/architecture.md).
"""

from pathlib import Path

from sim.analysis.targets import scenario_targets
from sim.engine import Records, simulate
from sim.engine.snapshot import resume, snapshot
from sim.engine.state import DeskState, StateError
from sim.engine.state import load as load_state
from sim.experiment import Results, run
from sim.scenario import Scenario, ScenarioError, resolve_variants
from sim.scenario import load_scenario as _load_scenario
from sim.tools.whatif import whatif

__all__ = ["Records", "Results", "Scenario", "ScenarioError", "load_scenario",
           "resolve_variants", "run", "simulate"]
__all__ += ["DeskState", "StateError", "load_state", "resume", "snapshot", "whatif"]
__version__ = "0.1.0"


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and return a scenario file: every variant, and every target against the
    metric registry (a bad one is a `ScenarioError` naming the file and `targets.N`).

    `sim.scenario.load_scenario` does the same but for the targets, which only the analysis
    layer can read (docs/architecture.md); `sim.run` checks them again before simulating."""
    scenario = _load_scenario(path)
    scenario_targets(scenario, str(path))
    return scenario
