"""A small FIFO for once-per-row words whose control is flip-flops plus one LUT level on each side.

Amaranth's `SyncFIFOBuffered` lets a read refill its output register in the same cycle, so that `r_en` runs
through the level counter and the write side's enable (four LUT levels on an ECP5: the softmax's critical path).
Here the output register refills only while it is empty (at most one word every two cycles, plenty for words
that come once per row of 16 or more), the level is a thermometer code (`level > k` per bit, so `nonempty` is a
flip-flop) and the storage is a `Memory` with a synchronous read port. Overflow is not checked: the writer
guarantees that at most `depth` + 1 words are inside.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Module, Signal, Value
from amaranth.lib.memory import Memory


@dataclass(frozen=True)
class RegFifo:
    """The read side: `r_rdy` (a flip-flop) says `r_data` (a register) holds a word; `r_en` takes it."""

    r_rdy: Signal
    r_data: Value
    r_en: Signal


def reg_fifo(m: Module, name: str, *, width: int, depth: int, w_en: Value, w_data: Value) -> RegFifo:
    """Add a FIFO of `depth` words (plus the output register) to `m`; returns its read side."""
    if depth < 2 or depth & (depth - 1):
        raise ValueError(f"FIFO depth must be a power of two >= 2, not {depth}")
    mem = Memory(shape=width, depth=depth, init=[])
    m.submodules[f"{name}_mem"] = mem
    wp, rp = mem.write_port(), mem.read_port(domain="sync")
    wptr, rptr = Signal(range(depth), name=f"{name}_wptr"), Signal(range(depth), name=f"{name}_rptr")
    therm = Signal(depth, name=f"{name}_level")  # bit k: more than k words in the memory
    r_rdy, r_en = Signal(name=f"{name}_r_rdy"), Signal(name=f"{name}_r_en")
    refill = Signal(name=f"{name}_refill")

    m.d.comb += [wp.addr.eq(wptr), wp.data.eq(w_data), wp.en.eq(w_en),
                 refill.eq(therm[0] & ~r_rdy), rp.addr.eq(rptr), rp.en.eq(refill)]
    with m.If(w_en):
        m.d.sync += wptr.eq(wptr + 1)  # wraps: depth is a power of two
    with m.If(refill):
        m.d.sync += rptr.eq(rptr + 1)
    with m.If(w_en & ~refill):
        m.d.sync += therm.eq((therm << 1) | 1)
    with m.Elif(refill & ~w_en):
        m.d.sync += therm.eq(therm >> 1)
    with m.If(refill):
        m.d.sync += r_rdy.eq(1)
    with m.Elif(r_en):
        m.d.sync += r_rdy.eq(0)
    return RegFifo(r_rdy=r_rdy, r_data=rp.data, r_en=r_en)
