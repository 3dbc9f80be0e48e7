"""Variable-length batches: the sequences of one kernel launch (FlashAttention's varlen API, a serving batch).

`predict(..., one_launch=True)` and `predict_backward(..., one_launch=True)` cost the entries of `Shapes` as the
sequences of a single launch: per-sequence work (tiles, bytes, FLOPs) is computed as for separate shapes and
summed, while what belongs to the launch is decided once: wave quantisation on the total CTA count, the split-KV
decision on the total (FlashAttention-2's `num_splits_heuristic`, given max_seqlen_k), GQA packing from the
longest query (FA2's `seqlenq_ngroups_swapped` needs max_seqlen_q == 1), one launch latency, and the causal
in-order dispatch tail over the launch's CTAs in the kernel's order (`launch_makespan`).

Approximations: CTAs past a sequence's last query tile in FA2's (max_seqlen_q, batch, heads) grid exit at once and
are not costed; the L2 reuse rule stays per sequence (each sequence's K/V reload is computed as if the CTAs in
flight worked on sequences of its own length, their number capped by the launch's KV groups); a mixed launch
without a mask is costed by `launch_makespan` over rows of equal CTAs (400 random mixed launches: 2.4% off an
exact greedy schedule on average, -23% to +32% at worst on small grids; the wave rule, which counts a short
sequence's cheap CTAs as full ones in the last wave, 5.3%, -34% to +81%), while causal launches of kernels
without in-order dispatch and the backward keep the wave rule on the total CTA count; the dispatch order of FA3's
scheduler is the one of its varlen source above, cuDNN's assumed.
"""

from __future__ import annotations

import numpy as np

#: Kernels whose varlen scheduler walks the query tiles of one sequence head by head before the next sequence
#: (query tile fastest, then head, then sequence): FA3's VarlenDynamicPersistentTileScheduler
#: (hopper/tile_scheduler.hpp: within a group of 31 sequences, tile = cum_m_blocks(bidb) * num_head
#: + bidh * num_m_blocks + block), cuDNN's persistent sm90 scheduler (tile_id -> (batch, head, query tile);
#: ASSUMPTION: its ragged-offset path keeps that order). The others run FA2's grid dim3(num_m_block, b, h): query
#: tile fastest, then sequence, then head.
SEQUENCE_MAJOR = ("fa3", "cudnn")


def summed(x: np.ndarray | float) -> np.ndarray:
    """A per-sequence array as the launch's one-entry total."""
    return np.atleast_1d(np.sum(x))


def _per_shape(x: np.ndarray) -> np.ndarray:
    return x


def totals(one_launch: bool):  # noqa: ANN201 - the function below
    """What a model applies to its per-shape arrays: `summed` for the sequences of one launch, else nothing."""
    return summed if one_launch else _per_shape


def launch_splits(base_ctas: np.ndarray, nq: np.ndarray, nkv: np.ndarray, sms: float, max_splits: int) -> np.ndarray:
    """Split-KV factor of a varlen launch, the same for every sequence: FlashAttention-2's heuristic on the
    launch's total CTAs, capped by the longest sequence's key tiles (it is given max_seqlen_k)."""
    total = int(base_ctas.sum())
    splits = 1
    if total < 0.8 * sms and int(nq.max()) == 1:
        splits = int(np.clip(sms // max(total, 1), 1, min(int(nkv.max()), max_splits)))
    return np.full(base_ctas.shape, splits, dtype=np.int64)


def launch_makespan(cost: np.ndarray, copies: np.ndarray, heads: int, sequence_major: bool, slots: float,
                    ctas_per_sm: int, sms: float, tail: float) -> float:
    """Seconds of the launch's causal CTAs handed out in index order to `slots` slots (greedy list scheduling).

    `cost` has one row per sequence (SM-seconds per query tile in dispatch order, 0 for a tile that exits at
    once), `copies` how many of each sequence the launch holds (its batch). A block is one sequence's query tiles
    for one head; the kernel dispatches them sequence by sequence for each head (FA2's grid) or head by head for
    each sequence (`SEQUENCE_MAJOR`).

    `model.in_order_makespan` for a sequence of different blocks: the balanced load plus a tail,
    W / sms + ctas_per_sm * (c - `tail` * mean of the last `slots` CTAs) (`tail`: `model.IN_ORDER_TAIL`),
    evaluated at the end of each sequence's run of blocks in the last pass (W the work dispatched up to there, c
    that block's costliest tile) and the largest taken: a costly block followed by cheap ones sets the time where
    it ends, not at the launch's end. The last `slots` CTAs are rounded out to whole blocks, as
    `in_order_makespan` takes a whole row. With every sequence equal it is `in_order_makespan` of the same grid;
    against an exact simulation of 565 random mixed launches (108-264 slots, 1-11 sequences of 256-16k tokens,
    4-32 heads, both orders, more CTAs than slots) its error is 0.9% on average, -5% to +17% at worst (the
    smallest grids); tests/gpu/test_gpu_varlen.py checks eight of them.
    """
    rows = [r[r > 0] for r in cost]
    keep = np.array([r.size > 0 for r in rows])
    rows = [r for r, k in zip(rows, keep, strict=True) if k]
    if not rows:
        return 0.0
    run_copies = copies[keep].astype(np.int64) * (heads if sequence_major else 1)
    passes = 1 if sequence_major else heads
    sizes = np.array([r.size for r in rows], dtype=np.int64)
    sums = np.array([r.sum() for r in rows])
    peaks = np.array([r.max() for r in rows])
    tails = np.array([r[-int(slots):].mean() for r in rows])  # a block at least `slots` long: its last CTAs
    c_max = float(peaks.max())
    n = passes * int((run_copies * sizes).sum())
    if n <= slots:
        return c_max * min(ctas_per_sm, float(np.ceil(n / sms)))
    # Every run of every pass, in dispatch order: CTA counts and SM-seconds, inclusive running totals.
    runs = len(rows)
    count = np.cumsum(np.tile(run_copies * sizes, passes))
    work = np.cumsum(np.tile(run_copies * sums, passes))
    last = np.arange((passes - 1) * runs, passes * runs)  # candidates: the ends of the last pass's runs
    seq = last % runs
    before = np.concatenate(([0], count[:-1]))  # CTAs dispatched before each run
    reach = count[last] - slots
    m = np.clip(np.searchsorted(before, reach, side="right") - 1, 0, None)  # the earliest run the window touches
    after = count[last] - count[m]  # CTAs of the runs after it
    take = np.ceil(np.maximum(slots - after, 0) / sizes[m % runs])  # whole blocks of that run
    whole_mean = (work[last] - work[m] + take * sums[m % runs]) / (after + take * sizes[m % runs])
    window_mean = np.where(reach < 0, work[last] / count[last], whole_mean)  # fewer CTAs than slots: all
    window_mean = np.where(sizes[seq] >= slots, tails[seq], window_mean)
    spread = work[last] / sms + ctas_per_sm * (peaks[seq] - tail * window_mean)
    return float(max(spread.max(), c_max))
