"""Golden numbers per built-in spatial target, against the FuseMax artifact's pregenerated results.

Source of every reference number: FPSG-UIUC/micro24-fusemax-artifact, data/pregenerated/attn-proposal.csv (FuseMax),
attn-flat.csv (FLAT), attn-unfused.csv (Unfused), attn-cascade.csv (1-pass cascade on FLAT's hardware) and
attn-stall_proposal.csv (FuseMax without the interleaved schedule): columns latency (s), traffic (DRAM bytes),
util_2d. Nayak et al., FuseMax, MICRO 2024, arXiv 2406.10491.
"""

import pytest

from simulator.evaluate import EvaluateRequest, evaluate


def run(target, workload="BERT", seq=1024, scope="attention"):
    return evaluate(EvaluateRequest(target=target, workload=workload, seq=seq, scope=scope))


# (workload, seq, latency_s, dram traffic bytes, util_2d) from attn-proposal.csv
FUSEMAX = [
    ("BERT", 1024, 0.002013140425531915, 402653184, 0.8896103896103895),
    ("TrXL", 16384, 0.6202215489361702, 8589934592, 0.985611510791367),
    ("XLM", 4096, 0.07641218723404256, 4294967296, 0.9671532846715328),
]


@pytest.mark.parametrize("workload,seq,latency_s,traffic,util_2d", FUSEMAX)
def test_fusemax_matches_artifact(workload, seq, latency_s, traffic, util_2d):
    r = run("fusemax", workload, seq)
    assert r["latency_s"] == pytest.approx(latency_s, rel=2e-3)
    assert r["bytes_by_level"]["dram"] == pytest.approx(traffic, rel=1e-9)
    assert r["utilization"]["pe2d"] == pytest.approx(util_2d, rel=2e-3)


def test_fusemax_long_sequence_keeps_2d_array_busy():
    # attn-proposal.csv XLM 1M: latency 4862.10858920851 s, util_2d 0.9961235757077412
    r = run("fusemax", "XLM", 1 << 20)
    assert r["latency_s"] == pytest.approx(4862.10858920851, rel=2e-3)
    assert r["utilization"]["pe2d"] > 0.99


# (workload, seq, latency_s, util_2d) from attn-flat.csv, lengths where FLAT's row block fits its buffer
FLAT = [("BERT", 1024, 0.013386076595744681, 0.125), ("BERT", 65536, 54.829369736170214, 0.125),
        ("XLM", 16384, 4.569114144680851, 0.25)]


@pytest.mark.parametrize("workload,seq,latency_s,util_2d", FLAT)
def test_flat_matches_artifact_while_rows_fit(workload, seq, latency_s, util_2d):
    r = run("flat", workload, seq)
    assert r["latency_s"] == pytest.approx(latency_s, rel=2e-3)
    assert r["utilization"]["pe2d"] == pytest.approx(util_2d, rel=1e-2)
    assert r["utilization"]["pe1d"] == pytest.approx(1.0, rel=1e-2)  # softmax on the 1D array is the bottleneck


def test_flat_spills_at_long_sequences():
    # attn-flat.csv BERT 256K: 1013.88 s, memory-bound (util_1d 0.865). Our spill model is costlier (documented
    # in docs/spatial.md): we check that FLAT becomes memory-bound and slower than its 1D-compute bound.
    r = run("flat", "BERT", 1 << 18)
    compute_bound_s = 1013.88 * 0.8652601055141864
    assert r["spilled_fraction"] > 0.5
    assert r["latency_s"] > compute_bound_s * 1.05
    assert r["groups"][0]["dram_s"] == pytest.approx(r["latency_s"])


def test_unfused_near_artifact():
    # attn-unfused.csv BERT 1K: latency 0.02182357659574468 s, traffic 6845104128 B
    r = run("unfused")
    assert r["latency_s"] == pytest.approx(0.02182357659574468, rel=0.1)
    assert r["bytes_by_level"]["dram"] == pytest.approx(6845104128, rel=0.15)


def test_flat_1pass_between_fusemax_and_flat():
    # attn-cascade.csv BERT 1K: 0.015333855319148937 s. The artifact charges FLAT's 1D PE exp and subtract in
    # series (2 cycles); our PE model runs distinct units in parallel (1 cycle), so we are faster. Same traffic.
    r = run("flat-1pass")
    assert r["bytes_by_level"]["dram"] == pytest.approx(402653184, rel=1e-9)
    assert 0.7 * 0.015333855319148937 < r["latency_s"] < 0.015333855319148937
    assert run("fusemax")["latency_s"] < r["latency_s"] < run("flat")["latency_s"]


def test_fusemax_unbound_is_the_sum_of_its_einsums():
    # Without interleaving, every Einsum waits for the one before: latency = sum of compute times. The artifact's
    # stall model (attn-stall_proposal.csv BERT 1K: 0.005987 s) adds pipeline stalls we do not model.
    r = run("fusemax-unbound")
    assert r["latency_s"] == pytest.approx(sum(e["compute_s"] for e in r["einsums"]), rel=1e-9)
    assert 1.5 * run("fusemax")["latency_s"] < r["latency_s"] < 0.005987131914893616
