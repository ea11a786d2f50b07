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

from sim.engine import Records, simulate
from sim.experiment import Results, run
from sim.scenario import Scenario, ScenarioError, load_scenario, resolve_variants

__all__ = ["Records", "Results", "Scenario", "ScenarioError", "load_scenario",
           "resolve_variants", "run", "simulate"]
__version__ = "0.1.0"
