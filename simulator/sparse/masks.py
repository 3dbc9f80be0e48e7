"""Block masks at any scale: one or per head, dense `.npy` (memory-mapped) or compressed block lists (`.npz`),
optionally refined by a token predicate inside the blocks (`causal`: key <= query, as in MoBA's causal top-k).

Counting goes one chunk of query tiles at a time: the "on" blocks under the chunk are listed, every block is cut
into its pieces per tile pair, and each piece adds the (query, key) pairs it attends (all of them, or those the
predicate keeps, in closed form). A tile pair is visited when it attends a pair and full when it attends all its
real pairs (FlexAttention's full vs partial blocks). Memory stays O(chunk x KV tiles), never N x N.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.tiling import MAX_TOUCHED, TileCounts

PREDICATES = ("causal",)
MAX_CHUNK_CELLS = 4_000_000  # query tiles x KV tiles per chunk
MAX_MASK_BYTES = 8 << 30  # a dense mask file above this is refused (give a compressed block list)


def _ceil_div(a, b):
    return -(-a // b)


@dataclass(frozen=True)
class BlockMask:
    """`heads` block masks of `rows` x `cols` blocks over `n_tokens` tokens; `dense` (heads x rows x cols, maybe
    memory-mapped) or `coo` (head, row, col) of the on blocks."""

    n_tokens: int
    heads: int
    rows: int
    cols: int
    dense: np.ndarray | None = None
    coo: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def block_q(self) -> int:
        return _ceil_div(self.n_tokens, self.rows)

    @property
    def block_kv(self) -> int:
        return _ceil_div(self.n_tokens, self.cols)

    def on_blocks(self, head: int, r0: int, r1: int, transposed: bool) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of the on blocks of `head` with major index in [r0, r1) (rows forward, columns backward)."""
        if self.dense is not None:
            part = self.dense[head, :, r0:r1] if transposed else self.dense[head, r0:r1]
            a, b = np.nonzero(np.asarray(part))
            return (a, b + r0) if transposed else (a + r0, b)
        h, r, c = self.coo
        major = c if transposed else r
        keep = (h == head) & (major >= r0) & (major < r1)
        return r[keep], c[keep]


def _bool_blocks(arr: np.ndarray, source: str) -> np.ndarray:
    if arr.dtype != bool and not np.isin(arr, (0, 1)).all():
        raise SimulatorError(f"{source}: block mask entries must be 0/1 or booleans")
    return arr


