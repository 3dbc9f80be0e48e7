"""The GPU backend's `cost_batch`: one vectorised `predict` per group of plans that differ only in their sizes,
with every result equal to costing its plan alone."""

import dataclasses

import pytest

from hw.registry import load_target
from simulator.backends.protocol import check_options
from simulator.evaluate import EvaluateRequest
from simulator.gpu import backend as gpu_backend
from simulator.gpu.backend import BACKEND, evaluate_plan, evaluate_plans
from simulator.output import jsonable

SHAPES = [  # prefill, decode (pack-GQA, split-KV), causal, other dims, another dtype and pass
    dict(seq=512, batch=2, heads=16, head_dim=128), dict(seq=8192, batch=1, heads=32, head_dim=128),
    dict(seq=1, kv_seq=8192, batch=4, heads=32, kv_heads=8, head_dim=128),
    dict(seq=16, kv_seq=4096, batch=1, heads=32, kv_heads=8, head_dim=128),
    dict(seq=2048, batch=4, heads=16, head_dim=64, causal=True), dict(seq=4096, batch=2, heads=8, head_dim=64),
    dict(seq=4096, batch=2, heads=16, head_dim=128, dtype="fp8"),
    dict(seq=2048, batch=2, heads=16, head_dim=128, training_pass="fwd+bwd"),
]


def plan_of(target_name, **sizes):
    request = EvaluateRequest(target=target_name, workload=None, **sizes)
    target = load_target(target_name)
    return BACKEND.plan(target, check_options(BACKEND, request, target_name))


@pytest.mark.parametrize("target_name", ["a100", "h100", "b200"])
def test_batch_equals_one_at_a_time(target_name):
    plans = [plan_of(target_name, **s) for s in SHAPES
             if target_name == "h100" or ("dtype" not in s and "training_pass" not in s)]
    batched = evaluate_plans(plans)
    for plan, result in zip(plans, batched, strict=True):
        assert jsonable(result) == jsonable(evaluate_plan(plan))


def test_plans_of_one_gpu_and_kernel_share_one_predict(monkeypatch):
    calls = []
    real = gpu_backend.predict

    def counting(target, shapes, **kw):
        calls.append(len(shapes.seq_q))
        return real(target, shapes, **kw)

    monkeypatch.setattr(gpu_backend, "predict", counting)
    plans = [plan_of("h100", seq=seq, batch=2, heads=16, head_dim=128) for seq in (1024, 2048, 4096, 8192)]
    other = plan_of("h100", seq=1024, batch=2, heads=16, head_dim=64)
    results = BACKEND.cost_batch(plans + [other])
    assert sorted(calls) == [1, 4]
    assert [r.shape["seq"] for r in results] == [1024, 2048, 4096, 8192, 1024]
    assert [r.latency_s for r in results[:4]] == sorted(r.latency_s for r in results[:4])


def test_other_hardware_is_not_batched_together():
    fast = plan_of("h100", seq=4096, batch=2, heads=16, head_dim=128)
    slow_target = load_target("h100", ("clock_hz=1.0e9",))
    slow = dataclasses.replace(fast, target=slow_target)
    a, b = evaluate_plans([fast, slow])
    assert b.latency_s > a.latency_s
    assert jsonable(b) == jsonable(evaluate_plan(slow))
