"""The streaming softmax unit: rows in (one score per cycle), rows of probabilities out (one per cycle), both
sides at once, so that back-to-back rows stream at one element per cycle in and out.

Ports: `i` carries {data: score, last}, `o` carries {data: probability, last}; `last` marks a row's final
element; `overflow` is a sticky flag (cleared by reset only). Three parts run concurrently:
- pass 1 (this file): each score is written to a circular row buffer and, in a free-running pipeline, folded
  into the row's online max and four interleaved running sums;
- once per row (`softmax_norm`): the sums are combined, normalised and divided (two dividers in turn);
- pass 2 (`softmax_replay`): the stored scores are replayed through a second exponential pipeline and
  multiplied by the reciprocal, free running into an output FIFO with credits (`credit.py`).
A row longer than `max_len` is not emitted: its stored part is discarded, the rest of it is consumed up to its
`last`, and `overflow` goes high (rows before and after it are unaffected). The datapath computes exactly what
`softmax_model` computes (`softmax_stream_model` for the dropped rows).
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.hdl.pipeline import Stages, clip_low_bits, mul_stages, rom_slices, rom_stages, rshift_round
from hw.hdl.regfifo import reg_fifo
from hw.hdl.rowbuffer import row_buffer
from hw.hdl.softmax_model import (
    EXP_FRAC,
    INTERLEAVE,
    LOG2E_FRAC,
    ROWS_IN_FLIGHT,
    SHIFT_MAX,
    TABLE_BITS,
    SoftmaxPlan,
)
from hw.hdl.softmax_norm import normaliser
from hw.hdl.softmax_replay import replay

PARS = range(INTERLEAVE)


class Softmax(wiring.Component):
    """Softmax over rows of up to `plan.max_len` scores (`plan.in_fmt`) to probabilities (`plan.out_fmt`)."""

    def __init__(self, plan: SoftmaxPlan, ecp5_bram: bool = False):
        self.plan = plan
        self.ecp5_bram = ecp5_bram  # row buffer as DP16KDs with output register (softmax_ecp5.v)
        in_layout = data.StructLayout({"data": signed(plan.in_fmt.width), "last": unsigned(1)})
        out_layout = data.StructLayout({"data": unsigned(plan.out_fmt.width), "last": unsigned(1)})
        super().__init__({"i": In(stream.Signature(in_layout)), "o": Out(stream.Signature(out_layout)),
                          "overflow": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        plan = self.plan
        n_max, depth = plan.max_len, plan.buffer_depth
        abits = depth.bit_length() - 1

        # input side: row position flags kept as flip-flops (no comparator between a register and a wide enable)
        cnt, cnt3 = Signal(range(n_max + 1), name="cnt"), Signal(range(INTERLEAVE), name="cnt3")
        at_first, early = Signal(init=1, name="at_first"), Signal(init=1, name="early")  # cnt == 0, cnt < INTERLEAVE
        # n_max - 2 - cnt: its sign bit is `cnt == n_max - 1` (no comparator)
        cnt_left = Signal(signed(len(cnt) + 1), init=n_max - 2, name="cnt_left")
        cnt_end = Signal(name="cnt_end")
        m.d.comb += cnt_end.eq(cnt_left[-1])
        draining = Signal()  # consuming the rest of a row longer than max_len
        wptr, row_start = Signal(abits + 1, name="wptr"), Signal(abits + 1, name="row_start")
        rptr = Signal(abits + 1)
        occupancy, space_ok = Signal(abits + 1, name="occupancy"), Signal(name="space_ok")
        rows, rows_ok = Signal(range(ROWS_IN_FLIGHT + 2), name="rows"), Signal(init=1, name="rows_ok")
        # `store` (an element accepted and stored: accept & ~draining) is one LUT from the input and `admit`, a
        # flip-flop loaded with what ~draining & space_ok & rows_ok will be after the edge
        store, row_end = Signal(name="store"), Signal(name="row_end")
        admit, draining_next = Signal(name="admit"), Signal(name="draining_next")
        last_in = self.i.payload.last
        m.d.comb += [
            self.i.ready.eq(draining | (space_ok & rows_ok)),
            store.eq(self.i.valid & admit),
            row_end.eq(store & last_in),
            # a dropped row's rest is consumed up to its last; a row reaching max_len without it starts draining
            draining_next.eq(Mux(draining, ~(self.i.valid & last_in), store & ~last_in & cnt_end)),
        ]
        # space and row-count checks are registered (the space check three cycles stale: the compare goes into a
        # flip-flop beside its carry chain and is copied to `space_ok` beside the input's logic), with that much
        # margin; a row's end is registered before it is counted or its length stored (rows_ok thus misses the
        # row ends of its last three cycles: it admits at most ROWS_IN_FLIGHT + 1 rows that have not started
        # their replay, what each per-row FIFO holds, memory and output register)
        # the read pointer comes from the replay, far off: a copy registered first (stale: only more cautious)
        space_pre, rptr_in = Signal(name="space_pre"), Signal.like(rptr, name="rptr_in")
        rows_ok_next = rows < ROWS_IN_FLIGHT - 1
        # occupancy < depth - 8 (occupancy <= depth) as a NOR of its top bit and an AND of bits 3 and up, no carry
        # chain (the compare's chain and a 2.1 ns route after it were 1024 seed 2's critical path, 5.37 ns)
        space_next = ~(occupancy[abits] | occupancy[3:abits].all())
        m.d.sync += [rptr_in.eq(rptr), occupancy.eq(wptr - rptr_in), space_pre.eq(space_next),
                     space_ok.eq(space_pre),
                     rows_ok.eq(rows_ok_next), draining.eq(draining_next),
                     admit.eq(~draining_next & space_pre & rows_ok_next)]
        row_end_r, len_r = Signal(name="row_end_r"), Signal.like(cnt, name="len_r")
        m.d.sync += [row_end_r.eq(row_end), len_r.eq(cnt)]
        # the length travels one more register towards the FIFO, which sits by the replay that reads it
        row_end_w, len_w = Signal(name="row_end_w"), Signal.like(cnt, name="len_w")
        m.d.sync += [row_end_w.eq(row_end_r), len_w.eq(len_r)]
        lengths = reg_fifo(m, "lengths", width=len(cnt), depth=ROWS_IN_FLIGHT, w_en=row_end_w, w_data=len_w)

        with m.If(store):
            m.d.sync += [wptr.eq(wptr + 1), cnt.eq(cnt + 1), at_first.eq(0),
                         early.eq(early & (cnt3 != INTERLEAVE - 1)), cnt_left.eq(cnt_left - 1),
                         cnt3.eq(Mux(cnt3 == INTERLEAVE - 1, 0, cnt3 + 1))]
            with m.If(self.i.payload.last | cnt_end):
                m.d.sync += [cnt.eq(0), cnt3.eq(0), at_first.eq(1), early.eq(1), cnt_left.eq(n_max - 2)]
            with m.If(~self.i.payload.last & cnt_end):  # the row is longer than max_len: drop what is stored
                # (a row's start is loaded a cycle after its predecessor's end; only a max_len of 1 can overflow
                # in that cycle, when the row starts at wptr)
                drop_to = Mux(row_end_r, wptr, row_start) if n_max == 1 else row_start
                m.d.sync += [wptr.eq(drop_to), self.overflow.eq(1)]
        # the next row's start, loaded from the registered row end (wptr is then one past the row's last
        # element): admit -> store -> row end -> row_start's enable was 4096 seed 1's critical path, 5.01 ns
        with m.If(row_end_r):
            m.d.sync += row_start.eq(wptr)

        raddr = Signal(abits, name="raddr")
        rdata = row_buffer(m, width=plan.in_fmt.width, depth=depth, en=Const(1), waddr=wptr[:abits],
                           wdata=self.i.payload.data, we=store, raddr=raddr, ecp5=self.ecp5_bram)

        # pass 1, free running: the stored elements of a dropped row are never `last`, so they end no row
        st = Stages(m, Const(1), reset_less=True, ecp5_luts=self.ecp5_bram)
        tags = {"v": st.reg(store, "v0", reset_less=False), "first": st.reg(at_first, "first0"),
                "last": st.reg(self.i.payload.last, "last0"), "early": st.reg(early, "early0"),
                "par": st.reg(cnt3, "par0")}
        x = st.reg(self.i.payload.data, "x0")
        acc, acc_max, row_summed, m_row, has_par = _pass1(m, st, plan, tags, x)

        params = normaliser(m, plan, row_summed=row_summed, acc=acc, acc_max=acc_max, m_row=m_row,
                            has_par=has_par, ecp5=self.ecp5_bram)
        started = replay(m, plan, params=params, lengths=lengths, rdata=rdata, o=self.o,
                         raddr=raddr, rptr=rptr, ecp5=self.ecp5_bram)
        # counted two cycles late (fewer LUT levels to the counter; the replay is far from the input side, the
        # second register is on the way): rows_ok only gets more cautious
        started_r0, started_r = Signal(name="started_r0"), Signal(name="started_r")
        m.d.sync += [started_r0.eq(started), started_r.eq(started_r0)]
        with m.If(row_end_r & ~started_r):
            m.d.sync += rows.eq(rows + 1)
        with m.Elif(started_r & ~row_end_r):
            m.d.sync += rows.eq(rows - 1)
        return m


def _pass1(m: Module, st: Stages, plan: SoftmaxPlan, tags: dict, x):
    """Online max and INTERLEAVE interleaved sums; returns (sums, their maxima, row_summed, row max, has_par)."""

    def advance(n: int, name: str) -> None:
        for key in tags:
            tags[key] = st.delay(tags[key], n, f"{key}_{name}", reset_less=False if key == "v" else None)

    # x2 = x * log2(e), 16 fraction bits; c = ceil(x2)
    prod, n_l = st.mul(x, plan.log2e, "lmul")
    x2 = st.reg(rshift_round(prod, plan.in_fmt.frac_bits), "x2")
    advance(n_l + 1, "x2")
    w_max = plan.max_int_bits
    flip = 1 << (w_max - 1)  # offset binary (sign bit inverted): a signed compare as an unsigned subtraction
    # c in offset binary straight from the carry chain: the flip (+2^(w_max - 1)) folded into the constant added
    # (a multiple of 2^LOG2E_FRAC, so the floor commutes with it); c itself is taken back from it a stage later
    c_ob_val = (x2 + (2**LOG2E_FRAC - 1 + (flip << LOG2E_FRAC))) >> LOG2E_FRAC
    c_ob = st.reg(c_ob_val[:w_max].as_unsigned(), "c_ob", unsigned(w_max))
    x2 = st.reg(x2, "x2c")
    advance(1, "c")

    # running integer max. The comparison is made one stage early against the max as it will be (the current
    # max, updated by the element one stage ahead), so that the loop itself is one LUT level.
    m_run = Signal(signed(plan.max_int_bits))
    # the max 1 .. INTERLEAVE elements ago (the last is the max the element's own sum was last scaled to)
    m_hist = [m_run] + [Signal(signed(plan.max_int_bits), name=f"m_run{k + 1}") for k in PARS[1:]]
    ahead_upd, ahead_first = Signal(name="ahead_upd"), Signal(name="ahead_first")
    ahead_c_ob = Signal(unsigned(w_max), name="ahead_c_ob")
    m_run_ob = Signal(unsigned(w_max), name="m_run_ob", init=flip)  # m_run in offset binary

    def greater(a_ob, b_ob):
        """a > b for offset-binary operands: the sign of b - a, a carry chain's last sum bit (no LUT after)."""
        return (b_ob - a_ob)[-1]

    # the two comparisons go straight into flip-flops (a carry chain each); they are combined after the register,
    # in the LUT that selects the new max (combining them before it made this the unit's critical path)
    gt_run, gt_ahead = st.reg(greater(c_ob, m_run_ob), "gt_run"), st.reg(greater(c_ob, ahead_c_ob), "gt_ahead")
    upd_r, first_r = st.reg(ahead_upd, "gt_upd"), st.reg(ahead_first, "gt_first")
    gt = Mux(upd_r, Mux(first_r, gt_ahead, gt_run & gt_ahead), gt_run)
    c, c_ob, x2 = st.reg((c_ob ^ flip).as_signed(), "c_m"), st.reg(c_ob, "c_ob_m"), st.reg(x2, "x2g")
    advance(1, "gt")
    m.d.comb += [ahead_upd.eq(tags["v"]), ahead_first.eq(tags["first"]), ahead_c_ob.eq(c_ob)]
    take = tags["first"] | gt
    m_new = Mux(take, c, m_run)
    with m.If(tags["v"]):
        m.d.sync += [m_run.eq(m_new), m_run_ob.eq(Mux(take, c_ob, m_run_ob))]
        m.d.sync += [m_hist[k].eq(m_hist[k - 1]) for k in PARS[1:]]
    mb, mprev3, x2 = st.reg(m_new, "mb"), st.reg(m_hist[-1], "mprev"), st.reg(x2, "x2m")
    advance(1, "m")
    tags["mb"] = mb
    step = st.delay(mb - mprev3, EXP2_DIFF_STAGES, "step")
    diff, copies = exp2_diff(st, (mb << LOG2E_FRAC) - x2, plan.max_int_bits + LOG2E_FRAC + 1)
    advance(EXP2_DIFF_STAGES, "diff")

    # 2^-f: table look-up (LUT ROMs, registered) and linear interpolation
    e, n, d = exp2(m, st, plan, diff, extra=Mux(tags["early"], SHIFT_MAX, clip_low_bits(step, 6)),
                   addr_copies=copies)
    advance(exp2_stages(), "e")

    # e >> n, rounded, into the accumulator's precision: shift by 16 x n[4:6], 4 x n[2:4], n[0:2] (a 4:1
    # multiplexer per stage), round
    ta, _ = shift_stages(st, e << (plan.acc_frac - EXP_FRAC + 1), n, "ta")
    d = st.delay(d, 3, "d_s")
    advance(3, "sh")
    # each sum's own copy of its elements' shift (loaded only for them: four distinct registers, each with a
    # quarter of the fan-out, beside its sum's shifter)
    d_a = [_load(m, d, tags["par"] == par, f"acc_da_{par}") for par in PARS]
    e_acc = st.reg((ta + 1) >> 1, "eacc", unsigned(plan.acc_frac + 1))
    advance(1, "sh2")

    # INTERLEAVE (4) interleaved sums (element j into sum j mod 4), sum <- (sum >> d) + e in four cycles, one
    # step each: shift by 16 x d[4:6], by 4 x d[2:4], by d[0:2] (a 4:1 multiplexer each), add. Each sum has its
    # own shifter, running free straight from its flip-flops (what it computes for other sums' elements is never
    # used), so no cycle selects among the sums; element j reads what j - 4 wrote in the cycle before.
    aw = plan.acc_width
    acc = [Signal(aw, name=f"acc_{par}") for par in PARS]
    acc_max = [Signal(signed(plan.max_int_bits), name=f"max_{par}") for par in PARS]
    # the first INTERLEAVE elements of a row (`early`) shift by SHIFT_MAX: 48 + 12 + 3 bits clear any sum, no mask
    assert aw <= SHIFT_MAX, "an early element's shift must clear the sum"
    sh = [st.reg(acc[par] >> (d_a[par][4:6] << 4), f"acc_ra_{par}", unsigned(aw)) for par in PARS]
    d_b = [_load(m, d_a[par][:4], tags["par"] == par, f"acc_db_{par}") for par in PARS]
    e1 = st.reg(e_acc, "e1")
    advance(1, "acc_a")
    sh = [st.reg(sh[par] >> (d_b[par][2:4] << 2), f"acc_rb_{par}", unsigned(aw)) for par in PARS]
    d_c = [_load(m, d_b[par][:2], tags["par"] == par, f"acc_dc_{par}") for par in PARS]
    e1 = st.reg(e1, "e2")
    advance(1, "acc_b")
    # the add: one adder per sum, each fed by its own copy of the operands, beside its sum's flip-flops
    new_tags = {key: st.delay(val, 1, f"{key}_acc_sh", reset_less=False if key == "v" else None)
                for key, val in tags.items()}
    for par in PARS:
        sh_p = st.reg(sh[par] >> d_c[par], f"acc_sh_{par}", unsigned(aw))
        e_p = _load(m, e1, tags["par"] == par, f"e3_{par}")
        # the sum's enable a flip-flop of its own, decided a stage ahead (v & par == p in a LUT before ~40
        # enables, its ~2 ns routes, was 4096 seed 2's critical path, 5.09 ns)
        upd_p = st.reg(tags["v"] & (tags["par"] == par), f"acc_upd_{par}", unsigned(1), reset_less=False)
        with m.If(upd_p):
            m.d.sync += [acc[par].eq(sh_p + e_p), acc_max[par].eq(new_tags["mb"])]
    tags.update(new_tags)
    row_summed = Signal()
    m.d.comb += row_summed.eq(tags["v"] & tags["last"])
    has_par = [~tags["early"] | (tags["par"] >= par) for par in PARS]  # length > par
    return acc, acc_max, row_summed, tags["mb"], has_par


