"""Patterns beyond GNA: interval patterns, block masks, mask functions and permutations against brute force."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.errors import SimulatorError
from simulator.sparse import patterns as P
from simulator.sparse.gna import axis_mask
from simulator.sparse.spec import GNAConfig
from simulator.sparse.tiling import multi_tiles

sys.path.insert(0, str(Path(__file__).parent))
from sparse_bruteforce import brute_dense  # noqa: E402


@st.composite
def interval_patterns(draw):
    kind = draw(st.sampled_from(["causal", "window", "dilated", "diagonals", "stripes", "radial"]))
    if kind == "radial":
        return P.radial(draw(st.integers(1, 6)), draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.booleans()))
    n = draw(st.integers(1, 48))
    if kind == "causal":
        return P.causal(n)
    if kind == "window":
        return P.sliding_window(n, draw(st.integers(1, n)), draw(st.booleans()))
    if kind == "dilated":
        return P.dilated_window(n, draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.booleans()))
    if kind == "diagonals":
        offs = tuple(draw(st.lists(st.integers(-n, n), min_size=1, max_size=3)))
        return P.diagonals(n, offs, draw(st.integers(1, 5)))
    cols = tuple(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3)))
    return P.vertical_stripes(n, cols, draw(st.integers(1, 4)), draw(st.integers(0, 6)), draw(st.booleans()))


@settings(max_examples=200, deadline=None)
@given(interval_patterns(), st.integers(1, 9), st.integers(1, 9))
def test_interval_patterns_match_brute_force(pattern, tq, tk):
    t = P.count_intervals(pattern, tq, tk)
    dense, visited, sparse = brute_dense(pattern.mask(), tq, tk)
    assert (t.kv_tiles_dense, t.visited.tolist(), t.fully_block_sparse) == (dense, visited, sparse)
    assert P.attended_pairs(pattern) == int(pattern.mask().sum())


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40), st.integers(1, 8), st.integers(1, 8), st.integers(1, 9), st.integers(1, 9), st.data())
def test_block_mask_matches_brute_force(n, bq, bk, tq, tk, data):
    rows, cols = -(-n // bq), -(-n // bk)
    if -(-n // rows) != bq or -(-n // cols) != bk:
        return  # block sizes that do not tile n evenly are rejected (tested below)
    bm = np.array(data.draw(st.lists(st.booleans(), min_size=rows * cols, max_size=rows * cols))).reshape(rows, cols)
    m = np.kron(bm, np.ones((bq, bk), dtype=bool))[:n, :n].astype(bool)
    t = P.count_block_mask(bm, n, tq, tk)
    dense, visited, sparse = brute_dense(m, tq, tk)
    assert (t.kv_tiles_dense, t.visited.tolist(), t.fully_block_sparse) == (dense, visited, sparse)
    assert P.block_mask_pairs(bm, n) == int(m.sum())


def test_block_mask_rejects_bad_inputs():
    with pytest.raises(SimulatorError, match="2-D"):
        P.count_block_mask(np.zeros((2, 2, 2)), 8, 2, 2)
    with pytest.raises(SimulatorError, match="--shape"):
        P.count_block_mask(np.zeros((7, 7)), 10, 2, 2)


@settings(max_examples=50, deadline=None)
@given(interval_patterns(), st.integers(1, 9), st.integers(1, 9), st.randoms(use_true_random=False))
def test_mask_function_and_permutation_match_brute_force(pattern, tq, tk, rnd):
    perm = np.arange(pattern.n_tokens)
    rnd.shuffle(perm)
    fn = P.permuted(pattern.mask_fn(), perm)
    t = P.count_mask_fn(fn, pattern.n_tokens, tq, tk)
    dense, visited, sparse = brute_dense(pattern.mask()[np.ix_(perm, perm)], tq, tk)
    assert (t.kv_tiles_dense, t.visited.tolist(), t.fully_block_sparse) == (dense, visited, sparse)


def test_tile_major_permutation_turns_flat_into_multi_tiling():
    shape, window, stride, tile = (8, 12), (4, 6), (4, 6), (4, 6)
    cfg = GNAConfig.build(shape, window, stride)
    m = np.kron(axis_mask(cfg.axes[0]), axis_mask(cfg.axes[1])).astype(bool)
    fn = lambda q, k: m[q, k]  # noqa: E731
    row_major = P.count_mask_fn(fn, 96, 24, 24)
    tile_major = P.count_mask_fn(P.permuted(fn, P.tile_major_permutation(shape, tile)), 96, 24, 24)
    multi = multi_tiles(cfg, tile, tile)
    assert tile_major.visited_max == multi.visited_max == 1 and tile_major.fully_block_sparse
    assert row_major.visited_max > tile_major.visited_max and not row_major.fully_block_sparse


def test_radial_window_shrinks_with_temporal_distance():
    m = P.radial(frames=5, frame_tokens=16, spatial_window=8).mask()
    widths = [int(m[8, f * 16 : (f + 1) * 16].sum()) for f in range(5)]  # query: frame 0, token 8
    assert widths == [16, 9, 9, 5, 5]  # h(t) = 8 // 2**floor(log2(t+1)) = 8, 4, 4, 2, 2; frame caps distance 0


def test_block_mask_chunking_does_not_change_counts(monkeypatch):
    import simulator.sparse.masks as masks

    rng = np.random.default_rng(1)
    bm = rng.random((30, 20)) < 0.3  # 10- and 15-token blocks over 300 tokens
    whole = P.count_block_mask(bm, 300, 7, 5)
    monkeypatch.setattr(masks, "MAX_TOUCHED", 10)  # no pairs kept
    monkeypatch.setattr(masks, "MAX_CHUNK_CELLS", 1)  # one query tile per chunk
    chunked = P.count_block_mask(bm, 300, 7, 5)
    assert np.array_equal(whole.visited, chunked.visited) and chunked.touched is None
    assert np.array_equal(whole.full, chunked.full)
    assert whole.fully_block_sparse == chunked.fully_block_sparse
