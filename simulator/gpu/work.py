"""The work a cascade implies for one query tile of a fused attention kernel, from the cascade's op counts.

This is the only place the GPU model reads the cascade. It asks `einsum_cascades.analysis.op_counts` for the op
counts of one (batch, head) instance bound to one tile's sizes (P = Br queries, M = n * Bc keys, M0 = Bc) and
splits them, by evaluating at two key lengths, into work repeated per key tile and work done once per query tile
(the epilogue). Sizes are bound through the cascade's roles, never by symbol names. Op kinds map to GPU units:
"mac" -> tensor cores; "exp", "log" -> special-function units; "div" -> one SFU reciprocal plus one FP32 multiply;
every other kind (mul, add, sub, max, ...) -> FP32 lanes. A causal cascade is counted without its mask: the
kernel applies the mask by tile (`simulator.gpu.model`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from cascade_base.memo import memo
from einsum_cascades.sketch import cascade_file
from simulator.errors import SimulatorError

if TYPE_CHECKING:
    from einsum_cascades.cascade import Cascade

#: the code a tile's work depends on (for the persistent memo)
CODE = ("einsum_cascades", "cascade_base", "simulator/gpu")

#: Op kinds executed on the special-function units (one result per op; MUFU ex2, lg2, rcp).
SFU_KINDS = ("exp", "log", "div")
#: Op kinds that also cost one FP32 multiply (a division is rcp on the SFU then a multiply).
SFU_PLUS_FP32_KINDS = ("div",)


@dataclass(frozen=True)
class TileWork:
    """Ops per key tile (Br x Bc scores) and once per query tile (Br rows), by GPU unit.

    `passes` is the cascade's lower bound on passes over the keys; a GPU kernel honours a p-pass cascade by
    recomputing Q K^T (and re-reading K) p - 1 extra times.
    """

    cascade: str
    source: str
    passes: int
    mac_per_kv_tile: float
    exp_per_kv_tile: float
    fp32_per_kv_tile: float
    mac_per_q_tile: float
    exp_per_q_tile: float
    fp32_per_q_tile: float


Counts = Mapping[str, float]


def without_masks(cascade: Cascade) -> Cascade:
    """The cascade with every Einsum's mask removed: the work of one fully visible tile."""
    einsums = tuple(dataclasses.replace(e, mask_terms=(), fill=None) for e in cascade.einsums)
    return dataclasses.replace(cascade, einsums=einsums)


@lru_cache(maxsize=64)
def _counter(cascade_name: str) -> tuple[Cascade, int, object]:
    """(cascade, passes, op-count function) for one cascade name or path; a causal or sliding-window cascade loses
    its mask (the model counts the tiles the mask visits, `model._causal_tiles` / `window.window_tile_counts`)."""
    from einsum_cascades import analysis, load_cascade

    c = load_cascade(cascade_name)
    masked = [e.output for e in c.einsums if e.mask_terms]
    if masked and not (c.roles is not None and c.roles.mask in ("causal", "sliding-window")):
        raise SimulatorError(
            f"--cascade {cascade_name!r} masks Einsums {', '.join(masked)} with a mask the GPU model cannot apply by "
            "tile (only a causal or sliding-window mask declared in its roles); use an unmasked, causal or "
            "sliding-window cascade", source="--cascade")
    dense = without_masks(c) if masked else c
    return dense, int(analysis.passes(c)), analysis.op_counts_function(dense)


def _tile_sizes(c: Cascade, br: int, n_kv_tiles: int, bc: int, dims: tuple[tuple[str, int], ...]) -> dict[str, int]:
    """Every size symbol for one query tile of `br` rows against `n_kv_tiles` key tiles of `bc` keys."""
    from einsum_cascades.shape import bind_role_sizes, free_size_symbols

    known = dict(dims)
    split = next((s for s in c.splits if s.rank == c.roles.ranks.key_seq), None) if c.roles else None
    if split is not None:
        known[str(split.tile)] = bc
    roles = {"query_seq": br, "key_seq": n_kv_tiles * bc, "heads": 1, "kv_heads": 1}
    sizes = bind_role_sizes(c, roles, known)
    for name in free_size_symbols(c) - set(sizes):
        raise SimulatorError(f"cascade {c.name!r}: its size {name} is not set by the shape or the kernel's tiles; "
                             "give it in the cascade roles' defaults", source="--cascade")
    return sizes
def _by_unit(counts: Counts) -> tuple[float, float, float]:
    mac = exp = fp32 = 0.0
    for kind, n in counts.items():
        if kind == "mac":
            mac += n
        elif kind in SFU_KINDS:
            exp += n
            if kind in SFU_PLUS_FP32_KINDS:
                fp32 += n
        else:
            fp32 += n
    return mac, exp, fp32


@lru_cache(maxsize=4096)
def tile_work(cascade: str, br: int, bc: int, dims: tuple[tuple[str, int], ...]) -> TileWork:
    """Ops of one Br x Bc key tile and of one query tile's epilogue, for `cascade` (cached per tile shape).

    `dims` binds the cascade's head-dimension size symbols, e.g. (("E", 128), ("F", 128)); MLA adds L and R.
    Kept in the persistent memo per cascade file content, so a later run needs no sympy.
    """
    path, digest = cascade_file(cascade)
    return memo("tile_work", (str(path.resolve()), digest, br, bc, dims),
                lambda: _tile_work(cascade, br, bc, dims), CODE)


def _tile_work(cascade: str, br: int, bc: int, dims: tuple[tuple[str, int], ...]) -> TileWork:
    c, passes, fn = _counter(cascade)

    def by_unit(rows: int, tiles: int) -> tuple[float, float, float]:
        return _by_unit({k: float(v) for k, v in fn(**_tile_sizes(c, rows, tiles, bc, dims)).items()})

    one, two = by_unit(br, 1), by_unit(br, 2)
    wide_tile = by_unit(2 * br, 2)[0] - by_unit(2 * br, 1)[0]
    if not wide_tile > two[0] - one[0]:
        raise SimulatorError(
            f"--cascade {cascade!r} has no query x key score matrix (its MACs per key tile do not grow with the "
            "query tile), so it is not a fused softmax-attention kernel the GPU model costs; use an attention-* "
            "cascade (linear attention runs as GEMMs on a GPU)")
    per_tile = [b - a for a, b in zip(one, two, strict=True)]
    per_q = [max(a - t, 0.0) for a, t in zip(one, per_tile, strict=True)]
    return TileWork(cascade, "einsum_cascades.analysis.op_counts", passes, *per_tile, *per_q)
