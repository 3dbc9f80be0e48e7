"""Once per row, between the two passes of the softmax unit: rescale and add the four running sums, normalise
the sum to [1, 2) and divide, while the next rows stream in. Computes what `softmax_model.first_pass` computes.

Stages, each able to take a row at least every 16 cycles (so that rows of 16 and more stream at full rate):
- combine: a six-stage pipeline (gap to the row's max, clamp, shift by multiples of 8, by 0..7, add pairs, add);
- a FIFO, then normalise: one bit per cycle, at most log2(row length) + 2 cycles;
- divide: two restoring dividers (one quotient bit per cycle, 20 cycles) taking rows in turn;
- a FIFO of (r, k, max) per row, read by the replay.
No stage can overflow: the input side admits at most `ROWS_IN_FLIGHT` rows that have not started their replay.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Module, Mux, Signal, Value, signed

from hw.hdl.regfifo import reg_fifo
from hw.hdl.softmax_model import DIV_FRAC, INTERLEAVE, RECIP_FRAC, ROWS_IN_FLIGHT, SHIFT_MAX, SoftmaxPlan

PARS = range(INTERLEAVE)
DIVIDERS = 2


@dataclass(frozen=True)
class RowParams:
    """The per-row FIFO's read side: `valid` when a row's reciprocal is ready; `pop` takes it."""

    valid: Signal
    pop: Signal
    r: Value
    k: Value
    m: Value


def normaliser(m: Module, plan: SoftmaxPlan, *, row_summed: Value, acc: list[Signal], acc_max: list[Signal],
               m_row: Value, has_par: list[Value]) -> RowParams:
    """Add the once-per-row datapath to `m`. `row_summed` is high (one cycle) when a row's last element has
    been added to its sum; `acc`, `acc_max` then hold the four sums and the max each was scaled to (from the
    next cycle on), `m_row` the row's max and `has_par[p]` whether the row reached sum p (length > p)."""
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
    gap = [reg(mx - acc_max[p], f"comb_gap2_{p}", signed(w_int + 1)) for p in PARS]
    a = [reg(acc[p], f"comb_acc2_{p}", aw) for p in PARS]
    v, mx, has = reg(v, "comb_v2"), reg(mx, "comb_m2"), [reg(h, f"comb_has2_{p}") for p, h in enumerate(has)]
    d = [reg(Mux(gap[p] > SHIFT_MAX, SHIFT_MAX, gap[p]), f"comb_d3_{p}", 6) for p in PARS]
    a = [reg(a[p], f"comb_acc3_{p}") for p in PARS]
    v, mx, has = reg(v, "comb_v3"), reg(mx, "comb_m3"), [reg(h, f"comb_has3_{p}") for p, h in enumerate(has)]
    c = [reg(a[p] >> (d[p][3:] << 3), f"comb_c4_{p}", aw) for p in PARS]
    fine = [reg(d[p][:3], f"comb_f4_{p}") for p in PARS]
    v, mx, has = reg(v, "comb_v4"), reg(mx, "comb_m4"), [reg(h, f"comb_has4_{p}") for p, h in enumerate(has)]
    # sums that no element of this row reached (row shorter than 3) hold an older row's value: masked
    s = [reg(Mux(has[p], c[p] >> fine[p], 0), f"comb_s5_{p}", aw) for p in PARS]
    v, mx = reg(v, "comb_v5"), reg(mx, "comb_m5")
    # pairs, then the total (each sum < 2^(aw - 1) and so is the total: aw + 1 bits never overflow)
    pairs = [reg(s[p] + s[p + 1] if p + 1 < len(s) else s[p], f"comb_s{p}", aw + 1) for p in range(0, len(s), 2)]
    assert len(pairs) == 2, "the combine adds two pairs (INTERLEAVE = 4)"
    v, mx = reg(v, "comb_v6"), reg(mx, "comb_m6")
    s_tot = reg(pairs[0] + pairs[1], "comb_sum", aw + 1)
    sum_valid, sum_m = reg(v, "comb_v7"), reg(mx, "comb_m7")

    sums = reg_fifo(m, "sums", width=plan.acc_width + 1 + w_int, depth=ROWS_IN_FLIGHT, w_en=sum_valid,
                    w_data=Cat(s_tot, sum_m))

    # normalise: sn to [1, 2) one bit per cycle; flags for the next step come from slices of the current value
    f = plan.acc_frac
    sn, k = Signal(plan.acc_width + 1, name="sn"), Signal(signed(8), name="k")
    sn_hi, sn_lo = Signal(name="sn_hi"), Signal(name="sn_lo")
    norm_m = Signal(signed(w_int))
    busy, flags_ok, done = Signal(name="busy"), Signal(name="flags_ok"), Signal(name="done")
    dv_out = Signal(DIV_FRAC + 1)
    m.d.comb += sums.r_en.eq(~busy)
    with m.If(~busy & sums.r_rdy):
        m.d.sync += [sn.eq(sums.r_data[: plan.acc_width + 1]), norm_m.eq(sums.r_data[plan.acc_width + 1:]),
                     k.eq(0), busy.eq(1), flags_ok.eq(0), done.eq(0)]
    with m.Elif(busy & ~flags_ok):
        m.d.sync += [sn_hi.eq(sn[f + 1:] != 0), sn_lo.eq(sn[f:] == 0), flags_ok.eq(1)]
    with m.Elif(busy & ~done):
        with m.If(sn_hi):
            m.d.sync += [sn.eq(sn >> 1), k.eq(k + 1), sn_hi.eq(sn[f + 2:] != 0)]
        with m.Elif(sn_lo):
            m.d.sync += [sn.eq(sn << 1), k.eq(k - 1), sn_lo.eq(sn[f - 1:] == 0)]
        with m.Else():
            m.d.sync += done.eq(1)
    shift = f - DIV_FRAC
    m.d.comb += dv_out.eq(sn >> shift if shift >= 0 else sn << -shift)

    # two dividers taking rows in turn; all take the same number of cycles, so rows leave in order
    turn = Signal(range(DIVIDERS))
    dispatch = Signal()
    finished = []
    for j in range(DIVIDERS):
        go = Signal(name=f"div{j}_go")
        m.d.comb += go.eq(dispatch & (turn == j))
        finished.append(_divider(m, j, go=go, dv=dv_out, k=k, mx=norm_m, w_int=w_int))
    m.d.comb += dispatch.eq(busy & done & ~Mux(turn == 0, finished[0].busy, finished[1].busy))
    with m.If(dispatch):
        m.d.sync += [busy.eq(0), turn.eq(turn + 1 if DIVIDERS > 2 else ~turn)]
    # the finished word (each divider's own register) is selected into one more register before the FIFO
    word = reg(Mux(finished[0].done, finished[0].word, finished[1].word), "div_word")
    word_v = reg(finished[0].done | finished[1].done, "div_word_v")
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


