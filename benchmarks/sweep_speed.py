"""Sweep speed: a 10,000-point hardware grid (H100 clock x SM count x HBM bandwidth x sequence length, fused
attention with its fixed kernel mapping) through `cascade sweep` on 2 worker processes, beside the cost model's
own time measured in the same run.

Prints the sweep's wall time, the model's time per point (target built and costed in a loop, no sweep), the
sweep's CPU time per point (wall x workers / points) and the overhead per point (the difference: keys, store,
batching, processes), and the ratio of the two. Goal (docs/sweeps.md): 10,000 points in under a minute on 2 cores.

    .venv/bin/python benchmarks/sweep_speed.py [--json] [--points N] [--workers W]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from simulator.sweep import run_sweep
from simulator.sweep.execute import build_request, evaluate_batch
from simulator.sweep.spec import load_sweep


def sweep_text(side: int) -> str:
    """A grid of side^4 points over three hardware fields and the sequence length."""
    clocks = [round(1.2e9 + i * 0.8e9 / max(1, side - 1)) for i in range(side)]
    sms = [66 + i * (132 - 66) // max(1, side - 1) for i in range(side)]
    bws = [round(1.0e12 + i * 3.0e12 / max(1, side - 1)) for i in range(side)]
    seqs = [1024 * (i + 1) for i in range(side)]
    return f"""name: sweep-speed
grid:
  target.clock_hz: {clocks}
  target.sm_count: {sms}
  target.hbm.bw_bytes_per_s: {bws}
  seq: {seqs}
fixed: {{target: h100, cascade: attention-1pass, batch: 4, heads: 32, head_dim: 128}}
objectives: [latency_s]
table: [target.clock_hz, target.sm_count, target.hbm.bw_bytes_per_s, seq, latency_s]
"""


def model_time_per_point(points: list[dict], sample: int = 200) -> float:
    """The cost model alone: each point's target built beforehand (untimed), then its options checked, planned
    and costed in this process: no YAML, no store, no keys, no workers, no JSON."""
    from hw.registry import load_target
    from simulator.backends import backend_for
    from simulator.backends.protocol import check_options

    chosen = points[:: max(1, len(points) // sample)][:sample]
    requests = [build_request(p) for p in chosen]
    targets = [load_target(r.target, r.overrides) for r in requests]
    backend = backend_for(targets[0].kind)
    backend.cost(backend.plan(targets[0], check_options(backend, requests[0], "h100")))  # warm caches
    start = time.perf_counter()
    for request, target in zip(requests, targets, strict=True):
        backend.cost(backend.plan(target, check_options(backend, request, "h100")))
    return (time.perf_counter() - start) / len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--points", type=int, default=10_000, help="about this many points (a grid side^4)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    side = max(1, round(args.points ** 0.25))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sweep-speed.yaml"
        path.write_text(sweep_text(side))
        spec = load_sweep(path)
        points = spec.points()
        evaluate_batch([("warm", "warm", points[0])])  # the parent's imports, inherited by forked workers
        model_s = model_time_per_point(points)
        start = time.perf_counter()
        summary = run_sweep(spec, Path(tmp) / "out", workers=args.workers)
        wall_s = time.perf_counter() - start
    cpu_per_point_s = wall_s * summary.workers / summary.points_total
    report = {
        "points": summary.points_total,
        "failed": summary.points_failed,
        "workers": summary.workers,
        "wall_s": round(wall_s, 3),
        "points_per_s": round(summary.points_total / wall_s, 1),
        "model_s_per_point": model_s,
        "sweep_cpu_s_per_point": cpu_per_point_s,
        "overhead_per_point_s": cpu_per_point_s - model_s,
        "sweep_over_model": cpu_per_point_s / model_s,
        "goal": "10,000 points in under 60 s on 2 cores",
    }
    if args.json:
        print(json.dumps(report))
        return
    print(f"{report['points']} points ({report['failed']} failed) on {report['workers']} workers in "
          f"{report['wall_s']:.1f} s ({report['points_per_s']:.0f} points/s)")
    print(f"model alone: {model_s * 1e3:.2f} ms/point; sweep: {cpu_per_point_s * 1e3:.2f} ms/point of CPU; "
          f"overhead {report['overhead_per_point_s'] * 1e3:.2f} ms/point; sweep/model = "
          f"{report['sweep_over_model']:.2f}x")


if __name__ == "__main__":
    main()
