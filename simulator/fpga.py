"""Attention on an FPGA target: size an engine from the device's resources and the synthesized unit costs.

The engine streams rows: QK^T and PV on MAC lanes built from DSP slices, softmax on `u` streaming softmax
units (each streams rows back to back at one score per cycle in and out: seq cycles per row, plus its
measured last-input-to-first-output latency once). Resources are shared: the split between MAC lanes and
softmax units is chosen to minimise the slower of the two. DRAM traffic is Q, K, V in and O out once (scores
stay on chip, row by row). This is a throughput bound with real non-linear unit costs, not a cycle-accurate model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import PositiveInt

from cascade_base.spec import Frozen
from hw.fpga import FpgaTarget, UnitCost
from simulator.errors import SimulatorError

MAX_UNITS = 4096  # search bound on the number of softmax units


@dataclass(frozen=True)
class FpgaAttentionEstimate:
    """Latency of one attention layer (all heads, batch) and the resources of the engine that runs it."""

    target: str
    latency_s: float
    compute_s: float
    memory_s: float
    clock_hz: float
    mac_lanes: int
    softmax_units: int
    matmul_cycles: int
    softmax_cycles: int
    macs: int
    dram_bytes: int
    resources: dict[str, int] = field(default_factory=dict)
    utilization: dict[str, float] = field(default_factory=dict)
    bottleneck: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def softmax_unit_for(unit: UnitCost, seq: int) -> dict[str, int]:
    """Resources of a softmax unit holding rows of `seq`: the row buffer's block RAMs scale with the row."""
    if unit.max_len is None:
        raise SimulatorError("target units.softmax.max_len is missing; the unit's row length is needed")
    blocks = math.ceil(seq / unit.max_len)
    return {"luts": unit.luts, "ffs": unit.ffs, "dsps": unit.dsps,
            "brams": unit.brams - unit.buffer_brams + unit.buffer_brams * blocks}


