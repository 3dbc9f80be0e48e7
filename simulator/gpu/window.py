"""Key tiles a fused kernel visits under a causal sliding-window mask (query p sees keys m with m <= p and
p - m < W), counted by the sparse-pattern tiler (`simulator.sparse.tiling.axis_tiles`: GNA's causal window rule
with stride 1, Hassani et al. 2025), so FlashAttention's local attention (`window_size=(W - 1, 0)`) is costed by
the tiles it visits and no more. A window at least as long as the sequence is the causal mask: the counts are then
the causal ones (`tests/gpu/test_gpu_window.py` checks both against a brute-force count)."""

from __future__ import annotations

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.spec import AxisSpec
from simulator.sparse.tiling import axis_tiles


def window_tile_counts(seq: np.ndarray, block_q: int, block_kv: int,
                       window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(visited key tiles summed over query tiles, of which partially masked, query tiles) per self-attention
    sequence length in `seq`, with `block_q` x `block_kv` tiles and a causal window of `window` keys."""
    out = np.zeros((3, seq.size), dtype=np.int64)
    for length in np.unique(seq):
        n = int(length)
        tiles = axis_tiles(AxisSpec(length=n, window=min(window, n), causal=True), block_q, block_kv)
        full = tiles.full if tiles.full is not None else np.zeros_like(tiles.visited)
        out[:, seq == length] = np.array([[tiles.visited.sum()], [(tiles.visited - full).sum()],
                                          [tiles.visited.size]])
    return out[0], out[1], out[2]


def window_tile_matrix(seq: np.ndarray, block_q: int, block_kv: int,
                       window: int) -> tuple[np.ndarray, np.ndarray]:
    """Per shape and query tile (0 past a shape's last query tile): visited key tiles, of which partially masked,
    under the causal window (the per-tile counts `window_tile_counts` sums)."""
    nq = -(-seq // block_q)
    visited = np.zeros((seq.size, int(nq.max())), dtype=np.int64)
    partial = np.zeros_like(visited)
    for length in np.unique(seq):
        n = int(length)
        tiles = axis_tiles(AxisSpec(length=n, window=min(window, n), causal=True), block_q, block_kv)
        full = tiles.full if tiles.full is not None else np.zeros_like(tiles.visited)
        rows = seq == length
        visited[rows, :tiles.visited.size] = tiles.visited
        partial[rows, :tiles.visited.size] = tiles.visited - full
    return visited, partial


def window_scores(seq: np.ndarray, seq_kv: np.ndarray, window: int) -> np.ndarray:
    """Visible (query, key) scores of the window mask per shape: FlashAttention's causal convention S*S/2 when
    the window covers the sequence, else counted exactly, S*W - W*(W-1)/2."""
    s = seq.astype(float)
    w = float(window)
    return np.where(w >= s, s * seq_kv / 2.0, s * w - w * (w - 1.0) / 2.0)


def check_window(window: int | None, seq: int, kv_seq: int, cascade: str, has_window_mask: bool) -> None:
    """Refuse, in one line naming the option, a window the cascade or the shape cannot take."""
    if window is not None and not has_window_mask:
        raise SimulatorError(f"--window {window}: cascade {cascade!r} has no sliding-window mask; use --cascade "
                             "attention-sliding-window or drop --window", source="--window")
    if has_window_mask and kv_seq != seq:
        raise SimulatorError(f"--kv-seq {kv_seq}: the sliding-window mask is costed for self-attention on GPUs; "
                             f"use --kv-seq {seq} (or drop --kv-seq)", source="--kv-seq")
