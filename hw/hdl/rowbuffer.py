"""The softmax row buffer: one write port (scores as they arrive), one read port with two registered stages (the
replay), both at one element per cycle.

Portable form: an Amaranth `Memory` with a synchronous read port followed by a register, the read side enabled
by the replay pipeline's `en`. ECP5 form (`softmax_ecp5.v`, what `--synth ecp5` measures): the same behaviour as
DP16KD block RAMs with their output register (REGMODE_B = OUTREG), because an EBR's clock-to-output without it
(~5.8 ns at speed 6) caps the clock near 120 MHz. Each DP16KD is used in the 16384 x 1 ... 1024 x 18 shape
that holds the whole depth, as many side by side as the width needs (no read multiplexer up to 16384 entries;
beyond, banks of 16384 are selected after the output register). Port wiring as Yosys's own `synth_ecp5` memory
mapping (`techlibs/lattice/brams_map_16kd.v`): address in the top bits of AD[13:0], data from bit 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Mux, Signal, Value, signed
from amaranth.lib.memory import Memory

#: DP16KD shapes (depth, data bits) in true dual-port mode (Lattice FPGA-TN-02204, ECP5 Memory Usage Guide)
EBR_SHAPES = ((1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
EBR_ABITS = 14


@dataclass(frozen=True)
class EbrPlan:
    """How a depth x width buffer maps to DP16KDs: `banks` x `per_bank` blocks of `depth` x `bits`."""

    depth: int
    bits: int
    per_bank: int
    banks: int

    @property
    def blocks(self) -> int:
        return self.per_bank * self.banks


def ebr_plan(depth: int, width: int) -> EbrPlan:
    """The DP16KD arrangement of a `depth` x `width` buffer (depth a power of two)."""
    for d, bits in EBR_SHAPES:
        if depth <= d:
            return EbrPlan(d, bits, math.ceil(width / bits), 1)
    d, bits = EBR_SHAPES[-1]
    return EbrPlan(d, bits, math.ceil(width / bits), depth // d)


def row_buffer(m: Module, *, width: int, depth: int, en: Value, waddr: Value, wdata: Value, we: Value,
               raddr: Value, ecp5: bool) -> Signal:
    """Add the buffer to `m`; returns read data, valid two `en`-enabled clock edges after `raddr`."""
    rdata = Signal(signed(width), name="buf_rdata")
    if ecp5:
        m.d.comb += rdata.eq(_ebr_buffer(m, width=width, depth=depth, en=en, waddr=waddr, wdata=wdata, we=we,
                                         raddr=raddr))
        return rdata
    m.submodules.buf = buf = Memory(shape=signed(width), depth=depth, init=[])
    wp, rp = buf.write_port(), buf.read_port(domain="sync")
    m.d.comb += [wp.addr.eq(waddr), wp.data.eq(wdata), wp.en.eq(we), rp.addr.eq(raddr), rp.en.eq(en)]
    with m.If(en):
        m.d.sync += rdata.eq(rp.data)
    return rdata


def _ebr_buffer(m: Module, *, width, depth, en, waddr, wdata, we, raddr) -> Value:
    plan = ebr_plan(depth, width)
    abits = int(math.log2(plan.depth))
    low = EBR_ABITS - abits  # address bits below the used ones (byte enables in the x18 shape)
    wd = Value.cast(wdata).as_unsigned()
    outs = []
    for bank in range(plan.banks):
        we_bank = we if plan.banks == 1 else we & (waddr[abits:] == bank)
        lanes = []
        for lane in range(plan.per_bank):
            ports: dict[str, Value] = {}
            for k in range(18):
                bit = lane * plan.bits + k
                ports[f"i_DIA{k}"] = wd[bit] if k < plan.bits and bit < width else Const(0, 1)
                ports[f"i_DIB{k}"] = Const(0, 1)
            for k in range(EBR_ABITS):
                a = k - low
                ports[f"i_ADA{k}"] = (waddr[a] if 0 <= a < len(waddr) else Const(0, 1)) if a >= 0 else \
                    Const(int(plan.bits == 18 and k < 2), 1)
                ports[f"i_ADB{k}"] = raddr[a] if 0 <= a < len(raddr) else Const(0, 1)
            dob = Signal(18, name=f"buf_dob_{bank}_{lane}")
            for k in range(18):
                ports[f"o_DOB{k}"] = dob[k]
            for port in ("CSA0", "CSA1", "CSA2", "CSB0", "CSB1", "CSB2", "RSTA", "RSTB", "WEB"):
                ports[f"i_{port}"] = Const(0, 1)
            m.submodules[f"buf_{bank}_{lane}"] = Instance(
                "DP16KD", p_DATA_WIDTH_A=plan.bits, p_DATA_WIDTH_B=plan.bits, p_REGMODE_A="NOREG",
                p_REGMODE_B="OUTREG", p_RESETMODE="SYNC", p_CSDECODE_A="0b000", p_CSDECODE_B="0b000",
                p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL", p_GSR="DISABLED",
                i_CLKA=ClockSignal(), i_CEA=Const(1, 1), i_OCEA=Const(1, 1), i_WEA=we_bank,
                i_CLKB=ClockSignal(), i_CEB=en, i_OCEB=en, **ports)
            lanes.append(dob[: plan.bits])
        word = Signal(plan.bits * plan.per_bank, name=f"buf_word_{bank}")
        m.d.comb += word.eq(Cat(*lanes))
        outs.append(word[:width])
    if plan.banks == 1:
        return outs[0]
    # bank select: the read address's bank bits, delayed like the data (two enabled edges)
    sel = Signal(range(plan.banks), name="buf_bank")
    sel2 = Signal(range(plan.banks), name="buf_bank2")
    with m.If(en):
        m.d.sync += [sel.eq(raddr[abits:]), sel2.eq(sel)]
    out = outs[-1]
    for bank in reversed(range(plan.banks - 1)):
        out = Mux(sel2 == bank, outs[bank], out)
    return out

