"""Brute-force oracle for the sparse bound tests: materialise the token mask from the GNA definition
(Hassani et al. 2025, arXiv 2504.16922, as written in issue 5) with plain loops, then count tiles on it."""

from __future__ import annotations

import itertools
import math

import numpy as np


def axis_mask_literal(L: int, w: int, s: int, d: int, causal: bool) -> np.ndarray:
    """Per-axis mask, transcribed token by token from the definition."""
    mask = np.zeros((L, L), dtype=bool)
    for i in range(L):
        g, li = i % d, i // d
        n = len(range(g, L, d))
        if causal:
            leader = min((li // s) * s + s - 1, n - 1)
            lo, hi = max(leader - (w - 1), 0), li
        else:
            leader = min((li // s) * s + s // 2, n - 1)
            lo = min(max(leader - w // 2, 0), n - w)
            hi = lo + w - 1
        for lj in range(lo, hi + 1):
            mask[i, g + d * lj] = True
    return mask


def full_mask(shape, window, stride, dilation, causal) -> np.ndarray:
    """N x N mask over row-major tokens: AND of the per-axis masks."""
    m = np.ones((1, 1), dtype=bool)
    for L, w, s, d, c in zip(shape, window, stride, dilation, causal, strict=True):
        m = np.kron(m, axis_mask_literal(L, w, s, d, c)).astype(bool)
    return m


def multi_tile_ids(L: int, d: int, T: int) -> np.ndarray:
    """Tile index of every coordinate of an axis when each dilation group is tiled on its own."""
    ids = np.empty(L, dtype=int)
    offset = 0
    for g in range(d):
        coords = list(range(g, L, d))
        for local, i in enumerate(coords):
            ids[i] = offset + local // T
        offset += math.ceil(len(coords) / T)
    return ids


def brute_multi(shape, window, stride, dilation, causal, q_tile, kv_tile, dynamic):
    """(dense, visited list, fully_block_sparse) from the materialised mask, multi-dimensional tiling."""
    m = full_mask(shape, window, stride, dilation, causal)
    coords = list(itertools.product(*[range(L) for L in shape]))
    qid = [tuple(multi_tile_ids(L, d, T)[c[a]]
                 for a, (L, d, T) in enumerate(zip(shape, dilation, q_tile, strict=False)))
           for c in coords]
    groups: dict = {}
    for f, t in enumerate(qid):
        groups.setdefault(t, []).append(f)
    visited, sparse = [], True
    for t in sorted(groups):
        qs = groups[t]
        keys = np.flatnonzero(m[qs].any(axis=0))
        if not dynamic:
            kid = {tuple(multi_tile_ids(L, d, T)[coords[k][a]] for a, (L, d, T) in
                         enumerate(zip(shape, dilation, kv_tile, strict=False))) for k in keys}
            visited.append(len(kid))
            blocks: dict = {}
            for k in range(len(coords)):
                b = tuple(multi_tile_ids(L, d, T)[coords[k][a]] for a, (L, d, T) in
                          enumerate(zip(shape, dilation, kv_tile, strict=False)))
                blocks.setdefault(b, []).append(k)
            for b in kid:
                sub = m[np.ix_(qs, blocks[b])]
                sparse &= bool(sub.all())
        else:
            # dynamic: per axis, tiles anchored at the first key (local coordinate of its dilation group)
            count, lo = 1, []
            for a, (d, T) in enumerate(zip(dilation, kv_tile, strict=False)):
                local = [coords[k][a] // d for k in keys]
                lo.append(min(local))
                count *= math.ceil((max(local) - min(local) + 1) / T)
            visited.append(count)
            g = [coords[qs[0]][a] % d for a, d in enumerate(dilation)]
            n_used = [math.ceil((max(coords[k][a] // d for k in keys) - lo[a] + 1) / T)
                      for a, (d, T) in enumerate(zip(dilation, kv_tile, strict=False))]
            blocks = {}
            for k, c in enumerate(coords):
                if all(c[a] % d == g[a] for a, d in enumerate(dilation)):
                    j = tuple((c[a] // d - lo[a]) // T for a, (d, T) in enumerate(zip(dilation, kv_tile, strict=False)))
                    blocks.setdefault(j, []).append(k)
            for j in itertools.product(*[range(u) for u in n_used]):
                sparse &= bool(m[np.ix_(qs, blocks[j])].all())
    dense = math.prod(math.ceil(L / T) for L, T in zip(shape, kv_tile, strict=False))
    return dense, visited, sparse


def permuted_order(shape, dilation) -> np.ndarray:
    """Original row-major token index of each position of the flat (dilation re-arranged) order."""
    perms = [sorted(range(L), key=lambda i, d=d: (i % d, i // d)) for L, d in zip(shape, dilation, strict=False)]
    return np.array([np.ravel_multi_index(tuple(p[c] for p, c in zip(perms, pc, strict=False)), shape)
                     for pc in itertools.product(*[range(L) for L in shape])])


def brute_flat(shape, window, stride, dilation, causal, q_tile, kv_tile, dynamic):
    """(dense, visited list, fully_block_sparse) from the materialised mask, flat tiling."""
    order = permuted_order(shape, dilation)
    m = full_mask(shape, window, stride, dilation, causal)[np.ix_(order, order)]
    n = m.shape[0]
    visited, sparse = [], True
    for t in range(math.ceil(n / q_tile)):
        rows = m[t * q_tile : (t + 1) * q_tile]
        keys = np.flatnonzero(rows.any(axis=0))
        anchor = int(keys.min()) if dynamic else 0
        tiles = sorted({(k - anchor) // kv_tile for k in keys})
        visited.append(len(tiles))
        for j in tiles:
            lo = anchor + j * kv_tile
            sub = rows[:, lo : min(lo + kv_tile, n)]
            sparse &= bool(sub.all())
    return math.ceil(n / kv_tile), visited, sparse


def brute_dense(m: np.ndarray, q_tile: int, kv_tile: int):
    """(dense, visited, fully_block_sparse) of an N x N token mask under flat tiling."""
    n = m.shape[0]
    visited, sparse = [], True
    for t in range(math.ceil(n / q_tile)):
        rows = m[t * q_tile : (t + 1) * q_tile]
        count = 0
        for k in range(math.ceil(n / kv_tile)):
            blk = rows[:, k * kv_tile : (k + 1) * kv_tile]
            if blk.any():
                count += 1
                sparse &= bool(blk.all())
        visited.append(count)
    return math.ceil(n / kv_tile), visited, sparse


def brute_multi_bwd(shape, window, stride, dilation, causal, q_tile, kv_tile):
    """Backward (KV-tile-major): per KV tile, the query tiles holding a query that attends one of its keys;
    (query tiles of dense attention, visited list sorted by KV tile, fully_block_sparse)."""
    m = full_mask(shape, window, stride, dilation, causal)
    coords = list(itertools.product(*[range(L) for L in shape]))

    def tile_of(c, tiles):
        return tuple(multi_tile_ids(L, d, T)[c[a]] for a, (L, d, T) in enumerate(zip(shape, dilation, tiles,
                                                                                     strict=False)))

    qid = [tile_of(c, q_tile) for c in coords]
    kid = [tile_of(c, kv_tile) for c in coords]
    by_q: dict = {}
    for f, t in enumerate(qid):
        by_q.setdefault(t, []).append(f)
    by_k: dict = {}
    for f, t in enumerate(kid):
        by_k.setdefault(t, []).append(f)
    visited, sparse = [], True
    for kt in sorted(by_k):
        ks = by_k[kt]
        hit = [qt for qt, qs in by_q.items() if m[np.ix_(qs, ks)].any()]
        visited.append(len(hit))
        sparse &= all(bool(m[np.ix_(by_q[qt], ks)].all()) for qt in hit)
    dense = math.prod(math.ceil(L / T) for L, T in zip(shape, q_tile, strict=False))
    return dense, visited, sparse


def brute_baseline_tile_pairs(n: int, q_tile: int, kv_tile: int, baseline: str) -> int:
    """Tile pairs a dense or causal flat kernel visits, from the materialised token mask."""
    m = np.ones((n, n), dtype=bool) if baseline == "dense" else np.tril(np.ones((n, n), dtype=bool))
    return sum(brute_dense(m, q_tile, kv_tile)[1])


def brute_full_partial(m: np.ndarray, q_tile: int, kv_tile: int) -> tuple[int, int]:
    """(full, partial) visited tile pairs of a token mask under flat tiling (real tokens only)."""
    n, full, partial = m.shape[0], 0, 0
    for t in range(math.ceil(n / q_tile)):
        for k in range(math.ceil(n / kv_tile)):
            blk = m[t * q_tile : (t + 1) * q_tile, k * kv_tile : (k + 1) * kv_tile]
            if blk.any():
                full += bool(blk.all())
                partial += not bool(blk.all())
    return full, partial


def sliding_tile_mask(shape, tile, window) -> np.ndarray:
    """Sliding Tile Attention (Zhang et al. 2025, arXiv 2502.04507) token by token: N x N mask over the tile-major
    order; a query attends a key iff, per axis, the key's tile lies in the window of tiles centred on the query's
    tile and shifted to stay inside the layout."""
    coords = list(itertools.product(*[range(L) for L in shape]))
    grid = [L // t for L, t in zip(shape, tile, strict=True)]
    k = [w // t for w, t in zip(window, tile, strict=True)]

    def key(c):
        return ([c[a] // tile[a] for a in range(len(shape))], [c[a] % tile[a] for a in range(len(shape))])

    order = sorted(coords, key=key)
    n = len(order)
    m = np.zeros((n, n), dtype=bool)
    for qi, q in enumerate(order):
        for ki, kc in enumerate(order):
            ok = True
            for a in range(len(shape)):
                start = min(max(q[a] // tile[a] - k[a] // 2, 0), grid[a] - k[a])
                ok &= start <= kc[a] // tile[a] <= start + k[a] - 1
            m[qi, ki] = ok
    return m