def load_block_mask(path: str, n_tokens: int) -> BlockMask:
    """Read `--mask FILE`: `.npy` of 2-D (query blocks x KV blocks) or 3-D (heads x ...) 0/1 entries, memory-mapped;
    or `.npz` with `shape` (heads, rows, cols) and int arrays `rows`, `cols` (and `heads`) of the on blocks."""
    p, source = Path(path), f"--mask {path}"
    if p.suffix not in (".npy", ".npz"):
        raise SimulatorError(f"--mask: {path} must be a .npy block mask or a .npz block list (shape, rows, cols)")
    if not p.exists():
        raise SimulatorError(f"--mask: {path}: no such file")
    try:
        if p.suffix == ".npy":
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
            if arr.ndim not in (2, 3):
                raise SimulatorError(f"{source}: a block mask is 2-D (query blocks x KV blocks) or 3-D (heads x query "
                                     f"blocks x KV blocks), not {arr.ndim}-D")
            if arr.nbytes > MAX_MASK_BYTES:
                raise SimulatorError(f"{source}: {arr.nbytes / 2**30:.1f} GiB as a dense array is above the "
                                     f"{MAX_MASK_BYTES >> 30} GiB this tool reads; save the on blocks as a .npz block "
                                     "list (shape, rows, cols)")
            dense = arr[None] if arr.ndim == 2 else arr
            if dense.dtype != bool:
                for h in range(dense.shape[0]):
                    _bool_blocks(np.asarray(dense[h]), source)
            mask = BlockMask(n_tokens, *dense.shape, dense=dense)
        else:
            with np.load(p, allow_pickle=False) as z:
                missing = [k for k in ("shape", "rows", "cols") if k not in z.files]
                if missing:
                    raise SimulatorError(f"{source}: a block list needs arrays {', '.join(missing)} "
                                         "(shape = (heads, rows, cols) or (rows, cols); rows, cols of the on blocks)")
                shape = tuple(int(v) for v in z["shape"])
                rows, cols = z["rows"].astype(np.int64), z["cols"].astype(np.int64)
                heads = z["heads"].astype(np.int64) if "heads" in z.files else np.zeros_like(rows)
            if len(shape) == 2:
                shape = (1, *shape)
            if len(shape) != 3 or not (rows.shape == cols.shape == heads.shape):
                raise SimulatorError(f"{source}: shape must be (rows, cols) or (heads, rows, cols) and rows, cols, "
                                     "heads of equal length")
            for arr, hi, name in ((heads, shape[0], "heads"), (rows, shape[1], "rows"), (cols, shape[2], "cols")):
                if arr.size and (arr.min() < 0 or arr.max() >= hi):
                    raise SimulatorError(f"{source}: {name} must lie in 0..{hi - 1}")
            mask = BlockMask(n_tokens, *shape, coo=(heads, rows, cols))
    except (ValueError, OSError, EOFError) as exc:
        raise SimulatorError(f"{source}: cannot read it ({exc or 'the file is empty'})") from None
    if min(mask.heads, mask.rows, mask.cols) < 1:
        raise SimulatorError(f"{source}: the mask is empty ({mask.heads} heads x {mask.rows} x {mask.cols} blocks); "
                             "give at least one query block and one KV block")
    if _ceil_div(n_tokens, mask.block_q) != mask.rows or _ceil_div(n_tokens, mask.block_kv) != mask.cols:
        raise SimulatorError(
            f"{source}: a {mask.rows}x{mask.cols} block mask does not tile {n_tokens} tokens evenly; give --shape "
            "the token count the mask was made for"
        )
    return mask


def _lower_pairs(a, b, c, d):
    """Pairs (q, k) with a <= q <= b, c <= k <= d and k <= q (vectorised, inclusive bounds)."""
    lo, hi = np.maximum(a, c), np.minimum(b, d)  # rows where the diagonal crosses the columns
    n = np.maximum(hi - lo + 1, 0)
    tri = n * (lo - c + 1) + n * (n - 1) // 2  # rows lo..hi attend c..q
    full_rows = np.maximum(b - np.maximum(a, d + 1) + 1, 0)
    return np.where(n > 0, tri, 0) + full_rows * (d - c + 1)


def _piece_pairs(r0, r1, c0, c1, predicate, transposed):
    if predicate is None:
        return (r1 - r0 + 1) * (c1 - c0 + 1)
    if transposed:  # rows are keys, columns queries: keep row <= col
        return _lower_pairs(c0, c1, r0, r1)
    return _lower_pairs(r0, r1, c0, c1)


def _tile_sizes(n_tiles: int, tile: int, n: int) -> np.ndarray:
    """Real tokens in each tile (the last may be short)."""
    start = np.arange(n_tiles, dtype=np.int64) * tile
    return np.minimum(start + tile, n) - start


