"""The desk on SimPy: one scenario and one replication in, `Records` out, nothing computed."""

from sim.engine.desk import Desk, DeskRun, customers_for, simulate
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
    "ABANDONED", "DEFLECTED", "OPEN", "OUTCOMES", "SERVED", "ConservationError", "Desk",
    "DeskRun", "Records", "customers_for", "simulate",
]
