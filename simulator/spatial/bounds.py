"""The lower bound every spatial result reports, and its gap: no mapping on these arrays can beat it.

Compute: each Einsum's useful PE-cycles on the array it is bound to, at full utilisation, summed per array (the
arrays run concurrently at best): the busiest array's total. Memory: the compulsory DRAM traffic (the cascade's
inputs read once and its outputs written once; with `--scope layer` also each linear layer's activations, weights
and outputs) over the DRAM bandwidth. The bound is the larger; `bound_gap = latency_s / lower_bound_s - 1`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from simulator.spatial.cascades import bound_problem, split_choices
from simulator.spatial.problem import linear_problem
from simulator.spatial.results import SpatialResult
from simulator.spatial.search import boundary_bytes


def compulsory_dram_bytes(plan: Any) -> float:
    """Bytes the cascade (and, in layer scope, the linear layers) must move to or from DRAM at least once."""
    sizes = plan.bound.sizes
    split = split_choices(plan.cascade, sizes, plan.target)[0]
    problem = bound_problem(plan.cascade, {**sizes, **split}, plan.bound.instances)
    specs = list(problem.einsums)
    word = plan.target.word_bytes
    total = boundary_bytes(specs, specs, set(problem.inputs | problem.outputs), word)
    if plan.scope == "layer":
        lin = linear_problem(plan.workload.batch * plan.shape.seq, plan.workload.d_model, plan.workload.d_ff)
        total += sum(boundary_bytes([s], [s], set(lin.inputs | lin.outputs), word) for s in lin.einsums)
    return total


def with_bound(result: SpatialResult, plan: Any) -> SpatialResult:
    """`result` with `lower_bound_s` and `bound_gap` filled in."""
    work_s: dict[str, float] = {}
    for row in result.einsums:
        work_s[row.array] = work_s.get(row.array, 0.0) + row.pe_utilization * row.compute_s
    compute_s = max(work_s.values(), default=0.0)
    memory_s = compulsory_dram_bytes(plan) / plan.target.dram.bw_bytes_per_s
    bound = max(compute_s, memory_s)
    gap = max(0.0, result.latency_s / bound - 1.0) if bound > 0 else 0.0  # >= 0 up to rounding
    return dataclasses.replace(result, lower_bound_s=bound, bound_gap=gap)
