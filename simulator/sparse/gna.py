"""The exact GNA window rules of one axis (Hassani et al. 2025, "Generalized Neighborhood Attention", arXiv 2504.16922).

Per axis of extent L: window w, stride s (1 <= s <= w), dilation d (w*d <= L), causal flag.
`w_left = w // 2`, `w_right = w // 2 + w % 2 - 1`. Non-causal: the leader of query i's stride group is
`min((i // s) * s + s // 2, L - 1)`; the window starts at `clamp(leader - w_left, 0, L - w)` and holds w keys.
Causal: the leader is `min((i // s) * s + s - 1, L - 1)`, the window starts at `max(leader - (w - 1), 0)` and ends
at the query itself. Dilation splits the axis into d interleaved groups (coordinate mod d), each of its own length,
and applies the rules within each group. Everything here is vectorised over queries; nothing is N x N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.sparse.spec import AxisSpec


def window_bounds(length: int, window: int, stride: int, causal: bool) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive key range [start, end] of every query 0..length-1 of an undilated axis."""
    i = np.arange(length, dtype=np.int64)
    if causal:
        leader = np.minimum((i // stride) * stride + stride - 1, length - 1)
        start = np.maximum(leader - (window - 1), 0)
        return start, i.copy()
    leader = np.minimum((i // stride) * stride + stride // 2, length - 1)
    start = np.clip(leader - window // 2, 0, length - window)
    return start, start + window - 1


def group_lengths(length: int, dilation: int) -> np.ndarray:
    """Length of each dilation group g (coordinates congruent to g mod d)."""
    g = np.arange(dilation, dtype=np.int64)
    return (length - g + dilation - 1) // dilation


@dataclass(frozen=True)
class DilatedAxis:
    """An axis split into its dilation groups; each group is an undilated GNA axis of its own length."""

    spec: AxisSpec
    lengths: tuple[int, ...]
    starts: tuple[np.ndarray, ...]  # per group: window start per local query
    ends: tuple[np.ndarray, ...]  # per group: window end (inclusive) per local query


def split_axis(spec: AxisSpec) -> DilatedAxis:
    """Window bounds of every query, per dilation group, in the group's local coordinates."""
    lengths = tuple(int(n) for n in group_lengths(spec.length, spec.dilation))
    bounds = [window_bounds(n, spec.window, spec.stride, spec.causal) for n in lengths]
    return DilatedAxis(spec, lengths, tuple(b[0] for b in bounds), tuple(b[1] for b in bounds))


def neighbor_counts(spec: AxisSpec) -> np.ndarray:
    """Number of keys each query (global coordinate order) attends to along this axis."""
    axis = split_axis(spec)
    out = np.empty(spec.length, dtype=np.int64)
    for g, (s, e) in enumerate(zip(axis.starts, axis.ends, strict=True)):
        out[g :: spec.dilation] = e - s + 1
    return out


def axis_mask(spec: AxisSpec) -> np.ndarray:
    """The L x L boolean mask of one axis (global coordinates). For tests, plots and small layouts only."""
    axis = split_axis(spec)
    d = spec.dilation
    mask = np.zeros((spec.length, spec.length), dtype=bool)
    for g, (s, e) in enumerate(zip(axis.starts, axis.ends, strict=True)):
        local = np.arange(axis.lengths[g])
        inside = (local[None, :] >= s[:, None]) & (local[None, :] <= e[:, None])
        mask[np.ix_(np.arange(g, spec.length, d), np.arange(g, spec.length, d))] = inside
    return mask
