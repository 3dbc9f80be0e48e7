"""The shipped GPU sweep example is valid and every point evaluates."""

from pathlib import Path

from simulator.evaluate import EvaluateRequest, evaluate_record
from simulator.sweep.spec import load_sweep

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gpu" / "gpus-by-seq.yaml"


def test_example_sweep_points_evaluate():
    spec = load_sweep(EXAMPLE)
    points = spec.points()
    assert len(points) == 3 * 2 * 7
    by_target: dict[str, list[float]] = {}
    for point in points:
        if point["causal"]:
            continue
        result = evaluate_record(EvaluateRequest(**point))
        by_target.setdefault(point["target"], []).append(result["tflops"])
    # Newer GPUs are faster at long sequences, and every GPU gains throughput with length.
    assert by_target["a100"][-1] < by_target["h100"][-1] < by_target["b200"][-1]
    assert all(series[0] < series[-1] for series in by_target.values())
