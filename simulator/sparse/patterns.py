"""Sparse patterns beyond GNA, over a 1-D token sequence of N tokens, counted in tiles of T consecutive tokens.

Three representations, from most to least structured:
- `IntervalPattern`: each query attends a fixed number of key intervals (causal, sliding window, dilated,
  diagonals, vertical stripes, radial). Counted from the intervals: O(N * intervals), never N x N.
- a block mask (`.npy`, rows = query blocks, columns = KV blocks): counted on blocks with 2-D prefix sums.
- a mask function `fn(q_idx, k_idx) -> bool` (arbitrary, e.g. a token permutation of another pattern):
  evaluated one query tile at a time, so memory stays O(T * N); meant for N up to a few tens of thousands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.catalogue import CATALOGUE, catalogue_rows  # noqa: F401 -- re-exported
from simulator.sparse.runs import expand_runs, union_runs
from simulator.sparse.tiling import MAX_TOUCHED, TileCounts

MaskFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _ceil_div(a, b):
    return -(-a // b)


@dataclass(frozen=True)
class IntervalPattern:
    """Per query i, m key intervals [lo[i, j], hi[i, j]] (inclusive; empty where lo > hi)."""

    name: str
    lo: np.ndarray  # (N, m) int64
    hi: np.ndarray  # (N, m) int64

    @property
    def n_tokens(self) -> int:
        return int(self.lo.shape[0])

    def mask(self) -> np.ndarray:
        """The N x N mask (tests and small plots only)."""
        k = np.arange(self.n_tokens)
        m = np.zeros((self.n_tokens, self.n_tokens), dtype=bool)
        for j in range(self.lo.shape[1]):
            m |= (k[None, :] >= self.lo[:, j : j + 1]) & (k[None, :] <= self.hi[:, j : j + 1])
        return m

    def mask_fn(self) -> MaskFn:
        def fn(q, k):
            lo, hi = self.lo[q], self.hi[q]
            return ((k[..., None] >= lo) & (k[..., None] <= hi)).any(axis=-1)

        return fn


def _pattern(name: str, lo, hi, n: int) -> IntervalPattern:
    lo = np.clip(np.asarray(lo, dtype=np.int64), 0, None)
    hi = np.clip(np.asarray(hi, dtype=np.int64), None, n - 1)
    if lo.ndim == 1:
        lo, hi = lo[:, None], hi[:, None]
    return IntervalPattern(name, lo, hi)


def _check(n: int, **values: int) -> None:
    if n < 1:
        raise SimulatorError(f"n_tokens must be a positive integer, not {n}")
    for key, v in values.items():
        if v < 1:
            raise SimulatorError(f"{key} must be a positive integer, not {v}")


def causal(n: int) -> IntervalPattern:
    """Query i attends keys 0..i."""
    _check(n)
    i = np.arange(n)
    return _pattern("causal", np.zeros(n), i, n)


def sliding_window(n: int, window: int, causal: bool = True) -> IntervalPattern:
    """Causal: keys i-window+1..i. Non-causal: window keys centred on i, shifted to stay inside 0..n-1 (GNA, s=1)."""
    _check(n, window=window)
    if window > n:
        raise SimulatorError(f"window {window} is larger than the sequence ({n} tokens)")
    i = np.arange(n)
    if causal:
        return _pattern(f"sliding_window(w={window}, causal)", i - window + 1, i, n)
    start = np.clip(i - window // 2, 0, n - window)
    return _pattern(f"sliding_window(w={window})", start, start + window - 1, n)


def dilated_window(n: int, window: int, dilation: int, causal: bool = True) -> IntervalPattern:
    """Causal: keys i, i-d, ..., i-(window-1)d (those >= 0). Non-causal: window keys i + d*j centred on i."""
    _check(n, window=window, dilation=dilation)
    i = np.arange(n)[:, None]
    j = np.arange(window)[None, :]
    keys = i - dilation * j if causal else i + dilation * (j - window // 2)
    lo = np.where((keys >= 0) & (keys < n), keys, n)  # out of range -> empty interval
    hi = np.where((keys >= 0) & (keys < n), keys, -1)
    return IntervalPattern(f"dilated_window(w={window}, d={dilation})", lo, hi)


def diagonals(n: int, offsets: tuple[int, ...], width: int = 1) -> IntervalPattern:
    """Multi-diagonal: query i attends keys i+o..i+o+width-1 for every offset o (offset 0, width 1: diagonal)."""
    _check(n, width=width)
    i = np.arange(n)[:, None]
    off = np.asarray(offsets, dtype=np.int64)[None, :]
    return _pattern(f"diagonals({list(offsets)}, width={width})", i + off, i + off + width - 1, n)


def vertical_stripes(n: int, columns: tuple[int, ...], width: int = 1, local: int = 0,
                     causal: bool = True) -> IntervalPattern:
    """Every query attends the key stripes [c, c+width-1] (e.g. attention sinks) plus a causal local window."""
    _check(n, width=width)
    i = np.arange(n)[:, None]
    cols = np.asarray(columns, dtype=np.int64)[None, :]
    lo = np.broadcast_to(cols, (n, cols.shape[1]))
    hi = lo + width - 1
    if causal:
        hi = np.minimum(hi, i)
    if local:
        lo = np.concatenate([lo, i - local + 1], axis=1)
        hi = np.concatenate([hi, i if causal else i + local - 1], axis=1)
    return _pattern(f"vertical_stripes({list(columns)}, width={width}, local={local})", lo, hi, n)


def radial(frames: int, frame_tokens: int, spatial_window: int, causal: bool = False) -> IntervalPattern:
    """Window shrinking with temporal distance (after Radial Attention, Li et al. 2025, arXiv 2506.19852).

    Tokens are frames x frame_tokens, frame-major. Query (f, p) attends key (f', p') when |p - p'| <= h(|f - f'|)
    with h(t) = spatial_window // 2**floor(log2(t + 1)): the spatial band halves each time the temporal distance
    doubles. Our own simplification of the paper's mask (see docs/sparse.md).
    """
    _check(frames, frame_tokens=frame_tokens, spatial_window=spatial_window)
    n = frames * frame_tokens
    i = np.arange(n)
    f, p = i // frame_tokens, i % frame_tokens
    g = np.arange(frames)[None, :]
    dist = np.abs(f[:, None] - g)
    h = spatial_window // (2 ** np.floor(np.log2(dist + 1)).astype(np.int64))
    lo = g * frame_tokens + np.maximum(p[:, None] - h, 0)
    hi = g * frame_tokens + np.minimum(p[:, None] + h, frame_tokens - 1)
    if causal:
        lo = np.where(g <= f[:, None], lo, n)
        hi = np.where(g <= f[:, None], hi, -1)
    return IntervalPattern(f"radial(frames={frames}, tokens={frame_tokens}, window={spatial_window})", lo, hi)


def _merge_rows(lo: np.ndarray, hi: np.ndarray):
    """Disjoint, non-adjacent runs of each row's intervals: (row, run_lo, run_hi)."""
    rows = np.repeat(np.arange(lo.shape[0]), lo.shape[1])
    lo, hi = lo.ravel(), hi.ravel()
    keep = lo <= hi
    return union_runs(rows[keep], lo[keep], hi[keep])


