"""Parse -> validate -> immutable model, for every YAML hardware description.

Each target kind is a frozen pydantic model that forbids unknown keys; `validate_spec` turns pydantic's
errors into one `SpecError` line naming the file and the field, so that a typo is an error, never an
ignored key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from hw.errors import SpecError

M = TypeVar("M", bound=BaseModel)


class Frozen(BaseModel):
    """Base of every hardware model: immutable, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def load_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML mapping from `path`, with errors that name the file and the line."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{path}{where}: malformed YAML: {problem}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a YAML mapping at the top level, found {type(data).__name__}")
    return data


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "<top level>"


def validate_spec(model: type[M], data: dict[str, Any], source: str | Path) -> M:
    """Build `model` from `data`; on failure raise `SpecError` naming `source`, the field and the fix."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = _field_path(err["loc"])
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(sorted(model.model_fields)) if len(err["loc"]) == 1 else "see the docs"
            msg = f"unknown key; allowed keys: {allowed}"
        elif err["type"] == "missing":
            msg = "required field is missing; add it"
        else:
            msg = f"{err['msg']} (got {err.get('input')!r})"
        more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise SpecError(f"{source}: field '{field}': {msg}{more}") from None
