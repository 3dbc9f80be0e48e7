"""The mapping of a cascade onto a spatial target, as a YAML file a user can read and edit.

A mapping says, for one cascade:
- `sizes`: the values of tile symbols the cascade leaves open (e.g. `M0: 256`, FuseMax's m-tile);
- `tensors`: where each tensor lives: `dram` (staged through the global buffer), `buffer`, or `pe` (passed between
  PEs and arrays through register files, never written to the buffer); unlisted cascade inputs/outputs are `dram`,
  unlisted intermediates `buffer`;
- `spill`: tensors allowed to overbook the buffer (their excess share of buffer accesses goes to DRAM, as FLAT's
  O(M) rows do at long sequences); any other overflow is an error;
- `in_place`: tensor -> tensor whose buffer space it overwrites (element-wise Einsums, e.g. FLAT's softmax);
- `groups`: fusion groups run one after another; a group's Einsums share on-chip tiles of size `tile` and run as a
  pipeline of `stages` (stages one after another; the lanes of a stage run concurrently, each lane's Einsums in turn);
  `interleaved` (consecutive tiles' stages overlap), `lag` (lanes one iteration of a rank behind: the last one per
  pass is exposed) and `io_overlap` (`double_buffered`: the first tile's loads and last tile's stores are exposed);
- `einsums`: per Einsum, the compute `array` it is bound to, `spatial` unrolling (rank -> PEs), the temporal
  `loop_order` (outer -> inner) and the `buffer_tile` kept in the global buffer (defaults to the group's tile);
- `linear` (optional): one Einsum mapping applied to the linear layers of `--scope layer`;
- hardware references: a spatial factor may name a dimension of the Einsum's bound array (`spatial: {m0: rows,
  p: cols}`), and any size may name one of a named array (`sizes: {M0: pe2d.cols}`, also `pes`), so that a mapping
  follows the target when its arrays change size (`--set arrays.pe2d.rows=128` needs no mapping edit);
- `params` (optional): named choices, e.g. `rows: [256, 512, 1024, P]`; a value `$rows` in `sizes`, `tensors`,
  a group `tile` or an Einsum `buffer_tile` refers to one. The evaluator binds every combination (a size symbol such
  as `P` takes the workload's value) and keeps the feasible one with the lowest latency (then energy): the same rule
  for every design, e.g. FLAT's row granularity per sequence length or FuseMax's query tile.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, PositiveInt, StringConstraints, model_validator

from cascade_base.catalog import Catalog
from cascade_base.spec import Frozen, load_yaml, validate_model
from mappers.errors import MappingError

BUILTIN_DIR = Path(__file__).parent / "builtin"
#: The built-in mappings, and any mapping YAML file a user names.
MAPPINGS = Catalog("mapping", BUILTIN_DIR, MappingError, option="--mapping")

Level = Literal["dram", "buffer", "pe"]
#: level codes where a batch of candidate mappings gives a tensor's level per candidate (mappers.mapspace)
TENSOR_LEVELS: tuple[str, ...] = ("pe", "buffer", "dram")
#: `$name`: a reference to one of the mapping's `params`, bound before costing.
ParamRef = Annotated[str, StringConstraints(pattern=r"^\$[A-Za-z_][A-Za-z0-9_]*$")]
#: `rows`, `cols`, `pes` of the bound array, or `ARRAY.rows` etc. of a named one; resolved against the target.
HwRef = Annotated[str, StringConstraints(pattern=r"^([A-Za-z_][A-Za-z0-9_]*\.)?(rows|cols|pes)$")]
TileSize = PositiveInt | ParamRef | HwRef


class EinsumMapping(Frozen):
    """How one Einsum runs: bound array, spatial unrolling, temporal loop order, buffer tile."""

    array: str
    spatial: dict[str, PositiveInt | HwRef] = Field(default_factory=dict)
    loop_order: tuple[str, ...] = ()
    buffer_tile: dict[str, TileSize] | None = None


class Lag(Frozen):
    """Einsums of an interleaved group that run one iteration of `rank` behind the stage they are listed in
    (FuseMax's 1D array finishing block m1-1 beside block m1's Q K^T): at the end of each pass over `rank`
    their last iteration has nothing beside it, so the pipeline's drain is exposed once per pass."""

    rank: str
    einsums: tuple[str, ...] = Field(min_length=1)


