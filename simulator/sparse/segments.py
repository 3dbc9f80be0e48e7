"""Tile counts of a pattern given as *segments*: runs of consecutive rows (queries; keys for the backward pass)
that attend the same key intervals, no segment crossing a row-tile boundary. Fed in chunks, so memory stays
O(chunk) and nothing is N x N; the per-pattern modules (lines.py, sliding_tile.py, permuted.py) make the chunks.

A column tile is visited by a row tile iff some interval of one of its segments touches it, and full iff it lies
inside one merged run of every segment of the tile (the queries of a segment share their intervals exactly).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from simulator.sparse.patterns import _segment_cover
from simulator.sparse.runs import expand_runs, union_runs
from simulator.sparse.tiling import MAX_TOUCHED, TileCounts

CHUNK_ROWS = 1 << 16  # rows per chunk (times the intervals per row is the chunk's memory)


def _ceil_div(a, b):
    return -(-a // b)


@dataclass(frozen=True)
class SegmentChunk:
    """Segments `first..last` (rows, inclusive) and their intervals: interval j belongs to segment `owner[j]`
    (an index into first/last) and spans columns [lo[j], hi[j]] (empty where lo > hi)."""

    first: np.ndarray
    last: np.ndarray
    owner: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


@dataclass(frozen=True)
class SegmentCounts:
    counts: TileCounts
    attended_pairs: int


def row_chunks(n: int, major: int, rows: int = CHUNK_ROWS) -> Iterable[tuple[int, int]]:
    """[a, b) row ranges of about `rows` rows that end on row-tile boundaries."""
    step = max(major, rows // major * major)
    for a in range(0, n, step):
        yield a, min(a + step, n)


def per_row(a: int, b: int, lo: np.ndarray, hi: np.ndarray) -> SegmentChunk:
    """Rows a..b-1 as one-row segments, with (b - a, m) interval bounds."""
    rows = np.arange(a, b, dtype=np.int64)
    m = lo.shape[1]
    return SegmentChunk(rows, rows, np.repeat(np.arange(rows.size), m), lo.ravel(), hi.ravel())


def split_at_tiles(first: np.ndarray, last: np.ndarray, major: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut row runs at row-tile boundaries: (piece first, piece last, index of its run)."""
    t0, t1 = first // major, last // major
    reps = t1 - t0 + 1
    run = np.repeat(np.arange(first.size), reps)
    tile = np.repeat(t0, reps) + (np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps))
    return np.maximum(tile * major, first[run]), np.minimum((tile + 1) * major - 1, last[run]), run


def count_segments(n_rows: int, n_cols: int, major: int, minor: int, chunks: Iterable[SegmentChunk]) -> SegmentCounts:
    """Visited and full column tiles per row tile (rows tiled by `major`, columns by `minor`) and attended pairs."""
    n_major, n_minor = _ceil_div(n_rows, major), _ceil_div(n_cols, minor)
    need = np.zeros(n_major, dtype=np.int64)
    visited = np.zeros(n_major, dtype=np.int64)
    full = np.zeros(n_major, dtype=np.int64)
    keep = n_major * n_minor <= MAX_TOUCHED
    kept, pairs = [], 0
    for c in chunks:
        tile = c.first // major
        if c.first.size and not (tile == c.last // major).all():
            raise AssertionError("a segment crosses a row-tile boundary")
        need += np.bincount(tile, minlength=n_major)
        lo, hi = np.maximum(c.lo, 0), np.minimum(c.hi, n_cols - 1)
        ok = lo <= hi
        owner, lo, hi = c.owner[ok], lo[ok], hi[ok]
        s_run, s_lo, s_hi = union_runs(owner, lo, hi)  # per segment: its merged key runs
        pairs += int(((s_hi - s_lo + 1) * (c.last - c.first + 1)[s_run]).sum())
        t_run, t_lo, t_hi = union_runs(tile[s_run], s_lo // minor, s_hi // minor)
        visited += np.bincount(t_run, weights=t_hi - t_lo + 1, minlength=n_major).astype(np.int64)
        f_lo = _ceil_div(s_lo, minor)
        f_hi = np.where(s_hi == n_cols - 1, n_minor, (s_hi + 1) // minor) - 1
        good = f_lo <= f_hi
        full += _segment_cover(tile[s_run[good]], f_lo[good], f_hi[good], need)
        if keep:
            kept.append(expand_runs(t_run, t_lo, t_hi))
    touched = None
    if keep and kept:
        touched = (np.concatenate([k[0] for k in kept]), np.concatenate([k[1] for k in kept]), None)
    counts = TileCounts(n_minor, visited, bool((full == visited).all()), touched=touched, full=full)
    return SegmentCounts(counts, pairs)
