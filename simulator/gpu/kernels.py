"""The tile shape, warps and occupancy of the kernel a GPU runs (which kernel: `simulator.gpu.catalog`).

The tile tables follow the public kernels' launch code:
- FlashAttention-2 (Dao 2023; flash-attention `csrc/flash_attn/src/flash_fwd_launch_template.h`, sm80):
  head dim <= 64: 128 x 128 tiles, 4 warps; <= 128: 128 x 64, 4 warps (sm86/sm89: 128 x 32 non-causal,
  64 x 64 causal); <= 256: 128 x 64, 8 warps where an SM has under 192 KB of shared memory (A100), else (H100,
  two CTAs per SM) and below 128 KB per block (Ada) 64 x 64, 4 warps.
- FlashAttention-3 (Shah et al. 2024; flash-attention `hopper/flash_fwd_launch_template.h`), also FlashInfer on
  Hopper: one producer warp group plus 2 consumer warp groups (3 for 192-row tiles); head dim 64:
  192 x 128; 96: 128 x 160 (128 when causal); 128: 128 x 176 (128 when causal); 192: 128 x 96; 256: 128 x 80.
- cuDNN on Hopper: its open sm90 SDPA forward (cudnn-frontend v1.19), 128 x 128 at head dims 64 and 128 with
  either mask; FA3's table beyond.
- Blackwell (CUTLASS example 77_blackwell_fmha; FlashAttention-4 `flash_attn/cute/flash_fwd_sm100.py`; cuDNN and
  FlashInfer on Blackwell): two 128-row query tiles per CTA (256 x 128) whose S and O fp32 accumulators live in
  tensor memory, which bounds the tile for larger head dims.
- FlashMLA (deepseek-ai/FlashMLA deep dive): 64 query rows (heads) x 64 keys, two warpgroups ("seesaw").
Head dims beyond a kernel's table use 64 x 64 tiles (an extrapolation, flagged in `KernelConfig.note`).
"""

from __future__ import annotations

from dataclasses import dataclass

from hw.gpu import DTYPE_BYTES, GpuTarget
from simulator.errors import SimulatorError
from simulator.gpu.catalog import FAMILY_BY_ARCH, resolve_kernel

__all__ = ["FAMILY_BY_ARCH", "KernelConfig", "choose_kernel"]


@dataclass(frozen=True)
class KernelConfig:
    """One kernel instance: tiles (queries x keys), threads, pipelining stages and resulting CTAs per SM, the MMA
    instruction class it issues and its schedule (`sync`, `pingpong`, `fa4`)."""

    family: str
    block_q: int
    block_kv: int
    warps: int
    kv_stages: int
    ctas_per_sm: int
    smem_bytes_per_cta: int
    warp_specialized: bool
    note: str = ""
    name: str = ""
    mma_class: str = ""
    schedule: str = ""


#: FA2's head-dim-256 launch test (flash_fwd_launch_template.h, run_mha_fwd_hdim256, the same from the FA3 release
#: 7f67966c on): 128 x 64 with 8 warps only when `max_smem_per_block >= 2 * 256 * (128 + 2 * 64)` (128 KB) and
#: `max_smem_per_sm < 4 * 256 * (64 + 2 * 64)` (192 KB) - "For A100, we want to run with 128 x 64 (128KB smem). For
#: H100 we want to run with 64 x 64 (96KB smem) since then we can get 2 CTAs per SM." - else 64 x 64, 4 warps.
FA2_HDIM256_LARGE_BLOCK_BYTES = 2 * 256 * (128 + 2 * 64)
FA2_HDIM256_SMALL_SM_BYTES = 4 * 256 * (64 + 2 * 64)
#: CUDA reserves 1 KB of an SM's shared memory per block (cudaDevAttrMaxSharedMemoryPerBlockOptin is 1 KB less).
SMEM_RESERVED_PER_BLOCK_BYTES = 1024


def _fa2_tiles(d: int, causal: bool = False, sm8x: bool = False,
               smem_per_sm: int = 164 * 1024) -> tuple[int, int, int, str]:
    """FA2's sm80 launch table; `sm8x` (sm86/sm89, `is_sm8x` in the launch code: cc 8.x with minor > 0) uses, at
    head dim 128, 128 x 32 non-causal ("48 KB smem ... 2 CTAs per SM") and 64 x 64 causal tiles; at head dim 256
    the shared memory per SM picks the tile (`FA2_HDIM256_LARGE_BLOCK_BYTES`)."""
    if d <= 64:
        return 128, 128, 4, ""
    if d <= 128:
        if sm8x:
            return (64, 64, 4, "") if causal else (128, 32, 4, "")
        return 128, 64, 4, ""
    if d <= 256:
        per_block = smem_per_sm - SMEM_RESERVED_PER_BLOCK_BYTES
        if per_block >= FA2_HDIM256_LARGE_BLOCK_BYTES and smem_per_sm < FA2_HDIM256_SMALL_SM_BYTES:
            return 128, 64, 8, ""
        return 64, 64, 4, ""
    return 64, 64, 4, "head dim > 256 is outside FlashAttention-2's table; 64x64 tiles assumed"


def _fa3_tiles(d: int, causal: bool) -> tuple[int, int, int, str]:
    if d <= 64:
        return 192, 128, 16, ""
    if d <= 96:
        return 128, 128 if causal else 160, 12, ""
    if d <= 128:
        return 128, 128 if causal else 176, 12, ""
    if d <= 192:
        return 128, 96, 12, ""
    if d <= 256:
        return 128, 80, 12, ""
    return 64, 64, 8, "head dim > 256 is outside FlashAttention-3's table; 64x64 tiles assumed (FlashMLA-like)"


