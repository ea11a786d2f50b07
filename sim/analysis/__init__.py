"""From records to numbers: the metric registry, metrics, statistics over replications, paired
comparison and the queueing formulas the engine is checked against. Nothing here knows SimPy."""