class Group(Frozen):
    """A fusion group: Einsums that share on-chip tiles and run as one pipelined kernel."""

    name: str
    tile: dict[str, TileSize] = Field(default_factory=dict)
    stages: tuple[tuple[tuple[str, ...], ...], ...]
    interleaved: bool = Field(False, description="stages of consecutive tiles overlap (FuseMax's binding, paper "
                              "Fig. 7), so no stage waits for a spatial reduction draining from an earlier one")
    lag: Lag | None = Field(None, description="interleaved only: Einsums one iteration of a rank behind, whose "
                            "last iteration per pass is exposed (default: none, every lane fully overlapped)")
    io_overlap: Literal["full", "double_buffered"] = Field(
        "full", description="full: DRAM traffic overlaps all of the group's compute (latency = max of the two); "
        "double_buffered: the group's DRAM-level tile loop is double-buffered, so per instance the first tile's "
        "inputs (with every input loaded once, whole) arrive before compute starts and the last tile's outputs "
        "leave after it ends")

    def einsum_names(self) -> list[str]:
        return [name for stage in self.stages for lane in stage for name in lane]

    @model_validator(mode="after")
    def _lag_in_group(self) -> Group:
        if self.lag is not None:
            if not self.interleaved:
                raise ValueError(f"group {self.name!r}: 'lag' needs 'interleaved: true' (a lagging lane runs beside "
                                 "the next iteration's stage); set it or drop 'lag'")
            extra = sorted(set(self.lag.einsums) - set(self.einsum_names()))
            if extra:
                raise ValueError(f"group {self.name!r}: lag.einsums {extra} are not in its stages")
        return self


class Mapping(Frozen):
    """A whole mapping file (see the module docstring for the meaning of each field)."""

    name: str
    description: str = ""
    source: str = ""
    cascade: str
    params: dict[str, tuple[PositiveInt | str, ...]] = Field(default_factory=dict)
    sizes: dict[str, TileSize] = Field(default_factory=dict)
    tensors: dict[str, Level | ParamRef] = Field(default_factory=dict)
    spill: tuple[str, ...] = ()
    in_place: dict[str, str] = Field(default_factory=dict)
    groups: tuple[Group, ...] = Field(min_length=1)
    einsums: dict[str, EinsumMapping]
    linear: EinsumMapping | None = None

    @model_validator(mode="after")
    def _groups_cover_einsums(self) -> Mapping:
        seen: list[str] = []
        for group in self.groups:
            seen.extend(group.einsum_names())
        dup = sorted({n for n in seen if seen.count(n) > 1})
        if dup:
            raise ValueError(f"Einsums {dup} appear more than once in groups[*].stages")
        missing = sorted(set(self.einsums) - set(seen))
        extra = sorted(set(seen) - set(self.einsums))
        if missing or extra:
            raise ValueError(f"groups[*].stages and einsums must name the same Einsums; "
                             f"only in einsums: {missing}, only in stages: {extra}")
        empty = sorted(name for name, values in self.params.items() if not values)
        if empty:
            raise ValueError(f"params {empty} have no values; list at least one")
        unknown = sorted(set(self.param_refs()) - set(self.params))
        if unknown:
            raise ValueError(f"{', '.join('$' + u for u in unknown)} used but not declared under 'params' "
                             f"(declared: {sorted(self.params) or 'none'})")
        return self

    def param_refs(self, part: Literal["all", "attention", "linear"] = "all") -> list[str]:
        """Names of the params this mapping refers to (`$name` values), in order of first use: anywhere, outside
        the `linear` entry (chosen once per evaluation), or inside it (chosen per linear layer)."""
        where: list[Any] = []
        if part != "linear":  # the fields that may hold a reference
            where += [self.sizes, self.tensors, *(g.tile for g in self.groups),
                      *(e.buffer_tile or {} for e in self.einsums.values())]
        if part != "attention" and self.linear is not None:
            where.append(self.linear.buffer_tile or {})
        found: list[str] = []
        _walk_refs(where, found)
        return list(dict.fromkeys(found))


def _walk_refs(node: Any, found: list[str]) -> None:
    if isinstance(node, str) and node.startswith("$"):
        found.append(node[1:])
    elif isinstance(node, dict):
        for value in node.values():
            _walk_refs(value, found)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk_refs(value, found)


