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


#: cascades whose dataflow the FPGA engine implements (scores row by row into a streaming softmax unit).
SOFTMAX_CASCADES = ("attention-1pass", "attention-2pass", "attention-3pass", "flash-attention-2")


def evaluate_fpga(target: FpgaTarget, request) -> dict:
    """`cascade evaluate` on an `fpga` target: shape from --workload or --batch/--heads/--seq/--head-dim."""
    if request.mapping is not None or request.search:
        raise SimulatorError("--mapping/--search: FPGA targets size their engine from the device; drop the option")
    if request.causal or request.kv_heads not in (None, request.heads) or request.kv_seq not in (None, request.seq):
        raise SimulatorError("--causal, --kv-heads and --kv-seq are not modelled on FPGA targets yet; "
                             "evaluate dense self-attention (drop the option)")
    if request.dtype not in (None, "fp16", "int16"):
        raise SimulatorError(f"--dtype {request.dtype}: FPGA targets use the synthesized 16-bit fixed-point units")
    if request.scope != "attention":
        raise SimulatorError("--scope layer is not modelled on FPGA targets yet; use --scope attention")
    cascade = request.cascade or "attention-1pass"
    if cascade not in SOFTMAX_CASCADES:
        raise SimulatorError(f"--cascade {cascade}: the FPGA engine runs softmax attention with a streaming softmax "
                             f"unit; choose one of {', '.join(SOFTMAX_CASCADES)}")
    batch, heads, head_dim = request.batch, request.heads, request.head_dim
    if request.workload is not None:
        from simulator.workloads import get_workload

        w = get_workload(request.workload)
        batch, heads, head_dim = batch or w.batch, heads or w.heads, head_dim or w.e
    missing = [opt for opt, v in (("--seq", request.seq), ("--heads", heads), ("--head-dim", head_dim)) if v is None]
    if missing:
        raise SimulatorError(f"{', '.join(missing)}: required on FPGA targets (or give --workload)")
    estimate = fpga_attention_estimate(target, request.seq, heads, head_dim, batch or 1)
    flops = 2 * estimate.macs
    return {"target": target.name, "kind": "fpga", "cascade": cascade,
            "shape": {"batch": batch or 1, "heads": heads, "seq": request.seq, "head_dim": head_dim},
            "latency_s": estimate.latency_s, "flops": flops, "tflops": flops / estimate.latency_s / 1e12,
            "bound": estimate.bottleneck, "bytes_by_level": {"dram": estimate.dram_bytes},
            "utilization": estimate.utilization, "resources": estimate.resources,
            "engine": {"mac_lanes": estimate.mac_lanes, "softmax_units": estimate.softmax_units,
                       "clock_hz": estimate.clock_hz, "matmul_cycles": estimate.matmul_cycles,
                       "softmax_cycles": estimate.softmax_cycles},
            "phases_s": {"compute": estimate.compute_s, "memory": estimate.memory_s}}
