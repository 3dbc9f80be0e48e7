"""`--pass bwd|fwd+bwd` and `--value-dim` on GPU targets: FLOP convention, the backward constant's separate fit,
held-out backward error, one-line refusals, and forward results unchanged."""

import json

import pytest

from hw import load_target
from simulator.cli import main
from simulator.gpu.backward import BWD_FP32_OPS_PER_SCORE, backward_kernel, backward_times, bwd_flops, predict_backward
from simulator.gpu.calibrate import compare, fit_backward, load_points, mean_abs_error
from simulator.gpu.constants import FITTED
from simulator.gpu.model import Shapes, fa_flops

BASE = ["evaluate", "--target", "h100", "--batch", "2", "--heads", "16", "--seq", "4096", "--head-dim", "128", "--json"]


def run(capsys, *extra: str) -> dict:
    assert main(BASE + list(extra)) == 0
    return json.loads(capsys.readouterr().out)


def test_backward_flops_are_two_and_a_half_forward():
    s = Shapes.of(2, 16, 16, 4096, 4096)
    for causal in (False, True):
        assert bwd_flops(s, 128, 128, causal)[0] == pytest.approx(2.5 * fa_flops(s, 128, 128, causal)[0])
    # unequal head dims: five GEMMs, three over the Q-K dim and two over V's
    assert bwd_flops(s, 192, 128, False)[0] == pytest.approx(2 * 4096 * 4096 * (3 * 192 + 2 * 128) * 32)


def test_fwd_bwd_sums_the_passes(capsys):
    fwd, bwd, both = run(capsys), run(capsys, "--pass", "bwd"), run(capsys, "--pass", "fwd+bwd")
    assert both["latency_s"] == pytest.approx(fwd["latency_s"] + bwd["latency_s"])
    assert both["flops"] == pytest.approx(3.5 * fwd["flops"])
    assert bwd["flops"] == pytest.approx(2.5 * fwd["flops"])
    assert bwd["latency_s"] > 2.5 * fwd["latency_s"]  # the backward sustains less of the peak than the forward
    assert fwd["pass_latency_s"] == {"fwd": fwd["latency_s"]} and fwd["training_pass"] == "fwd"


def test_backward_constant_is_fitted_on_its_own_data():
    assert fit_backward() == pytest.approx(FITTED.bwd_mma_efficiency, rel=0.02)
    val = [p for p in load_points("validation") if p.training_pass == "bwd"]
    assert val
    fit_keys = {(p.kernel, p.head_dim, p.seq) for p in load_points("backward_fit")}
    assert not fit_keys & {(p.kernel, p.head_dim, p.seq) for p in val}


def test_held_out_backward_error():
    bwd = [r for r in compare(load_points("validation")) if r["pass"] == "bwd" and not r["approximate"]]
    rows = [r for r in bwd if r["target"] == "h100" and r["source"].startswith("FA3 paper")]
    assert len(rows) == 30  # the FA3 paper's H100 backward figure (the B200 point has an assumed shape)
    default = [r for r in rows if r["kernel"] != "flashattention-2"]
    assert mean_abs_error(default) < 0.12  # documented: FA3 hd64 7.9%, cuDNN 11.2% (docs/gpu.md)
    assert mean_abs_error(rows) < 0.10  # FA2 6.4%
    # flash-attention's benchmark_attn.py run on a stock-clocked H100 (2026): FA2 and cuDNN backward, both masks
    later = [r for r in bwd if r["target"] == "h100" and r["source"].startswith("WH8")]
    assert len(later) == 4 and mean_abs_error(later) < 0.08  # 3.6% (docs/gpu.md: cuDNN 3.7%, FA2 3.5%)
    # cudnn-frontend's H200 csv (cuDNN 9.19.1): the 16-bit backward is checked; its fp8 backward is a known gap
    h200 = [r for r in bwd if r["target"] == "h200" and r["dtype"] == "bf16" and r["window"] is None]
    assert len(h200) == 10 and mean_abs_error(h200) < 0.10
    # its sliding-window backward (gpt-oss, head dim 64, 1024 keys) is a known gap, +27-34% (docs/gpu.md)
    window = [r for r in bwd if r["target"] == "h200" and r["window"] == 1024]
    assert len(window) == 5 and 0.2 < mean_abs_error(window) < 0.4


def test_blackwell_backward_tile_fits_shared_memory():
    """The CUTLASS sm100 backward keeps S/P and dP in tensor memory and stages Q twice, dO and dS once: its
    128 x 128 tile at head dim 128 fits a B200's 228 KB (the Hopper-style count, P and dS both staged, does not)."""
    t = load_target("b200")
    k = backward_kernel(t, 128, 128, False, "bf16", "cutlass")
    assert (k.block_q, k.block_kv) == (128, 128) and k.smem_bytes_per_cta <= t.sm.smem_bytes
    hopper_style = 2 * (2 * 128 * 256 + 128 * 256 + 2 * 128 * 128)
    assert hopper_style > t.sm.smem_bytes


