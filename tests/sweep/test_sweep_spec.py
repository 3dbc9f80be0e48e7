"""The sweep file: target-field axes, zip, sample, derived fields, and every mistake caught before a run."""

import os

import pytest

from simulator.errors import SimulatorError
from simulator.sweep import load_sweep, run_sweep


def write(tmp_path, body, name="s.yaml"):
    path = tmp_path / name
    path.write_text(body.replace("TMP", str(tmp_path)))
    return path


def test_target_paths_become_overrides_and_zip_varies_together(tmp_path):
    path = write(tmp_path, """name: arrays
grid: {target: [TMP/slow.yaml], seq: [64, 128]}
zip:
  target.array.rows: [2, 8]
  target.array.cols: [2, 8]
""")
    summary = run_sweep(path, tmp_path / "out")
    assert summary.points == 4 and summary.failed == 0
    by = {(r["seq"], r["target.array.rows"]): r["latency_s"] for r in summary.table}
    assert by[(64, 8)] == pytest.approx(64**2 / (64 * 1e6)) and by[(64, 2)] == pytest.approx(64**2 / (4 * 1e6))
    assert all(r["target.array.rows"] == r["target.array.cols"] for r in summary.table)


def test_unknown_target_path_fails_before_the_run_listing_valid_fields(tmp_path):
    path = write(tmp_path, "name: x\ngrid: {target: [TMP/slow.yaml], seq: [1], target.array.rowz: [2]}\n")
    with pytest.raises(SimulatorError) as err:
        load_sweep(path)
    assert "grid.target.array.rowz" in str(err.value) and "cols, rows" in str(err.value)


def test_target_value_out_of_range_fails_before_the_run(tmp_path):
    path = write(tmp_path, "name: x\ngrid: {target: [TMP/slow.yaml], seq: [1], target.array.rows: [2, 0]}\n")
    with pytest.raises(SimulatorError, match=r"grid.target.array.rows.*value 0"):
        load_sweep(path)


@pytest.mark.parametrize(("axis", "value"), [("causal", "'false'"), ("seq", "1024.7"), ("batch", "true"),
                                             ("seq", "abc"), ("seq", "[1]")])
def test_values_are_checked_against_the_option_type(tmp_path, axis, value):
    path = write(tmp_path, f"name: x\ngrid: {{target: [TMP/slow.yaml], {axis}: [{value}]}}\n")
    with pytest.raises(SimulatorError, match=rf"grid\.{axis}\[0\].*not a valid {axis}"):
        load_sweep(path)


def test_sample_is_reproducible_within_its_ranges(tmp_path):
    body = """name: s
fixed: {target: TMP/slow.yaml, seq: 64}
sample:
  n: 40
  seed: SEED
  axes:
    target.array.rows: {log_range: [1, 64]}
    target.pe_area_um2: {range: [10, 20], int: false}
    causal: {choices: [true, false]}
"""
    a = load_sweep(write(tmp_path, body.replace("SEED", "3"))).points()
    b = load_sweep(write(tmp_path, body.replace("SEED", "3"))).points()
    c = load_sweep(write(tmp_path, body.replace("SEED", "4"))).points()
    assert a == b and a != c and len(a) == 40
    rows = [p["target.array.rows"] for p in a]
    assert all(isinstance(r, int) and 1 <= r <= 64 for r in rows) and len(set(rows)) > 5
    assert all(10 <= p["target.pe_area_um2"] <= 20 for p in a)
    assert {p["causal"] for p in a} == {True, False}


@pytest.mark.parametrize(("axes", "match"), [
    ("target.array.rows: {range: [1, 100000]}", "value 100000"),
    ("target.array.rows: {log_range: [0, 8]}", "low > 0"),
    ("target.array.rows: {range: [8, 2]}", "low <= high"),
    ("target.array.rows: {range: [1, 2], choices: [1]}", "exactly one"),
])
def test_out_of_range_samples_are_one_line_errors(tmp_path, axes, match):
    path = write(tmp_path, f"name: s\nfixed: {{target: TMP/slow.yaml, seq: 4}}\nsample: {{n: 3, axes: {{{axes}}}}}\n")
    with pytest.raises(SimulatorError, match=match) as err:
        load_sweep(path)
    assert "\n" not in str(err.value)


