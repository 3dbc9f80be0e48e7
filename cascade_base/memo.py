"""A persistent memo for pure, costly steps (parsing a cascade with sympy, binding it, counting a tile's ops), so
that a later process starts without importing sympy at all.

A value is stored under a key made of the caller's inputs (including the digest of every file they read) and a
fingerprint of the code that computes it (path, size and mtime of each module of the packages it names), so an
edited cascade, or an edited model, is never answered from the store. Values must pickle without sympy objects.
The store is `$CASCADE_CACHE_DIR` (default `~/.cache/cascade`); `CASCADE_CACHE=0` turns it off. A store that
cannot be read or written is skipped silently: it only ever saves time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
_MEMORY: dict[str, Any] = {}


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes (what a cached value read from it depends on)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@cache
def code_fingerprint(packages: tuple[str, ...]) -> str:
    """A digest of (path, size, mtime) of every module in `packages` (folders or files of this project)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for package in packages:
        where = root / package
        for path in [where] if where.is_file() else sorted(where.rglob("*.py")):
            st = path.stat()
            h.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


def _store() -> Path | None:
    if os.environ.get("CASCADE_CACHE", "1") == "0":
        return None
    base = os.environ.get("CASCADE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "cascade")
    return Path(base)


def memo(namespace: str, key: Iterable[Any], compute: Callable[[], T], code: tuple[str, ...]) -> T:
    """`compute()`, or the value stored for (`namespace`, `key`, the fingerprint of `code`)."""
    digest = hashlib.sha256(repr((namespace, tuple(key), code_fingerprint(code))).encode()).hexdigest()
    if digest in _MEMORY:
        return _MEMORY[digest]
    store = _store()
    path = store / namespace / f"{digest}.pickle" if store else None
    if path is not None:
        try:
            with path.open("rb") as f:
                value = pickle.load(f)
            _MEMORY[digest] = value
            return value
        except Exception:  # noqa: BLE001 -- a missing, torn or foreign file: compute instead
            pass
    value = compute()
    _MEMORY[digest] = value
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False) as f:
                pickle.dump(value, f)
            os.replace(f.name, path)
        except OSError:
            pass
    return value