def _segment_cover(group, a, b, need):
    """Per group: how many integer points are covered by at least need[group] of the ranges [a, b]."""
    pos = np.concatenate([a, b + 1])
    delta = np.concatenate([np.ones_like(a), -np.ones_like(b)])
    grp = np.concatenate([group, group])
    order = np.lexsort((pos, grp))
    pos, delta, grp = pos[order], delta[order], grp[order]
    level = np.cumsum(delta)  # each group's deltas sum to zero, so the running sum restarts per group
    length = np.zeros_like(pos)
    length[:-1] = np.where(grp[1:] == grp[:-1], pos[1:] - pos[:-1], 0)
    hit = level >= need[grp]
    return np.bincount(grp[hit], weights=length[hit], minlength=need.size).astype(np.int64)


def count_intervals(pattern: IntervalPattern, q_tile: int, kv_tile: int) -> TileCounts:
    """Tiles visited (distinct KV tiles holding any key of any query of the tile) and perfect block sparsity."""
    n = pattern.n_tokens
    row, run_lo, run_hi = _merge_rows(pattern.lo, pattern.hi)
    qt = row // q_tile
    n_q, n_k = _ceil_div(n, q_tile), _ceil_div(n, kv_tile)
    t_run, t_lo, t_hi = union_runs(qt, run_lo // kv_tile, run_hi // kv_tile)
    visited = np.bincount(t_run, weights=t_hi - t_lo + 1, minlength=n_q).astype(np.int64)
    # A KV tile is full for a query when it lies inside one of its runs (the last tile ends at n - 1).
    f_lo = _ceil_div(run_lo, kv_tile)
    f_hi = np.where(run_hi == n - 1, n_k, (run_hi + 1) // kv_tile) - 1
    ok = f_lo <= f_hi
    need = np.minimum((np.arange(n_q) + 1) * q_tile, n) - np.arange(n_q) * q_tile
    full = _segment_cover(qt[ok], f_lo[ok], f_hi[ok], need)
    touched = (*expand_runs(t_run, t_lo, t_hi), None) if n_q * n_k <= MAX_TOUCHED else None
    return TileCounts(n_k, visited, bool((full == visited).all()), touched=touched)


def attended_pairs(pattern: IntervalPattern) -> int:
    _, lo, hi = _merge_rows(pattern.lo, pattern.hi)
    return int((hi - lo + 1).sum())


def count_block_mask(block_mask: np.ndarray, n_tokens: int, q_tile: int, kv_tile: int,
                     source: str = "block mask") -> TileCounts:
    """Tile counts of a block mask whose blocks tile the N x N score matrix (the last row/column may be short)."""
    bm = np.asarray(block_mask)
    if bm.ndim != 2:
        raise SimulatorError(f"{source}: a block mask must be a 2-D array (query blocks x KV blocks), not {bm.ndim}-D")
    if bm.dtype != bool:
        if not np.isin(bm, (0, 1)).all():
            raise SimulatorError(f"{source}: block mask entries must be 0/1 or booleans")
        bm = bm.astype(bool)
    bq, bk = _ceil_div(n_tokens, bm.shape[0]), _ceil_div(n_tokens, bm.shape[1])
    if _ceil_div(n_tokens, bq) != bm.shape[0] or _ceil_div(n_tokens, bk) != bm.shape[1]:
        raise SimulatorError(
            f"{source}: a {bm.shape[0]}x{bm.shape[1]} block mask does not tile {n_tokens} tokens evenly; give --shape "
            "the token count the mask was made for"
        )
    from simulator.sparse.masks import BlockMask, count_head  # chunked: never a dense prefix-sum table

    return count_head(BlockMask(n_tokens, 1, *bm.shape, dense=bm[None]), 0, q_tile, kv_tile)


def block_mask_pairs(block_mask: np.ndarray, n_tokens: int) -> int:
    """Attended (query, key) pairs of a block mask, counting only real tokens of short edge blocks."""
    bm = np.asarray(block_mask).astype(bool)
    bq, bk = _ceil_div(n_tokens, bm.shape[0]), _ceil_div(n_tokens, bm.shape[1])
    rows = np.minimum(bq, n_tokens - np.arange(bm.shape[0]) * bq)
    cols = np.minimum(bk, n_tokens - np.arange(bm.shape[1]) * bk)
    return int(rows @ bm.astype(np.int64) @ cols)


def count_mask_fn(fn: MaskFn, n_tokens: int, q_tile: int, kv_tile: int, max_tokens: int = 1 << 15) -> TileCounts:
    """Tile counts of an arbitrary mask function, one query tile at a time (O(q_tile * N) memory)."""
    if n_tokens > max_tokens:
        raise SimulatorError(
            f"a mask function over {n_tokens} tokens needs {n_tokens}^2 evaluations; above {max_tokens} tokens give "
            "an interval pattern or a block mask instead"
        )
    n_q, n_k = _ceil_div(n_tokens, q_tile), _ceil_div(n_tokens, kv_tile)
    k = np.arange(n_k * kv_tile)
    real_k = k < n_tokens
    visited = np.zeros(n_q, dtype=np.int64)
    sparse, pairs_t, pairs_k = True, [], []
    for t in range(n_q):
        q = np.arange(t * q_tile, min((t + 1) * q_tile, n_tokens))
        m = np.asarray(fn(q[:, None], np.minimum(k, n_tokens - 1)[None, :]), dtype=bool)
        m = np.broadcast_to(m, (q.size, k.size))
        blocks = (m & real_k).reshape(q.size, n_k, kv_tile)
        anyb = blocks.any(axis=(0, 2))
        allb = (blocks | ~real_k.reshape(n_k, kv_tile)[None]).all(axis=(0, 2))
        visited[t] = anyb.sum()
        sparse &= bool((allb | ~anyb).all())
        pairs_k.append(np.flatnonzero(anyb))
        pairs_t.append(np.full(pairs_k[-1].size, t))
    return TileCounts(n_k, visited, sparse, touched=(np.concatenate(pairs_t), np.concatenate(pairs_k), None))


def permuted(fn: MaskFn, perm: np.ndarray) -> MaskFn:
    """The mask seen after re-ordering tokens: position a holds original token perm[a]."""
    perm = np.asarray(perm)
    return lambda q, k: fn(perm[q], perm[k])


def tile_major_permutation(shape: tuple[int, ...], tile: tuple[int, ...]) -> np.ndarray:
    """Order the tokens of a row-major multi-dimensional layout tile by tile (tiles row-major, tokens row-major
    inside a tile). Flat tiling of this order with T = prod(tile) equals multi-dimensional tiling when the tiles
    divide the layout: the permutation that turns a windowed pattern block-sparse."""
    if any(L % t for L, t in zip(shape, tile, strict=True)):
        raise SimulatorError(f"tile {tile} must divide the layout {shape} for a tile-major order")
    grid = tuple(L // t for L, t in zip(shape, tile, strict=True))
    idx = np.indices(shape).reshape(len(shape), -1)
    outer = np.ravel_multi_index(tuple(i // t for i, t in zip(idx, tile, strict=True)), grid)
    inner = np.ravel_multi_index(tuple(i % t for i, t in zip(idx, tile, strict=True)), tile)
    order = np.lexsort((inner, outer))
    return order  # order[a] = original row-major index of the token at position a
