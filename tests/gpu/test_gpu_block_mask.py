"""Block-sparse masks on GPUs (`--block-mask`): costed by the kernel tiles the mask visits (simulator.sparse.masks),
equal to the dense and causal counts for the all-ones and lower-triangular masks, refused in one line otherwise."""

import dataclasses

import numpy as np
import pytest

from simulator.errors import SimulatorError
from simulator.evaluate import EvaluateRequest, evaluate


def _run(tmp_path, mask=None, name="m.npy", **kw):
    base = dict(target="h100", batch=2, heads=16, seq=8192, head_dim=128)
    if mask is not None:
        np.save(tmp_path / name, mask)
        base["block_mask"] = str(tmp_path / name)
    return dataclasses.asdict(evaluate(EvaluateRequest(**{**base, **kw})))


@pytest.mark.parametrize(("target", "head_dim"), [("h100", 64), ("a100", 128), ("b200", 128)])
def test_all_ones_mask_is_the_dense_kernel(tmp_path, target, head_dim):
    """Key tiles that divide the sequence (H100 hd64 192x128, A100 128x64, B200 256x128): no ragged tile."""
    ones = np.ones((64, 64), dtype=bool)
    masked = _run(tmp_path, ones, target=target, head_dim=head_dim)
    dense = _run(tmp_path, target=target, head_dim=head_dim)
    assert masked["grid"]["kv_tiles"] == dense["grid"]["kv_tiles"]
    assert masked["latency_s"] == pytest.approx(dense["latency_s"], rel=1e-9)
    assert masked["flops"] == pytest.approx(dense["flops"])


def test_lower_triangular_mask_with_causal_is_the_causal_kernel(tmp_path):
    tril = np.tril(np.ones((64, 64), dtype=bool))
    masked = _run(tmp_path, tril, causal=True)
    causal = _run(tmp_path, causal=True)
    assert (masked["grid"]["kv_tiles"], masked["grid"]["masked_tiles"]) == \
        (causal["grid"]["kv_tiles"], causal["grid"]["masked_tiles"])
    assert masked["latency_s"] == pytest.approx(causal["latency_s"], rel=1e-9)


def test_a_sparse_mask_costs_the_tiles_it_visits_and_its_attended_pairs(tmp_path):
    rng = np.random.default_rng(0)
    sparse = rng.random((64, 64)) < 0.25
    res = _run(tmp_path, sparse)
    dense = _run(tmp_path)
    assert res["flops"] == pytest.approx(dense["flops"] * sparse.mean())  # 128-token blocks, all pairs attended
    assert res["grid"]["kv_tiles"] < dense["grid"]["kv_tiles"] and res["latency_s"] < dense["latency_s"]
    assert res["shape"]["block_mask"].endswith("m.npy")
    both = _run(tmp_path, sparse, training_pass="fwd+bwd")
    assert both["pass_latency_s"]["fwd"] == pytest.approx(res["latency_s"])
    assert both["pass_latency_s"]["bwd"] < _run(tmp_path, training_pass="bwd")["latency_s"]


def test_per_head_masks_average_over_heads(tmp_path):
    masks = np.zeros((16, 64, 64), dtype=bool)
    masks[:8] = True  # half the heads dense, half attend nothing but their diagonal block
    masks[8:, np.arange(64), np.arange(64)] = True
    res = _run(tmp_path, masks)
    dense = _run(tmp_path)
    assert res["flops"] == pytest.approx(dense["flops"] * (0.5 + 0.5 / 64))


@pytest.mark.parametrize(("mask", "kw", "match"), [
    (np.ones((3, 64, 64), dtype=bool), {}, "--block-mask .* has 3 heads but --heads is 16"),
    (np.ones((64, 64), dtype=bool), {"kv_seq": 4096}, "--kv-seq 4096: a block mask is costed for self-attention"),
    (np.ones((3000, 64), dtype=bool), {}, "--block-mask .* does not tile 8192 tokens evenly; give --seq"),
    (np.ones((64, 64), dtype=bool), {"cascade": "attention-sliding-window"}, "already has a sliding-window mask"),
])
def test_bad_block_mask_input_is_one_line(tmp_path, mask, kw, match):
    with pytest.raises(SimulatorError, match=match):
        _run(tmp_path, mask, **kw)


def test_missing_block_mask_file_names_the_option(tmp_path):
    with pytest.raises(SimulatorError, match="absent.npy: no such file") as err:
        _run(tmp_path, block_mask=str(tmp_path / "absent.npy"))
    assert err.value.source == "--block-mask"