def _substitute(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, str) and node.startswith("$") and node[1:] in values:
        return values[node[1:]]
    if isinstance(node, dict):
        return {k: _substitute(v, values) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_substitute(v, values) for v in node]
    return node


def param_choices(mapping: Mapping, sizes: dict[str, int],
                  part: Literal["attention", "linear"] = "attention") -> list[dict[str, Any]]:
    """Every combination of the values of the params `mapping` uses in `part`, with size symbols (e.g. `P`)
    replaced by their value in `sizes`; duplicates removed. One empty dict when it uses none."""
    used = mapping.param_refs(part)
    axes = [[sizes.get(v, v) if isinstance(v, str) else v for v in mapping.params[name]] for name in used]
    out: list[dict[str, Any]] = []
    for combo in itertools.product(*axes):
        choice = dict(zip(used, combo, strict=True))
        if choice not in out:
            out.append(choice)
    return out


def bind_mapping(mapping: Mapping, values: dict[str, Any], file: str) -> Mapping:
    """`mapping` with every `$name` in `values` replaced by its value (others, e.g. those of `linear`, stay); a
    value of the wrong kind (a level where a size belongs) is a `MappingError` naming `file` and the field."""
    if not values:
        return mapping
    data = _substitute(mapping.model_dump(mode="python", exclude_none=True), values)
    return validate_model(Mapping, data, f"{file} (params {values})", MappingError)


def mapping_path(name_or_path: str | Path) -> Path:
    """Resolve a built-in mapping name (`mappers/builtin/NAME.yaml`) or a path."""
    return MAPPINGS.resolve(name_or_path)


def builtin_mappings() -> list[str]:
    return MAPPINGS.names()


def load_mapping(name_or_path: str | Path) -> tuple[Mapping, str]:
    """Load and validate a mapping; returns it and the file it came from (for error messages). Cached per file
    and modification time (mappings are immutable), so sweeps do not re-parse YAML."""
    return MAPPINGS.load(name_or_path, _load_file)


def _load_file(path: Path) -> tuple[Mapping, str]:
    return validate_model(Mapping, load_yaml(path, MappingError), path, MappingError), str(path)


def dump_mapping(mapping: Mapping, path: str | Path) -> None:
    """Write `mapping` as YAML that `load_mapping` reads back unchanged."""
    data = mapping.model_dump(mode="json", exclude_none=True)
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False))


def resolve_hardware(mapping: Mapping, arrays: dict[str, tuple[int, int]], file: str) -> Mapping:
    """`mapping` with every hardware reference replaced by the size it names; `arrays` is name -> (rows, cols)."""
    data = mapping.model_dump(mode="python", exclude_none=True)

    def size(ref: str, where: str, bound: str | None) -> int:
        array, _, dim = ref.rpartition(".")
        array = array or bound or ""
        if array not in arrays:
            hint = "name the array, e.g. pe2d.cols" if not array else f"arrays: {', '.join(arrays)}"
            raise MappingError(f"{ref!r} refers to no array of the target; {hint}", source=file, field=where)
        rows, cols = arrays[array]
        return {"rows": rows, "cols": cols, "pes": rows * cols}[dim]

    def walk(node: Any, where: str, bound: str | None) -> Any:
        if isinstance(node, str) and _HW_REF.match(node):
            return size(node, where, bound)
        if isinstance(node, dict):
            inner = node.get("array", bound) if "spatial" in node else bound
            return {k: walk(v, f"{where}.{k}".lstrip("."), inner if k == "spatial" else bound)
                    for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v, f"{where}.{i}", bound) for i, v in enumerate(node)]
        return node

    resolved = walk({k: v for k, v in data.items() if k not in ("name", "description", "source", "cascade")}, "",
                    None)
    return validate_model(Mapping, {**data, **resolved}, file, MappingError)


_HW_REF = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*\.)?(rows|cols|pes)$")


def bind_einsum_mapping(em: EinsumMapping, values: dict[str, Any], file: str) -> EinsumMapping:
    """One Einsum's mapping (e.g. the `linear` entry) with its `$name` values bound."""
    if not values:
        return em
    return validate_model(EinsumMapping, _substitute(em.model_dump(mode="python", exclude_none=True), values),
                          f"{file} (linear, params {values})", MappingError)
