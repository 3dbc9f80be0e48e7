"""`evaluate`: one entry point that costs a cascade on any target, dispatching on the target's kind.

Each kind's cost model is a plain function `(target, request) -> dict` living in its own module; they are
imported lazily so that a GPU evaluation does not load the spatial model and vice versa.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hw.registry import load_target
from simulator.errors import SimulatorError

#: target kind -> "module:function" of its cost model.
EVALUATORS: dict[str, str] = {
    "spatial": "simulator.spatial.evaluate:evaluate_spatial",
    "gpu": "simulator.gpu.evaluate:evaluate_gpu",
    "fpga": "simulator.fpga:evaluate_fpga",
}


@dataclass(frozen=True)
class EvaluateRequest:
    """Everything `cascade evaluate` can be asked; each cost model reads the fields that apply to its kind."""

    target: str
    workload: str | None = None
    seq: int | None = None
    cascade: str | None = None
    mapping: Path | None = None
    search: bool = False
    scope: str = "attention"
    batch: int | None = None
    heads: int | None = None
    kv_heads: int | None = None
    kv_seq: int | None = None
    head_dim: int | None = None
    causal: bool = False
    dtype: str | None = None


def evaluate(request: EvaluateRequest) -> dict[str, Any]:
    """Cost `request` on its target; returns a JSON-ready dict with `latency_s` and the kind's other keys."""
    if request.scope not in ("attention", "layer"):
        raise SimulatorError(f"--scope must be 'attention' or 'layer', not {request.scope!r}")
    target = load_target(request.target)
    kind = getattr(target, "kind", None)
    if kind not in EVALUATORS:
        raise SimulatorError(f"target {request.target!r} has kind {kind!r}, which no cost model handles")
    module_name, func_name = EVALUATORS[kind].split(":")
    module = importlib.import_module(module_name)
    return getattr(module, func_name)(target, request)
