"""The search costs candidates in batches (`mappers.mapspace.build_groups` + the cost model's batch path), where
each candidate's array binding, tensor levels, in-place hosts, loop order and lanes are per-candidate data. A batch
must cost every candidate exactly as that candidate's ordinary mapping (`build_group`, the batch of one taken out
by `batch_row`) costs alone through the model's scalar path: the same latency and energy, candidate by candidate."""

import itertools
import random

import numpy as np
import pytest

from einsum_cascades import load_cascade
from hw.registry import load_target
from hw.spatial import check_against_table
from mappers.mapspace import (
    GroupChoice,
    blockable,
    build_group,
    build_groups,
    group_tiles,
    reduction_locked_ranks,
    tile_ladder,
)
from mappers.search import search_group
from simulator.spatial.energy import energy_by_component_pj
from simulator.spatial.model import cost_group
from simulator.spatial.problem import cascade_problem
from simulator.spatial.search import SEARCH_FILE, _mapping, cycles_per_point_of

CASES = [  # (target, cascade, sizes): the FuseMax 1-pass cascade on its target, FLAT's 3-pass, and two others
    ("fusemax", "attention-1pass", {"P": 4096, "M": 4096, "E": 64, "F": 64, "M0": 256}),
    ("fusemax@2048", "attention-1pass", {"P": 4096, "M": 4096, "E": 64, "F": 64, "M0": 256}),  # ports limited
    ("flat", "attention-3pass", {"P": 4096, "M": 4096, "E": 64, "F": 64}),
    ("unfused", "attention-2pass", {"P": 1024, "M": 1024, "E": 64, "F": 64}),
    ("fusemax", "multi-query-attention", {}),
]


def random_choices(specs, target, rng, count):
    """Random group choices over the search's own axes (tiles from the ladders, DRAM-level orders, on or off chip,
    streams and row blocks)."""
    ranks = group_tiles(specs)
    dims = sorted({d for a in target.arrays for d in (a.rows, a.cols) if d > 1})
    locked = reduction_locked_ranks(specs)
    tileable = [r for r, s in ranks.items() if r not in locked and s > 1]
    streams = [None, *[r for r in ranks if ranks[r] > max(dims)]]
    out = []
    for _ in range(count):
        tile = {r: rng.choice(tile_ladder(ranks[r], dims)) for r in tileable}
        tiled = [r for r in tileable if tile[r] < ranks[r]]
        order = tuple(rng.sample(tiled, len(tiled)))
        block = None
        if blockable(specs) and tiled and rng.random() < 0.4:
            r = rng.choice(tiled)
            bigger = [v for v in tile_ladder(ranks[r], dims) if v > tile[r]]
            block = (r, rng.choice(bigger)) if bigger else None
        stream = rng.choice(streams)
        out.append(GroupChoice(tuple(sorted((r, tile[r]) for r in tiled)), order, rng.random() < 0.6,
                               None if block is not None and stream == block[0] else stream, block))
    return out


def segments(n, rng, count):
    every = [(i, j) for i, j in itertools.combinations(range(n + 1), 2)]
    return [(0, n)] + rng.sample(every, min(count, len(every)))


@pytest.mark.parametrize("target_name,cascade_name,sizes", CASES)
def test_a_batch_costs_each_candidate_as_its_own_mapping_alone(target_name, cascade_name, sizes):
    target = load_target(target_name.split("@")[0])
    if "@" in target_name:  # `name@B`: the buffer's ports limited to B bytes per cycle
        port = float(target_name.split("@")[1])
        target = target.model_copy(update={"global_buffer": target.global_buffer.model_copy(
            update={"bw_bytes_per_cycle": port})})
    table = check_against_table(target)
    cascade = load_cascade(cascade_name)
    defaults = dict(cascade.roles.defaults or {}) if cascade.roles is not None else {}
    free = {str(s): 1024 for e in cascade.ranks.values() for s in getattr(e, "free_symbols", ())}
    problem = cascade_problem(cascade, free | defaults | sizes, 12)
    specs = list(problem.einsums)
    by_name = {s.name: s for s in specs}
    io = set(problem.inputs | problem.outputs)
    cpp = cycles_per_point_of(target)
    rng = random.Random(7)
    compared = fits = 0
    structures = set()
    for i, j in segments(len(specs), rng, 4):
        seg = specs[i:j]
        inside = {s.name for s in seg}
        outside = {t for s in specs if s.name not in inside for t, _ in s.operands} & {s.output for s in seg}
        choices = random_choices(seg, target, rng, 40)
        batch_latency = np.full(len(choices), np.nan)
        batch_energy = np.full(len(choices), np.nan)
        for idx, gm in build_groups("g", seg, choices, target, cpp, outside, io):
            cost = cost_group(gm.group, by_name, _mapping(problem.name, {}, [gm]), problem, target, table,
                              SEARCH_FILE, lanes=gm.lanes)
            batch_latency[idx] = np.broadcast_to(cost.latency_s, idx.shape)
            batch_energy[idx] = np.broadcast_to(sum(energy_by_component_pj(target, table, cost.einsums).values()),
                                                idx.shape)
        for k, choice in enumerate(choices):
            one = build_group("g", seg, choice, target, cpp, outside, io)
            structures.add((tuple(e.array for e in one.einsums.values()), tuple(sorted(one.tensors.items())),
                            tuple(sorted(one.in_place.items())), len(one.group.stages[0])))
            try:
                alone = cost_group(one.group, by_name, _mapping(problem.name, {}, [one]), problem, target, table,
                                   SEARCH_FILE)
            except Exception as exc:  # does not fit the buffer: the batch says so with an infinite latency
                assert "global_buffer.capacity_bytes" in str(exc), exc
                assert batch_latency[k] == np.inf
                continue
            energy = sum(energy_by_component_pj(target, table, alone.einsums).values())
            assert batch_latency[k] == pytest.approx(alone.latency_s, rel=1e-12), (i, j, choice)
            assert batch_energy[k] == pytest.approx(energy, rel=1e-12), (i, j, choice)
            compared += 1
            fits += 1
    assert fits >= 40  # most random choices fit, so the comparison is not vacuous
    assert len(structures) >= 4  # and the batches mixed several structures


def test_the_search_costs_in_batches_and_keeps_the_best_per_choice():
    """`search_group` hands the model lists of choices; what it returns is each choice's own cost."""
    seen = []

    def evaluate(choices):
        seen.append(len(choices))
        return [(sum(v for _, v in c.tile) * 1e-9 + 1e-6, 1.0) for c in choices]

    from mappers.search import SearchStats

    front = search_group({"p": 4096, "m": 4096, "e": 64}, set(), [16, 256], evaluate, "latency", SearchStats(), 0)
    assert max(seen) > 100  # the grid went as batches
    assert front[0].latency_s == pytest.approx(min(sum(v for _, v in p.choice.tile) for p in front) * 1e-9 + 1e-6)
