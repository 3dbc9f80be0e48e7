"""`--pattern diagonal` and `--pattern vertical-stripe` at any scale: the key intervals of each row (query, or key
for the backward pass) made one chunk of rows at a time, as patterns.diagonals / patterns.vertical_stripes define
them, and counted by segments.count_segments. O(N x intervals) time, O(chunk x intervals) memory.

- diagonal (multi-diagonal; Child et al. 2019's fixed bands, the "slash" lines of MInference, Jiang et al. 2024):
  query i attends keys i+o .. i+o+width-1 for every offset o.
- vertical-stripe (attention sinks, StreamingLLM, Xiao et al. 2024; MInference's vertical lines): every query
  attends the key columns c .. c+width-1 (causal: only those <= i) plus a local window (causal: i-local+1 .. i;
  otherwise i-local+1 .. i+local-1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.runs import union_runs
from simulator.sparse.segments import SegmentChunk, SegmentCounts, count_segments, per_row, row_chunks


@dataclass(frozen=True)
class Diagonal:
    n: int
    offsets: tuple[int, ...]
    width: int = 1

    def __post_init__(self) -> None:
        if not self.offsets:
            raise SimulatorError("--offsets: give at least one diagonal offset, e.g. --offsets 0,-4096")
        if self.width < 1:
            raise SimulatorError(f"--width: must be a positive integer, not {self.width}")

    @property
    def causal(self) -> bool:
        return max(self.offsets) + self.width - 1 <= 0

    def rows(self, i: np.ndarray, transposed: bool) -> tuple[np.ndarray, np.ndarray]:
        """(len(i), m) interval bounds of rows i."""
        i = np.asarray(i, dtype=np.int64)[:, None]
        off = np.asarray(self.offsets, dtype=np.int64)[None, :]
        if transposed:  # query i attends key j iff j - o - width + 1 <= i <= j - o
            return i - off - self.width + 1, i - off
        return i + off, i + off + self.width - 1


@dataclass(frozen=True)
class VerticalStripe:
    n: int
    columns: tuple[int, ...]
    width: int = 1
    local: int = 0
    causal: bool = False

    def __post_init__(self) -> None:
        if not self.columns:
            raise SimulatorError("--columns: give at least one key column, e.g. --columns 0,4096")
        if self.width < 1:
            raise SimulatorError(f"--width: must be a positive integer, not {self.width}")
        if self.local < 0:
            raise SimulatorError(f"--local: must be a non-negative number of keys, not {self.local}")
        bad = [c for c in self.columns if not 0 <= c < self.n]
        if bad:
            raise SimulatorError(f"--columns: {bad[0]} is outside the {self.n} tokens of --shape")

    def _in_stripe(self, j: np.ndarray) -> np.ndarray:
        cols = np.asarray(self.columns, dtype=np.int64)
        _, lo, hi = union_runs(np.zeros(cols.size, dtype=np.int64), cols, cols + self.width - 1)
        k = np.searchsorted(lo, j, side="right") - 1
        return (k >= 0) & (j <= hi[np.maximum(k, 0)])

    def rows(self, i: np.ndarray, transposed: bool) -> tuple[np.ndarray, np.ndarray]:
        """(len(i), m) interval bounds of rows i."""
        i = np.asarray(i, dtype=np.int64)[:, None]
        n, local = self.n, self.local
        if transposed:  # rows are keys j: the queries that attend j
            hit = self._in_stripe(i)
            lo = [np.where(hit, i if self.causal else 0, n)]
            hi = [np.where(hit, n - 1, -1)]
            if local:
                lo.append(i if self.causal else i - local + 1)
                hi.append(i + local - 1)
            return np.concatenate(lo, axis=1), np.concatenate(hi, axis=1)
        cols = np.asarray(self.columns, dtype=np.int64)[None, :]
        lo = np.broadcast_to(cols, (i.size, cols.shape[1]))
        hi = lo + self.width - 1
        if self.causal:
            hi = np.minimum(hi, i)
        if local:
            lo = np.concatenate([lo, i - local + 1], axis=1)
            hi = np.concatenate([hi, i if self.causal else i + local - 1], axis=1)
        return lo, hi


def line_chunks(pattern: Diagonal | VerticalStripe, major: int, transposed: bool) -> Iterator[SegmentChunk]:
    for a, b in row_chunks(pattern.n, major):
        yield per_row(a, b, *pattern.rows(np.arange(a, b), transposed))


def line_counts(pattern: Diagonal | VerticalStripe, q_tile: int, kv_tile: int,
                transposed: bool = False) -> SegmentCounts:
    """Tile counts (KV-tile-major when `transposed`: the backward pass) and attended pairs."""
    major, minor = (kv_tile, q_tile) if transposed else (q_tile, kv_tile)
    return count_segments(pattern.n, pattern.n, major, minor, line_chunks(pattern, major, transposed))
