"""Drive a stream unit in Amaranth's simulator: feed payloads, collect outputs, optionally with backpressure.

Used by the tests and by `cascade hdl --verify` to check hardware = bit-exact model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from amaranth.sim import Simulator


@dataclass(frozen=True)
class StreamRun:
    """Outputs (raw payload integers) with the cycle each was accepted, and the input acceptance cycles."""

    outputs: tuple[int, ...]
    out_cycles: tuple[int, ...]
    in_cycles: tuple[int, ...]
    overflow: int | None = None  # the unit's `overflow` output at the end, where it has one


def run_stream(dut, payloads: list[int], *, stall_prob: float = 0.0, input_gap_prob: float = 0.0,
               seed: int = 0, n_out: int | None = None, vcd: Path | None = None,
               max_cycles: int = 10_000_000) -> StreamRun:
    """Send raw `payloads` into `dut.i`, read `n_out` (default: as many) raw payloads from `dut.o`.

    `stall_prob` is the chance per cycle that the sink holds `o.ready` low (backpressure); `input_gap_prob` the
    chance that the source idles a cycle before the next element.
    """
    n_out = len(payloads) if n_out is None else n_out
    rng = random.Random(seed)
    gaps = [rng.random() < input_gap_prob for _ in payloads]
    stalls = [rng.random() < stall_prob for _ in range(n_out * 4 + 64)]
    outputs: list[int] = []
    out_cycles: list[int] = []
    in_cycles: list[int] = []
    cycle = [0]
    overflow: list[int | None] = [None]
    in_payload = dut.i.payload.as_value() if hasattr(dut.i.payload, "as_value") else dut.i.payload
    out_payload = dut.o.payload.as_value() if hasattr(dut.o.payload, "as_value") else dut.o.payload

    async def clock_count(ctx):
        async for _ in ctx.tick():
            cycle[0] += 1
            if cycle[0] > max_cycles:
                raise RuntimeError(f"simulation exceeded {max_cycles} cycles")

    async def source(ctx):
        for value, gap in zip(payloads, gaps, strict=True):
            if gap:
                await ctx.tick()
            ctx.set(dut.i.valid, 1)
            ctx.set(in_payload, value)
            await ctx.tick().until(dut.i.ready)
            in_cycles.append(cycle[0])
            ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        k = 0
        while len(outputs) < n_out:
            stall = stalls[k % len(stalls)]
            k += 1
            ctx.set(dut.o.ready, 0 if stall else 1)
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, out_payload)
            if valid and not stall:
                outputs.append(_raw(payload))
                out_cycles.append(cycle[0])
        ctx.set(dut.o.ready, 0)
        if hasattr(dut, "overflow"):
            overflow[0] = int(ctx.get(dut.overflow))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_process(clock_count)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    if vcd is not None:
        with sim.write_vcd(str(vcd)):
            sim.run()
    else:
        sim.run()
    return StreamRun(tuple(outputs), tuple(out_cycles), tuple(in_cycles), overflow[0])


def _raw(payload) -> int:
    """The raw bits of a sampled payload (an int, or a data.Const view of a struct)."""
    if hasattr(payload, "as_bits"):
        return int(payload.as_bits())
    if hasattr(payload, "as_value"):
        return int(payload.as_value().value)
    return int(payload)


def ready_follows_registers(dut, payload, cycles: int) -> bool:  # noqa: ANN001
    """Whether `dut.i.ready` stays the same when `dut.o.ready` flips within a cycle, over `cycles` cycles of a
    valid input `payload(k)` and an output stalled four cycles in five: i.e. i.ready comes from flip-flops, not
    combinationally from downstream (a chain of such units then has no ready path through every stage)."""
    from amaranth.hdl import Value

    seen = []
    raw_payload = Value.cast(dut.i.payload)  # a plain signal or a data view

    async def bench(ctx):  # noqa: ANN001
        for k in range(cycles):
            ctx.set(dut.i.valid, 1)
            ctx.set(raw_payload, payload(k))
            ctx.set(dut.o.ready, 0)
            before = ctx.get(dut.i.ready)
            ctx.set(dut.o.ready, 1)
            seen.append(before == ctx.get(dut.i.ready))
            ctx.set(dut.o.ready, k % 5 == 0)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return len(seen) == cycles and all(seen)
