"""The speedup upper bound of a sparse pattern from tile counts (GNA, Hassani et al. 2025, arXiv 2504.16922).

bound = token pairs a dense (or causal) kernel computes over the real tokens / token pairs the sparse kernel
computes, padding included, with every query tile charged the worst one's visits (`speedup_upper_bound`) or its own
(`speedup_mean`). The GNA paper's figure, KV tiles of dense attention over the same padded layout / KV tiles of the
worst query tile, is kept as `speedup_upper_bound_padding_free`. Also the FLOP-wise bound, perfect block sparsity,
full and partial tiles, and the end-to-end bound by Amdahl's law. See work.py for the work model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.flat import flat_tiles
from simulator.sparse.gna import neighbor_counts
from simulator.sparse.spec import GNAConfig, check_rank
from simulator.sparse.tiling import TileCounts, multi_tiles
from simulator.sparse.work import (
    BASELINES,
    BWD_FLOPS_PER_FWD_FLOP,
    PASSES,
    PassWork,
    baseline_pairs,
    check_choice,
    pass_work,
)

TILINGS = ("multi", "flat")
KV_TILINGS = ("static", "dynamic")


@dataclass(frozen=True)
class BoundResult:
    """The numbers of one bound; counts are in tiles, work in token pairs, speedups are ratios."""

    speedup_upper_bound: float  # baseline work / (major tiles x worst visits x tile pair tokens), padding charged
    speedup_mean: float  # baseline work / sparse work: the bound if the load were balanced, padding charged
    flop_speedup: float  # prod(L) / prod(w), as in the GNA paper
    flop_speedup_exact: float  # N^2 / attended (query, key) pairs; differs from flop_speedup for causal axes
    kv_tiles_visited_max: int
    kv_tiles_visited_mean: float
    kv_tiles_dense: int
    q_tiles: int
    fully_block_sparse: bool
    speedup_upper_bound_padding_free: float  # kv_tiles_dense / kv_tiles_visited_max (the earlier figure)
    speedup_mean_padding_free: float  # kv_tiles_dense / kv_tiles_visited_mean
    baseline: str  # "dense" or "causal"
    flop_speedup_vs_baseline: float  # pairs the baseline attends / pairs the pattern attends
    work_baseline_token_pairs: int
    work_sparse_token_pairs: int
    work_sparse_worst_token_pairs: int
    q_padding_tokens: int
    kv_padding_tokens: int
    kv_tiles_full: int | None = None  # visited tile pairs no mask entry cuts (FlexAttention's "full" blocks)
    kv_tiles_partial: int | None = None  # visited tile pairs the mask cuts (FlexAttention's partial blocks)
    e2e_speedup_upper_bound: float | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def amdahl(speedup: float, attention_fraction: float | None, sparse_fraction: float | None) -> float | None:
    """End-to-end bound: a fraction F*G of the run (attention time in the steps that use the pattern) is sped up."""
    if attention_fraction is None:
        if sparse_fraction is not None:
            raise SimulatorError("--sparse-fraction needs --attention-fraction (the share of time spent in attention)")
        return None
    g = 1.0 if sparse_fraction is None else sparse_fraction
    for value, option in ((attention_fraction, "--attention-fraction"), (g, "--sparse-fraction")):
        if not 0.0 <= value <= 1.0:
            raise SimulatorError(f"{option}: must be a fraction between 0 and 1, not {value}")
    p = attention_fraction * g
    return 1.0 / ((1.0 - p) + p / speedup)


@dataclass(frozen=True)
class Geometry:
    """What the work model needs beyond the counts: real tokens, tokens per tile, baseline, pass, pairs."""

    n_tokens: int
    q_tokens: int
    kv_tokens: int
    attended_pairs: int  # (query, key) pairs the pattern attends
    baseline: str = "dense"
    pass_name: str = "fwd"


def summarize(counts: TileCounts, flop: float, flop_exact: float, attention_fraction=None, sparse_fraction=None,
              geometry: Geometry | None = None) -> BoundResult:
    """Turn tile counts into a `BoundResult` (without `geometry`: flat tokens, the counts' own tile sizes unknown,
    so the padding-aware figures equal the padding-free ones)."""
    work = None
    if geometry is not None:
        g = geometry
        grid = counts.grid_minor_tiles or counts.kv_tiles_dense
        work = pass_work(g.pass_name, counts.visited, grid, g.n_tokens, g.q_tokens, g.kv_tokens, g.baseline)
    return result_from(counts, flop, flop_exact, work, geometry, attention_fraction, sparse_fraction)


def result_from(counts: TileCounts, flop: float, flop_exact: float, work: PassWork | None, geometry,
                attention_fraction=None, sparse_fraction=None,
                speedups: tuple[float, float] | None = None) -> BoundResult:
    """A `BoundResult` from counts and work; `speedups` overrides (worst, mean) when several passes combine."""
    padding_free = counts.kv_tiles_dense / counts.visited_max
    if work is None:
        worst, mean = padding_free, counts.kv_tiles_dense / counts.visited_mean
        baseline, vs_baseline, pads, works = "dense", flop_exact, (0, 0), (0, 0, 0)
    else:
        worst = work.baseline_token_pairs / work.sparse_worst_token_pairs
        mean = work.baseline_token_pairs / work.sparse_token_pairs
        baseline = geometry.baseline
        vs_baseline = baseline_pairs(geometry.n_tokens, baseline) / geometry.attended_pairs
        pads = (work.q_padding_tokens, work.kv_padding_tokens)
        works = (work.baseline_token_pairs, work.sparse_token_pairs, work.sparse_worst_token_pairs)
    if speedups is not None:
        worst, mean = speedups
    full = None if counts.full is None else int(counts.full.sum())
    return BoundResult(
        speedup_upper_bound=worst,
        speedup_mean=mean,
        flop_speedup=flop,
        flop_speedup_exact=flop_exact,
        kv_tiles_visited_max=counts.visited_max,
        kv_tiles_visited_mean=counts.visited_mean,
        kv_tiles_dense=counts.kv_tiles_dense,
        q_tiles=int(counts.visited.size),
        fully_block_sparse=counts.fully_block_sparse,
        speedup_upper_bound_padding_free=padding_free,
        speedup_mean_padding_free=counts.kv_tiles_dense / counts.visited_mean,
        baseline=baseline,
        flop_speedup_vs_baseline=vs_baseline,
        work_baseline_token_pairs=works[0],
        work_sparse_token_pairs=works[1],
        work_sparse_worst_token_pairs=works[2],
        q_padding_tokens=pads[0],
        kv_padding_tokens=pads[1],
        kv_tiles_full=full,
        kv_tiles_partial=None if full is None else int(counts.visited.sum()) - full,
        e2e_speedup_upper_bound=amdahl(worst, attention_fraction, sparse_fraction),
    )


def flat_tile_size(tile: tuple[int, ...], shape: tuple[int, ...], option: str) -> int:
    """Flat tiling takes a token count: one number, or a box whose volume is used."""
    if len(tile) == 1:
        return tile[0]
    check_rank(tile, shape, option)
    return math.prod(tile)


def count_gna(cfg: GNAConfig, q_tile: tuple[int, ...], kv_tile: tuple[int, ...], tiling: str = "multi",
              kv_tiling: str = "static", pass_name: str = "fwd") -> TileCounts:
    """Tile counts of a GNA pattern under the chosen tiling; `pass_name="bwd"` counts KV-tile-major."""
    if tiling not in TILINGS:
        raise SimulatorError(f"--tiling: {tiling!r} is not one of {', '.join(TILINGS)}")
    if kv_tiling not in KV_TILINGS:
        raise SimulatorError(f"--kv-tiling: {kv_tiling!r} is not one of {', '.join(KV_TILINGS)}")
    dynamic = kv_tiling == "dynamic"
    if pass_name == "bwd" and (tiling == "flat" or dynamic):
        raise SimulatorError(
            "--pass: the backward pass is counted as NATTEN's backward kernels tile it (multi-dimensional tiles, "
            "static ranges); drop --tiling flat / --kv-tiling dynamic, or use --pass fwd"
        )
    if tiling == "flat":
        return flat_tiles(cfg, flat_tile_size(q_tile, cfg.shape, "--q-tile"),
                          flat_tile_size(kv_tile, cfg.shape, "--kv-tile"), dynamic)
    for tile, option in ((q_tile, "--q-tile"), (kv_tile, "--kv-tile")):
        if len(tile) == 1 and len(cfg.shape) > 1:
            raise SimulatorError(
                f"{option}: one number ({tile[0]}) is a token count, which needs --tiling flat; for multi-dimensional "
                f"tiles give {len(cfg.shape)} entries joined by 'x'"
            )
        check_rank(tile, cfg.shape, option)
    return multi_tiles(cfg, q_tile, kv_tile, dynamic, transposed=pass_name == "bwd")


def gna_pairs(cfg: GNAConfig) -> int:
    """(query, key) pairs a GNA pattern attends (they factorise over axes: the mask is an AND of axis masks)."""
    return math.prod(int(np.sum(neighbor_counts(a))) for a in cfg.axes)


def gna_flops(cfg: GNAConfig) -> tuple[float, float]:
    """(prod L / prod w, N^2 / attended pairs): the FLOP-wise bounds."""
    n = math.prod(cfg.shape)
    return n / math.prod(cfg.window), n * n / gna_pairs(cfg)


def is_causal_sequence(cfg: GNAConfig) -> bool:
    """Whether every attended key is at or before its query in the flattened order (all axes causal)."""
    return all(a.causal or a.length == 1 for a in cfg.axes)


def resolve_baseline(baseline: str | None, causal_sequence: bool, what: str) -> str:
    """Default: causal when the pattern is causal along the sequence, else dense. A causal baseline for a pattern
    that attends later keys would compare different functions, so it is refused."""
    if baseline is None:
        return "causal" if causal_sequence else "dense"
    check_choice(baseline, BASELINES, "--baseline")
    if baseline == "causal" and not causal_sequence:
        raise SimulatorError(
            f"--baseline causal: {what} attends keys after the query in the flattened order, which a causal kernel "
            "never computes; use --baseline dense (or make every axis causal)"
        )
    return baseline


def gna_pass(cfg: GNAConfig, q_tile: tuple[int, ...], kv_tile: tuple[int, ...], tiling: str, kv_tiling: str,
             baseline: str, pass_name: str) -> tuple[TileCounts, PassWork, Geometry]:
    """Counts and work of one pass of a GNA pattern."""
    counts = count_gna(cfg, q_tile, kv_tile, tiling, kv_tiling, pass_name)
    geo = Geometry(math.prod(cfg.shape), math.prod(q_tile), math.prod(kv_tile),
                   gna_pairs(cfg), baseline, pass_name)
    grid = counts.grid_minor_tiles or counts.kv_tiles_dense
    work = pass_work(pass_name, counts.visited, grid, geo.n_tokens, geo.q_tokens, geo.kv_tokens, baseline)
    return counts, work, geo


def gna_bound(cfg: GNAConfig, q_tile: tuple[int, ...], kv_tile: tuple[int, ...], tiling: str = "multi",
              kv_tiling: str = "static", attention_fraction: float | None = None,
              sparse_fraction: float | None = None, baseline: str | None = None, pass_name: str = "fwd",
              bwd_tiles: tuple[tuple[int, ...], tuple[int, ...]] | None = None) -> tuple[BoundResult, TileCounts]:
    """Bound of a GNA pattern; also returns the tile counts (for plots). `pass_name` is fwd, bwd or fwd+bwd;
    `bwd_tiles` (query tile, KV tile) of the backward kernel, default the forward ones."""
    check_choice(pass_name, PASSES, "--pass")
    base = resolve_baseline(baseline, is_causal_sequence(cfg), "the pattern")
    flop, exact = gna_flops(cfg)
    bq, bk = bwd_tiles or (q_tile, kv_tile)
    if pass_name == "fwd+bwd":
        fwd, counts = gna_bound(cfg, q_tile, kv_tile, tiling, kv_tiling, None, None, base, "fwd")
        bwd, _ = gna_bound(cfg, bq, bk, tiling, kv_tiling, None, None, base, "bwd")
        return combine_passes(fwd, bwd, attention_fraction, sparse_fraction), counts
    tiles = (bq, bk) if pass_name == "bwd" else (q_tile, kv_tile)
    counts, work, geo = gna_pass(cfg, *tiles, tiling, kv_tiling, base, pass_name)
    return result_from(counts, flop, exact, work, geo, attention_fraction, sparse_fraction), counts


def combine_passes(fwd: BoundResult, bwd: BoundResult, attention_fraction=None, sparse_fraction=None) -> BoundResult:
    """Forward and backward together: work of each pass weighed by its FLOPs per token pair (backward 2.5x);
    counts and padding stay the forward's, the work keys become the weighted sums."""
    w = BWD_FLOPS_PER_FWD_FLOP
    base = fwd.work_baseline_token_pairs + w * bwd.work_baseline_token_pairs
    total = fwd.work_sparse_token_pairs + w * bwd.work_sparse_token_pairs
    worst = fwd.work_sparse_worst_token_pairs + w * bwd.work_sparse_worst_token_pairs
    bound = base / worst
    return replace(fwd, speedup_upper_bound=bound, speedup_mean=base / total, work_baseline_token_pairs=round(base),
                   work_sparse_token_pairs=round(total), work_sparse_worst_token_pairs=round(worst),
                   e2e_speedup_upper_bound=amdahl(bound, attention_fraction, sparse_fraction))
