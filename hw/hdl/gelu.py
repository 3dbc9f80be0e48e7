"""The GELU unit: one input and one output per cycle, fully pipelined, stream ports `i` and `o`.

The pipeline runs free (no stall enable: one fanning out to every register would set the clock) into a credit FIFO
(`hw.hdl.credit`), which takes an input only while it has room for everything in flight; `i.ready` is a flip-flop
that depends on `o.ready` only through registers. The datapath follows a `GeluPlan` (see `gelu_model`) so that it
computes exactly what `gelu_model` computes; tables become LUT ROMs indexed by the segment of |x|; multipliers are
pipelined shift-add trees (no DSP), and every adder a carry chain of at most `gelu_arith.CHAIN` bits between
registers (250 MHz on an ECP5 speed 6).
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.hdl.credit import CREDIT_MARGIN, credit_fifo
from hw.hdl.gelu_arith import Num, add, delay, fit, mul, num, round_shift, shape_for, shr
from hw.hdl.gelu_model import GeluPlan, igelu_constants
from hw.hdl.gelu_rom import KEEP_HIERARCHY, table, table_stages
from hw.hdl.pipeline import Stages

#: cycles from the last stage's valid to `o.valid` through an empty credit FIFO (write, bank register, skid buffer)
FIFO_CYCLES = 3


def fifo_depth(stages: int) -> int:
    """The credit FIFO's depth for a pipeline of `stages`: the smallest power of two that keeps one element per
    cycle. At full rate the credit count holds the stages + FIFO_CYCLES elements between issue and pop, and an
    issue needs that count + CREDIT_MARGIN below the depth (`credit_fifo`)."""
    depth = 8
    while stages + FIFO_CYCLES + CREDIT_MARGIN >= depth:
        depth *= 2
    return depth


class Gelu(wiring.Component):
    """GELU over the input format to the output format of `plan`; `latency_cycles` from input to output."""

    #: submodules (the tables' pieces by output bits) that synthesis keeps as modules of their own (`gelu_rom`)
    keep_hierarchy = KEEP_HIERARCHY

    def __init__(self, plan: GeluPlan):
        self.plan = plan
        super().__init__({
            "i": In(stream.Signature(signed(plan.in_fmt.width))),
            "o": Out(stream.Signature(signed(plan.out_fmt.width))),
        })
        dry = Module()
        dry._MustUse__silence = True  # a dry run that only counts the pipeline depth
        self.latency_cycles = self._build(dry, dry=True)
        #: the most elements inside at once (accepted, not yet taken at `o`): what its credit FIFO holds
        self.max_inside = fifo_depth(self.latency_cycles - FIFO_CYCLES)

    def elaborate(self, platform) -> Module:
        m = Module()
        self._build(m)
        return m

    def _build(self, m: Module, dry: bool = False) -> int:
        """Describe the pipeline into `m` (`dry`: without the output FIFO); return its depth in cycles."""
        plan = self.plan
        issue, ready = Signal(), Signal()
        m.d.comb += [self.i.ready.eq(ready), issue.eq(self.i.valid & ready)]
        st = Stages(m, Const(1), reset_less=True)  # runs free: no enable; the valid bits that follow it reset
        # the input register (i-gelu: twice, x1 may sit by the pins, x1b by the negation that fans out from it)
        x = st.reg(self.i.payload, "x1")
        extra = 0
        if plan.method == "i-gelu":
            x, extra = st.reg(x, "x1b"), 1
            y, depth = self._igelu(st, x)
        else:
            y, depth = self._correction(st, x)
        lo, hi = plan.out_fmt.min_raw, plan.out_fmt.max_raw
        if y.lo >= lo and y.hi <= hi:  # the bounds rule saturation out
            out = st.reg(y.value, "y", signed(plan.out_fmt.width))
            stages = depth + 2 + extra  # input register(s), datapath, output register
        else:  # in two stages: both range flags (LUTs on y's top bits) in parallel, then a one-LUT select
            over, under = _range_flags(y, plan.out_fmt.width)
            over, under, ys = st.reg(over, "over"), st.reg(under, "under"), st.reg(y.value, "ysat")
            out = st.reg(Mux(over, hi, Mux(under, lo, ys)), "y", signed(plan.out_fmt.width))
            stages = depth + 3 + extra  # input register(s), datapath, range flags, output register
        # the first valid bit through an if: an unknown `issue` (a Verilog simulation's first cycles, before its
        # `always @*` blocks have run) then enters as 0, as the producer, which saw no `ready`, counts it
        v0 = Signal(name="valid_in")
        with m.If(issue):
            m.d.sync += v0.eq(1)
        with m.Else():
            m.d.sync += v0.eq(0)
        valid = st.delay(v0, stages - 1, "valid", reset_less=False)
        if not dry:
            fifo = credit_fifo(m, issue=issue, up_valid=valid, up_payload=out, o=self.o, depth=fifo_depth(stages))
            m.d.comb += ready.eq(fifo.issue_ok)
        return stages + FIFO_CYCLES

    def _abs(self, st: Stages, x: Signal) -> tuple[Signal, Signal]:
        """Two stages: -x (a bare carry chain) beside x, then |x| (a one-LUT select). Returns |x| (unsigned, the
        input's width: |min| fits) and x, both two stages after `x`."""
        nx, xs = st.reg(-x, "nx"), st.reg(x, "xs")
        w = self.plan.in_fmt.width
        return st.reg(Mux(xs[-1], nx, xs)[:w], "a", unsigned(w)), st.reg(xs, "xa")

    def _correction(self, st: Stages, x: Signal) -> tuple[Num, int]:
        """ReLU(x) - c(|x|), c tabulated (edge-moe: linear interpolation; poly: quadratic by Horner)."""
        plan = self.plan
        ni, fb, tf = plan.in_fmt.frac_bits, plan.frac_shift, plan.table_frac
        # |x| < bound from the bits alone (no comparator chain, no waiting for the negation): the bits above
        # the range all equal the sign, and a negative x is not -bound itself
        rb = plan.range_log2 + ni
        hi = x[rb:]
        # (the wide ORs in nibbles, one LUT each, joined in the next stage)
        hz, ho, lnz = st.reg(hi == 0, "hz1"), st.reg(hi.all(), "ho1"), _any4(st, x[:rb], "lnz1")
        sign, rest_nz = st.reg(x[-1], "sg1"), _any4(st, x[:-1], "rnz1")  # x == -bound: sign and zeros
        inside = st.reg(hz | (ho & lnz), "in2")
        edge = st.reg(sign & ~rest_nz, "edge2") if plan.at_edge else None
        # two stages: |x|, then split into segment index and interpolation weight
        a, x = self._abs(st, x)
        idx = st.reg((a >> fb)[: plan.range_log2 + plan.seg_log2], "idx")
        f = Num(st.reg(a[:fb] if fb > 0 else Const(0, 1), "f1"), 0, (1 << fb) - 1)
        relu = self._relu(st, x)
        depth = 3  # (the flags wait one stage beside idx: delayed below from stage 2)
        # table look-up
        coefs = [Num(table(st, t, idx, f"rom{k}"), min(t), max(t)) for k, t in enumerate(plan.tables)]
        k_rom = table_stages(len(plan.tables[0]))
        f = delay(st, f, k_rom, "f2")
        depth += k_rom
        if plan.method == "edge-moe":
            prod, n = mul(st, coefs[1], f, "dmul")
            c, n2 = add(st, delay(st, coefs[0], n, "t"), shr(st, prod, fb, "dsh"), "c")
            depth += n + n2
        else:
            prod, n1 = mul(st, coefs[2], f, "a2mul")
            q1, m1 = add(st, delay(st, coefs[1], n1, "a1"), shr(st, prod, fb, "a2sh"), "q1")
            prod2, n2 = mul(st, q1, delay(st, f, n1 + m1, "f"), "q1mul")
            c, m2 = add(st, delay(st, coefs[0], n1 + m1 + n2, "a0"), shr(st, prod2, fb, "q1sh"), "c")
            depth += n1 + m1 + n2 + m2
        c = num(st, c.value, *_correction_bounds(plan, c), "cb")  # (per segment: tighter than c's interval)
        inside = st.delay(inside, depth - 2, "in")
        relu = delay(st, relu[0], depth - 2 - relu[1], "relu")
        c_val, c_lo, c_hi = c.value, c.lo, c.hi
        if edge is not None:  # (the table's value at the edge is unused: its index wraps to 0)
            edge = st.delay(edge, depth - 2, "edge")
            c_val, inside = Mux(edge, plan.edge_value, c_val), inside | edge
            c_lo, c_hi = min(c_lo, plan.edge_value), max(c_hi, plan.edge_value)
        s = plan.wide_frac - tf
        # the selected correction registered apart: the subtraction that follows is a bare carry chain
        corr = num(st, st.reg(Mux(inside, c_val, 0), "corr", shape_for(min(0, c_lo), max(0, c_hi))) << s,
                   min(0, c_lo) << s, max(0, c_hi) << s, "corrs")
        relu = delay(st, relu, 1, "relu1")
        diff, n3 = add(st, relu, corr, "diff", sub=True)
        k = plan.wide_frac - plan.out_fmt.frac_bits
        return shr(st, diff, k, "dk"), depth + 1 + n3

    def _relu(self, st: Stages, x: Signal) -> tuple[Num, int]:
        """max(x, 0) in `wide_frac` fraction bits plus the rounding constant of the final shift, from `x` one stage
        later (and the stages the constant's addition took: none where it sits in the zero bits below x)."""
        plan = self.plan
        sh = plan.wide_frac - plan.in_fmt.frac_bits
        k = plan.wide_frac - plan.out_fmt.frac_bits
        r = (1 << (k - 1)) if k > 0 else 0
        top = plan.in_fmt.max_raw
        pos = st.reg(Mux(x[-1], 0, x)[: plan.in_fmt.width - 1], "relu0")
        if r < (1 << sh):  # the constant fits in the zero bits below x: a concatenation
            return num(st, Cat(Const(r, sh), pos) if sh > 0 else pos, r, (top << sh) + r, "relur"), 1
        rel, n = add(st, num(st, pos << sh, 0, top << sh, "relus"), Num(Const(r), r, r), "relur")
        return rel, 1 + n

    def _igelu(self, st: Stages, x: Signal) -> tuple[Num, int]:
        """I-BERT's i-GELU: x/2 * (1 + sgn(x) L(|x|/sqrt 2)) in integers, as
        y = round(x * h / 2^yshift) with h = q (x < 0) or 2 - q (x > 0), q = 1 - L = A t^2 (t = max(B - z, 0))
        (in `table_frac` bits: 2 is 2^(p+1))."""
        k = igelu_constants(self.plan)
        p = self.plan.table_frac
        fmt = self.plan.in_fmt
        a, xs = self._abs(st, x)
        a = Num(a, 0, -fmt.min_raw)
        zp, n1 = mul(st, a, k["K"], "kmul")
        zs, b = k["zshift"], k["B"]
        # d = B - round(zp / 2^zs) = B - floor(zp / 2^zs) - zp[zs - 1]: one chain
        bn = Num(Const(b), b, b)
        if zs > 0:
            d, n2 = add(st, bn, shr(st, zp, zs, "zf"), "d", sub=True, cin=zp.value[zs - 1])
        else:
            d, n2 = add(st, bn, shr(st, zp, zs, "zf"), "d", sub=True)
        nb = max(1, b.bit_length())
        # t = max(d, 0) registered: each partial product's clear (a flip-flop's reset pin) is then a flip-flop
        # (and inverted beside it, the multiplier's side: the clear is then that flip-flop itself, no inverter,
        # and each copy drives half the partial products' inputs)
        tv = Mux(d.value[-1], 0, d.value[:nb]) if d.lo < 0 else d.value
        t, tn = Num(st.reg(tv, "t", unsigned(nb)), 0, b), st.reg(~fit(st, tv, unsigned(nb), "tv"), "tn")
        tt, n3 = mul(st, t, Num(~tn, 0, b), "tmul")
        ap, n4 = mul(st, shr(st, tt, p, "tts"), k["A"], "amul")
        q = shr(st, ap, p, "q")
        depth = 2 + n2 + 1 + n1 + n3 + n4
        xd = st.delay(xs, depth - 2, "x")
        # x (2 - q) = x ~q + x (~q: q's bits inverted, 2^(p+1) - 1 - q): no chain for 2 - q; x = 0 gives y = 0
        # whatever h is. h registered, as t
        w = k["one"].bit_length()  # p + 1 bits hold q < 2
        if q.hi >= 2 * k["one"]:
            raise AssertionError(f"i-gelu: q up to {q.hi} does not fit {w} bits")
        qw = fit(st, q.value, unsigned(w), "qw")
        h = Num(~st.reg(Mux(xd[-1], ~qw, qw), "hn", unsigned(w)), 0, (1 << w) - 1)  # (inverted, as t)
        xd = st.reg(xd, "xh")
        depth += 1
        yp, n6 = mul(st, Num(xd, fmt.min_raw, fmt.max_raw), h, "ymul",
                     extra=Num(Mux(xd[-1], 0, xd), 0, fmt.max_raw))
        y, n7 = round_shift(st, yp, k["yshift"], "yr")
        return y, depth + n6 + n7


def _any4(st: Stages, v: Value, name: str) -> Value:
    """Any bit of `v` set, a stage later: one registered OR per four bits (ORed by the caller's next stage)."""
    return Cat(*(st.reg(v[k: k + 4].any(), f"{name}_{k // 4}") for k in range(0, len(v), 4))).any()


def _correction_bounds(plan: GeluPlan, c: Num) -> tuple[int, int]:
    """The tabulated correction's range, segment by segment (each segment's line or parabola over the weight's
    range, its products bounded at the weight's ends), within the interval `c` already has."""
    fb = plan.frac_shift
    fmax = (1 << fb) - 1
    tabs = [np.asarray(t, dtype=np.int64) for t in plan.tables]
    if plan.method == "edge-moe":
        ends = [tabs[0] + ((tabs[1] * f) >> fb) for f in (0, fmax)]
        lo, hi = np.minimum(*ends), np.maximum(*ends)
    else:
        q1 = [tabs[1] + ((tabs[2] * f) >> fb) for f in (0, fmax)]  # linear in the weight: ends bound it
        plo, phi = np.minimum(0, np.minimum(*q1) * fmax), np.maximum(0, np.maximum(*q1) * fmax)
        lo, hi = tabs[0] + (plo >> fb), tabs[0] + (phi >> fb)
    return max(c.lo, int(lo.min())), min(c.hi, int(hi.max()))


def _range_flags(y: Num, width: int) -> tuple[Value, Value]:
    """y > 2^(width-1) - 1 and y < -2^(width-1) from y's top bits (ORs and ANDs, no comparator chain)."""
    v = y.value
    top = (1 << (width - 1)) - 1
    over = Const(0, 1) if y.hi <= top else (
        (~v[-1] & v[width - 1: -1].any()) if v.shape().signed else v[width - 1:].any())
    under = Const(0, 1) if y.lo >= -top - 1 else (v[-1] & ~v[width - 1: -1].all())
    return over, under
