"""The sweep file: which evaluations to run (a grid over `cascade evaluate`'s fields), what to table and plot.

    name: fusemax-vs-flat
    grid:                      # every combination of these values is one point
      target: [fusemax, flat]
      workload: [bert, xlm]
      seq: [1024, 4096, 16384]
    fixed: {scope: attention}  # fields shared by every point
    table: [target, workload, seq, latency_s, energy_j, utilization.pe_2d]
    plot: {x: seq, y: latency_s, series: target, facet: workload, logx: true, logy: true}
"""

from __future__ import annotations

import itertools
from dataclasses import fields
from pathlib import Path
from typing import Any

from cascade_base.catalog import Catalog
from cascade_base.spec import Frozen, load_yaml, validate_model
from simulator.errors import SimulatorError
from simulator.evaluate import EvaluateRequest

REQUEST_FIELDS = {f.name for f in fields(EvaluateRequest)}
#: The example sweeps shipped in the repository (`cascade sweep fusemax-vs-flat`), and any sweep file by path.
SWEEPS = Catalog("sweep", Path(__file__).resolve().parents[2] / "examples" / "sweeps", SimulatorError,
                 option="SWEEP")


class PlotSpec(Frozen):
    x: str
    y: str
    series: str | None = None
    facet: str | None = None
    logx: bool = False
    logy: bool = False


class SweepSpec(Frozen):
    name: str
    description: str = ""
    grid: dict[str, list[Any]]
    fixed: dict[str, Any] = {}
    table: list[str] = []
    plot: PlotSpec | None = None

    def points(self) -> list[dict[str, Any]]:
        """Every combination of the grid's values, merged over `fixed`, in a stable order."""
        names = list(self.grid)
        return [{**self.fixed, **dict(zip(names, values, strict=True))}
                for values in itertools.product(*(self.grid[n] for n in names))]


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file; errors name the file, the field and the fix."""
    path = SWEEPS.resolve(path)
    spec = validate_model(SweepSpec, load_yaml(path, SimulatorError), path, SimulatorError)
    for name in list(spec.grid) + list(spec.fixed):
        if name not in REQUEST_FIELDS:
            raise SimulatorError(f"{path}: field 'grid.{name}' is not an evaluation option; "
                                 f"choose from: {', '.join(sorted(REQUEST_FIELDS))}")
    for name, values in spec.grid.items():
        if not values:
            raise SimulatorError(f"{path}: field 'grid.{name}' is empty; give at least one value")
    if "target" not in spec.grid and "target" not in spec.fixed:
        raise SimulatorError(f"{path}: no 'target' in grid or fixed; every evaluation needs a target")
    return spec
