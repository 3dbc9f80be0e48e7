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
    (BASE + ["--kernel", "fa9"], "choose one of fa2, fa3, fa4"),
    (BASE + ["--kernel", "fa3"], "choose one of fa2, flashinfer"),  # FA3 is Hopper-only
    (["evaluate", "--target", "b200", "--batch", "1", "--heads", "8", "--seq", "1024", "--head-dim", "256",
      "--kernel", "fa4"], "supports head dims up to 128"),
    (["evaluate", "--target", "h100", "--batch", "1", "--heads", "8", "--seq", "1", "--kv-seq", "4096", "--head-dim",
      "128", "--page-size", "100"], "--page-size 100 does not divide --kv-seq 4096"),
    (["evaluate", "--target", "h100", "--batch", "1", "--heads", "8", "--seq", "1", "--kv-seq", "1000", "--head-dim",
      "128", "--kernel", "flashinfer", "--page-size", "16"], "choose one of 40, 50, 100, 125, 200, 250, 500, 1000"),
    (BASE + ["--page-size", "64"], "multiple of 256"),  # FlashAttention-2's paged cache
])
def test_bad_options_are_one_line_errors(capsys, args, needle):
    assert main(args + ["--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and "Traceback" not in err and err.count("\n") == 1


def test_kernel_option_is_named_in_the_output(capsys):
    assert main(["evaluate", "--target", "h100", "--batch", "2", "--heads", "16", "--seq", "4096", "--head-dim",
                 "128", "--kernel", "fa2", "--json"]) == 0
    fa2 = json.loads(capsys.readouterr().out)
    assert (fa2["kernel"]["name"], fa2["kernel"]["family"], fa2["kernel"]["mma_class"]) == \
        ("fa2", "flashattention-2", "mma_sync")
    assert main(["evaluate", "--target", "h100", "--batch", "2", "--heads", "16", "--seq", "4096", "--head-dim",
                 "128", "--json"]) == 0
    fa3 = json.loads(capsys.readouterr().out)
    assert fa3["kernel"]["name"] == "fa3" and fa3["tflops"] > fa2["tflops"]


def test_set_clock_reaches_the_model(capsys):
    args = ["evaluate", "--target", "h100", "--batch", "2", "--heads", "16", "--seq", "8192", "--head-dim", "128"]
    assert main(args + ["--json"]) == 0
    full = json.loads(capsys.readouterr().out)
    assert main(args + ["--set", "clock_hz=1.2e9", "--json"]) == 0
    slow = json.loads(capsys.readouterr().out)
    assert slow["tflops"] == pytest.approx(full["tflops"] * 1.2 / 1.83, rel=0.05)