def test_derived_fields_follow_other_axes(tmp_path):
    path = write(tmp_path, """name: d
grid: {target: [TMP/slow.yaml], seq: [64], target.array.rows: [2, 4, 8]}
derived: {target.array.cols: "target.array.rows * 2"}
""")
    points = load_sweep(path).points()
    assert [p["target.array.cols"] for p in points] == [4, 8, 16]
    bad = write(tmp_path, "name: d\ngrid: {target: [TMP/slow.yaml], seq: [1]}\nderived: {target.array.cols: "
                "'rows * 2'}\n", "bad.yaml")
    with pytest.raises(SimulatorError, match="'rows' is not an axis"):
        load_sweep(bad)
    evil = write(tmp_path, "name: d\ngrid: {target: [TMP/slow.yaml], seq: [1]}\nderived: {batch: "
                 "'__import__(\"os\")'}\n", "evil.yaml")
    with pytest.raises(SimulatorError, match="only numbers"):
        load_sweep(evil)


@pytest.mark.parametrize(("body", "match"), [
    ("name: ../../x\ngrid: {target: [TMP/slow.yaml], seq: [1]}\n", "not a plain name"),
    ("name: x\ngrid: {target: [TMP/slow.yaml], seq: []}\n", "grid.seq.*empty"),
    ("name: x\ngrid: {target: [TMP/slow.yaml], seq: [1]}\nzip: {target.array.rows: [1, 2], "
     "target.array.cols: [1]}\n", "equal, non-zero length"),
    ("name: x\ngrid: {target: [TMP/slow.yaml], seq: [1]}\nconstraints: ['area is small']\n", "constraints\\[0\\]"),
    ("name: x\ngrid: {seq: [1]}\n", "no 'target'"),
    ("name: x\ngrid: {target: [TMP/slow.yaml], seq: [1]}\nzip: {seq: [2]}\n", "both grid and zip"),
    ("name: x\ngrid: {target: [TMP/slow.yaml], seq: [1]}\nsearch: {n: 4, axes: {target.array.rows: {range: [1, 4]}}}\n",
     "search needs objectives"),
])
def test_bad_sweep_files_are_one_line_errors(tmp_path, body, match):
    with pytest.raises(SimulatorError, match=match) as err:
        load_sweep(write(tmp_path, body))
    assert "\n" not in str(err.value) and "s.yaml" in str(err.value)


def test_relative_paths_resolve_against_the_sweep_file(tmp_path, monkeypatch):
    sub = tmp_path / "studies"
    sub.mkdir()
    (sub / "local.yaml").write_text("kind: toy\nrate_per_s: 1e6\n")
    path = write(sub, "name: rel\ngrid: {target: [local.yaml], seq: [8]}\n")
    monkeypatch.chdir(tmp_path)
    assert not os.path.exists("local.yaml")
    summary = run_sweep(path, tmp_path / "out")
    assert summary.failed == 0 and summary.points_done == 1


def test_a_varlen_batch_is_a_sweep_value_and_resumes(tmp_path):
    """`seq_lens` takes a YAML list (the request holds a tuple): fixed, or one list per grid value; a resumed run
    finds those points done."""
    path = write(tmp_path, """name: varlen
grid: {target: [h100], seq_lens: [[512, 2048, 8192], [8192, 8192, 8192]]}
fixed: {heads: 16, head_dim: 128}
""")
    summary = run_sweep(path, tmp_path / "out")
    assert summary.points == 2 and summary.failed == 0
    by = {tuple(r["seq_lens"]): r["latency_s"] for r in summary.table}
    assert by[(512, 2048, 8192)] < by[(8192, 8192, 8192)]
    again = run_sweep(path, tmp_path / "out", resume=True)
    assert again.computed == 0 and again.skipped == 2
    bad = write(tmp_path, "name: x\ngrid: {target: [h100], seq_lens: [[512, 1.5]]}\n"
                "fixed: {heads: 16, head_dim: 128}\n", name="bad.yaml")
    with pytest.raises(SimulatorError, match=r"not a valid seq_lens"):
        load_sweep(bad)
