"""The softmax row buffer: one write port (pass 1), one read port with two registered stages (pass 2).

Portable form: an Amaranth `Memory` with a synchronous read port followed by a register, both enabled by the
pipeline's `en`. ECP5 form (for synthesis only): the same behaviour as one DP16KD block RAM in 1024 x 18 mode
with its output register (REGMODE_B = OUTREG), because the EBR's clock-to-output without it (~5.8 ns at
speed 6) would cap the clock near 115 MHz. The port wiring (address in AD[13:4], byte enables AD[1:0]) is the
one Yosys's own `synth_ecp5` memory mapping uses for an inferred 1024 x 16 memory.
"""

from __future__ import annotations

from amaranth.hdl import ClockSignal, Const, Instance, Module, Signal, Value, signed
from amaranth.lib.memory import Memory

EBR_DEPTH = 1024
EBR_WIDTH = 18


def can_use_ebr(depth: int, width: int) -> bool:
    return depth <= EBR_DEPTH and width <= EBR_WIDTH


def row_buffer(m: Module, *, width: int, depth: int, en: Value, waddr: Value, wdata: Value, we: Value,
               raddr: Value, ecp5: bool) -> Signal:
    """Add the buffer to `m`; returns read data, valid two enabled clock edges after `raddr`."""
    rdata = Signal(signed(width), name="buf_rdata")
    if ecp5 and can_use_ebr(depth, width):
        ports: dict[str, Value] = {}
        wd = wdata.as_signed()
        for k in range(EBR_WIDTH):
            ports[f"i_DIA{k}"] = wd[min(k, width - 1)]
            ports[f"i_DIB{k}"] = Const(0, 1)
        for k in range(14):
            ports[f"i_ADA{k}"] = Const(1, 1) if k < 2 else (waddr[k - 4] if 4 <= k < 4 + len(waddr) else Const(0, 1))
            ports[f"i_ADB{k}"] = raddr[k - 4] if 4 <= k < 4 + len(raddr) else Const(0, 1)
        dob = Signal(EBR_WIDTH, name="buf_dob")
        for k in range(EBR_WIDTH):
            ports[f"o_DOB{k}"] = dob[k]
        for port in ("CSA0", "CSA1", "CSA2", "CSB0", "CSB1", "CSB2", "RSTA", "RSTB", "WEB"):
            ports[f"i_{port}"] = Const(0, 1)
        m.submodules.buf = Instance(
            "DP16KD", p_DATA_WIDTH_A=EBR_WIDTH, p_DATA_WIDTH_B=EBR_WIDTH, p_REGMODE_A="NOREG",
            p_REGMODE_B="OUTREG", p_RESETMODE="SYNC", p_CSDECODE_A="0b000", p_CSDECODE_B="0b000",
            p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL", p_GSR="DISABLED",
            i_CLKA=ClockSignal(), i_CEA=Const(1, 1), i_OCEA=Const(1, 1), i_WEA=we,
            i_CLKB=ClockSignal(), i_CEB=en, i_OCEB=en, **ports)
        m.d.comb += rdata.eq(dob[:width])
        return rdata
    m.submodules.buf = buf = Memory(shape=signed(width), depth=depth, init=[])
    wp, rp = buf.write_port(), buf.read_port(domain="sync")
    m.d.comb += [wp.addr.eq(waddr), wp.data.eq(wdata), wp.en.eq(we), rp.addr.eq(raddr), rp.en.eq(en)]
    with m.If(en):
        m.d.sync += rdata.eq(rp.data)
    return rdata
