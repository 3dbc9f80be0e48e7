"""The backward pass of fused attention (`--pass bwd`): FlashAttention-2/-3's key-tile-major backward kernel.

Structure (Dao 2023, arXiv 2307.08691, Sec. 3.1.2 and Alg. 2; Shah et al. 2024, arXiv 2407.08608, Sec. 3 and
App. B): a preprocessing kernel computes D = rowsum(dO * O) and zeroes an fp32 dQ accumulator; the main kernel runs
one CTA per (batch, head, key tile), holds K, V and the fp32 dK, dV accumulators on chip and walks the query tiles,
each step recomputing S = Q K^T and P = exp(S - LSE) (no attention matrix is stored), then dV += P^T dO,
dP = dO V^T, dS = P * (dP - D), dK += dS^T Q and dQ += dS K, the last added into the fp32 accumulator in global
memory with atomics (FA2: atomicAdd by the compute warps; FA3 and the Blackwell kernels: a dedicated warp issues
TMA reduce-adds off the critical path); a postprocessing kernel converts dQ to 16 bits. Five GEMMs per key tile
against the forward's two: FLOPs by the FlashAttention convention are 2.5x the forward's (`bwd_flops`).

Per key tile the GEMMs run at the kernel's MMA-class rate times the forward's sustained efficiency times
`bwd_mma_efficiency` (the one backward constant, fitted on its own data, `simulator/gpu/data/backward_fit.yaml`);
the elementwise work overlaps with the GEMMs as FA2's warps do (the `sync` schedule) in FA2's backward, and only
the exp under the dP GEMM in the warp-specialised ones (FA3's `bwd_step`; `backward_times`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw.gpu import DTYPE_BYTES, GpuTarget
from simulator.errors import SimulatorError
from simulator.gpu.blockmask import GpuBlockMask
from simulator.gpu.catalog import KERNELS
from simulator.gpu.constants import FITTED, Constants
from simulator.gpu.kernels import SMEM_RESERVED_PER_BLOCK_BYTES, KernelConfig, choose_kernel
from simulator.gpu.model import Shapes, _bound, _causal_tiles, fa_flops
from simulator.gpu.pipeline import sync_hidden
from simulator.gpu.prediction import Grid, Phases, Prediction, UnitUse
from simulator.gpu.varlen import summed, totals
from simulator.gpu.window import window_tile_counts
from simulator.gpu.work import TileWork

#: Values of `--pass`.
PASSES = ("fwd", "bwd", "fwd+bwd")

#: Kernels with a backward kernel (FlashInfer and FlashMLA are inference libraries: forward only).
BACKWARD_KERNELS = ("fa2", "fa3", "fa4", "cudnn", "cutlass")

#: FP32-pipe instructions per score in the backward's elementwise work, counted from FA3's sm90 `bwd_step`
#: (hopper/mainloop_bwd_sm90_tma_gmma_ws.hpp): one FFMA for exp2(S * scale - LSE), an FADD and an FMUL for
#: dS = P (dP - D), and two packed 16-bit conversions (P and dS, half an instruction per score each).
BWD_FP32_OPS_PER_SCORE = 4.0


def bwd_flops(shapes: Shapes, d_qk: int, d_v: int, causal: bool, window: int | None = None) -> np.ndarray:
    """Backward FLOPs, FlashAttention convention: five GEMMs per visible score, 2*(3*Dqk + 2*Dv) FLOPs each
    (2.5x the forward's 2*(Dqk + Dv) when Dqk = Dv), halved (exactly counted) when causal like `fa_flops`."""
    fwd = fa_flops(shapes, d_qk, d_v, causal, window)
    return fwd * (3.0 * d_qk + 2.0 * d_v) / (d_qk + d_v)


def check_backward(kernel: str, pass_: str) -> None:
    """Refuse an unknown `--pass` or a forward-only kernel, in one line naming the valid choices."""
    if pass_ not in PASSES:
        raise SimulatorError(f"--pass {pass_!r}: choose one of {', '.join(PASSES)}", source="--pass")
    if pass_ != "fwd" and kernel not in BACKWARD_KERNELS:
        raise SimulatorError(
            f"--pass {pass_}: --kernel {kernel} has no backward kernel; choose --kernel one of "
            f"{', '.join(BACKWARD_KERNELS)}",
            source="--pass",
        )


#: FA2's backward launch code picks its large tiles only where a block may opt in to this much shared memory
#: (`max_smem_per_block >= 144 * 1024`: A100, H100); sm86/sm89/sm120 (about 100 KB) get the small ones.
FA2_LARGE_TILE_SMEM_BYTES = 144 * 1024
#: run_mha_bwd_hdim256 double-buffers Q only with `max_smem_per_block >= 176 * 1024` ("H100"); the A100 branch and
#: the small-memory one set No_double_buffer.
FA2_HDIM256_DOUBLE_BUFFER_BYTES = 176 * 1024


def _bwd_tiles(mma_class: str, d: int, causal: bool, smem_bytes: int = 1 << 30) -> tuple[int, int, int, str]:
    """(query tile, key tile, warps, note) of the backward kernel.

    FA2 on GPUs with less than 144 KB of shared memory per block (Ada, RTX Blackwell; same launch code): head dim
    64: 64 x 128, 8 warps; 128: 64 x 64, 8 warps; 256: 64 x 32, 8 warps (all with V in registers).

    FA2 sm80 (flash-attention csrc/flash_attn/src/flash_bwd_launch_template.h, run_mha_bwd_hdim64/128): head dim
    64: 128 x 128, 8 warps; 128: 64 x 128, 8 warps; 256 (run_mha_bwd_hdim256): 64 x 64, 8 warps. FA3 sm90
    (hopper/flash_bwd_launch_template.h, run_mha_bwd_hdim96/128): 96: 64 x 128; 128: 80 x 128 non-causal, 64 x 128
    causal; 2 MMA warpgroups + producer. run_mha_bwd_hdim64: 128 x 128, 2 MMA warpgroups. Blackwell (the CUTLASS
    sm100 FMHA backward, FlashMLA csrc/sm100/prefill/dense/fmha_cutlass_bwd_sm100.cu: TileShape 128 x 128 x 128 x
    128): 128 x 128 at head dim 128. Others ASSUMPTION: FA3 192/256: 64 x 96 / 64 x 64; Blackwell at other head
    dims 128 x 128.
    """
    if mma_class == "mma_sync" and smem_bytes < FA2_LARGE_TILE_SMEM_BYTES:
        return (64, 128, 8, "") if d <= 64 else (64, 64, 8, "") if d <= 128 else (64, 32, 8, "")
    if mma_class == "mma_sync":
        if d <= 64:
            return 128, 128, 8, ""
        if d <= 128:
            return 64, 128, 8, ""
        return 64, 64, 8, ""
    if mma_class == "wgmma":
        if d <= 64:
            return 128, 128, 12, ""
        if d <= 96:
            return 64, 128, 12, ""
        if d <= 128:
            return (64 if causal else 80), 128, 12, ""
        return 64, (96 if d <= 192 else 64), 12, "ASSUMPTION: backward tiles"
    return 128, 128, 16, ("" if d == 128 else "ASSUMPTION: the 128x128 backward tiles at another head dim (Blackwell)")


@dataclass(frozen=True)
class BackwardTimes:
    """SM-seconds of one (query tile, key tile) step of the backward kernel and its parts."""

    tile: float
    mma: float
    exp: float
    fp32: float
    mask: float
    fill: float


def _fa2_bwd_smem_bytes(target: GpuTarget, bq: int, bkv: int, d_qk: int, d_v: int, elem: float) -> int:
    """FA2's Flash_bwd_kernel_traits::kSmemSize1colblock (csrc/flash_attn/src/kernel_traits.h): Q and dO in three
    tile buffers (two with No_double_buffer: head dim 256 below 176 KB per block), K and V, dS and P; with V in
    registers (every small-memory configuration) max(K + V, (K + V) / 2 + dS + P)."""
    per_block = target.sm.smem_bytes - SMEM_RESERVED_PER_BLOCK_BYTES
    d = max(d_qk, d_v)
    no_double_buffer = d > 128 and per_block < FA2_HDIM256_DOUBLE_BUFFER_BYTES
    v_in_regs = target.sm.smem_bytes < FA2_LARGE_TILE_SMEM_BYTES
    q_do = bq * (d_qk + d_v) + (0 if no_double_buffer else bq * d_qk)
    kv, p_ds = bkv * (d_qk + d_v), 2 * bq * bkv
    rest = max(kv, kv // 2 + p_ds) if v_in_regs else kv + p_ds
    return int(elem * (q_do + rest))


def backward_kernel(
    target: GpuTarget, d_qk: int, d_v: int, causal: bool, dtype: str, family: str | None
) -> KernelConfig:
    """The backward kernel of the forward kernel `family` runs: its tiles and occupancy (dK, dV in registers)."""
    fwd = choose_kernel(target, d_qk, d_v, causal, dtype, family=family)
    check_backward(fwd.name, "bwd")
    bq, bkv, warps, note = _bwd_tiles(fwd.mma_class, max(d_qk, d_v), causal, target.sm.smem_bytes)
    if fwd.mma_class == "tcgen05" and (d_qk, d_v) == (192, 128):
        # FlashMLA csrc/sm100/prefill/dense/fmha_cutlass_bwd_sm100.cu: head dims 192/128 run the MLA backward
        # kernel with TileShape Shape<_64, _128, _192, _128> (TileShapeQ 64, TileShapeK 128)
        bq, bkv, note = 64, 128, ""
    elem = DTYPE_BYTES[dtype]
    # Q and dO double-buffered, K and V resident, P and dS staged for the transposed GEMMs.
    smem = int(elem * (2 * bq * (d_qk + d_v) + bkv * (d_qk + d_v) + 2 * bq * bkv))
    if fwd.mma_class == "mma_sync":
        smem = _fa2_bwd_smem_bytes(target, bq, bkv, d_qk, d_v, elem)
    if fwd.mma_class == "tcgen05":
        # The CUTLASS sm100 FMHA backward (FlashMLA csrc/sm100/prefill/dense/kernel/
        # sm100_fmha_bwd_kernel_tma_warpspecialized.hpp, SharedStorage): Q in 2 stages, dO in 1, K and V, dS in 1
        # (S/P and dP stay in tensor memory), and an fp32 dQ staging buffer of 2 x block_q x 32 for its TMA
        # reduce-add.
        smem = int(elem * (2 * bq * d_qk + bq * d_v + bkv * (d_qk + d_v) + bq * bkv) + 4 * 2 * bq * 32)
    if smem > target.sm.smem_bytes:
        raise SimulatorError(
            f"--pass bwd: the {fwd.family} backward tile ({bq} x {bkv}) needs {smem} B of shared "
            f"memory but {target.name} has {target.sm.smem_bytes} B per SM; use a smaller "
            "--head-dim",
            source="--head-dim",
        )
    ctas = int(
        max(
            1,
            min(
                target.sm.smem_bytes // smem,
                target.sm.max_warps // warps,
                target.sm.register_bytes // (4 * warps * 32 * 256),
            ),
        )
    )
    return KernelConfig(
        fwd.family,
        bq,
        bkv,
        warps,
        2,
        ctas,
        smem,
        fwd.warp_specialized,
        note,
        name=fwd.name,
        mma_class=fwd.mma_class,
        schedule=fwd.schedule,
    )


def backward_times(target: GpuTarget, k: KernelConfig, dtype: str, d_qk: int, d_v: int, c: Constants) -> BackwardTimes:
    """Costs of one backward step: five GEMMs, one exp per score, the elementwise work, and FA2's dQ atomics."""
    sms = target.sm_count
    tensor_sm = target.tensor_rate(dtype, k.mma_class) / sms
    eff = (c.async_tensor_efficiency if k.warp_specialized else c.sync_tensor_efficiency) * c.bwd_mma_efficiency
    scores = k.block_q * k.block_kv
    mma = 2.0 * scores * (3 * d_qk + 2 * d_v) / tensor_sm / eff
    exp = scores / (target.exp_rate() / sms)
    fp32_sm = target.fp32_ops_per_s() / sms
    # FA2's compute warps issue the dQ atomicAdds (one per element); warp-specialised kernels hand them to a warp.
    atomics = 0.0 if k.warp_specialized else k.block_q * d_qk
    # wgmma takes 8-bit operands from shared memory K-major only (FlashAttention-3 Sec. 3.3; PTX ISA: the transpose
    # flags of wgmma.mma_async are for .f16/.bf16), and three of the five GEMMs reduce over tokens: dV = P^T dO and
    # dK = dS^T Q read dO and Q, stored head-dim-major, as MN-major B operands, so an FP8 kernel transposes each
    # step's Q and dO tiles (K once per CTA, left out), at the forward's V-transpose cost (an assumed constant).
    transpose = (
        c.fp8_transpose_ops_per_elem * k.block_q * (d_qk + d_v) if dtype == "fp8" and k.mma_class == "wgmma" else 0.0
    )
    fp32 = (BWD_FP32_OPS_PER_SCORE * scores + atomics + transpose) / fp32_sm
    mask_fp32 = scores / fp32_sm
    if k.warp_specialized:
        # FA3's sm90 backward step (hopper/mainloop_bwd_sm90_tma_gmma_ws.hpp, `bwd_step`): the S and dP GEMMs are
        # issued back to back, P = exp2(S * scale - LSE) is computed while the dP GEMM runs (`warpgroup_wait<1>`),
        # then, after `warpgroup_wait<0>`, dS = P (dP - D), the 16-bit conversions of P and dS and the dS store run
        # with the tensor cores idle, and both MMA warpgroups meet at named barriers (`NumMmaThreads`) before the
        # dV, dQ and dK GEMMs: no ping-pong between warpgroups. So only the exp and its one FFMA hide, under the dP
        # GEMM (d_v / (3 d_qk + 2 d_v) of the step's MMA time); the other elementwise ops run in series. cuDNN and
        # the Blackwell kernels: ASSUMPTION, the same structure.
        dp_mma = mma * d_v / (3.0 * d_qk + 2.0 * d_v)
        under_dp = exp + scores / fp32_sm
        serial = fp32 - scores / fp32_sm

        def combine(extra: float) -> float:
            return mma + max(under_dp - dp_mma, 0.0) + serial + extra
    else:
        # FA2's backward warps issue mma.sync and the elementwise work themselves and sync between the phases: they
        # overlap only across CTAs, as its forward does (`pipeline.sync_hidden`; none at one CTA per SM).
        hidden = sync_hidden(k, c)

        def combine(extra: float) -> float:
            soft = exp + fp32 + extra
            return max(mma, soft) + (1.0 - hidden) * min(mma, soft)

    tile = combine(0.0)
    mask = combine(mask_fp32) - tile
    fill = c.async_pipeline_fill * min(mma, exp + fp32) if k.warp_specialized else 0.0
    return BackwardTimes(tile=tile, mma=mma, exp=exp, fp32=fp32, mask=mask, fill=fill)


def predict_backward(
    target: GpuTarget,
    shapes: Shapes,
    *,
    d_qk: int,
    d_v: int,
    causal: bool,
    dtype: str,
    constants: Constants = FITTED,
    family: str | None = None,
    work: TileWork | None = None,
    kv_elems_per_key: int | None = None,
    window: int | None = None,
    block_mask: GpuBlockMask | None = None,
    one_launch: bool = False,
) -> Prediction:
    """Latency and throughput of the backward pass (preprocess + main + postprocess kernels) for every shape;
    `window`: a causal sliding window, its (query tile, key tile) pairs counted as in the forward.

    `one_launch`: the shapes are the sequences of one varlen launch of each kernel (as in `model.predict`): one
    entry out, SM-seconds, CTAs (one per sequence, head and key tile) and bytes summed, waves on the total, three
    launch latencies; the L2 rule for the re-read of Q, dO, LSE and D is kept per sequence (the CTAs in flight
    capped by the launch's heads). No dispatch tail is modelled for the backward, varlen or not."""
    if one_launch and block_mask is not None:
        raise ValueError("one_launch: a block mask is not costed over the sequences of a varlen launch")
    launch = totals(one_launch)
    causal = causal or window is not None
    k = backward_kernel(target, d_qk, d_v, causal, dtype, family)
    c = constants
    t = backward_times(target, k, dtype, d_qk, d_v, c)
    sms = float(target.sm_count)
    slots = sms * k.ctas_per_sm
    rows, skv = shapes.seq_q, shapes.seq_kv
    units = shapes.batch * shapes.heads
    group = shapes.heads // shapes.kv_heads
    pairs, partial, nq = _causal_tiles(rows, skv, k.block_q, k.block_kv, causal, skv - rows)
    if window is not None:
        pairs, partial, nq = window_tile_counts(rows, k.block_q, k.block_kv, window)
    if block_mask is not None:  # the same (query tile, key tile) pairs, walked key-tile-major
        b_pairs, b_partial, _ = block_mask.tile_counts(k.block_q, k.block_kv)
        pairs, partial = np.full(rows.shape, b_pairs), np.full(rows.shape, b_partial)
    nkv = -(-skv // k.block_kv)
    ctas = units * nkv
    elem = DTYPE_BYTES[dtype]
    bw = target.hbm.bw_bytes_per_s
    # Each CTA loads K, V and stores dK, dV: exposed as FA2's forward edges are, or as a pipeline fill.
    edge_bytes = 2.0 * k.block_kv * (d_qk + d_v) * elem
    per_cta = t.fill if k.warp_specialized else c.edge_overhead * edge_bytes / (bw / sms) / k.ctas_per_sm
    sm_total = units * (pairs * t.tile + partial * t.mask) + ctas * per_cta
    waves = np.ceil(launch(ctas) / slots)
    quantisation = waves / (launch(ctas) / slots)
    compute_s = launch(sm_total) / sms * quantisation

    # Main kernel HBM: K, V read (per KV head), dK, dV written (fp32 per query head under GQA, then summed);
    # Q, dO, LSE, D re-read by every key-tile CTA of a head unless the L2 holds what concurrent CTAs share.
    per_key = kv_elems_per_key or d_qk + d_v
    kv_bytes = shapes.batch * shapes.kv_heads * skv * per_key * elem
    dkv_bytes = np.where(group > 1, units * skv * (d_qk + d_v) * (4.0 + elem), kv_bytes)
    q_side = units * rows * ((d_qk + d_v) * elem + 8.0)
    concurrent = np.clip(slots / np.maximum(nkv, 1), 1, launch(units))
    miss = np.clip(1.0 - target.l2_bytes / (concurrent * rows * ((d_qk + d_v) * elem + 8.0)), 0.0, 1.0)
    reload = 1.0 + (nkv - 1) * miss
    dq_accum = units * rows * d_qk * 4.0 * 2.0  # the fp32 accumulator leaves L2 once (written, read back)
    main_bytes = launch(kv_bytes + dkv_bytes + q_side * reload + dq_accum)
    memory_s = main_bytes / (bw * c.hbm_efficiency)
    # Preprocess reads O and dO, writes D and zeroes dQaccum; postprocess reads dQaccum, writes dQ.
    side_bytes = launch(units * rows * (2.0 * d_v * elem + 4.0 + d_qk * 4.0) + units * rows * d_qk * (4.0 + elem))
    side_s = side_bytes / (bw * c.hbm_efficiency) + 2.0 * c.launch_latency_s
    launch_s = c.launch_latency_s + 2.0 * c.launch_latency_s * np.ones_like(compute_s)
    latency_s = c.launch_latency_s + np.maximum(compute_s, memory_s) + side_s

    if one_launch:  # the launch's reload of the query side: its sequences' reloads weighted by their bytes
        reload = summed(q_side * reload) / summed(q_side)
    unit_pairs, unit_partial = launch(units * pairs), launch(units * partial)
    tensor_busy = unit_pairs * t.mma / sms * quantisation
    exp_busy = unit_pairs * t.exp / sms * quantisation
    fp32_busy = (
        launch(units * (pairs * t.fp32 + partial * k.block_q * k.block_kv / (target.fp32_ops_per_s() / sms)))
        / sms
        * quantisation
    )
    ctas = launch(ctas)
    edges = ctas * per_cta / sms
    bound = _bound(tensor_busy, exp_busy, fp32_busy, memory_s + side_s, launch_s + edges * quantisation, compute_s)
    flops = launch(bwd_flops(shapes, d_qk, d_v, causal, window))
    if block_mask is not None:
        flops = 2.0 * block_mask.scores_per_head() * (3.0 * d_qk + 2.0 * d_v) * shapes.heads * shapes.batch
    scores = unit_pairs * k.block_q * k.block_kv
    executed = 2.0 * scores * (3 * d_qk + 2 * d_v)
    hbm_bytes = main_bytes + side_bytes
    return Prediction(
        latency_s=latency_s,
        tflops=flops / latency_s / 1e12,
        flops=flops,
        bound=bound,
        hbm_bytes=hbm_bytes,
        utilization=UnitUse(
            tensor=executed / (target.tensor_rate(dtype, k.mma_class) * latency_s),
            exp=scores / (target.exp_rate() * latency_s),
            fp32=scores * BWD_FP32_OPS_PER_SCORE / (target.fp32_ops_per_s() * latency_s),
            hbm=hbm_bytes / (bw * latency_s),
        ),
        phases_s=Phases(
            compute=compute_s,
            memory=memory_s + side_s,
            launch=launch_s,
            tensor=tensor_busy,
            exp=exp_busy,
            fp32=fp32_busy,
            edges=edges,
        ),
        grid=Grid(
            ctas=ctas,
            waves=waves,
            splits=np.ones_like(ctas),
            kv_tiles=unit_pairs,
            masked_tiles=unit_partial,
            kv_reload=reload,
        ),
        kernel=k,
        work=work if work is not None else _no_work(),
        emulated_exp_fraction=0.0,
    )


def _no_work() -> TileWork:
    return TileWork(
        "attention-backward",
        "simulator.gpu.backward (FlashAttention backward, 5 GEMMs)",
        1,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
    )


__all__ = ["BACKWARD_KERNELS", "KERNELS", "PASSES", "bwd_flops", "check_backward", "predict_backward"]
