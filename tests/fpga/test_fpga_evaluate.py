"""`cascade evaluate` on FPGA targets: the engine estimate from synthesized unit costs, and its option checks."""

import json

import pytest

from simulator.cli import main
from simulator.errors import SimulatorError
from simulator.evaluate import EvaluateRequest, evaluate_record


def test_zcu102_vit_base_layer_reports_resources_and_latency():
    # Edge-MoE (Sarkar et al., ICCAD 2023) targets ViT on the ZCU102: 197 tokens, 12 heads of 64.
    result = evaluate_record(EvaluateRequest(target="zcu102", seq=197, heads=12, head_dim=64))
    assert result["kind"] == "fpga" and result["latency_s"] > 0
    assert result["flops"] == 4 * 197 * 197 * 64 * 12
    assert all(0 < u <= 1 for u in result["utilization"].values())
    assert result["engine"]["softmax_units"] >= 1 and result["engine"]["mac_lanes"] >= 1


def test_longer_sequences_take_longer():
    short = evaluate_record(EvaluateRequest(target="ecp5-85k", seq=256, heads=4, head_dim=64))["latency_s"]
    long = evaluate_record(EvaluateRequest(target="ecp5-85k", seq=1024, heads=4, head_dim=64))["latency_s"]
    assert long > 4 * short


def test_workload_supplies_the_shape():
    result = evaluate_record(EvaluateRequest(target="ecp5-85k", workload="BERT", seq=512))
    assert result["shape"] == {"batch": 64, "heads": 12, "seq": 512, "head_dim": 64}


@pytest.mark.parametrize("changes, option", [
    ({"causal": True}, "--causal"), ({"cascade": "linear-attention"}, "--cascade"), ({"head_dim": None}, "--head-dim"),
    ({"scope": "layer"}, "--scope"),
])
def test_unsupported_options_are_named(changes, option):
    request = {"target": "zcu102", "seq": 197, "heads": 12, "head_dim": 64, **changes}
    with pytest.raises(SimulatorError, match=option):
        evaluate_record(EvaluateRequest(**request))


def test_cli_json(capsys):
    assert main(["evaluate", "--target", "zcu102", "--seq", "197", "--heads", "12", "--head-dim", "64", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["target"] == "zcu102"
