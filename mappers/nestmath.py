"""Loop-nest arithmetic over a batch of candidate tilings, as numpy arrays: the one implementation of a nest's
trip counts. The spatial cost model calls it with a batch of one; the mapper with thousands of candidates.

A rank of size `s` with buffer tile `t` and spatial factor `k` runs `ceil(s / t)` DRAM-level trips and
`ceil(t' / k')` buffer-level trips, where `t' = min(t, s)` and `k' = min(k, t')` (a rank smaller than its spatial
factor leaves PEs idle). Imperfect factors are ceil-tiles: the last tile is partly empty and costs a full trip.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def ceil_div(a: ArrayLike, b: ArrayLike) -> NDArray[np.int64]:
    """Integer ceil(a / b), exact for any int64 sizes (no float rounding)."""
    a64, b64 = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    return -(-a64 // b64)


def clip_tiles(sizes: ArrayLike, tiles: ArrayLike, spatial: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Tiles clipped to the rank sizes and spatial factors clipped to the tiles; shapes broadcast (..., ranks)."""
    s = np.asarray(sizes, dtype=np.int64)
    t = np.minimum(np.asarray(tiles, dtype=np.int64), s)
    k = np.minimum(np.asarray(spatial, dtype=np.int64), t)
    return t, k


def trips(sizes: ArrayLike, tiles: ArrayLike, spatial: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(DRAM-level trips, buffer-level trips) per rank, shapes (..., ranks)."""
    s = np.asarray(sizes, dtype=np.int64)
    t, k = clip_tiles(s, tiles, spatial)
    return ceil_div(s, t), ceil_div(t, k)


def iterations(sizes: ArrayLike, tiles: ArrayLike, spatial: ArrayLike) -> NDArray[np.int64]:
    """Temporal iterations of the whole nest (all trips multiplied), shape (...)."""
    outer, inner = trips(sizes, tiles, spatial)
    return np.prod(outer, axis=-1) * np.prod(inner, axis=-1)


def unique_rows(rows: NDArray) -> tuple[NDArray, NDArray[np.int64]]:
    """(distinct rows, index of each row's distinct row): `np.unique(rows, axis=0, return_inverse=True)` through
    one 1-D key per row (each column ranked, the ranks combined in mixed radix), which is several times faster;
    the same result, rows in lexicographic order."""
    if rows.shape[0] == 0 or rows.shape[1] == 0:
        uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
        return uniq, inverse.reshape(-1)
    key = np.zeros(rows.shape[0], dtype=np.int64)
    radix = 1
    for j in range(rows.shape[1] - 1, -1, -1):
        values, rank = np.unique(rows[:, j], return_inverse=True)
        if radix * len(values) >= 1 << 62:  # too many combinations for one int64 key
            uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
            return uniq, inverse.reshape(-1)
        key += rank.reshape(-1) * radix
        radix *= len(values)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return rows[first], inverse.reshape(-1)
