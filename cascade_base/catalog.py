"""One catalog of built-in names: "a built-in name or a path to a YAML file" resolved the same way everywhere.

Each package declares its kinds of file (`Catalog("cascade", BUILTIN_DIR, error=CascadeError)`); `resolve` turns a
name or a path into a file, `load` parses it once per file and modification time (specs are immutable, so a sweep
of thousands of points reads each file once). Unknown names are errors that list the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cascade_base.errors import InputError, shown

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Catalog:
    """Built-in files of one kind (`kind`: "cascade", "target", ...) in `directory`, plus any path a user gives."""

    kind: str
    directory: Path
    error: type[InputError] = InputError
    option: str | None = None  # the CLI option that takes this kind, for messages (e.g. "--target")
    _cache: dict[tuple[str, int, str], Any] = field(default_factory=dict, compare=False, repr=False)

    def names(self) -> list[str]:
        """The built-in names, sorted."""
        return sorted(p.stem for p in self.directory.glob("*.yaml"))

    def is_path(self, name_or_path: str | Path) -> bool:
        return Path(name_or_path).suffix in YAML_SUFFIXES or "/" in str(name_or_path)

    def resolve(self, name_or_path: str | Path) -> Path:
        """The file of a built-in name or a path; an `error` that lists the built-in names otherwise."""
        text = str(name_or_path)
        if self.is_path(text):
            path = Path(text)
            if not path.exists():
                raise self.error(f"no such {self.kind} file", source=self.option or text,
                                 hint=None if self.option is None else f"{text} does not exist")
            if path.is_dir():
                raise self.error(f"{text} is a directory; give a {self.kind} YAML file", source=self.option)
            return path
        builtin = self.directory / f"{text}.yaml"
        if text and builtin.is_file():
            return builtin
        raise self.error(f"unknown {self.kind} {shown(text)}; built-in {self.kind}s: {', '.join(self.names())} "
                         "(or give a path to a .yaml file)", source=self.option)

    def load(self, name_or_path: str | Path, parse: Callable[[Path], Any]) -> Any:
        """`parse(path)` of the resolved file, cached by file, modification time and parser."""
        path = self.resolve(name_or_path)
        try:
            mtime = path.stat().st_mtime_ns
        except OSError as exc:
            raise self.error(f"cannot read file ({exc.strerror})", source=str(path)) from None
        key = (str(path.resolve()), mtime, getattr(parse, "__qualname__", repr(parse)))
        if key not in self._cache:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = parse(path)
        return self._cache[key]
