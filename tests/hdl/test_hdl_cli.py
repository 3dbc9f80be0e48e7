"""`cascade hdl`: JSON keys, files written, one-line errors; one real synthesis run (the fast suite's only one)."""

import json

import pytest

from simulator.cli import main

KEYS = {"luts", "ffs", "dsps", "brams", "fmax_mhz", "max_error_lsb", "mean_error_lsb", "latency_cycles"}


def test_hdl_gelu_verify_json(tmp_path, capsys):
    assert main(["hdl", "gelu", "--method", "poly", "--out", str(tmp_path), "--verify", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= KEYS
    assert data["max_error_lsb"] <= 1.0 and data["hw_mismatches"] == 0
    assert data["luts"] is None  # no --synth: not measured, not invented
    assert (tmp_path / "gelu.v").exists() and (tmp_path / "gelu.il").exists()


def test_hdl_softmax_verify_json_with_vcd(tmp_path, capsys):
    args = ["hdl", "softmax", "--max-len", "16", "--out", str(tmp_path), "--verify", "--vcd", "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["out_format"] == "UQ1.15" and data["max_error_lsb"] <= 2.0 and data["hw_mismatches"] == 0
    assert data["latency_cycles"] > 16
    assert data["in_elements_per_cycle"] == 1.0 and data["out_elements_per_cycle"] > 0.98
    assert (tmp_path / "softmax.vcd").stat().st_size > 0


@pytest.mark.parametrize("args, needle", [
    (["hdl", "tanh"], "unknown unit 'tanh'"),
    (["hdl", "gelu", "--in-format", "Q7"], "--in-format"),
    (["hdl", "gelu", "--method", "relu6"], "unknown GELU method"),
    (["hdl", "softmax", "--max-len", "0"], "--max-len"),
    (["hdl", "gelu", "--synth", "ice40"], "--synth"),
    (["hdl", "softmax", "--out-format", "UQ1.31"], "--out-format: softmax resolves 1 to 16 fraction bits"),
    (["hdl", "softmax", "--max-len", "65536", "--synth", "ecp5"], "needs 128 block RAMs, the LFE5U-25K has 56"),
])
def test_hdl_bad_options_are_one_line_errors(tmp_path, capsys, args, needle):
    assert main([*args, "--out", str(tmp_path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and "Traceback" not in err


def test_hdl_unwritable_out_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["hdl", "gelu", "--out", str(blocker / "sub"), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out: cannot write") and "Traceback" not in err and err.count("\n") == 1


def test_hdl_gelu_synth_ecp5_reports_resources(tmp_path):
    """One real Yosys + nextpnr run (one seed) of the delivered gelu.v: Yosys and post-route counts, clock."""
    from hw.hdl.flow import run_hdl
    from simulator.commands.hdl import hdl_record

    data = hdl_record(run_hdl("gelu", out_dir=tmp_path, synth="ecp5", seeds=(1,)))
    assert data["luts"] > 50 and data["ffs"] > 50 and data["dsps"] == 0 and data["brams"] == 0
    assert data["pnr_lut4_sites"] >= data["lut4_cells"] and data["pnr_ffs"] >= data["ffs"] * 0.9
    assert 100.0 < data["fmax_mhz"] < 500.0
    assert data["synth_verilog"] == data["verilog"]  # measured on exactly the file delivered
    assert (tmp_path / "synth" / "gelu_pnr_seed1.json").exists()
    critical = (tmp_path / "synth" / "gelu_pnr_seed1_critical.txt").read_text()  # the path that sets the clock
    assert "clk-to-q" in critical and " ns" in critical.splitlines()[0]


@pytest.mark.slow
def test_hdl_softmax_synth_ecp5_measures_the_delivered_ecp5_verilog(tmp_path):
    from hw.hdl.flow import run_hdl
    from simulator.commands.hdl import hdl_record

    data = hdl_record(run_hdl("softmax", max_len=256, out_dir=tmp_path, synth="ecp5", seeds=(1,)))
    assert data["synth_verilog"] == str((tmp_path / "softmax_ecp5.v").resolve())
    assert data["brams"] == data["row_buffer_brams"] >= 1 and data["luts"] > 500 and data["fmax_mhz"] > 80.0
