"""The mapspace restricted to the five built-in mappings (each bound to every value of its params, the best kept)
reproduces the FuseMax artifact's latencies at all 240 points: 5 designs x 4 models x 6 lengths x 2 scopes.

Reference: FPSG-UIUC/micro24-fusemax-artifact data/pregenerated/attn-*.csv and end2end-*.csv, copied verbatim under
benchmarks/data/fusemax-artifact/ (Nayak et al., FuseMax, MICRO 2024, arXiv 2406.10491). docs/spatial.md: FuseMax,
FLAT, flat-1pass and fusemax-unbound equal the artifact (ratio 1.000); Unfused is within 0.35 % (its kernels re-read
the queries once per 16K-key block where the artifact's Timeloop mapper moves a little less).
"""

import importlib.util
from pathlib import Path

import pytest

from simulator.evaluate import EvaluateRequest, evaluate_record
from simulator.workloads import FUSEMAX_SEQ_LENS, WORKLOADS

BENCH = Path(__file__).parents[2] / "benchmarks" / "fusemax_vs_flat.py"
spec = importlib.util.spec_from_file_location("fusemax_vs_flat", BENCH)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

TOLERANCE = {"fusemax": 2e-3, "flat": 2e-3, "flat-1pass": 2e-3, "fusemax-unbound": 2e-3, "unfused": 4e-3}


@pytest.mark.parametrize("design", bench.DESIGNS)
def test_builtin_mappings_reproduce_the_artifact_at_every_point(design):
    for scope in ("attention", "layer"):
        art = bench.artifact(scope)[design]
        for model in WORKLOADS:
            for seq in FUSEMAX_SEQ_LENS:
                r = evaluate_record(EvaluateRequest(target=design, workload=model, seq=seq, scope=scope))
                want = art[(model, bench._label(seq))]["latency_s"]
                assert r["latency_s"] == pytest.approx(want, rel=TOLERANCE[design]), (design, scope, model, seq)
                assert r["lower_bound_s"] <= r["latency_s"] * (1 + 1e-9)
