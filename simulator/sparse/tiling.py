"""Count the KV tiles each query tile visits under a GNA pattern: multi-dimensional or flat tiling,
static or dynamic KV tiling. Per-axis intervals, vectorised with numpy; no N x N mask is ever built.

Multi-dimensional tiling: tiles are boxes; each axis is padded to whole tiles. With dilation, each dilation group
of an axis is its own sub-axis (tokens re-arranged so that a group is contiguous, as the kernels do), tiled and
padded on its own. The mask is the AND of per-axis masks and the query tiles form a product set, so the visit count
of a query tile is the product of its per-axis counts, the maximum (mean) over tiles is the product of the per-axis
maxima (means), and the pattern is perfectly block-sparse iff every axis is.

Flat tiling lives in flat.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.sparse.gna import split_axis
from simulator.sparse.spec import AxisSpec, GNAConfig

EMPTY, FULL, PARTIAL = 0, 1, 2
MAX_TOUCHED = 4_000_000  # keep the visited (query tile, KV tile) pairs for plots only below this many


def _ceil_div(a, b):
    return -(-a // b)


@dataclass(frozen=True)
class AxisTiles:
    """Per-axis tile counts: one entry per query tile of the axis (dilation groups concatenated)."""

    spec: AxisSpec
    q_tile: int
    kv_tile: int
    visited: np.ndarray  # KV tiles visited by each query tile along this axis
    fully_block_sparse: bool  # no visited KV tile is partially masked (under the chosen KV tiling)

    def classes(self) -> np.ndarray:
        """(query tiles x static KV tiles of the axis) matrix of EMPTY / FULL / PARTIAL, for plots."""
        axis = split_axis(self.spec)
        parts = [_group_classes(s, e, self.q_tile, self.kv_tile, n)
                 for s, e, n in zip(axis.starts, axis.ends, axis.lengths, strict=True)]
        out = np.zeros((sum(p.shape[0] for p in parts), sum(p.shape[1] for p in parts)), dtype=np.int8)
        r = c = 0
        for cls in parts:  # block diagonal: a query of group g sees only keys of group g
            out[r : r + cls.shape[0], c : c + cls.shape[1]] = cls
            r, c = r + cls.shape[0], c + cls.shape[1]
        return out


@dataclass(frozen=True)
class TileCounts:
    """Visit counts of every query tile and the summary the bound is made of."""

    kv_tiles_dense: int
    visited: np.ndarray  # per query tile; shape = query-tile grid (multi) or (n_q_tiles,) (flat)
    fully_block_sparse: bool
    axes: tuple[AxisTiles, ...] = ()  # multi tiling only
    # flat tiling and patterns: (query tile, static KV tile, full or None) of every visited pair, when few enough
    touched: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None

    @property
    def visited_max(self) -> int:
        return int(self.visited.max())

    @property
    def visited_mean(self) -> float:
        return float(self.visited.mean())


def _tile_bounds(start, end, tq: int):
    """Per query tile of an undilated (sub-)axis: min/max window start and min/max window end."""
    first = np.arange(_ceil_div(start.size, tq)) * tq
    return (np.minimum.reduceat(start, first), np.maximum.reduceat(start, first),
            np.minimum.reduceat(end, first), np.maximum.reduceat(end, first))


def _group_tiles(start, end, tq: int, tk: int, length: int, dynamic: bool) -> tuple[np.ndarray, bool]:
    """Visited counts and perfect block sparsity of the query tiles of one undilated (sub-)axis, in O(tiles).

    A KV tile [lo, hi] (clipped to the axis) is full for the query tile iff lo >= max start and hi <= min end;
    every tile in the visited range holds a neighbour, so the tile is perfectly sparse iff all visited are full.
    """
    min_s, max_s, min_e, max_e = _tile_bounds(start, end, tq)
    last_real = min_e == length - 1  # the clipped last tile ends at length - 1
    if not dynamic:
        first_k, last_k = min_s // tk, max_e // tk
        visited = last_k - first_k + 1
        full_lo = np.maximum(_ceil_div(max_s, tk), first_k)
        full_hi = np.minimum(np.where(last_real, last_k, (min_e + 1) // tk - 1), last_k)
    else:
        visited = _ceil_div(max_e - min_s + 1, tk)
        full_lo = _ceil_div(max_s - min_s, tk)
        full_hi = np.minimum(np.where(last_real, visited - 1, (min_e - min_s + 1) // tk - 1), visited - 1)
    n_full = np.maximum(full_hi - full_lo + 1, 0)
    return visited, bool((n_full == visited).all())


def _group_classes(start, end, tq: int, tk: int, length: int) -> np.ndarray:
    """(query tiles x static KV tiles) classes of one undilated (sub-)axis."""
    min_s, max_s, min_e, max_e = _tile_bounds(start, end, tq)
    k_lo = np.arange(_ceil_div(length, tk)) * tk
    k_hi = np.minimum(k_lo + tk, length) - 1
    hit = (k_lo[None, :] <= max_e[:, None]) & (k_hi[None, :] >= min_s[:, None])
    full = (k_lo[None, :] >= max_s[:, None]) & (k_hi[None, :] <= min_e[:, None])
    return np.where(full, FULL, np.where(hit, PARTIAL, EMPTY)).astype(np.int8)


def axis_tiles(spec: AxisSpec, q_tile: int, kv_tile: int, dynamic: bool = False) -> AxisTiles:
    """Tile counts of one axis under multi-dimensional tiling (dilation groups tiled separately)."""
    axis = split_axis(spec)
    parts = [_group_tiles(s, e, q_tile, kv_tile, n, dynamic)
             for s, e, n in zip(axis.starts, axis.ends, axis.lengths, strict=True)]
    return AxisTiles(spec, q_tile, kv_tile, np.concatenate([p[0] for p in parts]), all(p[1] for p in parts))


def multi_tiles(cfg: GNAConfig, q_tile: tuple[int, ...], kv_tile: tuple[int, ...], dynamic: bool = False) -> TileCounts:
    """Multi-dimensional tiling: per-axis counts, combined by outer product."""
    axes = tuple(axis_tiles(a, tq, tk, dynamic) for a, tq, tk in zip(cfg.axes, q_tile, kv_tile, strict=True))
    visited = axes[0].visited
    for ax in axes[1:]:
        visited = np.multiply.outer(visited, ax.visited)
    dense = int(np.prod([_ceil_div(a.length, tk) for a, tk in zip(cfg.axes, kv_tile, strict=True)]))
    return TileCounts(dense, visited, all(a.fully_block_sparse for a in axes), axes=axes)
