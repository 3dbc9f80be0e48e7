"""Behaviour of the fused-attention kernel model: bounds, masks, waves, GQA, dtypes, speed."""

import json
import time

import numpy as np
import pytest

from hw import load_target
from simulator.gpu.kernels import choose_kernel
from simulator.gpu.model import Shapes, _causal_tiles, fa_flops, predict

A100, H100, B200 = (load_target(n) for n in ("a100", "h100", "b200"))


def one(target, b, h, g, s, s2, d=128, causal=False, dtype="fp16", cascade="attention-1pass", kernel=None):
    r = predict(
        target, Shapes.of(b, h, g, s, s2), d_qk=d, d_v=d, causal=causal, dtype=dtype, cascade=cascade, family=kernel
    )
    return {**r.row(0), "kernel": r.kernel, "emulated_exp_fraction": r.emulated_exp_fraction}


@pytest.mark.parametrize("target", [A100, H100, B200])
def test_decode_is_memory_bound(target):
    r = one(target, 16, 32, 8, 1, 8192)
    assert r["bound"] == "memory"
    assert r["utilization"]["hbm"] > 0.5


def test_long_prefill_on_hopper_is_tensor_bound_and_blackwell_d64_softmax_bound():
    assert one(H100, 2, 16, 16, 8192, 8192)["bound"] == "tensor"
    # B200 doubles tensor throughput per SM but keeps about 16 exp/clk/SM: small heads become exp/FP32 bound.
    assert one(B200, 2, 32, 32, 8192, 8192, d=64)["bound"] in ("exp", "fp32")


def test_causal_tile_counts():
    # seq 1024, 128 x 64 tiles: query tile i visits 2i+2 key tiles, of which 2 are on the diagonal.
    visited, masked, nq = _causal_tiles(np.array([1024]), np.array([1024]), 128, 64, True, np.array([0]))
    assert (visited[0], masked[0], nq[0]) == (sum(2 * i + 2 for i in range(8)), 16, 8)


def test_causal_halves_flops_and_roughly_halves_time():
    shapes = Shapes.of(2, 16, 16, 8192, 8192)
    assert fa_flops(shapes, 128, 128, True)[0] == fa_flops(shapes, 128, 128, False)[0] / 2
    full, causal = one(H100, 2, 16, 16, 8192, 8192), one(H100, 2, 16, 16, 8192, 8192, causal=True)
    assert 0.5 < causal["latency_s"] / full["latency_s"] < 0.6


def test_wave_quantisation_costs_a_partial_wave():
    k = choose_kernel(H100, 128, 128, False, "fp16")
    assert k.ctas_per_sm == 1
    s = 8 * k.block_q
    fits = one(H100, 1, 16, 16, s, s)  # 16 heads x 8 query tiles = 128 CTAs: one wave on 132 SMs
    spills = one(H100, 1, 17, 17, s, s)  # 136 CTAs: a second wave for 4 CTAs
    assert fits["grid"]["waves"] == 1 and spills["grid"]["waves"] == 2
    # 6% more work, but close to twice the time.
    assert spills["latency_s"] > 1.6 * fits["latency_s"]


def test_gqa_cuts_decode_traffic():
    mha = one(H100, 8, 32, 32, 1, 16384)
    gqa = one(H100, 8, 32, 4, 1, 16384)
    assert gqa["hbm_bytes"] < mha["hbm_bytes"] / 6
    assert gqa["latency_s"] < mha["latency_s"] / 4


def test_fp8_speeds_up_compute_bound_prefill():
    f16, f8 = one(H100, 1, 16, 16, 16384, 16384, d=256), one(H100, 1, 16, 16, 16384, 16384, d=256, dtype="fp8")
    assert f8["latency_s"] < 0.75 * f16["latency_s"]


def test_three_pass_cascade_costs_more_than_one_pass():
    one_pass = one(H100, 4, 16, 16, 4096, 4096)
    three_pass = one(H100, 4, 16, 16, 4096, 4096, cascade="attention-3pass")
    assert three_pass["latency_s"] > 1.5 * one_pass["latency_s"]


