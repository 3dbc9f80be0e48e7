"""`--pattern radial` at any scale: Radial Attention's window that halves as temporal distance doubles (our
simplification of Li et al. 2025, arXiv 2506.19852, as in patterns.radial), counted per segment, not per token.

Tokens are frames x frame_tokens, frame-major. Query (f, p) attends key (g, p') when |p - p'| <= h(|f - g|),
h(t) = window // 2**floor(log2(t + 1)); causal keeps g <= f. A query tile cut by frame boundaries is a few
segments; within a segment the interval of each key frame moves by one key per query, so the segment's keys in
frame g are one interval and the keys all its queries share are another. Key frames are disjoint, so a KV tile
is full for a segment iff it lies in one run of the merged shared intervals, and full for a query tile iff full
for each of its segments. Work is O(segments x frames), chunked; nothing is N x N.
"""

from __future__ import annotations

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.patterns import _segment_cover
from simulator.sparse.runs import union_runs
from simulator.sparse.tiling import MAX_TOUCHED, TileCounts

CHUNK_INTERVALS = 2_000_000


def _ceil_div(a, b):
    return -(-a // b)


def _half_width(frames: int, window: int) -> np.ndarray:
    """h per temporal distance 0..frames-1."""
    t = np.arange(frames, dtype=np.int64)
    return window // (2 ** np.floor(np.log2(t + 1)).astype(np.int64))


def check(frames: int, frame_tokens: int, window: int) -> None:
    for value, what in ((frames, "frames"), (frame_tokens, "frame tokens"), (window, "window")):
        if value < 1:
            raise SimulatorError(f"--pattern radial: {what} must be a positive integer, not {value}")


def radial_pairs(frames: int, frame_tokens: int, window: int, causal: bool) -> int:
    """(query, key) pairs the pattern attends, in closed form per temporal distance."""
    h = _half_width(frames, window)
    p = np.arange(frame_tokens, dtype=np.int64)
    per_distance = np.array([int((np.minimum(p + x, frame_tokens - 1) - np.maximum(p - x, 0) + 1).sum())
                             for x in h])
    dist = np.arange(frames)
    pairs_of_frame_pairs = (frames - dist) * (1 if causal else 2)  # ordered frame pairs at distance t
    pairs_of_frame_pairs[0] = frames
    return int((per_distance * pairs_of_frame_pairs).sum())


def _segments(n: int, frame_tokens: int, tm: int):
    """(major tile, frame, first position, last position) of every segment of every major tile."""
    n_major = _ceil_div(n, tm)
    t = np.arange(n_major, dtype=np.int64)
    lo, hi = t * tm, np.minimum((t + 1) * tm, n) - 1
    f0, f1 = lo // frame_tokens, hi // frame_tokens
    reps = f1 - f0 + 1
    tile = np.repeat(t, reps)
    frame = np.repeat(f0, reps) + (np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps))
    p0 = np.maximum(tile * tm, frame * frame_tokens) - frame * frame_tokens
    p1 = np.minimum(np.minimum((tile + 1) * tm, n) - 1, (frame + 1) * frame_tokens - 1) - frame * frame_tokens
    return tile, frame, p0, p1


def radial_counts(frames: int, frame_tokens: int, window: int, causal: bool, q_tile: int, kv_tile: int,
                  transposed: bool = False) -> TileCounts:
    """Tile counts under flat tiling; `transposed` counts KV-tile-major (the backward pass)."""
    check(frames, frame_tokens, window)
    n = frames * frame_tokens
    tm, tn = (kv_tile, q_tile) if transposed else (q_tile, kv_tile)
    n_major, n_minor = _ceil_div(n, tm), _ceil_div(n, tn)
    h_of = _half_width(frames, window)
    tile, frame, p0, p1 = _segments(n, frame_tokens, tm)
    need = np.bincount(tile, minlength=n_major)
    visited = np.zeros(n_major, dtype=np.int64)
    full = np.zeros(n_major, dtype=np.int64)
    keep = n_major * n_minor <= MAX_TOUCHED
    kept = []
    g = np.arange(frames, dtype=np.int64)
    per_chunk = max(1, CHUNK_INTERVALS // frames)
    starts = np.flatnonzero(np.r_[True, tile[1:] != tile[:-1]])  # chunks end on tile boundaries
    bounds = list(starts[::max(1, per_chunk)]) + [tile.size]
    bounds = sorted(set(int(b) for b in bounds))
    for a0, a1 in zip(bounds[:-1], bounds[1:], strict=True):
        sl = slice(a0, a1)
        f, q0, q1, tt = frame[sl, None], p0[sl, None], p1[sl, None], tile[sl, None]
        h = h_of[np.abs(f - g[None, :])]
        allowed = np.ones(h.shape, dtype=bool)
        if causal:  # forward: keys in frames g <= f; backward (rows are keys): queries in frames >= g
            allowed = (g[None, :] >= f) if transposed else (g[None, :] <= f)
        base = g[None, :] * frame_tokens
        v_lo, v_hi = base + np.maximum(q0 - h, 0), base + np.minimum(q1 + h, frame_tokens - 1)
        c_lo, c_hi = base + np.maximum(q1 - h, 0), base + np.minimum(q0 + h, frame_tokens - 1)
        seg = np.broadcast_to(np.arange(a0, a1)[:, None], h.shape)
        tiles = np.broadcast_to(tt, h.shape)
        run_t, run_lo, run_hi = union_runs(tiles[allowed], v_lo[allowed] // tn, v_hi[allowed] // tn)
        visited += np.bincount(run_t, weights=run_hi - run_lo + 1, minlength=n_major).astype(np.int64)
        ok = allowed & (c_lo <= c_hi)
        s_run, s_lo, s_hi = union_runs(seg[ok], c_lo[ok], c_hi[ok])  # keys every query of the segment attends
        f_lo = _ceil_div(s_lo, tn)
        f_hi = np.where(s_hi == n - 1, n_minor, (s_hi + 1) // tn) - 1
        good = f_lo <= f_hi
        covered = _segment_cover(tile[s_run[good]], f_lo[good], f_hi[good], need)
        full += covered
        if keep:
            lens = run_hi - run_lo + 1
            pt = np.repeat(run_t, lens)
            pk = np.repeat(run_lo, lens) + (np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens))
            kept.append((pt, pk))
    touched = None
    if keep and kept:
        touched = (np.concatenate([k[0] for k in kept]), np.concatenate([k[1] for k in kept]), None)
    return TileCounts(n_minor, visited, bool((full == visited).all()), touched=touched, full=full)
