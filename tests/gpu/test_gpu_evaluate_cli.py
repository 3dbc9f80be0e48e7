"""`cascade evaluate` on gpu targets: the JSON keys and one-line errors naming the option and the fix."""

import json

import pytest

from simulator.cli import main

BASE = ["evaluate", "--target", "a100", "--cascade", "attention-1pass", "--batch", "4", "--heads", "16",
        "--seq", "2048", "--head-dim", "128"]


def test_json_keys(capsys):
    assert main(BASE + ["--causal", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("latency_s", "tflops", "bound", "utilization", "flops", "bytes_by_level", "kernel", "phases_s"):
        assert key in out
    assert out["bound"] in ("tensor", "exp", "fp32", "memory", "latency")
    assert set(out["utilization"]) >= {"tensor", "exp", "fp32", "hbm"}
    assert out["flops"] == 4 * 2048 * 2048 * 128 * 16 * 4 / 2  # FlashAttention convention, halved for causal
    assert out["tflops"] == pytest.approx(out["flops"] / out["latency_s"] / 1e12)
    assert out["kernel"]["family"] == "flashattention-2"


@pytest.mark.parametrize(("args", "needle"), [
    (["evaluate", "--target", "a100", "--batch", "1", "--seq", "64", "--head-dim", "64"], "--heads"),
    (BASE + ["--dtype", "fp4"], "--dtype fp4"),
    (BASE + ["--kv-heads", "5"], "--kv-heads 5 must divide"),
    (["evaluate", "--target", "h100", "--batch", "1", "--heads", "8", "--seq", "64", "--head-dim", "100"],
     "multiple of 8"),
    (["evaluate", "--target", "a100", "--batch", "4096", "--heads", "64", "--seq", "65536", "--head-dim", "128"],
     "HBM"),
    (BASE + ["--workload", "llama"], "--workload"),
])
def test_bad_options_are_one_line_errors(capsys, args, needle):
    assert main(args + ["--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and "Traceback" not in err and err.count("\n") == 1
