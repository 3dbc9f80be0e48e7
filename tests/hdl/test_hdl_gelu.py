"""GELU: the model against torch's exact-erf GELU (exhaustive, 16-bit) and the hardware against the model."""

import numpy as np
import pytest

from hw.errors import SpecError
from hw.hdl.fixed import parse_format
from hw.hdl.gelu import Gelu
from hw.hdl.gelu_model import METHODS, gelu_model, plan_gelu
from hw.hdl.sim import run_stream
from hw.hdl.verify import gelu_errors, gelu_hw_mismatches

Q78 = parse_format("Q7.8")


@pytest.mark.parametrize("method", ["edge-moe", "poly"])
def test_gelu_within_one_lsb_everywhere_q78(method):
    stats = gelu_errors(plan_gelu(method, Q78, Q78))
    assert stats.count == 65536
    assert stats.max_error_lsb <= 1.0
    assert stats.mean_error_lsb < 0.05


def test_igelu_error_is_ibert_sized():
    """I-BERT's erf fit is coarser: a few LSB at Q7.8, never worse than its published ~1e-2 abs error."""
    stats = gelu_errors(plan_gelu("i-gelu", Q78, Q78))
    assert 1.0 < stats.max_error_lsb < 0.02 * 256


@pytest.mark.parametrize("fmts", [("Q3.12", "Q3.12"), ("Q4.11", "Q7.8"), ("Q3.4", "Q3.4")])
def test_gelu_other_formats_within_one_lsb(fmts):
    plan = plan_gelu("edge-moe", parse_format(fmts[0]), parse_format(fmts[1]))
    assert gelu_errors(plan).max_error_lsb <= 1.0


def test_gelu_saturates_to_output_range():
    plan = plan_gelu("edge-moe", Q78, parse_format("Q3.12"))
    y = gelu_model(plan, np.array([Q78.max_raw, Q78.min_raw, 20 * 256]))
    assert y[0] == plan.out_fmt.max_raw and y[2] == plan.out_fmt.max_raw
    assert y[1] == 0  # GELU(-128) is -0 to far below one LSB


@pytest.mark.parametrize("method", METHODS)
def test_gelu_hardware_equals_model_with_backpressure(method):
    plan = plan_gelu(method, Q78, Q78)
    raw = Q78.all_raw()
    sample = np.concatenate([raw[:4], raw[-4:], [0, -1, 1, 1023, 1024, -1024, -1025],
                             np.random.default_rng(3).choice(raw, 1500)])
    assert gelu_hw_mismatches(plan, sample, stall_prob=0.4) == 0


@pytest.mark.slow
def test_gelu_hardware_equals_model_exhaustive():
    plan = plan_gelu("edge-moe", Q78, Q78)
    assert gelu_hw_mismatches(plan, Q78.all_raw(), stall_prob=0.1) == 0


def test_gelu_latency_is_the_pipeline_depth_and_throughput_one_per_cycle():
    dut = Gelu(plan_gelu("edge-moe", Q78, Q78))
    run = run_stream(dut, list(range(50)))
    assert run.out_cycles[0] - run.in_cycles[0] == dut.latency_cycles == dut.plan.latency_cycles
    assert run.out_cycles[-1] - run.out_cycles[0] == 49  # one result per cycle without backpressure


def test_gelu_rejects_bad_method_and_unsigned_format():
    with pytest.raises(SpecError, match="unknown GELU method 'tanh'"):
        plan_gelu("tanh", Q78, Q78)
    with pytest.raises(SpecError, match="signed formats"):
        plan_gelu("edge-moe", Q78, parse_format("UQ1.15"))


@pytest.mark.parametrize("method", ["edge-moe", "poly"])
@pytest.mark.parametrize("fmt, out", [("Q0.15", "Q1.14"), ("Q1.14", "Q1.14"), ("Q2.13", "Q2.13"), ("Q1.6", "Q1.6")])
def test_gelu_formats_with_few_integer_bits_within_one_lsb(method, fmt, out):
    """The most negative input, -2^int_bits, lies just outside the correction table; it used to come out 0
    (Q1.14: 745 LSB off)."""
    q = parse_format(fmt)
    plan = plan_gelu(method, q, parse_format(out))
    assert gelu_errors(plan).max_error_lsb <= 1.0
    assert gelu_hw_mismatches(plan, np.array([q.min_raw, q.min_raw + 1, -1, 0, q.max_raw]), stall_prob=0.3) == 0


@pytest.mark.parametrize("method, fmt", [(m, "Q7.8") for m in METHODS] + [("poly", "Q3.12"), ("edge-moe", "Q1.14")])
def test_gelu_plan_latency_is_the_simulated_latency(method, fmt):
    q = parse_format(fmt)
    plan = plan_gelu(method, q, q)
    run = run_stream(Gelu(plan), [0, 1, 2])
    assert run.out_cycles[0] - run.in_cycles[0] == plan.latency_cycles


def test_gelu_ready_does_not_depend_on_downstream_ready():
    """i.ready is a flip-flop (the credit FIFO's issue_ok): flipping o.ready within a cycle leaves it unchanged."""
    from hw.hdl.sim import ready_follows_registers

    assert ready_follows_registers(Gelu(plan_gelu("edge-moe", Q78, Q78)), lambda k: k % 97, 40)
