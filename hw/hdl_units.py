"""Targets of kind `hdl`: a device and an open synthesis flow that this project's streaming units are built for.

`cascade evaluate --target ecp5-25-units --unit gelu --method poly --in-format Q5.10` builds the unit asked
(`hw.hdl.flow.run_hdl`), checks it against its bit-exact model and PyTorch, and synthesizes the Verilog it writes:
so a sweep can explore the units' design space (method x format x row length against error, LUTs and clock) with
the same grid, store and Pareto front as any other target (examples/sweeps/gelu-methods.yaml).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from hw.spec import Frozen


class HdlUnitsTarget(Frozen):
    """A synthesis target for the HDL units: which flow (`cascade hdl --synth`), which nextpnr seeds (the worst
    seed's fmax is reported), and whether each unit is also verified (error in LSBs, hardware = model)."""

    kind: Literal["hdl"]
    name: str
    description: str
    source: str
    synth: Literal["ecp5", "ecp5-25k", "ecp5-85k"] = Field(description="the `cascade hdl --synth` target")
    seeds: list[PositiveInt] = Field(default=[1, 2, 3], min_length=1, max_length=10,
                                     description="nextpnr seeds; the worst seed's fmax is the unit's clock")
    verify: bool = Field(default=True, description="simulate each unit against its model and PyTorch (error in LSBs)")
