"""The exported Verilog: port names and widths, and (with Icarus Verilog) the same results as the model."""

import re

import numpy as np
import pytest

from hw.hdl.export import export
from hw.hdl.fixed import parse_format
from hw.hdl.gelu import Gelu
from hw.hdl.gelu_model import gelu_model, plan_gelu
from hw.hdl.iverilog import iverilog_available, run_iverilog
from hw.hdl.softmax import Softmax
from hw.hdl.softmax_model import plan_softmax, softmax_row_model
from hw.hdl.verify import softmax_payloads, softmax_test_rows

Q78, UQ115 = parse_format("Q7.8"), parse_format("UQ1.15")
PORTS = {"clk", "rst", "i__valid", "i__ready", "i__payload", "o__valid", "o__ready", "o__payload"}


def _ports(text: str, top: str) -> dict[str, int]:
    header = re.search(rf"module {top}\((.*?)\);", text, re.S).group(1)
    names = {p.strip() for p in header.split(",")}
    widths = {}
    for name in names:
        m = re.search(rf"(?:input|output)\s+(?:signed\s+)?(?:\[(\d+):0\]\s+)?{name};", text)
        widths[name] = int(m.group(1)) + 1 if m.group(1) else 1
    return widths


@pytest.fixture(scope="module")
def gelu_files(tmp_path_factory):
    plan = plan_gelu("edge-moe", Q78, Q78)
    return plan, export(Gelu(plan), "gelu", tmp_path_factory.mktemp("gelu"))


@pytest.fixture(scope="module")
def softmax_files(tmp_path_factory):
    plan = plan_softmax(Q78, UQ115, 32)
    return plan, export(Softmax(plan), "softmax", tmp_path_factory.mktemp("softmax"))


def test_gelu_verilog_ports(gelu_files):
    _, files = gelu_files
    ports = _ports(files.verilog_path.read_text(), "gelu")
    assert set(ports) == PORTS
    assert ports["i__payload"] == 16 and ports["o__payload"] == 16
    assert files.rtlil_path.read_text().count("module") >= 1


def test_softmax_verilog_ports_data_then_last(softmax_files):
    _, files = softmax_files
    ports = _ports(files.verilog_path.read_text(), "softmax")
    assert set(ports) == PORTS | {"overflow"}
    assert ports["i__payload"] == 17 and ports["o__payload"] == 17  # 16-bit data + last in the top bit


@pytest.mark.skipif(not iverilog_available(), reason="iverilog not on PATH")
def test_gelu_verilog_simulates_like_the_model(gelu_files, tmp_path):
    plan, files = gelu_files
    raw = np.concatenate([[Q78.min_raw, Q78.max_raw, 0, -1], np.random.default_rng(7).integers(-32768, 32768, 600)])
    out = run_iverilog(files.verilog_path, "gelu", 16, 16, [int(v) & 0xFFFF for v in raw], len(raw), tmp_path)
    got = np.array(out)
    got = np.where(got >= 1 << 15, got - (1 << 16), got)
    assert np.array_equal(got, gelu_model(plan, raw))


@pytest.mark.skipif(not iverilog_available(), reason="iverilog not on PATH")
def test_softmax_verilog_simulates_like_the_model(softmax_files, tmp_path):
    plan, files = softmax_files
    rows = softmax_test_rows(plan, n_random=6, seed=2)
    n = sum(len(r) for r in rows)
    out = np.array(run_iverilog(files.verilog_path, "softmax", 17, 17, softmax_payloads(plan, rows), n, tmp_path))
    assert np.array_equal(out & 0xFFFF, np.concatenate([softmax_row_model(plan, r) for r in rows]))
    assert np.array_equal(out >> 16, np.concatenate([[0] * (len(r) - 1) + [1] for r in rows]))
