"""Find and load targets: a built-in name (`hw/profiles/NAME.yaml`) or a path to a YAML file.

Every target file has a `kind:` (spatial, gpu, fpga); the kind selects the frozen model that validates it. The
table `TARGET_KINDS` is the one place a kind's model is named (as "module:Class", imported only when a target of
that kind is loaded, so a GPU evaluation never imports the spatial model).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from cascade_base.catalog import Catalog
from hw.errors import SpecError
from hw.overrides import apply_overrides, parse_overrides
from hw.spec import load_yaml, validate_spec

PROFILE_DIR = Path(__file__).parent / "profiles"
#: The built-in targets, and any target YAML file a user names.
TARGETS = Catalog("target", PROFILE_DIR, SpecError, option="--target")

#: kind name -> "module:Class" of the frozen pydantic model of that kind of target.
TARGET_KINDS: dict[str, str] = {
    "spatial": "hw.spatial:SpatialTarget",
    "gpu": "hw.gpu:GpuTarget",
    "fpga": "hw.fpga:FpgaTarget",
    "hdl": "hw.hdl_units:HdlUnitsTarget",
}


def register_kind(kind: str, model: type[BaseModel] | str) -> None:
    """Add a target kind: its model class, or "module:Class" to import it lazily (see docs/backends.md)."""
    TARGET_KINDS[kind] = model if isinstance(model, str) else f"{model.__module__}:{model.__qualname__}"
    _MODELS.pop(kind, None)
    if not isinstance(model, str):
        _MODELS[kind] = model


_MODELS: dict[str, type[BaseModel]] = {}


def target_model(kind: str) -> type[BaseModel]:
    """The model class of target kind `kind` (imported on first use)."""
    if kind not in _MODELS:
        module, cls = TARGET_KINDS[kind].split(":")
        _MODELS[kind] = getattr(importlib.import_module(module), cls)
    return _MODELS[kind]


def builtin_targets() -> list[str]:
    """Names of the shipped targets, sorted."""
    return TARGETS.names()


def target_path(name_or_path: str | Path) -> Path:
    """Resolve a built-in name or a file path to the YAML file, or raise `SpecError` listing the names."""
    return TARGETS.resolve(name_or_path)


def target_kind(data: dict[str, Any], source: str | Path) -> str:
    """The `kind:` of a raw target mapping, or a `SpecError` listing the kinds."""
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in TARGET_KINDS:
        raise SpecError(f"unknown target kind {kind!r}; expected one of {', '.join(sorted(TARGET_KINDS))}",
                        source=str(source), field="kind")
    return kind


def validate_target(data: dict[str, Any], source: str | Path) -> Any:
    """Validate a raw target mapping (a file's, or one with `--set` overrides applied) into its kind's model."""
    return validate_spec(target_model(target_kind(data, source)), data, source)


def load_target_data(name_or_path: str | Path) -> tuple[dict[str, Any], Path]:
    """The raw mapping of a target file and its path (before validation; `--set` edits a copy of it). Cached per
    file and modification time: callers must not change it."""
    path = target_path(name_or_path)
    return TARGETS.load(path, load_yaml), path


def load_target(name_or_path: str | Path, overrides: Iterable[str] | Mapping[str, Any] | None = None) -> Any:
    """Load and validate one target; returns the frozen model of its kind (cached per file and mtime).

    `overrides` change fields by dotted path before validation (`["arrays.pe2d.rows=128"]` or
    `{"global_buffer.capacity_bytes": "8MiB"}`), exactly as `--set` does; see `hw.overrides`.
    """
    parsed = parse_overrides(overrides)
    if not parsed:
        return TARGETS.load(name_or_path, _load_file)
    data, path = load_target_data(name_or_path)
    changed = apply_overrides(data, parsed, target_model(target_kind(data, path)), path)
    return validate_target(changed, f"{path} (with --set {', '.join(o.path for o in parsed)})")


def _load_file(path: Path) -> Any:
    return validate_target(load_yaml(path), path)


def builtin_target_entries() -> list[dict[str, str]]:
    """Rows for `cascade list targets`: name, kind and the cited source of each built-in target."""
    rows = []
    for name in builtin_targets():
        data = load_yaml(PROFILE_DIR / f"{name}.yaml")
        rows.append({"name": name, "kind": str(data.get("kind", "?")),
                     "description": str(data.get("description", "")), "source": str(data.get("source", ""))})
    return rows
