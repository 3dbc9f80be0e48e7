"""The work per key tile comes from the cascade's op counts; the hand-written fallback agrees with them."""

import pytest

from simulator.errors import SimulatorError
from simulator.gpu import work


def test_analysis_counts_agree_with_fallback_for_1pass():
    if work._analysis_api() is None:
        pytest.skip("einsum_cascades.analysis not on this branch")
    dims = (("E", 128), ("F", 128))
    got = work.tile_work("attention-1pass", 128, 64, dims)
    assert got.source == "einsum_cascades.analysis.op_counts"
    one = work._by_unit(work._fallback_1pass(work._sizes(128, 1, 64, dims)))
    two = work._by_unit(work._fallback_1pass(work._sizes(128, 2, 64, dims)))
    expected = tuple(b - a for a, b in zip(one, two, strict=True))
    assert (got.mac_per_kv_tile, got.exp_per_kv_tile, got.fp32_per_kv_tile) == expected


def test_cascades_imply_different_work():
    dims = (("E", 64), ("F", 64))
    one = work.tile_work("attention-1pass", 128, 128, dims)
    three = work.tile_work("attention-3pass", 128, 128, dims)
    assert one.mac_per_kv_tile == three.mac_per_kv_tile == 128 * 128 * (64 + 64)
    assert (one.passes, three.passes) == (1, 3)
    # 3-pass divides every score (SFU rcp per score); 1-pass divides once per output element, in the epilogue.
    assert three.exp_per_kv_tile == 2 * 128 * 128
    assert one.exp_per_q_tile > 0 and three.exp_per_q_tile == 0


def test_unknown_cascade_is_a_user_error():
    with pytest.raises(Exception, match="no-such-cascade"):
        work.tile_work("no-such-cascade", 128, 64, (("E", 64), ("F", 64)))


def test_masked_cascade_points_to_causal_flag():
    if work._analysis_api() is None:
        pytest.skip("einsum_cascades.analysis not on this branch")
    with pytest.raises(SimulatorError, match="--causal"):
        work.tile_work("attention-causal", 128, 64, (("E", 64), ("F", 64)))


def test_cascade_without_a_score_matrix_is_refused():
    if work._analysis_api() is None:
        pytest.skip("einsum_cascades.analysis not on this branch")
    with pytest.raises(SimulatorError, match="score matrix"):
        work.tile_work("linear-attention", 128, 64, (("E", 64), ("F", 64)))


def test_fallback_used_when_analysis_is_missing(monkeypatch):
    monkeypatch.setattr(work, "_analysis_api", lambda: None)
    work._counter.cache_clear()
    work.tile_work.cache_clear()
    try:
        got = work.tile_work("attention-1pass", 128, 64, (("E", 64), ("F", 64)))
        assert got.source.startswith("fallback") and got.mac_per_kv_tile == 128 * 64 * 128
        with pytest.raises(SimulatorError, match="until einsum_cascades.analysis"):
            work.tile_work("mla-absorbed", 128, 64, (("E", 64), ("F", 64)))
    finally:
        work._counter.cache_clear()
        work.tile_work.cache_clear()
