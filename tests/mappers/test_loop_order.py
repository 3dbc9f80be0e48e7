"""The loop order inside an Einsum's tile is part of the search (`simulator.spatial.search.polish_loop_orders`): the
DRAM-level order is kept and the ranks looped only inside the tile are placed where they cost least energy at no
more latency. Found missing by the ZigZag cross-check (docs/mapper.md): BERT AV re-read its scores every cycle."""

import copy

import pytest

from einsum_cascades.loader import parse_cascade
from hw.registry import load_target_data, validate_target
from hw.spatial import check_against_table
from mappers.mapping import EinsumMapping
from mappers.search import SearchStats
from simulator.spatial.energy import energy_by_component_pj
from simulator.spatial.model import cost_group
from simulator.spatial.problem import cascade_problem
from simulator.spatial.search import SearchSettings, order_choices, polish_loop_orders, search_mapping

AV = """
name: gemm-av
ranks: {f: 64, p: 2048, m: 2048}
inputs: {A: [m, p], V: [f, m]}
einsums: |
  AV[f,p] = A[m,p] * V[f,m]
outputs: [AV]
"""


@pytest.fixture(scope="module")
def setup():
    data, path = load_target_data("fusemax")
    data = copy.deepcopy(data)
    data["arrays"] = [a for a in data["arrays"] if a["name"] == "pe2d"]
    target = validate_target(data, f"{path} (pe2d only)")
    table = check_against_table(target)
    cascade = parse_cascade(AV)
    problem = cascade_problem(cascade, {}, 4)
    return target, table, cascade, problem


def energy_fn(target, table):
    return lambda costs: sum(energy_by_component_pj(target, table, costs).values())


def test_order_choices_keep_the_dram_order_and_place_the_tile_loops():
    spec = cascade_problem(parse_cascade(AV), {}, 1).einsums[0]
    em = EinsumMapping(array="pe2d", spatial={"p": 256, "m": 256}, loop_order=("m",), buffer_tile={"m": 256})
    orders = order_choices(spec, em, {})
    # m is tiled (8 DRAM-level trips); p (8) and f (64) loop only inside the tile: every placement of them
    assert sorted(orders) == sorted([("m", "p", "f"), ("m", "f", "p"), ("p", "m", "f"), ("f", "m", "p"),
                                     ("p", "f", "m"), ("f", "p", "m")])
    two = EinsumMapping(array="pe2d", spatial={"p": 256}, loop_order=("p", "m"), buffer_tile={"m": 256, "p": 256})
    assert all(o.index("p") < o.index("m") for o in order_choices(spec, two, {}))  # DRAM order p before m kept
    # nothing loops inside the tile: nothing to place
    whole = EinsumMapping(array="pe2d", spatial={"p": 256, "f": 64}, loop_order=("m", "p"),
                          buffer_tile={"m": 1, "p": 256})
    assert order_choices(spec, whole, {}) == []


def test_search_holds_the_scores_stationary_and_saves_energy_at_the_same_latency(setup):
    target, table, cascade, problem = setup
    energy = energy_fn(target, table)
    mapping, _ = search_mapping(cascade, {}, 4, target, table, SearchSettings(), energy)
    em = mapping.einsums["AV"]
    specs = {s.name: s for s in problem.einsums}

    def cost(m):
        (g,) = m.groups
        c = cost_group(g, specs, m, problem, target, table, "<test>")
        return c.latency_s, energy(c.einsums)

    lat, pj = cost(mapping)
    # the default order (DRAM order, then the iteration ranks f, p, m) walks p innermost: A re-read per cycle
    plain = em.model_copy(update={"loop_order": tuple(r for r in em.loop_order if r == "m")})
    plain_lat, plain_pj = cost(mapping.model_copy(update={"einsums": {"AV": plain}}))
    assert em.loop_order[-1] == "f"  # the values walk innermost while a score stays in each PE
    assert lat <= plain_lat * (1 + 1e-12)
    assert pj < plain_pj * 0.95


def test_polish_respects_an_exhausted_budget(setup):
    target, table, cascade, problem = setup
    mapping, _ = search_mapping(cascade, {}, 4, target, table, SearchSettings(), energy_fn(target, table))
    stats = SearchStats(budget=1)
    stats.costed = 1
    same, totals = polish_loop_orders(mapping, problem, target, table, energy_fn(target, table), stats, (1.0, 2.0))
    assert same is mapping and totals == (1.0, 2.0) and stats.costed == 1
