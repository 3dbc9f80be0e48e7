"""The built-in cascades: YAML files in `einsum_cascades/builtin/`, one algorithm each, each citing its source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

BUILTIN_DIR = Path(__file__).parent / "builtin"


@dataclass(frozen=True)
class LibraryEntry:
    name: str
    description: str
    citation: str
    path: Path


def library_names() -> list[str]:
    """Names of the built-in cascades, sorted."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def library_entries() -> list[LibraryEntry]:
    """Name, one-line description and citation of each built-in cascade (read without parsing the Einsums)."""
    entries = []
    for name in library_names():
        path = BUILTIN_DIR / f"{name}.yaml"
        data = yaml.safe_load(path.read_text()) or {}
        entries.append(LibraryEntry(name, str(data.get("description", "")).strip(),
                                    str(data.get("citation", "")).strip(), path))
    return entries
