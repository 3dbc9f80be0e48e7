"""Once per row, between the two passes of the softmax unit: rescale and add the four running sums, normalise
the sum to [1, 2) and divide, while the next rows stream in. Computes what `softmax_model.first_pass` computes.

Stages, each able to take a row at least every 16 cycles (so that rows of 16 and more stream at full rate):
- combine: a seven-stage pipeline (gap to the row's max, clamp, shift by multiples of 16, of 4, by 0..3, add
  pairs, add);
- a FIFO, then normalise: a five-stage pipeline (leading one per four bits, the leading group, two shifts),
  entered only when the divider whose turn it is is free;
- divide: three dividers (one quotient bit every two cycles, 38 cycles) taking rows in turn;
- a FIFO of (r, k, max) per row, read by the replay.
No stage can overflow: the input side admits at most `ROWS_IN_FLIGHT` rows that have not started their replay.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed

from hw.hdl.pipeline import ecp5_add_xor
from hw.hdl.regfifo import reg_fifo
from hw.hdl.softmax_model import DIV_FRAC, INTERLEAVE, RECIP_FRAC, ROWS_IN_FLIGHT, SHIFT_MAX, SoftmaxPlan

PARS = range(INTERLEAVE)
#: dividers taking rows in turn: each takes 2 cycles per quotient bit (~42 cycles a row), so three keep up
#: with a row every 16 cycles
DIVIDERS = 3
assert SHIFT_MAX == 2**6 - 1, "shift amounts are clipped to six bits"


@dataclass(frozen=True)
class RowParams:
    """The per-row FIFO's read side: `valid` when a row's reciprocal is ready; `pop` takes it."""

    valid: Signal
    pop: Signal
    r: Value
    k: Value
    m: Value


def normaliser(m: Module, plan: SoftmaxPlan, *, row_summed: Value, acc: list[Signal], acc_max: list[Signal],
               m_row: Value, has_par: list[Value], ecp5: bool = False) -> RowParams:
    """Add the once-per-row datapath to `m`. `row_summed` is high (one cycle) when a row's last element has
    been added to its sum; `acc`, `acc_max` then hold the four sums and the max each was scaled to (from the
    next cycle on), `m_row` the row's max and `has_par[p]` whether the row reached sum p (length > p). `ecp5`:
    the dividers' low adders as CCU2C instances (`softmax_ecp5.v`)."""
    w_int = plan.max_int_bits
    aw = plan.acc_width

    def reg(value: Value, name: str, shape=None) -> Signal:
        sig = Signal(shape if shape is not None else Value.cast(value).shape(), name=name)
        m.d.sync += sig.eq(value)
        return sig

    # combine, one stage per cycle after the last addition (whose result the registers hold from the next cycle
    # on; the next row's first addition lands on the edge that takes the snapshot, so the snapshot is the old one)
    v, mx = reg(row_summed, "comb_v1"), reg(m_row, "comb_m1", signed(w_int))
    has = [reg(has_par[p], f"comb_has1_{p}") for p in PARS]
    # the clamp min(gap, SHIFT_MAX) (a negative gap keeping its low bits, as `pipeline.clip_low_bits` does) with
    # its compare as a subtraction of its own, gap - (SHIFT_MAX + 1) < 0 from the max less SHIFT_MAX + 1 (a
    # register): the sign bit of a carry chain straight into a flip-flop, so the clamp is one LUT per bit (an OR
    # of the gap's high bits was three LUT levels, and after the gap's chain a LUT5 and a ~1 ns route)
    mx_lo = reg(m_row - (SHIFT_MAX + 1), "comb_mlo1", signed(max(w_int, 7) + 1))  # wide enough for -64
    gap = [reg(mx - acc_max[p], f"comb_gap2_{p}", signed(w_int + 1)) for p in PARS]
    fits = [reg((mx_lo - acc_max[p])[-1], f"comb_fits2_{p}") for p in PARS]
    a = [reg(acc[p], f"comb_acc2_{p}", aw) for p in PARS]
    v, mx, has = reg(v, "comb_v2"), reg(mx, "comb_m2"), [reg(h, f"comb_has2_{p}") for p, h in enumerate(has)]
    # sums that no element of this row reached (row shorter than 3) hold an older row's value: shifted by
    # SHIFT_MAX, which clears any sum (no mask on the wide sums, whose registers are spread out)
    assert aw <= SHIFT_MAX, "a shift by SHIFT_MAX must clear a sum"
    d = [reg(Mux(has[p] & fits[p], gap[p][:6], SHIFT_MAX), f"comb_d3_{p}", 6) for p in PARS]
    a = [reg(a[p], f"comb_acc3_{p}") for p in PARS]
    v, mx = reg(v, "comb_v3"), reg(mx, "comb_m3")
    # the shift in three stages of a 4:1 multiplexer each: by 16 x d[4:6], 4 x d[2:4], d[0:2]. Each fills with
    # the sum's top bit (an arithmetic shift), which is always 0 (each sum < 2^(aw - 1)): the same result as a
    # zero fill, but Yosys does not turn a constant fill into the flip-flops' synchronous resets (a LUT and a
    # long route into each slice's LSR, measured the slowest path)
    c = [reg(a[p].as_signed() >> (d[p][4:] << 4), f"comb_c4_{p}", aw) for p in PARS]
    d = [reg(d[p][:4], f"comb_d4_{p}") for p in PARS]
    v, mx = reg(v, "comb_v4"), reg(mx, "comb_m4")
    c = [reg(c[p].as_signed() >> (d[p][2:] << 2), f"comb_c5_{p}", aw) for p in PARS]
    d = [reg(d[p][:2], f"comb_d5_{p}") for p in PARS]
    v, mx = reg(v, "comb_v5"), reg(mx, "comb_m5")
    s = [reg(c[p].as_signed() >> d[p], f"comb_s5_{p}", aw) for p in PARS]
    v, mx = reg(v, "comb_v5b"), reg(mx, "comb_m5b")
    # pairs, then the total (each sum < 2^(aw - 1) and so is the total: aw + 1 bits never overflow)
    pairs = [reg(s[p] + s[p + 1] if p + 1 < len(s) else s[p], f"comb_s{p}", aw + 1) for p in range(0, len(s), 2)]
    assert len(pairs) == 2, "the combine adds two pairs (INTERLEAVE = 4)"
    v, mx = reg(v, "comb_v6"), reg(mx, "comb_m6")
    s_tot = reg(pairs[0] + pairs[1], "comb_sum", aw + 1)
    sum_valid, sum_m = reg(v, "comb_v7"), reg(mx, "comb_m7")

    sums = reg_fifo(m, "sums", width=plan.acc_width + 1 + w_int, depth=ROWS_IN_FLIGHT, w_en=sum_valid,
                    w_data=Cat(s_tot, sum_m))

    # normalise and dispatch, a five-stage pipeline: a row's sum is read from the FIFO only when the divider
    # whose turn it is is free (it is claimed then, and loaded when the row leaves this pipeline). The sum is at
    # least 1/2 (the row's largest element contributes 2^-f > 1/2), so with t = k + 1 the position of its
    # leading one above bit f - 1 (0 if none), the normalised sum is (s << 1) >> t: found per group of four
    # bits, then the group, then shifted by a multiple of four and by 0..3.
    f = plan.acc_frac
    sw = plan.acc_width + 1  # bits of the sum
    busy = [Signal(name=f"div{j}_busy") for j in range(DIVIDERS)]
    turn = Signal(DIVIDERS, name="div_turn", init=1)  # one-hot: the divider whose turn it is
    take = Signal(name="norm_take")
    m.d.comb += [take.eq(sums.r_rdy & ~(turn & Cat(*busy)).any()), sums.r_en.eq(take)]
    with m.If(take):
        m.d.sync += turn.eq(turn.rotate_left(1))
    v = reg(take, "norm_v1")
    s_a = reg(sums.r_data[:sw], "norm_s1", sw)
    m_a, j_a = reg(sums.r_data[sw:], "norm_m1", signed(w_int)), reg(turn, "norm_j1")
    top = s_a[f - 1:]  # t = index of the leading one in here, 0 if none
    groups = [top[g: g + 4] for g in range(0, len(top), 4)]
    g_any = [reg(grp != 0, f"norm_any{g}") for g, grp in enumerate(groups)]
    g_idx = [reg(_leading_one(grp), f"norm_idx{g}", 2) for g, grp in enumerate(groups)]
    v, s_b, m_b, j_b = reg(v, "norm_v2"), reg(s_a, "norm_s2"), reg(m_a, "norm_m2"), reg(j_a, "norm_j2")
    t = 0
    for g in range(len(groups)):  # the highest group with a one wins
        t = Mux(g_any[g], 4 * g + g_idx[g], t)
    t = reg(t, "norm_t", range(4 * len(groups)))
    v, s_c, m_c, j_c = reg(v, "norm_v3"), reg(s_b << 1, "norm_s3", sw + 1), reg(m_b, "norm_m3"), reg(j_b, "norm_j3")
    s_d = reg(s_c >> (t[2:] << 2), "norm_s4", sw + 1)
    t_f, k_d = reg(t[:2], "norm_tf"), reg(t - 1, "norm_k4", signed(8))
    v, m_d, j_d = reg(v, "norm_v4"), reg(m_c, "norm_m4"), reg(j_c, "norm_j4")
    sn = reg(s_d >> t_f, "norm_sn", sw + 1)
    # each divider's start, registered from the stage before (a flip-flop into its set/reset logic)
    go = [reg(v & j_d[j], f"div{j}_go") for j in range(DIVIDERS)]
    k_e, m_e = reg(k_d, "norm_k5"), reg(m_d, "norm_m5")
    shift = f - DIV_FRAC
    dv_out = Signal(DIV_FRAC + 1, name="norm_dv")
    m.d.comb += dv_out.eq(sn >> shift if shift >= 0 else sn << -shift)

    # DIVIDERS dividers taking rows in turn; all take the same number of cycles, so rows leave in order
    finished = []
    for j in range(DIVIDERS):
        with m.If(take & turn[j]):
            m.d.sync += busy[j].eq(1)
        finished.append(_divider(m, j, busy=busy[j], go=go[j], dv=dv_out, k=k_e, mx=m_e, w_int=w_int, ecp5=ecp5))
    # the finished word (each divider's own register; one finishes at a time) is selected into one more
    # register before the FIFO
    sel = finished[-1].word
    for fin in reversed(finished[:-1]):
        sel = Mux(fin.done, fin.word, sel)
    word = reg(sel, "div_word")
    word_v = reg(Cat(*(fin.done for fin in finished)).any(), "div_word_v")
    # one more register on the way to the FIFO, which sits by the replay that reads it; r = quotient + 1 there
    # (a carry chain straight from the flip-flops)
    r_bits = RECIP_FRAC + 1
    word = reg(Cat((word[:r_bits] + 1)[:r_bits], word[r_bits:]), "div_word2", len(word))
    word_v = reg(word_v, "div_word_v2")
    params = reg_fifo(m, "params", width=RECIP_FRAC + 1 + 8 + w_int, depth=ROWS_IN_FLIGHT, w_en=word_v,
                      w_data=word)
    rdata = params.r_data
    return RowParams(valid=params.r_rdy, pop=params.r_en, r=rdata[: RECIP_FRAC + 1],
                     k=rdata[RECIP_FRAC + 1: RECIP_FRAC + 9].as_signed(), m=rdata[RECIP_FRAC + 9:].as_signed())


