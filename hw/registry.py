"""Find and load targets: a built-in name (`hw/profiles/NAME.yaml`) or a path to a YAML file.

Every target file has a `kind:` (spatial, gpu, fpga); the kind selects the frozen model that validates it.
Kind modules register themselves in `TARGET_KINDS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from hw.errors import SpecError
from hw.spec import load_yaml, validate_spec

PROFILE_DIR = Path(__file__).parent / "profiles"

#: kind name -> frozen pydantic model of that kind of target.
TARGET_KINDS: dict[str, type[BaseModel]] = {}


def register_kind(kind: str, model: type[BaseModel]) -> None:
    TARGET_KINDS[kind] = model


def builtin_targets() -> list[str]:
    """Names of the shipped targets, sorted."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def target_path(name_or_path: str | Path) -> Path:
    """Resolve a built-in name or a file path to the YAML file, or raise `SpecError` listing the names."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise SpecError(f"{path}: no such target file")
        return path
    builtin = PROFILE_DIR / f"{name_or_path}.yaml"
    if builtin.exists():
        return builtin
    raise SpecError(
        f"unknown target {str(name_or_path)!r}; built-in targets: {', '.join(builtin_targets())} "
        "(or give a path to a .yaml file)"
    )


def load_target(name_or_path: str | Path) -> Any:
    """Load and validate one target; returns the frozen model of its kind."""
    _import_kinds()
    path = target_path(name_or_path)
    data = load_yaml(path)
    kind = data.get("kind")
    if kind not in TARGET_KINDS:
        raise SpecError(
            f"{path}: field 'kind': unknown target kind {kind!r}; expected one of {', '.join(sorted(TARGET_KINDS))}"
        )
    return validate_spec(TARGET_KINDS[kind], data, path)


def _import_kinds() -> None:
    """Import the kind modules so they register (kept lazy: loading one kind must not need the others)."""
    import importlib

    for module in KIND_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


#: Modules that define and register a target kind.
KIND_MODULES = ("hw.spatial", "hw.gpu", "hw.fpga")


def builtin_target_entries() -> list[dict[str, str]]:
    """Rows for `cascade list targets`: name, kind and the cited source of each built-in target."""
    rows = []
    for name in builtin_targets():
        data = load_yaml(PROFILE_DIR / f"{name}.yaml")
        rows.append({"name": name, "kind": str(data.get("kind", "?")),
                     "description": str(data.get("description", "")), "source": str(data.get("source", ""))})
    return rows
