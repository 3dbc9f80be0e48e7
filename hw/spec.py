"""Parse -> validate -> immutable model, for every YAML hardware description (the shared base, with `SpecError`).

Each target kind is a frozen pydantic model that forbids unknown keys; `validate_spec` turns pydantic's errors
into one `SpecError` line naming the file and the field, so that a typo is an error, never an ignored key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from cascade_base.spec import Frozen, validate_model
from cascade_base.spec import load_yaml as _load_yaml
from hw.errors import SpecError

M = TypeVar("M", bound=BaseModel)

__all__ = ["Frozen", "load_yaml", "validate_spec"]


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read one YAML mapping from `path`; errors (`SpecError`) name the file and the line."""
    return _load_yaml(path, SpecError)


def validate_spec(model: type[M], data: Any, source: str | Path) -> M:
    """Build `model` from `data`; on failure raise `SpecError` naming `source`, the field and the fix."""
    return validate_model(model, data, source, SpecError)
