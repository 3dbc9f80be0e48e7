"""A toy target kind (`toy`) for the sweep tests: latency = seq^2 / (rows x cols x rate), area = rows x cols x
pe_area, so the sweep machinery is checked without a real cost model. `sleep_s` makes a point slow (for the
interruption tests). Importable by subprocesses: `import sweep_toy; sweep_toy.register()`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field

from hw.registry import register_kind
from hw.spec import Frozen
from simulator.backends import register_backend
from simulator.errors import SimulatorError


class ToyArray(Frozen):
    rows: int = Field(ge=1, le=4096)
    cols: int = Field(ge=1, le=4096)


class ToyTarget(Frozen):
    kind: Literal["toy"]
    rate_per_s: float = Field(gt=0)
    array: ToyArray = ToyArray(rows=1, cols=1)
    pe_area_um2: float = 100.0
    sleep_s: float = 0.0


class ToyOptions(Frozen):
    seq: int
    causal: bool = False


@dataclass(frozen=True)
class ToyResult:
    latency_s: float
    energy_j: float
    area_um2: float
    utilization: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)


class ToyBackend:
    """The smallest backend: the protocol's three members."""

    kind = "toy"
    options = ToyOptions
    scope_note = "seq^2 / rate"

    def plan(self, target, options):
        if options.seq <= 0:
            raise SimulatorError("--seq must be a positive integer")
        return target, options.seq, options.causal

    def cost(self, plan):
        target, seq, causal = plan
        if target.sleep_s:
            time.sleep(target.sleep_s)
        pes = target.array.rows * target.array.cols
        latency = seq**2 / (pes * target.rate_per_s) * (0.5 if causal else 1.0)
        return ToyResult(latency, latency * pes * 1e-3, pes * target.pe_area_um2, {"array": 0.5})


def register() -> None:
    register_kind("toy", ToyTarget)
    register_backend("toy", ToyBackend())


def write_targets(folder: Path, sleep_s: float = 0.0) -> None:
    for name, rate in (("slow", 1e6), ("fast", 1e8)):
        (folder / f"{name}.yaml").write_text(f"kind: toy\nrate_per_s: {rate}\nsleep_s: {sleep_s}\n"
                                             "array: {rows: 4, cols: 4}\n")
