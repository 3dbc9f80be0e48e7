"""Vectorised fused-attention kernel model: one numpy pass costs many shapes on one GPU.

A kernel runs one CTA per (batch, head or KV-head group, query tile[, KV split]). Each CTA walks its key tiles;
each key tile costs tensor-core time at the kernel's MMA-class rate for Q K^T and P V, special-function time for
exp and FP32 time for the rest of the softmax (counts from the cascade, `work.tile_work`), overlapped as the
kernel's schedule allows (`pipeline.tile_times`). Causal masks skip tiles above the diagonal and pay a mask on the
diagonal ones. CTAs fill SMs in waves (occupancy x SMs slots; wave quantisation), each CTA pays an exposed
prologue/epilogue (synchronous kernels) or pipeline fill (warp-specialised ones), and the whole kernel cannot beat
its HBM traffic (Q, O, and K/V re-read from HBM only when the L2 cannot hold what concurrent CTAs share).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from hw.gpu import DTYPE_BYTES, GpuTarget
from simulator.gpu.blockmask import GpuBlockMask
from simulator.gpu.catalog import KERNELS, dispatches_in_order
from simulator.gpu.constants import FITTED, Constants
from simulator.gpu.kernels import KernelConfig, choose_kernel
from simulator.gpu.pipeline import TileTimes, tile_times
from simulator.gpu.prediction import Grid, Phases, Prediction, UnitUse
from simulator.gpu.varlen import SEQUENCE_MAJOR, launch_makespan, launch_splits, summed, totals
from simulator.gpu.window import window_scores, window_tile_counts, window_tile_matrix
from simulator.gpu.work import TileWork, tile_work

#: Largest number of KV splits a split-KV (flash-decoding) launch uses, as FlashAttention-2's heuristic caps it.
MAX_SPLITS = 128

#: Values of `bound`.
BOUNDS = ("tensor", "exp", "fp32", "memory", "latency")


@dataclass(frozen=True)
class Shapes:
    """Integer arrays (broadcastable, same length) of attention problem sizes."""

    batch: np.ndarray
    heads: np.ndarray
    kv_heads: np.ndarray
    seq_q: np.ndarray
    seq_kv: np.ndarray

    @staticmethod
    def of(batch, heads, kv_heads, seq_q, seq_kv) -> Shapes:  # noqa: ANN001 - ints or arrays
        arrs = np.broadcast_arrays(
            *(np.atleast_1d(np.asarray(x, dtype=np.int64)) for x in (batch, heads, kv_heads, seq_q, seq_kv))
        )
        return Shapes(*arrs)


def fa_flops(shapes: Shapes, d_qk: int, d_v: int, causal: bool, window: int | None = None) -> np.ndarray:
    """FlashAttention's forward FLOP convention: 2*S*S2*(D+Dv)*H*B (4*S^2*D*H*B when D = Dv), halved if causal.

    Causal with S != S2 (bottom-right aligned, e.g. decode or chunked prefill) counts the visible scores exactly,
    S*S2 - S*(S-1)/2 for S <= S2, since "half" would be wrong there (a decoding query sees every key). A sliding
    `window` shorter than the sequence counts its visible scores exactly (`window.window_scores`).
    """
    s, s2 = shapes.seq_q.astype(float), shapes.seq_kv.astype(float)
    scores = s * s2
    if window is not None:
        scores = window_scores(shapes.seq_q, s2, window)
    elif causal:
        exact = np.where(s <= s2, s * s2 - s * (s - 1) / 2, s2 * (s2 + 1) / 2)
        scores = np.where(s == s2, s * s2 / 2, exact)
    return 2.0 * scores * (d_qk + d_v) * shapes.heads * shapes.batch


def _causal_tiles(
    rows: np.ndarray, seq_kv: np.ndarray, bq: int, bkv: int, causal: bool, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(visited key tiles summed over query tiles, of which partially masked, query tiles) per shape.

    Causal alignment is bottom-right (FlashAttention >= 2.1): query row r sees keys <= r + seq_kv - rows.
    """
    nq = -(-rows // bq)
    nkv = -(-seq_kv // bkv)
    if not causal:
        ragged = (seq_kv % bkv != 0).astype(np.int64)
        return nq * nkv, nq * ragged, nq
    touched, partial = causal_tile_matrix(rows, seq_kv, bq, bkv, offset)
    return touched.sum(axis=1), partial.sum(axis=1), nq


def causal_tile_matrix(
    rows: np.ndarray, seq_kv: np.ndarray, bq: int, bkv: int, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per shape and query tile (columns past a shape's last query tile are 0): visited key tiles, of which
    partially masked, under the bottom-right causal mask."""
    nq = -(-rows // bq)
    nkv = -(-seq_kv // bkv)
    i = np.arange(int(nq.max()))[None, :]
    valid = i < nq[:, None]
    first = i * bq
    last = np.minimum((i + 1) * bq, rows[:, None]) - 1
    touched = np.clip(-(-(last + offset[:, None] + 1) // bkv), 0, nkv[:, None])
    full = np.clip((first + offset[:, None] + 1) // bkv, 0, touched)
    return np.where(valid, touched, 0), np.where(valid, touched - full, 0)


#: Tail coefficient of `in_order_makespan`: chosen against an exact simulation of the dispatch (a heap of free
#: slots), not against any measurement.
IN_ORDER_TAIL = 0.65


def in_order_makespan(
    cost: np.ndarray, groups: np.ndarray, slots: np.ndarray, ctas_per_sm: int, sms: float
) -> np.ndarray:
    """Seconds to run `groups` copies of the CTAs whose SM-seconds are the rows of `cost` (one column per query
    tile, in dispatch order; 0 past the last), each CTA taken by the first free one of `slots` CTA slots in index
    order (greedy list scheduling), `ctas_per_sm` CTAs sharing an SM.

    The average load plus a tail: the last CTA to start is the costliest, while the slots it waits on are halfway
    through the last `slots` CTAs: makespan ~ W / slots + c_max - a * mean(last `slots` costs), a = 0.65. Against
    an exact simulation over 980 FlashAttention-like grids (108-296 slots, 64-192-row x 32-176-key tiles, seq
    512-32k, 4-32 heads) its error is 0.8% on average, -9% to +10% at worst (the smallest grids);
    tests/gpu/test_gpu_model.py checks six of them.
    """
    valid = cost > 0
    nq = valid.sum(axis=1)
    total = groups * cost.sum(axis=1)
    c_max = cost.max(axis=1)
    col = np.arange(cost.shape[1])[None, :]
    window = valid & ((nq[:, None] <= slots[:, None]) | (col >= (nq - slots)[:, None]))
    last_mean = np.where(window, cost, 0.0).sum(axis=1) / np.maximum(window.sum(axis=1), 1)
    spread = total / sms + ctas_per_sm * (c_max - IN_ORDER_TAIL * last_mean)
    one_wave = groups * nq <= slots
    return np.where(one_wave, c_max * np.minimum(ctas_per_sm, np.ceil(groups * nq / sms)), np.maximum(spread, c_max))


def q_wait_s(
    target: GpuTarget, k: KernelConfig, w: TileWork, t: TileTimes, d_qk: int, d_v: int, elem: float, c: Constants
) -> float:
    """SM-seconds a persistent FA3-like CTA waits per tile for its Q (`KernelSpec.q_after_last_qk`): the producer
    issues the next tile's Q load when the consumers arrive at QueryEmpty, after their last Q K^T GEMM
    (hopper/mainloop_fwd_sm90_tma_gmma_ws.hpp, 5018ac6), so only the last P V GEMM and the epilogue hide it; its
    FP8 path (`mma_fp8`, 1-byte elements) arrives there only after that GEMM, so only the epilogue hides it. The
    load moves at the SM's share of HBM bandwidth (ASSUMPTION: every SM streams at once; Q is read once, never
    from L2). A kernel with two Q buffers (`KernelSpec.double_q_buffer`: cuDNN on Hopper) waits only where the second
    buffer and its K/V stages would not fit shared memory (head dim 256 with FA3's 128 x 80 tile). No constant."""
    spec = KERNELS.get(k.name)
    if spec is None:
        return 0.0
    if target.architecture in spec.double_q_buffer:  # two Q buffers where they fit (cuDNN's BUFFERS_Q = 2)
        if elem * (2 * k.block_q * d_qk + k.kv_stages * k.block_kv * (d_qk + d_v)) <= target.sm.smem_bytes:
            return 0.0
    elif not spec.q_after_last_qk:
        return 0.0
    load_s = k.block_q * d_qk * elem / (target.hbm.bw_bytes_per_s * c.hbm_efficiency / target.sm_count)
    macs = w.mac_per_kv_tile + (w.passes - 1) * k.block_q * k.block_kv * d_qk
    last_pv_s = t.mma * k.block_q * k.block_kv * d_v / macs if macs > 0 and elem >= 2 else 0.0
    return max(load_s - last_pv_s - t.epilogue, 0.0)


def packing_and_kernel(
    target: GpuTarget, shapes: Shapes, *, d_qk: int, d_v: int, causal: bool, dtype: str, family: str | None = None
) -> tuple[np.ndarray, KernelConfig]:
    """Which shapes pack a KV group's query heads into the rows of one tile (decode-like shapes, FlashAttention's
    pack-GQA), and the kernel `predict` assumes for all of them: the one chosen for the most rows of any shape."""
    group = shapes.heads // shapes.kv_heads
    full = choose_kernel(target, d_qk, d_v, causal, dtype, family=family)
    pack = (shapes.seq_q < full.block_q) & (group > 1)
    max_rows = int(np.where(pack, shapes.seq_q * group, shapes.seq_q).max())
    return pack, choose_kernel(target, d_qk, d_v, causal, dtype, max_rows=max_rows, family=family)


def launch_packing_and_kernel(
    target: GpuTarget, shapes: Shapes, *, d_qk: int, d_v: int, causal: bool, dtype: str, family: str | None = None
) -> tuple[np.ndarray, KernelConfig]:
    """`packing_and_kernel` for the sequences of one launch (`predict(one_launch=True)`): one decision for all,
    packed only when every sequence would be (its longest query shorter than a tile, as FA2 packs GQA heads only
    for max_seqlen_q == 1), else none is and the kernel is the one for the longest query."""
    if shapes.heads.size and (np.unique(shapes.heads).size > 1 or np.unique(shapes.kv_heads).size > 1):
        raise ValueError("one_launch: the sequences of one launch have the same heads and kv_heads")
    pack, k = packing_and_kernel(target, shapes, d_qk=d_qk, d_v=d_v, causal=causal, dtype=dtype, family=family)
    if bool(pack.all()):
        return pack, k
    rows = int(shapes.seq_q.max())
    return np.zeros_like(pack), choose_kernel(target, d_qk, d_v, causal, dtype, max_rows=rows, family=family)


def predict(
    target: GpuTarget,
    shapes: Shapes,
    *,
    d_qk: int,
    d_v: int,
    causal: bool,
    dtype: str,
    cascade: str = "attention-1pass",
    constants: Constants = FITTED,
    dims: Mapping[str, int] | None = None,
    kv_elems_per_key: int | None = None,
    family: str | None = None,
    page_size: int | None = None,
    window: int | None = None,
    block_mask: GpuBlockMask | None = None,
    one_launch: bool = False,
) -> Prediction:
    """Latency, throughput, bound and utilisation for every shape in `shapes` (arrays), plus the kernel used.

    `dims` binds the cascade's head-dimension sizes (default E = d_qk, F = d_v; MLA also binds L and R);
    `kv_elems_per_key` is what the K/V cache holds per key and KV head (default d_qk + d_v; MLA: L + R).
    `family` names the kernel (a `--kernel` name such as "fa2" or a family such as "flashattention-2"); default:
    the architecture's preferred kernel for these head dims and dtype (`simulator.gpu.catalog`). `window` (a
    causal sliding window of that many keys, self-attention) counts the key tiles it visits (`simulator.gpu.window`)
    instead of the causal ones; `block_mask` (self-attention) the key tiles a block-sparse mask visits
    (`simulator.gpu.blockmask`).

    `one_launch`: the entries of `shapes` are the sequences of one launch (a variable-length batch; each normally
    batch 1, all with the same heads and kv_heads; no `block_mask`) and the Prediction has one entry, the launch:
    work, bytes and FLOPs summed over the sequences, waves, split-KV, packing, launch latency and the causal
    dispatch tail decided once for the launch (`simulator.gpu.varlen`, which lists what is approximated).
    """
    causal = causal or window is not None  # a sliding window is a causal mask with a lower edge
    group = shapes.heads // shapes.kv_heads
    if one_launch and block_mask is not None:
        raise ValueError("one_launch: a block mask is not costed over the sequences of a varlen launch")
    packer = launch_packing_and_kernel if one_launch else packing_and_kernel
    pack, k = packer(target, shapes, d_qk=d_qk, d_v=d_v, causal=causal, dtype=dtype, family=family)
    launch = totals(one_launch)  # per-shape arrays, or the launch's one-entry totals
    bound_dims = tuple(sorted((dims or {"E": d_qk, "F": d_v}).items()))
    w = tile_work(cascade, k.block_q, k.block_kv, bound_dims)
    sms = float(target.sm_count)
    slots = sms * k.ctas_per_sm
    units = shapes.batch * np.where(pack, shapes.kv_heads, shapes.heads)
    rows = np.where(pack, shapes.seq_q * group, shapes.seq_q)
    offset = shapes.seq_kv - shapes.seq_q
    tiles_per_unit, partial_per_unit, nq = _causal_tiles(rows, shapes.seq_kv, k.block_q, k.block_kv, False, offset)
    if causal and not bool(pack.all()):  # packed rows mix heads of a short query: masked as non-causal
        c_tiles, c_partial, _ = _causal_tiles(rows, shapes.seq_kv, k.block_q, k.block_kv, True, offset)
        if window is not None:
            c_tiles, c_partial, _ = window_tile_counts(rows, k.block_q, k.block_kv, window)
        tiles_per_unit = np.where(pack, tiles_per_unit, c_tiles)
        partial_per_unit = np.where(pack, partial_per_unit, c_partial)
    if block_mask is not None:
        b_tiles, b_partial, _ = block_mask.tile_counts(k.block_q, k.block_kv)
        tiles_per_unit = np.where(pack, tiles_per_unit, b_tiles)
        partial_per_unit = np.where(pack, partial_per_unit, b_partial)
    kv_tiles = units * tiles_per_unit
    partial_tiles = units * partial_per_unit

    # Split the keys over more CTAs when the grid cannot fill the GPU (FlashAttention-2's num_splits heuristic).
    base_ctas = units * nq
    nkv = -(-shapes.seq_kv // k.block_kv)
    splittable = (base_ctas < 0.8 * sms) & (nq == 1)  # decode-like: one query tile per (batch, head group)
    splits = np.where(splittable, np.clip(sms // np.maximum(base_ctas, 1), 1, np.minimum(nkv, MAX_SPLITS)), 1).astype(
        np.int64
    )
    if one_launch:  # one decision on the launch's CTAs, the same splits for every sequence
        splits = launch_splits(base_ctas, nq, nkv, sms, MAX_SPLITS)
    ctas = base_ctas * splits

    t = tile_times(target, k, w, dtype, d_qk, d_v, constants)
    elem = DTYPE_BYTES[dtype]
    out_elem = 2.0 if elem < 2 else elem  # fp8/fp4 kernels write a 16-bit output
    edge_bytes = k.block_q * (d_qk * elem + d_v * out_elem) + k.block_kv * (d_qk + d_v) * elem
    t_edge = constants.edge_overhead * edge_bytes / (target.hbm.bw_bytes_per_s / sms)

    # SM-seconds of all CTAs: key tiles (masked ones pay the mask), epilogues, exposed edges.
    sm_tiles = kv_tiles * t.tile + partial_tiles * t.mask
    sm_epilogue = units * nq * t.epilogue
    # Synchronous kernels expose part of each CTA's prologue/epilogue transfers; warp-specialised persistent
    # kernels prefetch the next tile's Q under the current one and expose only their pipeline fill.
    per_cta_edge = (
        t.fill + q_wait_s(target, k, w, t, d_qk, d_v, elem, constants) if k.warp_specialized else t_edge / k.ctas_per_sm
    )
    sm_edge = ctas * per_cta_edge
    sm_total = sm_tiles + sm_epilogue + sm_edge
    waves = np.ceil(launch(ctas) / slots)
    quantisation = waves / (launch(ctas) / slots)
    coscheduled = KERNELS[k.name].coscheduled_query_tiles if k.name in KERNELS else False
    if coscheduled:  # one wave of persistent CTAs over work the kernel's scheduler balanced (FlashMLA)
        waves, quantisation = np.ones_like(waves), np.ones_like(quantisation)
    compute_s = launch(sm_total) / sms * quantisation
    # FA2's grid (m blocks fastest) and FA3's causal scheduler hand CTAs out in index order, the query tiles of a
    # head from the cheapest to the costliest: with a causal mask the costly last ones make a tail.
    in_order = dispatches_in_order(k.name, target.architecture)
    launch_cost = None  # one launch: SM-seconds per query tile of each sequence, in dispatch order
    if causal and in_order:
        if block_mask is not None:
            b_touched, b_partial = block_mask.tile_matrix(k.block_q, k.block_kv)
            touched, partial = (np.broadcast_to(x, (rows.size, x.size)) for x in (b_touched, b_partial))
        elif window is not None:
            touched, partial = window_tile_matrix(rows, k.block_q, k.block_kv, window)
        else:
            touched, partial = causal_tile_matrix(rows, shapes.seq_kv, k.block_q, k.block_kv, offset)
        cost = np.where(touched > 0, touched * t.tile + partial * t.mask + t.epilogue + per_cta_edge, 0.0)
        if not one_launch:
            greedy = in_order_makespan(cost, units, np.full(cost.shape[0], slots), k.ctas_per_sm, sms)
            compute_s = np.where(~pack & (splits == 1) & (nq > 1), greedy, compute_s)  # packed/split: as before
        elif int(nq.max()) > 1:
            launch_cost = cost
    elif one_launch and not causal and not coscheduled and (np.ptp(rows) > 0 or np.ptp(shapes.seq_kv) > 0):
        # Mixed lengths without a mask: the wave rule would count a short sequence's cheap CTAs as full ones in
        # the last wave; the same greedy dispatch estimate as the causal launch, over rows of equal CTAs.
        q_tile = nkv * t.tile + (shapes.seq_kv % k.block_kv != 0) * t.mask + t.epilogue + per_cta_edge
        launch_cost = np.where(np.arange(int(nq.max()))[None, :] < nq[:, None], q_tile[:, None], 0.0)
    if launch_cost is not None and not pack.any() and int(splits.max()) == 1:
        compute_s = np.atleast_1d(launch_makespan(launch_cost, shapes.batch, int(shapes.heads[0]),
                                                  k.name in SEQUENCE_MAJOR, slots, k.ctas_per_sm, sms,
                                                  IN_ORDER_TAIL))

    # HBM traffic.
    q_o = units * rows * (d_qk * elem + d_v * out_elem) + units * rows * 4.0
    kv_group = shapes.seq_kv * (kv_elems_per_key or d_qk + d_v) * elem
    kv_units = shapes.batch * shapes.kv_heads
    sharers = nq * np.where(pack, 1, group) * splits
    concurrent_groups = np.clip(slots / np.maximum(sharers, 1), 1, launch(kv_units))  # one launch: all its groups
    working_set = concurrent_groups * kv_group
    miss = np.clip(1.0 - target.l2_bytes / working_set, 0.0, 1.0)
    reload = 1.0 + (np.minimum(sharers, nq * np.where(pack, 1, group)) - 1) * miss
    if coscheduled:  # the query tiles sharing a KV head read each key block together: L2 serves the repeats
        reload = np.ones_like(reload)
    extra_pass_k = (w.passes - 1) * shapes.seq_kv * d_qk * elem
    kv_bytes = kv_units * (kv_group * reload + extra_pass_k * reload)
    combine = np.where(splits > 1, 2.0 * units * rows * splits * (d_v + 1) * 4.0, 0.0)
    # A paged cache adds its block table: one 4-byte page index per page, read with the K/V it points to.
    table = kv_units * -(-shapes.seq_kv // page_size) * 4.0 * reload if page_size else 0.0
    hbm_bytes = launch(q_o + kv_bytes + combine + table)
    memory_s = hbm_bytes / (target.hbm.bw_bytes_per_s * constants.hbm_efficiency)
    if one_launch:  # the launch's K/V reload: its sequences' reloads weighted by their K/V bytes
        reload = summed(kv_units * kv_group * reload) / summed(kv_units * kv_group)
        splits = splits[:1]

    launch_s = constants.launch_latency_s * np.where(splits > 1, 2.0, 1.0)
    latency_s = launch_s + np.maximum(compute_s, memory_s)

    # Per-unit busy time (seconds of the whole GPU) and the bound.
    ctas, sm_edge, kv_tiles, partial_tiles, q_tiles = (
        launch(x) for x in (ctas, sm_edge, kv_tiles, partial_tiles, units * nq)
    )
    tensor_busy = (kv_tiles * t.mma + q_tiles * t.epilogue_mma) / sms * quantisation
    exp_busy = (kv_tiles * t.exp + q_tiles * t.epilogue_exp) / sms * quantisation
    fp32_busy = (kv_tiles * t.fp32 + partial_tiles * t.mask_fp32 + q_tiles * t.epilogue_fp32) / sms * quantisation
    smem_busy = kv_tiles * t.smem / sms * quantisation  # an mma.sync kernel's operand traffic (0 otherwise)
    latency_busy = launch_s + sm_edge / sms * quantisation
    bound = _bound(tensor_busy, exp_busy, fp32_busy, memory_s, latency_busy, compute_s, smem_busy)

    flops = launch(fa_flops(shapes, d_qk, d_v, causal, window))
    if block_mask is not None:
        flops = 2.0 * block_mask.scores_per_head() * (d_qk + d_v) * shapes.heads * shapes.batch
    tensor_peak = target.tensor_rate(dtype, k.mma_class)
    executed_mac_flops = (
        kv_tiles * 2.0 * (w.mac_per_kv_tile + (w.passes - 1) * k.block_q * k.block_kv * d_qk)
        + q_tiles * 2.0 * w.mac_per_q_tile
    )
    exps = kv_tiles * w.exp_per_kv_tile + q_tiles * w.exp_per_q_tile
    fp32_ops = kv_tiles * w.fp32_per_kv_tile + partial_tiles * k.block_q * k.block_kv + q_tiles * w.fp32_per_q_tile
    return Prediction(
        latency_s=latency_s,
        tflops=flops / latency_s / 1e12,
        flops=flops,
        bound=bound,
        hbm_bytes=hbm_bytes,
        utilization=UnitUse(
            tensor=executed_mac_flops / (tensor_peak * latency_s),
            exp=exps * (1.0 - t.emulated_exp_fraction) / (target.exp_rate() * latency_s),
            fp32=fp32_ops / (target.fp32_ops_per_s() * latency_s),
            hbm=hbm_bytes / (target.hbm.bw_bytes_per_s * latency_s),
        ),
        phases_s=Phases(
            compute=compute_s,
            memory=memory_s,
            launch=launch_s,
            tensor=tensor_busy,
            exp=exp_busy,
            fp32=fp32_busy,
            edges=sm_edge / sms,
            smem=smem_busy,
        ),
        grid=Grid(
            ctas=ctas, waves=waves, splits=splits, kv_tiles=kv_tiles, masked_tiles=partial_tiles, kv_reload=reload
        ),
        kernel=k,
        work=w,
        emulated_exp_fraction=t.emulated_exp_fraction,
    )


def _bound(
    tensor: np.ndarray, exp: np.ndarray, fp32: np.ndarray, memory: np.ndarray, latency: np.ndarray, compute: np.ndarray,
    smem: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Which resource sets the time: HBM when the traffic outlasts the compute; else the GEMMs (`smem` where an
    mma.sync kernel's shared-memory operand traffic outlasts its MMAs) or, when the softmax (SFU + FP32, issued by
    the same warps) outlasts them, the larger of its two units; `latency` when launch and exposed CTA edges outlast
    that unit."""
    softmax_unit = np.where(exp >= fp32, "exp", "fp32")
    gemm = np.maximum(tensor, smem)
    compute_unit = np.where(gemm >= exp + fp32, np.where(smem > tensor, "smem", "tensor"), softmax_unit)
    compute_busy = np.maximum(gemm, exp + fp32)
    out = np.where(memory >= compute, "memory", compute_unit)
    dominant = np.where(memory >= compute, memory, compute_busy)
    return np.where(latency > dominant, "latency", out)
