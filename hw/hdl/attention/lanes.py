"""The PE datapaths: the exp micro-op sequence shared by the 2D and 1D PEs, and the 1D PE's restoring divider.

Each helper adds the synchronous statements of one step under the caller's decode condition; the arithmetic is
exactly `hw.hdl.attention.model` (see `plan.py` for the formats).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Module, Mux, Signal, Value, signed, unsigned

from hw.hdl.attention.plan import D_MIN, EXP2_COEFFS, LOG2E, LOG2E_FRAC, P_FRAC, Q_MAX


@dataclass(frozen=True)
class ExpRegs:
    """One PE's exp state: the clamped difference, then t's integer part and fraction, then the Horner value."""

    x: Signal  # d (clamped), then the polynomial y
    k: Signal  # -floor(t) (>= 0)
    f: Signal  # frac(t), 16 bits
    p: Signal  # the result, UQ1.16


def exp_regs(name: str) -> ExpRegs:
    return ExpRegs(Signal(signed(24), name=f"{name}_x"), Signal(unsigned(6), name=f"{name}_k"),
                   Signal(unsigned(P_FRAC), name=f"{name}_f"), Signal(unsigned(18), name=f"{name}_p"))


def exp_step(m: Module, step: int, regs: ExpRegs, d: Value) -> None:
    """Step `step` (0: subtract-and-clamp of `d`, 1..5: the five exp steps) of exp(d); the caller gates it."""
    c0, c1, c2, c3 = EXP2_COEFFS
    if step == 0:
        m.d.sync += regs.x.eq(Mux(d < D_MIN, D_MIN, d))
    elif step == 1:
        t = Signal(signed(26), name=f"{regs.x.name}_t")
        m.d.comb += t.eq((regs.x * LOG2E) >> LOG2E_FRAC)
        neg_k = Signal(signed(10), name=f"{regs.x.name}_nk")
        m.d.comb += neg_k.eq(t >> P_FRAC)
        m.d.sync += [regs.f.eq(t[:P_FRAC]), regs.k.eq(Mux(-neg_k > 63, 63, -neg_k)), regs.x.eq(c3)]
    elif step in (2, 3, 4):
        coeff = (c2, c1, c0)[step - 2]
        m.d.sync += regs.x.eq(((regs.x * regs.f) >> P_FRAC) + coeff)
    elif step == 5:
        m.d.sync += regs.p.eq(regs.x.as_unsigned() >> regs.k)
    else:
        raise ValueError(step)


@dataclass(frozen=True)
class Divider:
    """A restoring divider: numerator, divisor << 16, quotient, sign."""

    num: Signal
    den: Signal
    quot: Signal
    neg: Signal


def divider(name: str, nv_bits: int, rd_bits: int) -> Divider:
    width = nv_bits + rd_bits + 24
    return Divider(Signal(unsigned(width), name=f"{name}_num"), Signal(unsigned(width), name=f"{name}_den"),
                   Signal(unsigned(17), name=f"{name}_q"), Signal(name=f"{name}_neg"))


def divide_step(m: Module, j: Value, dv: Divider, start: Value, n: Value, d: Value) -> Signal:
    """Cycle `j` (0..16) of round-half-up(|n| 2^8 / d): cycle 0 loads (clamped so the quotient fits 17 bits),
    each cycle decides quotient bit 16 - j; returns the signed, saturated Q7.8 result (valid at cycle 16)."""
    width = len(dv.num)
    mag = Signal(unsigned(width), name=f"{dv.num.name}_mag")
    m.d.comb += mag.eq(Mux(n < 0, -n, n).as_unsigned())
    num0 = Signal(unsigned(width), name=f"{dv.num.name}_0")
    den0 = Signal(unsigned(width), name=f"{dv.num.name}_d0")
    limit = Signal(unsigned(width), name=f"{dv.num.name}_lim")
    m.d.comb += [den0.eq(d.as_unsigned() << 1), limit.eq(((den0 << 17) - 1)[:width])]
    raw0 = Signal(unsigned(width), name=f"{dv.num.name}_r0")
    m.d.comb += [raw0.eq((mag << 9) + d.as_unsigned()), num0.eq(Mux(raw0 > limit, limit, raw0))]
    num = Signal(unsigned(width), name=f"{dv.num.name}_cur")
    den = Signal(unsigned(width), name=f"{dv.num.name}_dcur")
    quot = Signal(unsigned(17), name=f"{dv.num.name}_qcur")
    m.d.comb += [num.eq(Mux(start, num0, dv.num)), den.eq(Mux(start, den0, dv.den)),
                 quot.eq(Mux(start, 0, dv.quot))]
    shift = Signal(range(17), name=f"{dv.num.name}_sh")
    m.d.comb += shift.eq(16 - j)
    trial = Signal(unsigned(width), name=f"{dv.num.name}_trial")
    m.d.comb += trial.eq((den << shift)[:width])
    take = Signal(name=f"{dv.num.name}_take")
    m.d.comb += take.eq(num >= trial)
    qn = Signal(unsigned(17), name=f"{dv.num.name}_qn")
    m.d.comb += qn.eq(quot | (take << shift))
    m.d.sync += [dv.num.eq(Mux(take, num - trial, num)), dv.den.eq(den), dv.quot.eq(qn)]
    with m.If(start):
        m.d.sync += dv.neg.eq(n < 0)
    neg = Mux(start, n < 0, dv.neg)
    sat = Signal(signed(18), name=f"{dv.num.name}_s")
    m.d.comb += sat.eq(Mux(neg, -qn.as_signed(), qn.as_signed()))
    result = Signal(signed(16), name=f"{dv.num.name}_res")
    m.d.comb += result.eq(Mux(sat > 32767, 32767, Mux(sat < -32768, -32768, sat)))
    assert Q_MAX == (1 << 17) - 1
    return result
