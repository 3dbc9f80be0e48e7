"""A two-entry skid buffer at a unit's output, so that the unit's `ready` towards its producer is a flip-flop.

The pipeline in front of it advances on `en = ~spare_valid` (a register), never on the consumer's `o.ready`:
chained units therefore form no combinational ready chain, and each unit's clock is measured standalone. The
buffer adds one cycle of latency and keeps one element per cycle (the spare entry absorbs the one element that
arrives in the cycle `o.ready` falls).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value


def skid_buffer(m: Module, up_valid: Value, up_payload: Value, o) -> Signal:
    """Connect `up_valid`/`up_payload` (the last pipeline stage) to stream `o` through a skid buffer.

    Returns `en`: high when the pipeline may advance (the buffer takes the last stage's element, if any). Written
    as each register's next state (valid bits as AND/OR, not a priority chain of ifs, from which synthesis makes a
    sync reset behind a LUT: the GELU -> softmax chain's critical path, 179.6 MHz worst seed, when the register
    slice had that form), so that every control input is one LUT4 from flip-flops and `o.ready`.
    """
    width = len(Value.cast(up_payload))
    spare_valid, spare = Signal(name="skid_spare_valid"), Signal(width, name="skid_spare")
    main_valid, main = Signal(name="skid_main_valid"), Signal(width, name="skid_main")
    en = Signal(name="en")
    m.d.comb += [en.eq(~spare_valid), o.valid.eq(main_valid), o.payload.eq(main)]
    main_free = ~main_valid | o.ready
    # (main_valid is set whenever spare_valid is)
    with m.If(Mux(spare_valid, o.ready, up_valid & main_free)):
        m.d.sync += main.eq(Mux(spare_valid, spare, up_payload))
    with m.If(~spare_valid & up_valid & ~main_free):
        m.d.sync += spare.eq(up_payload)
    m.d.sync += [spare_valid.eq(~o.ready & (spare_valid | (up_valid & main_valid))),
                 main_valid.eq(spare_valid | up_valid | (main_valid & ~o.ready))]
    return en
    with m.If(spare_valid & o.ready):  # the consumer takes main; the spare moves up (en is low meanwhile)
        m.d.sync += [main.eq(spare), spare_valid.eq(0)]
    with m.Elif(~spare_valid & up_valid & main_free):
        m.d.sync += [main.eq(up_payload), main_valid.eq(1)]
    with m.Elif(~spare_valid & up_valid):  # main is held: park the element that arrived this cycle
        m.d.sync += [spare.eq(up_payload), spare_valid.eq(1)]
    with m.Elif(~spare_valid & o.ready):
        m.d.sync += main_valid.eq(0)
    return en
