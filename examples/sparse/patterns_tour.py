"""A tour of sparse patterns beyond GNA: bounds of interval patterns, a block mask file, a token permutation that
raises block sparsity, and the stride/tile advisor. Run: python examples/sparse/patterns_tour.py [OUT_DIR]"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from simulator.sparse import GNAConfig, advise_target, bound
from simulator.sparse import patterns as P
from simulator.sparse.gna import axis_mask


def show(name: str, counts) -> None:
    print(f"{name:<44} bound {counts.kv_tiles_dense / counts.visited_max:6.2f}x  "
          f"mean {counts.kv_tiles_dense / counts.visited_mean:6.2f}x  block-sparse {counts.fully_block_sparse}")


def main(out_dir: Path) -> None:
    n, tq, tk = 32768, 128, 128
    show("causal, 32k tokens", P.count_intervals(P.causal(n), tq, tk))
    show("causal sliding window 4096", P.count_intervals(P.sliding_window(n, 4096), tq, tk))
    show("dilated window w=512 d=4", P.count_intervals(P.dilated_window(n, 512, 4), tq, tk))
    show("sinks (4 tokens) + local 2048", P.count_intervals(P.vertical_stripes(n, (0,), 4, 2048), tq, tk))
    show("diagonals at 0, -8k, -16k (width 256)",
         P.count_intervals(P.diagonals(n, (0, -8192, -16384), 256), tq, tk))
    show("radial, 32 frames x 1024 tokens, window 512", P.count_intervals(P.radial(32, 1024, 512), tq, tk))

    # A top-k block mask (64-token blocks), written to .npy and bounded the way `cascade bound --mask` does.
    rng = np.random.default_rng(0)
    scores = rng.random((n // 64, n // 64))
    top = np.argsort(-scores, axis=1)[:, :32]
    bm = np.zeros_like(scores, dtype=bool)
    np.put_along_axis(bm, top, True, axis=1)
    path = out_dir / "topk_blocks.npy"
    np.save(path, bm)
    res = bound(shape=str(n), mask=str(path), q_tile="128", kv_tile="128")
    print(f"{'top-32 of 512 blocks (64 tokens), 128-tiles':<44} bound {res['speedup_upper_bound']:6.2f}x  "
          f"flop bound {res['flop_speedup']:6.2f}x  block-sparse {res['fully_block_sparse']}")

    # Blocked 2-D neighbourhoods: row-major flat tiles straddle windows; tile-major order makes them block-sparse.
    shape, tile = (64, 64), (8, 16)
    cfg = GNAConfig.build(shape, (8, 16), (8, 16))
    mask = np.kron(axis_mask(cfg.axes[0]), axis_mask(cfg.axes[1])).astype(bool)
    fn = lambda q, k: mask[q, k]  # noqa: E731
    show("blocked 2-D window, row-major tokens", P.count_mask_fn(fn, mask.shape[0], 128, 128))
    perm = P.tile_major_permutation(shape, tile)
    show("blocked 2-D window, tile-major tokens", P.count_mask_fn(P.permuted(fn, perm), mask.shape[0], 128, 128))

    print("advisor, HunyuanVideo 30x48x80 window 18x24x24 on b200 tiles:")
    for a in advise_target(GNAConfig.build((30, 48, 80), (18, 24, 24)), "b200", top=3):
        print("  ", a.as_dict())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
