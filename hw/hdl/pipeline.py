"""A stall-all pipeline helper: every stage register loads only when the whole pipeline may advance.

The pipeline advances (`en`) when its output register is empty or being read (`~o.valid | o.ready`), so
backpressure stops every stage at once and nothing is dropped; `i.ready` is `en` (ready may depend on
valid/ready downstream, valid never depends on ready, as `lib.stream` requires).

Multipliers are built as registered shift-add trees (`Stages.mul`), not `*`: Yosys would map `*` to an ECP5
MULT18X18D without its pipeline registers, whose ~3.9 ns combinational delay caps the clock near 140 MHz.
"""

from __future__ import annotations

import math

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Mux, Shape, Signal, Value, signed, unsigned
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


def rom_slices(depth: int) -> int:
    """16-entry slices of a `Stages.rom` of `depth` entries."""
    return math.ceil(depth / ROM_SLICE)


def rom_stages(depth: int) -> int:
    """Register stages of `Stages.rom`: the 16-entry slices, then 4:1 selections until one is left."""
    slices = math.ceil(depth / ROM_SLICE)
    return 1 + (math.ceil(math.log(slices, 4) - 1e-9) if slices > 1 else 0)


class Stages:
    """Registers loaded under one enable; `reg(value)` returns the registered copy of `value`.

    `reset_less`: the registers ignore reset (datapath values whose meaning follows a valid bit that does reset;
    no reset logic in front of every flip-flop). Pass `reset_less=False` to `reg`/`delay` for the valid bits."""

    def __init__(self, m: Module, en: Value, reset_less: bool = False, ecp5_luts: bool = False):
        self.m = m
        self.en = en
        self.reset_less = reset_less
        self.ecp5_luts = ecp5_luts  # `rom` as ECP5 LUT4 / PFUMX instances (one LUT level per stage, kept as is)

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

    def reg_copies(self, value: Value, n: int, name: str) -> list[Value] | None:
        """`n` registered copies of `value` (each its own flip-flops, to split a large fan-out) when building for
        the ECP5 (`ecp5_luts`: TRELLIS_FF instances, which synthesis does not merge back into one); None
        otherwise (the caller then uses its one register)."""
        if not self.ecp5_luts:
            return None
        value = Value.cast(value)
        return [Cat(*(_ecp5_ff(self.m, value[b], self.en, f"{name}{k}_{b}") for b in range(len(value))))
                for k in range(n)]

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

    def rom(self, values: tuple[int, ...], addr: Value, name: str, low_copies: list[Value] | None = None) -> Signal:
        """A constant table, pipelined: 16-entry slices in LUT4s (registered), then registered 4:1 selections
        by the next address bits. Valid `rom_stages(len(values))` stages after `addr`. `low_copies`: copies of
        `addr`'s low four bits, slice k reading copy k mod len (a smaller fan-out each)."""
        addr = Value.cast(addr)
        width = max(abs(v).bit_length() for v in values)
        shape = signed(width + 1) if min(values) < 0 else unsigned(max(1, width))
        slices = [values[k: k + ROM_SLICE] for k in range(0, len(values), ROM_SLICE)]
        low = min(len(addr), 4)
        rom = ecp5_lut_rom if self.ecp5_luts else lut_rom
        outs = [self.reg(rom(self.m, tuple(sl) + (sl[-1],) * (ROM_SLICE - len(sl)) if len(slices) > 1 else sl,
                             addr[:low] if not low_copies else low_copies[k % len(low_copies)][:low],
                             f"{name}_{k}"), f"{name}_q{k}", shape) for k, sl in enumerate(slices)]
        sel, pos = addr, low
        while len(outs) > 1:
            groups = [outs[k: k + 4] for k in range(0, len(outs), 4)]
            # the selecting address bits: one register per group on the ECP5 (a smaller fan-out each)
            sels = self.reg_copies(sel, len(groups), f"{name}_a{pos}_") or [self.reg(sel, f"{name}_a{pos}")]
            select = _ecp5_select if self.ecp5_luts else _select
            outs = [self.reg(select(self.m, g, sels[j % len(sels)][pos: pos + 2], f"{name}_m{pos}_{j}"),
                             f"{name}_m{pos}_{j}", shape) for j, g in enumerate(groups)]
            sel = sels[0]
            pos += 2
        assert 1 + (pos - low) // 2 == rom_stages(len(values))
        return outs[0]


def _select(m: Module, options: list[Value], bits: Value, name: str) -> Value:
    out = options[-1]
    for k in reversed(range(len(options) - 1)):
        out = Mux(bits == k, options[k], out)
    return out


def _ecp5_ff(m: Module, d: Value, en: Value, name: str) -> Signal:
    """One ECP5 flip-flop (TRELLIS_FF: clock enable, no set or reset; initial value 0)."""
    q = Signal(name=name)
    m.submodules[name] = Instance("TRELLIS_FF", p_GSR="DISABLED", p_CEMUX="CE", p_CLKMUX="CLK", p_LSRMUX="LSR",
                                  p_REGSET="RESET", p_SRMODE="ASYNC", i_CLK=ClockSignal(), i_LSR=Const(0, 1),
                                  i_CE=en, i_DI=d, o_Q=q)
    return q


def _lut4(m: Module, init: int, inputs: list[Value], name: str) -> Signal:
    """One ECP5 LUT4 (Lattice FPGA-TN-02032: Z = INIT[{D, C, B, A}]); missing inputs are tied to 0."""
    z = Signal(name=name)
    pins = [Value.cast(x) for x in inputs] + [Value.cast(0)] * (4 - len(inputs))
    m.submodules[name] = Instance("LUT4", p_INIT=Const(init, 16), i_A=pins[0], i_B=pins[1], i_C=pins[2],
                                  i_D=pins[3], o_Z=z)
    return z


