"""The exported Verilog under cocotb with Icarus Verilog (Debian's `iverilog`; `.ci/run` installs it), driven by
random gaps, bursty backpressure and a reset mid-row (`tests/hdl/cocotb/stream_tb.py`), against the models.
Set CASCADE_TB_WAVES=1 to keep a waveform (`build/*.fst` under the test's tmp folder)."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from hw.hdl.export import export
from hw.hdl.fixed import parse_format

cocotb_tools = pytest.importorskip("cocotb_tools.runner", reason="cocotb not installed (pip install -e '.[dev]')")
pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None,
                                reason="iverilog not on PATH (Debian: apt-get install iverilog)")
TB = Path(__file__).parent / "cocotb"
Q78, UQ115 = parse_format("Q7.8"), parse_format("UQ1.15")


def _run(tmp_path: Path, dut, top: str, case: dict, stem: str | None = None, models: tuple[Path, ...] = ()) -> None:
    from cocotb_tools.check_results import get_results

    files = export(dut, top, tmp_path / "rtl", stem=stem)
    (tmp_path / "case.json").write_text(json.dumps(case))
    runner = cocotb_tools.get_runner("icarus")
    waves = bool(os.environ.get("CASCADE_TB_WAVES"))
    runner.build(sources=[files.verilog_path, *models], hdl_toplevel=top, build_dir=tmp_path / "build", always=True,
                 timescale=("1ns", "1ps"), waves=waves)
    results = runner.test(hdl_toplevel=top, test_module="stream_tb", test_dir=TB, build_dir=tmp_path / "build",
                          extra_env={"CASCADE_TB_CASE": str(tmp_path / "case.json")}, waves=waves,
                          results_xml=str(tmp_path / "results.xml"))
    total, failed = get_results(results)
    assert total == 1 and failed == 0


def test_gelu_verilog_under_cocotb(tmp_path):
    from hw.hdl.gelu import Gelu
    from hw.hdl.gelu_model import gelu_model, plan_gelu

    plan = plan_gelu("edge-moe", Q78, Q78)
    raw = np.concatenate([[Q78.min_raw, Q78.max_raw, 0, -1], np.random.default_rng(1).integers(-32768, 32768, 400)])
    want = [int(v) & 0xFFFF for v in gelu_model(plan, raw)]
    _run(tmp_path, Gelu(plan), "gelu", {"seed": 1, "abandoned": [5, 6, 7], "inputs": [int(v) & 0xFFFF for v in raw],
                                        "expected": want})


@pytest.mark.parametrize("max_len", [32, 1024, 4096])
def test_softmax_ecp5_verilog_with_block_rams_under_cocotb(tmp_path, max_len):
    """`softmax_ecp5.v`, the file `--synth ecp5` measures: its DP16KD instances (x18 at 1024, x4 side by side at
    4096) under a behavioural DP16KD written from the data sheet (`cocotb/dp16kd_sim.v`), and the LUT4, PFUMX and
    TRELLIS_FF cells it instantiates (`cocotb/ecp5_cells_sim.v`), same bench."""
    from hw.hdl.softmax import Softmax
    from hw.hdl.softmax_model import plan_softmax, softmax_row_model
    from hw.hdl.verify import softmax_payloads, softmax_test_rows

    plan = plan_softmax(Q78, UQ115, max_len)
    rng = np.random.default_rng(max_len)
    # one element, all equal, a full-length row, then short rows; up to 1024 past the buffer's wrap-around
    rows = [*softmax_test_rows(plan, n_random=0)[:2], rng.integers(Q78.min_raw, Q78.max_raw + 1, max_len)]
    while len(rows) < 6 or (max_len <= 1024 and sum(map(len, rows)) < plan.buffer_depth + 64):
        rows.append(Q78.from_float(rng.normal(0, 2, min(max_len, int(rng.integers(16, 120))))))
    want = [int(p) | (int(j == len(r) - 1) << 16) for r in rows for j, p in enumerate(softmax_row_model(plan, r))]
    abandoned = softmax_payloads(plan, [np.arange(20)])[:11]
    _run(tmp_path, Softmax(plan, ecp5_bram=True), "softmax", {"seed": 5, "abandoned": abandoned,
         "inputs": softmax_payloads(plan, rows), "expected": want}, stem="softmax_ecp5",
         models=(TB / "dp16kd_sim.v", TB / "ecp5_cells_sim.v"))


def test_softmax_verilog_under_cocotb(tmp_path):
    from hw.hdl.softmax import Softmax
    from hw.hdl.softmax_model import plan_softmax, softmax_row_model
    from hw.hdl.verify import softmax_payloads, softmax_test_rows

    plan = plan_softmax(Q78, UQ115, 32)
    rows = softmax_test_rows(plan, n_random=10, seed=3)
    want = [int(p) | (int(j == len(r) - 1) << 16) for r in rows for j, p in enumerate(softmax_row_model(plan, r))]
    abandoned = softmax_payloads(plan, [np.arange(20)])[:11]  # 11 elements of a row, no `last`
    _run(tmp_path, Softmax(plan), "softmax", {"seed": 2, "abandoned": abandoned,
                                              "inputs": softmax_payloads(plan, rows), "expected": want})
