"""Count the KV tiles each query tile visits under a GNA pattern: multi-dimensional or flat tiling,
static or dynamic KV tiling. Per-axis intervals, vectorised with numpy; no N x N mask is ever built.

Multi-dimensional tiling: tiles are boxes; each axis is padded to whole tiles. With dilation, each dilation group
of an axis is its own sub-axis (tokens re-arranged so that a group is contiguous, as the kernels do), tiled and
padded on its own. The mask is the AND of per-axis masks and the query tiles form a product set, so the visit count
of a query tile is the product of its per-axis counts, the maximum (mean) over tiles is the product of the per-axis
maxima (means), and the pattern is perfectly block-sparse iff every axis is.

Flat tiling: tokens are flattened row-major (after the same dilation re-arrangement per axis), tiles hold T
consecutive tokens, and a query tile visits the distinct KV tiles that hold any neighbour of any of its queries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.sparse.gna import split_axis
from simulator.sparse.spec import AxisSpec, GNAConfig

EMPTY, FULL, PARTIAL = 0, 1, 2


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
    touched: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # flat only: q tile, static KV tile, full?

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


def permuted_windows(spec: AxisSpec) -> tuple[np.ndarray, np.ndarray]:
    """Window [start, end] of every position of the axis after the dilation re-arrangement (groups contiguous)."""
    axis = split_axis(spec)
    offsets = np.concatenate([[0], np.cumsum(axis.lengths)[:-1]])
    start = np.concatenate([s + o for s, o in zip(axis.starts, offsets, strict=True)])
    end = np.concatenate([e + o for e, o in zip(axis.ends, offsets, strict=True)])
    return start, end


def box_prefix_count(x, lo, hi, shape):
    """Number of tokens of the box [lo, hi] (per axis, rows of arrays) whose row-major index is < x."""
    n = int(np.prod(shape))
    x = np.asarray(x)
    widths = [np.maximum(h - l + 1, 0) for l, h in zip(lo, hi, strict=True)]
    total = np.prod(np.stack(widths), axis=0) if widths else np.ones_like(x)
    coords = np.unravel_index(np.minimum(x, n - 1), shape)
    count = np.zeros_like(x)
    inside = np.ones(x.shape, dtype=bool)
    for a in range(len(shape)):
        below = np.clip(coords[a] - lo[a], 0, widths[a])
        tail = np.prod(np.stack(widths[a + 1 :]), axis=0) if a + 1 < len(shape) else 1
        count = count + inside * below * tail
        inside &= (coords[a] >= lo[a]) & (coords[a] <= hi[a])
    return np.where(x >= n, total, count)


def _union_runs(group, lo, hi):
    """Merge integer intervals [lo, hi] per group: returns (group, run_lo, run_hi) of the disjoint runs."""
    order = np.lexsort((lo, group))
    group, lo, hi = group[order], lo[order], hi[order]
    big = int(hi.max() - lo.min() + 2) if lo.size else 1
    glo, ghi = lo + group * big, hi + group * big  # groups become disjoint, increasing ranges
    reach = np.maximum.accumulate(ghi)
    new = np.ones(lo.size, dtype=bool)
    new[1:] = glo[1:] > reach[:-1] + 1
    run_lo = glo[new]
    run_hi = np.maximum.reduceat(ghi, np.flatnonzero(new))
    run_group = group[new]
    return run_group, run_lo - run_group * big, run_hi - run_group * big


def flat_tiles(cfg: GNAConfig, q_tile: int, kv_tile: int, dynamic: bool = False) -> TileCounts:
    """Flat tiling: row-major tokens, tiles of `q_tile` / `kv_tile` consecutive tokens."""
    shape = cfg.shape
    n = int(np.prod(shape))
    wins = [permuted_windows(a) for a in cfg.axes]
    last_len = shape[-1]
    n_rows = n // last_len
    # Segments: the part of one query tile inside one row of the last axis.
    row_lo = np.arange(n_rows) * last_len
    t0, t1 = row_lo // q_tile, (row_lo + last_len - 1) // q_tile
    reps = t1 - t0 + 1
    row = np.repeat(np.arange(n_rows), reps)
    tile = np.repeat(t0, reps) + (np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps))
    c0 = np.maximum(tile * q_tile, row * last_len) - row * last_len
    c1 = np.minimum((tile + 1) * q_tile, (row + 1) * last_len) - 1 - row * last_len
    s_last, e_last = wins[-1]
    outer_shape = shape[:-1]
    outer = np.unravel_index(row, outer_shape) if outer_shape else ()
    lo = [wins[a][0][outer[a]] for a in range(len(outer_shape))] + [s_last[c0]]
    hi = [wins[a][1][outer[a]] for a in range(len(outer_shape))] + [e_last[c1]]
    common_lo = lo[:-1] + [s_last[c1]]
    common_hi = hi[:-1] + [e_last[c0]]
    # Every row of the neighbour box of each segment is one interval of flat indices.
    strides = np.array([int(np.prod(shape[a + 1 :])) for a in range(len(shape))], dtype=np.int64)
    widths = [h - l + 1 for l, h in zip(lo[:-1], hi[:-1], strict=True)]
    max_w = [int(w.max()) for w in widths]
    combos = np.indices(max_w).reshape(len(max_w), -1) if max_w else np.zeros((0, 1), dtype=np.int64)
    base = (row * 0 + lo[-1])[:, None] + np.zeros((1, combos.shape[1]), dtype=np.int64)
    valid = np.ones(base.shape, dtype=bool)
    for a in range(len(max_w)):
        base = base + (lo[a][:, None] + combos[a][None, :]) * strides[a]
        valid &= combos[a][None, :] < widths[a][:, None]
    span = (hi[-1] - lo[-1])[:, None]
    seg = np.broadcast_to(tile[:, None], base.shape)[valid]
    f_lo, f_hi = base[valid], (base + span)[valid]
    n_q = _ceil_div(n, q_tile)
    anchor = np.zeros(n_q, dtype=np.int64)
    if dynamic:
        seg_first = np.flatnonzero(np.r_[True, tile[1:] != tile[:-1]])
        first_lo = np.zeros(tile.size, dtype=np.int64)
        for a in range(len(shape)):
            first_lo = first_lo + lo[a] * strides[a]
        anchor[tile[seg_first]] = np.minimum.reduceat(first_lo, seg_first)
    k_lo = (f_lo - anchor[seg]) // kv_tile
    k_hi = (f_hi - anchor[seg]) // kv_tile
    run_t, run_lo, run_hi = _union_runs(seg, k_lo, k_hi)
    visited = np.bincount(run_t, weights=run_hi - run_lo + 1, minlength=n_q).astype(np.int64)
    # Perfect block sparsity: every visited KV tile lies inside the keys common to all queries of the tile.
    lens = run_hi - run_lo + 1
    pair_t = np.repeat(run_t, lens)
    pair_k = np.repeat(run_lo, lens) + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))
    first_seg = np.flatnonzero(np.r_[True, tile[1:] != tile[:-1]])
    box_lo = [np.maximum.reduceat(c, first_seg) for c in common_lo]
    box_hi = [np.minimum.reduceat(c, first_seg) for c in common_hi]
    key_lo = anchor[pair_t] + pair_k * kv_tile
    key_hi = np.minimum(key_lo + kv_tile, n) - 1
    plo = [b[pair_t] for b in box_lo]
    phi = [b[pair_t] for b in box_hi]
    inside = box_prefix_count(key_hi + 1, plo, phi, shape) - box_prefix_count(key_lo, plo, phi, shape)
    full = inside == key_hi - key_lo + 1
    static_k = key_lo // kv_tile
    return TileCounts(_ceil_div(n, kv_tile), visited, bool(full.all()), touched=(pair_t, static_k, full))
