"""The critical-path text written beside each nextpnr report (`hw/hdl/timing.py`)."""

import json

from hw.hdl.timing import critical_paths, format_paths, main


def _report(tmp_path):
    def step(kind, delay, a, b):
        return {"type": kind, "delay": delay, "from": {"cell": a}, "to": {"cell": b}}

    chain = "acc_TRELLIS_FF_Q_DI_CCU2C" + "_COUT_CIN" * 20
    path = [step("clk-to-q", 0.5, "ff_a", "ff_a"), step("routing", 1.0, "ff_a", chain + "0"),
            step("logic", 0.2, chain + "0", chain + "1"), step("routing", 0.0, chain + "1", chain + "2"),
            step("logic", 0.1, chain + "2", chain + "3"), step("routing", 0.8, chain + "3", "ff_b"),
            step("setup", 0.1, "ff_b", "ff_b")]
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"critical_paths": [{"from": "clk", "to": "clk", "path": path}]}))
    return report


def test_critical_path_total_and_merged_carry_chain(tmp_path):
    (p,) = critical_paths(_report(tmp_path))
    assert abs(p.delay_ns - 2.7) < 1e-9 and len(p.steps) == 7
    lines = format_paths((p,)).splitlines()
    assert lines[0] == "clk -> clk: 2.700 ns"
    assert len(lines) == 1 + 5  # the chain's two logic steps and the zero routing between them are one line
    assert "logic x2" in lines[3] and "..." in lines[3] and len(lines[3]) < 260


def test_timing_script_prints_a_report_and_refuses_a_missing_one(tmp_path, capsys):
    assert main([str(_report(tmp_path))]) == 0
    assert "clk-to-q" in capsys.readouterr().out
    assert main([str(tmp_path / "none.json")]) == 2
    assert "no nextpnr report" in capsys.readouterr().err