def shift_stages(st: Stages, value, n, name: str):
    """`value` >> `n` (six bits) in three registered stages of a 4:1 multiplexer each: by 16 x n[4:6], by
    4 x n[2:4], by n[0:2]. Returns (the shifted value, the last stage's shift bits)."""
    value = Value.cast(value)
    a = st.reg(value >> (n[4:6] << 4), f"{name}_a", value.shape())
    n_b = st.reg(n[:4], f"{name}_nb")
    b = st.reg(a >> (n_b[2:4] << 2), f"{name}_b", value.shape())
    n_c = st.reg(n_b[:2], f"{name}_nc")
    return st.reg(b >> n_c, name, value.shape()), n_c


def _load(m: Module, value, en, name: str) -> Signal:
    """A datapath register (no reset) loaded with `value` while `en`."""
    value = Value.cast(value)
    sig = Signal(value.shape(), name=name, reset_less=True)
    with m.If(en):
        m.d.sync += sig.eq(value)
    return sig


def exp2_stages() -> int:
    """Register stages of `exp2`: the pipelined table, the interpolation multiplier (8-bit weight), its rounding,
    the difference."""
    return rom_stages(2**TABLE_BITS) + mul_stages(LOG2E_FRAC - TABLE_BITS, variable=True) + 2


