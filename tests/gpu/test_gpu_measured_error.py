"""`measured_error` in a GPU result: the model's error on the measured points of the result's own validation set,
read from `validation_errors.json`, which must match a fresh comparison of the model with the data."""

import json

import pytest

from simulator.evaluate import EvaluateRequest, evaluate
from simulator.gpu.accuracy import ERRORS_FILE, error_rows
from simulator.gpu.calibrate import compare, load_points


def test_the_stored_errors_are_the_model_and_data_as_they_are():
    stored = json.loads(ERRORS_FILE.read_text())["rows"]
    fresh = error_rows()
    assert len(stored) == len(fresh) == len(load_points("validation"))
    for old, new in zip(stored, fresh, strict=True):
        assert old == new, f"{old} != {new}: rerun python benchmarks/gpu_validate.py --write-errors"


def _set_errors(name: str, head_dim: int, lo: int, hi: int) -> list[float]:
    points = tuple(p for p in load_points("validation")
                   if p.set_name() == name and p.head_dim == head_dim and lo <= p.seq <= hi)
    return [r["error"] for r in compare(points)]


def test_a_result_quotes_its_set_and_the_points_near_its_shape():
    r = evaluate(EvaluateRequest(target="h100", batch=32, heads=16, seq=512, head_dim=128, causal=True))
    m = r.measured_error
    assert m["set"] == "h100 fa3 fp16 causal prefill" and m["points"] == 18
    near = _set_errors(m["set"], 128, 256, 1024)  # head dim 128 at 512 and 1k: within a factor of two of 512
    assert m["near_points"] == len(near) == 2 and (m["near_length_min"], m["near_length_max"]) == (512, 1024)
    assert m["near_error_min"] == pytest.approx(min(near), abs=1e-4)
    assert m["near_error_max"] == pytest.approx(max(near), abs=1e-4)
    everything = [r["error"] for r in compare(tuple(p for p in load_points("validation") if p.set_name() == m["set"]))]
    assert m["mean_abs_error"] == pytest.approx(sum(map(abs, everything)) / len(everything), abs=1e-4)


def test_the_set_follows_kernel_pass_and_decode_and_says_when_nothing_was_measured():
    bwd = evaluate(EvaluateRequest(target="h200", batch=1, heads=64, kv_heads=8, seq=8192, head_dim=128,
                                   kernel="cudnn", dtype="fp8", training_pass="bwd")).measured_error
    assert bwd["set"] == "h200 cudnn fp8 non-causal prefill bwd" and bwd["near_error_min"] > 0.4  # gap 5
    fa2 = evaluate(EvaluateRequest(target="h100", batch=1, heads=16, seq=16384, head_dim=128, kernel="fa2"))
    assert fa2.measured_error["set"] == "h100 fa2 fp16 non-causal prefill"
    assert fa2.measured_error["near_length_min"] >= 8192  # the lengths near 16k only
    decode = evaluate(EvaluateRequest(target="h100", batch=1, heads=32, kv_heads=32, seq=1, kv_seq=16384,
                                      head_dim=128, kernel="fa2")).measured_error
    assert decode["set"] == "h100 fa2 fp16 non-causal decode" and decode["near_length"] == "kv_seq"
    assert 8192 <= decode["near_length_min"] <= decode["near_length_max"] <= 32768
    unseen = evaluate(EvaluateRequest(target="l40s", batch=2, heads=16, seq=4096, head_dim=128))
    assert unseen.measured_error == {"set": "l40s fa2 fp16 non-causal prefill", "points": 0}


def test_a_windowed_result_quotes_the_nearest_measured_window():
    """H200's measured window is 1024 keys: a 128-key window on the H200 quotes it, and says so."""
    m = evaluate(EvaluateRequest(target="h200", cascade="attention-sliding-window", window=128, batch=2, heads=64,
                                 kv_heads=8, seq=8192, head_dim=64, kernel="cudnn", dtype="bf16")).measured_error
    assert m["set"] == "h200 cudnn bf16 sliding-window prefill" and m["near_window"] == 1024
    assert (m["near_length_min"], m["near_length_max"]) == (4096, 16384)
    plain = evaluate(EvaluateRequest(target="h100", batch=4, heads=16, seq=4096, head_dim=128)).measured_error
    assert "near_window" not in plain and plain["points"] > 0



def test_runs_measured_here_are_quoted_beside_the_published_points(tmp_path, monkeypatch):
    """A `--measure --out` run kept in data/measured/ gets its own entry under `measured_here`."""
    from functools import partial

    from simulator.gpu import accuracy, calibrate

    run = {"summary": {"profile": "h100", "backend": "flash", "device": "NVIDIA H100 80GB HBM3", "dtype": "fp16"},
           "rows": [{"kernel": "fa2", "batch": 4, "heads": 16, "kv_heads": 16, "seq": 4096, "kv_seq": 4096,
                     "head_dim": 128, "causal": False, "measured_tflops": 350.0}]}
    (tmp_path / "run.json").write_text(json.dumps(run))
    monkeypatch.setattr(calibrate, "measured_points", partial(calibrate.measured_points, tmp_path))
    monkeypatch.setattr(accuracy, "ERRORS_FILE", tmp_path / "errors.json")
    calibrate.load_points.cache_clear()
    accuracy._by_set.cache_clear()
    try:
        accuracy.write_errors()
        request = EvaluateRequest(target="h100", batch=4, heads=16, seq=4096, head_dim=128, kernel="fa2")
        result = evaluate(request)
        m = result.measured_error
        assert m["set"] == "h100 fa2 fp16 non-causal prefill" and m["points"] == 18
        here = m["measured_here"]
        assert here["set"].endswith("(torch SDPA, measured here)") and here["points"] == 1
        assert here["near_error_min"] == pytest.approx(result.tflops / 350.0 - 1, abs=1e-4)
    finally:
        calibrate.load_points.cache_clear()
        accuracy._by_set.cache_clear()