def test_warp_specialised_backward_hides_only_the_exp():
    """FA3's sm90 backward step: the exp runs under the dP GEMM; dS, the conversions and the stores run with the
    tensor cores idle. FA2's warps overlap only across CTAs, and its backward runs one CTA per SM: in series."""
    t = load_target("h100")
    fp32_sm = t.fp32_ops_per_s() / t.sm_count
    k = backward_kernel(t, 64, 64, False, "fp16", "fa3")
    b = backward_times(t, k, "fp16", 64, 64, FITTED)
    serial = (BWD_FP32_OPS_PER_SCORE - 1) * k.block_q * k.block_kv / fp32_sm
    assert b.tile >= b.mma + serial
    assert b.tile < b.mma + b.exp + b.fp32
    k2 = backward_kernel(t, 64, 64, False, "fp16", "fa2")
    b2 = backward_times(t, k2, "fp16", 64, 64, FITTED)
    assert k2.ctas_per_sm == 1
    assert b2.tile == pytest.approx(b2.mma + b2.exp + b2.fp32)


def test_backward_grows_with_sequence_and_causal_skips_tiles():
    t = load_target("h100")
    s = Shapes.of([32, 2], 16, 16, [512, 8192], [512, 8192])
    r = predict_backward(t, s, d_qk=128, d_v=128, causal=False, dtype="fp16")
    assert r.tflops[1] > r.tflops[0]
    c = predict_backward(t, s, d_qk=128, d_v=128, causal=True, dtype="fp16")
    assert c.latency_s[1] < r.latency_s[1]
    assert c.kernel.block_q == 64 and r.kernel.block_q == 80  # FA3's causal / non-causal backward tiles


def test_value_dim(capsys):
    out = run(capsys, "--head-dim", "192", "--value-dim", "128")
    assert out["shape"]["value_dim"] == 128
    assert out["flops"] == pytest.approx(2 * 4096 * 4096 * (192 + 128) * 32)
    assert "value_dim" not in run(capsys)["shape"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--pass", "sideways"], "choose one of fwd, bwd, fwd+bwd"),
        (["--pass", "bwd", "--kernel", "flashinfer"], "has no backward kernel; choose --kernel one of fa2, fa3"),
        (["--head-dim", "192", "--value-dim", "128", "--kernel", "fa2"], "--value-dim 128: --kernel fa2"),
        (["--value-dim", "100"], "--value-dim 100: fused attention kernels need a multiple of 8"),
    ],
)
def test_refusals(capsys, extra, needle):
    assert main(BASE + extra) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_bound_pass_option_still_works(capsys):
    assert main(["bound", "--help"]) == 0
    assert "--pass" in capsys.readouterr().out


def test_blackwell_backward_at_head_dims_192_128_takes_flashmlas_mla_tile():
    """FlashMLA fmha_cutlass_bwd_sm100.cu: 192/128 runs TileShape 64 x 128 x 192 x 128, which fits an SM (the
    128 x 128 tile, Q in two stages, does not)."""
    from simulator.gpu.backward import backward_kernel

    t = load_target("gb200")
    k = backward_kernel(t, 192, 128, False, "bf16", "cudnn")
    assert (k.block_q, k.block_kv) == (64, 128) and k.smem_bytes_per_cta <= t.sm.smem_bytes
    assert backward_kernel(t, 128, 128, False, "bf16", "cudnn").block_q == 128


def test_fp8_wgmma_backward_transposes_q_and_do_each_step():
    """wgmma takes 8-bit shared-memory operands K-major only, so an FP8 backward on Hopper transposes each step's Q
    and dO tiles (for dK = dS^T Q and dV = P^T dO) at the forward's V-transpose cost; not in bf16, not on
    Blackwell's tcgen05."""
    h100 = load_target("h100")
    k = backward_kernel(h100, 128, 128, False, "fp8", "cudnn")
    fp8 = backward_times(h100, k, "fp8", 128, 128, FITTED)
    free = backward_times(h100, k, "fp8", 128, 128, FITTED.with_values(fp8_transpose_ops_per_elem=0.0))
    ops = FITTED.fp8_transpose_ops_per_elem * k.block_q * 256
    assert fp8.fp32 - free.fp32 == pytest.approx(ops / (h100.fp32_ops_per_s() / h100.sm_count))
    bf16 = backward_times(h100, k, "bf16", 128, 128, FITTED)
    assert bf16.fp32 == pytest.approx(free.fp32)
    b200 = load_target("b200")
    kb = backward_kernel(b200, 128, 128, False, "fp8", "cudnn")
    assert backward_times(b200, kb, "fp8", 128, 128, FITTED).fp32 == pytest.approx(
        backward_times(b200, kb, "bf16", 128, 128, FITTED).fp32
    )
