"""The typed result of a GPU evaluation (its field names are the JSON keys of `cascade evaluate --json`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TileWorkRow:
    """The cascade's work per key tile, as the kernel model charges it."""

    mac: float
    exp: float
    fp32: float
    passes: int
    source: str


@dataclass(frozen=True)
class GpuResult:
    """Latency and throughput of one fused-attention kernel, what bounds it, and the cheap roofline beside it."""

    target: str
    cascade: str
    shape: dict[str, Any]
    latency_s: float
    tflops: float
    flops: float
    bound: str
    utilization: dict[str, float]
    bytes_by_level: dict[str, float]
    roofline_latency_s: float
    phases_s: dict[str, float]
    grid: dict[str, float]
    kernel: dict[str, Any]
    work_per_kv_tile: TileWorkRow
    constants: dict[str, float]
    kind: str = "gpu"
    #: `--pass`: fwd, bwd or fwd+bwd; and the latency of each pass it sums
    training_pass: str = "fwd"
    pass_latency_s: dict[str, float] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    #: regimes where measured kernels are known to be far from this model (docs/gpu.md, "Known gaps"): one line each
    caveats: list[str] = field(default_factory=list)
    #: the model's error on measured kernels of this result's validation set, overall and near its shape
    #: (`simulator.gpu.accuracy`; {"set": ..., "points": 0} where nothing of the kind was measured)
    measured_error: dict[str, Any] = field(default_factory=dict)
