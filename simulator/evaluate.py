"""`evaluate`: cost a cascade on any target. One request type, one path for every kind:

    target (+ --set overrides) -> the kind's backend -> options checked against its model -> plan -> typed result

The result is a frozen dataclass (`SpatialResult`, `GpuResult`, `FpgaResult`, ...) whose fields are the JSON keys;
`evaluate_record` gives the JSON-ready dict that sweeps store and `--json` prints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hw.overrides import describe, parse_overrides
from hw.registry import load_target
from simulator.backends import backend_for
from simulator.backends.protocol import check_options


@dataclass(frozen=True)
class EvaluateRequest:
    """Everything `cascade evaluate` can be asked. Each backend takes the fields its options model declares and
    refuses, by name, any other field that is set."""

    target: str
    workload: str | None = None
    seq: int | None = None
    cascade: str | None = None
    mapping: Path | str | None = None
    search: bool = False
    scope: str = "attention"
    batch: int | None = None
    heads: int | None = None
    kv_heads: int | None = None
    kv_seq: int | None = None
    head_dim: int | None = None
    causal: bool = False
    dtype: str | None = None
    #: GPU only: which fused-attention kernel runs (fa2 | fa3 | fa4 | cudnn | cutlass | flashinfer | flashmla)
    kernel: str | None = None
    #: GPU only: tokens per page of a paged K/V cache (must divide the K/V length)
    page_size: int | None = None
    #: GPU only (`--pass`): which pass of training is costed: "fwd", "bwd" or "fwd+bwd"
    training_pass: str = "fwd"
    #: GPU only (`--value-dim`): V's head dim when it differs from Q and K's (DeepSeek: --head-dim 192 --value-dim 128)
    value_dim: int | None = None
    #: GPU only (`--window`): keys each query sees under a sliding-window cascade's mask (default: the cascade's W)
    window: int | None = None
    #: GPU only (`--block-mask`): a block mask file (.npy / .npz as for `cascade bound --mask`) over --seq tokens
    block_mask: str | None = None
    #: GPU only (`--seq-lens 512,2048,8192`): a variable-length batch, one query length per sequence (K/V lengths
    #: equal to them unless `kv_seq_lens` is given); all sequences run as one kernel launch
    seq_lens: tuple[int, ...] = ()
    #: GPU only (`--kv-seq-lens 1024,8192`): one K/V length per sequence (with `seq_lens`, as many; alone, every
    #: query is `seq` long, e.g. 1 for decode)
    kv_seq_lens: tuple[int, ...] = ()
    #: how energy is accounted (spatial targets): "physical" (every PE's register file) or "artifact" (the FuseMax
    #: artifact's accounting: one PE's register file, its dataflow overlay); see simulator/spatial/convention.py
    energy_convention: str = "physical"
    #: hdl targets only: which streaming unit is built (gelu | softmax), its method, fixed-point formats, longest row
    unit: str | None = None
    method: str | None = None
    in_format: str | None = None
    out_format: str | None = None
    max_len: int | None = None
    #: the search (`--search`): what it minimises, its limits (mappings costed, seconds), its seed, and the file
    #: it writes the mapping it found to (readable back with `--mapping`)
    objective: str | None = None
    budget: int | None = None
    time_limit: float | None = None
    seed: int | None = None
    out: Path | str | None = None
    #: `--set PATH=VALUE` changes to the target's spec: ["arrays.pe2d.rows=128"] or {"clock_hz": 1.2e9}
    overrides: tuple[str, ...] | Mapping[str, Any] = ()


def evaluate(request: EvaluateRequest) -> Any:
    """Cost `request` on its target; returns the backend's frozen result (with `latency_s`)."""
    overrides = parse_overrides(request.overrides)
    target = load_target(request.target, request.overrides)
    backend = backend_for(target.kind)
    options = check_options(backend, request, str(getattr(target, "name", request.target)))
    result = backend.cost(backend.plan(target, options))
    if overrides and hasattr(result, "overrides"):
        result = dataclasses.replace(result, overrides=describe(overrides))
    return result


def evaluate_record(request: EvaluateRequest) -> dict[str, Any]:
    """`evaluate` as the JSON-ready dict `--json` prints and sweeps store."""
    from simulator.output import jsonable

    return jsonable(evaluate(request))
