"""Block-sparsity facts published with NATTEN's profiler documentation (SHI-Labs/NATTEN, docs/profiler.md,
"Hopper and Blackwell Examples"; the configurations of Hassani et al. 2025, arXiv 2504.16922):

- 1-D, 32K tokens, window 2048: "stride=256 is the minimum stride that results in a fully block-sparse mask, for
  both Hopper and Blackwell tile sizes" (Hopper 128/128, Blackwell forward 256/128 tokens).
- FLUX 256x256, window 80x80, stride 16x16: fully block-sparse with Q/KV tiles 16x8/16x8 (Hopper) and 16x16/16x8
  (Blackwell); the FLOP-wise bound is 10.2X.
- HunyuanVideo 30x48x80, window 18x24x24, stride 16x8x8: fully block-sparse with 2x8x8/2x8x8 (Hopper) and
  4x8x8/2x8x8 (Blackwell); the FLOP-wise bound is 11.1X.
"""

from __future__ import annotations

import pytest

from simulator.sparse import GNAConfig, advise_target, bound
from simulator.sparse.spec import AxisSpec
from simulator.sparse.tiling import axis_tiles


@pytest.mark.parametrize(("q_tile", "kv_tile"), [(128, 128), (256, 128)])
def test_minimum_block_sparse_stride_1d_32k(q_tile, kv_tile):
    sparse = [s for s in range(1, 257) if axis_tiles(AxisSpec(32768, 2048, s), q_tile, kv_tile).fully_block_sparse]
    assert sparse == [256]


@pytest.mark.parametrize("target", ["h100", "b200"])
def test_advisor_recommends_stride_256_for_1d_32k(target):
    best = advise_target(GNAConfig.build((32768,), (2048,)), target, top=1)[0]
    assert best.stride == (256,) and best.speedup_upper_bound == pytest.approx(16.0)


@pytest.mark.parametrize(("shape", "window", "stride", "q_tile", "kv_tile", "flop"), [
    ("256x256", "80x80", "16x16", "16x8", "16x8", 10.2),
    ("256x256", "80x80", "16x16", "16x16", "16x8", 10.2),
    ("30x48x80", "18x24x24", "16x8x8", "2x8x8", "2x8x8", 11.1),
    ("30x48x80", "18x24x24", "16x8x8", "4x8x8", "2x8x8", 11.1),
])
def test_published_strided_configs_are_fully_block_sparse(shape, window, stride, q_tile, kv_tile, flop):
    out = bound(shape=shape, window=window, stride=stride, q_tile=q_tile, kv_tile=kv_tile)
    assert out["fully_block_sparse"] is True
    assert round(out["flop_speedup"], 1) == flop
    assert out["speedup_upper_bound_padding_free"] == pytest.approx(out["flop_speedup"])
    padded = out["q_padding_tokens"] > 0  # 30 frames in 4-frame query tiles: 32 frames of work
    assert (out["speedup_upper_bound"] < out["flop_speedup"]) == padded
    sliding = bound(shape=shape, window=window, q_tile=q_tile, kv_tile=kv_tile)
    assert sliding["fully_block_sparse"] is False and sliding["speedup_upper_bound"] < out["speedup_upper_bound"]