def test_vectorised_sweep_is_fast_and_matches_scalar_calls():
    rng = np.random.default_rng(0)
    n = 5000
    b, h = rng.integers(1, 17, n), rng.choice([8, 16, 32], n)
    s = rng.choice([512, 1024, 4096, 16384], n)
    t0 = time.perf_counter()
    r = predict(H100, Shapes.of(b, h, h, s, s), d_qk=128, d_v=128, causal=True, dtype="bf16")
    assert time.perf_counter() - t0 < 1.0
    for i in (0, 17, 4999):
        assert one(H100, b[i], h[i], h[i], s[i], s[i], causal=True, dtype="bf16")["latency_s"] == pytest.approx(
            r.latency_s[i]
        )


def test_causal_decode_counts_every_key_and_mixed_vectors_keep_masks():
    # A decoding query (S=1) sees all S2 keys: FLOPs are not halved.
    shapes = Shapes.of([1, 2], [8, 8], [8, 8], [1, 4096], [4096, 4096])
    f = fa_flops(shapes, 128, 128, True)
    assert f[0] == 4 * 4096 * 128 * 8 and f[1] == 4 * 4096 * 4096 * 128 * 8 * 2 / 2
    # A packed decode shape in the same call must not switch the causal mask off for the prefill shape.
    mixed = predict(
        H100,
        Shapes.of([1, 2], [32, 16], [8, 16], [1, 8192], [8192, 8192]),
        d_qk=128,
        d_v=128,
        causal=True,
        dtype="fp16",
    )
    alone = one(H100, 2, 16, 16, 8192, 8192, causal=True)
    assert mixed.latency_s[1] == pytest.approx(alone["latency_s"])


def test_blackwell_tiles_fit_tensor_memory():
    for d in (64, 128, 256, 512):
        k = choose_kernel(B200, d, d, False, "fp16", family="cutlass")
        assert k.block_q * (k.block_kv + d) * 4 <= B200.sm.tensor_memory_bytes
    k128 = choose_kernel(B200, 128, 128, False, "fp16", family="cutlass")
    assert (k128.block_q, k128.block_kv) == (256, 128)  # the published FMHA tile fills TMEM exactly


def test_each_architecture_names_its_default_kernel_and_mma_class():
    assert (one(A100, 2, 16, 16, 4096, 4096)["kernel"].name, one(A100, 2, 16, 16, 4096, 4096)["kernel"].mma_class) == (
        "fa2",
        "mma_sync",
    )
    assert one(H100, 2, 16, 16, 4096, 4096)["kernel"].mma_class == "wgmma"
    b200 = one(B200, 2, 16, 16, 4096, 4096, dtype="bf16")
    assert (b200["kernel"].name, b200["kernel"].mma_class, b200["kernel"].schedule) == ("fa4", "tcgen05", "fa4")
    # FA4 has no fp8 path: the default falls through to the next kernel that takes fp8.
    assert one(B200, 2, 16, 16, 4096, 4096, dtype="fp8")["kernel"].name != "fa4"


def test_mma_sync_on_hopper_runs_at_its_class_rate():
    """FlashAttention-2 issues mma.sync, which reaches only the profile's fraction of H100's wgmma peak."""
    fa2, fa3 = one(H100, 2, 16, 16, 8192, 8192, kernel="fa2"), one(H100, 2, 16, 16, 8192, 8192, kernel="fa3")
    assert fa2["kernel"].mma_class == "mma_sync"
    assert fa2["tflops"] < 0.8 * fa3["tflops"]
    assert fa2["tflops"] < H100.tensor_rate("fp16", "mma_sync") / 1e12


def test_fa4_emulates_part_of_the_exps_and_beats_the_mufu_only_schedule_on_b200():
    fa4 = one(B200, 1, 16, 16, 32768, 32768, dtype="bf16", kernel="fa4")
    cutlass = one(B200, 1, 16, 16, 32768, 32768, dtype="bf16", kernel="cutlass")
    assert 0 < fa4["emulated_exp_fraction"] <= 0.5
    # the CUTLASS sm100 FMHA has FA4's warp roles (schedule `fa4`) but every exp on MUFU
    assert cutlass["kernel"].schedule == "fa4" and cutlass["emulated_exp_fraction"] == 0
    assert fa4["tflops"] > 1.03 * cutlass["tflops"]


