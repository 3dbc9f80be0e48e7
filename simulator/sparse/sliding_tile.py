"""`--pattern sliding-tile` at any scale: Sliding Tile Attention (Zhang et al. 2025, arXiv 2502.04507).

Tokens of a row-major layout (e.g. frames x height x width) are re-ordered tile-major (STA tiles of `tile`
tokens per axis, tiles row-major, tokens row-major inside a tile), and every query of STA tile a attends the
whole STA tiles b with, per axis, start(a) <= b <= start(a) + k - 1, k = window / tile tiles and
start(a) = clamp(a - k // 2, 0, G - k) (the window of tiles centred on a, shifted to stay inside the G tiles).
The kernel then tiles the re-ordered tokens flat (--q-tile/--kv-tile tokens). Counted per STA tile: its keys are
prod(k over all axes but the last) runs of consecutive tiles; nothing is N x N.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.segments import SegmentChunk, SegmentCounts, count_segments, split_at_tiles
from simulator.sparse.tiling import inverse_windows

CHUNK_TILES = 1 << 14


@dataclass(frozen=True)
class SlidingTile:
    shape: tuple[int, ...]
    tile: tuple[int, ...]
    window: tuple[int, ...]

    def __post_init__(self) -> None:
        for name, value in (("--tile", self.tile), ("--window", self.window)):
            if len(value) != len(self.shape):
                raise SimulatorError(f"{name}: give one size per axis of --shape ({len(self.shape)} axes)")
        for L, t, w in zip(self.shape, self.tile, self.window, strict=True):
            if t < 1 or L % t:
                raise SimulatorError(f"--tile: {t} must divide the axis of {L} tokens (STA tiles tile the layout)")
            if w < t or w % t or w > L:
                raise SimulatorError(f"--window: {w} must be a multiple of the tile ({t}) and at most the axis ({L})")

    @property
    def grid(self) -> tuple[int, ...]:
        return tuple(L // t for L, t in zip(self.shape, self.tile, strict=True))

    @property
    def tiles_per_window(self) -> tuple[int, ...]:
        return tuple(w // t for w, t in zip(self.window, self.tile, strict=True))

    @property
    def n(self) -> int:
        return math.prod(self.shape)

    def ranges(self, transposed: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per axis, per tile index: the partner tiles [lo, hi] (keys; queries when `transposed`)."""
        out = []
        for g, k in zip(self.grid, self.tiles_per_window, strict=True):
            start = np.clip(np.arange(g, dtype=np.int64) - k // 2, 0, g - k)
            end = start + k - 1
            out.append(inverse_windows(start, end) if transposed else (start, end))
        return out


def _intervals(p: SlidingTile, tiles: np.ndarray, ranges) -> tuple[np.ndarray, np.ndarray]:
    """(tiles, m) token intervals of STA tiles `tiles` (flat indices)."""
    grid, volume = p.grid, math.prod(p.tile)
    coords = np.unravel_index(tiles, grid)
    lo = [r[0][c] for r, c in zip(ranges, coords, strict=True)]
    hi = [r[1][c] for r, c in zip(ranges, coords, strict=True)]
    spans = [int((r[1] - r[0]).max()) + 1 for r in ranges[:-1]]
    offs = np.indices(spans).reshape(len(spans), -1) if spans else np.zeros((0, 1), dtype=np.int64)
    valid = np.ones((tiles.size, offs.shape[1]), dtype=bool)
    first = np.zeros((tiles.size, offs.shape[1]), dtype=np.int64)
    for a, o in enumerate(offs):  # all axes but the last: one run per combination
        c = lo[a][:, None] + o[None, :]
        valid &= c <= hi[a][:, None]
        first = first * grid[a] + c
    first = first * grid[-1] + lo[-1][:, None]
    last = first + (hi[-1] - lo[-1])[:, None]
    return np.where(valid, first * volume, p.n), np.where(valid, last * volume + volume - 1, -1)


def sta_chunks(p: SlidingTile, major: int, transposed: bool) -> Iterator[SegmentChunk]:
    volume, n_tiles = math.prod(p.tile), math.prod(p.grid)
    ranges = p.ranges(transposed)
    step = math.lcm(volume, major) // volume  # chunks end where an STA tile and a row tile end together
    per = max(step, CHUNK_TILES // step * step)
    for b0 in range(0, n_tiles, per):
        tiles = np.arange(b0, min(b0 + per, n_tiles), dtype=np.int64)
        lo, hi = _intervals(p, tiles, ranges)
        first, last, run = split_at_tiles(tiles * volume, tiles * volume + volume - 1, major)
        m = lo.shape[1]
        yield SegmentChunk(first, last, np.repeat(np.arange(first.size), m), lo[run].ravel(), hi[run].ravel())


def sta_counts(p: SlidingTile, q_tile: int, kv_tile: int, transposed: bool = False) -> SegmentCounts:
    """Tile counts under flat kernel tiling of the tile-major order (KV-tile-major when `transposed`)."""
    major, minor = (kv_tile, q_tile) if transposed else (q_tile, kv_tile)
    return count_segments(p.n, p.n, major, minor, sta_chunks(p, major, transposed))
