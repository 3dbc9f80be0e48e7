"""`--pattern diagonal|vertical-stripe|sliding-tile|permuted` (segment counting, never N x N) against the brute
force on materialised token masks: patterns.diagonals / patterns.vertical_stripes (MInference's lines, Jiang et al.
2024; sinks, Xiao et al. 2024), sliding_tile_mask (STA, Zhang et al. 2025, arXiv 2502.04507) and the same masks
re-ordered by a permutation (PBS-Attn, Wang et al. 2025, arXiv 2510.21270)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cli import main
from simulator.sparse import patterns as P
from simulator.sparse.lines import Diagonal, VerticalStripe, line_counts
from simulator.sparse.permuted import permuted_counts, stripes_first
from simulator.sparse.sliding_tile import SlidingTile, sta_counts

sys.path.insert(0, str(Path(__file__).parent))
from sparse_bruteforce import brute_dense, brute_full_partial, sliding_tile_mask  # noqa: E402


def check(seg, m, tq, tk, transposed):
    ref = m.T if transposed else m
    major, minor = (tk, tq) if transposed else (tq, tk)
    t = seg.counts
    assert (t.kv_tiles_dense, t.visited.tolist(), t.fully_block_sparse) == brute_dense(ref, major, minor)
    assert int(t.full.sum()) == brute_full_partial(ref, major, minor)[0]
    assert seg.attended_pairs == int(m.sum())


@st.composite
def lines(draw):
    n = draw(st.integers(2, 40))
    width = draw(st.integers(1, 5))
    if draw(st.booleans()):
        offsets = tuple(draw(st.lists(st.integers(-n, n), min_size=1, max_size=3, unique=True)))
        return Diagonal(n, offsets, width), P.diagonals(n, offsets, width).mask()
    columns = tuple(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3, unique=True)))
    local, causal = draw(st.integers(0, 6)), draw(st.booleans())
    return VerticalStripe(n, columns, width, local, causal), P.vertical_stripes(n, columns, width, local,
                                                                                   causal).mask()


tiles = (st.integers(1, 9), st.integers(1, 9), st.booleans())


@settings(max_examples=150, deadline=None)
@given(lines(), *tiles)
def test_lines_match_brute_force(pm, tq, tk, transposed):
    pattern, m = pm
    check(line_counts(pattern, tq, tk, transposed), m, tq, tk, transposed)


@settings(max_examples=150, deadline=None)
@given(lines(), *tiles, st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_permuted_matches_brute_force(pm, tq, tk, transposed, seed, segment):
    pattern, m = pm
    if isinstance(pattern, VerticalStripe) and seed % 2:
        perm = stripes_first(pattern, segment)
    else:
        perm = np.random.default_rng(seed).permutation(pattern.n)
    check(permuted_counts(pattern, perm, tq, tk, transposed), m[np.ix_(perm, perm)], tq, tk, transposed)


@st.composite
def sta(draw):
    d = draw(st.integers(1, 3))
    tile = tuple(draw(st.integers(1, 3)) for _ in range(d))
    grid = tuple(draw(st.integers(1, 4)) for _ in range(d))
    window = tuple(t * draw(st.integers(1, g)) for t, g in zip(tile, grid, strict=True))
    shape = tuple(t * g for t, g in zip(tile, grid, strict=True))
    return shape, tile, window


@settings(max_examples=60, deadline=None)
@given(sta(), *tiles)
def test_sliding_tile_matches_brute_force(stw, tq, tk, transposed):
    shape, tile, window = stw
    if math.prod(shape) > 120:
        return
    check(sta_counts(SlidingTile(shape, tile, window), tq, tk, transposed), sliding_tile_mask(shape, tile, window),
          tq, tk, transposed)


def test_sliding_tile_is_block_sparse_with_sta_sized_kernel_tiles():
    p = SlidingTile((8, 16, 16), (2, 4, 4), (6, 12, 12))
    t = sta_counts(p, 32, 32).counts
    assert t.fully_block_sparse and (t.visited == 27).all()  # windows shift at the edges: always 3x3x3 tiles
    assert sta_counts(p, 32, 16).counts.visited_max == 2 * 27


def test_stripes_first_gathers_stripes():
    p = VerticalStripe(4096, tuple(range(7, 4096, 512)), 1, 0, False)
    plain = line_counts(p, 64, 64).counts.visited_max
    gathered = permuted_counts(p, stripes_first(p, 2048), 64, 64).counts.visited_max
    assert plain == 8 and gathered == 2  # one KV tile per segment


def run(capsys, *args):
    code = main(["bound", *args, "--json"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else captured.err)


@pytest.mark.parametrize("args", [
    ["--pattern", "diagonal", "--shape", "4096", "--offsets", "0,-1024", "--width", "64"],
    ["--pattern", "vertical-stripe", "--shape", "4096", "--columns", "0,2000", "--local", "256", "--causal", "1"],
    ["--pattern", "sliding-tile", "--shape", "8x16x16", "--tile", "2x4x4", "--window", "6x12x12"],
    ["--pattern", "permuted", "--base", "vertical-stripe", "--shape", "4096", "--columns", "7,1000,3000",
     "--permutation", "stripes-first", "--segment", "1024"],
])
def test_cli_patterns(capsys, args):
    code, out = run(capsys, *args, "--q-tile", "64", "--kv-tile", "32", "--pass", "fwd+bwd")
    assert code == 0 and set(out["passes"]) == {"fwd", "bwd"} and out["pattern"] == args[1]
    per_pass = [v["speedup_upper_bound"] for v in out["passes"].values()]
    assert min(per_pass) - 1e-9 <= out["speedup_upper_bound"] <= max(per_pass) + 1e-9


def test_causal_stripes_default_to_causal_baseline(capsys):
    _, out = run(capsys, "--pattern", "vertical-stripe", "--shape", "4096", "--columns", "0", "--local", "256",
                 "--causal", "1")
    assert out["baseline"] == "causal"


def test_permutation_file(capsys, tmp_path):
    perm = np.random.default_rng(0).permutation(2048)
    path = tmp_path / "perm.npy"
    np.save(path, perm)
    _, out = run(capsys, "--pattern", "permuted", "--base", "diagonal", "--shape", "2048", "--offsets", "0",
                 "--width", "32", "--permutation", str(path), "--q-tile", "64", "--kv-tile", "64")
    m = P.diagonals(2048, (0,), 32).mask()[np.ix_(perm, perm)]
    assert out["kv_tiles_visited_max"] == max(brute_dense(m, 64, 64)[1])


@pytest.mark.parametrize(("args", "needle"), [
    (["--pattern", "diagonal", "--shape", "4096"], "--offsets"),
    (["--pattern", "diagonal", "--shape", "64x64", "--offsets", "0"], "--shape"),
    (["--pattern", "diagonal", "--shape", "4096", "--offsets", "0,x"], "--offsets"),
    (["--pattern", "diagonal", "--shape", "4096", "--offsets", "0", "--columns", "3"], "--columns"),
    (["--pattern", "vertical-stripe", "--shape", "4096", "--columns", "5000"], "--columns"),
    (["--pattern", "vertical-stripe", "--shape", "4096", "--columns", "0", "--width", "0"], "--width"),
    (["--pattern", "sliding-tile", "--shape", "8x16x16", "--tile", "3x4x4", "--window", "6x12x12"], "--tile"),
    (["--pattern", "sliding-tile", "--shape", "8x16x16", "--tile", "2x4x4", "--window", "5x12x12"], "--window"),
    (["--pattern", "permuted", "--shape", "4096", "--columns", "0"], "--base"),
    (["--pattern", "permuted", "--base", "diagonal", "--shape", "4096", "--offsets", "0"], "--permutation"),
    (["--pattern", "permuted", "--base", "diagonal", "--shape", "4096", "--offsets", "0", "--permutation",
      "stripes-first", "--segment", "64"], "--permutation"),
    (["--pattern", "permuted", "--base", "diagonal", "--shape", "4096", "--offsets", "0", "--permutation",
      "/nonexistent.npy"], "--permutation"),
    (["--shape", "4096", "--columns", "0"], "--columns"),
    (["--pattern", "diagonal", "--shape", "4096", "--offsets", "0", "--width", "4", "--baseline", "causal"],
     "--baseline"),
])
def test_bad_input(capsys, args, needle):
    assert main(["bound", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1
