"""Padding-aware bounds, dense and causal baselines, the backward pass, token predicates inside block masks and
per-head masks, each against the brute force of sparse_bruteforce.py (materialised token masks)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cli import main
from simulator.sparse import GNAConfig, bound, gna_bound
from simulator.sparse.masks import BlockMask, attended_pairs, count_head, load_block_mask
from simulator.sparse.tiling import multi_tiles
from simulator.sparse.work import BWD_FLOPS_PER_FWD_FLOP

sys.path.insert(0, str(Path(__file__).parent))
from sparse_bruteforce import (  # noqa: E402
    brute_baseline_tile_pairs,
    brute_dense,
    brute_full_partial,
    brute_multi,
    brute_multi_bwd,
)
from test_sparse_gna import configs  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(configs(max_axes=3, max_len=8), st.booleans())
def test_padding_and_baselines_match_brute_force(opt, force_causal):
    shape, window, stride, dilation, causal, q, k = opt
    if force_causal:
        causal = (True,) * len(shape)
    cfg = GNAConfig.build(shape, window, stride, dilation, causal)
    n, tq, tk = math.prod(shape), math.prod(q), math.prod(k)
    _, visited, _ = brute_multi(shape, window, stride, dilation, causal, q, k, False)
    for baseline in ("dense", "causal") if all(causal) else ("dense",):
        r, _ = gna_bound(cfg, q, k, baseline=baseline)
        base = brute_baseline_tile_pairs(n, tq, tk, baseline) * tq * tk
        assert r.baseline == baseline and r.work_baseline_token_pairs == base
        assert r.work_sparse_token_pairs == sum(visited) * tq * tk
        assert r.speedup_upper_bound == pytest.approx(base / (len(visited) * max(visited) * tq * tk))
        assert r.speedup_mean == pytest.approx(base / (sum(visited) * tq * tk))
        assert r.q_padding_tokens == len(visited) * tq - n
    default, _ = gna_bound(cfg, q, k)
    assert default.baseline == ("causal" if all(c or L == 1 for c, L in zip(causal, shape, strict=True)) else "dense")


@settings(max_examples=80, deadline=None)
@given(configs(max_axes=3, max_len=8))
def test_backward_kv_tile_major_matches_brute_force(opt):
    shape, window, stride, dilation, causal, q, k = opt
    cfg = GNAConfig.build(shape, window, stride, dilation, causal)
    t = multi_tiles(cfg, q, k, transposed=True)
    dense, visited, sparse = brute_multi_bwd(shape, window, stride, dilation, causal, q, k)
    assert t.kv_tiles_dense == dense
    assert sorted(t.visited.ravel().tolist()) == sorted(visited)
    assert t.fully_block_sparse == sparse
    fwd = multi_tiles(cfg, q, k)
    assert int(t.visited.sum()) == int(fwd.visited.sum())  # the same tile pairs, walked the other way


def test_fwd_bwd_weighs_backward_by_its_flops():
    cfg = GNAConfig.build((30, 48, 80), (18, 24, 24), (16, 8, 8))
    fwd, _ = gna_bound(cfg, (4, 8, 8), (2, 8, 8), pass_name="fwd")
    bwd, _ = gna_bound(cfg, (4, 4, 8), (4, 4, 8), pass_name="bwd")
    both, _ = gna_bound(cfg, (4, 8, 8), (2, 8, 8), pass_name="fwd+bwd", bwd_tiles=((4, 4, 8), (4, 4, 8)))
    w = BWD_FLOPS_PER_FWD_FLOP
    expect = (fwd.work_baseline_token_pairs + w * bwd.work_baseline_token_pairs) / (
        fwd.work_sparse_worst_token_pairs + w * bwd.work_sparse_worst_token_pairs)
    assert both.speedup_upper_bound == pytest.approx(expect)
    assert min(fwd.speedup_upper_bound, bwd.speedup_upper_bound) <= both.speedup_upper_bound
    assert both.speedup_upper_bound <= max(fwd.speedup_upper_bound, bwd.speedup_upper_bound)


def test_causal_sliding_window_against_causal_flash_attention():
    # issue 14: a causal window of 4,096 at 32K is 7.8x against dense attention, about 4.2x against causal FA.
    out = bound(shape=32768, window=4096, causal=1, target="h100")
    assert out["baseline"] == "causal"
    assert round(out["speedup_upper_bound_padding_free"], 1) == 7.8
    visits = np.minimum(np.arange(256) + 1, 33)  # 128-token tiles: tile t sees tiles t-32..t
    assert out["speedup_mean"] == pytest.approx((256 * 257 / 2) / visits.sum())
    assert round(out["speedup_mean"], 1) == 4.2
    dense = bound(shape=32768, window=4096, causal=1, target="h100", baseline="dense")
    assert dense["speedup_upper_bound"] == pytest.approx(dense["speedup_upper_bound_padding_free"])


def _materialise(bm: np.ndarray, n: int, causal: bool) -> np.ndarray:
    bq, bk = -(-n // bm.shape[0]), -(-n // bm.shape[1])
    m = np.kron(bm, np.ones((bq, bk), dtype=bool))[:n, :n].astype(bool)
    return m & np.tril(np.ones((n, n), dtype=bool)) if causal else m


@st.composite
def block_masks(draw, heads=1):
    n = draw(st.integers(1, 40))
    rows = draw(st.integers(1, n))
    cols = draw(st.integers(1, n))
    bq, bk = -(-n // rows), -(-n // cols)
    rows, cols = -(-n // bq), -(-n // bk)
    bits = draw(st.lists(st.booleans(), min_size=heads * rows * cols, max_size=heads * rows * cols))
    return n, np.array(bits, dtype=bool).reshape(heads, rows, cols)


@settings(max_examples=150, deadline=None)
@given(block_masks(), st.integers(1, 9), st.integers(1, 9), st.booleans())
def test_block_mask_with_token_predicate_matches_brute_force(nm, tq, tk, causal):
    n, bm = nm
    mask = BlockMask(n, *bm.shape, dense=bm)
    m = _materialise(bm[0], n, causal)
    pred = "causal" if causal else None
    if not m.any():
        return
    t = count_head(mask, 0, tq, tk, pred)
    dense, visited, sparse = brute_dense(m, tq, tk)
    assert (t.kv_tiles_dense, t.visited.tolist(), t.fully_block_sparse) == (dense, visited, sparse)
    full, partial = brute_full_partial(m, tq, tk)
    assert int(t.full.sum()) == full and int(t.visited.sum()) - int(t.full.sum()) == partial
    assert attended_pairs(mask, 0, pred) == int(m.sum())
    back = count_head(mask, 0, tq, tk, pred, transposed=True)  # KV-tile-major: the transposed mask
    assert back.visited.tolist() == brute_dense(m.T, tk, tq)[1]
    h, r, c = np.nonzero(bm)
    coo = count_head(BlockMask(n, *bm.shape, coo=(h, r, c)), 0, tq, tk, pred)
    assert coo.visited.tolist() == t.visited.tolist() and np.array_equal(coo.full, t.full)


def test_moba_style_causal_top_k_is_not_perfectly_block_sparse(tmp_path, capsys):
    # issue 14: a causal block mask with causal diagonal blocks is partially masked on the diagonal.
    rng = np.random.default_rng(0)
    blocks = 64
    bm = np.tril(rng.random((blocks, blocks)) < 0.1) | np.eye(blocks, dtype=bool)
    path = tmp_path / "moba.npy"
    np.save(path, bm)
    args = ["bound", "--shape", str(blocks * 512), "--mask", str(path), "--q-tile", "128", "--kv-tile", "128"]
    assert main([*args, "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*args, "--token-mask", "causal", "--json"]) == 0
    tok = json.loads(capsys.readouterr().out)
    assert plain["fully_block_sparse"] is True and tok["fully_block_sparse"] is False
    assert tok["kv_tiles_partial"] == blocks * 4  # 512-token diagonal blocks: 4 diagonal 128-tiles each
    assert tok["baseline"] == "causal" and plain["baseline"] == "dense"
    assert tok["speedup_upper_bound"] < plain["speedup_upper_bound"]


@settings(max_examples=40, deadline=None)
@given(block_masks(heads=3), st.integers(1, 9), st.integers(1, 9))
def test_per_head_masks(tmp_path_factory, nm, tq, tk):
    n, bm = nm
    if not all(bm[h].any() for h in range(bm.shape[0])):
        return
    path = tmp_path_factory.mktemp("m") / "heads.npy"
    np.save(path, bm)
    out = bound(shape=n, mask=str(path), q_tile=tq, kv_tile=tk, baseline="dense")
    singles = []
    for h in range(bm.shape[0]):
        single = path.parent / f"h{h}.npy"
        np.save(single, bm[h])
        singles.append(bound(shape=n, mask=str(single), q_tile=tq, kv_tile=tk, baseline="dense"))
    assert out["heads"] == 3
    assert out["speedup_upper_bound_per_head"] == pytest.approx([s["speedup_upper_bound"] for s in singles])
    assert out["speedup_upper_bound_worst_head"] == pytest.approx(min(s["speedup_upper_bound"] for s in singles))
    worst = sum(s["work_sparse_worst_token_pairs"] for s in singles)
    assert out["speedup_upper_bound"] == pytest.approx(sum(s["work_baseline_token_pairs"] for s in singles) / worst)


def test_compressed_block_list_equals_dense_file(tmp_path):
    rng = np.random.default_rng(1)
    bm = rng.random((2, 32, 32)) < 0.2
    bm[:, 0, 0] = True
    np.save(tmp_path / "d.npy", bm)
    h, r, c = np.nonzero(bm)
    np.savez(tmp_path / "c.npz", shape=np.array(bm.shape), heads=h, rows=r, cols=c)
    a = bound(shape=4096, mask=str(tmp_path / "d.npy"), target="h100")
    b = bound(shape=4096, mask=str(tmp_path / "c.npz"), target="h100")
    assert {k: v for k, v in a.items() if k != "mask"} == {k: v for k, v in b.items() if k != "mask"}
    assert load_block_mask(str(tmp_path / "c.npz"), 4096).heads == 2


@pytest.mark.parametrize(("args", "needle"), [
    (["--shape", "30x48x80", "--window", "18x24x24", "--baseline", "causal"], "--baseline causal"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--baseline", "sparse"], "--baseline"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--pass", "backward"], "--pass"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--pass", "bwd", "--tiling", "flat"], "--pass"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--target", "h100", "--head-dim", "96"], "--head-dim"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--token-mask", "causal"], "--token-mask"),
    (["--shape", "1024", "--mask", "MASK", "--token-mask", "sliding"], "--token-mask"),
    (["--shape", "1024", "--mask", "BADNPZ"], "--mask"),
])
def test_new_options_reject_bad_input_in_one_line(tmp_path, capsys, args, needle):
    np.save(tmp_path / "m.npy", np.eye(8, dtype=bool))
    np.savez(tmp_path / "bad.npz", rows=np.arange(3))
    args = [str(tmp_path / "m.npy") if a == "MASK" else str(tmp_path / "bad.npz") if a == "BADNPZ" else a
            for a in args]
    assert main(["bound", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and "Traceback" not in err and err.count("\n") == 1


def test_bwd_and_fwd_bwd_on_the_command_line(capsys):
    base = ["bound", "--shape", "30x48x80", "--window", "18x24x24", "--stride", "16x8x8", "--target", "b200"]
    assert main([*base, "--pass", "bwd", "--json"]) == 0
    bwd = json.loads(capsys.readouterr().out)
    assert (bwd["q_tile"], bwd["kv_tile"], bwd["pass"]) == ("4x4x8", "4x4x8", "bwd")  # NATTEN's Blackwell default
    assert main([*base, "--pass", "fwd+bwd", "--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert set(both["passes"]) == {"fwd", "bwd"}
    assert both["passes"]["bwd"]["speedup_upper_bound"] == pytest.approx(bwd["speedup_upper_bound"])


def test_per_head_plot(tmp_path, capsys):
    bm = np.stack([np.tril(np.ones((16, 16), dtype=bool)), np.eye(16, dtype=bool)])
    np.save(tmp_path / "h.npy", bm)
    png = tmp_path / "h.png"
    assert main(["bound", "--shape", "2048", "--mask", str(tmp_path / "h.npy"), "--token-mask", "causal",
                 "--plot", str(png), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["worst_head"] == 0 and png.stat().st_size > 1000



def test_huge_dense_mask_refuses_with_what_it_would_need(tmp_path, monkeypatch, capsys):
    import simulator.sparse.masks as masks

    np.save(tmp_path / "big.npy", np.ones((64, 64), dtype=bool))
    monkeypatch.setattr(masks, "MAX_MASK_BYTES", 1024)  # stands in for a 32,768^2 mask against 8 GiB
    assert main(["bound", "--shape", "4096", "--mask", str(tmp_path / "big.npy")]) == 2
    err = capsys.readouterr().err
    assert "GiB" in err and ".npz block list" in err and err.count("\n") == 1


def test_advisor_uses_shipped_tiles_and_says_why_when_none_qualify(capsys):
    # Cosmos-like 24x44x80, window 12x24x24: no shipped Blackwell pair is perfectly block-sparse at any stride.
    args = ["bound", "--shape", "24x44x80", "--window", "12x24x24", "--target", "b200", "--advise", "3", "--json"]
    assert main(args) == 0
    shipped = json.loads(capsys.readouterr().out)
    assert shipped["advice"] == [] and "--any-tile" in shipped["advice_note"]
    assert main([*args, "--any-tile"]) == 0
    hypothetical = json.loads(capsys.readouterr().out)["advice"]
    assert hypothetical and all(a["speedup_upper_bound"] <= a["speedup_upper_bound_padding_free"] + 1e-9
                                for a in hypothetical)
    for a in hypothetical:  # every suggestion is what `bound` reports for it, padding charged
        out = bound(shape="24x44x80", window="12x24x24", stride=a["stride"], q_tile=a["q_tile"], kv_tile=a["kv_tile"])
        assert out["fully_block_sparse"] and out["speedup_upper_bound"] == pytest.approx(a["speedup_upper_bound"])


def test_per_head_summary_keys_cover_all_heads(tmp_path):
    bm = np.stack([np.eye(8, dtype=bool), np.ones((8, 8), dtype=bool)])
    np.save(tmp_path / "h.npy", bm)
    out = bound(shape=1024, mask=str(tmp_path / "h.npy"), q_tile=128, kv_tile=128)
    assert out["flop_speedup"] == pytest.approx(2 * 1024**2 / (8 * 128**2 + 1024**2))  # pairs of both heads
    assert out["speedup_upper_bound_padding_free"] == pytest.approx(2 * 8 / (1 + 8))
    assert out["speedup_upper_bound_per_head"] == pytest.approx([8.0, 1.0]) and out["worst_head"] == 1


def test_mask_chunking_does_not_change_counts(monkeypatch):
    import simulator.sparse.masks as masks

    rng = np.random.default_rng(2)
    cases = []
    for _ in range(40):
        n, rows, cols = int(rng.integers(5, 60)), int(rng.integers(1, 12)), int(rng.integers(1, 12))
        bq, bk = -(-n // rows), -(-n // cols)
        bm = rng.random((-(-n // bq), -(-n // bk))) < 0.4
        cases.append((n, bm, int(rng.integers(1, 9)), int(rng.integers(1, 9)), bool(rng.integers(2)),
                      bool(rng.integers(2))))
    whole = [count_head(BlockMask(n, 1, *bm.shape, dense=bm[None]), 0, tq, tk, "causal" if c else None, t)
             for n, bm, tq, tk, c, t in cases]
    monkeypatch.setattr(masks, "MAX_CHUNK_CELLS", 1)  # one major tile per chunk: blocks straddle chunks
    for (n, bm, tq, tk, c, t), ref in zip(cases, whole, strict=True):
        got = count_head(BlockMask(n, 1, *bm.shape, dense=bm[None]), 0, tq, tk, "causal" if c else None, t)
        m = _materialise(bm, n, c)
        expect = brute_dense(m.T if t else m, tk if t else tq, tq if t else tk)[1]
        assert got.visited.tolist() == ref.visited.tolist() == expect and np.array_equal(got.full, ref.full)


def test_token_permutation_cost(capsys):
    # NATTEN docs/sample-outputs, FLUX on B200: the permutation (NA total 10.931 ms - kernel 8.692 ms) over cuDNN's
    # 43.313 ms; with it the strided run measures 43.313 / 6.389 = 6.78x.
    fraction = (10.931 - 8.692) / 43.313
    out = bound(shape="256x256", window="80x80", stride="16x16", target="b200", permute_fraction=fraction)
    assert out["speedup_upper_bound_with_permute"] == pytest.approx(1 / (1 / out["speedup_upper_bound"] + fraction))
    assert out["speedup_upper_bound_with_permute"] < out["speedup_upper_bound"]
    assert bound(shape="256x256", window="80x80", permute_fraction=0)["speedup_upper_bound_with_permute"] == (
        pytest.approx(bound(shape="256x256", window="80x80")["speedup_upper_bound"]))
    assert main(["bound", "--shape", "256x256", "--window", "80x80", "--permute-fraction", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--permute-fraction" in err and err.count("\n") == 1


@pytest.mark.parametrize(("target", "head_dim", "pass_", "q", "k"), [
    # NATTEN 0.21.7.dev1, src/natten/backends/configs/cutlass_{hopper,blackwell}/__init__.py, first entries
    ("h100", 64, "fwd", "4x4x4", "4x4x8"), ("h100", 256, "fwd", "4x4x8", "4x4x4"),
    ("h100", 128, "bwd", "4x4x4", "4x4x8"), ("b200", 128, "bwd", "4x4x8", "4x4x8"),
])
def test_head_dim_and_pass_pick_the_shipped_default_tiles(target, head_dim, pass_, q, k):
    out = bound(shape="30x48x80", window="18x24x24", target=target, head_dim=head_dim, pass_=pass_)
    assert (out["q_tile"], out["kv_tile"]) == (q, k)
