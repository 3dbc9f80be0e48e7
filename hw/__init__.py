"""Hardware: target descriptions (YAML profiles validated into frozen models) and the HDL backend."""

from hw.errors import SpecError
from hw.registry import builtin_targets, load_target

__all__ = ["SpecError", "builtin_targets", "load_target"]
