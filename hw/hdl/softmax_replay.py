"""Pass 2 of the softmax unit: replay each stored row through a second exponential pipeline against the row's
max, multiply by its reciprocal and round, one element per cycle, rows back to back. The pipeline runs free and
ends in an output FIFO with credits (`credit.py`): an element is issued only while the FIFO has room for all in
flight, so nothing in it waits on the consumer's `o.ready` and no enable has to reach every stage at once.

p = 2^(x2 - m) * r >> (2 RECIP_FRAC - out_frac + k), rounded and clipped to 1.0 (`softmax_model`). Each element
carries its row's (m, r, shift) with it, so that rows of any length may follow each other in the pipeline.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned

from hw.hdl.credit import credit_fifo
from hw.hdl.pipeline import Stages, clip_low_bits, rshift_round
from hw.hdl.softmax_model import EXP_FRAC, LOG2E_FRAC, RECIP_FRAC, SoftmaxPlan
from hw.hdl.softmax_norm import RowParams

#: output FIFO entries: more than the replay pipeline's latency plus the credit check's margin (full rate)
OUT_FIFO_DEPTH = 64


def replay(m: Module, plan: SoftmaxPlan, *, params: RowParams, lengths, rdata: Value, o, raddr: Signal,
           rptr: Signal, ecp5: bool = False) -> Signal:
    """Add pass 2 to `m`: drive the buffer's read address `raddr` (data two cycles later) and pointer `rptr`,
    and stream `o`. Returns a pulse when a row's replay starts."""
    from hw.hdl.softmax import EXP2_DIFF_STAGES, exp2, exp2_diff, exp2_stages, shift_stages

    # free running (elements enter only while the output FIFO has room for them); only valid bits reset
    st = Stages(m, Const(1), reset_less=True, ecp5_luts=ecp5)
    en = Signal(name="issue_ok")  # the FIFO's credit check (a flip-flop): the replay may issue this cycle
    n_max = plan.max_len
    issuing, left_zero = Signal(name="issuing"), Signal(name="left_zero")
    w = len(Signal(range(n_max + 1)))
    # elements of the row still to issue after this one, minus one: its sign bit is `left_zero` (no comparator)
    rem = Signal(signed(w + 1), name="rem")
    w_int = plan.max_int_bits
    cur_m, cur_r = Signal(signed(w_int), name="cur_m"), Signal(RECIP_FRAC + 1, name="cur_r")
    # the row's final shift, clipped to six bits (any shift of 64 or more clears the product, as 63 does)
    cur_sh = Signal(6, name="cur_sh")
    nxt_sh = Signal(range(2 * RECIP_FRAC + 64), name="nxt_sh")
    issue, start, fetch = Signal(name="issue"), Signal(name="start"), Signal(name="fetch")
    # the next row's (length, m, r, shift) are fetched from the FIFOs into registers ahead of its start, so
    # that the FIFOs' read side does not depend on `en` (the credit check). A row can start three cycles after
    # the previous start (full rate for rows of 3 and more). `en` only enables flip-flops here; what they load
    # is decided by flip-flops alone.
    nxt_valid, nxt_rem = Signal(name="nxt_valid"), Signal.like(rem, name="nxt_rem")
    nxt_m, nxt_r = Signal.like(cur_m, name="nxt_m"), Signal.like(cur_r, name="nxt_r")
    # `would_start` (the next row starts at the next issue: nxt_valid & (~issuing | left_zero)) is itself a
    # flip-flop, loaded with what that expression will be after this edge, so that `start` is one LUT (with
    # `en`) from flip-flops. That needs the sign of rem - 1 as well: `rem2` counts alongside, one lower.
    would_start = Signal(name="would_start")
    rem2, nxt_rem2 = Signal.like(rem, name="rem2"), Signal.like(rem, name="nxt_rem2")
    # the FIFOs are told of a fetch a cycle later (`fetch_r`: their output registers stay loaded meanwhile, and
    # nxt_valid keeps a second fetch off), so that no path runs FIFO -> replay -> FIFO within a cycle
    fetch_r = Signal(name="fetch_r")
    m.d.sync += fetch_r.eq(fetch)
    m.d.comb += [left_zero.eq(rem[-1]), issue.eq(en & issuing),
                 start.eq(en & would_start), fetch.eq(~nxt_valid & params.valid & lengths.r_rdy),
                 params.pop.eq(fetch_r), lengths.r_en.eq(fetch_r), raddr.eq(rptr[: len(raddr)])]
    with m.If(fetch):
        m.d.sync += [nxt_valid.eq(1), nxt_rem.eq(lengths.r_data[:w] - 1), nxt_rem2.eq(lengths.r_data[:w] - 2),
                     nxt_m.eq(params.m), nxt_r.eq(params.r),
                     nxt_sh.eq(2 * RECIP_FRAC - plan.out_fmt.frac_bits + params.k)]
    with m.Elif(start):
        m.d.sync += nxt_valid.eq(0)
    with m.If(issue):
        m.d.sync += rptr.eq(rptr + 1)
    # the countdown and `issuing` load on `en` alone (one LUT level from flip-flops to their inputs); the
    # countdown may run on while nothing is issued: it is reloaded before it is read again
    nxt_valid_next = nxt_valid | fetch  # when no row starts
    with m.If(en):
        m.d.sync += [rem.eq(Mux(would_start, nxt_rem, rem - 1)), rem2.eq(Mux(would_start, nxt_rem2, rem2 - 1)),
                     issuing.eq(would_start | (issuing & ~left_zero)),
                     # after a start nxt_valid is 0; otherwise `issuing` becomes issuing & ~left_zero and the
                     # sign of rem that of rem2
                     would_start.eq(~would_start & nxt_valid_next & (~(issuing & ~left_zero) | rem2[-1]))]
    with m.Else():
        m.d.sync += would_start.eq(nxt_valid_next & (~issuing | left_zero))
    with m.If(start):
        m.d.sync += [cur_m.eq(nxt_m), cur_r.eq(nxt_r), cur_sh.eq(clip_low_bits(nxt_sh, 6))]

    tags = {"v": st.reg(issue, "rv0", reset_less=False), "last": st.reg(left_zero, "rlast0"), "m": st.reg(cur_m, "rm0"),
            "r": st.reg(cur_r, "rr0"), "sh": st.reg(cur_sh, "rsh0")}

    def advance(n: int, name: str) -> None:
        for key in tags:
            tags[key] = st.delay(tags[key], n, f"r{key}_{name}", reset_less=False if key == "v" else None)

    advance(1, "buf")  # the buffer's data arrives two enabled edges after its address
    x = st.reg(rdata, "rx")
    advance(1, "x")
    prod, n_l = st.mul(x, plan.log2e, "rlmul")
    x2 = st.reg(rshift_round(prod, plan.in_fmt.frac_bits), "rx2")
    advance(n_l + 1, "x2")
    diff, copies = exp2_diff(st, (tags["m"] << LOG2E_FRAC) - x2, w_int + LOG2E_FRAC + 1, prefix="r")
    advance(EXP2_DIFF_STAGES, "diff")
    e, n, _ = exp2(m, st, plan, diff, prefix="r", addr_copies=copies)
    advance(exp2_stages(), "e")
    # (e << 1) >> (n + EXP_FRAC - RECIP_FRAC), rounded: the constant part first, then by 16 x n[4:6], 4 x n[2:4],
    # n[0:2] (a 4:1 multiplexer per stage)
    tb, _ = shift_stages(st, (e << 1) >> (EXP_FRAC - RECIP_FRAC), n, "rtb")
    e18 = st.reg((tb + 1) >> 1, "re18", unsigned(RECIP_FRAC + 1))
    advance(4, "sh")
    pprod, n_p = st.mul(e18, tags["r"], "pmul")
    advance(n_p, "p")
    # (pprod << 1) >> sh in three stages of a 4:1 multiplexer each: by 16 x sh[4:6], 4 x sh[2:4], sh[0:2] (the
    # 8:1 stage of a shift by 8 x sh[3:] then by sh[:3] was critical: three LUT/PFUMX levels)
    assert len(pprod) + 1 < 2 ** len(cur_sh), "a shift by 63 must clear the product"
    tp, _ = shift_stages(st, pprod << 1, tags["sh"], "rtp")
    advance(3, "tp")
    p_max = min(plan.out_fmt.max_raw, 1 << plan.out_fmt.frac_bits)
    # round, then clip at p_max: the rounding add on the low bits beside an OR of the high ones (any of which
    # means far over p_max), then one short compare; one carry chain per stage
    w_lo = plan.out_fmt.width + 2  # 2^(w_lo - 1) > p_max
    # rounded > p_max exactly when tp[:w_lo] > 2 p_max: that compare (a carry chain's sign bit) is made beside
    # the rounding, so the last stage is one multiplexer
    rnd = st.reg((tp[:w_lo] + 1) >> 1, "p_rnd", unsigned(w_lo))
    # the OR of the high bits and the compare each go into a register of their own (combined before the
    # register, synthesis merged them into one deep cone); the last stage is one LUT per bit
    hi_or = st.reg(tp[w_lo:] != 0 if len(tp) > w_lo else 0, "p_hi_or", unsigned(1))
    hi_cmp = st.reg((Const(2 * p_max, unsigned(w_lo + 1)) - tp[:w_lo])[-1], "p_hi_cmp", unsigned(1))
    advance(1, "rnd")
    out = st.reg(Mux(hi_or | hi_cmp, p_max, rnd), "p", unsigned(plan.out_fmt.width))
    advance(1, "out")
    fifo = credit_fifo(m, issue=issue, up_valid=tags["v"], up_payload=Cat(out, tags["last"]), o=o,
                       depth=OUT_FIFO_DEPTH)
    m.d.comb += en.eq(fifo.issue_ok)
    return start
