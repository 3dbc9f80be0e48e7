"""Energy accounting conventions of the spatial model (`--energy-convention physical|artifact`).

- `physical` (default): every PE's register-file accesses are charged, and the mapping's dataflow is taken as
  written (inputs from DRAM are staged in the buffer).
- `artifact`: the FuseMax artifact's accounting (FPSG-UIUC/micro24-fusemax-artifact v1.0, src/accel/cascade.py
  build_accelergy_buf_counts / build_accelergy_yaml, counts read from Timeloop):
  - register files are charged for one PE per Einsum (Timeloop's per-instance scalar accesses written to a single
    `reg_file[1]`);
  - a tile staged from DRAM and read by several Einsums of a group is filled into the buffer once (the artifact's
    softmax fills QK in its M Einsum only: softmax-mappings/m.yaml, sn.yaml);
  - Timeloop's 64-bit partition sizes (`partition_overflow`): Timeloop (NVlabs/timeloop src/loop-analysis/
    tiling.cpp ComputePartitionSizes, unchanged since 2019) computes an output's partition at a level as
    `tensor elements x tile elements / tile elements` in `std::size_t`; where the product reaches 2**64 it wraps, the
    first read of each element is no longer elided (reads = accesses - wrapped partition), and the artifact charges
    those reads to the buffer (cascade.py counts L3 reads unconditionally). See `overflow_reads`;
  - the mapping's dataflow is the one the artifact gave Timeloop, where it differs: the overlay
    `mappers/builtin/artifact/MAPPING.yaml`, when there is one for the evaluated mapping's name, and for the linear
    layers of every mapping `mappers/builtin/artifact/shared/linear.yaml` (the artifact's MatMul). Its `points` table
    (the artifact's own per-point choices, e.g. FLAT's flat_validation.csv, matched on the shape's dimensions) pins
    params, streams the tensors it places off chip past the buffer and replaces Einsum mappings by the artifact's
    stationarity; its `stream` rules apply where no point matches.

A convention is data (an overlay of the mapping, a counting rule), never a formula keyed on a design's name.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from cascade_base.spec import Frozen, validate_model
from hw.spec import load_yaml, validate_spec
from mappers.errors import MappingError
from mappers.mapping import Mapping

EnergyConvention = Literal["physical", "artifact"]
OVERLAY_DIR = Path(__file__).resolve().parents[2] / "mappers" / "builtin" / "artifact"
#: the linear layers' overlay, shared by every mapping (its `linear` entry)
LINEAR_OVERLAY = "shared/linear.yaml"
#: shape fields a point table's `match` may name (simulator/shape.py AttentionShape)
SHAPE_FIELDS = ("batch", "heads", "seq", "kv_seq", "head_dim", "value_dim")


class StreamRule(Frozen):
    """Tensors that Einsums read (or write) straight from (to) DRAM, bypassing the buffer, for the bindings of the
    mapping's params that `when` names (all of them; empty: every binding)."""

    when: dict[str, str | int] = Field(default_factory=dict)
    einsums: dict[str, tuple[str, ...]] = Field(description="Einsum -> its DRAM tensors streamed past the buffer")


class PointParam(Frozen):
    """A mapping param bound from a column of the point table: column value -> param value; a value `$COL` takes
    the point's value in column COL (as an integer)."""

    column: str
    param: str
    values: dict[str, str | int]


class PointEinsums(Frozen):
    """Einsum mappings chosen by a column of the point table: column value -> Einsum -> mapping fields that
    replace the mapping's (array, spatial, loop_order, buffer_tile; hardware refs and `$params` allowed)."""

    column: str
    values: dict[str, dict[str, dict[str, Any]]]


class PointTable(Frozen):
    """Per-point choices the artifact read from a CSV of its own, matched on the evaluated shape."""

    file: str = Field(description="CSV next to the overlay")
    where: dict[str, str] = Field(default_factory=dict, description="column -> value: the rows that apply")
    match: dict[str, str] = Field(description="CSV column -> shape field (batch, heads, seq, kv_seq, head_dim, "
                                  "value_dim) that must be equal")
    locations: dict[str, tuple[str, ...]] = Field(default_factory=dict, description="tensor -> Einsums that move "
                                                  "it past the buffer where the point's `<tensor>_loc` is offchip")
    params: tuple[PointParam, ...] = ()
    einsums: tuple[PointEinsums, ...] = ()


