"""What a backend needs to know of a cascade before costing it, without sympy: its name, Einsums, roles and the
size symbol of each rank. Kept in the persistent memo per file content, so a backend that finds everything it needs
there never parses the cascade (and never imports sympy)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cascade_base.memo import file_digest, memo
from einsum_cascades.library import CASCADES
from einsum_cascades.roles import Roles

#: the packages whose code a sketch depends on
CODE = ("einsum_cascades", "cascade_base")


@dataclass(frozen=True)
class CascadeSketch:
    name: str
    path: str
    digest: str
    einsums: tuple[str, ...]
    roles: Roles | None
    rank_symbol: dict[str, str | None]  # rank -> its size symbol when its size is one symbol (e: E), else None
    masked: tuple[str, ...]  # Einsums with a mask

    @property
    def causal(self) -> bool:
        return self.roles is not None and self.roles.causal


def cascade_file(name_or_path: str | Path) -> tuple[Path, str]:
    """The cascade's file and the digest of its bytes."""
    path = CASCADES.resolve(name_or_path)
    return path, file_digest(path)


def sketch(name_or_path: str | Path) -> CascadeSketch:
    """The sketch of a cascade (parsed once per file content, then read from the memo)."""
    path, digest = cascade_file(name_or_path)
    return memo("sketch", (str(path.resolve()), digest), lambda: _make(path, digest), CODE)


def _make(path: Path, digest: str) -> CascadeSketch:
    from einsum_cascades.loader import load_cascade

    c = load_cascade(path)
    symbols = {rank: (str(expr) if getattr(expr, "is_Symbol", False) else None) for rank, expr in c.ranks.items()}
    return CascadeSketch(c.name, str(path), digest, tuple(e.output for e in c.einsums), c.roles, symbols,
                         tuple(e.output for e in c.einsums if e.mask_terms))
