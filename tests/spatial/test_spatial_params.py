"""Mapping params (chosen per workload by one rule), register-file counts that follow the loop nest, and the PE
and pipeline properties of targets and mappings (op concurrency, reduction drains)."""

from pathlib import Path

import pytest
import yaml

from hw import load_target
from mappers.errors import MappingError
from mappers.mapping import BUILTIN_DIR, EinsumMapping, Group, Mapping, load_mapping, param_choices
from simulator.evaluate import EvaluateRequest, evaluate_record
from simulator.spatial.model import _nest, cycles_per_point, register_file_accesses
from simulator.spatial.problem import linear_problem


def edited(tmp_path, name: str, edit) -> Path:
    data = yaml.safe_load((BUILTIN_DIR / f"{name}.yaml").read_text())
    edit(data)
    out = tmp_path / f"{name}-edited.yaml"
    out.write_text(yaml.safe_dump(data))
    return out


def test_undeclared_param_is_an_error(tmp_path):
    path = edited(tmp_path, "flat", lambda d: d["params"].pop("rows"))
    with pytest.raises(MappingError, match=r"\$rows used but not declared"):
        load_mapping(path)


def test_param_of_the_wrong_kind_names_the_field(tmp_path):
    path = edited(tmp_path, "flat", lambda d: d["params"].update(rows=["dram"]))
    with pytest.raises(MappingError, match=r"params .*'rows': 'dram'.*field 'einsums\.(QK|AV)\.buffer_tile\.p'"):
        evaluate_record(EvaluateRequest(target="flat", workload="BERT", seq=1024, mapping=path))


def test_choices_resolve_size_symbols_and_drop_duplicates():
    mapping, _ = load_mapping("flat")
    choices = param_choices(mapping, {"P": 1024, "M": 1024})
    assert {"rows": 1024, "scores": "dram"} in choices
    assert len(choices) == 6  # rows 256, 512, 1024 (P = 1024 is the same) x scores buffer, dram


def test_search_keeps_the_fastest_feasible_choice(tmp_path):
    # every choice is costed; forcing FLAT to keep its scores on chip at 1M is 1.6x+ slower than its own choice
    forced = edited(tmp_path, "flat", lambda d: d["params"].update(scores=["buffer"]))
    own = evaluate_record(EvaluateRequest(target="flat", workload="BERT", seq=1 << 20))
    on_chip = evaluate_record(EvaluateRequest(target="flat", workload="BERT", seq=1 << 20, mapping=forced))
    assert on_chip["spilled_fraction"] > 0.9
    assert on_chip["latency_s"] > 1.5 * own["latency_s"]
    assert own["mapping_candidates"] == 8


def test_no_feasible_choice_is_an_error(tmp_path):
    path = edited(tmp_path, "fusemax", lambda d: d["params"].update(qrows=[1 << 19, 1 << 20]))
    with pytest.raises(MappingError, match=r"no value of params \['qrows'\] fits"):
        evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=1 << 20, mapping=path))


def _linear_rf(loop_order):
    lin = linear_problem(tokens=4096, d_model=512, d_ff=512)
    spec = lin.einsums[0]
    em = EinsumMapping(array="pe2d", spatial={"k": 256, "j": 256}, loop_order=loop_order,
                       buffer_tile={"n": 256})
    mapping = Mapping(name="t", cascade="linear", groups=(Group(name=spec.name, stages=(((spec.name,),),)),),
                      einsums={spec.name: em})
    arr = load_target("fusemax").array("pe2d")
    nest = _nest(spec, em, mapping.groups[0], arr, "t")
    return spec, register_file_accesses(spec, nest, "pe2d", mapping, lin)


def test_register_file_fills_follow_reuse():
    # Y[n,j] = X[n,k] W[k,j] on 256x256 PEs (k, j spatial): every MAC reads X, W and the partial sum and writes
    # one update; fills: X changes every step; W changes every step with n outside, but once per 256 tokens when
    # n is innermost (weight stationary).
    spec, (reads, writes_w_moving) = _linear_rf(("n", "j", "k"))
    _, (_, writes_w_stationary) = _linear_rf(("j", "k", "n"))
    macs = spec.points
    assert reads == 3 * macs
    assert writes_w_moving == pytest.approx(3 * macs)  # update + X fill + W fill per MAC
    assert writes_w_stationary == pytest.approx(2 * macs + macs / 256)


def test_forwarded_operands_need_no_fill():
    # FuseMax's SLN = exp(BQK - RM) reads BQK left in the same 2D PEs by BQK (no fill) and RM from the buffer (one
    # fill per PE per key block): per point 2 reads, 1 update, 1 fill. FLAT's SN = exp(QK - GM) fills QK at every
    # point but GM[p] once per PE per query row (each of 256 PEs keeps it over the row's M / 256 steps).
    points = 1024 * 1024 * 64 * 12
    fusemax = evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=1024))
    fm = {e["einsum"]: e for e in fusemax["einsums"]}
    assert fm["SLN"]["register_file_bytes"] == pytest.approx(4 * points * 2)
    fl = {e["einsum"]: e for e in evaluate_record(EvaluateRequest(target="flat", workload="BERT", seq=1024))["einsums"]}
    assert fl["SN"]["register_file_bytes"] == pytest.approx((2 + 1 + 1 + 256 / 1024) * points * 2, rel=1e-9)


def test_op_concurrency_is_a_target_property():
    # exp(x - m) on FLAT's 1D PE: 1 cycle with its adder and exp unit side by side (flat), 2 one op at a time
    # (flat-1pass, the artifact's attn-cascade.csv); on FuseMax's PE, 1 sub + 6 Taylor MACs = 7
    from einsum_cascades import load_cascade
    from simulator.shape import AttentionShape, bind_shape
    from simulator.spatial.backend import attention_problem

    lin = load_mapping("flat-1pass")[0]
    cascade = load_cascade("attention-1pass")
    bound = bind_shape(cascade, AttentionShape(batch=64, heads=12, kv_heads=12, seq=1024, kv_seq=1024, head_dim=64,
                                               value_dim=64))
    problem = attention_problem(cascade, lin.model_copy(update={"sizes": {"M0": 256}}), bound)
    sln = next(s for s in problem.einsums if s.name == "SLN")
    assert cycles_per_point(sln, load_target("flat").array("pe1d"), "f", "flat") == 1
    assert cycles_per_point(sln, load_target("flat-1pass").array("pe1d"), "f", "flat-1pass") == 2
    assert cycles_per_point(sln, load_target("fusemax").array("pe2d"), "f", "fusemax") == 7


def test_tree_reduction_drains_faster(tmp_path):
    # the same unbound schedule on arrays whose column reduction is an adder tree: log2(256) = 8 cycles per tile
    data = yaml.safe_load((Path(__file__).parents[2] / "hw" / "profiles" / "fusemax-unbound.yaml").read_text())
    data["arrays"][0]["spatial_reduction"] = "tree"
    path = tmp_path / "tree.yaml"
    path.write_text(yaml.safe_dump(data))
    chain = evaluate_record(EvaluateRequest(target="fusemax-unbound", workload="BERT", seq=1024))
    tree = evaluate_record(EvaluateRequest(target=str(path), workload="BERT", seq=1024))
    tiles = 64 * 12 * 4 * 4
    assert chain["latency_s"] - tree["latency_s"] == pytest.approx(tiles * (256 - 8) / 940e6, rel=1e-9)