class LinearOverlay(Frozen):
    """The artifact's mapping of the linear layers (`--scope layer`, the same for every design): fields replacing
    a mapping's `linear` entry, and the roles of each layer Y[n,j] = X[n,k] W[k,j] (X, W, Y) that move past the
    buffer."""

    source: str
    mapping: dict[str, Any] = Field(default_factory=dict)
    stream: tuple[Literal["X", "W", "Y"], ...] = ()


class DataflowOverlay(Frozen):
    """How the artifact's Timeloop mappings move a mapping's tensors where our mapping says otherwise."""

    mapping: str = Field(description="the mapping (by name) this overlay applies to")
    source: str
    points: PointTable | None = None
    stream: tuple[StreamRule, ...] = ()
    forwarded: dict[str, tuple[str, ...]] = Field(default_factory=dict, description="Einsum -> operands it takes "
                                                  "from its producer in the PE as they are made: no buffer read")


@dataclass(frozen=True)
class Dataflow:
    """The accounting the cost model applies: streamed tensors per Einsum (a DRAM tensor moved between DRAM and
    the array with no buffer access, its traffic the array's), forwarded operands (no buffer read), register
    files of one PE (`rf_one_pe`), staged tiles filled once per group (`fill_once`, under both conventions: the
    group reads the tile from DRAM once), Timeloop's wrapped partition sizes (`partition_overflow`). `rules` are the
    overlay's stream rules, bound by `for_params`; `params` and `einsums` (a matched point's pinned params and
    Einsum mappings) are applied to the mapping by `overlay_mapping`; `point` names the matched row."""

    convention: EnergyConvention = "physical"
    stream: dict[str, frozenset[str]] = field(default_factory=dict)
    forwarded: dict[str, frozenset[str]] = field(default_factory=dict)
    rf_one_pe: bool = False
    fill_once: bool = True
    partition_overflow: bool = False
    rules: tuple[StreamRule, ...] = ()
    base_stream: dict[str, frozenset[str]] = field(default_factory=dict)
    params: dict[str, str | int] = field(default_factory=dict)
    einsums: dict[str, dict[str, Any]] = field(default_factory=dict)
    linear: dict[str, Any] = field(default_factory=dict)
    linear_stream: tuple[str, ...] = ()
    point: str = ""

    def for_linear(self, einsum: str) -> Dataflow:
        """This accounting for the linear layer `einsum` (simulator/spatial/problem.py names its tensors
        X_<einsum>, W_<einsum>, Y_<einsum>): only the overlay's linear streams."""
        return dataclasses.replace(self, stream={einsum: frozenset(f"{r}_{einsum}" for r in self.linear_stream)})

    def for_params(self, values: dict[str, object]) -> Dataflow:
        """This accounting for one binding of the mapping's params: the point's streams and the rules whose
        `when` holds."""
        stream: dict[str, set[str]] = {e: set(ts) for e, ts in self.base_stream.items()}
        for rule in self.rules:
            if all(values.get(k) == v for k, v in rule.when.items()):
                for einsum, tensors in rule.einsums.items():
                    stream.setdefault(einsum, set()).update(tensors)
        return dataclasses.replace(self, stream={e: frozenset(ts) for e, ts in stream.items()})


PHYSICAL = Dataflow()
ARTIFACT_RULES = {"convention": "artifact", "rf_one_pe": True, "fill_once": True, "partition_overflow": True}


def overflow_reads(tensor_elements: int, tile_elements: int) -> int:
    """Reads of a buffered output the artifact charges beyond ours: Timeloop's partition size (tensor x tile / tile
    in 64-bit unsigned arithmetic) falls short of the tensor by this much when the product wraps; 0 when it does
    not."""
    if tile_elements <= 0:
        return 0
    wrapped = (tensor_elements * tile_elements) % (1 << 64) // tile_elements
    return tensor_elements - wrapped


