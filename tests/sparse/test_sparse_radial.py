"""`--pattern radial` (segment counting, radial.py) against the brute force on the materialised token mask of
patterns.radial (Radial Attention, Li et al. 2025, arXiv 2506.19852, our simplification)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cli import main
from simulator.sparse import bound
from simulator.sparse import patterns as P
from simulator.sparse.radial import radial_counts, radial_pairs

sys.path.insert(0, str(Path(__file__).parent))
from sparse_bruteforce import brute_dense, brute_full_partial  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 9), st.integers(1, 9), st.booleans(), st.integers(1, 10),
       st.integers(1, 10), st.booleans())
def test_radial_counts_match_brute_force(frames, frame_tokens, window, causal, tq, tk, transposed):
    m = P.radial(frames, frame_tokens, window, causal).mask()
    t = radial_counts(frames, frame_tokens, window, causal, tq, tk, transposed=transposed)
    ref = m.T if transposed else m
    major, minor = (tk, tq) if transposed else (tq, tk)
    dense, visited, sparse = brute_dense(ref, major, minor)
    assert (t.kv_tiles_dense, t.visited.tolist(), t.fully_block_sparse) == (dense, visited, sparse)
    assert int(t.full.sum()) == brute_full_partial(ref, major, minor)[0]
    assert radial_pairs(frames, frame_tokens, window, causal) == int(m.sum())


def test_radial_chunking_does_not_change_counts(monkeypatch):
    import simulator.sparse.radial as radial

    whole = radial_counts(8, 40, 12, False, 16, 8)
    monkeypatch.setattr(radial, "CHUNK_INTERVALS", 1)
    chunked = radial_counts(8, 40, 12, False, 16, 8)
    assert whole.visited.tolist() == chunked.visited.tolist() and (whole.full == chunked.full).all()


def test_radial_cli_matches_python_pattern(capsys):
    assert main(["bound", "--pattern", "radial", "--shape", "8x512", "--window", "64", "--q-tile", "128",
                 "--kv-tile", "128", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    t = P.count_intervals(P.radial(8, 512, 64), 128, 128)
    assert out["kv_tiles_visited_max"] == t.visited_max and out["fully_block_sparse"] == t.fully_block_sparse
    assert out["flop_speedup"] == pytest.approx(4096**2 / P.attended_pairs(P.radial(8, 512, 64)))
    assert out["baseline"] == "dense"
    both = bound(shape="8x512", window=64, pattern="radial", target="b200", pass_="fwd+bwd")
    assert set(both["passes"]) == {"fwd", "bwd"}


@pytest.mark.parametrize(("args", "needle"), [
    (["--pattern", "radial", "--shape", "4096", "--window", "64"], "--shape"),
    (["--pattern", "radial", "--shape", "8x512", "--window", "64x2"], "--window"),
    (["--pattern", "radial", "--shape", "8x512", "--window", "64", "--stride", "2"], "--stride"),
    (["--pattern", "radial", "--shape", "8x512", "--window", "64", "--causal", "0x1"], "--causal"),
    (["--pattern", "spiral", "--shape", "8x512", "--window", "64"], "--pattern"),
    (["--pattern", "radial", "--shape", "8x512", "--window", "64", "--baseline", "causal"], "--baseline causal"),
])
def test_radial_bad_input(capsys, args, needle):
    assert main(["bound", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1