def _divider(m: Module, j: int, *, go: Value, dv: Value, k: Value, mx: Value, w_int: int) -> _DivOut:
    """Restoring division 2^(DIV_FRAC + RECIP_FRAC) / dv, one quotient bit per cycle; r = quotient + 1."""
    busy, done = Signal(name=f"div{j}_busy"), Signal(name=f"div{j}_done")
    d = Signal(DIV_FRAC + 1, name=f"div{j}_dv")
    rem, q = Signal(DIV_FRAC + 2, name=f"div{j}_rem"), Signal(RECIP_FRAC + 1, name=f"div{j}_q")
    kk, mm = Signal(signed(8), name=f"div{j}_k"), Signal(signed(w_int), name=f"div{j}_m")
    it = Signal(range(RECIP_FRAC + 2), name=f"div{j}_it")
    last = Signal(name=f"div{j}_last")
    m.d.sync += done.eq(0)
    with m.If(go):
        m.d.sync += [d.eq(dv), rem.eq(1 << DIV_FRAC), q.eq(0), it.eq(0), last.eq(0), busy.eq(1), kk.eq(k),
                     mm.eq(mx)]
    with m.Elif(busy):
        trial = rem - d  # one carry chain; its sign says whether d fits
        ge = ~trial[-1]
        m.d.sync += [q.eq((q << 1) | ge), rem.eq(Mux(ge, trial, rem) << 1), it.eq(it + 1),
                     last.eq(it == RECIP_FRAC - 1)]
        with m.If(last):
            m.d.sync += [busy.eq(0), done.eq(1)]
    # r = q + 1 into a register of its own a cycle after the last step (a new division may start meanwhile)
    word = Signal(RECIP_FRAC + 1 + 8 + w_int, name=f"div{j}_word")
    word_done = Signal(name=f"div{j}_word_done")
    m.d.sync += word_done.eq(done)
    with m.If(done):
        m.d.sync += word.eq(Cat((q + 1)[: RECIP_FRAC + 1], kk, mm))
    return _DivOut(busy=busy, done=word_done, word=word)