def _cudnn_sm90_tiles(d: int, causal: bool) -> tuple[int, int, int, str]:
    """cuDNN's Hopper SDPA forward as cudnn-frontend open-sourced it (v1.19, include/cudnn_frontend/experimental/
    sm90_sdpa_prefill_engine.h: kernels `..._flash_fprop_wgmma_f16_knob_7_64x128x128_4x1x1` and `..._64x128x64_...`,
    384 threads, a CTA tile of TILE_M * 2 = 128 query rows): 128 x 128 at head dims 64 and 128, either mask.
    ASSUMPTION: the closed kernels the FA3 paper measured (2024) had this structure; beyond head dim 128 (no open
    kernel) FA3's tiles."""
    if d <= 128:
        return 128, 128, 12, ""
    return _fa3_tiles(d, causal)


def _fmha_tiles(d_v: int, tmem_bytes: int) -> tuple[int, int, int, str]:
    """256 x 128 tiles whose S (block_q x block_kv) and O (block_q x d_v) fp32 accumulators live in tensor memory;
    shrink the key tile, then the query tile, until both fit (at d_v = 128 they fill the 256 KB exactly)."""
    bq, bkv = 256, 128
    while bq * (bkv + d_v) * 4 > tmem_bytes and (bkv > 64 or bq > 64):
        if bkv > 64:
            bkv //= 2
        else:
            bq //= 2
    note = "" if (bq, bkv) == (256, 128) else f"S and O accumulators must fit tensor memory: {bq}x{bkv} tiles"
    return bq, bkv, 16, note


def _mla_tiles(d: int) -> tuple[int, int, int, str]:
    note = "" if d == 576 else "FlashMLA runs latent 512 + RoPE 64; 64x64 tiles assumed"
    return 64, 64, 8, note


#: Smallest query tile of each MMA class (mma.sync m16; wgmma / tcgen05 M = 64).
MIN_BLOCK_Q = {"mma_sync": 16, "wgmma": 64, "tcgen05": 64}


def choose_kernel(target: GpuTarget, d_qk: int, d_v: int, causal: bool, dtype: str,
                  max_rows: int | None = None, family: str | None = None) -> KernelConfig:
    """The kernel the model assumes for this GPU, head dims, mask and dtype, with its occupancy.

    `family` is a `--kernel` name or family (default: the architecture's preferred kernel for this shape).
    When no shape has more than `max_rows` query rows per tile (decode), the query tile shrinks to the next power
    of two at or above it, down to the MMA's smallest M, as decode kernels (flash-decoding, FlashMLA) do.
    """
    spec, extrapolated = resolve_kernel(target.architecture, target.name, dtype, d_qk, d_v, family)
    mma_class, schedule = spec.runs_on[target.architecture]
    if mma_class not in target.mma_classes():
        raise SimulatorError(f"--kernel {spec.name}: {target.name} has no {mma_class} rate (tensor_class_fraction "
                             f"gives {', '.join(target.mma_classes())}); add one to the profile", source="--kernel")
    d = max(d_qk, d_v)
    if spec.name == "fa2" or (spec.name == "flashinfer" and schedule == "sync"):
        bq, bkv, warps, note = _fa2_tiles(d, causal, sm8x=target.architecture == "ada",
                                            smem_per_sm=target.sm.smem_bytes)
        stages, regs_per_thread = 1, 255
    elif spec.name == "flashmla":
        bq, bkv, warps, note = _mla_tiles(d_qk)
        stages, regs_per_thread = 2, 168
    elif mma_class == "wgmma":
        bq, bkv, warps, note = _cudnn_sm90_tiles(d, causal) if spec.name == "cudnn" else _fa3_tiles(d, causal)
        stages, regs_per_thread = 2, 168  # setmaxnreg: 240 consumers / 24-32 producer, about 168 on average
    else:
        bq, bkv, warps, note = _fmha_tiles(d_v, target.sm.tensor_memory_bytes or 256 * 1024)
        stages, regs_per_thread = 2, 128
    if extrapolated and not note:
        note = f"head dims {d_qk}/{d_v} are outside {spec.family}'s table; its tiles extrapolated"
    if max_rows is not None and max_rows < bq:
        small = max(MIN_BLOCK_Q[mma_class], 1 << max(int(max_rows) - 1, 0).bit_length())
        if small < bq:
            bq, note = small, (note + "; " if note else "") + f"decode tile: {small} query rows"
    elem = DTYPE_BYTES[dtype]
    smem = int(elem * (bq * d_qk + stages * bkv * (d_qk + d_v)))
    if smem > target.sm.smem_bytes and stages > 1:  # drop the K/V double buffer before giving up
        stages = 1
        smem = int(elem * (bq * d_qk + bkv * (d_qk + d_v)))
        note = (note + "; " if note else "") + "single-buffered K/V to fit shared memory"
    regs = warps * 32 * (regs_per_thread + 1)
    by_smem = target.sm.smem_bytes // max(smem, 1)
    by_regs = target.sm.register_bytes // (4 * regs)
    by_warps = target.sm.max_warps // warps
    if by_smem == 0:
        raise SimulatorError(f"head dims {d_qk}/{d_v}: the smallest {spec.family} tile ({bq} x {bkv}) needs {smem} B "
                             f"of shared memory per CTA but {target.name} has {target.sm.smem_bytes} B per SM; no "
                             "fused kernel runs this shape (use a smaller --head-dim)", source="--head-dim")
    ctas = int(max(1, min(by_smem, by_regs, by_warps)))
    return KernelConfig(spec.family, bq, bkv, warps, stages, ctas, smem, schedule != "sync", note,
                        name=spec.name, mma_class=mma_class, schedule=schedule)