def count_head(mask: BlockMask, head: int, q_tile: int, kv_tile: int, predicate: str | None = None,
               transposed: bool = False) -> TileCounts:
    """Tile counts of one head; `transposed` counts KV-tile-major (the backward pass)."""
    n = mask.n_tokens
    tm, tn = (kv_tile, q_tile) if transposed else (q_tile, kv_tile)  # major / minor tile tokens
    bm, bn = (mask.block_kv, mask.block_q) if transposed else (mask.block_q, mask.block_kv)
    n_major, n_minor = _ceil_div(n, tm), _ceil_div(n, tn)
    visited = np.zeros(n_major, dtype=np.int64)
    full = np.zeros(n_major, dtype=np.int64)
    keep = n_major * n_minor <= MAX_TOUCHED
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    major_sizes, minor_sizes = _tile_sizes(n_major, tm, n), _tile_sizes(n_minor, tn, n)
    cols_major = mask.rows if transposed else mask.cols  # blocks per major block line
    step = max(1, min(MAX_CHUNK_CELLS // n_minor, MAX_CHUNK_CELLS * bm // (tm * cols_major)))
    for t0 in range(0, n_major, step):
        t1 = min(t0 + step, n_major)
        lo_tok, hi_tok = t0 * tm, min(t1 * tm, n) - 1
        rows, cols = mask.on_blocks(head, lo_tok // bm, hi_tok // bm + 1, transposed)
        if transposed:
            rows, cols = cols, rows  # major first
        r0, r1 = np.maximum(rows * bm, lo_tok), np.minimum(np.minimum((rows + 1) * bm, n) - 1, hi_tok)
        c0, c1 = cols * bn, np.minimum((cols + 1) * bn, n) - 1
        # cut every block into its pieces per tile pair (blocks may span several tiles each way)
        qa, qb = r0 // tm, r1 // tm
        ka, kb = c0 // tn, c1 // tn
        nq, nk = qb - qa + 1, kb - ka + 1
        reps = nq * nk
        idx = np.repeat(np.arange(rows.size), reps)
        off = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
        qt, kt = qa[idx] + off // nk[idx], ka[idx] + off % nk[idx]
        pr0, pr1 = np.maximum(r0[idx], qt * tm), np.minimum(r1[idx], (qt + 1) * tm - 1)
        pc0, pc1 = np.maximum(c0[idx], kt * tn), np.minimum(c1[idx], (kt + 1) * tn - 1)
        pairs = _piece_pairs(pr0, pr1, pc0, pc1, predicate, transposed)
        key = (qt - t0) * n_minor + kt
        attended = np.bincount(key, weights=pairs, minlength=(t1 - t0) * n_minor).reshape(t1 - t0, n_minor)
        area = major_sizes[t0:t1, None] * minor_sizes[None, :]
        hit, whole = attended > 0, attended >= area
        visited[t0:t1] = hit.sum(axis=1)
        full[t0:t1] = (hit & whole).sum(axis=1)
        if keep:
            t, k = np.nonzero(hit)
            kept.append((t + t0, k, whole[hit]))
    touched = tuple(np.concatenate(p) for p in zip(*kept, strict=True)) if keep and kept else None
    return TileCounts(n_minor, visited, bool((full == visited).all()), touched=touched, full=full)


def attended_pairs(mask: BlockMask, head: int, predicate: str | None = None) -> int:
    """(query, key) pairs head `head` attends (real tokens only; the predicate applied)."""
    n, total = mask.n_tokens, 0
    step = max(1, MAX_CHUNK_CELLS // max(mask.cols, 1))
    for r0 in range(0, mask.rows, step):
        rows, cols = mask.on_blocks(head, r0, min(r0 + step, mask.rows), False)
        a, b = rows * mask.block_q, np.minimum((rows + 1) * mask.block_q, n) - 1
        c, d = cols * mask.block_kv, np.minimum((cols + 1) * mask.block_kv, n) - 1
        total += int(_piece_pairs(a, b, c, d, predicate, False).sum())
    return total


def is_causal(mask: BlockMask, predicate: str | None) -> bool:
    """Whether no head attends a key after its query."""
    if predicate == "causal":
        return True
    n = mask.n_tokens
    for h in range(mask.heads):
        rows, cols = mask.on_blocks(h, 0, mask.rows, False)
        if np.any(np.minimum((cols + 1) * mask.block_kv, n) - 1 > rows * mask.block_q):
            return False
    return True