def dataflow_for(convention: EnergyConvention, mapping_name: str, shape: Any = None,
                 overlays: bool = True) -> Dataflow:
    """The accounting of `convention` for the mapping named `mapping_name`, at `shape` (an AttentionShape; the
    overlay's point table is matched on it). `overlays=False` (a mapping a search found): the counting rules only,
    no dataflow overlay."""
    if convention == "physical":
        return PHYSICAL
    if not overlays:
        return Dataflow(**ARTIFACT_RULES)
    linear_path = OVERLAY_DIR / LINEAR_OVERLAY
    linear = validate_spec(LinearOverlay, load_yaml(linear_path), linear_path)
    rules = Dataflow(**ARTIFACT_RULES, linear=linear.mapping, linear_stream=linear.stream)
    path = OVERLAY_DIR / f"{mapping_name}.yaml"
    if not path.is_file():
        return rules
    overlay = validate_spec(DataflowOverlay, load_yaml(path), path)
    if overlay.mapping != mapping_name:
        raise MappingError(f"{path}: field 'mapping': {overlay.mapping!r} does not match the file name "
                           f"{mapping_name!r}; name the file after the mapping it overlays")
    base = dataclasses.replace(rules, forwarded={e: frozenset(ts) for e, ts in overlay.forwarded.items()},
                               rules=overlay.stream)
    row = _match_point(overlay.points, path, shape) if overlay.points is not None and shape is not None else None
    if row is not None:
        base = _point_dataflow(base, overlay.points, row, path)
    return base.for_params({})


def _match_point(table: PointTable, path: Path, shape: Any) -> dict[str, str] | None:
    """The row of the point table whose `match` columns equal the shape (None if no row does)."""
    bad = sorted(set(table.match.values()) - set(SHAPE_FIELDS))
    if bad:
        raise MappingError(f"{path}: field 'points.match': {bad} are not shape fields; use {', '.join(SHAPE_FIELDS)}")
    want = {col: str(getattr(shape, f)) for col, f in table.match.items()}
    for row in _read_points(path.parent / table.file):
        if all(row.get(k) == v for k, v in table.where.items()) and all(row.get(k) == v for k, v in want.items()):
            return row
    return None


def _read_points(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise MappingError(f"{path}: the overlay's points.file does not exist; copy it next to the overlay")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _point_dataflow(base: Dataflow, table: PointTable, row: dict[str, str], path: Path) -> Dataflow:
    """`base` with a point's choices: streamed tensors, pinned params, Einsum mappings."""

    def cell(column: str, where: str) -> str:
        if column not in row:
            raise MappingError(f"{path}: field '{where}': column {column!r} is not in {table.file} "
                               f"(columns: {', '.join(row)})")
        return row[column]

    stream: dict[str, set[str]] = {}
    for tensor, einsums in table.locations.items():
        if cell(f"{tensor}_loc", f"points.locations.{tensor}") == "offchip":
            for einsum in einsums:
                stream.setdefault(einsum, set()).add(tensor)
    params: dict[str, str | int] = {}
    for p in table.params:
        value = cell(p.column, "points.params")
        if value not in p.values:
            raise MappingError(f"{path}: field 'points.params': {p.column} = {value!r} has no entry under values "
                               f"(has: {', '.join(p.values)}); add it")
        chosen = p.values[value]
        params[p.param] = int(cell(chosen[1:], "points.params")) if str(chosen).startswith("$") else chosen
    einsums: dict[str, dict[str, Any]] = {}
    for e in table.einsums:
        einsums.update(e.values.get(cell(e.column, "points.einsums"), {}))
    point = ", ".join(f"{k}={row[k]}" for k in (*table.where, *table.match))
    return dataclasses.replace(base, base_stream={e: frozenset(ts) for e, ts in stream.items()}, rules=(),
                               params=params, einsums=einsums, point=f"{table.file} ({point})")


def overlay_mapping(mapping: Mapping, dataflow: Dataflow, file: str) -> Mapping:
    """`mapping` with a matched point's params pinned, its Einsum mappings and its `linear` entry replaced by the
    overlay's (unchanged where the overlay has none)."""
    if not dataflow.params and not dataflow.einsums and not dataflow.linear:
        return mapping
    data = mapping.model_dump(mode="python", exclude_none=True)
    unknown = sorted(set(dataflow.params) - set(data.get("params", {}))) + sorted(
        set(dataflow.einsums) - set(data["einsums"]))
    if unknown:
        raise MappingError(f"{file}: the artifact overlay names {unknown}, which mapping {mapping.name!r} does not "
                           "have (params or Einsums); fix the overlay")
    for name, value in dataflow.params.items():
        data["params"][name] = [value]
    for name, fields in dataflow.einsums.items():
        data["einsums"][name] = {**data["einsums"][name], **fields}
    if dataflow.linear and "linear" in data:
        data["linear"] = {**data["linear"], **dataflow.linear}
    return validate_model(Mapping, data, f"{file} (artifact overlay, {dataflow.point})", MappingError)
