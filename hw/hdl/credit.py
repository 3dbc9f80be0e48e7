"""An output FIFO with credits, so that a long pipeline in front of it runs free (no stall enable at all).

A stall-all pipeline needs one enable to reach every register of it in the same cycle: in the softmax replay
that net had ~2,000 sinks, took 2 ns to route and sent nextpnr's router into long rip-up searches. Here the
pipeline never stalls; instead an element is only issued into it while the FIFO at its end is sure to have room
for everything in flight (`used` = issued and not yet taken by the consumer < `depth` - CREDIT_MARGIN, from a
count that starts at CREDIT_MARGIN so that the check is its top bit, moved by a registered -1/0/+1).
`issue_ok` is that check, registered twice. Every control signal is a flip-flop or one LUT from flip-flops:
`nonempty`, `ge2` and `blocked` are exact flip-flops beside a thermometer code of the memory's fill level that
lags a cycle (updated from registered events, so that the read side's `load` drives no bit of it), the memory is
LUT RAM in at most FLAT_BANKS banks, each bank read into a register of its own (`pre`, one LUT level from the read
pointer), then selected into a two-entry skid buffer (`skid.py`, written as next-state logic) whose output register is
`o.payload`, and `o.valid` is a flip-flop. `i.ready`-style independence holds: `issue_ok` depends on `o.ready`
only through registers.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib.memory import Memory

from hw.hdl.skid import skid_buffer

#: credits held back: the check sees `used` as of a few issues ago (the registered step, the count, the check,
#: and `issue_ok` copied once more on its way to the producer)
CREDIT_MARGIN = 5
#: words per LUT RAM bank (one TRELLIS_DPR16X4 deep on an ECP5)
BANK_DEPTH = 16
#: banks at most (a 2:1 select into the skid buffer): a 64-word FIFO has two banks of 32 words, each two DPR16X4
#: and a 2:1 select in the read into its bank register
FLAT_BANKS = 2


@dataclass(frozen=True)
class CreditFifo:
    """`issue_ok`: the producer may issue an element this cycle (a flip-flop)."""

    issue_ok: Signal


def credit_fifo(m: Module, *, issue: Value, up_valid: Value, up_payload: Value, o, depth: int) -> CreditFifo:
    """Connect the pipeline's last stage (`up_valid`, `up_payload`) to stream `o` through a `depth`-entry FIFO
    (plus the bank registers and the skid buffer: `depth` + 3 words).

    `issue` is high in a cycle the producer puts an element into the pipeline (only while `issue_ok`); the
    pipeline's latency from issue to `up_valid` must stay below `depth` - CREDIT_MARGIN - 5 for one element per
    cycle."""
    if depth < 8 or depth & (depth - 1):
        raise ValueError(f"credit FIFO depth must be a power of two >= 8, not {depth}")
    width = len(Value.cast(up_payload))
    bank_depth = min(depth, max(BANK_DEPTH, depth // FLAT_BANKS))
    nbanks, abits = depth // bank_depth, bank_depth.bit_length() - 1
    wptr, rptr = Signal(range(depth), name="ofifo_wptr"), Signal(range(depth), name="ofifo_rptr")
    level = Signal(depth, name="ofifo_level")  # thermometer: bit k = more than k words in the memory a cycle ago
    nonempty = Signal(name="ofifo_nonempty")  # a word is in the memory now
    pre_valid, pre_sel = Signal(name="ofifo_pre_valid"), Signal(range(nbanks), name="ofifo_pre_sel")
    load, pop = Signal(name="ofifo_load"), Signal(name="ofifo_pop")
    issue_ok = Signal(name="ofifo_issue_ok", init=1)
    # memory -> `pre` (each bank's word at rptr, registered) -> `main` (the bank's word selected)
    pre = []
    for b in range(nbanks):
        mem = Memory(shape=width, depth=bank_depth, init=[])
        m.submodules[f"out_fifo{b}"] = mem
        wp, rp = mem.write_port(), mem.read_port(domain="comb")
        hit = up_valid if nbanks == 1 else up_valid & (wptr[abits:] == b)
        m.d.comb += [wp.addr.eq(wptr[:abits]), wp.data.eq(up_payload), wp.en.eq(hit), rp.addr.eq(rptr[:abits])]
        word = Signal(width, name=f"ofifo_pre{b}", reset_less=True)
        with m.If(load):
            m.d.sync += word.eq(rp.data)
        pre.append(word)
    selected = pre[-1]
    for b in reversed(range(nbanks - 1)):
        selected = Mux(pre_sel == b, pre[b], selected)
    # `pre` moves into a skid buffer whenever its spare entry is free (a flip-flop), so that `load` is one LUT
    # from flip-flops (it loads the bank registers, the read pointer and the level: a large fan-out)
    skid_free = skid_buffer(m, pre_valid, selected, o)
    _read_control(m, up_valid, level, nonempty, pre_valid, skid_free, o, load)
    m.d.comb += pop.eq(o.valid & o.ready)
    with m.If(up_valid):
        m.d.sync += wptr.eq(wptr + 1)  # wraps: depth is a power of two
    with m.If(load):
        m.d.sync += [rptr.eq(rptr + 1), pre_sel.eq(rptr[abits:] if nbanks > 1 else 0)]
    return _credits(m, issue, pop, depth, issue_ok)


def _read_control(m: Module, up_valid, level, nonempty, pre_valid, skid_free, o, load) -> None:
    """The read side's control, each register's next state one LUT4/LUT5 from flip-flops:
    `blocked` (`pre` is valid and the skid buffer's spare entry too: nothing moves) is a flip-flop of its own,
    so `load` = `nonempty` & ~`blocked` and `pre_valid` = `nonempty` | `blocked` a cycle later; `nonempty` is
    up | `ge2` | (`nonempty` & `blocked`) with `ge2` (2 or more words in the memory) an exact flip-flop too,
    whose next state takes `ge3` (3 or more) from the lagging level and the registered events. Next states as AND/OR,
    no Mux (from a Mux that selects its own flip-flop synthesis makes an enable: a second LUT level)."""
    up_r, load_r = Signal(name="ofifo_up_r"), Signal(name="ofifo_load_r")
    blocked, ge2 = Signal(name="ofifo_blocked"), Signal(name="ofifo_ge2")
    ge3 = Signal(name="ofifo_ge3")
    m.d.sync += [up_r.eq(up_valid), load_r.eq(load)]
    with m.If(up_r & ~load_r):
        m.d.sync += level.eq((level << 1) | 1)
    with m.Elif(load_r & ~up_r):
        m.d.sync += level.eq(level >> 1)
    # (the level is a thermometer: level[3] implies level[2] implies level[1])
    m.d.comb += [load.eq(nonempty & ~blocked),
                 ge3.eq(level[3] | (level[2] & ~(load_r & ~up_r)) | (level[1] & up_r & ~load_r))]
    # `blocked`: the skid buffer's next state of its spare valid (its input valid is pre_valid) and
    # pre_valid's, ANDed
    m.d.sync += [pre_valid.eq(nonempty | blocked),
                 blocked.eq((nonempty | blocked) & ~o.ready & (~skid_free | (pre_valid & o.valid))),
                 nonempty.eq(up_valid | ge2 | (nonempty & blocked)),
                 ge2.eq((ge2 & (up_valid | blocked)) | (up_valid & nonempty & blocked) | (~up_valid & ~blocked & ge3))]


def _credits(m: Module, issue, pop, depth: int, issue_ok: Signal) -> CreditFifo:
    """The credit check: a count that starts at CREDIT_MARGIN (`used < depth - CREDIT_MARGIN` is
    its top bit, clear) moved by a registered -1/0/+1."""
    credit_ok = Signal(name="ofifo_credit_ok", init=1)
    top = depth.bit_length() - 1
    count = Signal(top + 1, name="ofifo_used_off", init=CREDIT_MARGIN)
    step = Signal(top + 1, name="ofifo_step")  # +1 or -1 (all ones), from the last cycle issue and pop differed
    moved = Signal(name="ofifo_moved")  # the step is not 0: the count's enable (a flip-flop)
    # `moved` an XOR into a flip-flop, the step loaded only when it moves, as data (+1 or -1 by `issue`: no
    # constant under a condition, which synthesis would make a reset pin behind a LUT), the count updated
    # under `moved`: an unknown `issue` in a Verilog simulation's first cycles, before its `always @*` blocks
    # have run, then leaves the step and the count as they are
    m.d.sync += moved.eq(issue ^ pop)
    with m.If(issue ^ pop):
        m.d.sync += step.eq(Mux(issue, 1, -1))
    with m.If(moved):
        m.d.sync += count.eq(count + step)
    m.d.sync += [credit_ok.eq(~count[top]), issue_ok.eq(credit_ok)]
    return CreditFifo(issue_ok=issue_ok)
