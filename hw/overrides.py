"""Parametric hardware: change any field of a target's spec by its dotted path (`--set arrays.pe2d.rows=128`).

A path walks the target's YAML mapping; a list of named items (`arrays`) is indexed by the item's `name` or its
position. Values are read as YAML scalars, and sizes may carry a binary suffix (`8MiB` = 8 * 2**20). The changed
mapping is validated again exactly like a file, so an override can never produce a spec a file could not.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from cascade_base.errors import shown
from cascade_base.spec import inner_model
from hw.errors import SpecError

SIZE_SUFFIXES = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "kB": 10**3, "MB": 10**6, "GB": 10**9}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(KiB|MiB|GiB|TiB|kB|MB|GB)\s*$")
_NUMBER = re.compile(r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$")


@dataclass(frozen=True)
class Override:
    """One `PATH=VALUE`: the dotted path as written and the parsed value."""

    path: str
    value: Any

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("."))


def parse_value(text: str) -> Any:
    """A `--set` value: a size with a suffix (`8MiB`), a number (`800e9`, `128`), `true`/`false`, a YAML flow list
    of such scalars (`[1, 2]`), or a string."""
    size = _SIZE.match(text)
    if size:
        value = float(size.group(1)) * SIZE_SUFFIXES[size.group(2)]
        return int(value) if value.is_integer() else value
    if _NUMBER.match(text):
        number = float(text)
        if re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
            return int(text)
        return number
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, list) and all(isinstance(v, bool | int | float | str) for v in value):
        return value
    return value if isinstance(value, bool | int | float | str) else text


def parse_overrides(items: Iterable[str] | Mapping[str, Any] | None, option: str = "--set") -> tuple[Override, ...]:
    """`["arrays.pe2d.rows=128", ...]` or `{"arrays.pe2d.rows": 128}` as overrides, in order."""
    if not items:
        return ()
    if isinstance(items, Mapping):
        pairs = [(str(k), parse_value(v) if isinstance(v, str) else v) for k, v in items.items()]
    else:
        pairs = []
        for item in items:
            path, sep, value = str(item).partition("=")
            if not sep or not path.strip() or not value.strip():
                raise SpecError(f"expected PATH=VALUE (e.g. arrays.pe2d.rows=128), not {shown(item)}", source=option)
            pairs.append((path.strip(), parse_value(value.strip())))
    out = []
    for path, value in pairs:
        if path.startswith("target."):
            path = path[len("target."):]
        if not re.fullmatch(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*", path):
            raise SpecError(f"{shown(path)} is not a dotted field path such as global_buffer.capacity_bytes",
                            source=option)
        out.append(Override(path, value))
    return tuple(out)


def apply_overrides(data: dict[str, Any], overrides: Iterable[Override], model: type[BaseModel],
                    source: str | Path) -> dict[str, Any]:
    """A copy of the raw target mapping `data` with each override set; unknown paths are errors listing the valid
    fields under the parent (from the kind's model, so optional fields absent from the file can be set too)."""
    out = copy.deepcopy(data)
    for item in overrides:
        node: Any = out
        node_model: Any = model
        walked: list[str] = []
        for i, part in enumerate(item.parts):
            last = i == len(item.parts) - 1
            if isinstance(node, list):
                index = _list_index(node, part)
                if index is None:
                    names = [str(x.get("name")) for x in node if isinstance(x, dict) and "name" in x]
                    valid = names or [str(k) for k in range(len(node))]
                    raise SpecError(f"no item {part!r} under '{'.'.join(walked)}'; valid: {', '.join(valid)}",
                                    source="--set", field=item.path)
                if last:
                    raise SpecError("a whole list item cannot be replaced; set one of its fields",
                                    source="--set", field=item.path)
                node, walked = node[index], [*walked, part]
                continue
            if not isinstance(node, dict):
                raise SpecError(f"'{'.'.join(walked)}' is a value, not a group of fields", source="--set",
                                field=item.path)
            fields = _fields(node_model, node)
            if part not in fields:
                parent = ".".join(walked) or "the target"
                raise SpecError(f"unknown field {part!r} under {parent}; valid: {', '.join(sorted(fields))}",
                                source="--set", field=item.path, hint=f"see {source}")
            if last:
                node[part] = item.value
            else:
                child_model = _child_model(node_model, part)
                if part not in node or node[part] is None:
                    node[part] = {}
                node, node_model, walked = node[part], child_model, [*walked, part]
    return out


def _list_index(items: list[Any], part: str) -> int | None:
    for i, x in enumerate(items):
        if isinstance(x, dict) and str(x.get("name")) == part:
            return i
    if part.isdigit() and int(part) < len(items):
        return int(part)
    return None


@dataclass(frozen=True)
class _KeyedBy:
    """A `dict[str, Model]` field: its keys are the user's (op names, unit names), its values `Model`s."""

    model: Any


def _fields(model: Any, node: dict[str, Any]) -> set[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return set(model.model_fields)
    return {str(k) for k in node}  # a free-form mapping (e.g. ops): its own keys


def _child_model(model: Any, part: str) -> Any:
    if isinstance(model, _KeyedBy):
        return model.model
    if isinstance(model, type) and issubclass(model, BaseModel) and part in model.model_fields:
        annotation = model.model_fields[part].annotation
        inner = inner_model(annotation)
        if inner is not None and _is_dict(annotation):
            return _KeyedBy(inner)
        return inner
    return None


def _is_dict(annotation: Any) -> bool:
    origin = getattr(annotation, "__origin__", None)
    if origin is dict:
        return True
    return any(_is_dict(arg) for arg in getattr(annotation, "__args__", ()) or ())


def describe(overrides: Iterable[Override]) -> dict[str, Any]:
    """The overrides as the result echoes them under `overrides` (path -> value)."""
    return {o.path: o.value for o in overrides}
