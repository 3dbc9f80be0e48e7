"""The typed result of `simulator.gpu.model.predict`: arrays (one entry per shape) in frozen records.

`Prediction.row(i)` gives shape i's plain numbers; the JSON of `cascade evaluate` is built from it only at the edge
(`simulator.gpu.backend`, `simulator.gpu.results.GpuResult`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from simulator.gpu.kernels import KernelConfig
from simulator.gpu.work import TileWork


def _at(record: Any, i: int) -> dict[str, Any]:
    values = {f.name: np.asarray(getattr(record, f.name)) for f in fields(record)}
    return {name: (v[i] if v.ndim else v).item() for name, v in values.items()}  # (a scalar: the same for every row)


@dataclass(frozen=True)
class UnitUse:
    """Busy fraction of each unit over the kernel's latency."""

    tensor: np.ndarray
    exp: np.ndarray
    fp32: np.ndarray
    hbm: np.ndarray


@dataclass(frozen=True)
class Phases:
    """Seconds: `compute` (SM time), `memory` (HBM time), `launch`, and per-unit busy seconds."""

    compute: np.ndarray
    memory: np.ndarray
    launch: np.ndarray
    tensor: np.ndarray
    exp: np.ndarray
    fp32: np.ndarray
    edges: np.ndarray
    smem: np.ndarray | float = 0.0  # busy seconds of an mma.sync kernel's shared-memory operand traffic


@dataclass(frozen=True)
class Grid:
    """The launch: CTAs, waves of SMs x occupancy, KV splits, key tiles visited, masked tiles, K/V reloads."""

    ctas: np.ndarray
    waves: np.ndarray
    splits: np.ndarray
    kv_tiles: np.ndarray
    masked_tiles: np.ndarray
    kv_reload: np.ndarray


@dataclass(frozen=True)
class Prediction:
    """Latency, throughput, bound and breakdown for every shape of one `predict` call."""

    latency_s: np.ndarray
    tflops: np.ndarray
    flops: np.ndarray
    bound: np.ndarray
    hbm_bytes: np.ndarray
    utilization: UnitUse
    phases_s: Phases
    grid: Grid
    kernel: KernelConfig
    work: TileWork
    emulated_exp_fraction: float = 0.0

    def __len__(self) -> int:
        return int(np.asarray(self.latency_s).size)

    def row(self, i: int = 0) -> dict[str, Any]:
        """Shape i as plain Python numbers: scalars, and dicts for the nested records."""
        return {"latency_s": float(self.latency_s[i]), "tflops": float(self.tflops[i]), "flops": float(self.flops[i]),
                "bound": str(self.bound[i]), "hbm_bytes": float(self.hbm_bytes[i]),
                "utilization": _at(self.utilization, i), "phases_s": _at(self.phases_s, i),
                "grid": {k: (float(v) if k == "kv_reload" else int(v)) for k, v in _at(self.grid, i).items()}}
