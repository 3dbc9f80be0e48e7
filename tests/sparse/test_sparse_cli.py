"""`cascade bound` and `cascade list patterns`: JSON keys, presets, Amdahl, plots, advisor and input errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simulator.cli import main
from simulator.errors import SimulatorError
from simulator.sparse import GNAConfig, advise, advise_target, amdahl, bound
from simulator.sparse.kernels import shipped_tiles
from simulator.sparse.tiling import multi_tiles

HUNYUAN = ["--shape", "30x48x80", "--window", "18x24x24", "--q-tile", "4x8x8", "--kv-tile", "2x8x8"]


def run_json(capsys, args):
    assert main(["bound", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_bound_json_has_the_issue_keys(capsys):
    out = run_json(capsys, HUNYUAN)
    assert out["kv_tiles_dense"] == 900 and out["kv_tiles_visited_max"] == 275
    assert round(out["speedup_upper_bound_padding_free"], 2) == 3.27  # the GNA paper's figure
    # padding charged: 8x6x10 query tiles of 256 (30 frames padded to 32) against a dense kernel over 115,200 tokens
    assert out["speedup_upper_bound"] == pytest.approx((115200 / 256) * (115200 / 128) / (480 * 275))
    assert out["q_padding_tokens"] == 480 * 256 - 115200 and out["kv_padding_tokens"] == 0
    assert out["baseline"] == "dense" and out["pass"] == "fwd"
    assert out["flop_speedup"] == pytest.approx(115200 / 10368)
    assert out["kv_tiles_visited_mean"] == pytest.approx(171.6)
    assert out["fully_block_sparse"] is False
    assert "e2e_speedup_upper_bound" not in out


def test_strided_example_and_amdahl(capsys):
    out = run_json(capsys, [*HUNYUAN, "--stride", "16x8x8", "--attention-fraction", "0.5", "--sparse-fraction", "0.8"])
    assert round(out["speedup_upper_bound_padding_free"], 1) == 11.1 and out["fully_block_sparse"] is True
    assert round(out["speedup_upper_bound"], 2) == 10.42  # issue 14: NATTEN measures 10.4x (13.010 ms vs 135.265)
    s = out["speedup_upper_bound"]
    assert out["e2e_speedup_upper_bound"] == pytest.approx(1 / (1 - 0.4 + 0.4 / s))


def test_amdahl_limits():
    assert amdahl(10.0, 1.0, 1.0) == pytest.approx(10.0)
    assert amdahl(10.0, 0.0, 1.0) == pytest.approx(1.0)
    assert amdahl(1e12, 0.5, None) == pytest.approx(2.0)
    with pytest.raises(SimulatorError, match="--attention-fraction"):
        amdahl(2.0, 1.5, 1.0)
    with pytest.raises(SimulatorError, match="--attention-fraction"):
        amdahl(2.0, None, 0.5)


@pytest.mark.parametrize(("target", "ndim", "q", "k"), [
    ("b200", 2, "16x16", "16x8"), ("b200", 3, "8x4x8", "4x4x8"),
    ("h100", 2, "16x8", "16x8"), ("h100", 3, "4x4x8", "4x4x8"),
])
def test_target_presets(target, ndim, q, k):
    shape, window = ("64x64x64"[: 2 + 3 * (ndim - 1)], "16x16x16"[: 2 + 3 * (ndim - 1)])
    out = bound(shape=shape, window=window, target=target)
    assert (out["q_tile"], out["kv_tile"], out["tile_source"]) == (q, k, f"{target} preset")


def test_flat_tiling_with_preset_uses_token_counts():
    out = bound(shape="30x48x80", window="18x24x24", target="b200", tiling="flat")
    assert (out["q_tile"], out["kv_tile"], out["kv_tiles_dense"]) == ("256", "128", 900)


def test_dilation_and_dynamic_options_reach_the_counts():
    base = bound(shape="32x32", window="8x8", q_tile="8x8", kv_tile="8x8")
    dil = bound(shape="32x32", window="8x8", dilation="2x2", q_tile="8x8", kv_tile="8x8")
    dyn = bound(shape="32x32", window="8x8", q_tile="8x8", kv_tile="8x8", kv_tiling="dynamic")
    cau = bound(shape="32x32", window="8x8", causal="1x0", q_tile="8x8", kv_tile="8x8")
    assert dyn["kv_tiles_visited_max"] <= base["kv_tiles_visited_max"]
    assert dil["dilation"] == "2x2" and dil["kv_tiles_visited_max"] != base["kv_tiles_visited_max"]
    assert cau["flop_speedup_exact"] > cau["flop_speedup"]


@pytest.mark.parametrize(("args", "needle"), [
    (["--shape", "30x48x80", "--window", "40x24x24"], "--window"),
    (["--shape", "30x48", "--window", "18x24x24"], "--window"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--stride", "19x1x1"], "--stride"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--dilation", "2x1x1"], "--dilation"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--q-tile", "4x8"], "--q-tile"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--q-tile", "4x8x8"], "--kv-tile"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--q-tile", "256", "--kv-tile", "128"], "--tiling flat"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--q-tile", "4x8x8", "--kv-tile", "2x8x8", "--target", "b200"],
     "--target"),
    (["--shape", "30x4a", "--window", "18x24"], "--shape"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--causal", "2x0x0"], "--causal"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--target", "tpu"], "--target"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--tiling", "diagonal"], "--tiling"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--kv-tiling", "lazy"], "--kv-tiling"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--sparse-fraction", "0.5"], "--attention-fraction"),
    (["--shape", "30x48x80"], "--window"),
    (["--shape", "1024", "--mask", "/nonexistent/m.npy"], "--mask"),
    (["--shape", "30x48x80", "--window", "18x24x24", "--plot", "/nonexistent/dir/p.png"], "--plot"),
])
def test_bad_input_is_one_line_error_naming_the_option(capsys, args, needle):
    assert main(["bound", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and "Traceback" not in err and err.count("\n") == 1


def test_block_mask_file(tmp_path, capsys):
    bm = np.tril(np.ones((8, 8), dtype=bool))  # causal at 128-token blocks over 1024 tokens
    path = tmp_path / "causal.npy"
    np.save(path, bm)
    out = run_json(capsys, ["--shape", "1024", "--mask", str(path), "--q-tile", "128", "--kv-tile", "128"])
    assert out["kv_tiles_dense"] == 8 and out["kv_tiles_visited_max"] == 8
    assert out["kv_tiles_visited_mean"] == pytest.approx(4.5) and out["fully_block_sparse"] is True
    assert out["flop_speedup"] == pytest.approx(64 / 36)
    coarse = run_json(capsys, ["--shape", "1024", "--mask", str(path), "--q-tile", "256", "--kv-tile", "256"])
    assert coarse["fully_block_sparse"] is False  # diagonal 256-tiles are half masked


def test_plot_writes_png(tmp_path, capsys):
    png = tmp_path / "bound.png"
    out = run_json(capsys, [*HUNYUAN, "--plot", str(png)])
    assert out["plot"] == str(png) and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_list_patterns(capsys):
    assert main(["list", "patterns", "--json"]) == 0
    names = {row["name"] for row in json.loads(capsys.readouterr().out)["patterns"]}
    assert {"gna", "causal", "sliding_window", "radial", "block_sparse", "permutation"} <= names


def test_advisor_finds_the_paper_stride_and_only_block_sparse_configs():
    cfg = GNAConfig.build((30, 48, 80), (18, 24, 24))
    best = advise(cfg, [(4, 8, 8)], [(2, 8, 8)])[0]
    assert best.stride == (16, 8, 8) and round(best.speedup_upper_bound_padding_free, 1) == 11.1
    assert round(best.speedup_upper_bound, 2) == 10.42  # 30 frames padded to 32 by 4-frame query tiles
    for target in ("h100", "b200"):
        for a in advise_target(cfg, target, top=5):
            t = multi_tiles(GNAConfig.build(cfg.shape, cfg.window, a.stride), a.q_tile, a.kv_tile)
            assert t.fully_block_sparse
            assert t.kv_tiles_dense / t.visited_max == pytest.approx(a.speedup_upper_bound_padding_free)
            out = bound(shape=cfg.shape, window=cfg.window, stride=a.stride, q_tile=a.q_tile, kv_tile=a.kv_tile)
            assert out["speedup_upper_bound"] == pytest.approx(a.speedup_upper_bound)
            assert (a.q_tile, a.kv_tile) in shipped_tiles(target, 3)


def test_python_api_takes_sequences_as_well_as_strings():
    a = bound(shape=(30, 48, 80), window=[18, 24, 24], causal=(False, True, False), q_tile=(4, 8, 8), kv_tile="2x8x8")
    b = bound(shape="30x48x80", window="18x24x24", causal="0x1x0", q_tile="4x8x8", kv_tile="2x8x8")
    assert a == b
    assert bound(shape=32768, window=2048, target="h100")["q_tile"] == "128"


def test_advisor_matches_exhaustive_search_on_small_layouts():
    import itertools

    cfg = GNAConfig.build((12, 16), (6, 8), dilation=(1, 2))
    q_tiles, kv_tiles = [(2, 4), (4, 2), (4, 4)], [(2, 4), (2, 2), (3, 4)]
    best = {}
    for q, k in itertools.product(q_tiles, kv_tiles):
        for s in itertools.product(range(1, 7), range(1, 9)):
            t = multi_tiles(GNAConfig.build(cfg.shape, cfg.window, s, cfg.dilation), q, k)
            if t.fully_block_sparse:
                best[(q, k)] = max(best.get((q, k), 0.0), t.kv_tiles_dense / t.visited_max)
    advice = advise(cfg, q_tiles, kv_tiles, top=100)
    assert {(a.q_tile, a.kv_tile): a.speedup_upper_bound_padding_free for a in advice} == pytest.approx(best)
    assert [a.speedup_upper_bound for a in advice] == sorted((a.speedup_upper_bound for a in advice), reverse=True)


@pytest.mark.parametrize("extra", [["--tiling", "flat"], ["--kv-tiling", "dynamic"], ["--dilation", "1x2x1"]])
def test_plot_every_tiling(tmp_path, capsys, extra):
    png = tmp_path / "p.png"
    run_json(capsys, ["--shape", "12x16x16", "--window", "6x8x8", "--q-tile", "2x4x4", "--kv-tile", "2x4x4",
                      "--plot", str(png), *extra])
    assert png.stat().st_size > 1000


def test_plot_block_mask(tmp_path, capsys):
    path, png = tmp_path / "m.npy", tmp_path / "m.png"
    np.save(path, np.eye(16, dtype=bool))
    out = run_json(capsys, ["--shape", "2048", "--mask", str(path), "--target", "h100", "--plot", str(png)])
    assert out["fully_block_sparse"] is True and out["speedup_upper_bound"] == pytest.approx(16.0)
    assert png.stat().st_size > 1000


def test_advise_lists_block_sparse_choices_best_first(capsys):
    # GNA paper (arXiv 2504.16922): HunyuanVideo 30x48x80, window 18x24x24, stride 16x8x8 with q 4x8x8 /
    # kv 2x8x8 is perfectly block-sparse at the FLOP-wise bound 11.1x.
    from simulator.cli import main

    assert main(["bound", "--shape", "30x48x80", "--window", "18x24x24", "--target", "b200", "--advise", "5",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    bounds = [a["speedup_upper_bound"] for a in data["advice"]]
    assert bounds == sorted(bounds, reverse=True) and 1 <= len(bounds) <= 5
    assert {"q_tile": "4x8x8", "kv_tile": "2x8x8", "stride": "16x8x8"}.items() <= next(
        a for a in data["advice"] if a["q_tile"] == "4x8x8").items()
