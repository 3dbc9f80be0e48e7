"""Parse -> validate -> immutable model, for every YAML file cascade reads.

`read_text` and `load_yaml` turn every way a file can be unreadable (missing, a directory, not UTF-8, too large,
malformed, an alias bomb) into one `InputError` line; `Frozen` is the pydantic base of every spec (immutable,
unknown keys rejected, strict scalars so that `clock_hz: true` is not 1 Hz); `validate_model` is the one formatter
of pydantic's errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from cascade_base.errors import InputError, shown

M = TypeVar("M", bound=BaseModel)

#: Largest text file read as YAML; specs are a few kB, so this only stops a wrong file.
MAX_FILE_BYTES = 8 * 1024 * 1024
#: Largest number of YAML nodes after alias expansion (a "billion laughs" file expands beyond any limit).
MAX_EXPANDED_NODES = 200_000


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


def read_text(path: str | Path, error: type[InputError] = InputError) -> str:
    """The UTF-8 text of `path`, or `error` naming the file and why it cannot be read."""
    path = Path(path)
    try:
        if path.is_dir():
            raise error("is a directory; give a file", source=str(path))
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise error(f"file is {size} bytes, more than the {MAX_FILE_BYTES} a spec may have; is it the right "
                        "file?", source=str(path))
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read file ({exc.strerror or exc})", source=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"not a UTF-8 text file (byte {exc.start} is {data[exc.start:exc.start + 1]!r}); give a YAML "
                    "file", source=str(path)) from None


def parse_yaml(text: str, source: str, error: type[InputError] = InputError) -> Any:
    """Parse YAML text safely: errors name the line, alias expansion and nesting are bounded."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_expansion(root, source, error)
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
        raise error(f"malformed YAML: {problem}", source=source, line=mark.line + 1 if mark else None,
                    column=mark.column + 1 if mark else None) from None
    except RecursionError:
        raise error("malformed YAML: nested too deeply", source=source) from None
    except (ValueError, TypeError) as exc:
        if isinstance(exc, InputError):
            raise
        raise error(f"malformed YAML: {shown(str(exc), 120)}", source=source) from None


def _check_expansion(root: yaml.Node | None, source: str, error: type[InputError]) -> None:
    """Refuse a document whose aliases expand to more than `MAX_EXPANDED_NODES` nodes."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        sizes[key] = 1  # a cycle counts once
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        total = min(total, MAX_EXPANDED_NODES + 1)
        sizes[key] = total
        return total

    if root is not None and size(root) > MAX_EXPANDED_NODES:
        raise error(f"YAML expands to more than {MAX_EXPANDED_NODES} values through aliases (&/*); write the "
                    "values out or use fewer aliases", source=source)


def load_yaml(path: str | Path, error: type[InputError] = InputError) -> dict[str, Any]:
    """Read one YAML mapping from `path`, with errors that name the file and the line."""
    data = parse_yaml(read_text(path, error), str(path), error)
    if not isinstance(data, dict):
        raise error(f"expected a YAML mapping at the top level, found {type(data).__name__}", source=str(path))
    return data


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
