"""The built-in cascades: YAML files in `einsum_cascades/builtin/`, one algorithm each, each citing its source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cascade_base.catalog import Catalog
from cascade_base.yamlio import load_yaml
from einsum_cascades.errors import CascadeError

BUILTIN_DIR = Path(__file__).parent / "builtin"
#: The built-in cascades, and any cascade YAML file a user names.
CASCADES = Catalog("cascade", BUILTIN_DIR, CascadeError, option="--cascade")


@dataclass(frozen=True)
class LibraryEntry:
    name: str
    description: str
    citation: str
    path: Path


def library_names() -> list[str]:
    """Names of the built-in cascades, sorted."""
    return CASCADES.names()


def library_entries() -> list[LibraryEntry]:
    """Name, one-line description and citation of each built-in cascade (read without parsing the Einsums)."""
    entries = []
    for name in library_names():
        path = BUILTIN_DIR / f"{name}.yaml"
        data = load_yaml(path, CascadeError)
        entries.append(LibraryEntry(name, str(data.get("description", "")).strip(),
                                    str(data.get("citation", "")).strip(), path))
    return entries
