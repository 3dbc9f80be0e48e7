"""A staged tile read by several Einsums of one group is filled into the buffer once: the model reads it from DRAM
once (the group shares the tile), so the buffer is written once too, under both energy conventions. (Before, the
physical convention charged the fill to every reader: FLAT's and Unfused's softmax filled the scores twice.)"""

import copy

import pytest

from einsum_cascades.loader import parse_cascade
from hw.registry import load_target_data, validate_target
from hw.spatial import check_against_table
from mappers.mapping import EinsumMapping, Group, Mapping
from simulator.spatial.convention import PHYSICAL, Dataflow
from simulator.spatial.model import cost_group
from simulator.spatial.problem import cascade_problem

TWO_READERS = """
name: two-readers
ranks: {m: 1024, p: 256}
inputs: {S: [m, p]}
einsums: |
  MX[p] = S[m,p] :: max(m)
  SM[p] = S[m,p] :: +(m)
outputs: [MX, SM]
"""


@pytest.fixture(scope="module")
def setup():
    data, path = load_target_data("fusemax")
    target = validate_target(copy.deepcopy(data), path)
    return target, check_against_table(target), cascade_problem(parse_cascade(TWO_READERS), {}, 2)


def mapping(readers):
    group = Group(name="g", tile={"p": 16}, stages=((tuple(readers),),))
    einsums = {n: EinsumMapping(array="pe1d", spatial={"p": 16}, loop_order=("p",)) for n in readers}
    return group, Mapping(name="m", cascade="two-readers", groups=(group,), einsums=einsums)


@pytest.mark.parametrize("dataflow", [PHYSICAL, Dataflow(convention="artifact", rf_one_pe=True, fill_once=True)])
def test_two_readers_fill_the_shared_tile_once(setup, dataflow):
    target, table, problem = setup
    specs = {s.name: s for s in problem.einsums}
    both_group, both = mapping(["MX", "SM"])
    cost = cost_group(both_group, specs, both, problem, target, table, "<test>", dataflow)
    s_bytes = 1024 * 256 * target.word_bytes * 2  # S, both instances, read from DRAM once
    assert sum(c.dram_read_bytes for c in cost.einsums) == pytest.approx(s_bytes)
    reads = sum(c.buffer_read_bytes for c in cost.einsums)
    writes = sum(c.buffer_write_bytes for c in cost.einsums)
    # each reader alone fills S once and writes its output; together S is filled once, not twice
    singles = []
    for n in ("MX", "SM"):
        g, m = mapping([n])
        singles.append(cost_group(g, specs, m, problem, target, table, "<test>", dataflow).einsums[0])
    fill = singles[0].staged_reads["S"]
    assert fill == pytest.approx(s_bytes)
    assert writes == pytest.approx(sum(c.buffer_write_bytes for c in singles) - fill)
    assert reads == pytest.approx(sum(c.buffer_read_bytes for c in singles))
