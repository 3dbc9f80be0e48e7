"""A multiply-accumulate lane (signed a * b added into a wide accumulator, registered operands), synthesized only
to measure what one MAC of an attention engine costs on an ECP5 (the `mac` entry of the FPGA targets)."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class MacLane(wiring.Component):
    """acc <- clear ? a*b : acc + a*b, with `word_bits` operands and a `2*word_bits + 8`-bit accumulator."""

    def __init__(self, word_bits: int = 16):
        self.word_bits = word_bits
        super().__init__({"a": In(signed(word_bits)), "b": In(signed(word_bits)), "clear": In(1),
                          "acc": Out(signed(2 * word_bits + 8))})

    def elaborate(self, platform) -> Module:
        m = Module()
        a, b = Signal(signed(self.word_bits)), Signal(signed(self.word_bits))
        clear = Signal()
        prod = Signal(signed(2 * self.word_bits))
        clear2 = Signal()
        m.d.sync += [a.eq(self.a), b.eq(self.b), clear.eq(self.clear), prod.eq(a * b), clear2.eq(clear)]
        with m.If(clear2):
            m.d.sync += self.acc.eq(prod)
        with m.Else():
            m.d.sync += self.acc.eq(self.acc + prod)
        return m
