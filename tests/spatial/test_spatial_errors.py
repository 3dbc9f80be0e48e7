"""Bad input gives one clear error naming the file and field, never a wrong number."""

import re
from pathlib import Path

import pytest
import yaml

from hw import SpecError, load_target
from mappers.errors import MappingError
from mappers.mapping import BUILTIN_DIR, dump_mapping, load_mapping
from simulator.cli import main
from simulator.errors import SimulatorError
from simulator.evaluate import EvaluateRequest, evaluate_record

PROFILES = Path(__file__).parents[2] / "hw" / "profiles"


def edited(tmp_path, src: Path, edit, name="x.yaml") -> Path:
    data = yaml.safe_load(src.read_text())
    edit(data)
    out = tmp_path / name
    out.write_text(yaml.safe_dump(data))
    return out


def test_negative_buffer_capacity_names_field(tmp_path):
    path = edited(tmp_path, PROFILES / "fusemax.yaml", lambda d: d["global_buffer"].update(capacity_bytes=-5))
    with pytest.raises(SpecError, match=r"global_buffer\.capacity_bytes"):
        load_target(path)


def test_unknown_key_in_target(tmp_path):
    path = edited(tmp_path, PROFILES / "flat.yaml", lambda d: d["dram"].update(bandwith=1))
    with pytest.raises(SpecError, match=r"dram\.bandwith"):
        load_target(path)


def test_binding_to_array_without_op(tmp_path):
    # FLAT's 2D array has no max unit: binding GM (a max reduction) to it must fail, naming the field
    path = edited(tmp_path, BUILTIN_DIR / "flat.yaml", lambda d: d["einsums"]["GM"].update(array="pe2d"))
    with pytest.raises(MappingError, match=r"einsums\.GM\.array.*'max'"):
        evaluate_record(EvaluateRequest(target="flat", workload="BERT", seq=1024, mapping=path))


def test_mapping_that_does_not_fit_buffer(tmp_path):
    # FuseMax's mapping does not allow spills: a query tile of 1M rows does not fit 16 MiB
    def edit(d):
        d["groups"][0]["tile"]["p"] = 1 << 20
    path = edited(tmp_path, BUILTIN_DIR / "fusemax.yaml", edit)
    with pytest.raises(MappingError, match=r"groups\.attention\.tile.*capacity_bytes = 16777216"):
        evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=1 << 20, mapping=path))


def test_spatial_unrolling_larger_than_array(tmp_path):
    path = edited(tmp_path, BUILTIN_DIR / "fusemax.yaml",
                  lambda d: d["einsums"]["RM"].update(spatial={"p": 512}))
    with pytest.raises(MappingError, match=r"einsums\.RM\.spatial"):
        evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=1024, mapping=path))


def test_negative_sequence_and_unknown_workload():
    with pytest.raises(SimulatorError, match="--seq"):
        evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=-4))
    with pytest.raises(SimulatorError, match="--workload"):
        evaluate_record(EvaluateRequest(target="fusemax", workload="GPT9", seq=1024))


def test_cli_error_is_one_line(capsys):
    assert main(["evaluate", "--target", "fusemax", "--workload", "BERT", "--seq", "0", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_mapping_round_trips(tmp_path):
    for name in ("fusemax", "flat", "unfused", "flat-1pass", "fusemax-unbound"):
        mapping, _ = load_mapping(name)
        dump_mapping(mapping, tmp_path / f"{name}.yaml")
        assert load_mapping(tmp_path / f"{name}.yaml")[0] == mapping


def test_mapping_groups_must_cover_einsums(tmp_path):
    path = edited(tmp_path, BUILTIN_DIR / "flat.yaml", lambda d: d["groups"][0].update(stages=[[["QK"]]]))
    with pytest.raises(MappingError, match=re.escape(str(path))):
        load_mapping(path)


def test_concurrent_lanes_on_one_array(tmp_path):
    # QK and GM in separate lanes of one stage, both bound to the 1D array: they cannot overlap
    def edit(d):
        d["einsums"]["QK"]["array"] = "pe1d"
        d["einsums"]["QK"]["spatial"] = {"m": 256}
    path = edited(tmp_path, BUILTIN_DIR / "flat.yaml", edit)
    with pytest.raises(MappingError, match=r"groups\.attention\.stages\.0.*'pe1d'"):
        evaluate_record(EvaluateRequest(target="flat", workload="BERT", seq=1024, mapping=path))


def test_cascade_input_cannot_live_in_registers(tmp_path):
    path = edited(tmp_path, BUILTIN_DIR / "fusemax.yaml", lambda d: d["tensors"].update(Q="pe"))
    with pytest.raises(MappingError, match=r"tensors\.Q"):
        evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=1024, mapping=path))


def test_a_rank_left_out_of_a_buffer_tile_is_held_whole(tmp_path):
    # The loop nest counts a rank an explicit buffer_tile leaves out as the whole rank; the buffer must hold it so
    # too (found by the mapper's search, which once fitted 512 MiB of scores into 32 MiB this way).
    data = yaml.safe_load((BUILTIN_DIR / "flat.yaml").read_text())
    data["params"].update(rows=[256], scores=["buffer"])
    data["groups"][0]["tile"] = {"p": 1, "m": 256}
    data["einsums"]["QK"]["buffer_tile"] = {"p": "$rows"}  # m left out: the whole key row
    path = tmp_path / "flat-whole-m.yaml"
    path.write_text(yaml.safe_dump(data))
    seq = 4096
    r = evaluate_record(EvaluateRequest(target="flat", workload="BERT", seq=seq, mapping=str(path)))
    assert r["buffer_need_bytes"] >= 256 * seq * 2