#: register stages of `exp2_diff`
EXP2_DIFF_STAGES = 2


def exp2_diff(st: Stages, diff_value, width: int, prefix: str = ""):
    """The difference `diff_value` registered, then registered again beside copies of the table address's low
    bits, one per table slice (`Stages.reg_copies`: on the ECP5 only; None otherwise), all loaded from the first
    register (not from the subtraction's carry chain). Returns (diff, copies), `EXP2_DIFF_STAGES` stages on."""
    lo_bits = LOG2E_FRAC - TABLE_BITS
    diff0 = st.reg(diff_value, f"{prefix}diff0", unsigned(width))
    copies = st.reg_copies(diff0[lo_bits: lo_bits + 4], rom_slices(2**TABLE_BITS), f"{prefix}exp_addr")
    return st.reg(diff0, f"{prefix}diff"), copies


def exp2(m: Module, st: Stages, plan: SoftmaxPlan, diff, extra=None, prefix: str = "", addr_copies=None):
    """2^-(diff / 2^16) as (e with EXP_FRAC bits, shift n): table of 2^-f plus linear interpolation.

    Takes `exp2_stages()`; `extra` (optional) is delayed alongside and returned as the third value;
    `addr_copies` (optional, from `exp2_diff`) feed the table slices instead of `diff` itself."""
    t_tab, d_tab = plan.tables()
    lo_bits = LOG2E_FRAC - TABLE_BITS
    hi = diff[lo_bits:LOG2E_FRAC]
    k_rom = rom_stages(len(t_tab))
    t_val = st.rom(t_tab, hi, f"{prefix}exp_t", low_copies=addr_copies)
    d_val = st.rom(d_tab, hi, f"{prefix}exp_d", low_copies=addr_copies)
    lo, n_d = st.reg(diff[:lo_bits], "lo0"), st.reg(diff >> LOG2E_FRAC, "n0")
    d = st.reg(extra if extra is not None else 0, "d_t0", unsigned(6))
    lo = st.delay(lo, k_rom - 1, "lo")
    n = st.delay(st.reg(clip_low_bits(n_d, 6), "n", unsigned(6)), k_rom - 2, "n_r")
    d = st.delay(d, k_rom - 1, "d_t")
    iprod, n_i = st.mul(d_val, lo, "imul")
    # the rounding and the subtraction are two carry chains: one stage each (together they set the clock)
    icorr = st.reg(rshift_round(iprod, lo_bits), "icorr")
    e = st.reg(st.delay(t_val, n_i + 1, "t") - icorr, "e", unsigned(EXP_FRAC + 1))
    n, d = st.delay(n, n_i + 2, "n"), st.delay(d, n_i + 2, "d")
    return e, n, d
