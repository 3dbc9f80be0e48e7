"""Hardware: target descriptions (YAML profiles validated into frozen models) and the HDL backend."""

from __future__ import annotations

from typing import Any

__all__ = ["SpecError", "builtin_targets", "load_target"]


def __getattr__(name: str) -> Any:
    if name == "SpecError":
        from hw.errors import SpecError

        return SpecError
    if name in ("builtin_targets", "load_target"):
        from hw import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'hw' has no attribute {name!r}")
