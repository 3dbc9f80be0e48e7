"""GELU -> softmax, chained as a user would chain the two delivered units (issue 15, item 6): the GELU's output
stream feeds the softmax's input stream directly; the rows' `last` flags ride past the GELU in a small FIFO
(pushed when a score enters the GELU, popped when its GELU value enters the softmax).

Both units end in a skid buffer, so `i.ready` of the chain is a flip-flop and no ready signal crosses a unit
combinationally; `benchmarks/hdl_chain.py` measures the chain's post-route clock against the units' own. The
softmax's input side (valid -> accept -> row buffer, length FIFO) is logic that a standalone measurement does not
time from its input port; in a chain it follows the GELU's output register. `register_slice` puts a two-entry skid
buffer between the two (one more cycle of latency) so that it starts at a flip-flop.
Computes softmax_row_model(gelu_model(row)) per row (the GELU's output format is the softmax's input format).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from hw.hdl.gelu import Gelu
from hw.hdl.gelu_model import GeluPlan
from hw.hdl.skid import skid_buffer
from hw.hdl.softmax import Softmax
from hw.hdl.softmax_model import SoftmaxPlan


class GeluSoftmax(wiring.Component):
    """Rows of scores {data, last} -> GELU -> softmax -> rows of probabilities {data, last}."""

    def __init__(self, gelu: GeluPlan, softmax: SoftmaxPlan, ecp5_bram: bool = False, register_slice: bool = False):
        if gelu.out_fmt != softmax.in_fmt:
            self._MustUse__silence = True  # never built: no "created but never used" warning
            raise ValueError(f"GELU output {gelu.out_fmt} is not the softmax input {softmax.in_fmt}")
        self.gelu_plan, self.softmax_plan, self.ecp5_bram = gelu, softmax, ecp5_bram
        self.register_slice = register_slice  # a two-entry skid buffer between the GELU and the softmax
        in_layout = data.StructLayout({"data": signed(gelu.in_fmt.width), "last": unsigned(1)})
        out_layout = data.StructLayout({"data": unsigned(softmax.out_fmt.width), "last": unsigned(1)})
        super().__init__({"i": In(stream.Signature(in_layout)), "o": Out(stream.Signature(out_layout)),
                          "overflow": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.gelu = g = Gelu(self.gelu_plan)
        m.submodules.softmax = s = Softmax(self.softmax_plan, ecp5_bram=self.ecp5_bram)
        # one flag per element inside the GELU: its credits keep at most `max_inside` there, so with that many
        # entries (and margin) `lasts` is never full, and since an element spends `latency_cycles` inside, its flag
        # is at the head when it comes out; neither `w_rdy` nor `r_rdy` needs to gate the handshakes (their level
        # logic stays off the ready paths)
        m.submodules.lasts = lasts = SyncFIFOBuffered(width=1, depth=g.max_inside + 8)
        m.d.comb += [
            g.i.valid.eq(self.i.valid), g.i.payload.eq(self.i.payload.data), self.i.ready.eq(g.i.ready),
            lasts.w_en.eq(self.i.valid & g.i.ready), lasts.w_data.eq(self.i.payload.last),
            lasts.r_en.eq(g.o.valid & g.o.ready),
        ]
        if self.register_slice:  # the softmax's input valid and data come from flip-flops
            en = skid_buffer(m, g.o.valid, Cat(g.o.payload, lasts.r_data), s.i)
            m.d.comb += g.o.ready.eq(en)
        else:
            m.d.comb += [s.i.valid.eq(g.o.valid), s.i.payload.data.eq(g.o.payload),
                         s.i.payload.last.eq(lasts.r_data), g.o.ready.eq(s.i.ready)]
        wiring.connect(m, wiring.flipped(self.o), s.o)
        m.d.comb += self.overflow.eq(s.overflow)
        return m
