"""SM-seconds of one key tile under each kernel schedule: how tensor, SFU (MUFU) and FP32 work overlap.

Per key tile the cascade gives MACs, SFU ops and FP32 ops (`simulator.gpu.work`). Tensor time uses the rate of the
kernel's MMA instruction class (`GpuTarget.tensor_rate`); softmax time is SFU plus FP32 issue by the same warps.
How much of the shorter of (GEMMs, softmax) hides under the longer depends on the schedule, one fitted constant
each (`simulator.gpu.constants`): `sync` (FlashAttention-2: overlap only across the CTAs on an SM, none with one),
`pingpong` (FlashAttention-3 and kin: two warpgroups alternate GEMM and softmax), `fa4` (FlashAttention-4:
dedicated softmax and correction warps; part of the exp2 emulated by a polynomial on the FMA units, split so that
MUFU and FMA finish together; the output rescale runs on correction warps off the critical path). Masked key
tiles (causal diagonal, ragged last tile) run before the pipeline fills and overlap nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from hw.gpu import DTYPE_BYTES, GpuTarget
from simulator.gpu.catalog import KERNELS
from simulator.gpu.constants import Constants
from simulator.gpu.kernels import KernelConfig
from simulator.gpu.work import TileWork


@dataclass(frozen=True)
class TileTimes:
    """SM-seconds of one key tile and its parts (`smem`: an mma.sync kernel's operand traffic through shared
    memory, `operand_smem_s`), of the extra mask work on a diagonal tile, and of a query tile's
    epilogue; `fill` is what a warp-specialised CTA exposes at its start and end (pipeline fill and drain)."""

    tile: float
    mma: float
    smem: float
    exp: float
    fp32: float
    mask: float
    mask_fp32: float
    fill: float
    epilogue: float
    epilogue_mma: float
    epilogue_exp: float
    epilogue_fp32: float
    emulated_exp_fraction: float


def overlap_of(schedule: str, c: Constants) -> float:
    """The fraction of the shorter of (GEMMs, softmax) a schedule hides under the longer."""
    return {"sync": c.softmax_overlap, "pingpong": c.pingpong_overlap, "fa4": c.fa4_overlap}[schedule]


def sync_hidden(k: KernelConfig, c: Constants) -> float:
    """What the `sync` schedule hides: FA2's loop (flash_fwd_kernel.h, compute_attn_1rowblock; likewise its backward)
    puts `cp_async_wait<0>(); __syncthreads();` before each key tile's Q K^T GEMM and again before its softmax, so
    a CTA's warps run their GEMMs and their softmax in step; only another CTA on the same SM can run one while they
    run the other. With one CTA per SM nothing overlaps."""
    return c.softmax_overlap if k.ctas_per_sm > 1 else 0.0


def operand_smem_s(target: GpuTarget, k: KernelConfig, w: TileWork, dtype: str, d_qk: int, d_v: int) -> float:
    """SM-seconds of one key tile's shared-memory traffic in an mma.sync kernel (0 for the other classes, whose
    wgmma / tcgen05 read their operands from shared memory without the register file).

    FlashAttention-2's forward (csrc/flash_attn/src/kernel_traits.h, flash_fwd_kernel.h): the tiled MMA lays its
    warps along the query rows only (`Layout<Shape<Int<kNWarps>,_1,_1>>`), so every warp reads the whole K tile
    for S = Q K^T and the whole V tile for O += P V from shared memory (`flash::gemm`, `gemm_rs`: ldmatrix into
    registers before each k slice), and its own Q rows again each key tile (`Is_Q_in_regs` is false in every
    forward launch); the K and V tiles arrive in shared memory by cp.async. At the bandwidth of 32 banks x 32 bits
    per clock (`SmResources.smem_bytes_per_clk`) this traffic can outlast the MMAs it feeds (head dim 256: four
    warps each read 64 KB of K and V per 64-key tile). FlashInfer's mma.sync path: the same warp layout
    (ASSUMPTION). No constant."""
    if k.mma_class != "mma_sync":
        return 0.0
    elem = DTYPE_BYTES[dtype]
    qk_passes = w.passes  # a p-pass cascade recomputes Q K^T, re-reading Q and K
    reads = (qk_passes * (k.block_q * d_qk + k.warps * k.block_kv * d_qk) + k.warps * k.block_kv * d_v) * elem
    writes = k.block_kv * (d_qk + d_v) * elem * qk_passes
    return (reads + writes) / (target.sm.smem_bytes_per_clk * target.clock_hz)


def _emulated_fraction(exp_ops: float, fp32_ops: float, exp_rate: float, fp32_rate: float, c: Constants) -> float:
    """Share of the exps FA4 computes on the FMA units: the split at which MUFU and FMA finish together,
    within [0, c.fa4_max_emulated_fraction]."""
    if exp_ops <= 0:
        return 0.0
    sfu_s, fma_s = exp_ops / exp_rate, fp32_ops / fp32_rate
    per_emulated = exp_ops * c.fa4_poly_ops_per_exp / fp32_rate
    f = (sfu_s - fma_s) / (sfu_s + per_emulated)
    return float(min(max(f, 0.0), c.fa4_max_emulated_fraction))


def tile_times(
    target: GpuTarget, k: KernelConfig, w: TileWork, dtype: str, d_qk: int, d_v: int, c: Constants
) -> TileTimes:
    """Costs of one key tile for kernel `k` on `target`. A p-pass cascade recomputes Q K^T p - 1 more times."""
    sms = target.sm_count
    tensor_sm = target.tensor_rate(dtype, k.mma_class) / sms
    exp_sm = target.exp_rate() / sms
    fp32_sm = target.fp32_ops_per_s() / sms
    recompute = (w.passes - 1) * k.block_q * k.block_kv * d_qk
    eff = c.async_tensor_efficiency if k.warp_specialized else c.sync_tensor_efficiency
    mma = 2.0 * (w.mac_per_kv_tile + recompute) / tensor_sm / eff
    exp_ops, fp32_ops = w.exp_per_kv_tile, w.fp32_per_kv_tile
    spec = KERNELS.get(k.name)
    if spec is not None and target.architecture in spec.unfused_exp_scale:  # a separate FMUL per score
        fp32_ops += k.block_q * k.block_kv
    if dtype == "fp8" and k.mma_class == "wgmma":  # wgmma wants V k-major: FP8 kernels transpose each V tile
        fp32_ops += c.fp8_transpose_ops_per_elem * k.block_kv * d_v
    emulated = 0.0
    software_max = 0.0  # FP32 ops a masked tile pays that an unmasked one does not
    cc = target.compute_capability or 0.0
    if spec is not None and spec.hardware_row_max_from is not None and cc >= spec.hardware_row_max_from:
        software_max = k.block_q * k.block_kv  # the row max comes with the S load: masked tiles reduce in software
        fp32_ops = max(fp32_ops - software_max, 0.0)
    if k.schedule == "fa4":
        # Correction warps rescale O (one multiply and one add per output element) off the softmax path.
        fp32_ops = max(fp32_ops - 2.0 * k.block_q * d_v, 0.0)
        emulates = KERNELS[k.name].emulates_exp if k.name in KERNELS else True
        if spec is not None and spec.exp_emulation_until is not None and cc >= spec.exp_emulation_until:
            emulates = False
        emulated = _emulated_fraction(exp_ops, fp32_ops, exp_sm, fp32_sm, c) if emulates else 0.0
        sfu_s = (1.0 - emulated) * exp_ops / exp_sm
        fma_s = (fp32_ops + emulated * exp_ops * c.fa4_poly_ops_per_exp) / fp32_sm
        exp, fp32 = sfu_s, fma_s
        softmax = max(sfu_s, fma_s)
    else:
        exp, fp32 = exp_ops / exp_sm, fp32_ops / fp32_sm
        softmax = exp + fp32
    hidden = sync_hidden(k, c) if k.schedule == "sync" else overlap_of(k.schedule, c)
    smem = operand_smem_s(target, k, w, dtype, d_qk, d_v)
    gemm = max(mma, smem)  # ldmatrix and mma.sync issue side by side: the slower of the two sets the GEMM time

    def combine(soft: float) -> float:
        return max(gemm, soft) + (1.0 - hidden) * min(gemm, soft)

    tile = combine(softmax)
    mask_fp32 = (k.block_q * k.block_kv + software_max) / fp32_sm
    # Masked tiles (the causal diagonal, a ragged last key tile) are the first ones each CTA runs: FA2 and FA3 walk
    # the keys from the last block down, FA2 in a separate `n_masking_steps` loop before the main one
    # (flash_fwd_kernel.h), FA3 in the peeled first iteration. ASSUMPTION: nothing overlaps there, so such a tile
    # costs its GEMMs, softmax and mask in series.
    mask = gemm + softmax + mask_fp32 - tile
    fill = c.async_pipeline_fill * min(mma, softmax) if k.warp_specialized else 0.0
    ep_exp = w.exp_per_q_tile / exp_sm
    ep_fp32 = w.fp32_per_q_tile / fp32_sm
    ep_mma = 2.0 * w.mac_per_q_tile / tensor_sm / eff  # per-query projections (MLA absorption), if any
    return TileTimes(
        tile=tile,
        mma=mma,
        smem=smem,
        exp=exp,
        fp32=fp32,
        mask=mask,
        mask_fp32=mask_fp32,
        fill=fill,
        epilogue=ep_exp + ep_fp32 + ep_mma,
        epilogue_mma=ep_mma,
        epilogue_exp=ep_exp,
        epilogue_fp32=ep_fp32,
        emulated_exp_fraction=emulated,
    )
