"""A stall-all pipeline helper: every stage register loads only when the whole pipeline may advance.

The pipeline advances (`en`) when its output register is empty or being read (`~o.valid | o.ready`), so
backpressure stops every stage at once and nothing is dropped; `i.ready` is `en` (ready may depend on
valid/ready downstream, valid never depends on ready, as `lib.stream` requires).

Multipliers are built as registered shift-add trees (`Stages.mul`), not `*`: Yosys would map `*` to an ECP5
MULT18X18D without its pipeline registers, whose ~3.9 ns combinational delay caps the clock near 140 MHz.
"""

from __future__ import annotations

import math

from amaranth.hdl import Module, Mux, Shape, Signal, Value, signed, unsigned
from amaranth.lib.memory import Memory

#: adder levels between two registers inside a multiplier tree
LEVELS_PER_STAGE = 1


def mul_stages(n_terms: int, variable: bool = False) -> int:
    """Register stages of a shift-add multiplier with `n_terms` partial products (`variable`: the partial
    products of a variable multiplier, a AND b[k], are registered before the first addition)."""
    levels = math.ceil(math.log2(n_terms)) if n_terms > 1 else 0
    return max(1, math.ceil(levels / LEVELS_PER_STAGE)) + int(variable and n_terms > 1)


#: entries of one table slice: a 4-input function per output bit, one LUT4 level
ROM_SLICE = 16


def rom_stages(depth: int) -> int:
    """Register stages of `Stages.rom`: the 16-entry slices, then 4:1 selections until one is left."""
    slices = math.ceil(depth / ROM_SLICE)
    return 1 + (math.ceil(math.log(slices, 4) - 1e-9) if slices > 1 else 0)


class Stages:
    """Registers loaded under one enable; `reg(value)` returns the registered copy of `value`.

    `reset_less`: the registers ignore reset (datapath values whose meaning follows a valid bit that does reset;
    no reset logic in front of every flip-flop). Pass `reset_less=False` to `reg`/`delay` for the valid bits."""

    def __init__(self, m: Module, en: Value, reset_less: bool = False):
        self.m = m
        self.en = en
        self.reset_less = reset_less

    def reg(self, value: Value | int, name: str, shape: Shape | None = None, reset_less: bool | None = None) -> Signal:
        value = Value.cast(value)
        sig = Signal(shape if shape is not None else value.shape(), name=name,
                     reset_less=self.reset_less if reset_less is None else reset_less)
        with self.m.If(self.en):
            self.m.d.sync += sig.eq(value)
        return sig

    def delay(self, value: Value, n: int, name: str, reset_less: bool | None = None) -> Value:
        """`value` delayed by `n` register stages."""
        for k in range(n):
            value = self.reg(value, f"{name}_d{k}", reset_less=reset_less)
        return value

    def mul(self, a: Value, b: Value | int, name: str) -> tuple[Signal, int]:
        """a * b (b unsigned, or a non-negative int constant) as a pipelined shift-add tree.

        Returns the product and the number of register stages it took (`mul_stages(partial products)`).
        """
        a = Value.cast(a)
        if isinstance(b, int):
            if b < 0:
                raise ValueError(f"constant multiplier must be non-negative, not {b}")
            terms = [a << k for k in range(b.bit_length()) if (b >> k) & 1] or [Value.cast(0)]
        else:
            b = Value.cast(b)
            if b.shape().signed:
                raise ValueError("variable multiplier operand b must be unsigned")
            terms = [Mux(b[k], a << k, 0) for k in range(len(b))]
            if len(terms) > 1:  # the AND in front of the first adder would otherwise cost a LUT level
                terms = [self.reg(t, f"{name}_pp{k}") for k, t in enumerate(terms)]
        n = len(terms)
        level = 0
        stages = 0
        while len(terms) > 1:
            terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
            level += 1
            if level % LEVELS_PER_STAGE == 0 or len(terms) == 1:
                terms = [self.reg(t, f"{name}_s{stages}_{j}") for j, t in enumerate(terms)]
                stages += 1
        if stages == 0:
            terms = [self.reg(terms[0], f"{name}_s0")]
            stages = 1
        variable = not isinstance(b, int) and n > 1
        stages += int(variable)
        assert stages == mul_stages(n, variable), (stages, n)
        return terms[0], stages

    def rom(self, values: tuple[int, ...], addr: Value, name: str) -> Signal:
        """A constant table, pipelined: 16-entry slices in LUT4s (registered), then registered 4:1 selections
        by the next address bits. Valid `rom_stages(len(values))` stages after `addr`."""
        addr = Value.cast(addr)
        width = max(abs(v).bit_length() for v in values)
        shape = signed(width + 1) if min(values) < 0 else unsigned(max(1, width))
        slices = [values[k: k + ROM_SLICE] for k in range(0, len(values), ROM_SLICE)]
        low = min(len(addr), 4)
        outs = [self.reg(lut_rom(self.m, tuple(sl) + (sl[-1],) * (ROM_SLICE - len(sl)) if len(slices) > 1 else sl,
                                 addr[:low], f"{name}_{k}"), f"{name}_q{k}", shape) for k, sl in enumerate(slices)]
        sel, pos = addr, low
        while len(outs) > 1:
            sel = self.reg(sel, f"{name}_a{pos}")
            bits = sel[pos: pos + 2]
            groups = [outs[k: k + 4] for k in range(0, len(outs), 4)]
            outs = [self.reg(_select(g, bits), f"{name}_m{pos}_{j}", shape) for j, g in enumerate(groups)]
            pos += 2
        assert 1 + (pos - low) // 2 == rom_stages(len(values))
        return outs[0]


def _select(options: list[Value], bits: Value) -> Value:
    out = options[-1]
    for k in reversed(range(len(options) - 1)):
        out = Mux(bits == k, options[k], out)
    return out


def lut_rom(m: Module, values: tuple[int, ...], addr: Value, name: str) -> Value:
    """A constant table read combinationally, kept in LUTs (`rom_style = logic`): an ECP5 block RAM's ~5.6 ns
    clock-to-output would set the clock, while a few hundred entries cost few LUTs."""
    width = max(abs(v).bit_length() for v in values)
    shape = signed(width + 1) if min(values) < 0 else unsigned(max(1, width))
    rom = Memory(shape=shape, depth=len(values), init=values, attrs={"rom_style": "logic", "ram_style": "logic"})
    rom._MustUse__silence = True  # GELU's dry run (depth count) builds a module that is never elaborated
    m.submodules[name] = rom
    port = rom.read_port(domain="comb")
    m.d.comb += port.addr.eq(addr)
    return port.data


def saturate(value: Value, lo: int, hi: int) -> Value:
    """Clamp `value` into [lo, hi] (two comparators and a mux)."""
    return Mux(value > hi, hi, Mux(value < lo, lo, value))


def rshift_round(value: Value, k: int) -> Value:
    """Round-half-up right shift by a constant (left shift when k <= 0), matching the models' `_rshift_round`."""
    if k <= 0:
        return value << (-k)
    return (value + (1 << (k - 1))) >> k
