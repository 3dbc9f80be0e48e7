"""The typed result of a spatial evaluation (its field names are the JSON keys of `cascade evaluate --json`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GroupRow:
    """One fusion group: its latency and what bounds it (compute or DRAM), and its buffer need."""

    group: str
    latency_s: float
    compute_s: float
    dram_s: float
    buffer_need_bytes: float
    spilled_fraction: float


@dataclass(frozen=True)
class EinsumRow:
    """One Einsum: where it runs, its compute time and utilisation, its traffic and energy."""

    einsum: str
    group: str
    array: str
    compute_s: float
    pe_utilization: float
    dram_bytes: float
    buffer_bytes: float
    register_file_bytes: float
    energy_j: float


@dataclass(frozen=True)
class SpatialResult:
    """Latency, energy, traffic per level, utilisation per array, area, and the breakdown per group and Einsum."""

    target: str
    workload: str
    seq: int
    scope: str
    cascade: str
    mapping: str
    latency_s: float
    energy_j: float
    flops: float
    bytes_by_level: dict[str, float]
    utilization: dict[str, float]
    area_um2: float
    area_um2_by_component: dict[str, float]
    energy_j_by_component: dict[str, float]
    buffer_need_bytes: float
    spilled_fraction: float
    groups: tuple[GroupRow, ...]
    einsums: tuple[EinsumRow, ...]
    mapping_params: dict[str, Any]
    mapping_candidates: int
    kind: str = "spatial"
    energy_convention: str = "physical"  # physical | artifact (simulator/spatial/convention.py)
    shape: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
