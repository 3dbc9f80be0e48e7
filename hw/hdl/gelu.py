"""The GELU unit: one input and one output per cycle, fully pipelined, stream ports `i` and `o`.

The output goes through a skid buffer (`hw.hdl.skid`), so that `i.ready` is a flip-flop and not a function of
`o.ready`. The datapath follows a `GeluPlan` (see `gelu_model`) so that it computes exactly what `gelu_model` computes;
tables become LUT ROMs indexed by the segment of |x|; multipliers are pipelined shift-add trees (no DSP).
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.hdl.gelu_model import GeluPlan, igelu_constants
from hw.hdl.pipeline import Stages, rom_stages, rshift_round
from hw.hdl.skid import skid_buffer


class Gelu(wiring.Component):
    """GELU over the input format to the output format of `plan`; `latency_cycles` from input to output."""

    def __init__(self, plan: GeluPlan):
        self.plan = plan
        super().__init__({
            "i": In(stream.Signature(signed(plan.in_fmt.width))),
            "o": Out(stream.Signature(signed(plan.out_fmt.width))),
        })
        dry = Module()
        dry._MustUse__silence = True  # a dry run that only counts the pipeline depth
        self.latency_cycles = self._build(dry)

    def elaborate(self, platform) -> Module:
        m = Module()
        self._build(m)
        return m

    def _build(self, m: Module) -> int:
        """Describe the pipeline into `m`; return its depth in cycles."""
        plan = self.plan
        en = Signal()
        m.d.comb += self.i.ready.eq(en)  # en comes from the skid buffer's flip-flop, not from o.ready
        st = Stages(m, en)
        x = st.reg(self.i.payload, "x1")
        if plan.method == "i-gelu":
            y, depth = self._igelu(st, x)
        else:
            y, depth = self._correction(st, x)
        # saturation in two stages: both range flags in parallel, then a one-LUT-level select
        lo, hi = plan.out_fmt.min_raw, plan.out_fmt.max_raw
        over, under, y = st.reg(y > hi, "over"), st.reg(y < lo, "under"), st.reg(y, "ysat")
        out = st.reg(Mux(over, hi, Mux(under, lo, y)), "y", signed(plan.out_fmt.width))
        stages = depth + 3  # input register, datapath, range flags, output register
        valid = st.delay(self.i.valid, stages, "valid")
        m.d.comb += en.eq(skid_buffer(m, valid, out, self.o))
        return stages + 1  # and the skid buffer's output register

    def _correction(self, st: Stages, x: Signal) -> tuple[Signal, int]:
        """ReLU(x) - c(|x|), c tabulated (edge-moe: linear interpolation; poly: quadratic by Horner)."""
        plan = self.plan
        ni, fb = plan.in_fmt.frac_bits, plan.frac_shift
        a = Mux(x < 0, -x, x)
        # stage: |x| split into segment index, interpolation weight and the in-range flag
        # |x| < bound from the bits alone (no comparator chain, no waiting for the negation): the bits above
        # the range all equal the sign, and a negative x is not -bound itself
        rb = plan.range_log2 + ni
        hi = x[rb:]
        hi_zero, hi_ones, low_nz = st.reg(hi == 0, "hz1"), st.reg(hi.all(), "ho1"), st.reg(x[:rb].any(), "lnz1")
        sign, rest_nz = st.reg(x[-1], "sg1"), st.reg(x[:-1].any(), "rnz1")  # x == -bound: sign and zeros
        idx = st.reg((a >> fb)[: plan.range_log2 + plan.seg_log2], "idx")
        f = st.reg(a[:fb] if fb > 0 else Const(0, 1), "f1")
        x = st.reg(x, "xa")
        # stage: table look-up
        coefs = [st.rom(t, idx, f"rom{k}") for k, t in enumerate(plan.tables)]
        k_rom = rom_stages(len(plan.tables[0]))
        f, x = st.delay(f, k_rom, "f2"), st.delay(x, k_rom, "x2")
        inside = st.delay(st.reg(hi_zero | (hi_ones & low_nz), "in2"), k_rom - 1, "in2d")
        edge = st.delay(st.reg(sign & ~rest_nz, "edge2"), k_rom - 1, "edge2d") if plan.at_edge else None
        depth = 1 + k_rom
        if plan.method == "edge-moe":
            prod, n = st.mul(coefs[1], f, "dmul")
            c = st.reg(st.delay(coefs[0], n, "t") + (prod >> fb), "c")
            depth += n + 1
        else:
            prod, n1 = st.mul(coefs[2], f, "a2mul")
            q1 = st.reg(st.delay(coefs[1], n1, "a1") + (prod >> fb), "q1")
            f1 = st.delay(f, n1 + 1, "f")
            prod2, n2 = st.mul(q1, f1, "q1mul")
            c = st.reg(st.delay(coefs[0], n1 + 1 + n2, "a0") + (prod2 >> fb), "c")
            depth += n1 + n2 + 2
        x, inside = st.delay(x, depth - 1 - k_rom, "x"), st.delay(inside, depth - 1 - k_rom, "in")
        if edge is not None:  # (the table's value at the edge is unused: its index wraps to 0)
            edge = st.delay(edge, depth - 1 - k_rom, "edge")
            c, inside = Mux(edge, plan.edge_value, c), inside | edge
        wide = plan.wide_frac
        k = wide - plan.out_fmt.frac_bits
        # ReLU plus the rounding constant, and the selected correction, registered apart: the subtraction
        # that follows is a bare carry chain between two registers
        relu = st.reg((Mux(x > 0, x, 0) << (wide - ni)) + ((1 << (k - 1)) if k > 0 else 0), "relu")
        corr = st.reg(Mux(inside, c, 0) << (wide - plan.table_frac), "corr")
        diff = st.reg(relu - corr, "diff")
        return diff >> k if k > 0 else diff, depth + 2

    def _igelu(self, st: Stages, x: Signal) -> tuple[Signal, int]:
        """I-BERT's i-GELU: x/2 * (1 + sgn(x) L(|x|/sqrt 2)) in integers."""
        k = igelu_constants(self.plan)
        p = self.plan.table_frac
        a = st.reg(Mux(x < 0, -x, x)[: self.plan.in_fmt.width], "a")
        zp, n1 = st.mul(a, k["K"], "kmul")
        zs = k["zshift"]
        z = st.reg(rshift_round(zp, zs) if zs > 0 else zp << -zs, "z")
        t = st.reg(Mux(z >= k["B"], 0, k["B"] - z), "t", unsigned(max(1, k["B"].bit_length())))
        tt, n2 = st.mul(t, t, "tmul")
        ap, n3 = st.mul(tt >> p, k["A"], "amul")
        big_l = st.reg(k["one"] - (ap >> p), "l", signed(p + 2))
        depth = 1 + n1 + 2 + n2 + n3 + 1
        xd = st.delay(x, depth, "x")
        h = st.reg(k["one"] + Mux(xd < 0, -big_l, Mux(xd > 0, big_l, 0)), "h", unsigned(p + 2))
        xd = st.reg(xd, "xh")
        yp, n4 = st.mul(xd, h, "ymul")
        y = st.reg(rshift_round(yp, k["yshift"]), "yr")
        return y, depth + 1 + n4 + 1
