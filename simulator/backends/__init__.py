"""One backend per target kind, behind one small protocol (`simulator.backends.protocol.Backend`).

`BACKENDS` is the one table that names them, as "module:attribute" so that a command imports only the backend it
uses. Adding a kind: its target model in `hw/` (one line in `hw.registry.TARGET_KINDS`), its backend module here
(one line below). docs/backends.md walks through the FPGA kind as the example.
"""

from __future__ import annotations

import importlib
from typing import Any

from simulator.errors import SimulatorError

#: target kind -> "module:attribute" of its backend object.
BACKENDS: dict[str, str] = {
    "spatial": "simulator.spatial.backend:BACKEND",
    "gpu": "simulator.gpu.backend:BACKEND",
    "fpga": "simulator.fpga:BACKEND",
    "hdl": "simulator.hdl_units:BACKEND",
}

_LOADED: dict[str, Any] = {}


def register_backend(kind: str, backend: Any) -> None:
    """Add or replace the backend of `kind`: the object itself, or "module:attribute"."""
    _LOADED.pop(kind, None)
    if isinstance(backend, str):
        BACKENDS[kind] = backend
    else:
        BACKENDS[kind] = f"<object {backend!r}>"
        _LOADED[kind] = backend


def backend_for(kind: str) -> Any:
    """The backend of target kind `kind` (imported on first use)."""
    if kind not in _LOADED:
        if kind not in BACKENDS:
            raise SimulatorError(f"target kind {kind!r} has no backend; known kinds: {', '.join(sorted(BACKENDS))}",
                                 source="--target")
        module, attr = BACKENDS[kind].split(":")
        _LOADED[kind] = getattr(importlib.import_module(module), attr)
    return _LOADED[kind]
