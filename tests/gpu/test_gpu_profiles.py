"""The shipped GPU profiles load, carry the issue's cited figures, and reject typos."""

import pytest

from hw import SpecError, load_target
from hw.gpu import GpuTarget
from hw.registry import PROFILE_DIR


@pytest.mark.parametrize(("name", "sms", "fp16_tflops", "hbm_tb_s"), [
    # Issue 4 / datasheets: A100 108 SMs, 312 TF dense fp16, 2.04 TB/s; H100 SXM 132 SMs, 989 TF, 3.35 TB/s;
    # B200 148 SMs, 2.25 PF dense fp16, about 8 TB/s.
    ("a100", 108, 312, 2.039),
    ("h100", 132, 989.4, 3.35),
    ("b200", 148, 2250, 8.0),
])
def test_profiles_match_published_figures(name, sms, fp16_tflops, hbm_tb_s):
    t = load_target(name)
    assert isinstance(t, GpuTarget) and t.kind == "gpu"
    assert t.sm_count == sms
    assert t.tensor_flops_per_s["fp16"] == pytest.approx(fp16_tflops * 1e12, rel=1e-3)
    assert t.hbm.bw_bytes_per_s == pytest.approx(hbm_tb_s * 1e12, rel=1e-3)


def test_dtype_support_and_exp_rates():
    a100, h100, b200 = (load_target(n) for n in ("a100", "h100", "b200"))
    assert "fp8" not in a100.tensor_flops_per_s and "fp4" not in h100.tensor_flops_per_s
    assert b200.tensor_flops_per_s["fp4"] == pytest.approx(2 * b200.tensor_flops_per_s["fp8"])
    # CUDA Programming Guide: 16 exp2 per clock per SM on cc 8.0 and 9.0.
    for t in (a100, h100):
        assert t.exp_per_s / (t.sm_count * t.clock_hz) == pytest.approx(16, rel=1e-3)
    assert b200.sm.tensor_memory_bytes == 256 * 1024 and h100.sm.tensor_memory_bytes == 0


def test_unknown_key_is_an_error_naming_the_field(tmp_path):
    text = (PROFILE_DIR / "h100.yaml").read_text().replace("l2_bytes:", "l2_byte:")
    path = tmp_path / "typo.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match="l2_byte"):
        load_target(path)


def test_hopper_variants_keep_the_die_and_change_what_their_sources_say():
    h100, h200, h800 = (load_target(n) for n in ("h100", "h200", "h800"))
    assert h200.tensor_flops_per_s == h100.tensor_flops_per_s and h200.sm_count == h100.sm_count
    assert h200.hbm.bw_bytes_per_s == pytest.approx(4.8e12) and h200.hbm.capacity_bytes == pytest.approx(141e9)
    # FlashMLA deep dive: throttled to ~1600 MHz, "the practical peak FLOPs drops to ~865 TFlops".
    assert h800.tensor_rate("fp16") == pytest.approx(865e12, rel=0.01)


def test_instruction_classes():
    h100, a100 = load_target("h100"), load_target("a100")
    assert a100.mma_classes() == ("mma_sync",) and h100.mma_classes() == ("wgmma", "mma_sync")
    assert h100.tensor_rate("fp16", "mma_sync") < h100.tensor_rate("fp16", "wgmma")