@dataclass(frozen=True)
class _DivOut:
    busy: Signal
    done: Signal  # `word` holds a new result (one cycle)
    word: Signal


def _leading_one(bits: Value) -> Value:
    """Index (0..3) of the highest one in up to four bits (0 if none)."""
    out = Value.cast(0)
    for k in range(1, len(bits)):
        out = Mux(bits[k], k, out)
    return out


def _divider(m: Module, j: int, *, busy: Signal, go: Value, dv: Value, k: Value, mx: Value, w_int: int,
             ecp5: bool) -> _DivOut:
    """floor(2^(DIV_FRAC + RECIP_FRAC) / dv), one quotient bit every two cycles, as `restoring_reciprocal`
    computes it (non-restoring steps, same quotient); r = quotient + 1.
    `busy` is set by the caller when it claims this divider, and cleared here when the division ends."""
    run, done = Signal(name=f"div{j}_run"), Signal(name=f"div{j}_done")
    dw = DIV_FRAC + 3  # the partial remainder p lies in [-2d, 2d)
    lw = DIV_FRAC // 2  # low part of p, added in the first cycle of a step (its carry in a flip-flop)
    d = Signal(DIV_FRAC + 1, name=f"div{j}_dv", reset_less=True)
    p_lo = Signal(lw, name=f"div{j}_plo", reset_less=True)
    p_hi = Signal(dw - lw, name=f"div{j}_phi", reset_less=True)
    mid = Signal(name=f"div{j}_mid", reset_less=True)  # the low sum's top bit, shifted into p_hi
    carry = Signal(name=f"div{j}_c", reset_less=True)
    phase = Signal(name=f"div{j}_phase")
    q = Signal(RECIP_FRAC + 1, name=f"div{j}_q", reset_less=True)
    kk, mm = Signal(signed(8), name=f"div{j}_k"), Signal(signed(w_int), name=f"div{j}_m")
    it = Signal(range(RECIP_FRAC + 2), name=f"div{j}_it")
    last = Signal(name=f"div{j}_last")
    # non-restoring: p + d if p < 0 else p - d, as one adder (operand and carry in chosen by p's sign bit; the
    # carry in rides on an extra low bit), and the result shifted straight into p. It makes the same quotient
    # bit decisions as the restoring division of the model (p is the restoring remainder, or that minus 2d after
    # a step that did not fit), without a multiplexer after the carry chain. The adder is split in two halves,
    # one per cycle (the low half's carry out in a flip-flop). The high half's operand (+d or ~d) is registered
    # while the low half adds (p's sign, p_hi's top bit, is unchanged then), so that cycle is a flip-flop, half
    # a carry chain and a flip-flop; the low half, the shorter one, chooses its operand in a LUT in front of its
    # chain (registering it too, from the high sum's next-to-top bit, put a LUT and a long route after the high
    # chain: measured slower).
    neg = p_hi[-1]
    d_ext = Cat(d, Const(0, dw - len(d)))
    op_hi = Signal(dw - lw, name=f"div{j}_ophi", reset_less=True)
    # bits 1..lw: the sum, lw + 1: the carry (on the ECP5 the operand's XOR sits in the carry chain's own LUTs)
    if ecp5:
        low = ecp5_add_xor(m, Cat(Const(1, 1), p_lo), Cat(Const(0, 1), d_ext[:lw]), neg, f"div{j}_low")
    else:
        low = Cat(Const(1, 1), p_lo) + Cat(~neg, d_ext[:lw] ^ Cat(*([~neg] * lw)))
    high = (Cat(Const(1, 1), p_hi) + Cat(carry, op_hi))[1: dw - lw + 1]
    # a division starts only on an idle divider (`busy` keeps the next `go` off until this one has ended), so
    # `done` needs no term of `go`
    m.d.sync += done.eq(run & phase & last)
    with m.If(go):
        p0 = 1 << DIV_FRAC
        m.d.sync += [d.eq(dv), p_lo.eq(p0 & (2**lw - 1)), p_hi.eq(p0 >> lw), q.eq(0), it.eq(0), last.eq(0),
                     run.eq(1), phase.eq(0), kk.eq(k), mm.eq(mx)]
    with m.Elif(run):
        m.d.sync += phase.eq(~phase)
        with m.If(~phase):
            m.d.sync += [p_lo.eq(low[1:lw] << 1), mid.eq(low[lw]), carry.eq(low[lw + 1]),
                         op_hi.eq(d_ext[lw:] ^ Cat(*([~neg] * (dw - lw))))]
        with m.Else():
            # q collects the inverted quotient bits (the sign bits themselves: no LUT after the chain)
            m.d.sync += [q.eq((q << 1) | high[-1]), p_hi.eq(Cat(mid, high[:-1])), it.eq(it + 1),
                         last.eq(it == RECIP_FRAC - 1)]
            with m.If(last):
                m.d.sync += [run.eq(0), busy.eq(0)]
    # the quotient (r - 1) into a register of its own a cycle after the last step (a new division may start
    # meanwhile); r = quotient + 1 is added after the dividers' words are selected (`normaliser`)
    word = Signal(RECIP_FRAC + 1 + 8 + w_int, name=f"div{j}_word")
    word_done = Signal(name=f"div{j}_word_done")
    m.d.sync += word_done.eq(done)
    with m.If(done):
        m.d.sync += word.eq(Cat(~q, kk, mm))
    return _DivOut(busy=busy, done=word_done, word=word)
