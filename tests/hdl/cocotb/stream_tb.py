"""cocotb test bench for the exported Verilog of a stream unit (`gelu.v`, `softmax.v`): random gaps on
`i__valid`, random and bursty backpressure on `o__ready`, and a reset in the middle of a row. The stimulus and
the expected outputs (from the bit-exact model) come in a JSON file named by $CASCADE_TB_CASE."""

import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge


async def _reset(dut, cycles=2):
    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


@cocotb.test()
async def stream_matches_model(dut):
    case = json.loads(Path(os.environ["CASCADE_TB_CASE"]).read_text())
    rng = random.Random(case["seed"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    dut.i__payload.value = 0
    await _reset(dut)
    # a partial row, then a reset: nothing of it may come out afterwards
    for value in case["abandoned"]:
        dut.i__valid.value = 1
        dut.i__payload.value = value
        await RisingEdge(dut.clk)
        while not dut.i__ready.value:
            await RisingEdge(dut.clk)
    dut.i__valid.value = 0
    await _reset(dut, 3)

    inputs, expected, got = case["inputs"], case["expected"], []
    stall_left = 0

    async def sink():
        nonlocal stall_left
        while len(got) < len(expected):
            if stall_left == 0 and rng.random() < 0.05:
                stall_left = rng.randint(1, 20)  # a burst of backpressure
            stall = stall_left > 0 or rng.random() < 0.3
            stall_left = max(0, stall_left - 1)
            dut.o__ready.value = 0 if stall else 1
            await ReadOnly()
            if dut.o__valid.value and not stall:
                got.append(int(dut.o__payload.value))
            await RisingEdge(dut.clk)

    done = cocotb.start_soon(sink())
    for value in inputs:
        while rng.random() < 0.2:  # a gap before this element
            dut.i__valid.value = 0
            await RisingEdge(dut.clk)
        dut.i__valid.value = 1
        dut.i__payload.value = value
        await ReadOnly()
        while not dut.i__ready.value:
            await RisingEdge(dut.clk)
            await ReadOnly()
        await RisingEdge(dut.clk)
    dut.i__valid.value = 0
    await done
    bad = [k for k, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
    assert not bad, f"{len(bad)} outputs differ from the model, the first at output {bad[0] if bad else None}"
