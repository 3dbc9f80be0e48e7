"""The `spatial` target kind: PE arrays, register files, a global buffer, DRAM, a clock, and per-action energy and
per-component area looked up in a shared Accelergy-style table (`hw/profiles/tables/NAME.yaml`).

A PE's operations are declared by what they cost: `cycles` of occupancy on one functional `unit` and the
`actions` (unit -> count) they spend energy on, e.g. FuseMax's exp as a 6-term Taylor series is
`{unit: mac, cycles: 7, actions: {mac: 6, add: 1}}`, while FLAT's 1D PE has a one-op-per-cycle exp unit.
Distinct units of a PE work in parallel (pipelined), so an Einsum's cycles per point are those of its busiest unit,
unless the array says `concurrent_units: false` (one op issued per cycle: the sum). A reduction unrolled across PEs
drains through a `chain` of PEs (one hop per PE) or a `tree`; the mapping decides whether that wait is exposed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from cascade_base.catalog import Catalog
from hw.errors import SpecError
from hw.registry import PROFILE_DIR
from hw.spec import Frozen, load_yaml, validate_spec

TABLE_DIR = PROFILE_DIR / "tables"


class OpCost(Frozen):
    """What one operation costs on a PE: occupancy of a functional unit and the energy actions it performs."""

    unit: str
    cycles: PositiveInt = 1
    actions: dict[str, PositiveInt] = Field(default_factory=dict)

    def action_counts(self) -> dict[str, int]:
        """Energy actions per op; when none are given, one action of the unit that runs it."""
        return dict(self.actions) if self.actions else {self.unit: 1}


class RegisterFile(Frozen):
    """A per-PE register file; its energy per read/write and area come from the table entry `component`."""

    component: str
    words: PositiveInt


class ComputeArray(Frozen):
    """A rows x cols array of identical PEs (a 1D array has rows = 1)."""

    name: str
    rows: PositiveInt
    cols: PositiveInt
    units: tuple[str, ...] = Field(description="functional units per PE (table components, for area)")
    ops: dict[str, OpCost] = Field(description="op kind -> cost; an Einsum bound here may use only these")
    register_file: RegisterFile
    concurrent_units: bool = Field(True, description="distinct units of a PE work on one point at once (cycles "
                                   "per point = busiest unit); false: one op at a time (sum over the point's ops)")
    spatial_reduction: Literal["chain", "tree"] = Field("chain", description="how partial sums of a rank unrolled "
                                                       "across PEs combine: forwarded PE to PE, or an adder tree")
    reduction_hop_cycles: PositiveInt = 1

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    @model_validator(mode="after")
    def _ops_use_declared_units(self) -> ComputeArray:
        for op, cost in self.ops.items():
            for unit in (cost.unit, *cost.actions):
                if unit not in self.units:
                    raise ValueError(f"op {op!r} uses unit {unit!r}, which is not in units {list(self.units)}")
        return self


class GlobalBuffer(Frozen):
    """The on-chip shared buffer: capacity, line width (bits per access) and banks."""

    component: str
    capacity_bytes: PositiveInt
    width_bits: PositiveInt
    banks: PositiveInt
    bw_bytes_per_cycle: PositiveFloat | None = Field(
        None, description="bytes the buffer reads and writes per cycle in all, a group then taking at least its "
        "buffer traffic over this (one access per bank per cycle: banks x width_bits / 8); unset: unlimited, as "
        "the FuseMax artifact assumes, so a mapping whose traffic exceeds the ports is not slowed by it")


class Dram(Frozen):
    """Off-chip memory: bandwidth and access width (bits per access, for energy)."""

    component: str
    bw_bytes_per_s: PositiveFloat
    width_bits: PositiveInt
    packing: Literal["dense", "spatial_tile"] = Field(
        "dense", description="dense: transfer time = bytes / bandwidth; spatial_tile: each access of width_bits "
        "carries one spatial tile of a tensor (the words its array takes in one cycle), so a tile narrower than "
        "the port leaves the rest of the access unused (a stream port that feeds an array column per beat)")


class SpatialTarget(Frozen):
    """A spatial accelerator: compute arrays + register files + global buffer + DRAM, at one clock."""

    kind: Literal["spatial"]
    name: str
    description: str
    source: str
    clock_hz: PositiveFloat
    word_bytes: PositiveInt
    energy_table: str = Field(description="name of a table in hw/profiles/tables/ (or a path)")
    default_mapping: str = Field(description="mapping evaluated when none is given (mappers/builtin/NAME.yaml)")
    control_cycles_per_tile: NonNegativeInt = Field(0, description="cycles the sequencer spends per tile of a "
                                                    "group's DRAM-level tile loop with no array issuing an op")
    arrays: tuple[ComputeArray, ...] = Field(min_length=1)
    global_buffer: GlobalBuffer
    dram: Dram

    @model_validator(mode="after")
    def _unique_array_names(self) -> SpatialTarget:
        names = [a.name for a in self.arrays]
        if len(set(names)) != len(names):
            raise ValueError(f"array names must be unique, got {names}")
        return self

    def array(self, name: str) -> ComputeArray:
        for arr in self.arrays:
            if arr.name == name:
                return arr
        raise KeyError(name)


class MemoryScaling(Frozen):
    """How a memory's energy per access and area follow its capacity and access width, as power laws anchored at
    the entry's own estimate: value = value_at_reference x (capacity / capacity_bytes)^exponent x (width /
    width_bits)^exponent. The exponents are least-squares fits to CACTI points (see the table's comments)."""

    capacity_bytes: PositiveInt
    width_bits: PositiveInt
    energy_capacity_exponent: dict[str, float] = Field(description="action -> exponent of capacity")
    energy_width_exponent: dict[str, float] = Field(description="action -> exponent of width")
    area_capacity_exponent: float
    area_width_exponent: float
    source: str


class TableEntry(Frozen):
    """One component of the energy/area table: energy per action (pJ), area (um^2). A memory gives either
    `capacity_bytes` (area linear in capacity, energy per access fixed) or `scaling` (both follow capacity and
    width by its power laws); DRAM gives `width_bits` (energy per access linear in the bits moved)."""

    actions_pj: dict[str, float]
    area_um2: float = 0.0
    capacity_bytes: PositiveInt | None = None
    width_bits: PositiveInt | None = None
    scaling: MemoryScaling | None = None
    source: str


class EnergyTable(Frozen):
    """An Accelergy-style table of components at one technology node."""

    name: str
    technology: str
    source: str
    components: dict[str, TableEntry]

    def entry(self, component: str, where: str) -> TableEntry:
        entry = self.components.get(component)
        if entry is None:
            raise SpecError(f"{where}: component {component!r} is not in energy table {self.name!r} "
                            f"(known: {', '.join(sorted(self.components))})")
        return entry

    def energy_pj(self, component: str, action: str, where: str) -> float:
        """Energy of one `action` of `component`; `where` names the target field that asked, for the error."""
        entry = self.entry(component, where)
        if action not in entry.actions_pj:
            raise SpecError(f"{where}: component {component!r} has no action {action!r} in table {self.name!r} "
                            f"(known: {', '.join(sorted(entry.actions_pj))})")
        return entry.actions_pj[action]

    def memory_energy_pj(self, component: str, action: str, where: str, capacity_bytes: int,
                         width_bits: int) -> float:
        """Energy of one access of `width_bits` to a memory of `capacity_bytes`: the entry's energy scaled by its
        `scaling` power laws, or linearly in the bits moved when the entry gives only `width_bits` (DRAM)."""
        energy = self.energy_pj(component, action, where)
        entry = self.components[component]
        if entry.scaling is not None:
            sc = entry.scaling
            return (energy * (capacity_bytes / sc.capacity_bytes) ** sc.energy_capacity_exponent.get(action, 0.0)
                    * (width_bits / sc.width_bits) ** sc.energy_width_exponent.get(action, 0.0))
        if entry.width_bits is not None:
            return energy * width_bits / entry.width_bits
        return energy

    def area_um2(self, component: str, where: str, capacity_bytes: int | None = None,
                 width_bits: int | None = None) -> float:
        """Area of one instance; a memory's follows its capacity (and width) by the entry's rule."""
        entry = self.entry(component, where)
        if capacity_bytes is not None and entry.scaling is not None:
            sc = entry.scaling
            width = width_bits if width_bits is not None else sc.width_bits
            return (entry.area_um2 * (capacity_bytes / sc.capacity_bytes) ** sc.area_capacity_exponent
                    * (width / sc.width_bits) ** sc.area_width_exponent)
        if capacity_bytes is not None and entry.capacity_bytes:
            return entry.area_um2 * capacity_bytes / entry.capacity_bytes
        return entry.area_um2


#: The built-in energy/area tables, and any table YAML file a target names.
ENERGY_TABLES = Catalog("energy table", TABLE_DIR, SpecError, option="field 'energy_table'")


def load_energy_table(name_or_path: str) -> EnergyTable:
    """Load a table by name (`hw/profiles/tables/NAME.yaml`) or path; cached per file and mtime."""
    return ENERGY_TABLES.load(name_or_path, _load_table)


def _load_table(path: Path) -> EnergyTable:
    return validate_spec(EnergyTable, load_yaml(path), path)


def check_against_table(target: SpatialTarget) -> EnergyTable:
    """Every component a target names must be in its table with the actions the cost model will use."""
    table = load_energy_table(target.energy_table)
    for i, arr in enumerate(target.arrays):
        for unit in arr.units:
            table.energy_pj(unit, "compute", f"arrays.{i}.units")
        for action in ("read", "write"):
            table.energy_pj(arr.register_file.component, action, f"arrays.{i}.register_file.component")
    for action in ("read", "write"):
        table.energy_pj(target.global_buffer.component, action, "global_buffer.component")
        table.energy_pj(target.dram.component, action, "dram.component")
    return table


def area_breakdown_um2(target: SpatialTarget) -> dict[str, float]:
    """Area per component group: each array (PEs x (units + register file)) and the global buffer."""
    table = load_energy_table(target.energy_table)
    areas: dict[str, float] = {}
    for i, arr in enumerate(target.arrays):
        pe = sum(table.area_um2(u, f"arrays.{i}.units") for u in arr.units)
        pe += table.area_um2(arr.register_file.component, f"arrays.{i}.register_file")
        areas[arr.name] = pe * arr.pes
    buf = target.global_buffer
    areas["global_buffer"] = table.area_um2(buf.component, "global_buffer.component", buf.capacity_bytes,
                                            buf.width_bits)
    return areas

