"""`--energy-convention artifact` reproduces the FuseMax artifact's energies (its pregenerated CSVs,
benchmarks/data/fusemax-artifact/, copies of FPSG-UIUC/micro24-fusemax-artifact v1.0 data/pregenerated/); the
default `physical` convention charges every PE's register file; latency is the same under both."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from statistics import mean

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from fusemax_vs_flat import _label, artifact  # noqa: E402

from mappers.errors import MappingError  # noqa: E402
from simulator.errors import SimulatorError  # noqa: E402
from simulator.evaluate import EvaluateRequest, evaluate, evaluate_record  # noqa: E402
from simulator.spatial.convention import overflow_reads  # noqa: E402
from simulator.workloads import FUSEMAX_SEQ_LENS, WORKLOADS  # noqa: E402

POINTS = [(m, s) for m in WORKLOADS for s in FUSEMAX_SEQ_LENS]
#: the goal of issue 12: every point's energy within 2 % of the artifact's, both designs, both scopes (measured,
#: docs/spatial.md: FuseMax within 0.48 %, FLAT within 0.34 %)
BOUND = 0.02


def _run(target, model, seq, scope, convention):
    return evaluate_record(EvaluateRequest(target=target, workload=model, seq=seq, scope=scope,
                                           energy_convention=convention))


@pytest.fixture(scope="module", params=["attention", "layer"])
def table(request):
    scope = request.param
    art = artifact(scope)
    rows = []
    for model, seq in POINTS:
        row = {"model": model, "seq": seq, "ref": {d: art[d][(model, _label(seq))] for d in ("fusemax", "flat")}}
        for conv in ("physical", "artifact"):
            row[conv] = {d: _run(d, model, seq, scope, conv) for d in ("fusemax", "flat")}
        rows.append(row)
    return scope, rows


def test_artifact_convention_matches_the_artifact_per_point(table):
    scope, rows = table
    for design in ("fusemax", "flat"):
        errors = {(r["model"], r["seq"]): r["artifact"][design]["energy_j"] / r["ref"][design]["energy_j"] - 1
                  for r in rows}
        worst = max(errors, key=lambda k: abs(errors[k]))
        assert abs(errors[worst]) <= BOUND, (scope, design, worst, errors[worst])


def test_artifact_convention_means_are_the_papers(table):
    # paper (Nayak et al., FuseMax, MICRO 2024, abstract): FuseMax at 79 % of FLAT's energy on attention, 83 % end to
    # end; the artifact's CSVs give 78.7 % and 83.3 % as 24-point means
    scope, rows = table
    ours = mean(r["artifact"]["fusemax"]["energy_j"] / r["artifact"]["flat"]["energy_j"] for r in rows)
    ref = mean(r["ref"]["fusemax"]["energy_j"] / r["ref"]["flat"]["energy_j"] for r in rows)
    paper = {"attention": 0.79, "layer": 0.83}[scope]
    assert ours == pytest.approx(ref, abs=0.002)  # measured: 78.8 % vs 78.7 %, 83.3 % vs 83.3 %
    assert ours == pytest.approx(paper, abs=0.005)


def test_latency_and_compute_do_not_depend_on_the_convention(table):
    _, rows = table
    for r in rows:
        for design in ("fusemax", "flat"):
            phys, conv = r["physical"][design], r["artifact"][design]
            assert conv["latency_s"] == pytest.approx(phys["latency_s"], rel=1e-12)
            assert conv["latency_s"] == pytest.approx(r["ref"][design]["latency_s"], rel=1e-6)
            assert conv["energy_j_by_component"]["compute"] == pytest.approx(
                phys["energy_j_by_component"]["compute"], rel=1e-12)
            # every PE's register file against one PE's
            assert phys["energy_j_by_component"]["register_file"] > 100 * conv["energy_j_by_component"][
                "register_file"]
            assert conv["energy_convention"] == "artifact" and phys["energy_convention"] == "physical"


def test_flat_overlay_streams_and_forwards():
    # FuseMax has no overlay: same traffic under both conventions; FLAT's overlay streams Q, K, V past the buffer
    # at 1K (more DRAM, less buffer traffic) and SD takes SN from the PE
    fm = [_run("fusemax", "BERT", 1024, "attention", c) for c in ("physical", "artifact")]
    assert fm[0]["bytes_by_level"] == fm[1]["bytes_by_level"]
    fl = [_run("flat", "BERT", 1024, "attention", c) for c in ("physical", "artifact")]
    assert fl[1]["bytes_by_level"]["dram"] > fl[0]["bytes_by_level"]["dram"]
    assert fl[1]["bytes_by_level"]["global_buffer"] < fl[0]["bytes_by_level"]["global_buffer"]
    sd = [next(e for e in r["einsums"] if e["einsum"] == "SD") for r in fl]
    assert sd[1]["buffer_bytes"] < sd[0]["buffer_bytes"]


def test_other_kinds_refuse_the_convention():
    with pytest.raises(SimulatorError, match="energy-convention"):
        evaluate(EvaluateRequest(target="a100", seq=1024, energy_convention="artifact"))


def test_bad_convention_is_one_line_exit_2():
    root = Path(__file__).parents[2]
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "evaluate", "--target", "fusemax", "--workload",
                           "BERT", "--seq", "1024", "--energy-convention", "paper"], capture_output=True, text=True,
                          cwd=root)
    assert proc.returncode == 2
    assert "energy-convention" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_convention_is_a_sweep_axis():
    from simulator.sweep.axes import request_fields

    assert "energy_convention" in request_fields()


def test_timeloop_partition_overflow_reads():
    # Timeloop's partition size (tensor x tile / tile in 64-bit unsigned, NVlabs/timeloop src/loop-analysis/
    # tiling.cpp ComputePartitionSizes) wraps at 2**64: FLAT's QK at BERT 64K (768 x 64K x 64K scores, a tile of
    # 256 rows x 64K keys) loses its first-read elision, BERT 16K (1024 x 16K tile) keeps it
    assert overflow_reads(768 * 65536 * 65536, 256 * 65536) == 768 * 65536 * 65536
    assert overflow_reads(768 * 16384 * 16384, 1024 * 16384) == 0
    assert overflow_reads(3, 0) == 0
    # a product that wraps to a non-zero remainder: the wrapped partition is what is left
    assert overflow_reads(2**63 + 1, 2) == 2**63 + 1 - ((2**64 + 2) % 2**64) // 2


def test_flat_follows_the_artifacts_choices_per_point():
    # flat_validation.csv: BERT 1K 'head' granularity (all P rows) with the scores on chip; 64K rows of 256 and AV
    # on chip; 256K rows of 1024, scores off chip and weight-stationary; XLM 1K keeps V on chip
    def dataflow(model, seq):
        request = EvaluateRequest(target="flat", workload=model, seq=seq, energy_convention="artifact")
        return evaluate_record(request)

    assert dataflow("BERT", 1024)["mapping_params"] == {"scores": "buffer", "rows": 1024}
    assert dataflow("BERT", 4096)["mapping_params"] == {"scores": "buffer", "rows": 4096}
    assert dataflow("BERT", 65536)["mapping_params"] == {"scores": "buffer", "rows": 256}
    assert dataflow("BERT", 262144)["mapping_params"] == {"scores": "dram", "rows": 1024}
    from simulator.shape import AttentionShape
    from simulator.spatial.convention import dataflow_for

    def shape(heads, seq, dim):
        return AttentionShape(batch=64, heads=heads, kv_heads=heads, seq=seq, kv_seq=seq, head_dim=dim,
                              value_dim=dim)

    xlm = dataflow_for("artifact", "flat", shape(16, 1024, 128))
    assert xlm.stream["QK"] == {"Q", "K"} and xlm.stream["AV"] == {"AV"}
    bert = dataflow_for("artifact", "flat", shape(12, 65536, 64))
    assert bert.stream["AV"] == {"V"} and "QK" not in bert.einsums  # AV on chip; QK output-stationary as mapped
    assert bert.einsums["AV"]["loop_order"] == ["p", "f", "m"]
    long = dataflow_for("artifact", "flat", shape(12, 262144, 64))
    assert long.stream["QK"] == {"K", "QK"} and long.einsums["QK"]["loop_order"] == ["m", "e", "p"]
    # a shape the artifact did not evaluate falls back to the overlay's stream rules
    other = dataflow_for("artifact", "flat", shape(12, 3000, 64))
    assert other.point == "" and other.rules


def test_bad_overlay_is_one_line(tmp_path, monkeypatch):
    import simulator.spatial.convention as convention
    from simulator.shape import AttentionShape

    src = Path(convention.OVERLAY_DIR)
    (tmp_path / "flat_validation.csv").write_text((src / "flat_validation.csv").read_text())
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "linear.yaml").write_text((src / "shared" / "linear.yaml").read_text())
    text = (src / "flat.yaml").read_text().replace("values: {head: P, row: $P1}", "values: {row: $P1}")
    (tmp_path / "flat.yaml").write_text(text)
    monkeypatch.setattr(convention, "OVERLAY_DIR", tmp_path)
    bert = AttentionShape(batch=64, heads=12, kv_heads=12, seq=1024, kv_seq=1024, head_dim=64, value_dim=64)
    with pytest.raises(MappingError, match="fusion_granularity = 'head' has no entry"):
        convention.dataflow_for("artifact", "flat", bert)
