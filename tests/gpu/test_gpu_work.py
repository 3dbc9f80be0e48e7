"""The work per key tile comes from the cascade's op counts, which agree with the paper's closed form."""

import pytest

from einsum_cascades.errors import CascadeError
from simulator.errors import SimulatorError
from simulator.gpu import work


def fusemax_1pass_counts(p: int, m: int, e: int, f: int, m0: int) -> dict[str, int]:
    """FuseMax Cascade 5 (Nayak et al., MICRO 2024): op counts of the 1-pass cascade, written out by hand."""
    m1 = m // m0
    return {"mac": p * m * e + p * m * f, "max": p * m + p * m1, "sub": p * m + p * m1,
            "exp": p * m + p * m1, "add": p * m + p * m1 + p * f * m1, "mul": p * m1 + p * f * m1, "div": p * f}


def test_analysis_counts_agree_with_the_paper_for_1pass():
    dims = (("E", 128), ("F", 128))
    got = work.tile_work("attention-1pass", 128, 64, dims)
    assert got.source == "einsum_cascades.analysis.op_counts"
    one = work._by_unit(fusemax_1pass_counts(128, 64, 128, 128, 64))
    two = work._by_unit(fusemax_1pass_counts(128, 128, 128, 128, 64))
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
    with pytest.raises(CascadeError, match="no-such-cascade"):
        work.tile_work("no-such-cascade", 128, 64, (("E", 64), ("F", 64)))


def test_causal_cascade_costs_a_full_tile_and_the_kernel_masks_by_tile():
    dims = (("E", 64), ("F", 64))
    causal = work.tile_work("attention-causal", 128, 64, dims)
    dense = work.tile_work("attention-1pass", 128, 64, dims)
    assert (causal.mac_per_kv_tile, causal.exp_per_kv_tile) == (dense.mac_per_kv_tile, dense.exp_per_kv_tile)


def test_sliding_window_cascade_costs_a_full_tile_too():
    dims = (("E", 64), ("F", 64))
    window = work.tile_work("attention-sliding-window", 128, 64, dims)
    dense = work.tile_work("attention-1pass", 128, 64, dims)
    assert (window.mac_per_kv_tile, window.exp_per_kv_tile) == (dense.mac_per_kv_tile, dense.exp_per_kv_tile)


def test_mask_the_kernel_cannot_apply_is_refused(tmp_path):
    from pathlib import Path

    import einsum_cascades

    text = (Path(einsum_cascades.__file__).parent / "builtin" / "attention-sliding-window.yaml").read_text()
    text = text.replace("where m <= p and p - m < W", "where m <= p + 8").replace("mask: sliding-window",
                                                                                  'mask: "m <= p + 8"')
    text = text.replace("  window: W\n", "").replace("defaults: {W: 4096}", "defaults: {}")
    path = tmp_path / "shifted.yaml"
    path.write_text(text.replace("name: attention-sliding-window", "name: shifted-causal"))
    with pytest.raises(SimulatorError, match="causal or sliding-window"):
        work.tile_work(str(path), 128, 64, (("E", 64), ("F", 64)))


def test_cascade_without_a_score_matrix_is_refused():
    with pytest.raises(SimulatorError, match="score matrix"):
        work.tile_work("linear-attention", 128, 64, (("E", 64), ("F", 64)))
