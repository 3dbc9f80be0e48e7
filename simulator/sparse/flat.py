"""Flat tiling of a GNA pattern: tokens flattened row-major (after the per-axis dilation re-arrangement), tiles of
T consecutive tokens; a query tile visits the distinct KV tiles that hold any neighbour of any of its queries.

The part of a query tile inside one row of the last axis (a "segment") has a box of neighbours: fixed windows on
the leading axes and the union of windows on the last axis. Every row of that box is one interval of flat indices,
so counting needs O(segments x rows of the window) work, done in chunks of query tiles to bound memory.
"""

from __future__ import annotations

import numpy as np

from simulator.sparse.gna import split_axis
from simulator.sparse.runs import expand_runs, union_runs
from simulator.sparse.spec import AxisSpec, GNAConfig
from simulator.sparse.tiling import MAX_TOUCHED, TileCounts

CHUNK_INTERVALS = 2_000_000  # flat intervals generated per chunk of query tiles


def _ceil_div(a, b):
    return -(-a // b)


def permuted_windows(spec: AxisSpec) -> tuple[np.ndarray, np.ndarray]:
    """Window [start, end] of every position of the axis after the dilation re-arrangement (groups contiguous)."""
    axis = split_axis(spec)
    offsets = np.concatenate([[0], np.cumsum(axis.lengths)[:-1]])
    start = np.concatenate([s + o for s, o in zip(axis.starts, offsets, strict=True)])
    end = np.concatenate([e + o for e, o in zip(axis.ends, offsets, strict=True)])
    return start, end


def box_prefix_count(x, lo, hi, shape):
    """Number of tokens of the box [lo, hi] (per axis, arrays aligned with x) whose row-major index is < x."""
    n = int(np.prod(shape))
    x = np.asarray(x)
    widths = [np.maximum(h - l + 1, 0) for l, h in zip(lo, hi, strict=True)]
    coords = np.unravel_index(np.minimum(x, n - 1), shape)
    count = np.zeros_like(x)
    inside = np.ones(x.shape, dtype=bool)
    for a in range(len(shape)):
        below = np.clip(coords[a] - lo[a], 0, widths[a])
        tail = np.prod(np.stack(widths[a + 1 :]), axis=0) if a + 1 < len(shape) else 1
        count = count + inside * below * tail
        inside &= (coords[a] >= lo[a]) & (coords[a] <= hi[a])
    total = np.prod(np.stack(widths), axis=0)
    return np.where(x >= n, total, count)


def _segments(shape, wins, q_tile):
    """Per segment: query tile, neighbour box [lo, hi] per axis, and the box common to all its queries."""
    last_len = shape[-1]
    n_rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    row_lo = np.arange(n_rows, dtype=np.int64) * last_len
    t0, t1 = row_lo // q_tile, (row_lo + last_len - 1) // q_tile
    reps = t1 - t0 + 1
    row = np.repeat(np.arange(n_rows), reps)
    tile = np.repeat(t0, reps) + (np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps))
    c0 = np.maximum(tile * q_tile, row * last_len) - row * last_len
    c1 = np.minimum((tile + 1) * q_tile, (row + 1) * last_len) - 1 - row * last_len
    s_last, e_last = wins[-1]
    outer = np.unravel_index(row, shape[:-1]) if len(shape) > 1 else ()
    lo = [wins[a][0][outer[a]] for a in range(len(shape) - 1)] + [s_last[c0]]
    hi = [wins[a][1][outer[a]] for a in range(len(shape) - 1)] + [e_last[c1]]
    common_lo = lo[:-1] + [s_last[c1]]  # windows move monotonically along the last axis
    common_hi = hi[:-1] + [e_last[c0]]
    return tile, lo, hi, common_lo, common_hi


def flat_tiles(cfg: GNAConfig, q_tile: int, kv_tile: int, dynamic: bool = False) -> TileCounts:
    """Flat tiling: row-major tokens, tiles of `q_tile` / `kv_tile` consecutive tokens."""
    shape = cfg.shape
    n = int(np.prod(shape))
    n_q, n_k = _ceil_div(n, q_tile), _ceil_div(n, kv_tile)
    tile, lo, hi, common_lo, common_hi = _segments(shape, [permuted_windows(a) for a in cfg.axes], q_tile)
    strides = [int(np.prod(shape[a + 1 :])) for a in range(len(shape))]
    widths = [h - l + 1 for l, h in zip(lo[:-1], hi[:-1], strict=True)]
    max_w = [int(w.max()) for w in widths]
    combos = np.indices(max_w).reshape(len(max_w), -1) if max_w else np.zeros((0, 1), dtype=np.int64)
    # First flat index of every segment's box, and (for dynamic tiling) the lowest neighbour of each query tile.
    first_lo = sum(lo[a] * strides[a] for a in range(len(shape)))
    seg_first = np.flatnonzero(np.r_[True, tile[1:] != tile[:-1]])
    anchor = np.zeros(n_q, dtype=np.int64)
    if dynamic:
        anchor[tile[seg_first]] = np.minimum.reduceat(first_lo, seg_first)
    box_lo = [np.maximum.reduceat(c, seg_first) for c in common_lo]  # keys common to all queries of each tile
    box_hi = [np.minimum.reduceat(c, seg_first) for c in common_hi]
    visited = np.zeros(n_q, dtype=np.int64)
    sparse = True
    keep = n_q * n_k <= MAX_TOUCHED
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    per_chunk = max(1, CHUNK_INTERVALS // combos.shape[1])
    targets = np.arange(0, tile.size, per_chunk)  # chunk starts, moved back to the first segment of their tile
    bounds = list(np.unique(seg_first[np.searchsorted(seg_first, targets, side="right") - 1])) + [tile.size]
    for a0, a1 in zip(bounds[:-1], bounds[1:], strict=True):
        sl = slice(a0, a1)
        base = np.broadcast_to(lo[-1][sl][:, None], (a1 - a0, combos.shape[1])).copy()
        valid = np.ones(base.shape, dtype=bool)
        for a in range(len(max_w)):
            base += (lo[a][sl][:, None] + combos[a][None, :]) * strides[a]
            valid &= combos[a][None, :] < widths[a][sl][:, None]
        seg = np.broadcast_to(tile[sl][:, None], base.shape)[valid]
        f_lo = base[valid]
        f_hi = f_lo + np.broadcast_to((hi[-1][sl] - lo[-1][sl])[:, None], base.shape)[valid]
        run_t, run_lo, run_hi = union_runs(seg, (f_lo - anchor[seg]) // kv_tile, (f_hi - anchor[seg]) // kv_tile)
        visited += np.bincount(run_t, weights=run_hi - run_lo + 1, minlength=n_q).astype(np.int64)
        # Perfect block sparsity: every visited KV tile lies inside the keys common to all queries of the tile.
        pair_t, pair_k = expand_runs(run_t, run_lo, run_hi)
        key_lo = anchor[pair_t] + pair_k * kv_tile
        key_hi = np.minimum(key_lo + kv_tile, n) - 1
        plo, phi = [b[pair_t] for b in box_lo], [b[pair_t] for b in box_hi]
        inside = box_prefix_count(key_hi + 1, plo, phi, shape) - box_prefix_count(key_lo, plo, phi, shape)
        full = inside == key_hi - key_lo + 1
        sparse &= bool(full.all())
        if keep:
            kept.append((pair_t, key_lo // kv_tile, full))
    touched = tuple(np.concatenate(parts) for parts in zip(*kept, strict=True)) if keep else None
    return TileCounts(n_k, visited, sparse, touched=touched)
