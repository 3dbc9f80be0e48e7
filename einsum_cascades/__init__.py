"""Attention algorithms as cascades of extended Einsums (FuseMax / TeAAL notation), with analyses and a
reference executor. Names are imported on first use, so that `import einsum_cascades.library` stays light."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"Cascade": "einsum_cascades.cascade", "Einsum": "einsum_cascades.cascade",
            "CascadeError": "einsum_cascades.errors", "library_names": "einsum_cascades.library",
            "load_cascade": "einsum_cascades.loader", "parse_cascade": "einsum_cascades.loader",
            "analysis": "einsum_cascades.analysis"}

__all__ = ["Cascade", "CascadeError", "Einsum", "library_names", "load_cascade", "parse_cascade"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'einsum_cascades' has no attribute {name!r}")
    module = importlib.import_module(_EXPORTS[name])
    return module if name == "analysis" else getattr(module, name)
