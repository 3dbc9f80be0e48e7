"""The GELU unit: one input and one output per cycle, fully pipelined, stream ports `i` and `o`.

The datapath follows a `GeluPlan` (see `gelu_model`) so that it computes exactly what `gelu_model` computes;
tables become LUT ROMs indexed by the segment of |x|.
"""

from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.hdl.gelu_model import GeluPlan, igelu_constants
from hw.hdl.pipeline import Stages, rshift_round, saturate


def _rom(values: tuple[int, ...]) -> Array:
    """A constant table (becomes a LUT ROM), signed when any entry is negative."""
    width = max(abs(v).bit_length() for v in values)
    shape = signed(width + 1) if min(values) < 0 else unsigned(max(1, width))
    return Array(Const(v, shape) for v in values)


class Gelu(wiring.Component):
    """GELU over the input format to the output format of `plan`; latency `plan.latency_cycles`."""

    def __init__(self, plan: GeluPlan):
        self.plan = plan
        super().__init__({
            "i": In(stream.Signature(signed(plan.in_fmt.width))),
            "o": Out(stream.Signature(signed(plan.out_fmt.width))),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        plan = self.plan
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]
        st = Stages(m, en)
        x = st.reg(self.i.payload, "x1")
        valid = st.reg(self.i.valid, "v1")
        if plan.method == "i-gelu":
            y, depth = self._igelu(st, x)
        else:
            y, depth = self._correction(st, x)
        for k in range(depth - 1):
            valid = st.reg(valid, f"v{k + 2}")
        out = st.reg(saturate(y, plan.out_fmt.min_raw, plan.out_fmt.max_raw), "y", signed(plan.out_fmt.width))
        valid = st.reg(valid, "vout")
        assert depth + 1 == plan.latency_cycles
        m.d.comb += [self.o.payload.eq(out), self.o.valid.eq(valid)]
        return m

    def _correction(self, st: Stages, x: Signal):
        """ReLU(x) - c(|x|), c tabulated (edge-moe: linear interpolation; poly: quadratic by Horner)."""
        plan = self.plan
        ni, fb = plan.in_fmt.frac_bits, plan.frac_shift
        a = Mux(x < 0, -x, x)
        inside = a < (1 << (plan.range_log2 + ni))
        idx = (a >> fb)[: plan.range_log2 + plan.seg_log2]
        f = a[:fb] if fb > 0 else Const(0, 1)
        roms = [_rom(t) for t in plan.tables]
        coefs = [st.reg(rom[idx], f"tab{k}") for k, rom in enumerate(roms)]
        f2, x2, in2 = st.reg(f, "f2"), st.reg(x, "x2"), st.reg(inside, "in2")
        if plan.method == "edge-moe":
            c = st.reg(coefs[0] + ((coefs[1] * f2) >> fb), "c3")
            x3, in3 = st.reg(x2, "x3"), st.reg(in2, "in3")
            depth = 3
        else:
            q1 = st.reg(coefs[1] + ((coefs[2] * f2) >> fb), "q3")
            a0, f3, x3, in3 = st.reg(coefs[0], "a03"), st.reg(f2, "f3"), st.reg(x2, "x3"), st.reg(in2, "in3")
            c = st.reg(a0 + ((q1 * f3) >> fb), "c4")
            x3, in3 = st.reg(x3, "x4"), st.reg(in3, "in4")
            depth = 4
        wide = plan.wide_frac
        relu = Mux(x3 > 0, x3, 0) << (wide - ni)
        corr = Mux(in3, c, 0) << (wide - plan.table_frac)
        return rshift_round(relu - corr, wide - plan.out_fmt.frac_bits), depth

    def _igelu(self, st: Stages, x: Signal):
        """I-BERT's i-GELU: x/2 * (1 + sgn(x) L(|x|/sqrt 2)) in integers."""
        k = igelu_constants(self.plan)
        p = self.plan.table_frac
        a = Mux(x < 0, -x, x)
        zs = k["zshift"]
        z = st.reg(rshift_round(a * k["K"], zs) if zs > 0 else (a * k["K"]) << -zs, "z2")
        x2 = st.reg(x, "x2")
        t = st.reg(k["B"] - Mux(z < k["B"], z, k["B"]), "t3", unsigned(max(1, k["B"].bit_length())))
        x3 = st.reg(x2, "x3")
        t2 = st.reg((t * t) >> p, "t2_4")
        x4 = st.reg(x3, "x4")
        big_l = st.reg(k["one"] - ((k["A"] * t2) >> p), "l5", signed(p + 2))
        x5 = st.reg(x4, "x5")
        erf = Mux(x5 < 0, -big_l, Mux(x5 > 0, big_l, 0))
        return rshift_round(x5 * (k["one"] + erf), k["yshift"]), 5
