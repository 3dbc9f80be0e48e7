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
- `einsums`: per Einsum, the compute `array` it is bound to, `spatial` unrolling (rank -> PEs), the temporal
  `loop_order` (outer -> inner) and the `buffer_tile` kept in the global buffer (defaults to the group's tile);
- `linear` (optional): one Einsum mapping applied to the linear layers of `--scope layer`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, PositiveInt, model_validator

from hw.errors import SpecError
from hw.spec import Frozen, load_yaml, validate_spec
from mappers.errors import MappingError

BUILTIN_DIR = Path(__file__).parent / "builtin"

Level = Literal["dram", "buffer", "pe"]


class EinsumMapping(Frozen):
    """How one Einsum runs: bound array, spatial unrolling, temporal loop order, buffer tile."""

    array: str
    spatial: dict[str, PositiveInt] = Field(default_factory=dict)
    loop_order: tuple[str, ...] = ()
    buffer_tile: dict[str, PositiveInt] | None = None


class Group(Frozen):
    """A fusion group: Einsums that share on-chip tiles and run as one pipelined kernel."""

    name: str
    tile: dict[str, PositiveInt] = Field(default_factory=dict)
    stages: tuple[tuple[tuple[str, ...], ...], ...]

    def einsum_names(self) -> list[str]:
        return [name for stage in self.stages for lane in stage for name in lane]


class Mapping(Frozen):
    """A whole mapping file (see the module docstring for the meaning of each field)."""

    name: str
    description: str = ""
    source: str = ""
    cascade: str
    sizes: dict[str, PositiveInt] = Field(default_factory=dict)
    tensors: dict[str, Level] = Field(default_factory=dict)
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
        return self


def mapping_path(name_or_path: str | Path) -> Path:
    """Resolve a built-in mapping name (`mappers/builtin/NAME.yaml`) or a path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise MappingError(f"{path}: no such mapping file")
        return path
    builtin = BUILTIN_DIR / f"{name_or_path}.yaml"
    if builtin.exists():
        return builtin
    known = ", ".join(builtin_mappings())
    raise MappingError(f"unknown mapping {str(name_or_path)!r}; built-in mappings: {known} (or give a .yaml path)")


def builtin_mappings() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def load_mapping(name_or_path: str | Path) -> tuple[Mapping, str]:
    """Load and validate a mapping; returns it and the file it came from (for error messages). Cached per file
    and modification time (mappings are immutable), so sweeps do not re-parse YAML."""
    path = mapping_path(name_or_path)
    return _load_mapping(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _load_mapping(path_str: str, mtime_ns: int) -> tuple[Mapping, str]:
    path = Path(path_str)
    try:
        return validate_spec(Mapping, load_yaml(path), path), str(path)
    except SpecError as exc:
        raise MappingError(str(exc)) from None


def dump_mapping(mapping: Mapping, path: str | Path) -> None:
    """Write `mapping` as YAML that `load_mapping` reads back unchanged."""
    data = mapping.model_dump(mode="json", exclude_none=True)
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False))
