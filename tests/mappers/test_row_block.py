"""The row block: a group's Einsums that read staged inputs may keep a larger tile on one rank than the group's
(FLAT's scheme, `mappers/builtin/flat.yaml`: QK and AV on blocks of query rows while the softmax walks one row), so
the search finds mappings no slower than the built-in ones where it failed without it (flat and unfused at 1M)."""

import pytest

from einsum_cascades import load_cascade
from hw.registry import load_target
from mappers.mapping import load_mapping
from mappers.mapspace import GroupChoice, blockable, build_group
from simulator.evaluate import EvaluateRequest, evaluate_record
from simulator.spatial.problem import cascade_problem
from simulator.spatial.search import cycles_per_point_of

SIZES = {"P": 4096, "M": 4096, "E": 64, "F": 64}


def specs():
    return list(cascade_problem(load_cascade("attention-3pass"), SIZES, 12).einsums)


def test_a_row_block_widens_only_the_einsums_reading_staged_inputs():
    target = load_target("flat")
    choice = GroupChoice(tile=(("p", 1),), order=("p",), onchip=False, stream="m", block=("p", 512))
    gm = build_group("g", specs(), choice, target, cycles_per_point_of(target), set(), {"Q", "K", "V", "AV"})
    assert gm.group.tile == {"p": 1}
    for name in ("QK", "AV"):  # they read Q, K and V
        assert gm.einsums[name].buffer_tile["p"] == 512 and gm.einsums[name].buffer_tile["m"] == 256
    for name in ("GM", "SN", "SD", "A"):  # they read only intermediates: the group's one row
        assert gm.einsums[name].buffer_tile in (None, {"p": 1})


def test_a_whole_rank_block_is_listed_so_the_written_tensor_is_held_at_it():
    target = load_target("flat")
    choice = GroupChoice(tile=(("p", 1),), order=("p",), block=("p", SIZES["P"]))
    gm = build_group("g", specs(), choice, target, cycles_per_point_of(target), set(), {"Q", "K", "V", "AV"})
    assert gm.einsums["QK"].buffer_tile["p"] == SIZES["P"]


def test_blocks_are_in_the_space_only_where_they_can_differ_from_the_group_tile():
    s = specs()
    assert blockable(s) and not blockable(s[:1]) and not blockable(s[1:2])


@pytest.mark.parametrize("target,workload", [("flat", "BERT"), ("flat", "XLM"), ("unfused", "T5")])
def test_search_is_no_slower_than_the_builtin_at_1m_tokens(target, workload, tmp_path):
    seq = 1 << 20
    builtin = evaluate_record(EvaluateRequest(target=target, workload=workload, seq=seq))
    out = tmp_path / "found.yaml"
    found = evaluate_record(EvaluateRequest(target=target, workload=workload, seq=seq, cascade="attention-3pass",
                                            search=True, time_limit=20, out=out))
    assert found["latency_s"] <= builtin["latency_s"] * (1 + 1e-9)
    assert 0 < found["search"]["time_to_best_s"] <= found["search"]["search_s"]
    load_mapping(out)
    back = evaluate_record(EvaluateRequest(target=target, workload=workload, seq=seq, mapping=out))
    assert back["latency_s"] == found["latency_s"] and back["energy_j"] == found["energy_j"]
