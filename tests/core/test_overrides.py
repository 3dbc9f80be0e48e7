"""`--set PATH=VALUE`: any field of a target's spec by dotted path, validated again like a file, echoed back."""

import pytest

from hw.errors import SpecError
from hw.overrides import parse_overrides, parse_value
from hw.registry import load_target
from simulator.cli import main
from simulator.evaluate import EvaluateRequest, evaluate, evaluate_record


@pytest.mark.parametrize("text,value", [("8MiB", 8 * 2**20), ("1.5KiB", 1536), ("800e9", 800e9), ("128", 128),
                                        ("true", True), ("mac", "mac"), ("2GB", 2 * 10**9),
                                        ("[1, 2]", [1, 2]), ("{a: 1}", "{a: 1}")])
def test_values_are_read_with_size_suffixes(text, value):
    assert parse_value(text) == value and type(parse_value(text)) is type(value)


def test_set_changes_the_spec_and_nothing_else():
    base = load_target("fusemax")
    changed = load_target("fusemax", ["arrays.pe2d.rows=128", "global_buffer.capacity_bytes=8MiB",
                                      "dram.bw_bytes_per_s=800e9", "clock_hz=1.2e9"])
    assert changed.array("pe2d").rows == 128 and changed.array("pe2d").cols == base.array("pe2d").cols
    assert changed.global_buffer.capacity_bytes == 8 * 2**20 and changed.dram.bw_bytes_per_s == 800e9
    assert changed.clock_hz == 1.2e9 and base.array("pe2d").rows == 256  # the cached file model is untouched


def test_arrays_are_indexed_by_name_or_position():
    assert load_target("fusemax", {"arrays.1.cols": 128}).array("pe1d").cols == 128


@pytest.mark.parametrize("item,needle", [
    ("global_buffer.capcity_bytes=1", "valid: banks, bw_bytes_per_cycle, capacity_bytes, component, width_bits"),
    ("arrays.pe3d.rows=1", "valid: pe2d, pe1d"),
    ("nosuch=1", "valid: arrays, clock_hz"),
    ("arrays.pe2d.rows=0", "greater than 0"),
    ("clock_hz=true", "not True"),
    ("arrays.pe2d.rows", "PATH=VALUE"),
])
def test_bad_overrides_name_the_path_and_the_fix(item, needle):
    with pytest.raises(SpecError, match=needle):
        load_target("fusemax", [item])


def test_gpu_and_fpga_fields_are_settable():
    assert load_target("h100", ["sm_count=66", "hbm.bw_bytes_per_s=2e12"]).sm_count == 66
    assert load_target("zcu102", ["device.brams=100"]).device.brams == 100


def test_mapping_follows_the_array_so_a_smaller_array_needs_no_mapping_edit():
    small = ["arrays.pe2d.rows=128", "arrays.pe2d.cols=128", "arrays.pe1d.cols=128"]
    full = evaluate(EvaluateRequest(target="fusemax", workload="BERT", seq=4096))
    half = evaluate(EvaluateRequest(target="fusemax", workload="BERT", seq=4096, overrides=tuple(small)))
    # a quarter of the PEs: between 3x and 4x the latency (the buffer and DRAM do not shrink), less area
    assert 3 < half.latency_s / full.latency_s <= 4 and half.area_um2 < full.area_um2
    assert half.overrides == {"arrays.pe2d.rows": 128, "arrays.pe2d.cols": 128, "arrays.pe1d.cols": 128}
    assert full.overrides == {}


def test_bandwidth_override_moves_a_memory_bound_point():
    slow = evaluate_record(EvaluateRequest(target="flat", workload="BERT", seq=1 << 18,
                                           overrides={"dram.bw_bytes_per_s": "50e9"}))
    base = evaluate_record(EvaluateRequest(target="flat", workload="BERT", seq=1 << 18))
    assert slow["latency_s"] > 1.5 * base["latency_s"]


def test_cli_set_is_repeatable_and_echoed(capsys):
    import json

    rc = main(["evaluate", "--target", "fusemax", "--workload", "BERT", "--seq", "1024", "--set",
               "arrays.pe2d.rows=128", "--set", "clock_hz=1e9", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["overrides"] == {"arrays.pe2d.rows": 128, "clock_hz": 1e9}


def test_cli_unknown_path_is_one_line(capsys):
    rc = main(["evaluate", "--target", "fusemax", "--workload", "BERT", "--seq", "1024", "--set", "dram.bw=1"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "valid: bw_bytes_per_s, component, packing, width_bits" in err


def test_parse_overrides_accepts_target_prefix():
    assert parse_overrides(["target.clock_hz=1e9"])[0].path == "clock_hz"
