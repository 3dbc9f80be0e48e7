"""The attention engine: K/V and Q buffers in memories, a micro-op sequencer, the 2D and 1D arrays, O out.

Ports: `i` (stream of `plan.in_bits`-bit beats, see `model.engine_payloads`) and `o` (stream of `plan.out_bits`
bit beats, one column of O per beat). The input side loads K and V of a head, then query tiles into a double
buffer (the next tile loads while one computes); the output side sends a finished tile from its own registers
while the next one computes. `i.ready` and `o.valid` are registers or functions of registers only.

The sequencer issues one micro-op per cycle; memories are read at issue and the op executes the next cycle. Per
key block (stage lengths in `plan.block_cycles`): stage 0 the 2D array does E MACs then the column max LM, beside
the 1D array's RD and RNV of the previous block; stage 1 RM; stage 2 SLN = exp(BQK - RM) and its column sum SLD
beside PRM = exp(RM_old - RM) and SPD; stage 3 SLNV (one column sum of SLN x V per f) beside SPNV. After the last
block: its RD and RNV, then F divisions per query (17 cycles each), then O is handed to the output side.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.hdl.attention.lanes import divide_step, divider, exp_regs, exp_step
from hw.hdl.attention.plan import DIV_STEPS, EXP_STEPS, P_FRAC, AttentionPlan

IDLE, BLK, FIN, AV, WAIT, HAND = range(6)


class AttentionEngine(wiring.Component):
    """The 1-pass attention cascade on a rows x cols 2D array and a cols-PE 1D array (see the module docstring)."""

    def __init__(self, plan: AttentionPlan):
        self.plan = plan
        super().__init__({"i": In(stream.Signature(unsigned(plan.in_bits))),
                          "o": Out(stream.Signature(unsigned(plan.out_bits)))})

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.plan
        R, C, E, B, T = p.rows, p.cols, p.head_dim, p.blocks, p.tiles
        m.submodules.kmem = kmem = Memory(shape=unsigned(16 * R), depth=B * E, init=[])
        m.submodules.vmem = vmem = Memory(shape=unsigned(16 * R), depth=B * E, init=[])
        m.submodules.qmem = qmem = Memory(shape=unsigned(16 * C), depth=2 * E, init=[])
        kw, vw, qw = kmem.write_port(), vmem.write_port(), qmem.write_port()
        kr, vr, qr = kmem.read_port(), vmem.read_port(), qmem.read_port()

        kv_loaded = Signal()
        qfull = [Signal(name=f"qfull{i}") for i in range(2)]
        qset = [Signal(name=f"qset{i}") for i in range(2)]
        qclr = [Signal(name=f"qclr{i}") for i in range(2)]
        head_done = Signal()
        for i in range(2):
            m.d.sync += qfull[i].eq((qfull[i] | qset[i]) & ~qclr[i])
        self._loader(m, kw, vw, qw, kv_loaded, qfull, qset, head_done)

        # ---- sequencer (issue) ----
        phase = Signal(range(6))
        stage, cnt = Signal(range(4)), Signal(range(max(E + 2, EXP_STEPS + 3)))
        blk, tile = Signal(range(B)), Signal(range(T))
        fi, j = Signal(range(E)), Signal(range(DIV_STEPS))
        rbank = Signal()
        drain_busy, drain_start = Signal(), Signal()
        # a Mux chain, not an Array of constants: Icarus never evaluates the `always @*` of a constant table
        last = Signal.like(cnt)
        m.d.comb += last.eq(Mux(stage == 0, E, Mux(stage == 1, 0, Mux(stage == 2, EXP_STEPS + 1, E - 1))))
        m.d.comb += [kr.addr.eq(blk * E + cnt), vr.addr.eq(blk * E + cnt), qr.addr.eq(rbank * E + cnt)]
        with m.Switch(phase):
            with m.Case(IDLE), m.If(kv_loaded & Mux(rbank, qfull[1], qfull[0])):
                m.d.sync += [phase.eq(BLK), blk.eq(0), stage.eq(0), cnt.eq(0)]
            with m.Case(BLK):
                with m.If(cnt == last):
                    m.d.sync += [cnt.eq(0), stage.eq(stage + 1)]
                    with m.If(stage == 3):
                        m.d.sync += blk.eq(blk + 1)
                        with m.If(blk == B - 1):
                            m.d.sync += [phase.eq(FIN), rbank.eq(~rbank)]
                            m.d.comb += Mux(rbank, qclr[1], qclr[0]).eq(1)
                with m.Else():
                    m.d.sync += cnt.eq(cnt + 1)
            with m.Case(FIN):
                m.d.sync += cnt.eq(cnt + 1)
                with m.If(cnt == E):
                    m.d.sync += [phase.eq(AV), cnt.eq(0), fi.eq(0), j.eq(0)]
            with m.Case(AV):
                m.d.sync += j.eq(j + 1)
                with m.If(j == DIV_STEPS - 1):
                    m.d.sync += [j.eq(0), fi.eq(fi + 1)]
                    with m.If(fi == E - 1):
                        m.d.sync += phase.eq(WAIT)
            with m.Case(WAIT):
                m.d.sync += phase.eq(HAND)
            with m.Case(HAND), m.If(~drain_busy):
                m.d.comb += drain_start.eq(1)
                m.d.sync += [phase.eq(IDLE), tile.eq(tile + 1)]
                with m.If(tile == T - 1):
                    m.d.sync += tile.eq(0)
                    m.d.comb += head_done.eq(1)

        # ---- execute (one cycle behind) ----
        x_phase, x_stage, x_cnt = Signal.like(phase), Signal.like(stage), Signal.like(cnt)
        x_blk, x_fi, x_j = Signal.like(blk), Signal.like(fi), Signal.like(j)
        m.d.sync += [x_phase.eq(Mux(phase == HAND, IDLE, phase)), x_stage.eq(stage), x_cnt.eq(cnt), x_blk.eq(blk),
                     x_fi.eq(fi), x_j.eq(j)]
        qv = [qr.data[16 * c:16 * c + 16].as_signed() for c in range(C)]
        kv = [kr.data[16 * r:16 * r + 16].as_signed() for r in range(R)]
        vv = [vr.data[16 * r:16 * r + 16].as_signed() for r in range(R)]
        sb = p.score_bits
        acc = [[Signal(signed(sb), name=f"acc_{r}_{c}") for c in range(C)] for r in range(R)]
        ex2 = [[exp_regs(f"e2_{r}_{c}") for c in range(C)] for r in range(R)]
        lm = [Signal(signed(sb), name=f"lm_{c}") for c in range(C)]
        rm = [Signal(signed(sb), name=f"rm_{c}") for c in range(C)]
        rm_old = [Signal(signed(sb), name=f"rmo_{c}") for c in range(C)]
        ex1 = [exp_regs(f"e1_{c}") for c in range(C)]
        rd = [Signal(unsigned(p.rd_bits), name=f"rd_{c}") for c in range(C)]
        sld = [Signal(unsigned(p.rd_bits), name=f"sld_{c}") for c in range(C)]
        spd = [Signal(unsigned(p.rd_bits), name=f"spd_{c}") for c in range(C)]
        nvb = p.nv_bits
        rnv = [[Signal(signed(nvb), name=f"rnv_{c}_{f}") for f in range(E)] for c in range(C)]
        slnv = [[Signal(signed(nvb), name=f"slnv_{c}_{f}") for f in range(E)] for c in range(C)]
        spnv = [[Signal(signed(nvb), name=f"spnv_{c}_{f}") for f in range(E)] for c in range(C)]
        out = [[Signal(signed(16), name=f"o_{c}_{f}") for f in range(E)] for c in range(C)]
        in_blk = x_phase == BLK
        for c in range(C):
            # 2D array, column c
            for r in range(R):
                with m.If(in_blk & (x_stage == 0) & (x_cnt < E)):
                    m.d.sync += acc[r][c].eq(Mux(x_cnt == 0, 0, acc[r][c]) + qv[c] * kv[r])
                for step in range(EXP_STEPS + 1):
                    with m.If(in_blk & (x_stage == 2) & (x_cnt == step)):
                        exp_step(m, step, ex2[r][c], acc[r][c] - rm[c])
            with m.If(in_blk & (x_stage == 0) & (x_cnt == E)):
                m.d.sync += lm[c].eq(_tree([acc[r][c] for r in range(R)], lambda a, b: Mux(a > b, a, b)))
            with m.If(in_blk & (x_stage == 2) & (x_cnt == EXP_STEPS + 1)):
                m.d.sync += [sld[c].eq(_tree([ex2[r][c].p for r in range(R)], lambda a, b: a + b)),
                             spd[c].eq((rd[c] * ex1[c].p) >> P_FRAC)]
            # one multiplier per PE, shared over f (one micro-op per PE per cycle): the operand is selected
            prods = [ex2[r][c].p.as_signed() * vv[r] for r in range(R)]
            slnv_f, spnv_f = Signal(signed(nvb), name=f"slnvf_{c}"), Signal(signed(nvb), name=f"spnvf_{c}")
            m.d.comb += [slnv_f.eq(_tree(prods, lambda a, b: a + b) >> 8),
                         spnv_f.eq((Array(rnv[c])[x_cnt[:max(1, (E - 1).bit_length())]] * ex1[c].p.as_signed())
                                   >> P_FRAC)]
            with m.If(in_blk & (x_stage == 3)), m.Switch(x_cnt):
                for f in range(E):
                    with m.Case(f):
                        m.d.sync += [slnv[c][f].eq(slnv_f), spnv[c][f].eq(spnv_f)]
            # 1D array, PE c
            first = x_blk == 0
            rd_update = (in_blk & (x_stage == 0) & (x_cnt == 0)) | ((x_phase == FIN) & (x_cnt == 0))
            with m.If(rd_update):
                with m.If(in_blk & first):
                    m.d.sync += [rd[c].eq(0), rm[c].eq(-(1 << (sb - 1)))]
                    m.d.sync += [rnv[c][f].eq(0) for f in range(E)]
                with m.Else():
                    m.d.sync += rd[c].eq(sld[c] + spd[c])
            rnv_update = ((in_blk & (x_stage == 0) & ~first) | (x_phase == FIN)) & (x_cnt >= 1)
            with m.If(rnv_update), m.Switch(x_cnt):
                for f in range(E):
                    with m.Case(f + 1):
                        m.d.sync += rnv[c][f].eq(slnv[c][f] + spnv[c][f])
            with m.If(in_blk & (x_stage == 1)):
                m.d.sync += [rm_old[c].eq(rm[c]), rm[c].eq(Mux(lm[c] > rm[c], lm[c], rm[c]))]
            for step in range(EXP_STEPS + 1):
                with m.If(in_blk & (x_stage == 2) & (x_cnt == step)):
                    exp_step(m, step, ex1[c], rm_old[c] - rm[c])
            dv = divider(f"div_{c}", nvb, p.rd_bits)
            with m.If(x_phase == AV):
                res = divide_step(m, x_j, dv, x_j == 0, Array(rnv[c])[x_fi], rd[c])
                with m.If(x_j == DIV_STEPS - 1), m.Switch(x_fi):
                    for f in range(E):
                        with m.Case(f):
                            m.d.sync += out[c][f].eq(res)
        self._drainer(m, out, drain_busy, drain_start)
        return m

    def _loader(self, m: Module, kw, vw, qw, kv_loaded, qfull, qset, head_done) -> None:
        p = self.plan
        E, B, T, R, C = p.head_dim, p.blocks, p.tiles, p.rows, p.cols
        LKV, LQ, LW = range(3)
        state = Signal(range(3))
        jj, bb = Signal(range(2 * E)), Signal(range(B))
        ee, wbank, tin = Signal(range(E)), Signal(), Signal(range(T))
        take = Signal()
        m.d.comb += [take.eq(self.i.valid & self.i.ready),
                     kw.data.eq(self.i.payload[:16 * R]), vw.data.eq(self.i.payload[:16 * R]),
                     qw.data.eq(self.i.payload[:16 * C]),
                     kw.addr.eq(bb * E + jj), vw.addr.eq(bb * E + jj - E), qw.addr.eq(wbank * E + ee)]
        # plain expressions, not assignments inside the state switch: Icarus never evaluates an `always @*` block
        # whose inputs keep their initial values, and `i.ready` must be valid from the first cycle
        m.d.comb += [self.i.ready.eq((state == LKV) | ((state == LQ) & ~Mux(wbank, qfull[1], qfull[0]))),
                     kw.en.eq(take & (state == LKV) & (jj < E)), vw.en.eq(take & (state == LKV) & (jj >= E)),
                     qw.en.eq(take & (state == LQ))]
        with m.Switch(state):
            with m.Case(LKV), m.If(take):
                m.d.sync += jj.eq(jj + 1)
                with m.If(jj == 2 * E - 1):
                    m.d.sync += [jj.eq(0), bb.eq(bb + 1)]
                    with m.If(bb == B - 1):
                        m.d.sync += [bb.eq(0), kv_loaded.eq(1), state.eq(LQ)]
            with m.Case(LQ), m.If(take):
                m.d.sync += ee.eq(ee + 1)
                with m.If(ee == E - 1):
                    m.d.sync += [ee.eq(0), wbank.eq(~wbank), tin.eq(tin + 1)]
                    m.d.comb += Mux(wbank, qset[1], qset[0]).eq(1)
                    with m.If(tin == T - 1):
                        m.d.sync += [tin.eq(0), state.eq(LW)]
            with m.Case(LW), m.If(head_done):
                m.d.sync += [kv_loaded.eq(0), state.eq(LKV)]

    def _drainer(self, m: Module, out, busy: Signal, start: Signal) -> None:
        p = self.plan
        E, C = p.head_dim, p.cols
        obuf = [[Signal(16, name=f"ob_{c}_{f}") for f in range(E)] for c in range(C)]
        df = Signal(range(E))
        m.d.comb += [self.o.valid.eq(busy), self.o.payload.eq(Array([Cat(*(obuf[c][f] for c in range(C)))
                                                                     for f in range(E)])[df])]
        with m.If(start):
            m.d.sync += [busy.eq(1), df.eq(0)]
            m.d.sync += [obuf[c][f].eq(out[c][f]) for c in range(C) for f in range(E)]
        with m.Elif(busy & self.o.ready):
            m.d.sync += df.eq(df + 1)
            with m.If(df == E - 1):
                m.d.sync += busy.eq(0)


def _tree(values, op):
    """Combine `values` pairwise (a balanced tree of `op`)."""
    values = list(values)
    while len(values) > 1:
        values = [op(values[i], values[i + 1]) if i + 1 < len(values) else values[i] for i in range(0, len(values), 2)]
    return values[0]
