"""Softmax: the model against torch.softmax (random rows and edge cases), the hardware against the model."""

import numpy as np
import pytest

from hw.errors import SpecError
from hw.hdl.fixed import parse_format
from hw.hdl.softmax_model import plan_softmax, restoring_reciprocal, softmax_row_model
from hw.hdl.verify import softmax_errors, softmax_hw_mismatches, softmax_test_rows

Q78, UQ115 = parse_format("Q7.8"), parse_format("UQ1.15")


def test_softmax_within_two_lsb_q78_to_uq115():
    plan = plan_softmax(Q78, UQ115, 1024)
    rows = softmax_test_rows(plan, n_random=60)
    lengths = {len(r) for r in rows}
    assert 1 in lengths and 1024 in lengths
    stats = softmax_errors(plan, rows)
    assert stats.max_error_lsb <= 2.0
    assert stats.mean_error_lsb < 0.5


def test_softmax_edge_cases():
    plan = plan_softmax(Q78, UQ115, 1024)
    one = 1 << 15
    assert abs(int(softmax_row_model(plan, np.array([1234]))[0]) - one) <= 1  # length 1: probability 1
    equal = softmax_row_model(plan, np.full(1024, Q78.min_raw))  # all at the most negative value
    assert np.all(np.abs(equal - one / 1024) <= 1)
    dominant = softmax_row_model(plan, np.array([Q78.max_raw] + [Q78.min_raw] * 9))
    assert abs(int(dominant[0]) - one) <= 1 and np.all(dominant[1:] == 0)


def test_restoring_reciprocal_is_floor_division():
    for dv in (1 << 23, (1 << 23) + 1, 3 << 22, (1 << 24) - 1):
        assert restoring_reciprocal(dv) == (1 << 40) // dv


def test_softmax_hardware_equals_model_with_backpressure():
    plan = plan_softmax(Q78, UQ115, 64)
    rows = softmax_test_rows(plan, n_random=10, seed=5)
    assert softmax_hw_mismatches(plan, rows, stall_prob=0.4) == 0


def test_softmax_cuts_rows_longer_than_max_len():
    from hw.hdl.sim import run_stream
    from hw.hdl.softmax import Softmax
    from hw.hdl.verify import softmax_payloads

    plan = plan_softmax(Q78, UQ115, 8)
    payloads = softmax_payloads(plan, [np.arange(12)])  # `last` only on element 12
    run = run_stream(Softmax(plan), payloads[:8], n_out=8)  # the unit ends the row at 8 by itself
    assert [v >> 16 for v in run.outputs] == [0] * 7 + [1]
    assert [v & 0xFFFF for v in run.outputs] == softmax_row_model(plan, np.arange(8)).tolist()


@pytest.mark.parametrize("max_len", [1, 2, 3])
def test_softmax_hardware_tiny_rows(max_len):
    plan = plan_softmax(Q78, UQ115, max_len)
    assert softmax_hw_mismatches(plan, softmax_test_rows(plan, n_random=6, seed=max_len), stall_prob=0.3) == 0


@pytest.mark.slow
def test_softmax_hardware_equals_model_full_length():
    plan = plan_softmax(Q78, UQ115, 1024)
    assert softmax_hw_mismatches(plan, softmax_test_rows(plan, n_random=4), stall_prob=0.2) == 0


def test_softmax_rejects_bad_options():
    with pytest.raises(SpecError, match="--out-format"):
        plan_softmax(Q78, Q78, 16)
    with pytest.raises(SpecError, match="--max-len"):
        plan_softmax(Q78, UQ115, 0)
