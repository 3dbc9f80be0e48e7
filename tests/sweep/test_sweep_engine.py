"""Sweeps: grid expansion, parallel runs, per-point errors, resume, table, plot and the CLI's JSON (toy kind)."""

import json

import pytest

from simulator.cli import main
from simulator.errors import SimulatorError
from simulator.sweep import load_sweep, run_sweep


def sweep_file(tmp_path, seqs=(64, 128, 256), extra=""):
    path = tmp_path / "sweep.yaml"
    path.write_text(f"""name: toy
grid:
  target: [{tmp_path}/slow.yaml, {tmp_path}/fast.yaml]
  seq: {list(seqs)}
table: [target, seq, latency_s, utilization.array]
plot: {{x: seq, y: latency_s, series: target, logx: true, logy: true}}
{extra}""")
    return path


def test_grid_runs_every_point_and_writes_table_and_plot(tmp_path):
    summary = run_sweep(sweep_file(tmp_path), tmp_path / "out")
    assert summary.points == 6 and summary.computed == 6 and summary.failed == 0
    row = next(r for r in summary.table if r["seq"] == 128 and "slow" in r["target"])
    assert row["latency_s"] == pytest.approx(128**2 / (16 * 1e6)) and row["utilization.array"] == 0.5
    assert (tmp_path / "out" / "plot.png").stat().st_size > 1000
    assert (tmp_path / "out" / "table.csv").read_text().count("\n") == 7


def test_parallel_workers_give_the_same_table(tmp_path):
    one = run_sweep(sweep_file(tmp_path), tmp_path / "a", workers=1).table
    two = run_sweep(sweep_file(tmp_path), tmp_path / "b", workers=2).table
    assert one == two


def test_resume_skips_stored_points_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "out"
    first = run_sweep(sweep_file(tmp_path, seqs=(64, 128)), out)
    assert first.computed == 4
    with pytest.raises(SimulatorError, match="--resume"):
        run_sweep(sweep_file(tmp_path, seqs=(64, 128, 256)), out)
    summary = run_sweep(sweep_file(tmp_path, seqs=(64, 128, 256)), out, resume=True)
    assert summary.points_resumed == 4 and summary.computed == 2 and len(summary.table) == 6
    again = run_sweep(sweep_file(tmp_path, seqs=(64, 128, 256)), out, resume=True)
    assert again.computed == 0 and again.points_resumed == 6 and again.table == summary.table


def test_a_bad_point_is_recorded_not_fatal(tmp_path):
    summary = run_sweep(sweep_file(tmp_path, seqs=(64, -1)), tmp_path / "out")
    assert summary.failed == 2 and summary.computed == 2 and summary.points_failed == 2
    assert all("--seq" in e and "seq=-1" in e for e in summary.errors)


def test_unknown_grid_field_is_named_with_the_valid_ones(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ngrid: {target: [a], sequence: [1]}\n")
    with pytest.raises(SimulatorError, match=r"grid.sequence.*choose from: target, workload, seq"):
        load_sweep(path)


def test_cli_json_is_one_object_with_the_contract_keys(tmp_path, capsys):
    path = sweep_file(tmp_path, extra="objectives: [latency_s, area_um2]\n")
    assert main(["sweep", str(path), "--out", str(tmp_path / "o"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("points_total", "points_done", "points_resumed", "points_failed", "store", "pareto", "plots"):
        assert key in data
    assert data["points"] == 6 and data["points_done"] == 6 and len(data["table"]) == 6
    assert data["store"].endswith("sweep.sqlite")
    assert all(isinstance(p, str) and p.endswith(".png") for p in data["plots"]) and len(data["plots"]) >= 3
    assert data["pareto"] and all({"key", "point", "objectives"} <= set(p) for p in data["pareto"])


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: x\ngrid: {{target: [{tmp_path}/slow.yaml], seq: ['abc']}}\n")
    assert main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "bad.yaml" in err and "grid.seq[0]" in err and "Traceback" not in err


def test_workers_are_capped_at_the_points_and_say_so(tmp_path):
    summary = run_sweep(sweep_file(tmp_path, seqs=(64, 128)), tmp_path / "out", workers=1000)
    assert summary.workers <= 4 and summary.computed == 4
    assert any("--workers 1000 capped at" in n for n in summary.notes)


def test_progress_reports_n_of_m_failures_best_and_the_plot_phase(tmp_path):
    seen = []
    run_sweep(sweep_file(tmp_path, seqs=(64, -1, 128), extra="objectives: [latency_s]\n"), tmp_path / "out",
              on_progress=seen.append)
    evaluating = [p for p in seen if p.phase == "evaluating"]
    assert evaluating[-1].done == evaluating[-1].total == 6 and evaluating[-1].failed == 2
    assert "latency_s=" in evaluating[-1].best and "seq=64" in evaluating[-1].best
    assert seen[-1].phase.startswith("writing")
