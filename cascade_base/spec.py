"""Parse -> validate -> immutable model, for every YAML file cascade reads.

`load_yaml` (from `cascade_base.yamlio`) reads a file safely; `Frozen` is the pydantic base of every spec (immutable,
unknown keys rejected, strict scalars so that `clock_hz: true` is not 1 Hz); `validate_model` is the one formatter
of pydantic's errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from cascade_base.errors import InputError, shown
from cascade_base.yamlio import MAX_EXPANDED_NODES, MAX_FILE_BYTES, load_yaml, parse_yaml, read_text

__all__ = ["MAX_EXPANDED_NODES", "MAX_FILE_BYTES", "Frozen", "format_validation_error", "inner_model", "load_yaml",
           "parse_yaml", "read_text", "validate_model"]

M = TypeVar("M", bound=BaseModel)

class Frozen(BaseModel):
    """Base of every spec model: immutable, unknown keys rejected, no silent bool -> number coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """`true` is not a number: pydantic would read `clock_hz: true` as 1.0."""
        field = info.field_name
        if isinstance(value, bool) and field is not None and not _admits_bool(cls.model_fields[field].annotation):
            raise ValueError(f"expected a number or text, not {value!r}")
        return value


def _admits_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    return any(_admits_bool(arg) for arg in getattr(annotation, "__args__", ()) or ())


def field_path(loc: tuple[Any, ...]) -> str:
    """pydantic's error location as a dotted path (`arrays.0.rows`), union member tags dropped."""
    parts = [str(p) for p in loc if not _is_union_tag(p)]
    return ".".join(parts) or "<top level>"


def _is_union_tag(part: Any) -> bool:
    text = str(part)
    return isinstance(part, str) and (text in {"int", "str", "float", "bool", "constrained-int", "constrained-str"}
                                      or text.startswith(("literal[", "function-", "tagged-union[", "nullable[")))


def validate_model(model: type[M], data: Any, source: str | Path, error: type[InputError] = InputError) -> M:
    """Build `model` from `data`; on failure raise `error` naming `source`, the field and the fix."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, model, source, error) from None


def format_validation_error(exc: ValidationError, model: type[BaseModel], source: str | Path,
                            error: type[InputError] = InputError) -> InputError:
    """The first of pydantic's errors as one `InputError` line (the count of the others appended)."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = tuple(err["loc"])
    field = field_path(loc)
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        msg = f"unknown key; allowed keys: {', '.join(allowed)}" if allowed else "unknown key"
    elif err["type"] == "missing":
        msg = "required field is missing; add it"
    else:
        msg = f"{err['msg']} (got {shown(err.get('input'))})"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return error(msg + more, source=str(source), field=field)


def _allowed_keys(model: type[BaseModel], parent: tuple[Any, ...]) -> list[str]:
    """The field names of the model found at `parent` inside `model` (empty if it cannot be followed)."""
    current: Any = model
    for part in parent:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            if isinstance(part, int):
                continue
            return []
        info = current.model_fields.get(str(part))
        if info is None:
            return []
        current = inner_model(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def inner_model(annotation: Any) -> Any:
    """The pydantic model inside `tuple[X, ...]`, `X | None`, `dict[str, X]`, or `X` itself."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = inner_model(arg)
        if found is not None:
            return found
    return None
