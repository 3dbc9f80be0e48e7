"""Reading YAML safely: every way a file can be unreadable (missing, a directory, not UTF-8, too large, malformed,
an alias bomb, nested too deeply) becomes one `InputError` line naming the file (and the line where known)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cascade_base.errors import InputError, shown

#: Largest text file read as YAML; specs are a few kB, so this only stops a wrong file.
MAX_FILE_BYTES = 8 * 1024 * 1024
#: Largest number of YAML nodes after alias expansion (a "billion laughs" file expands beyond any limit).
MAX_EXPANDED_NODES = 200_000


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


#: libyaml's parser when PyYAML was built with it (several times faster), else the pure-Python one
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, source: str, error: type[InputError] = InputError) -> Any:
    """Parse YAML text safely: errors name the line, alias expansion and nesting are bounded."""
    return parse_yaml_node(text, source, error)[0]


def parse_yaml_node(text: str, source: str, error: type[InputError] = InputError) -> tuple[Any, yaml.Node | None]:
    """`parse_yaml`, also returning the document's node tree (for the line of each key in messages)."""
    try:
        loader = _LOADER(text)
        try:
            root = loader.get_single_node()
            _check_expansion(root, source, error)
            return (loader.construct_document(root) if root is not None else None), root
        finally:
            loader.dispose()
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
