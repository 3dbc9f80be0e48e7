"""Sweeps: a grid of evaluations described in YAML, run in parallel, stored as they finish, tabled and plotted."""

from simulator.sweep.run import SweepSummary, run_sweep
from simulator.sweep.spec import SweepSpec, load_sweep

__all__ = ["SweepSpec", "SweepSummary", "load_sweep", "run_sweep"]
