"""`search:`: NSGA-II (optuna) over target fields, into the same store, with the same Pareto output and resume."""

import pytest

from simulator.sweep import run_sweep

pytest.importorskip("optuna", reason="search: needs optuna (a dependency of cascade-attention)")


def search_file(tmp_path, algorithm="nsga2"):
    path = tmp_path / "search.yaml"
    path.write_text(f"""name: search
fixed: {{target: {tmp_path}/slow.yaml, seq: 512}}
objectives: [latency_s, area_um2]
constraints: ["area_um2 <= 40000"]
search:
  n: 60
  seed: 7
  population: 20
  algorithm: {algorithm}
  axes:
    target.array.rows: {{log_range: [1, 64]}}
    target.array.cols: {{log_range: [1, 64]}}
""")
    return path


def test_search_fills_the_store_and_finds_a_feasible_front(tmp_path):
    summary = run_sweep(search_file(tmp_path), tmp_path / "out", workers=2)
    assert summary.failed == 0 and 20 <= summary.points_total <= 60 and summary.points_done == summary.points_total
    assert summary.pareto and all(p["objectives"]["area_um2"] <= 40000 for p in summary.pareto)
    rows = [r for r in summary.table if r["feasible"]]
    for p in summary.pareto:
        lat, area = p["objectives"]["latency_s"], p["objectives"]["area_um2"]
        assert not any(r["latency_s"] <= lat and r["area_um2"] <= area
                       and (r["latency_s"], r["area_um2"]) != (lat, area) for r in rows)
    assert all(1 <= r["target.array.rows"] <= 64 and isinstance(r["target.array.rows"], int) for r in summary.table)
    assert any(p.endswith("pareto.png") for p in summary.plots)


def test_resumed_search_replays_from_the_store_without_computing(tmp_path):
    first = run_sweep(search_file(tmp_path), tmp_path / "out")
    again = run_sweep(search_file(tmp_path), tmp_path / "out", resume=True)
    assert again.computed == 0 and again.points_resumed == first.points_total
    assert again.pareto == first.pareto
