"""A stall-all pipeline helper: every stage register loads only when the whole pipeline may advance.

The pipeline advances (`en`) when its output register is empty or being read (`~o.valid | o.ready`), so
backpressure stops every stage at once and nothing is dropped; `i.ready` is `en` (ready may depend on
valid/ready downstream, valid never depends on ready, as `lib.stream` requires).
"""

from __future__ import annotations

from amaranth.hdl import Module, Shape, Signal, Value


class Stages:
    """Registers loaded under one enable; `reg(value)` returns the registered copy of `value`."""

    def __init__(self, m: Module, en: Value):
        self.m = m
        self.en = en

    def reg(self, value: Value, name: str, shape: Shape | None = None) -> Signal:
        value = Value.cast(value)
        sig = Signal(shape if shape is not None else value.shape(), name=name)
        with self.m.If(self.en):
            self.m.d.sync += sig.eq(value)
        return sig


def saturate(value: Value, lo: int, hi: int) -> Value:
    """Clamp `value` into [lo, hi] (two comparators and a mux)."""
    from amaranth.hdl import Mux

    return Mux(value > hi, hi, Mux(value < lo, lo, value))


def rshift_round(value: Value, k: int) -> Value:
    """Round-half-up right shift by a constant (left shift when k <= 0), matching the models' `_rshift_round`."""
    if k <= 0:
        return value << (-k)
    return (value + (1 << (k - 1))) >> k
