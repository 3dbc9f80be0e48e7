"""`cascade evaluate` for `gpu` targets: validate the request's shape options, cost one shape, return JSON-ready keys.

Keys: latency_s, tflops (FlashAttention convention), flops, bound (tensor | exp | fp32 | memory | latency),
utilization (by unit), bytes_by_level {"hbm": ...}, roofline_latency_s (the cheap bound), phases_s, grid, kernel
(the tile configuration chosen), work_per_kv_tile (from the cascade's op counts), constants.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from hw.gpu import DTYPE_BYTES, GpuTarget
from simulator.errors import SimulatorError
from simulator.evaluate import EvaluateRequest
from simulator.gpu.constants import FITTED
from simulator.gpu.model import Shapes, fa_flops, predict

DEFAULT_CASCADE = "attention-1pass"
#: Rotary key dims MLA adds to Q and K beyond the latent (DeepSeek-V2, arXiv 2405.04434: d_h^R = 64).
MLA_ROPE_DIM = 64
#: MLA per-head query/key and value dims outside the latent (DeepSeek-V2: d_h = 128). With an MLA cascade,
#: --head-dim is the latent dim L (512 in DeepSeek-V2/V3).
MLA_HEAD_DIM = 128


def _positive(value: int | None, option: str, fix: str) -> int:
    if value is None:
        raise SimulatorError(f"{option} is required for a gpu target; {fix}")
    if value <= 0:
        raise SimulatorError(f"{option} must be a positive integer, not {value!r}")
    return int(value)


def _check_request(target: GpuTarget, r: EvaluateRequest) -> dict[str, Any]:
    """The validated shape, or a `SimulatorError` naming the option and the fix."""
    if r.workload is not None:
        raise SimulatorError("--workload is not used by the gpu model; give the shape with --batch, --heads, "
                             "--seq, --head-dim (and --kv-heads, --kv-seq, --causal, --dtype)")
    if r.mapping is not None or r.search:
        raise SimulatorError("--mapping/--search do not apply to a gpu target: the model picks the kernel's tiles "
                             "(see 'kernel' in the output); drop the option")
    if r.scope != "attention":
        raise SimulatorError(f"--scope {r.scope!r}: the gpu model costs the attention kernel only; use "
                             "--scope attention")
    batch = _positive(r.batch, "--batch", "add e.g. --batch 1")
    heads = _positive(r.heads, "--heads", "add e.g. --heads 32 (query heads)")
    seq = _positive(r.seq, "--seq", "add e.g. --seq 4096 (queries; use --seq 1 --kv-seq N for decode)")
    head_dim = _positive(r.head_dim, "--head-dim", "add e.g. --head-dim 128")
    kv_heads = _positive(r.kv_heads, "--kv-heads", "") if r.kv_heads is not None else heads
    kv_seq = _positive(r.kv_seq, "--kv-seq", "") if r.kv_seq is not None else seq
    if heads % kv_heads:
        raise SimulatorError(f"--kv-heads {kv_heads} must divide --heads {heads} (GQA groups query heads evenly); "
                             f"use a divisor of {heads}")
    if head_dim % 8:
        raise SimulatorError(f"--head-dim {head_dim}: fused attention kernels need a multiple of 8; pad to "
                             f"{head_dim + 8 - head_dim % 8}")
    dtype = r.dtype or "fp16"
    if dtype not in DTYPE_BYTES:
        raise SimulatorError(f"--dtype {dtype!r} is not one of fp16, bf16, fp8, fp4")
    if dtype not in target.tensor_flops_per_s:
        raise SimulatorError(f"--dtype {dtype}: {target.name} has no {dtype} tensor cores (it supports "
                             f"{', '.join(target.tensor_flops_per_s)}); pick one of those or another target")
    cascade = r.cascade or DEFAULT_CASCADE
    d_qk, d_v = head_dim, head_dim
    dims, kv_elems = {"E": head_dim, "F": head_dim}, None
    if "mla" in cascade.lower():
        if kv_heads != 1:
            raise SimulatorError(f"--kv-heads {kv_heads}: MLA attends to one shared latent; use --kv-heads 1")
        d_qk = head_dim + MLA_ROPE_DIM
        dims = {"L": head_dim, "R": MLA_ROPE_DIM, "E": MLA_HEAD_DIM, "F": MLA_HEAD_DIM}
        kv_elems = head_dim + MLA_ROPE_DIM
    return {"dims": dims, "kv_elems_per_key": kv_elems, "batch": batch, "heads": heads, "kv_heads": kv_heads,
            "seq": seq, "kv_seq": kv_seq,
            "head_dim": head_dim, "d_qk": d_qk, "d_v": d_v, "causal": bool(r.causal), "dtype": dtype,
            "cascade": cascade}


def _first(x: Any) -> Any:
    return x[0].item() if hasattr(x, "shape") else x


def evaluate_gpu(target: GpuTarget, request: EvaluateRequest) -> dict[str, Any]:
    """Cost one attention shape on `target` with the fused-kernel model (see `simulator.gpu.model`)."""
    s = _check_request(target, request)
    elem = DTYPE_BYTES[s["dtype"]]
    kv_per_key = s["kv_elems_per_key"] or s["d_qk"] + s["d_v"]
    tensors_bytes = elem * (s["batch"] * s["heads"] * s["seq"] * (s["d_qk"] + s["d_v"])
                            + s["batch"] * s["kv_heads"] * s["kv_seq"] * kv_per_key)
    if tensors_bytes > target.hbm.capacity_bytes:
        raise SimulatorError(f"Q, K, V and O need {tensors_bytes / 1e9:.1f} GB but {target.name} has "
                             f"{target.hbm.capacity_bytes / 1e9:.0f} GB of HBM; lower --batch or --seq")
    shapes = Shapes.of(s["batch"], s["heads"], s["kv_heads"], s["seq"], s["kv_seq"])
    res = predict(target, shapes, d_qk=s["d_qk"], d_v=s["d_v"], causal=s["causal"], dtype=s["dtype"],
                  cascade=s["cascade"], dims=s["dims"], kv_elems_per_key=s["kv_elems_per_key"])
    flops = float(fa_flops(shapes, s["d_qk"], s["d_v"], s["causal"])[0])
    min_bytes = tensors_bytes
    # The cheap bound beside the refined estimate: tensor FLOPs, one exp per visible score, compulsory bytes.
    exps = flops / (2.0 * (s["d_qk"] + s["d_v"]))
    roofline_s = max(flops / target.tensor_flops_per_s[s["dtype"]], exps / target.exp_per_s,
                     min_bytes / target.hbm.bw_bytes_per_s)
    work = res["work"]
    return {
        "target": target.name,
        "kind": "gpu",
        "cascade": s["cascade"],
        "shape": {k: s[k] for k in ("batch", "heads", "kv_heads", "seq", "kv_seq", "head_dim", "causal", "dtype")},
        "latency_s": float(_first(res["latency_s"])),
        "tflops": float(_first(res["tflops"])),
        "flops": flops,
        "bound": str(_first(res["bound"])),
        "utilization": {k: float(_first(v)) for k, v in res["utilization"].items()},
        "bytes_by_level": {"hbm": float(_first(res["hbm_bytes"]))},
        "roofline_latency_s": roofline_s,
        "phases_s": {k: float(_first(v)) for k, v in res["phases_s"].items()},
        "grid": {k: (float if k == "kv_reload" else int)(_first(v)) for k, v in res["grid"].items()},
        "kernel": asdict(res["kernel"]),
        "work_per_kv_tile": {"mac": work.mac_per_kv_tile, "exp": work.exp_per_kv_tile,
                             "fp32": work.fp32_per_kv_tile, "passes": work.passes, "source": work.source},
        "constants": FITTED.as_dict(),
    }
