"""Benchmark: sparse bounds at 1M tokens, with time and peak memory (tracemalloc, numpy allocations included).

1. a 3-D GNA query over 64x128x128 = 1,048,576 tokens (window 16x32x32, b200 tiles), forward and backward,
   against a brute-force baseline measured in the same run (the token mask of sampled query tiles, extrapolated);
2. `--pattern radial` over 64 frames x 16,384 tokens, against the per-token interval counting of
   patterns.count_intervals, both measured on 16 x 4,096 tokens (the per-token path's memory at 1M is printed);
3. a 1M-token block list with 32,768 x 32,768 blocks (0.05% on plus the diagonal), as a compressed .npz.

    python benchmarks/sparse_scale.py [--sample 4]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from simulator.sparse import GNAConfig, bound, gna_bound
from simulator.sparse import patterns as P
from simulator.sparse.gna import axis_mask
from simulator.sparse.radial import radial_counts


def measured(fn):
    """(seconds, peak MiB, result) of one call."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, out


def brute_tile(masks, shape, q_tile, kv_tile, q_index) -> int:
    """KV tiles one query tile touches, from its materialised token mask rows."""
    rows = [m[q * t : (q + 1) * t] for m, q, t in zip(masks, q_index, q_tile, strict=True)]
    touched = rows[0].any(axis=0)
    for r in rows[1:]:
        touched = np.multiply.outer(touched, r.any(axis=0))  # AND of axes: a key is touched iff touched per axis
    grid = tuple(-(-L // t) for L, t in zip(shape, kv_tile, strict=True))
    padded = np.zeros(tuple(g * t for g, t in zip(grid, kv_tile, strict=True)), dtype=bool)
    padded[tuple(slice(0, L) for L in shape)] = touched
    axes = [v for g, t in zip(grid, kv_tile, strict=True) for v in (g, t)]
    return int(padded.reshape(axes).any(axis=tuple(range(1, 2 * len(shape), 2))).sum())


def gna_1m(sample: int) -> None:
    shape, window, q, k = (64, 128, 128), (16, 32, 32), (8, 4, 8), (4, 4, 8)
    cfg = GNAConfig.build(shape, window)
    s, mib, (r, counts) = measured(lambda: gna_bound(cfg, q, k))
    print(f"GNA {shape} = {math.prod(shape):,} tokens, window {window}, tiles {q}/{k}: {s * 1e3:.1f} ms, "
          f"peak {mib:.1f} MiB, bound {r.speedup_upper_bound:.2f}x "
          f"(padding-free {r.speedup_upper_bound_padding_free:.2f}x)")
    sb, mb, (rb, _) = measured(lambda: gna_bound(cfg, q, k, pass_name="bwd", bwd_tiles=((4, 4, 8), (4, 4, 8))))
    print(f"  backward (KV-tile-major, 4x4x8/4x4x8): {sb * 1e3:.1f} ms, peak {mb:.1f} MiB, "
          f"bound {rb.speedup_upper_bound:.2f}x")
    masks = [axis_mask(a) for a in cfg.axes]
    rng = np.random.default_rng(0)
    picks = [tuple(int(rng.integers(g)) for g in counts.visited.shape) for _ in range(sample)]
    t0 = time.perf_counter()
    brute = [brute_tile(masks, shape, q, k, p) for p in picks]
    per_tile = (time.perf_counter() - t0) / sample
    assert brute == [int(counts.visited[p]) for p in picks], "brute force disagrees"
    total = per_tile * counts.visited.size
    print(f"  brute force: {per_tile * 1e3:.1f} ms per query tile x {counts.visited.size:,} tiles = {total:.0f} s "
          f"(sampled {sample}, counts agree); vectorised is {total / s:,.0f}x faster")


def radial_1m() -> None:
    small = (16, 4096, 256)
    s_new, m_new, fast = measured(lambda: radial_counts(*small, False, 256, 128))
    s_old, m_old, slow = measured(lambda: P.count_intervals(P.radial(*small), 256, 128))
    assert fast.visited.tolist() == slow.visited.tolist() and fast.fully_block_sparse == slow.fully_block_sparse
    print(f"radial {small[0]}x{small[1]} window {small[2]}: segments {s_new * 1e3:.0f} ms / {m_new:.0f} MiB, "
          f"per-token intervals {s_old * 1e3:.0f} ms / {m_old:.0f} MiB (counts agree): "
          f"{s_old / s_new:.1f}x faster, {m_old / m_new:.1f}x less memory")
    frames, tokens, window = 64, 16384, 1024
    s, mib, out = measured(lambda: bound(shape=f"{frames}x{tokens}", window=window, pattern="radial", target="b200"))
    per_token_mib = frames * tokens * frames * 2 * 8 / 2**20
    print(f"radial {frames}x{tokens} = {frames * tokens:,} tokens, window {window}: {s:.2f} s, peak {mib:.0f} MiB, "
          f"bound {out['speedup_upper_bound']:.2f}x, FLOP-wise {out['flop_speedup']:.1f}x (per-token intervals "
          f"would hold {per_token_mib:,.0f} MiB of bounds alone)")


def mask_1m() -> None:
    n, blocks = 1 << 20, 32768
    rng = np.random.default_rng(0)
    nnz = int(blocks * blocks * 5e-4)
    rows = np.concatenate([rng.integers(0, blocks, nnz), np.arange(blocks)])
    cols = np.concatenate([rng.integers(0, blocks, nnz), np.arange(blocks)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mask.npz"
        np.savez_compressed(path, shape=np.array([blocks, blocks]), rows=rows, cols=cols)
        s, mib, out = measured(lambda: bound(shape=n, mask=str(path), target="b200"))
    dense_gib = (blocks + 1) ** 2 * 8 / 2**30
    print(f"block list {blocks}x{blocks} blocks over {n:,} tokens ({rows.size:,} on): {s:.2f} s, peak {mib:.0f} MiB, "
          f"bound {out['speedup_upper_bound']:.2f}x, {out['kv_tiles_partial']:,} partial tile pairs "
          f"(a dense int64 prefix-sum table would need {dense_gib:.0f} GiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=4, help="query tiles the brute-force baseline runs on")
    args = parser.parse_args()
    gna_1m(args.sample)
    radial_1m()
    mask_1m()


if __name__ == "__main__":
    main()
