"""GELU -> softmax chained directly (`hw/hdl/chain.py`): equal to the composed models under backpressure and
input gaps, and the chain's `i.ready` never follows the far end's `o.ready` within a cycle."""

import numpy as np
import pytest

from hw.hdl.chain import GeluSoftmax
from hw.hdl.fixed import parse_format
from hw.hdl.gelu_model import gelu_model, plan_gelu
from hw.hdl.sim import run_stream
from hw.hdl.softmax_model import plan_softmax, softmax_row_model
from hw.hdl.verify import softmax_payloads

Q78, UQ115 = parse_format("Q7.8"), parse_format("UQ1.15")


@pytest.mark.parametrize("stall, gap, sliced", [(0.0, 0.0, False), (0.3, 0.2, False), (0.0, 0.0, True),
                                                (0.3, 0.2, True)])
def test_chain_equals_gelu_then_softmax(stall, gap, sliced):
    gp, sp = plan_gelu("edge-moe", Q78, Q78), plan_softmax(Q78, UQ115, 64)
    rng = np.random.default_rng(0)
    rows = [Q78.from_float(rng.normal(0, 3, n)) for n in (1, 5, 64, 17, 40, 33, 16, 16)]
    want = [int(p) | (int(j == len(r) - 1) << 16)
            for r in rows for j, p in enumerate(softmax_row_model(sp, gelu_model(gp, r)))]
    run = run_stream(GeluSoftmax(gp, sp, register_slice=sliced), softmax_payloads(sp, rows), stall_prob=stall,
                     input_gap_prob=gap, seed=3)
    assert list(run.outputs) == want
    if stall == 0.0:  # back to back, no backpressure: one element per cycle through both units
        k = len(run.in_cycles) - 1
        assert k / (run.in_cycles[-1] - run.in_cycles[0]) > 0.95


@pytest.mark.parametrize("sliced", [False, True])
def test_chain_ready_does_not_depend_on_downstream_ready(sliced):
    from hw.hdl.sim import ready_follows_registers

    dut = GeluSoftmax(plan_gelu("edge-moe", Q78, Q78), plan_softmax(Q78, UQ115, 16), register_slice=sliced)
    assert ready_follows_registers(dut, lambda k: (k % 97) | (int(k % 16 == 15) << 16), 300)


def test_chain_refuses_mismatched_formats():
    with pytest.raises(ValueError, match="not the softmax input"):
        GeluSoftmax(plan_gelu("edge-moe", Q78, parse_format("Q3.12")), plan_softmax(Q78, UQ115, 16))


@pytest.mark.parametrize("sliced", [False, True])
def test_chain_keeps_every_last_flag_when_both_units_fill(sliced):
    """A sink that takes one element in ten fills the softmax and then the GELU to its credit limit: the `last`
    flags riding beside the GELU (a FIFO of `max_inside` + 8 that nothing checks for room) stay in step."""
    gp, sp = plan_gelu("edge-moe", Q78, Q78), plan_softmax(Q78, UQ115, 64)
    rng = np.random.default_rng(5)
    rows = [Q78.from_float(rng.normal(0, 3, n)) for n in (64, 3, 50, 64, 1, 64, 20, 64, 64, 7)]
    want = [int(p) | (int(j == len(r) - 1) << 16)
            for r in rows for j, p in enumerate(softmax_row_model(sp, gelu_model(gp, r)))]
    run = run_stream(GeluSoftmax(gp, sp, register_slice=sliced), softmax_payloads(sp, rows), stall_prob=0.9,
                     seed=1)
    assert list(run.outputs) == want
