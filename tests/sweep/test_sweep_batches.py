"""Batching: a backend with a vectorised `cost_batch(plans)` is called once per batch, not once per point."""

from dataclasses import dataclass
from typing import Literal

from hw.registry import register_kind
from hw.spec import Frozen
from simulator.backends import register_backend
from simulator.sweep import run_sweep


class VecTarget(Frozen):
    kind: Literal["vec"]
    rate_per_s: float


class VecOptions(Frozen):
    seq: int


@dataclass(frozen=True)
class VecResult:
    latency_s: float


class VecBackend:
    kind = "vec"
    options = VecOptions
    scope_note = "seq / rate, costed many at once"

    def __init__(self):
        self.calls: list[int] = []

    def plan(self, target, options):
        return target.rate_per_s, options.seq

    def cost(self, plan):
        raise AssertionError("a batch-capable backend is costed through cost_batch")

    def cost_batch(self, plans):
        self.calls.append(len(plans))
        return [VecResult(seq / rate) for rate, seq in plans]


def test_points_are_costed_once_per_batch(tmp_path):
    backend = VecBackend()
    register_kind("vec", VecTarget)
    register_backend("vec", backend)
    (tmp_path / "vec.yaml").write_text("kind: vec\nrate_per_s: 10.0\n")
    path = tmp_path / "s.yaml"
    path.write_text(f"name: vec\ngrid: {{target: [{tmp_path}/vec.yaml], seq: {list(range(1, 81))}}}\n")
    summary = run_sweep(path, tmp_path / "out")
    assert summary.failed == 0 and summary.points_done == 80
    assert sum(backend.calls) == 80 and len(backend.calls) < 20 and max(backend.calls) > 1
    assert sorted(r["latency_s"] for r in summary.table) == [s / 10.0 for s in range(1, 81)]
