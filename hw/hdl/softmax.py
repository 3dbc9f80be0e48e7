"""The streaming softmax unit: rows in (one score per cycle), rows of probabilities out (one per cycle).

Ports: `i` carries {data: score, last}, `o` carries {data: probability, last}; `last` marks a row's final
element. A row is stored in a block RAM while the online max and sum are accumulated (pass 1); then one
reciprocal is computed (normalise + restoring division, ~30 cycles) and the stored scores are replayed
through the same exponential pipeline and multiplied by it (pass 2). Rows longer than `max_len` are cut
at `max_len` elements (the element there is treated as `last`). The datapath computes exactly what
`softmax_model` computes.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.hdl.pipeline import Stages, lut_rom, rshift_round
from hw.hdl.rowbuffer import row_buffer
from hw.hdl.softmax_model import (
    DIV_FRAC,
    EXP_FRAC,
    INTERLEAVE,
    LOG2E_FRAC,
    RECIP_FRAC,
    SHIFT_MAX,
    TABLE_BITS,
    SoftmaxPlan,
)

STATES = ("IN", "WAIT", "COMB0", "COMB0B", "COMB1", "COMB1B", "COMB2", "COMB2B", "NORMF", "NORM", "DIV", "ISSUE")
IN, WAIT, COMB0, COMB0B, COMB1, COMB1B, COMB2, COMB2B, NORMF, NORM, DIV, ISSUE = range(len(STATES))
PARS = range(INTERLEAVE)


class Softmax(wiring.Component):
    """Softmax over rows of up to `plan.max_len` scores (`plan.in_fmt`) to probabilities (`plan.out_fmt`)."""

    def __init__(self, plan: SoftmaxPlan, ecp5_bram: bool = False):
        self.plan = plan
        self.ecp5_bram = ecp5_bram  # row buffer as a DP16KD with output register (synthesis only)
        in_layout = data.StructLayout({"data": signed(plan.in_fmt.width), "last": unsigned(1)})
        out_layout = data.StructLayout({"data": unsigned(plan.out_fmt.width), "last": unsigned(1)})
        super().__init__({"i": In(stream.Signature(in_layout)), "o": Out(stream.Signature(out_layout))})

    def elaborate(self, platform) -> Module:  # noqa: PLR0915 - one pipeline, read top to bottom
        m = Module()
        plan = self.plan
        n_max = plan.max_len
        en = Signal()
        m.d.comb += en.eq(~self.o.valid | self.o.ready)
        st = Stages(m, en)

        # one-hot state: one flip-flop per state, so that no state decoder sits in a control path
        at = [Signal(init=int(n == IN), name=f"at_{name.lower()}") for n, name in enumerate(STATES)]
        cnt, length, icnt = Signal(range(n_max + 1)), Signal(range(n_max + 1)), Signal(range(n_max + 1))
        accept, issue = Signal(), Signal()
        is_in, is_issue = at[IN], at[ISSUE]
        m.d.comb += [self.i.ready.eq(en & is_in), accept.eq(self.i.valid & self.i.ready),
                     issue.eq(en & is_issue)]

        def goto(source: int, target: int) -> list:
            return [at[source].eq(0), at[target].eq(1)]

        cnt3 = Signal(range(INTERLEAVE))  # cnt mod INTERLEAVE: which running sum the element goes to
        cnt_end = Signal(init=int(n_max == 1))  # cnt == n_max - 1, kept as a flag (no comparator in the path)
        left = Signal(range(n_max + 1))  # pass 2: elements still to issue after this one
        left_zero = Signal()  # left == 0, as a flip-flop
        in_last = self.i.payload.last | cnt_end

        rdata = row_buffer(m, width=plan.in_fmt.width, depth=n_max, en=en, waddr=cnt, wdata=self.i.payload.data,
                           we=accept, raddr=icnt, ecp5=self.ecp5_bram)

        # stage 0: a score from the input (pass 1) or from the buffer (pass 2), with its tags
        tags = {"v": st.reg(accept | issue, "v0"), "ph2": st.reg(issue, "ph2_0"),
                "first": st.reg(Mux(issue, icnt == 0, cnt == 0), "first0"),
                "last": st.reg(Mux(issue, left_zero, in_last), "last0"),
                "early": st.reg(cnt < INTERLEAVE, "early0"), "par": st.reg(cnt3, "par0")}
        x0 = st.reg(self.i.payload.data, "x0")

        def advance(n: int, name: str) -> None:
            for key in tags:
                tags[key] = st.delay(tags[key], n, f"{key}_{name}")

        # the buffer's data arrives two enabled edges after its address (read register + output register)
        advance(1, "buf")
        x = st.reg(Mux(tags["ph2"], rdata, st.reg(x0, "x0b")), "xsel")
        advance(1, "xsel")

        # x2 = x * log2(e), 16 fraction bits; c = ceil(x2)
        prod, n_l = st.mul(x, plan.log2e, "lmul")
        x2 = st.reg(rshift_round(prod, plan.in_fmt.frac_bits), "x2")
        advance(n_l + 1, "x2")
        c = st.reg((x2 + (2**LOG2E_FRAC - 1)) >> LOG2E_FRAC, "c", signed(plan.max_int_bits))
        x2 = st.reg(x2, "x2c")
        advance(1, "c")

        # running integer max (pass 1) or the row's max (pass 2). The comparison is made one stage early
        # against the max as it will be (the current max, updated by the element one stage ahead), so that the
        # loop itself is one LUT level: m <- (first | greater) ? c : m.
        m_run = Signal(signed(plan.max_int_bits))
        m_run2 = Signal(signed(plan.max_int_bits))  # the max two elements ago
        m_run3 = Signal(signed(plan.max_int_bits))  # the max three elements ago (for the interleaved sums)
        m_final = Signal(signed(plan.max_int_bits))
        ahead_upd, ahead_first = Signal(), Signal()
        ahead_c = Signal(signed(plan.max_int_bits))
        flip = 1 << (plan.max_int_bits - 1)  # offset binary: a signed compare as a plain carry chain

        def greater(a, b):
            return (a.as_unsigned() ^ flip) > (b.as_unsigned() ^ flip)

        gt_run, gt_ahead = greater(c, m_run), greater(c, ahead_c)
        gt = st.reg(Mux(ahead_upd, Mux(ahead_first, gt_ahead, gt_run & gt_ahead), gt_run), "gt")
        c, x2 = st.reg(c, "c_m"), st.reg(x2, "x2g")
        advance(1, "gt")
        m.d.comb += [ahead_upd.eq(tags["v"] & ~tags["ph2"]), ahead_first.eq(tags["first"]), ahead_c.eq(c)]
        m_new = Mux(tags["first"] | gt, c, m_run)
        with m.If(en & tags["v"] & ~tags["ph2"]):
            m.d.sync += [m_run.eq(m_new), m_run2.eq(m_run), m_run3.eq(m_run2)]
        mb, mprev3, x2 = st.reg(m_new, "mb"), st.reg(m_run3, "mprev3"), st.reg(x2, "x2m")
        advance(1, "m")
        tags["mb"] = mb
        step = st.reg(mb - mprev3, "step")
        m_use = Mux(tags["ph2"], m_final, mb)
        diff = st.reg((m_use << LOG2E_FRAC) - x2, "diff", unsigned(plan.max_int_bits + LOG2E_FRAC + 1))
        advance(1, "diff")

        # 2^-f: table look-up (LUT ROMs, registered) and linear interpolation
        t_tab, d_tab = plan.tables()
        lo_bits = LOG2E_FRAC - TABLE_BITS
        hi = diff[lo_bits:LOG2E_FRAC]
        t_val = st.delay(lut_rom(m, t_tab, hi, "exp_t"), 2, "t_val")
        d_val = st.delay(lut_rom(m, d_tab, hi, "exp_d"), 2, "d_val")
        lo, n_d = st.reg(diff[:lo_bits], "lo0"), st.reg(diff >> LOG2E_FRAC, "n0")
        d = st.reg(Mux(tags["early"] | (step > SHIFT_MAX), SHIFT_MAX, step), "d_t0", unsigned(6))
        advance(1, "rom")
        lo = st.reg(lo, "lo")
        n = st.reg(Mux(n_d > SHIFT_MAX, SHIFT_MAX, n_d), "n", unsigned(6))
        d = st.reg(d, "d_t")
        advance(1, "tab")
        iprod, n_i = st.mul(d_val, lo, "imul")
        e = st.reg(st.delay(t_val, n_i, "t") - rshift_round(iprod, lo_bits), "e", unsigned(EXP_FRAC + 1))
        n, d = st.delay(n, n_i + 1, "n"), st.delay(d, n_i + 1, "d")
        advance(n_i + 1, "e")

        # e >> n, rounded: into the accumulator's precision (pass 1), to RECIP_FRAC bits (pass 2)
        ta = st.reg((e << (plan.acc_frac - EXP_FRAC + 1)) >> n, "ta")
        tb = st.reg((e << 1) >> (n + (EXP_FRAC - RECIP_FRAC)), "tb")
        e_acc = st.reg((ta + 1) >> 1, "eacc", unsigned(plan.acc_frac + 1))
        e18 = st.reg((tb + 1) >> 1, "e18", unsigned(RECIP_FRAC + 1))
        d = st.delay(d, 2, "d_s")
        advance(2, "sh")

        # pass 1: three interleaved sums (element j into sum j mod 3), sum <- (sum >> d) + e in three cycles:
        # select and shift by a multiple of 8, shift by 0..7, add (element j reads the sum j - 3 wrote)
        acc = [Signal(plan.acc_width, name=f"acc_{par}") for par in PARS]
        acc_max = [Signal(signed(plan.max_int_bits), name=f"max_{par}") for par in PARS]
        older = acc[-1]
        for par in reversed(PARS[:-1]):
            older = Mux(tags["par"] == par, acc[par], older)
        coarse = st.reg(older >> (d[3:] << 3), "acc_c", unsigned(plan.acc_width))
        d_f, early_f = st.reg(d[:3], "acc_df"), st.reg(tags["early"], "acc_early")
        e1 = st.reg(e_acc, "e1")
        shifted = st.reg(Mux(early_f, 0, coarse >> d_f), "acc_sh", unsigned(plan.acc_width))
        e1 = st.reg(e1, "e2")
        par1, mb1 = st.delay(tags["par"], 2, "par_a"), st.delay(tags["mb"], 2, "mb_a")
        upd1 = st.delay(tags["v"] & ~tags["ph2"], 2, "upd_a")
        last1 = st.delay(tags["last"], 2, "last_a")
        for par in PARS:
            with m.If(en & upd1 & (par1 == par)):
                m.d.sync += [acc[par].eq(shifted + e1), acc_max[par].eq(mb1)]
        row_summed = Signal()
        m.d.comb += row_summed.eq(en & upd1 & last1)

        # pass 2: p = e * r >> (2 RECIP_FRAC - out_frac + k), rounded and clipped to 1.0
        r = Signal(RECIP_FRAC + 1)
        shamt = Signal(range(2 * RECIP_FRAC + 64))
        pprod, n_p = st.mul(e18, r, "pmul")
        advance(n_p, "p")
        tp_c = st.reg((pprod << 1) >> (shamt[3:] << 3), "tp_c")  # shift by a multiple of 8, then by 0..7
        tp = st.reg(tp_c >> shamt[:3], "tp")
        advance(2, "tp")
        p_max = min(plan.out_fmt.max_raw, 1 << plan.out_fmt.frac_bits)
        over = tp >= 2 * p_max + 1  # (tp + 1) >> 1 > p_max, compared in parallel with the rounding add
        out = st.reg(Mux(over, p_max, (tp + 1) >> 1), "p", unsigned(plan.out_fmt.width))
        out_valid = st.reg(tags["v"] & tags["ph2"], "out_valid")  # one flip-flop drives o.valid and `en`
        advance(1, "out")
        m.d.comb += [self.o.payload.data.eq(out), self.o.payload.last.eq(tags["last"]),
                     self.o.valid.eq(out_valid)]

        # in-flight pass-2 elements: r and the shift may change only when none is left in the pipeline
        inflight = Signal(range(n_max + 256))
        # +1 and -1 come from the register alone; the late handshake signals only select (one LUT level)
        taken = self.o.valid & self.o.ready
        inflight_up, inflight_down = Signal.like(inflight), Signal.like(inflight)
        m.d.comb += [inflight_up.eq(inflight + 1), inflight_down.eq(inflight - 1)]
        with m.If(issue & ~taken):
            m.d.sync += inflight.eq(inflight_up)
        with m.Elif(taken & ~issue):
            m.d.sync += inflight.eq(inflight_down)
        # registered, so one cycle stale; safe because nothing is issued while the divider runs (it only falls)
        drained = Signal()
        m.d.sync += drained.eq(inflight == 0)
        div_done = Signal()

        sn, k = Signal(plan.acc_width + 1), Signal(signed(8))
        f = plan.acc_frac
        sn_hi, sn_lo = Signal(), Signal()  # sn >= 2.0 and sn < 1.0, as flip-flops kept in step with sn
        dv, rem, q = Signal(DIV_FRAC + 1), Signal(DIV_FRAC + 2), Signal(RECIP_FRAC + 1)
        it = Signal(range(RECIP_FRAC + 2))
        comb_d = [Signal(6, name=f"comb_d_{par}") for par in PARS]
        comb_gap = [Signal(signed(plan.max_int_bits + 1), name=f"comb_gap_{par}") for par in PARS]
        comb_c = [Signal(plan.acc_width, name=f"comb_coarse_{par}") for par in PARS]
        comb_s = [Signal(plan.acc_width, name=f"comb_s_{par}") for par in PARS]
        comb_01 = Signal(plan.acc_width + 1)
        has_par = [Signal(name=f"has_sum_{par}") for par in PARS]  # length > par, as flip-flops
        with m.If(at[IN]), m.If(accept):
            m.d.sync += [cnt.eq(cnt + 1), cnt_end.eq(cnt == n_max - 2)]
            m.d.sync += cnt3.eq(Mux(cnt3 == INTERLEAVE - 1, 0, cnt3 + 1))
            with m.If(in_last):
                m.d.sync += [length.eq(cnt + 1), cnt.eq(0), cnt3.eq(0), cnt_end.eq(n_max == 1), *goto(IN, WAIT)]
        with m.If(at[WAIT]), m.If(row_summed):
            m.d.sync += goto(WAIT, COMB0)
        # rescale the three sums to the row's max, then add: six short cycles (subtract, clamp, shift by
        # multiples of 8, shift by 0..7, add two, add the third), so that no once-per-row step sets the clock
        with m.If(at[COMB0]):
            m.d.sync += [comb_gap[par].eq(m_run - acc_max[par]) for par in PARS]
            m.d.sync += [m_final.eq(m_run), *goto(COMB0, COMB0B)]
            m.d.sync += [has_par[par].eq(length > par) for par in PARS]
        with m.If(at[COMB0B]):
            m.d.sync += [comb_d[par].eq(Mux(comb_gap[par] > SHIFT_MAX, SHIFT_MAX, comb_gap[par])) for par in PARS]
            m.d.sync += goto(COMB0B, COMB1)
        with m.If(at[COMB1]):
            m.d.sync += [comb_c[par].eq(acc[par] >> (comb_d[par][3:] << 3)) for par in PARS]
            m.d.sync += goto(COMB1, COMB1B)
        with m.If(at[COMB1B]):
            # sums that no element of this row reached (row shorter than 3) hold an older row's value
            m.d.sync += [comb_s[par].eq(Mux(has_par[par], comb_c[par] >> comb_d[par][:3], 0)) for par in PARS]
            m.d.sync += goto(COMB1B, COMB2)
        with m.If(at[COMB2]):
            m.d.sync += [comb_01.eq(comb_s[0] + comb_s[1]), *goto(COMB2, COMB2B)]
        with m.If(at[COMB2B]):
            m.d.sync += [sn.eq(comb_01 + comb_s[2]), k.eq(0), *goto(COMB2B, NORMF)]
        with m.If(at[NORMF]):
            m.d.sync += [sn_hi.eq(sn[f + 1:] != 0), sn_lo.eq(sn[f:] == 0), *goto(NORMF, NORM)]
        # normalise to [1, 2): the flags of the shifted value come from bit slices of the current one
        with m.If(at[NORM]):
            with m.If(sn_hi):
                m.d.sync += [sn.eq(sn >> 1), k.eq(k + 1), sn_hi.eq(sn[f + 2:] != 0)]
            with m.Elif(sn_lo):
                m.d.sync += [sn.eq(sn << 1), k.eq(k - 1), sn_lo.eq(sn[f - 1:] == 0)]
            with m.Else():
                shift = plan.acc_frac - DIV_FRAC
                m.d.sync += [dv.eq(sn >> shift if shift >= 0 else sn << -shift), rem.eq(1 << DIV_FRAC),
                             q.eq(0), it.eq(0), div_done.eq(0), *goto(NORM, DIV)]
        with m.If(at[DIV]):
            with m.If(~div_done):
                trial = rem - dv  # signed (Amaranth widens); one carry chain, its sign says whether dv fits
                ge = ~trial[-1]
                m.d.sync += [q.eq((q << 1) | ge), rem.eq(Mux(ge, trial, rem) << 1), it.eq(it + 1),
                             div_done.eq(it == RECIP_FRAC)]
            with m.Elif(drained):
                m.d.sync += [r.eq(q), shamt.eq(2 * RECIP_FRAC - plan.out_fmt.frac_bits + k),
                             icnt.eq(0), left.eq(length - 1), left_zero.eq(length == 1),
                             *goto(DIV, ISSUE)]
        with m.If(at[ISSUE]), m.If(en):
            m.d.sync += icnt.eq(icnt + 1)
            m.d.sync += left.eq(left - 1)
            m.d.sync += left_zero.eq(left == 1)
            with m.If(left_zero):
                m.d.sync += goto(ISSUE, IN)
        return m
