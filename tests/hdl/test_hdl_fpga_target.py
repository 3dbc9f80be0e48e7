"""The `fpga` target kind, its two shipped profiles, and `fpga_attention_estimate`."""

import json
from pathlib import Path

import pytest

import hw
from hw.errors import SpecError
from simulator.errors import SimulatorError
from simulator.fpga import fpga_attention_estimate

DATA = json.loads((Path(hw.__file__).parent / "hdl" / "data" / "ecp5_units.json").read_text())
XCUP = json.loads((Path(hw.__file__).parent / "hdl" / "data" / "xcup_units.json").read_text())


def _measured(unit: str, data: dict = DATA, **match) -> dict:
    for row in data["units"]:
        if row["unit"] == unit and all(row.get(k) == v for k, v in match.items()):
            return row
    raise AssertionError(f"no measured {unit} {match} in the data file")


@pytest.mark.parametrize("name", ["ecp5-85k", "zcu102"])
def test_profiles_load_and_carry_the_measured_unit_costs(name):
    target = hw.load_target(name)
    assert target.kind == "fpga"
    soft = _measured("softmax", max_len=1024, in_format="Q7.8", out_format="UQ1.15")
    gelu = _measured("gelu", method="edge-moe", in_format="Q7.8", out_format="Q7.8")
    for key in ("latency_cycles",):  # simulated on the same Verilog, whatever the device
        assert getattr(target.units["softmax"], key) == soft[key], key
        assert getattr(target.units["gelu"], key) == gelu[key], key
    if name == "zcu102":  # resources: Yosys synth_xilinx -family xcup on the delivered Verilog
        soft = _measured("softmax", XCUP, max_len=1024, in_format="Q7.8", out_format="UQ1.15")
        gelu = _measured("gelu", XCUP, method="edge-moe", in_format="Q7.8", out_format="Q7.8")
        mac = _measured("mac", XCUP)
        assert (target.mac.luts_per_mac, target.mac.ffs_per_mac, target.mac.dsps_per_mac) == \
            (mac["luts"], mac["ffs"], mac["dsps"])
        assert target.clock_basis == "assumed" and target.units["softmax"].fmax_mhz is None
        assert (soft["synth_file"], gelu["synth_file"]) == ("softmax.v", "gelu.v")  # the files the tool writes
    else:
        assert (soft["synth_file"], gelu["synth_file"]) == ("softmax_ecp5.v", "gelu.v")
    for key in ("luts", "ffs", "dsps", "brams"):
        assert getattr(target.units["softmax"], key) == soft[key], key
        assert getattr(target.units["gelu"], key) == gelu[key], key
    if name == "ecp5-85k":
        assert target.units["softmax"].fmax_mhz == pytest.approx(soft["fmax_mhz"], abs=0.05)
        mac = _measured("mac")
        slowest = min(soft["fmax_mhz"], gelu["fmax_mhz"], mac["fmax_mhz"])
        assert slowest * 1e6 - 1e6 <= target.clock_hz <= slowest * 1e6  # the slowest unit's clock, rounded down
        assert target.mac.luts_per_mac == mac["luts"] and target.mac.dsps_per_mac == mac["dsps"]


def test_unknown_key_in_an_fpga_profile_is_an_error(tmp_path):
    text = (Path(hw.__file__).parent / "profiles" / "zcu102.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("clock_hz:", "clock_mhz: 1\nclock_hz:", 1))
    with pytest.raises(SpecError, match="clock_mhz"):
        hw.load_target(bad)


def test_attention_estimate_zcu102_balances_units_and_reports_resources():
    target = hw.load_target("zcu102")
    est = fpga_attention_estimate(target, seq=197, heads=12, head_dim=64)  # ViT-B/16 (Edge-MoE's workload)
    assert est.macs == 2 * 12 * 197 * 197 * 64
    assert est.softmax_units >= 1 and est.mac_lanes >= 1
    for key, used in est.resources.items():  # within the budget of each resource
        assert used <= getattr(target.device, key) * target.resource_budget + 1e-9
    # the balance point: neither side more than one softmax row-time away from the other
    assert abs(est.matmul_cycles - est.softmax_cycles) <= 2 * 197 + 200 + est.matmul_cycles * 0.1
    assert est.latency_s == pytest.approx(max(est.compute_s, est.memory_s))
    # LUTs are the softmax units' and the MAC lanes' (the units take a large share, cf. Edge-MoE, ICCAD 2023)
    sm = target.units["softmax"]
    assert est.resources["luts"] == est.softmax_units * sm.luts + est.mac_lanes * target.mac.luts_per_mac
    assert est.softmax_units * sm.luts > 0.1 * target.device.luts


def test_attention_estimate_scales_with_sequence_and_limits_clock_to_unit_fmax():
    target = hw.load_target("ecp5-85k")
    short = fpga_attention_estimate(target, seq=256, heads=4, head_dim=64)
    long = fpga_attention_estimate(target, seq=1024, heads=4, head_dim=64)
    assert long.latency_s > 10 * short.latency_s  # quadratic in seq
    assert short.clock_hz <= target.units["softmax"].fmax_mhz * 1e6
    longer = fpga_attention_estimate(target, seq=3000, heads=1, head_dim=64)  # rows beyond one EBR's 1024
    assert longer.resources["brams"] >= 3 * longer.softmax_units


def test_attention_estimate_rejects_bad_sizes():
    with pytest.raises(SimulatorError, match="seq must be a positive integer"):
        fpga_attention_estimate(hw.load_target("zcu102"), seq=0, heads=1, head_dim=64)
