"""The desk on SimPy: one scenario and one replication in, `Records` out, nothing computed."""

from sim.engine.desk import DeskRun, simulate
from sim.engine.records import (
    ABANDONED,
    DEFLECTED,
    OPEN,
    OUTCOMES,
    SERVED,
    ConservationError,
    Records,
)

__all__ = [
    "ABANDONED", "DEFLECTED", "OPEN", "OUTCOMES", "SERVED", "ConservationError", "DeskRun",
    "Records", "simulate",
]
