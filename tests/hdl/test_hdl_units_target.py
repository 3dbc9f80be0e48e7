"""The `hdl` target kind: `cascade evaluate --target ecp5-25-units --unit gelu ...` builds, verifies and
synthesizes one unit, so sweeps explore the units (examples/sweeps/gelu-methods.yaml)."""

import pytest

from cascade_base.errors import InputError
from simulator.evaluate import EvaluateRequest, evaluate_record
from simulator.sweep.spec import load_sweep


def request(**kw):
    return EvaluateRequest(target="ecp5-25-units", **kw)


@pytest.mark.parametrize("kw, says", [
    (dict(), "--unit is required"),
    (dict(unit="gelu", seq=1024), "not used by hdl targets"),
    (dict(unit="gelu", method="cordic"), "choose one of: edge-moe, poly, i-gelu"),
    (dict(unit="softmax", method="poly"), "softmax has one method"),
    (dict(unit="relu"), "--unit"),
    (dict(unit="gelu", in_format="Q9"), "--in-format"),
])
def test_bad_options_are_one_line_errors(kw, says):
    with pytest.raises(InputError, match=says.replace("(", r"\(")):
        evaluate_record(request(**kw))


def test_other_kinds_refuse_unit_options():
    with pytest.raises(InputError, match="--unit: not used by gpu targets"):
        evaluate_record(EvaluateRequest(target="h100", unit="gelu", seq=1024, batch=1, heads=1, head_dim=64))


def test_gelu_methods_example_is_a_valid_sweep():
    spec = load_sweep("gelu-methods")
    points = spec.points()
    assert len(points) == 9 and {p["method"] for p in points} == {"edge-moe", "poly", "i-gelu"}
    assert all(p["unit"] == "gelu" and p["in_format"] == p["out_format"] for p in points)


@pytest.mark.slow
def test_one_unit_is_built_checked_and_synthesized(tmp_path, monkeypatch):
    monkeypatch.setenv("CASCADE_CACHE_DIR", str(tmp_path / "cache"))
    rec = evaluate_record(request(unit="gelu", method="edge-moe", overrides=("seeds=[1]",)))
    assert rec["kind"] == "hdl" and rec["hw_mismatches"] == 0
    assert 0 < rec["max_error_lsb"] < 1.0  # edge-moe Q7.8: within one LSB of exact-erf GELU (docs/hdl.md)
    assert rec["luts"] >= rec["lut4_cells"] > 0 and rec["ffs"] > 0 and rec["fmax_mhz_by_seed"] == [rec["fmax_mhz"]]
    assert rec["latency_s"] == pytest.approx(rec["latency_cycles"] / (rec["fmax_mhz"] * 1e6))
    assert rec["overrides"] == {"seeds": [1]}
    again = evaluate_record(request(unit="gelu", method="edge-moe", overrides=("seeds=[1]",)))
    assert again == rec  # the memo: the same measurement, not a second synthesis
