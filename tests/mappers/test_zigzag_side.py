"""The ZigZag side-by-side run (benchmarks/zigzag_side.py): its GEMMs render alike for both tools, the architecture
check catches a mismatch, cascade's side reaches the bound without ZigZag, and with `zigzag-dse` installed
(`pip install '.[zigzag]'`) one small GEMM runs through both tools with cascade no slower."""

import copy
import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

BENCH = Path(__file__).parents[2] / "benchmarks"
spec = importlib.util.spec_from_file_location("zigzag_side", BENCH / "zigzag_side.py")
side = importlib.util.module_from_spec(spec)
sys.modules["zigzag_side"] = side  # dataclasses look their module up by name
spec.loader.exec_module(side)

SMALL = side.SideGemm("small-QK", "S[m,p] = Q[e,p] * K[e,m]", {"m": 256, "p": 256, "e": 64}, 4)
LINEAR = side.SideGemm("small-linear", "Y[n,j] = X[n,k] * W[k,j]", {"n": 1024, "k": 768, "j": 768})


def test_a_gemm_renders_the_same_einsum_for_both_tools():
    layer = SMALL.zigzag_layer()
    assert layer["equation"] == "O[b][m][p]+=I[b][e][p]*W[b][e][m]"
    assert dict(zip(layer["loop_dims"], layer["loop_sizes"], strict=True)) == {"B": 4, "M": 256, "P": 256, "E": 64}
    text = yaml.safe_load(SMALL.cascade_text())
    assert text["inputs"] == {"Q": ["e", "p"], "K": ["e", "m"]} and text["outputs"] == ["S"]
    assert SMALL.macs == 4 * 256 * 256 * 64
    linear = side.bert_gemms()[-1]
    assert linear.instances == 1 and "B" not in linear.zigzag_layer()["loop_dims"]
    assert linear.sizes == {"n": 64 * 1024, "k": 768, "j": 768}  # BERT's batch of 64 x 1K tokens, d_model 768


def test_the_shipped_accelerator_matches_the_cascade_target_and_a_change_is_caught():
    target = side.matching_target()
    table = side.check_against_table(target)
    assert [a.name for a in target.arrays] == ["pe2d"]
    zz = yaml.safe_load(side.ZIGZAG_ACCELERATOR.read_text())
    rows = {r.what: r for r in side.architecture_match(zz, target, table)}
    assert all(r.match for r in rows.values()), [r for r in rows.values() if not r.match]
    changed = copy.deepcopy(zz)
    changed["operational_array"]["sizes"] = [128, 256]
    changed["memories"]["dram"]["ports"][0]["bandwidth_max"] = 2048
    changed["memories"]["global_buffer"]["r_cost"] *= 2
    bad = {r.what for r in side.architecture_match(changed, target, table) if not r.match}
    # the DRAM cost is per access of bandwidth_max bits, so a narrower port also changes its pJ per bit
    assert bad == {"array (rows x cols)", "DRAM bytes/s", "DRAM pJ per bit", "buffer read pJ per line"}


def test_cascade_side_reaches_the_dram_bound_of_a_small_gemm():
    target = side.matching_target()
    ours = side.cascade_best(SMALL, target, side.check_against_table(target))
    bound = side.bound_cycles(SMALL, target)
    # DRAM-bound: Q and K (256 x 64 each) and S (256 x 256) once per copy, fp16, at 400 GiB/s / 940 MHz
    assert bound == pytest.approx(4 * (2 * 256 * 64 + 256 * 256) * 2 / (400 * 2**30 / 940e6))
    assert bound <= ours["latency_cycles"] <= bound * (1 + 1e-6)
    assert ours["latency_s"] == pytest.approx(ours["latency_cycles"] / 940e6)
    assert ours["mappings_costed"] > 0 and ours["search_s"] > 0


def test_cascade_mapping_becomes_a_complete_zigzag_mapping():
    entry = side.zigzag_mapping_of(("n", "j", "k"), LINEAR.sizes, {"n": 256, "j": 256}, {"n": 256}, ["n"], 1)
    assert entry["spatial_mapping"] == {"D1": ["N, 256"], "D2": ["J, 256"]}
    # the model's nest, outermost first: n over 4 tiles, then j (768 / 256) and k inside the tile; innermost first
    assert entry["temporal_ordering"] == [["K", 768], ["J", 3], ["N", 4]]
    copies = side.zigzag_mapping_of(("m", "p", "e"), SMALL.sizes, {"p": 256, "e": 64}, {"m": 1}, ["m"], 4)
    assert copies["temporal_ordering"] == [["M", 256], ["B", 4]]
    # every loop times the unrolling covers each rank exactly (ZigZag rejects an incomplete ordering)
    for e in (entry, copies):
        got: dict[str, int] = {}
        for dim, trips in e["temporal_ordering"]:
            got[dim] = got.get(dim, 1) * trips
        for (unrolled,) in e["spatial_mapping"].values():
            dim, factor = unrolled.split(", ")
            got[dim] = got.get(dim, 1) * int(factor)
        assert got == {**{r.upper(): n for r, n in (LINEAR.sizes if e is entry else SMALL.sizes).items()},
                       **({"B": 4} if e is copies else {})}
    # a ceil-tile (768 in tiles of 512) cannot be written as ZigZag loops
    assert side.zigzag_mapping_of(("n", "j", "k"), LINEAR.sizes, {"n": 256}, {"k": 512}, [], 1) is None


def test_benchmark_skips_the_zigzag_part_with_a_clear_reason_when_it_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "zigzag", None)  # import zigzag raises ImportError
    bench_spec = importlib.util.spec_from_file_location("mapper_speed", BENCH / "mapper_speed.py")
    bench = importlib.util.module_from_spec(bench_spec)
    bench_spec.loader.exec_module(bench)
    assert "pip install '.[zigzag]'" in bench.zigzag()["skipped"]


def test_one_small_gemm_through_both_tools():
    pytest.importorskip("zigzag", reason="zigzag-dse is not installed: pip install '.[zigzag]' (the benchmark's "
                        "own extra) to run ZigZag beside cascade")
    result = side.side_by_side([SMALL])
    (row,) = result["rows"]
    assert row["zigzag"]["mappings_costed"] > 0 and row["zigzag"]["latency_cycles"] >= row["bound_cycles"] * 0.999
    assert row["cascade_no_worse"] and row["cascade_over_zigzag_latency"] <= 1 + 1e-9
    assert row["zigzag_over_cascade_search_s"] == pytest.approx(row["zigzag"]["search_s"] / row["cascade"]["search_s"])
    assert all(m["match"] for m in result["architecture"])
    # cascade's mapping, costed by ZigZag itself, is a valid ZigZag mapping at or above the bound
    assert row["zigzag_cycles_of_cascade_mapping"] >= row["bound_cycles"] * 0.999