def fpga_attention_estimate(target: FpgaTarget, seq: int, heads: int, head_dim: int, batch: int = 1,
                            word_bytes: int = 2) -> FpgaAttentionEstimate:
    """Best split of the device between MAC lanes and softmax units for softmax(QK^T)V, and its latency."""
    for name, value in (("seq", seq), ("heads", heads), ("head_dim", head_dim), ("batch", batch)):
        if not isinstance(value, int) or value < 1:
            raise SimulatorError(f"{name} must be a positive integer, not {value!r}")
    if "softmax" not in target.units:
        raise SimulatorError(f"target {target.name}: units.softmax is missing; add the synthesized unit's cost")
    dev, mac, budget = target.device, target.mac, target.resource_budget
    avail = {"luts": int(dev.luts * budget), "ffs": int(dev.ffs * budget), "dsps": int(dev.dsps * budget),
             "brams": int(dev.brams * budget)}
    sm = softmax_unit_for(target.units["softmax"], seq)
    per_mac = {"luts": mac.luts_per_mac, "ffs": mac.ffs_per_mac, "dsps": mac.dsps_per_mac, "brams": 0}
    rows = batch * heads * seq
    macs = 2 * batch * heads * seq * seq * head_dim
    latency = target.units["softmax"].latency_cycles  # rows stream back to back: seq cycles each, latency once
    best = None
    for u in range(1, min(rows, MAX_UNITS) + 1):
        left = {k: avail[k] - u * sm[k] for k in avail}
        if min(left.values()) < 0:
            break
        lanes = min(int(left[k] // per_mac[k]) for k in per_mac if per_mac[k] > 0)
        if lanes < 1:
            break
        mm = math.ceil(macs / lanes)
        sx = math.ceil(rows / u) * seq + latency
        if best is None or max(mm, sx) < max(best[2], best[3]):
            best = (u, lanes, mm, sx)
    if best is None:
        raise SimulatorError(f"target {target.name}: one softmax unit plus one MAC lane do not fit the device "
                             f"({sm} per unit against {avail})")
    u, lanes, mm, sx = best
    clock = target.clock_hz
    fmax = target.units["softmax"].fmax_mhz
    if fmax is not None:
        clock = min(clock, fmax * 1e6)
    used = {k: int(math.ceil(u * sm[k] + lanes * per_mac[k])) for k in avail}
    compute_s = max(mm, sx) / clock
    dram_bytes = 4 * batch * heads * seq * head_dim * word_bytes
    memory_s = dram_bytes / target.dram_bw_bytes_per_s
    bottleneck = "memory" if memory_s > compute_s else ("softmax" if sx > mm else "matmul")
    return FpgaAttentionEstimate(
        target=target.name, latency_s=max(compute_s, memory_s), compute_s=compute_s, memory_s=memory_s,
        clock_hz=clock, mac_lanes=lanes, softmax_units=u, matmul_cycles=mm, softmax_cycles=sx, macs=macs,
        dram_bytes=dram_bytes, resources=used,
        utilization={k: used[k] / getattr(dev, k) for k in used}, bottleneck=bottleneck)


class FpgaOptions(Frozen):
    """What `cascade evaluate` takes for an FPGA target: a shape (from --workload or the shape options). The engine
    runs its own dataflow (scores row by row into streaming softmax units), so --cascade, --causal and --kv-* are
    refused rather than ignored."""

    workload: str | None = None
    seq: PositiveInt
    batch: PositiveInt | None = None
    heads: PositiveInt | None = None
    head_dim: PositiveInt | None = None
    dtype: Literal["fp16", "int16"] | None = None
    scope: Literal["attention"] = "attention"


@dataclass(frozen=True)
class FpgaPlan:
    target: FpgaTarget
    batch: int
    heads: int
    seq: int
    head_dim: int


@dataclass(frozen=True)
class EngineRow:
    mac_lanes: int
    softmax_units: int
    clock_hz: float
    matmul_cycles: int
    softmax_cycles: int


@dataclass(frozen=True)
class FpgaResult:
    """Latency of dense softmax attention on the sized engine, its resources and what bounds it."""

    target: str
    cascade: str
    shape: dict[str, int]
    latency_s: float
    flops: float
    tflops: float
    bound: str
    bytes_by_level: dict[str, float]
    utilization: dict[str, float]
    resources: dict[str, int]
    engine: EngineRow
    phases_s: dict[str, float]
    kind: str = "fpga"
    overrides: dict[str, Any] = field(default_factory=dict)


#: what the engine computes, reported under `cascade`: FuseMax's 1-pass online softmax is what a streaming
#: softmax unit fed row by row implements.
ENGINE_CASCADE = "attention-1pass"


class FpgaBackend:
    kind = "fpga"
    options = FpgaOptions
    scope_note = "dense softmax attention on an engine sized from the device; the engine's own dataflow"

    def plan(self, target: FpgaTarget, options: FpgaOptions) -> FpgaPlan:
        batch, heads, head_dim = options.batch, options.heads, options.head_dim
        if options.workload is not None:
            from simulator.workloads import get_workload

            w = get_workload(options.workload)
            batch, heads, head_dim = batch or w.batch, heads or w.heads, head_dim or w.e
        missing = [opt for opt, v in (("--heads", heads), ("--head-dim", head_dim)) if v is None]
        if missing:
            raise SimulatorError(f"{', '.join(missing)}: required on FPGA targets (or give --workload)",
                                 source=missing[0])
        return FpgaPlan(target, batch or 1, heads, options.seq, head_dim)

    def cost(self, plan: FpgaPlan) -> FpgaResult:
        e = fpga_attention_estimate(plan.target, plan.seq, plan.heads, plan.head_dim, plan.batch)
        flops = 2 * e.macs
        return FpgaResult(
            target=plan.target.name, cascade=ENGINE_CASCADE,
            shape={"batch": plan.batch, "heads": plan.heads, "seq": plan.seq, "head_dim": plan.head_dim},
            latency_s=e.latency_s, flops=flops, tflops=flops / e.latency_s / 1e12, bound=e.bottleneck,
            bytes_by_level={"dram": e.dram_bytes}, utilization=e.utilization, resources=e.resources,
            engine=EngineRow(e.mac_lanes, e.softmax_units, e.clock_hz, e.matmul_cycles, e.softmax_cycles),
            phases_s={"compute": e.compute_s, "memory": e.memory_s})


BACKEND = FpgaBackend()
