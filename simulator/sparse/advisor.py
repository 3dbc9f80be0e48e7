"""Stride/tile advisor: the strides and tile shapes that make a GNA pattern perfectly block-sparse, ranked by the
padding-aware bound.

The visit counts and block sparsity of multi-dimensional tiling factorise over axes (see tiling.py), so each axis
is searched on its own over every stride 1..w for each per-axis tile extent, and the per-axis results are combined
for each (query tile, KV tile) pair. Among strides of equal worst visits on an axis the smallest is kept: it is the
closest to sliding-window attention. Padding does not depend on the stride, so it only changes the ranking across
tile shapes. By default the pairs are those NATTEN's kernels ship (kernels.py); `any_tile` searches every
power-of-two box of the target's token counts instead (hypothetical kernels).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from functools import lru_cache

from simulator.errors import SimulatorError
from simulator.sparse.bound import is_causal_sequence
from simulator.sparse.kernels import shipped_tiles
from simulator.sparse.presets import allowed_tiles
from simulator.sparse.spec import AxisSpec, GNAConfig
from simulator.sparse.tiling import axis_tiles
from simulator.sparse.work import baseline_tile_pairs


@dataclass(frozen=True)
class Advice:
    """One perfectly block-sparse configuration."""

    q_tile: tuple[int, ...]
    kv_tile: tuple[int, ...]
    stride: tuple[int, ...]
    speedup_upper_bound: float  # padding-aware, against the baseline (dense, or causal for causal patterns)
    flop_speedup: float
    speedup_upper_bound_padding_free: float = 0.0  # dense KV tiles / worst visits, the earlier figure

    def as_dict(self) -> dict:
        return {"q_tile": "x".join(map(str, self.q_tile)), "kv_tile": "x".join(map(str, self.kv_tile)),
                "stride": "x".join(map(str, self.stride)), "speedup_upper_bound": self.speedup_upper_bound,
                "flop_speedup": self.flop_speedup,
                "speedup_upper_bound_padding_free": self.speedup_upper_bound_padding_free}


@lru_cache(maxsize=4096)
def _best_stride(spec: AxisSpec, tq: int, tk: int, dynamic: bool) -> tuple[int, int, int] | None:
    """(stride, worst visits, query tiles) of the best perfectly block-sparse stride on one axis, or None."""
    best = None
    for s in range(1, spec.window + 1):
        t = axis_tiles(replace(spec, stride=s), tq, tk, dynamic)
        if not t.fully_block_sparse:
            continue
        worst = int(t.visited.max())
        if best is None or worst < best[1]:
            best = (s, worst, int(t.visited.size))
    return best


def advise_pairs(cfg: GNAConfig, pairs: list[tuple[tuple[int, ...], tuple[int, ...]]], kv_tiling: str = "static",
                 top: int = 10) -> list[Advice]:
    """Perfectly block-sparse (stride, q tile, KV tile) choices among `pairs`, best padding-aware bound first.
    The stride of `cfg` is ignored (it is what is searched); dilation and causal flags are kept."""
    dynamic = kv_tiling == "dynamic"
    n = math.prod(cfg.shape)
    flop = n / math.prod(cfg.window)
    baseline = "causal" if is_causal_sequence(cfg) else "dense"
    out = []
    for q, k in pairs:
        picks = [_best_stride(a, tq, tk, dynamic) for a, tq, tk in zip(cfg.axes, q, k, strict=True)]
        if any(p is None for p in picks):
            continue
        worst, n_q = math.prod(p[1] for p in picks), math.prod(p[2] for p in picks)
        tq, tk = math.prod(q), math.prod(k)
        bound = baseline_tile_pairs(n, tq, tk, baseline) / (n_q * worst)
        dense = math.prod(math.ceil(a.length / t) for a, t in zip(cfg.axes, k, strict=True))
        out.append(Advice(q, k, tuple(p[0] for p in picks), bound, flop, dense / worst))
    out.sort(key=lambda a: (-a.speedup_upper_bound, sum(a.stride), a.q_tile, a.kv_tile))
    return out[:top]


def advise(cfg: GNAConfig, q_tiles: list[tuple[int, ...]], kv_tiles: list[tuple[int, ...]],
           kv_tiling: str = "static", top: int = 10) -> list[Advice]:
    """`advise_pairs` over every combination of the given query and KV tile shapes."""
    return advise_pairs(cfg, list(itertools.product(q_tiles, kv_tiles)), kv_tiling, top)


def advise_target(cfg: GNAConfig, target: str, kv_tiling: str = "static", top: int = 10, any_tile: bool = False,
                  head_dim: int = 128) -> list[Advice]:
    """`advise` over the (query, KV) tile pairs the target's shipped forward kernels offer, or with `any_tile`
    over every power-of-two box of its token counts (hypothetical kernels)."""
    if any_tile:
        q_tiles, kv_tiles = allowed_tiles(target, cfg.shape)
        if not q_tiles or not kv_tiles:
            raise SimulatorError(f"--target {target}: no allowed tile shape fits the layout {cfg.shape}")
        return advise(cfg, q_tiles, kv_tiles, kv_tiling, top)
    return advise_pairs(cfg, shipped_tiles(target, len(cfg.shape), "fwd", head_dim), kv_tiling, top)


def why_none(cfg: GNAConfig, target: str, any_tile: bool, kv_tiling: str = "static", head_dim: int = 128) -> str:
    """One sentence on why no tile pair qualifies: which axes have no perfectly block-sparse stride."""
    if any_tile:
        q_tiles, kv_tiles = allowed_tiles(target, cfg.shape)
        pairs = list(itertools.product(q_tiles, kv_tiles))
    else:
        pairs = shipped_tiles(target, len(cfg.shape), "fwd", head_dim)
    failing = set()
    for q, k in pairs:
        for i, (a, tq, tk) in enumerate(zip(cfg.axes, q, k, strict=True)):
            if _best_stride(a, tq, tk, kv_tiling == "dynamic") is None:
                failing.add(i)
                break
    which = "power-of-two" if any_tile else f"shipped {target}"
    axes = ", ".join(f"axis {i} (extent {cfg.axes[i].length}, window {cfg.axes[i].window})" for i in sorted(failing))
    hint = "" if any_tile else "; --any-tile searches hypothetical tile shapes"
    return (f"none of the {len(pairs)} {which} tile pairs has a perfectly block-sparse stride on every axis "
            f"(first failing: {axes}){hint}")
