"""The speedup upper bound of a sparse pattern from tile counts (GNA, Hassani et al. 2025, arXiv 2504.16922).

bound = KV tiles of dense self attention over the same layout and tile shapes / KV tiles visited by the worst
query tile. Also the mean, the FLOP-wise bound, perfect block sparsity, and the end-to-end bound by Amdahl's law.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.flat import flat_tiles
from simulator.sparse.gna import neighbor_counts
from simulator.sparse.spec import GNAConfig, check_rank
from simulator.sparse.tiling import TileCounts, multi_tiles

TILINGS = ("multi", "flat")
KV_TILINGS = ("static", "dynamic")


@dataclass(frozen=True)
class BoundResult:
    """The numbers of one bound; every count is in tiles, speedups are ratios."""

    speedup_upper_bound: float
    speedup_mean: float  # dense tiles / mean visited tiles: the bound if the load were balanced
    flop_speedup: float  # prod(L) / prod(w), as in the GNA paper
    flop_speedup_exact: float  # N^2 / attended (query, key) pairs; differs from flop_speedup for causal axes
    kv_tiles_visited_max: int
    kv_tiles_visited_mean: float
    kv_tiles_dense: int
    q_tiles: int
    fully_block_sparse: bool
    e2e_speedup_upper_bound: float | None = None

    def as_dict(self) -> dict:
        out = asdict(self)
        if out["e2e_speedup_upper_bound"] is None:
            del out["e2e_speedup_upper_bound"]
        return out


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


def summarize(counts: TileCounts, flop: float, flop_exact: float, attention_fraction=None, sparse_fraction=None):
    """Turn tile counts into a `BoundResult`."""
    bound = counts.kv_tiles_dense / counts.visited_max
    return BoundResult(
        speedup_upper_bound=bound,
        speedup_mean=counts.kv_tiles_dense / counts.visited_mean,
        flop_speedup=flop,
        flop_speedup_exact=flop_exact,
        kv_tiles_visited_max=counts.visited_max,
        kv_tiles_visited_mean=counts.visited_mean,
        kv_tiles_dense=counts.kv_tiles_dense,
        q_tiles=int(counts.visited.size),
        fully_block_sparse=counts.fully_block_sparse,
        e2e_speedup_upper_bound=amdahl(bound, attention_fraction, sparse_fraction),
    )


def flat_tile_size(tile: tuple[int, ...], shape: tuple[int, ...], option: str) -> int:
    """Flat tiling takes a token count: one number, or a box whose volume is used."""
    if len(tile) == 1:
        return tile[0]
    check_rank(tile, shape, option)
    return math.prod(tile)


def count_gna(cfg: GNAConfig, q_tile: tuple[int, ...], kv_tile: tuple[int, ...], tiling: str = "multi",
              kv_tiling: str = "static") -> TileCounts:
    """Tile counts of a GNA pattern under the chosen tiling."""
    if tiling not in TILINGS:
        raise SimulatorError(f"--tiling: {tiling!r} is not one of {', '.join(TILINGS)}")
    if kv_tiling not in KV_TILINGS:
        raise SimulatorError(f"--kv-tiling: {kv_tiling!r} is not one of {', '.join(KV_TILINGS)}")
    dynamic = kv_tiling == "dynamic"
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
    return multi_tiles(cfg, q_tile, kv_tile, dynamic)


def gna_flops(cfg: GNAConfig) -> tuple[float, float]:
    """(prod L / prod w, N^2 / attended pairs): the FLOP-wise bounds."""
    flop = math.prod(cfg.shape) / math.prod(cfg.window)
    pairs_ratio = 1.0
    for a in cfg.axes:  # pairs factorise over axes because the mask is an AND of per-axis masks
        pairs_ratio *= a.length**2 / float(np.sum(neighbor_counts(a)))
    return flop, pairs_ratio


def gna_bound(cfg: GNAConfig, q_tile: tuple[int, ...], kv_tile: tuple[int, ...], tiling: str = "multi",
              kv_tiling: str = "static", attention_fraction: float | None = None,
              sparse_fraction: float | None = None) -> tuple[BoundResult, TileCounts]:
    """Bound of a GNA pattern; also returns the tile counts (for plots)."""
    counts = count_gna(cfg, q_tile, kv_tile, tiling, kv_tiling)
    flop, exact = gna_flops(cfg)
    return summarize(counts, flop, exact, attention_fraction, sparse_fraction), counts
