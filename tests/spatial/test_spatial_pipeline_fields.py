"""The model's pipeline fields: a group's `lag` and `io_overlap`, the target's `control_cycles_per_tile` and
`dram.packing`. Each defaults to the old behaviour, and each adds exactly the cycles its definition says, checked on
rtl-fusemax (the engine `cascade hdl attention` emits) against counts worked out from the engine's sizes."""

from pathlib import Path

import pytest
import yaml

from hw import load_target
from hw.hdl.attention.plan import plan_attention as build
from mappers.errors import MappingError
from mappers.mapping import BUILTIN_DIR, Group, load_mapping
from simulator.evaluate import EvaluateRequest, evaluate_record
from simulator.rtl_model import engine_overrides

PROFILES = Path(__file__).parents[2] / "hw" / "profiles"


def cycles(plan, mapping=None, extra=()):
    target = load_target("rtl-fusemax")
    sets = (*engine_overrides(plan, target.clock_hz), *extra)
    rec = evaluate_record(EvaluateRequest(target="rtl-fusemax", workload="bert", seq=plan.seq_tile, batch=1,
                                          heads=1, head_dim=plan.head_dim, overrides=sets, mapping=mapping))
    return rec["latency_s"] * target.clock_hz


def mapping_edit(tmp_path, edit) -> Path:
    data = yaml.safe_load((BUILTIN_DIR / "rtl-fusemax.yaml").read_text())
    edit(data["groups"][0])
    out = tmp_path / "m.yaml"
    out.write_text(yaml.safe_dump(data))
    return out


def test_defaults_are_the_old_behaviour():
    group = Group(name="g", stages=((("A",),),))
    assert group.lag is None and group.io_overlap == "full"
    fusemax = load_target("fusemax")
    assert fusemax.control_cycles_per_tile == 0 and fusemax.dram.packing == "dense"
    base = evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=4096))
    explicit = evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=4096,
                                               overrides=("control_cycles_per_tile=0", "dram.packing=dense")))
    assert explicit["latency_s"] == base["latency_s"] and explicit["energy_j"] == base["energy_j"]


@pytest.mark.parametrize("shape", [(4, 4, 8, 16), (2, 4, 8, 32), (4, 2, 4, 16)])
def test_each_field_adds_what_it_defines(tmp_path, shape):
    plan = build(*shape)
    full = cycles(plan)
    e, seq = plan.head_dim, plan.seq_tile
    # lag: per query tile, the last block's RD (1 cycle) and RNV (F cycles) run alone
    no_lag = cycles(plan, mapping_edit(tmp_path, lambda g: g.pop("lag")))
    assert full - no_lag == pytest.approx(plan.tiles * (1 + e))
    # control: 3 cycles per query tile
    assert full - cycles(plan, extra=("control_cycles_per_tile=0",)) == pytest.approx(3 * plan.tiles)
    # io_overlap: K and V (2 seq E words, rows a beat) and the first Q tile (E beats) load first, the last O tile
    # (E beats) leaves last
    overlapped = cycles(plan, mapping_edit(tmp_path, lambda g: g.update(io_overlap="full")))
    assert full - overlapped == pytest.approx(2 * seq * e / plan.rows + 2 * e)
    # packing: dense packs the words of K, V and the first Q / last O tile into whole beats of max(rows, cols)
    dense = cycles(plan, extra=("dram.packing=dense",))
    beat_words = max(plan.rows, plan.cols)
    exposed_words = 2 * seq * e + 2 * plan.cols * e
    assert full - dense == pytest.approx(2 * seq * e / plan.rows + 2 * e - exposed_words / beat_words)


def test_without_the_fields_the_model_is_the_sum_of_its_stages(tmp_path):
    """All four off: the old model, the stages' busiest lanes summed (per block: E+1, 1, 7, E; per tile F x 17)."""
    plan = build(4, 4, 8, 16)

    def plain(g):
        g.pop("lag")
        g["io_overlap"] = "full"

    old = cycles(plan, mapping_edit(tmp_path, plain), extra=("control_cycles_per_tile=0", "dram.packing=dense"))
    e = plan.head_dim
    assert old == pytest.approx(plan.tiles * (plan.blocks * ((e + 1) + 1 + 7 + e) + e * 17))


def test_lag_needs_interleaving_and_its_einsums(tmp_path):
    with pytest.raises(MappingError, match="'lag' needs 'interleaved: true'"):
        load_mapping(mapping_edit(tmp_path, lambda g: g.update(interleaved=False)))
    with pytest.raises(MappingError, match=r"lag.einsums \['XX'\] are not in its stages"):
        load_mapping(mapping_edit(tmp_path, lambda g: g["lag"].update(einsums=["RD", "XX"])))


def test_lag_rank_not_looped_over_names_the_field(tmp_path):
    with pytest.raises(MappingError, match=r"groups\.attention\.lag\.rank.*'e' is not an iteration rank of 'RD'"):
        cycles(build(4, 4, 8, 16), mapping_edit(tmp_path, lambda g: g["lag"].update(rank="e")))


def test_bad_packing_and_control_values_name_the_field():
    from hw import SpecError

    with pytest.raises(SpecError, match=r"dram\.packing"):
        load_target("rtl-fusemax", ("dram.packing=beats",))
    with pytest.raises(SpecError, match="control_cycles_per_tile"):
        load_target("rtl-fusemax", ("control_cycles_per_tile=-1",))
