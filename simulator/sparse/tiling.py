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

from simulator.sparse.gna import group_lengths, split_axis
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
    full: np.ndarray | None = None  # of those, KV tiles every query of the tile attends whole
    transposed: bool = False  # backward pass: rows are KV tiles, columns query tiles (KV-tile-major)

    def classes(self) -> np.ndarray:
        """(query tiles x static KV tiles of the axis) matrix of EMPTY / FULL / PARTIAL, for plots."""
        axis = split_axis(self.spec)
        bounds = [inverse_windows(s, e) if self.transposed else (s, e) for s, e in zip(axis.starts, axis.ends,
                                                                                       strict=True)]
        parts = [_group_classes(s, e, self.q_tile, self.kv_tile, n)
                 for (s, e), n in zip(bounds, axis.lengths, strict=True)]
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
    full: np.ndarray | None = None  # per query tile: visited KV tiles that no mask entry cuts (None: unknown)
    grid_minor_tiles: int | None = None  # KV tiles of the padded grid (multi tiling with dilation groups)

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


def _group_tiles(start, end, tq: int, tk: int, length: int, dynamic: bool) -> tuple[np.ndarray, bool, np.ndarray]:
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
    n_full = np.minimum(np.maximum(full_hi - full_lo + 1, 0), visited)
    return visited, bool((n_full == visited).all()), n_full


def _group_classes(start, end, tq: int, tk: int, length: int) -> np.ndarray:
    """(query tiles x static KV tiles) classes of one undilated (sub-)axis."""
    min_s, max_s, min_e, max_e = _tile_bounds(start, end, tq)
    k_lo = np.arange(_ceil_div(length, tk)) * tk
    k_hi = np.minimum(k_lo + tk, length) - 1
    hit = (k_lo[None, :] <= max_e[:, None]) & (k_hi[None, :] >= min_s[:, None])
    full = (k_lo[None, :] >= max_s[:, None]) & (k_hi[None, :] <= min_e[:, None])
    return np.where(full, FULL, np.where(hit, PARTIAL, EMPTY)).astype(np.int8)


def inverse_windows(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per key j of an undilated (sub-)axis, the queries [first, last] whose window holds j.

    Windows start and end non-decreasing in the query, so the queries of a key are an interval: the first query
    whose window ends at or after j to the last whose window starts at or before j (the backward pass's view).
    """
    keys = np.arange(start.size, dtype=np.int64)
    return np.searchsorted(end, keys, side="left"), np.searchsorted(start, keys, side="right") - 1


def axis_tiles(spec: AxisSpec, q_tile: int, kv_tile: int, dynamic: bool = False, transposed: bool = False) -> AxisTiles:
    """Tile counts of one axis under multi-dimensional tiling (dilation groups tiled separately).

    `transposed` counts the backward pass: for each KV tile, the query tiles it is visited by (KV-tile-major, as
    NATTEN's backward kernels iterate; SHI-Labs/NATTEN 0.21.7.dev1, fna_fusion_bwd.hpp `get_trip_count`)."""
    axis = split_axis(spec)
    bounds = [inverse_windows(s, e) if transposed else (s, e) for s, e in zip(axis.starts, axis.ends, strict=True)]
    major, minor = (kv_tile, q_tile) if transposed else (q_tile, kv_tile)
    parts = [_group_tiles(s, e, major, minor, n, dynamic) for (s, e), n in zip(bounds, axis.lengths, strict=True)]
    return AxisTiles(spec, major, minor, np.concatenate([p[0] for p in parts]), all(p[1] for p in parts),
                     np.concatenate([p[2] for p in parts]), transposed)


def multi_tiles(cfg: GNAConfig, q_tile: tuple[int, ...], kv_tile: tuple[int, ...], dynamic: bool = False,
                transposed: bool = False) -> TileCounts:
    """Multi-dimensional tiling: per-axis counts, combined by outer product. `transposed`: the backward pass
    (visited is then per KV tile: the query tiles each KV tile is visited by; `kv_tiles_dense` the query tiles)."""
    axes = tuple(axis_tiles(a, tq, tk, dynamic, transposed)
                 for a, tq, tk in zip(cfg.axes, q_tile, kv_tile, strict=True))
    visited, full = axes[0].visited, axes[0].full
    for ax in axes[1:]:
        visited = np.multiply.outer(visited, ax.visited)
        full = np.multiply.outer(full, ax.full)  # full in every axis = full (the mask is an AND over axes)
    minor = q_tile if transposed else kv_tile
    dense = int(np.prod([_ceil_div(a.length, t) for a, t in zip(cfg.axes, minor, strict=True)]))
    grid = int(np.prod([sum(_ceil_div(int(n), t) for n in group_lengths(a.length, a.dilation))
                        for a, t in zip(cfg.axes, minor, strict=True)]))
    return TileCounts(dense, visited, all(a.fully_block_sparse for a in axes), axes=axes, full=full,
                      grid_minor_tiles=grid)
