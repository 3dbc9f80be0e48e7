"""Objectives, constraints, the Pareto front, the figures, and the key checks on each target's first result."""

import itertools

import numpy as np
import pytest

from simulator.errors import SimulatorError
from simulator.sweep import run_sweep
from simulator.sweep.objectives import pareto_mask


def study(tmp_path, extra="objectives: [latency_s, area_um2]\n", sizes=(1, 2, 4, 8, 16)):
    path = tmp_path / "study.yaml"
    path.write_text(f"""name: study
grid:
  target: [{tmp_path}/slow.yaml]
  seq: [256]
  target.array.rows: {list(sizes)}
  target.array.cols: {list(sizes)}
{extra}""")
    return path


def brute_force_front(points):
    return [not any(all(b <= a for a, b in zip(p, q, strict=True)) and q != p for q in points) for p in points]


def test_pareto_mask_matches_brute_force():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 6, size=(60, 3)).astype(float)
    values[3, 1] = np.nan
    expected = brute_force_front([tuple(v) for v in values])
    expected[3] = False
    assert pareto_mask(values).tolist() == expected


def test_front_of_latency_against_area_with_a_constraint(tmp_path):
    summary = run_sweep(study(tmp_path, "objectives: [latency_s, area_um2]\nconstraints: ['area_um2 <= 1600']\n"),
                        tmp_path / "out")
    records = {(r["target.array.rows"], r["target.array.cols"]): r for r in summary.table}
    assert len(records) == 25
    # latency ~ 1/(rows*cols) and area ~ rows*cols: any point is optimal unless another has the same PE count
    # and so equal objectives; the constraint (16 PEs of 100 um2) cuts every array above 16 PEs
    for (rows, cols), row in records.items():
        assert row["feasible"] == (rows * cols * 100 <= 1600)
        if not row["feasible"]:
            assert not row["pareto"]
    feasible = [r for r in summary.table if r["feasible"]]
    expected = brute_force_front([(r["latency_s"], r["area_um2"]) for r in feasible])
    assert [r["pareto"] for r in feasible] == expected and any(expected)
    assert len(summary.pareto) == sum(expected) and summary.points_feasible == len(feasible)
    assert {p.rsplit("/", 1)[-1] for p in summary.plots} == {"pareto.png", "trends.png", "breakdown.png"}
    assert all((tmp_path / "out" / name).stat().st_size > 5000 for name in ("pareto.png", "trends.png"))
    assert (tmp_path / "out" / "pareto.csv").read_text().count("\n") == len(summary.pareto) + 1


def test_edp_is_latency_times_energy(tmp_path):
    summary = run_sweep(study(tmp_path, "objectives: [edp, area_um2]\ntable: [target.array.rows, edp, latency_s, "
                                        "energy_j]\n", sizes=(2, 4)), tmp_path / "out")
    for row in summary.table:
        assert row["edp"] == pytest.approx(row["latency_s"] * row["energy_j"])


@pytest.mark.parametrize(("extra", "field", "named"), [
    ("objectives: [latency_s, tflops]\n", "objectives[1]", "tflops"),
    ("objectives: [latency_s]\nconstraints: ['utilization.pe2d >= 0.9']\n", "constraints[0]", "utilization.pe2d"),
    ("table: [target, latency]\n", "table[1]", "latency"),
    ("plot: {x: seq, y: latncy_s}\n", "plot.y", "latncy_s"),
])
def test_a_key_the_results_lack_is_an_error_naming_the_keys(tmp_path, extra, field, named):
    with pytest.raises(SimulatorError) as err:
        run_sweep(study(tmp_path, extra, sizes=(1, 2)), tmp_path / "out")
    text = str(err.value)
    assert f"field '{field}'" in text and f"'{named}'" in text and "latency_s" in text and "area_um2" in text
    assert "\n" not in text


def test_objectives_rank_the_points_in_the_table(tmp_path):
    summary = run_sweep(study(tmp_path, "objectives: [latency_s, energy_j]\n", sizes=(1, 4)), tmp_path / "o")
    values = [(r["latency_s"], r["energy_j"]) for r in summary.table]
    assert [r["pareto"] for r in summary.table] == brute_force_front(values)
    assert all(set(p["objectives"]) == {"latency_s", "energy_j"} for p in summary.pareto)
    assert list(itertools.chain(summary.pareto_table)) == [r for r in summary.table if r["pareto"]]


def test_a_maximised_objective_flips_its_front(tmp_path):
    """`max:KEY` maximises: latency and area pull one way (every PE count is optimal), latency and max:area_um2
    agree (the largest array is the one optimum), and the table shows the key's own values."""
    both = run_sweep(study(tmp_path, "objectives: [latency_s, max:area_um2]\n"), tmp_path / "o1")
    largest = max(r["area_um2"] for r in both.table)
    assert [r["pareto"] for r in both.table] == [r["area_um2"] == largest for r in both.table]
    assert all(p["objectives"]["max:area_um2"] == largest for p in both.pareto)
    assert pareto_mask(np.array([[1.0, -5.0], [1.0, -3.0]])).tolist() == [True, False]
