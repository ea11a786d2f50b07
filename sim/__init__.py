"""supportsim: a discrete-event simulator of an online shop's chat customer-service desk.

Typical use from a notebook::

    import sim
    scenario = sim.load_scenario("scenarios/normal_day.yaml")
    results = sim.run(scenario, replications=5)
    results.summary          # long form: variant, metric, mean, ci_low, ci_high, replications
    results.intervals        # per-interval series per variant
"""

from sim.experiment import Results, run
from sim.scenario import Scenario, ScenarioError, load_scenario, resolve_variants

__all__ = ["Results", "Scenario", "ScenarioError", "load_scenario", "resolve_variants", "run"]
__version__ = "0.1.0"
