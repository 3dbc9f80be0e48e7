"""An output FIFO with credits, so that a long pipeline in front of it runs free (no stall enable at all).

A stall-all pipeline needs one enable to reach every register of it in the same cycle: in the softmax replay
that net had ~2,000 sinks, took 2 ns to route and sent nextpnr's router into long rip-up searches. Here the
pipeline never stalls; instead an element is only issued into it while the FIFO at its end is sure to have room
for everything in flight (`used` = issued and not yet taken by the consumer < `depth` - 4, counted from registered
`issue` and `pop`, compared into a register).
`issue_ok` is that flip-flop. Every control signal is a flip-flop or one LUT from flip-flops: `nonempty` is a
flip-flop, exact, beside a thermometer code of the memory's fill level that lags a cycle (updated from registered
events, so that the read side's `load` drives no bit of it), the memory is LUT RAM in banks of 16 words, each
bank read into a register of its own (`pre`, one LUT level from the read pointer), then selected into a two-entry
skid buffer (`skid.py`) whose output register is `o.payload`, and `o.valid` is a flip-flop. `i.ready`-style
independence holds: `issue_ok` depends on `o.ready` only through registers.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib.memory import Memory

from hw.hdl.skid import skid_buffer

#: credits held back: the check sees `used` as of four issues ago (registered issue, count, the compare, and
#: `issue_ok` copied once more on its way to the producer)
CREDIT_MARGIN = 5
#: words per LUT RAM bank (one TRELLIS_DPR16X4 deep on an ECP5)
BANK_DEPTH = 16
#: banks at most with `flat_control` (a 2:1 select into the skid buffer): a 64-word FIFO has two banks of 32
#: words, each two DPR16X4 and a 2:1 select in the read into its bank register
FLAT_BANKS = 2


@dataclass(frozen=True)
class CreditFifo:
    """`issue_ok`: the producer may issue an element this cycle (a flip-flop)."""

    issue_ok: Signal


def credit_fifo(m: Module, *, issue: Value, up_valid: Value, up_payload: Value, o, depth: int,
                flat_control: bool = False) -> CreditFifo:
    """Connect the pipeline's last stage (`up_valid`, `up_payload`) to stream `o` through a `depth`-entry FIFO
    (plus the bank registers and the skid buffer: `depth` + 3 words).

    `flat_control`: the same FIFO, cycle for cycle, with the credit check from a count that starts at
    CREDIT_MARGIN (so that `used < depth - CREDIT_MARGIN` is its top bit, clear: no compare chain) and moves by a
    registered -1/0/+1 (a bare carry chain from flip-flops, no select after it), the skid buffer's `flat`
    form, the read side's control from flip-flops of its own (`_flat_read`) and at most FLAT_BANKS banks; GELU
    uses it.

    `issue` is high in a cycle the producer puts an element into the pipeline (only while `issue_ok`); the
    pipeline's latency from issue to `up_valid` must stay below `depth` - CREDIT_MARGIN - 5 for one element per
    cycle."""
    if depth < 8 or depth & (depth - 1):
        raise ValueError(f"credit FIFO depth must be a power of two >= 8, not {depth}")
    width = len(Value.cast(up_payload))
    bank_depth = min(depth, max(BANK_DEPTH, depth // FLAT_BANKS) if flat_control else BANK_DEPTH)
    nbanks, abits = depth // bank_depth, bank_depth.bit_length() - 1
    wptr, rptr = Signal(range(depth), name="ofifo_wptr"), Signal(range(depth), name="ofifo_rptr")
    level = Signal(depth, name="ofifo_level")  # thermometer: bit k = more than k words in the memory a cycle ago
    nonempty = Signal(name="ofifo_nonempty")  # a word is in the memory now
    pre_valid, pre_sel = Signal(name="ofifo_pre_valid"), Signal(range(nbanks), name="ofifo_pre_sel")
    load, move, pop = Signal(name="ofifo_load"), Signal(name="ofifo_move"), Signal(name="ofifo_pop")
    used = Signal(range(depth + 3), name="ofifo_used")
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
    skid_free = skid_buffer(m, pre_valid, selected, o, flat=flat_control)
    if flat_control:
        _flat_read(m, up_valid, level, nonempty, pre_valid, skid_free, o, load)
        m.d.comb += pop.eq(o.valid & o.ready)
        with m.If(up_valid):
            m.d.sync += wptr.eq(wptr + 1)
        with m.If(load):
            m.d.sync += [rptr.eq(rptr + 1), pre_sel.eq(rptr[abits:] if nbanks > 1 else 0)]
        return _flat_credits(m, issue, pop, depth, issue_ok)
    m.d.comb += [move.eq(pre_valid & skid_free), load.eq(nonempty & (~pre_valid | skid_free)),
                 pop.eq(o.valid & o.ready)]
    with m.If(up_valid):
        m.d.sync += wptr.eq(wptr + 1)  # wraps: depth is a power of two
    with m.If(load):
        m.d.sync += [rptr.eq(rptr + 1), pre_sel.eq(rptr[abits:] if nbanks > 1 else 0), pre_valid.eq(1)]
    with m.Elif(move):
        m.d.sync += pre_valid.eq(0)
    # the level as of the cycle before, updated from registered `up_valid` and `load` (so `load` drives no
    # thermometer bit); `nonempty` is kept exact beside it: it stays set while 2 or more words are in the memory
    # (`ge2`, from the lagging level and the registered events), a word arrives, or no word leaves
    up_r, load_r, ge2 = Signal(name="ofifo_up_r"), Signal(name="ofifo_load_r"), Signal(name="ofifo_ge2")
    m.d.sync += [up_r.eq(up_valid), load_r.eq(load)]
    with m.If(up_r & ~load_r):
        m.d.sync += level.eq((level << 1) | 1)
    with m.Elif(load_r & ~up_r):
        m.d.sync += level.eq(level >> 1)
    m.d.comb += ge2.eq(Mux(up_r & ~load_r, level[0], Mux(load_r & ~up_r, level[2], level[1])))
    m.d.sync += nonempty.eq(up_valid | ge2 | (nonempty & pre_valid & ~skid_free))
    # credits: one taken per issue, one returned per element the consumer takes, both counted from registered
    # copies (the count's update starts at flip-flops, not at the AND that is `issue`); the check is thus four
    # cycles stale (issues in the four cycles up to `issue_ok` are not yet in `used`), hence the margin
    credit_ok = Signal(name="ofifo_credit_ok", init=1)
    issue_r, pop_r = Signal(name="ofifo_issue_r"), Signal(name="ofifo_pop_r")
    m.d.sync += [issue_r.eq(issue), pop_r.eq(pop)]
    with m.If(issue_r & ~pop_r):
        m.d.sync += used.eq(used + 1)
    with m.Elif(pop_r & ~issue_r):
        m.d.sync += used.eq(used - 1)
    # the compare into a register by the count, copied into `issue_ok` on the way to the producer (far off)
    m.d.sync += [credit_ok.eq(used < depth - CREDIT_MARGIN), issue_ok.eq(credit_ok)]
    return CreditFifo(issue_ok=issue_ok)


def _flat_read(m: Module, up_valid, level, nonempty, pre_valid, skid_free, o, load) -> None:
    """The read side's control with `flat_control`, each register's next state one LUT4/LUT5 from flip-flops:
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
    # `blocked`: the skid buffer's `flat` next state of its spare valid (its input valid is pre_valid) and
    # pre_valid's, ANDed
    m.d.sync += [pre_valid.eq(nonempty | blocked),
                 blocked.eq((nonempty | blocked) & ~o.ready & (~skid_free | (pre_valid & o.valid))),
                 nonempty.eq(up_valid | ge2 | (nonempty & blocked)),
                 ge2.eq((ge2 & (up_valid | blocked)) | (up_valid & nonempty & blocked) | (~up_valid & ~blocked & ge3))]


def _flat_credits(m: Module, issue, pop, depth: int, issue_ok: Signal) -> CreditFifo:
    """`flat_control`'s credit check: a count that starts at CREDIT_MARGIN (`used < depth - CREDIT_MARGIN` is
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
