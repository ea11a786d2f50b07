"""Tools built on experiments: parameter sweeps, the staffing search, validation against
queueing theory."""
