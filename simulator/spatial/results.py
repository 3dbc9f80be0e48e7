"""The typed result of a spatial evaluation (its field names are the JSON keys of `cascade evaluate --json`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GroupRow:
    """One fusion group: its latency and what bounds it (compute, DRAM or buffer ports), and its buffer need."""

    group: str
    latency_s: float
    compute_s: float
    dram_s: float
    buffer_need_bytes: float
    spilled_fraction: float
    buffer_s: float = 0.0  # buffer traffic over `global_buffer.bw_bytes_per_cycle` (0: the target sets no limit)


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
class SearchReport:
    """How a mapping was searched: why, for what, how, and what it cost (`search` in the JSON)."""

    reason: str  # "--search", or why a search ran without it (no mapping covers the cascade)
    objective: str
    strategy: str
    mappings_costed: int  # group mappings costed by the model (each distinct one once)
    mappings_pruned: int  # points of the searched groups' spaces skipped without costing
    mappings_infeasible: int  # costed and rejected (the buffer does not fit)
    segments_searched: int  # fusion groups (contiguous runs of Einsums) searched
    segments_pruned: int  # fusion groups skipped: their lower bound could not beat the best mapping
    search_s: float
    time_to_best_s: float
    seed: int
    budget: int | None
    time_limit_s: float | None
    partition: tuple[str, ...]  # the fusion groups found, Einsums joined by '+'
    out: str | None = None  # the file the mapping was written to (--out)


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
    #: compute at full utilisation on the bound arrays, or compulsory DRAM traffic / bandwidth, whichever is more
    lower_bound_s: float = 0.0
    bound_gap: float = 0.0  # latency_s / lower_bound_s - 1
    search: SearchReport | None = None
