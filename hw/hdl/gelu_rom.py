"""GELU's coefficient tables, cut by output bits into Verilog modules of their own that synthesis keeps apart.

In one flat module ABC shares the address decoding of a large table across all its output bits and slices (a
4-input function per bit became three LUT levels behind an address bit with a fan-out of ~1,000 LUTs on
edge-moe Q3.12): it sees slack where the placed design has none. Each module here (`keep_hierarchy`, set by
`hw.hdl.export` on the submodules named in `KEEP_HIERARCHY`) holds `BITS` output bits of the table, its own copy of
the address in flip-flops, and `pipeline.Stages.rom`'s pipelined look-up (16-entry slices, registered 4:1
selections): the address fans out to a few dozen LUTs, and ABC optimizes each piece on its own.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Elaboratable, Module, Shape, Signal, Value, signed, unsigned

from hw.hdl.pipeline import Stages, rom_stages

#: submodule names (fnmatch patterns) that the Verilog export marks `keep_hierarchy`
KEEP_HIERARCHY = ("*_bits*",)
#: output bits per module
BITS = 4


def table_stages(depth: int) -> int:
    """Register stages of `table`: the module's address copy, then `Stages.rom`."""
    return 1 + rom_stages(depth)


def table_shape(values: tuple[int, ...]) -> Shape:
    width = max(abs(v).bit_length() for v in values)
    return signed(width + 1) if min(values) < 0 else unsigned(max(1, width))


class TableBits(Elaboratable):
    """A table of non-negative `values`: `data` = values[`addr`], `table_stages(len(values))` clock edges later."""

    def __init__(self, values: tuple[int, ...], addr_width: int):
        self.values = values
        self.addr = Signal(addr_width)
        self.data = Signal(max(1, max(values).bit_length()))
        self._MustUse__silence = True  # GELU's dry run (depth count) builds tables that are never elaborated

    def elaborate(self, platform) -> Module:
        m = Module()
        st = Stages(m, Const(1), reset_less=True)
        m.d.comb += self.data.eq(st.rom(self.values, st.reg(self.addr, "a"), "t"))
        return m


def table(st: Stages, values: tuple[int, ...], addr: Value, name: str) -> Value:
    """values[addr], valid `table_stages(len(values))` stages after `addr` (a free-running pipeline: no enable)."""
    addr = Value.cast(addr)
    shape = table_shape(values)
    raw = [v & ((1 << shape.width) - 1) for v in values]  # two's complement bits
    parts = []
    for k, b in enumerate(range(0, shape.width, BITS)):
        n = min(BITS, shape.width - b)
        t = TableBits(tuple((v >> b) & ((1 << n) - 1) for v in raw), len(addr))
        st.m.submodules[f"{name}_bits{k}"] = t
        st.m.d.comb += t.addr.eq(addr)
        parts.append(Cat(t.data, Const(0, n - len(t.data))) if len(t.data) < n else t.data[:n])
    bits = Cat(*parts)
    return bits.as_signed() if shape.signed else bits
