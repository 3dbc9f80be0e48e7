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


def _stream(plan, rows, **kw):
    from hw.hdl.sim import run_stream
    from hw.hdl.softmax import Softmax
    from hw.hdl.verify import softmax_payloads

    return run_stream(Softmax(plan), softmax_payloads(plan, rows), **kw)


def test_softmax_drops_rows_longer_than_max_len_and_flags_overflow():
    """A row over max_len yields no output at all (not a cut, separately normalised row) and raises the sticky
    `overflow`; the rows around it come out exactly as the model says."""
    from hw.hdl.softmax_model import softmax_stream_model

    plan = plan_softmax(Q78, UQ115, 8)
    rng = np.random.default_rng(4)
    rows = [rng.integers(-2000, 2000, n) for n in (5, 12, 8, 9, 3)]  # 12 and 9 overflow
    want, overflow = softmax_stream_model(plan, rows)
    assert overflow and len(want) == 3
    n_out = sum(len(r) for r in want)
    run = _stream(plan, rows, n_out=n_out, stall_prob=0.3, input_gap_prob=0.2)
    assert [v & 0xFFFF for v in run.outputs] == np.concatenate(want).tolist()
    assert [v >> 16 for v in run.outputs] == np.concatenate([[0] * (len(r) - 1) + [1] for r in want]).tolist()
    assert run.overflow == 1
    clean = _stream(plan, [rows[0], rows[2]], n_out=13)
    assert clean.overflow == 0


@pytest.mark.parametrize("max_len", [1, 2, 8])
def test_softmax_overflow_right_after_a_row_end(max_len):
    """A row over max_len straight after a row's end (no input gap), then a row that fits: the dropped row's
    elements go back to the row's start (loaded a cycle after the previous row's end)."""
    from hw.hdl.softmax_model import softmax_stream_model

    plan = plan_softmax(Q78, UQ115, max_len)
    rng = np.random.default_rng(max_len)
    rows = [rng.integers(-2000, 2000, n) for n in (max_len, max_len + 2, 1, max_len + 1, max_len)]
    want, overflow = softmax_stream_model(plan, rows)
    assert overflow and len(want) == 3
    run = _stream(plan, rows, n_out=sum(len(r) for r in want))
    assert [v & 0xFFFF for v in run.outputs] == np.concatenate(want).tolist()
    assert run.overflow == 1


@pytest.mark.parametrize("length, max_len", [(16, 16), (16, 1024), (23, 64)])
def test_softmax_streams_back_to_back_rows_at_one_element_per_cycle(length, max_len):
    """Rows of 16 and more go in and come out at one element per cycle, with no gap between rows."""
    plan = plan_softmax(Q78, UQ115, max_len)
    rng = np.random.default_rng(length)
    rows = [Q78.from_float(rng.normal(0.0, 2.0, length)) for _ in range(12)]
    run = _stream(plan, rows)
    n = 12 * length
    assert [v & 0xFFFF for v in run.outputs] == np.concatenate([softmax_row_model(plan, r) for r in rows]).tolist()
    assert run.in_cycles[-1] - run.in_cycles[0] == n - 1  # one element accepted every cycle
    # and one delivered every cycle: the replay lags by the per-row latency, whose few cycles of variation (the
    # normalisation steps depend on the sum) may leave a bubble or two, never one per row
    assert run.out_cycles[-1] - run.out_cycles[0] <= n - 1 + 4


def test_softmax_full_length_rows_stream_at_full_rate():
    plan = plan_softmax(Q78, UQ115, 256)
    rows = [np.random.default_rng(k).integers(-3000, 3000, 256) for k in range(3)]
    run = _stream(plan, rows)
    assert run.in_cycles[-1] - run.in_cycles[0] == 3 * 256 - 1
    assert run.out_cycles[-1] - run.out_cycles[0] <= 3 * 256 - 1 + 4


def test_one_element_rows_are_exactly_one_for_every_input():
    """softmax of one score is 1.0: exactly the format's 1.0 for all 2^16 Q7.8 inputs (the reciprocal is rounded
    up, so rounding never leaves it one LSB short)."""
    plan = plan_softmax(Q78, UQ115, 4)
    out = {int(softmax_row_model(plan, np.array([v]))[0]) for v in Q78.all_raw()}
    assert out == {1 << 15}


@pytest.mark.parametrize("out_format", ["UQ1.17", "UQ1.31", "UQ0.20"])
def test_softmax_refuses_output_formats_beyond_its_precision(out_format):
    with pytest.raises(SpecError, match="--out-format: softmax resolves 1 to 16 fraction bits"):
        plan_softmax(Q78, parse_format(out_format), 16)


@pytest.mark.parametrize("fmts", [("Q7.8", "UQ0.16"), ("Q7.8", "UQ1.16"), ("Q3.12", "UQ1.15"), ("Q12.4", "UQ1.8"),
                                  ("Q0.15", "UQ1.15"), ("Q7.8", "UQ1.1")])
def test_softmax_accuracy_holds_for_accepted_formats(fmts):
    plan = plan_softmax(parse_format(fmts[0]), parse_format(fmts[1]), 256)
    assert softmax_errors(plan, softmax_test_rows(plan, n_random=20, seed=3)).max_error_lsb <= 2.0


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


def test_softmax_ready_does_not_depend_on_downstream_ready():
    """i.ready comes from flip-flops (space, rows in flight, draining): flipping o.ready within a cycle, with
    output pending, leaves it unchanged."""
    from hw.hdl.sim import ready_follows_registers
    from hw.hdl.softmax import Softmax

    dut = Softmax(plan_softmax(Q78, UQ115, 16))
    assert ready_follows_registers(dut, lambda k: (k % 97) | (int(k % 16 == 15) << 16), 400)


def test_the_ready_check_catches_a_combinational_ready():
    """The check above fails on a unit whose i.ready is o.ready, wired through (a register slice left out)."""
    from amaranth import Elaboratable, Module, Signal, unsigned
    from amaranth.lib import data, stream, wiring
    from amaranth.lib.wiring import In, Out

    from hw.hdl.sim import ready_follows_registers

    class PassThrough(wiring.Component, Elaboratable):
        i: In(stream.Signature(data.StructLayout({"x": unsigned(8)})))
        o: Out(stream.Signature(data.StructLayout({"x": unsigned(8)})))

        def elaborate(self, platform):  # noqa: ANN001, ARG002
            m = Module()
            seen = Signal(8)  # a clocked counter, so that the unit has the sync domain the check ticks
            m.d.sync += seen.eq(seen + (self.i.valid & self.i.ready))
            m.d.comb += [self.o.payload.x.eq(self.i.payload.x + seen), self.o.valid.eq(self.i.valid),
                         self.i.ready.eq(self.o.ready)]
            return m

    assert not ready_follows_registers(PassThrough(), lambda k: k % 256, 20)
