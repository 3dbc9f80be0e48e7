"""GNA tile counts: the worked example of issue 5 and property tests against a brute-force oracle.

Reference: Hassani et al., "Generalized Neighborhood Attention: Multi-dimensional Sparse Attention at the Speed of
Light", 2025, arXiv 2504.16922 (HunyuanVideo example: 30x48x80 layout, window 18x24x24, query tile 4x8x8,
KV tile 2x8x8 -> 900 dense KV tiles, 275 visited at worst, 3.27x; stride 16x8x8 -> 11.1x = FLOP-wise bound).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simulator.sparse.flat import flat_tiles
from simulator.sparse.gna import axis_mask
from simulator.sparse.spec import GNAConfig
from simulator.sparse.tiling import multi_tiles

sys.path.insert(0, str(Path(__file__).parent))
from sparse_bruteforce import axis_mask_literal, brute_flat, brute_multi  # noqa: E402


def test_hunyuan_worked_example():
    cfg = GNAConfig.build((30, 48, 80), (18, 24, 24))
    t = multi_tiles(cfg, (4, 8, 8), (2, 8, 8))
    assert t.kv_tiles_dense == 900
    assert t.visited_max == 275
    assert round(t.kv_tiles_dense / t.visited_max, 2) == 3.27
    assert not t.fully_block_sparse


def test_hunyuan_strided_reaches_flop_bound():
    cfg = GNAConfig.build((30, 48, 80), (18, 24, 24), (16, 8, 8))
    t = multi_tiles(cfg, (4, 8, 8), (2, 8, 8))
    bound = t.kv_tiles_dense / t.visited_max
    flop = (30 * 48 * 80) / (18 * 24 * 24)
    assert round(bound, 1) == 11.1 and bound == pytest.approx(flop)
    assert t.fully_block_sparse


@st.composite
def axis_options(draw, max_len=12):
    L = draw(st.integers(1, max_len))
    d = draw(st.integers(1, max(1, min(3, L))))
    w = draw(st.integers(1, max(1, L // d)))
    s = draw(st.integers(1, w))
    c = draw(st.booleans())
    return L, w, s, d, c


@settings(max_examples=150, deadline=None)
@given(axis_options(max_len=20))
def test_axis_mask_matches_literal_definition(opt):
    L, w, s, d, c = opt
    cfg = GNAConfig.build((L,), (w,), (s,), (d,), (c,))
    assert np.array_equal(axis_mask(cfg.axes[0]), axis_mask_literal(L, w, s, d, c))


@st.composite
def configs(draw, max_axes=3, max_len=9):
    n = draw(st.integers(1, max_axes))
    axes = [draw(axis_options(max_len)) for _ in range(n)]
    q = tuple(draw(st.integers(1, 4)) for _ in range(n))
    k = tuple(draw(st.integers(1, 4)) for _ in range(n))
    shape, window, stride, dilation, causal = (tuple(a[i] for a in axes) for i in range(5))
    return shape, window, stride, dilation, causal, q, k


@settings(max_examples=120, deadline=None)
@given(configs(), st.booleans())
@example((((4,), (4,), (4,), (1,), (True,), (4,), (4,))), False)  # causal block: tile seen whole by one query only
@example((((6, 4), (3, 2), (3, 2), (1, 1), (False, False), (3, 2), (3, 2))), True)  # blocked: perfectly sparse
def test_multi_tiling_matches_brute_force(opt, dynamic):
    shape, window, stride, dilation, causal, q, k = opt
    cfg = GNAConfig.build(shape, window, stride, dilation, causal)
    t = multi_tiles(cfg, q, k, dynamic=dynamic)
    dense, visited, sparse = brute_multi(shape, window, stride, dilation, causal, q, k, dynamic)
    assert t.kv_tiles_dense == dense
    assert sorted(t.visited.ravel().tolist()) == sorted(visited)
    assert t.visited_max == max(visited)
    assert t.visited_mean == pytest.approx(float(np.mean(visited)))
    assert t.fully_block_sparse == sparse


@settings(max_examples=120, deadline=None)
@given(configs(), st.integers(1, 12), st.integers(1, 12), st.booleans())
@example(((4,), (4,), (4,), (1,), (True,), (1,), (1,)), 4, 4, False)
@example(((6, 4), (3, 2), (3, 2), (1, 1), (False, False), (1, 1), (1, 1)), 2, 2, True)
def test_flat_tiling_matches_brute_force(opt, tq, tk, dynamic):
    shape, window, stride, dilation, causal, _, _ = opt
    cfg = GNAConfig.build(shape, window, stride, dilation, causal)
    t = flat_tiles(cfg, tq, tk, dynamic=dynamic)
    dense, visited, sparse = brute_flat(shape, window, stride, dilation, causal, tq, tk, dynamic)
    assert t.kv_tiles_dense == dense
    assert t.visited.tolist() == visited
    assert t.visited_mean == pytest.approx(float(np.mean(visited)))
    assert t.fully_block_sparse == sparse


@pytest.mark.parametrize("dynamic", [False, True])
def test_flat_chunking_does_not_change_counts(monkeypatch, dynamic):
    import simulator.sparse.flat as flat

    cfg = GNAConfig.build((12, 10, 14), (5, 4, 6), (2, 4, 3), (2, 1, 2), (False, True, False))
    whole = flat_tiles(cfg, 24, 16, dynamic)
    monkeypatch.setattr(flat, "CHUNK_INTERVALS", 1)  # one tile's segments per chunk
    chunked = flat_tiles(cfg, 24, 16, dynamic)
    assert np.array_equal(whole.visited, chunked.visited)
    assert whole.fully_block_sparse == chunked.fully_block_sparse
    assert all(np.array_equal(a, b) for a, b in zip(whole.touched, chunked.touched, strict=True))
    dense, visited, sparse = brute_flat(cfg.shape, cfg.window, cfg.stride, cfg.dilation, cfg.causal, 24, 16, dynamic)
    assert chunked.visited.tolist() == visited and chunked.fully_block_sparse == sparse
