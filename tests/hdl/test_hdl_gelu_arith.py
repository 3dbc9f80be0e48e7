"""GELU's short-chain arithmetic (`hw.hdl.gelu_arith`), its kept-apart tables (`hw.hdl.gelu_rom`) and its FIFO depth."""

import json

import numpy as np
import pytest
from amaranth.hdl import Const, Module, Signal, signed, unsigned
from amaranth.sim import Simulator

from hw.hdl import gelu_arith as ga
from hw.hdl.export import export
from hw.hdl.fixed import parse_format
from hw.hdl.flow import throughput
from hw.hdl.gelu import Gelu
from hw.hdl.gelu_model import METHODS, plan_gelu
from hw.hdl.pipeline import Stages
from hw.hdl.synth import synth_ecp5


def _run(build, inputs: list[tuple[int, ...]], shapes) -> list[int]:
    """Feed one input tuple per cycle into `build(st, signals) -> (Num, stages)`; return each result."""
    m = Module()
    st = Stages(m, Const(1), reset_less=True)
    sigs = [Signal(s, name=f"in{k}") for k, s in enumerate(shapes)]
    out, n = build(st, sigs)
    got = []

    async def bench(ctx):
        for k in range(len(inputs) + n):
            if k < len(inputs):
                for s, v in zip(sigs, inputs[k], strict=True):
                    ctx.set(s, v)
            await ctx.tick()
            if k >= n - 1 and len(got) < len(inputs):
                got.append(ctx.get(out.value))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return got


def test_chunked_add_and_sub_are_exact_beyond_one_chain():
    rng = np.random.default_rng(5)
    lo, hi = -(1 << 29), (1 << 29) - 1
    vals = [(int(a), int(b), int(c)) for a, b, c in zip(rng.integers(lo, hi, 40), rng.integers(lo, hi, 40),
                                                         rng.integers(0, 2, 40), strict=True)]
    shapes = [signed(30), signed(30), unsigned(1)]
    for sub in (False, True):
        def build(st, s, sub=sub):
            r, n = ga.add(st, ga.Num(s[0], lo, hi), ga.Num(s[1], lo, hi), "t", sub=sub, cin=s[2])
            assert n == ga.add_stages(r.lo, r.hi) > 1  # more bits than one chain: cut into chunks
            return r, n
        want = [a - b - c if sub else a + b + c for a, b, c in vals]
        assert _run(build, vals, shapes) == want


def test_aligned_multiplier_and_round_shift_are_exact():
    rng = np.random.default_rng(6)
    vals = [(int(a), int(b), int(e)) for a, b, e in zip(rng.integers(-2000, 2000, 40), rng.integers(0, 1 << 13, 40),
                                                        rng.integers(0, 100, 40), strict=True)]

    def build(st, s):
        p, n1 = ga.mul(st, ga.Num(s[0], -2000, 1999), ga.Num(s[1], 0, (1 << 13) - 1), "m",
                       extra=ga.Num(s[2], 0, 99))
        r, n2 = ga.round_shift(st, p, 7, "r")
        return r, n1 + n2

    want = [(a * b + e + 64) >> 7 for a, b, e in vals]
    assert _run(build, vals, [signed(12), unsigned(13), unsigned(7)]) == want


def test_shape_for_fits_its_bounds_exactly():
    assert ga.shape_for(0, 255) == unsigned(8) and ga.shape_for(-128, 127) == signed(8)
    assert ga.shape_for(-129, 0) == signed(9) and ga.shape_for(-1, 128) == signed(9)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fmt", ["Q7.8", "Q3.12"])
def test_gelu_fifo_keeps_one_element_per_cycle(method, fmt):
    q = parse_format(fmt)
    assert throughput(plan_gelu(method, q, q)) == (1.0, 1.0)


def test_tables_are_kept_apart_and_counted_over_the_hierarchy(tmp_path):
    """The delivered gelu.v holds the table pieces as keep_hierarchy modules; their LUTs count in the totals."""
    q = parse_format("Q3.12")
    files = export(Gelu(plan_gelu("edge-moe", q, q)), "gelu", tmp_path)
    text = files.verilog_path.read_text()
    assert text.count("keep_hierarchy") > 4 and text.count("\nmodule ") > 4
    r = synth_ecp5(files.verilog_path, "gelu", tmp_path / "synth", seeds=())
    top = json.loads((tmp_path / "synth" / "gelu_stat.json").read_text())["modules"]["\\gelu"]
    assert r.luts > top["num_cells_by_type"]["LUT4"]
