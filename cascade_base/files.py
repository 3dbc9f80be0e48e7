"""Output locations: a directory cascade may write into, checked before any work starts."""

from __future__ import annotations

import os
from pathlib import Path

from cascade_base.errors import InputError


def writable_dir(path: str | Path, option: str, error: type[InputError] = InputError) -> Path:
    """Create `path` (and its parents) if needed and check that files can be written there; else `error` naming
    the option, the path and why (a regular file in the way, no permission, a read-only file system)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise error(f"{path} exists and is not a directory; choose another location", source=option) from None
    except OSError as exc:
        raise error(f"cannot create {path} ({exc.strerror}); choose a writable location", source=option) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise error(f"{path} is not writable; choose a writable location", source=option)
    return path


def writable_file(path: str | Path, option: str, error: type[InputError] = InputError) -> Path:
    """`path` as a file to write: its directory is created and checked; a directory at `path` is an error."""
    path = Path(path)
    if path.is_dir():
        raise error(f"{path} is a directory; give a file name", source=option)
    writable_dir(path.parent if str(path.parent) else Path("."), option, error)
    return path
