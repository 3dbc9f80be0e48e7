"""Benchmark: sparse bounds at 1M tokens, with time and peak memory (tracemalloc, numpy allocations included).

1. a 3-D GNA query over 64x128x128 = 1,048,576 tokens (window 16x32x32, b200 tiles), forward and backward,
   against a brute-force baseline measured in the same run (the token mask of sampled query tiles, extrapolated);
2. `--pattern radial` over 64 frames x 16,384 tokens, against the per-token interval counting of
   patterns.count_intervals, both measured on 16 x 4,096 tokens (the per-token path's memory at 1M is printed);
3. a 1M-token block list with 32,768 x 32,768 blocks (0.05% on plus the diagonal), as a compressed .npz;
4. `--pattern sliding-tile`, `diagonal`, `vertical-stripe` and `permuted` (stripes-first) at 1,048,576 tokens,
   forward and backward, each checked against the brute force of sampled query tiles (materialised mask rows).

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


LINES_1M = [
    dict(pattern="sliding-tile", shape="64x128x128", tile="4x8x8", window="12x24x24"),
    dict(pattern="diagonal", shape=str(1 << 20), offsets="0,-65536,-262144", width=256),
    dict(pattern="vertical-stripe", shape=str(1 << 20), columns=",".join(str(c) for c in range(0, 1 << 20, 65537)),
         local=4096, causal="1"),
    dict(pattern="permuted", base="vertical-stripe", shape=str(1 << 20),
         columns=",".join(str(c) for c in range(7, 1 << 20, 65537)), permutation="stripes-first", segment=1 << 18),
]


def lines_1m(sample: int) -> None:
    from simulator.sparse.lines import Diagonal, VerticalStripe
    from simulator.sparse.pattern_specs import OPTIONS, build
    from simulator.sparse.permuted import stripes_first

    for opts in LINES_1M:
        for pass_ in ("fwd", "bwd"):
            s, mib, out = measured(lambda o=opts, p=pass_: bound(**o, pass_=p, target="b200"))
            print(f"{opts['pattern']} {opts['shape']} ({out['tokens']:,} tokens) {pass_}: {s:.2f} s, "
                  f"peak {mib:.0f} MiB, bound {out['speedup_upper_bound']:.1f}x, FLOP-wise {out['flop_speedup']:.1f}x, "
                  f"block-sparse {out['fully_block_sparse']}")
    # brute force on sampled query tiles of the 1-D line patterns: materialise their mask rows
    n, tq, tk = 1 << 20, 256, 128
    rng = np.random.default_rng(1)
    for opts in LINES_1M[1:]:
        cols = [int(c) for c in opts.get("columns", "0").split(",")]
        if opts["pattern"] == "diagonal":
            pat = Diagonal(n, tuple(int(o) for o in opts["offsets"].split(",")), opts["width"])
        else:
            pat = VerticalStripe(n, tuple(cols), 1, opts.get("local", 0), opts.get("causal") == "1")
        perm = stripes_first(pat, opts["segment"]) if opts["pattern"] == "permuted" else np.arange(n)
        inv = np.argsort(perm)
        counts = build(opts["pattern"], (n,), {k: opts.get(k) for k in OPTIONS}).count(tq, tk, False).counts
        for t in rng.integers(0, n // tq, sample):
            lo, hi = pat.rows(perm[t * tq:(t + 1) * tq], False)
            hit = np.zeros(n, dtype=bool)
            for a, b in zip(lo.ravel(), hi.ravel(), strict=True):
                hit[max(a, 0):max(min(b, n - 1) + 1, 0)] = True
            brute = np.unique(inv[np.flatnonzero(hit)] // tk).size
            assert brute == counts.visited[t], (opts["pattern"], t)
    print(f"  line patterns: {sample} sampled query tiles each agree with the materialised mask rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=4, help="query tiles the brute-force baseline runs on")
    args = parser.parse_args()
    gna_1m(args.sample)
    radial_1m()
    mask_1m()
    lines_1m(args.sample)


if __name__ == "__main__":
    main()
