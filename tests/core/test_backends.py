"""One backend per kind: options a kind cannot use are refused by name; one meaning of --causal; typed results."""

import dataclasses
import math

import pytest

from cascade_base.errors import InputError
from mappers.errors import MappingError
from simulator.errors import SimulatorError
from simulator.evaluate import EvaluateRequest, evaluate, evaluate_record
from simulator.output import jsonable

GPU = {"target": "h100", "batch": 2, "heads": 16, "seq": 4096, "head_dim": 128}
SPATIAL = {"target": "fusemax", "workload": "BERT", "seq": 4096}
FPGA = {"target": "zcu102", "seq": 197, "heads": 12, "head_dim": 64}


@pytest.mark.parametrize("base,option,value", [
    (SPATIAL, "kv_heads", 2), (FPGA, "cascade", "attention-2pass"), (FPGA, "causal", True),
    (GPU, "workload", "BERT"), (GPU, "mapping", "fusemax"), (FPGA, "mapping", "fusemax"), (GPU, "search", True),
    (FPGA, "energy_convention", "artifact"),
])
def test_an_option_a_kind_cannot_use_is_refused_by_name(base, option, value):
    with pytest.raises(SimulatorError, match=f"--{option.replace('_', '-')}: not used by"):
        evaluate(EvaluateRequest(**base, **{option: value}))


def test_a_value_a_kind_cannot_use_names_the_option_and_the_valid_one():
    with pytest.raises(SimulatorError, match="--scope: Input should be 'attention'"):
        evaluate(EvaluateRequest(**GPU, scope="layer"))


def test_required_options_are_named():
    with pytest.raises(SimulatorError, match="--head-dim is required on gpu targets"):
        evaluate(EvaluateRequest(target="h100", batch=1, heads=8, seq=1024))


@pytest.mark.parametrize("base", [GPU, SPATIAL])
def test_causal_flag_and_causal_cascade_mean_the_same(base):
    flag = evaluate(EvaluateRequest(**base, causal=True))
    cascade = evaluate(EvaluateRequest(**base, cascade="attention-causal"))
    dense = evaluate(EvaluateRequest(**base))
    assert flag.cascade == cascade.cascade == "attention-causal"
    assert flag.latency_s == cascade.latency_s and flag.flops == cascade.flops < dense.flops


def test_causal_on_a_cascade_without_a_causal_form_fails_clearly():
    with pytest.raises(SimulatorError, match="no causal mask"):
        evaluate(EvaluateRequest(**GPU, cascade="attention-3pass", causal=True))


def test_unknown_cascade_is_reported_as_such_on_a_spatial_target():
    with pytest.raises(InputError, match="unknown cascade 'nosuch'"):
        evaluate(EvaluateRequest(**SPATIAL, cascade="nosuch"))


def test_a_mapping_for_other_einsums_names_them():
    with pytest.raises(MappingError, match=r"no entry for its Einsums \['K', 'V', 'BQR', 'BS'\]"):
        evaluate(EvaluateRequest(**SPATIAL, cascade="mla", mapping="fusemax"))


def test_mla_head_dims_come_from_roles_not_the_name(tmp_path):
    from einsum_cascades.library import BUILTIN_DIR

    renamed = tmp_path / "my-latent-attention.yaml"
    renamed.write_text((BUILTIN_DIR / "mla-absorbed.yaml").read_text().replace("name: mla-absorbed", "name: mine"))
    shape = {**GPU, "head_dim": 512, "kv_heads": 1}
    by_name = evaluate(EvaluateRequest(**shape, cascade="mla-absorbed"))
    by_file = evaluate(EvaluateRequest(**shape, cascade=str(renamed)))
    assert by_name.flops == by_file.flops and by_name.latency_s == pytest.approx(by_file.latency_s)
    mha = evaluate(EvaluateRequest(**GPU))  # head dim 128: d_qk + d_v = 256; MLA absorbed: (512 + 64) + 512
    assert by_name.flops / mha.flops == pytest.approx((512 + 64 + 512) / 256)


@pytest.mark.parametrize("base", [GPU, SPATIAL, FPGA])
def test_results_are_frozen_dataclasses_and_json_is_made_at_the_edge(base):
    result = evaluate(EvaluateRequest(**base))
    assert dataclasses.is_dataclass(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.latency_s = 0.0
    record = evaluate_record(EvaluateRequest(**base))
    assert record["latency_s"] == result.latency_s and record["kind"] == result.kind


def test_non_finite_numbers_are_refused_not_printed():
    @dataclasses.dataclass(frozen=True)
    class Bad:
        latency_s: float

    with pytest.raises(SimulatorError, match="result.latency_s is inf"):
        jsonable(Bad(math.inf))