def test_clock_scales_sm_rates_but_not_hbm():
    slow = load_target("h100", ["clock_hz=0.915e9"])
    assert slow.tensor_rate("fp16") == pytest.approx(H100.tensor_rate("fp16") / 2)
    assert slow.exp_rate() == pytest.approx(H100.exp_rate() / 2)
    prefill = one(slow, 2, 16, 16, 8192, 8192)["latency_s"] / one(H100, 2, 16, 16, 8192, 8192)["latency_s"]
    decode = one(slow, 16, 32, 8, 1, 8192)["latency_s"] / one(H100, 16, 32, 8, 1, 8192)["latency_s"]
    assert prefill == pytest.approx(2.0, rel=0.05)  # compute-bound: half the clock, twice the time
    assert decode < 1.2  # HBM-bound: the clock barely matters


def test_flashmla_query_tiles_read_each_key_block_together(capsys):
    """FlashMLA's decode grid (num_m_block, h_k, num_sm_parts) gives every m block of a partition the same key range:
    the cache leaves HBM once however little of it the L2 holds, and the work runs as one balanced wave."""
    from simulator.cli import main

    args = [
        "evaluate",
        "--target",
        "h800",
        "--cascade",
        "mla-absorbed",
        "--batch",
        "128",
        "--heads",
        "128",
        "--kv-heads",
        "1",
        "--seq",
        "2",
        "--kv-seq",
        "4096",
        "--head-dim",
        "512",
        "--dtype",
        "bf16",
        "--json",
    ]
    assert main(args + ["--kernel", "flashmla"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["grid"]["kv_reload"] == 1.0 and out["grid"]["waves"] == 1.0
    cache = 128 * 4096 * 576 * 2  # latent 512 + RoPE 64, bf16, once per sequence
    q_o_lse = 128 * 256 * (576 * 2 + 512 * 2 + 4)  # 128 heads x 2 tokens per sequence
    assert out["bytes_by_level"]["hbm"] == pytest.approx(cache + q_o_lse)


def test_fa2_overlaps_softmax_only_across_ctas():
    """FA2 syncs its CTA's warps before each key tile's two phases: at head dim 256 on an A100 (128 x 64, 128 KB of
    shared memory, one CTA per SM) GEMMs and softmax add up; at 128 on an H100 (two CTAs per SM) the sync overlap
    hides part."""
    from simulator.gpu.constants import FITTED
    from simulator.gpu.pipeline import tile_times
    from simulator.gpu.work import tile_work

    for gpu, d, ctas, hidden in ((A100, 256, 1, 0.0), (H100, 128, 2, FITTED.softmax_overlap)):
        k = choose_kernel(gpu, d, d, False, "fp16", family="fa2")
        assert k.ctas_per_sm == ctas
        t = tile_times(
            gpu, k, tile_work("attention-1pass", k.block_q, k.block_kv, (("E", d), ("F", d))), "fp16", d, d, FITTED
        )
        soft, gemm = t.exp + t.fp32, max(t.mma, t.smem)
        assert t.tile == pytest.approx(max(gemm, soft) + (1 - hidden) * min(gemm, soft))


def test_fa2_operand_traffic_through_shared_memory():
    """FA2's warps split the query rows only, so each reads the whole K and V tile from shared memory (plus its own
    Q rows, and the cp.async writes of K and V) at 128 bytes per clock: at head dim 256 on an H100 (64 x 64, four
    warps) that is 352 KB a key tile, more time than its MMAs; at head dim 128 (128 x 64) 192 KB, less. wgmma
    kernels pay none."""
    from simulator.gpu.constants import FITTED
    from simulator.gpu.pipeline import tile_times
    from simulator.gpu.work import tile_work

    for d, kib, binds in ((256, 352, True), (128, 192, False)):
        k = choose_kernel(H100, d, d, False, "fp16", family="fa2")
        t = tile_times(
            H100, k, tile_work("attention-1pass", k.block_q, k.block_kv, (("E", d), ("F", d))), "fp16", d, d, FITTED
        )
        assert t.smem == pytest.approx(kib * 1024 / (128 * H100.clock_hz))
        assert (t.smem > t.mma) is binds
    k = choose_kernel(H100, 128, 128, False, "fp16", family="fa3")
    t = tile_times(
        H100, k, tile_work("attention-1pass", k.block_q, k.block_kv, (("E", 128), ("F", 128))), "fp16", 128, 128, FITTED
    )
    assert t.smem == 0.0


def test_fa2_head_dim_256_tile_follows_the_shared_memory_per_sm():
    """flash_fwd_launch_template.h, run_mha_fwd_hdim256: 128 x 64 with 8 warps needs 128 KB per block and is taken
    only below 192 KB per SM (A100); an H100 (228 KB) runs 64 x 64 with 4 warps, two CTAs per SM (96 KB each), and
    the ~100 KB parts, too small for 128 KB, the same 64 x 64 (one CTA per SM)."""
    got = {
        name: choose_kernel(load_target(name), 256, 256, False, "fp16", family="fa2")
        for name in ("a100", "h100", "rtx4090")
    }
    assert [(k.block_q, k.block_kv, k.warps) for k in got.values()] == [(128, 64, 8), (64, 64, 4), (64, 64, 4)]
    assert [k.ctas_per_sm for k in got.values()] == [1, 2, 1]
    assert got["h100"].smem_bytes_per_cta == 2 * 256 * (64 + 2 * 64)


def _greedy_in_order(costs, groups, slots):
    """Exact greedy list scheduling: each CTA, in index order, on the first free slot."""
    import heapq

    free = [0.0] * slots
    for _ in range(groups):
        for c in costs:
            heapq.heappush(free, heapq.heappop(free) + c)
    return max(free)


@pytest.mark.parametrize(
    ("seq", "heads", "bq", "bkv", "slots"),
    [
        (512, 16, 128, 128, 132),
        (2048, 8, 128, 80, 132),
        (16384, 16, 128, 128, 132),
        (16384, 8, 128, 80, 132),
        (4096, 16, 128, 64, 216),
        (8192, 32, 128, 64, 264),
    ],
)
def test_in_order_makespan_follows_the_exact_dispatch(seq, heads, bq, bkv, slots):
    from simulator.gpu.model import in_order_makespan

    nq = seq // bq
    costs = np.array([np.ceil((i + 1) * bq / bkv) + 1.0 for i in range(nq)])
    groups = (16384 // seq) * heads
    ctas_per_sm = 2 if slots > 150 else 1
    sms = slots / ctas_per_sm
    got = in_order_makespan(costs[None, :], np.array([groups]), np.array([slots]), ctas_per_sm, sms)[0]
    exact = _greedy_in_order(list(costs * ctas_per_sm), groups, slots)  # co-resident CTAs share their SM
    assert got == pytest.approx(exact, rel=0.06)
    balanced = groups * costs.sum() / sms
    assert got > balanced  # the costliest tiles come last: a tail over the balanced load


def test_fa3_causal_pays_its_dispatch_tail(monkeypatch):
    """FA3's causal scheduler hands tiles out in index order, cheapest first: the long causal sequence costs more
    than the balanced waves a kernel without that order is given; non-causal shapes are unchanged."""
    import dataclasses

    from simulator.gpu import catalog

    s = Shapes.of(1, 8, 8, 16384, 16384)
    ordered = predict(H100, s, d_qk=256, d_v=256, causal=True, dtype="fp16", family="fa3").latency_s[0]
    dense = predict(H100, s, d_qk=256, d_v=256, causal=False, dtype="fp16", family="fa3").latency_s[0]
    monkeypatch.setitem(catalog.KERNELS, "fa3", dataclasses.replace(catalog.KERNELS["fa3"], in_order_causal=False))
    balanced = predict(H100, s, d_qk=256, d_v=256, causal=True, dtype="fp16", family="fa3").latency_s[0]
    assert ordered > 1.05 * balanced
    assert predict(H100, s, d_qk=256, d_v=256, causal=False, dtype="fp16", family="fa3").latency_s[0] == dense


def test_fa3_waits_for_q_only_past_the_last_pv_gemm_and_epilogue():
    """hopper/mainloop_fwd_sm90_tma_gmma_ws.hpp (5018ac6): the producer loads the next tile's Q after QueryEmpty,
    which the consumers arrive at before their last P V GEMM: a 64 KB Q (head dim 256) at the SM's share of HBM
    bandwidth outlasts that GEMM and the epilogue, a 32 KB one (head dim 128, 128 x 176) does not; FA4 has no wait."""
    from simulator.gpu.constants import FITTED
    from simulator.gpu.model import q_wait_s
    from simulator.gpu.pipeline import tile_times
    from simulator.gpu.work import tile_work

    def wait(gpu, d, family):
        k = choose_kernel(gpu, d, d, False, "fp16", family=family)
        w = tile_work("attention-1pass", k.block_q, k.block_kv, (("E", d), ("F", d)))
        t = tile_times(gpu, k, w, "fp16", d, d, FITTED)
        load = k.block_q * d * 2 / (gpu.hbm.bw_bytes_per_s * FITTED.hbm_efficiency / gpu.sm_count)
        return q_wait_s(gpu, k, w, t, d, d, 2.0, FITTED), load - t.mma / 2 - t.epilogue

    got, expected = wait(H100, 256, "fa3")
    assert got == pytest.approx(expected) and got > 0
    # FP8 (mma_fp8) arrives at QueryEmpty after its last P V GEMM: only the epilogue hides its 32 KB Q
    k8 = choose_kernel(H100, 256, 256, False, "fp8", family="fa3")
    w8 = tile_work("attention-1pass", k8.block_q, k8.block_kv, (("E", 256), ("F", 256)))
    t8 = tile_times(H100, k8, w8, "fp8", 256, 256, FITTED)
    load8 = k8.block_q * 256 / (H100.hbm.bw_bytes_per_s * FITTED.hbm_efficiency / H100.sm_count)
    assert q_wait_s(H100, k8, w8, t8, 256, 256, 1.0, FITTED) == pytest.approx(max(load8 - t8.epilogue, 0.0))
    assert wait(H100, 128, "fa3")[0] == 0.0
    assert wait(B200, 128, "fa4")[0] == 0.0
    # cuDNN on Hopper keeps two Q buffers (BUFFERS_Q = 2): no wait where they fit (head dim 128, 128 x 128 tiles:
    # 64 KB of Q + 128 KB of K/V), FA3's wait at head dim 256 (2 x 64 KB of Q + 160 KB of K/V > 228 KB); none on
    # Blackwell
    assert wait(H100, 128, "cudnn")[0] == 0.0
    got_cudnn, expected_cudnn = wait(H100, 256, "cudnn")
    assert got_cudnn == pytest.approx(expected_cudnn) and got_cudnn > 0
    assert wait(B200, 256, "cudnn")[0] == 0.0
    short, long = (
        predict(H100, Shapes.of(16384 // s, 8, 8, s, s), d_qk=256, d_v=256, causal=False, dtype="fp16")
        for s in (512, 16384)
    )
    per_tile = got / H100.sm_count * short.grid.ctas[0] / short.latency_s[0]
    assert 0.03 < per_tile < 0.1  # a few per cent of a 512-token launch
    assert got / H100.sm_count * long.grid.ctas[0] / long.latency_s[0] < 0.003


def test_cudnn_on_hopper_runs_its_open_kernel_structure(monkeypatch):
    """cudnn-frontend v1.19's open sm90 SDPA forward: 128 x 128 tiles at head dims 64 and 128 whatever the mask
    (`..._64x128x128_4x1x1`, two 64-row consumer warpgroups), tiles from an atomic counter in index order (in-order
    causal dispatch, as FA3's causal scheduler), two Q buffers (no wait for Q); FA3 keeps its own tiles."""
    from simulator.gpu.catalog import dispatches_in_order

    for d in (64, 128):
        for causal in (False, True):
            k = choose_kernel(H100, d, d, causal, "fp16", family="cudnn")
            assert (k.block_q, k.block_kv) == (128, 128)
    assert choose_kernel(H100, 128, 128, False, "fp16", family="fa3").block_kv == 176
    assert dispatches_in_order("cudnn", "hopper") and not dispatches_in_order("cudnn", "blackwell")
    import dataclasses

    from simulator.gpu import catalog

    s = Shapes.of(1, 16, 16, 16384, 16384)
    ordered = predict(H100, s, d_qk=128, d_v=128, causal=True, dtype="fp16", family="cudnn").latency_s[0]
    monkeypatch.setitem(catalog.KERNELS, "cudnn", dataclasses.replace(catalog.KERNELS["cudnn"], in_order_causal=False))
    assert ordered > 1.03 * predict(H100, s, d_qk=128, d_v=128, causal=True, dtype="fp16", family="cudnn").latency_s[0]


def test_cudnn_hopper_softmax_pays_a_separate_multiply_per_score(monkeypatch):
    """cuDNN's open sm90 forward forms the exp's argument with __fmul_rn then __fsub_rn (FA3: one FFMA), so a key
    tile costs one more FP32 op per score than FA3's with the same tile; not on Blackwell (no open code read)."""
    from simulator.gpu.constants import FITTED
    from simulator.gpu.pipeline import tile_times
    from simulator.gpu.work import tile_work

    def fp32_s(gpu, family):
        k = choose_kernel(gpu, 128, 128, True, "fp16", family=family)  # both 128 x 128 when causal
        w = tile_work("attention-1pass", k.block_q, k.block_kv, (("E", 128), ("F", 128)))
        return tile_times(gpu, k, w, "fp16", 128, 128, FITTED).fp32, k

    cudnn, k = fp32_s(H100, "cudnn")
    fa3, _ = fp32_s(H100, "fa3")
    assert cudnn - fa3 == pytest.approx(k.block_q * k.block_kv / (H100.fp32_ops_per_s() / H100.sm_count))
    import dataclasses

    from simulator.gpu import catalog

    on_b200, _ = fp32_s(B200, "cudnn")
    monkeypatch.setitem(catalog.KERNELS, "cudnn", dataclasses.replace(catalog.KERNELS["cudnn"], unfused_exp_scale=()))
    assert fp32_s(H100, "cudnn")[0] == pytest.approx(fa3)
    assert fp32_s(B200, "cudnn")[0] == on_b200


def test_cudnn_on_blackwell_runs_fa4s_warp_roles_without_the_polynomial():
    """cudnn-frontend's open sm100 forward: two softmax warpgroups, a correction warpgroup, exp2f on MUFU - the
    `fa4` schedule with no emulated exps, like the CUTLASS FMHA; on Hopper cuDNN keeps `pingpong`."""
    from simulator.gpu.constants import FITTED
    from simulator.gpu.pipeline import tile_times
    from simulator.gpu.work import tile_work

    k = choose_kernel(B200, 128, 128, False, "bf16", family="cudnn")
    assert (k.schedule, k.block_q, k.block_kv) == ("fa4", 256, 128)
    t = tile_times(
        B200, k, tile_work("attention-1pass", k.block_q, k.block_kv, (("E", 128), ("F", 128))), "bf16", 128, 128, FITTED
    )
    assert t.emulated_exp_fraction == 0.0
    assert choose_kernel(H100, 128, 128, False, "bf16", family="cudnn").schedule == "pingpong"


def test_shared_memory_bound_fa2_tile_says_so():
    """FA2 at head dim 256 on H100 reads more operand bytes through shared memory than its MMAs take (step 20):
    the bound names `smem` and its busy time is reported; at head dim 64 the MMAs still bound it, and the
    warp-specialised FA3 has no such traffic."""
    wide = one(H100, 2, 16, 16, 16384, 16384, d=256, kernel="fa2")
    assert wide["bound"] == "smem"
    assert wide["phases_s"]["smem"] > wide["phases_s"]["tensor"]
    narrow = one(H100, 2, 16, 16, 16384, 16384, d=64, kernel="fa2")
    assert narrow["bound"] != "smem" and 0 < narrow["phases_s"]["smem"] < narrow["phases_s"]["tensor"]
    assert one(H100, 2, 16, 16, 16384, 16384, d=256, kernel="fa3")["phases_s"]["smem"] == 0
