"""Point keys: a hash of the *content* of everything a point's result depends on.

`point_id` hashes the point as written (its axis values); `point_key` adds the text of every file the point names
(target, mapping, cascade, workload, and the files the target names: its default mapping and energy table) and the
tool's version. Editing a target YAML (a clock halved) therefore changes the key: `--resume` recomputes such points,
and the old rows, whose id matches but key does not, are reported as stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from cascade_base.catalog import Catalog
from cascade_base.errors import InputError


def canonical(point: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in point.items() if v is not None}, sort_keys=True, default=str)


def point_id(point: dict[str, Any]) -> str:
    """A hash of the point's values alone (field order does not matter)."""
    return hashlib.sha256(canonical(point).encode()).hexdigest()[:32]


@cache
def tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("cascade-attention")
    except Exception:  # not installed (a source checkout on sys.path)
        return "unknown"


def _catalogs() -> dict[str, Callable[[], Catalog]]:
    def targets() -> Catalog:
        from hw.registry import TARGETS
        return TARGETS

    def mappings() -> Catalog:
        from mappers.mapping import MAPPINGS
        return MAPPINGS

    def cascades() -> Catalog:
        from einsum_cascades.library import CASCADES
        return CASCADES

    def workloads() -> Catalog:
        from simulator.workloads import WORKLOAD_FILES
        return WORKLOAD_FILES

    def tables() -> Catalog:
        from hw.spatial import ENERGY_TABLES
        return ENERGY_TABLES

    return {"target": targets, "mapping": mappings, "cascade": cascades, "workload": workloads,
            "default_mapping": mappings, "energy_table": tables}


_DIGESTS: dict[tuple[str, int, int], tuple[str, dict[str, Any]]] = {}


def file_digest(path: Path) -> tuple[str, dict[str, Any]]:
    """sha256 of a file's bytes (cached per path, size and mtime) and, for a YAML mapping, its top-level
    string fields (to follow the files a target names)."""
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if cache_key not in _DIGESTS:
        data = path.read_bytes()
        refs: dict[str, Any] = {}
        try:
            import yaml

            loaded = yaml.safe_load(data)
            if isinstance(loaded, dict):
                refs = {k: v for k, v in loaded.items() if k in ("default_mapping", "energy_table")
                        and isinstance(v, str)}
        except Exception:  # not YAML: the bytes alone identify it
            pass
        _DIGESTS[cache_key] = (hashlib.sha256(data).hexdigest(), refs)
    return _DIGESTS[cache_key]


def dependencies(point: dict[str, Any]) -> dict[str, str]:
    """field -> content hash of each file the point names (and the files those name)."""
    catalogs = _catalogs()
    out: dict[str, str] = {}
    todo = [(name, value) for name, value in point.items() if name in catalogs and isinstance(value, str | Path)]
    while todo:
        name, value = todo.pop()
        try:
            path = catalogs[name]().resolve(value)
        except InputError:
            continue  # the evaluation reports it; the key then depends on the name alone
        digest, refs = file_digest(path)
        out[name] = digest
        todo += [(k, v) for k, v in refs.items() if k not in out]
    return out


def point_key(point: dict[str, Any]) -> str:
    """A hash of the point's values, the content of the files it depends on, and the tool version."""
    body = json.dumps({"point": canonical(point), "files": dependencies(point), "version": tool_version()},
                      sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:32]