#: CCU2C half (Yosys's cells_sim): LUT4 out P = INIT[{D, C, B, A}], S = P ^ carry in, carry out = P ? carry in
#: : INIT[{B, A}]. With D = 1: P = A ^ B ^ ~C (bits 8-15: 0x69), and INIT[3:0] = A (0xA), the generate when P = 0
ADD_XNOR_INIT = 0x69AA


def ecp5_add_xor(m: Module, a: Value, b: Value, neg: Value, name: str) -> Value:
    """a + (b ^ ~neg, every bit), with the carry out on top (len(a) + 1 bits): one ECP5 carry chain of CCU2C
    instances whose LUTs take `neg` themselves. Yosys maps the XOR to a LUT of its own in front of the chain
    (one LUT level and a route more: the softmax dividers' choice of +d or -d)."""
    a, b = Value.cast(a), Value.cast(b)
    n = len(a)
    assert len(b) == n
    # the carry out as one more sum bit: A = B = 0, C = 1 (P = 0, so S = the carry in)
    ins = [(a[k], b[k], neg) for k in range(n)] + [(Const(0, 1), Const(0, 1), Const(1, 1))]
    ins += [(Const(0, 1), Const(0, 1), Const(1, 1))] * (len(ins) % 2)
    out, cin = [], Const(0, 1)
    for c in range(len(ins) // 2):
        s0, s1 = Signal(name=f"{name}_s{2 * c}"), Signal(name=f"{name}_s{2 * c + 1}")
        cout = Signal(name=f"{name}_co{c}")
        (a0, b0, c0), (a1, b1, c1) = ins[2 * c], ins[2 * c + 1]
        m.submodules[f"{name}_ccu{c}"] = Instance(
            "CCU2C", p_INIT0=Const(ADD_XNOR_INIT, 16), p_INIT1=Const(ADD_XNOR_INIT, 16), p_INJECT1_0="NO",
            p_INJECT1_1="NO", i_CIN=cin, i_A0=a0, i_B0=b0, i_C0=c0, i_D0=Const(1, 1), i_A1=a1, i_B1=b1, i_C1=c1,
            i_D1=Const(1, 1), o_S0=s0, o_S1=s1, o_COUT=cout)
        out += [s0, s1]
        cin = cout
    return Cat(*out[: n + 1])


def _ecp5_select(m: Module, options: list[Value], bits: Value, name: str) -> Value:
    """`_select` as one LUT4 per pair of options and a PFUMX (the slice's wide multiplexer) per bit: one LUT
    level. Up to four options; the missing ones repeat the last."""
    options = [Value.cast(o) for o in options] + [Value.cast(options[-1])] * (4 - len(options))
    width = max(len(o) for o in options)
    out = []
    for b in range(width):
        # LUT4(A = option[2h][b], B = option[2h + 1][b], C = bits[0]): C ? B : A
        lo, hi = (_lut4(m, 0xCACA, [options[2 * h][b] if b < len(options[2 * h]) else 0,
                                    options[2 * h + 1][b] if b < len(options[2 * h + 1]) else 0, bits[0]],
                        f"{name}_l{h}_{b}") for h in range(2))
        z = Signal(name=f"{name}_z{b}")
        m.submodules[f"{name}_mux{b}"] = Instance("PFUMX", i_ALUT=hi, i_BLUT=lo, i_C0=bits[1], o_Z=z)
        out.append(z)
    return Cat(*out)


def ecp5_lut_rom(m: Module, values: tuple[int, ...], addr: Value, name: str) -> Value:
    """`lut_rom` as one ECP5 LUT4 per output bit (at most 16 entries): one LUT level that synthesis keeps (left
    to itself, ABC shares the address decoding between slices, up to four LUT levels deep)."""
    width = max(abs(v).bit_length() for v in values)
    shape = signed(width + 1) if min(values) < 0 else unsigned(max(1, width))
    assert len(values) <= 16 and len(addr) <= 4
    vals = list(values) + [values[-1]] * (2 ** len(addr) - len(values))
    mask = (1 << shape.width) - 1
    bits = []
    for b in range(shape.width):
        init = 0
        for idx in range(16):  # address bits beyond len(addr) are tied to 0: entries above repeat those below
            v = vals[idx & (2 ** len(addr) - 1)] & mask
            init |= ((v >> b) & 1) << idx
        bits.append(_lut4(m, init, [addr[i] for i in range(len(addr))], f"{name}_b{b}"))
    return Cat(*bits).as_signed() if shape.signed else Cat(*bits)


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


def clip_low_bits(value: Value, bits: int) -> Value:
    """min(value, 2^bits - 1) in `bits` bits (a negative value keeps its low bits, as `Mux(value > hi, hi, value)`
    cut to `bits` does): an OR of the high bits and a multiplexer, no comparator's carry chain."""
    value = Value.cast(value)
    signed_ = value.shape().signed
    top = value[bits:-1] if signed_ else value[bits:]  # the magnitude bits above `bits`
    if len(top) == 0:
        return value[:bits]
    over = top.any() & ~value[-1] if signed_ else top.any()
    return Mux(over, (1 << bits) - 1, value[:bits])


def rshift_round(value: Value, k: int) -> Value:
    """Round-half-up right shift by a constant (left shift when k <= 0), matching the models' `_rshift_round`."""
    if k <= 0:
        return value << (-k)
    return (value + (1 << (k - 1))) >> k
