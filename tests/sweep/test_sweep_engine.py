"""Sweeps: grid expansion, parallel runs, per-point errors, resume after an interruption, table and plot.

A toy target kind (`toy`, latency = seq^2 / rate) stands in for the cost models so that these tests check
the sweep machinery alone."""

import json
from dataclasses import dataclass, field
from typing import Literal

import pytest

from hw.registry import register_kind
from hw.spec import Frozen
from simulator.backends import register_backend
from simulator.cli import main
from simulator.errors import SimulatorError
from simulator.sweep import load_sweep, run_sweep


class ToyTarget(Frozen):
    kind: Literal["toy"]
    rate_per_s: float


class ToyOptions(Frozen):
    seq: int


@dataclass(frozen=True)
class ToyResult:
    latency_s: float
    utilization: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)


class ToyBackend:
    """The smallest backend: the protocol's three members."""

    kind = "toy"
    options = ToyOptions
    scope_note = "seq^2 / rate"

    def plan(self, target, options):
        if options.seq <= 0:
            raise SimulatorError("--seq must be a positive integer")
        return target, options.seq

    def cost(self, plan):
        target, seq = plan
        return ToyResult(seq**2 / target.rate_per_s, {"array": 0.5})


@pytest.fixture(autouse=True)
def toy_kind(monkeypatch, tmp_path):
    register_kind("toy", ToyTarget)
    register_backend("toy", ToyBackend())
    for name, rate in (("slow", 1e6), ("fast", 1e8)):
        (tmp_path / f"{name}.yaml").write_text(f"kind: toy\nrate_per_s: {rate}\n")


def sweep_file(tmp_path, seqs=(64, 128, 256)):
    path = tmp_path / "sweep.yaml"
    path.write_text(f"""name: toy
grid:
  target: [{tmp_path}/slow.yaml, {tmp_path}/fast.yaml]
  seq: {list(seqs)}
table: [target, seq, latency_s, utilization.array]
plot: {{x: seq, y: latency_s, series: target, logx: true, logy: true}}
""")
    return path


def test_grid_runs_every_point_and_writes_table_and_plot(tmp_path):
    summary = run_sweep(sweep_file(tmp_path), tmp_path / "out")
    assert summary.points == 6 and summary.computed == 6 and summary.failed == 0
    row = next(r for r in summary.table if r["seq"] == 128 and "slow" in r["target"])
    assert row["latency_s"] == pytest.approx(128**2 / 1e6) and row["utilization.array"] == 0.5
    assert (tmp_path / "out" / "plot.png").stat().st_size > 1000
    assert (tmp_path / "out" / "table.csv").read_text().count("\n") == 7


def test_parallel_workers_give_the_same_table(tmp_path):
    one = run_sweep(sweep_file(tmp_path), tmp_path / "a", workers=1).table
    two = run_sweep(sweep_file(tmp_path), tmp_path / "b", workers=2).table
    assert one == two


def test_resume_skips_stored_points_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "out"
    run_sweep(sweep_file(tmp_path, seqs=(64, 128)), out)
    with (out / "results.jsonl").open("a") as handle:
        handle.write('{"key": "torn')  # a write cut short by an interruption
    with pytest.raises(SimulatorError, match="--resume"):
        run_sweep(sweep_file(tmp_path, seqs=(64, 128, 256)), out)
    summary = run_sweep(sweep_file(tmp_path, seqs=(64, 128, 256)), out, resume=True)
    assert summary.skipped == 4 and summary.computed == 2 and len(summary.table) == 6


def test_a_bad_point_is_recorded_not_fatal(tmp_path):
    summary = run_sweep(sweep_file(tmp_path, seqs=(64, -1)), tmp_path / "out")
    assert summary.failed == 2 and summary.computed == 2
    assert all("--seq" in e for e in summary.errors)


def test_unknown_grid_field_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ngrid: {target: [a], sequence: [1]}\n")
    with pytest.raises(SimulatorError, match="grid.sequence"):
        load_sweep(path)


def test_cli_json_is_one_object(tmp_path, capsys):
    assert main(["sweep", str(sweep_file(tmp_path)), "--out", str(tmp_path / "o"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["points"] == 6 and len(data["table"]) == 6
