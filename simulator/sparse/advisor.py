"""Stride/tile advisor: the strides and tile shapes that make a GNA pattern perfectly block-sparse, ranked by bound.

The bound and block sparsity of multi-dimensional tiling factorise over axes (see tiling.py), so each axis is
searched on its own over every stride 1..w and every per-axis tile extent the target allows, and the per-axis
results are combined for each allowed (query tile, KV tile) shape pair. Among strides of equal bound on an axis the
smallest is kept: it is the closest to sliding-window attention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

from simulator.errors import SimulatorError
from simulator.sparse.presets import allowed_tiles
from simulator.sparse.spec import AxisSpec, GNAConfig
from simulator.sparse.tiling import axis_tiles


@dataclass(frozen=True)
class Advice:
    """One perfectly block-sparse configuration."""

    q_tile: tuple[int, ...]
    kv_tile: tuple[int, ...]
    stride: tuple[int, ...]
    speedup_upper_bound: float
    flop_speedup: float

    def as_dict(self) -> dict:
        return {"q_tile": "x".join(map(str, self.q_tile)), "kv_tile": "x".join(map(str, self.kv_tile)),
                "stride": "x".join(map(str, self.stride)), "speedup_upper_bound": self.speedup_upper_bound,
                "flop_speedup": self.flop_speedup}


@lru_cache(maxsize=4096)
def _best_stride(spec: AxisSpec, tq: int, tk: int, dynamic: bool) -> tuple[int, float] | None:
    """(stride, per-axis ratio dense/max) of the best perfectly block-sparse stride on one axis, or None."""
    dense = math.ceil(spec.length / tk)
    best = None
    for s in range(1, spec.window + 1):
        t = axis_tiles(replace(spec, stride=s), tq, tk, dynamic)
        if not t.fully_block_sparse:
            continue
        ratio = dense / int(t.visited.max())
        if best is None or ratio > best[1] + 1e-12:
            best = (s, ratio)
    return best


def advise(cfg: GNAConfig, q_tiles: list[tuple[int, ...]], kv_tiles: list[tuple[int, ...]],
           kv_tiling: str = "static", top: int = 10) -> list[Advice]:
    """Perfectly block-sparse (stride, q tile, KV tile) choices for the layout and window of `cfg`, best first.
    The stride of `cfg` is ignored (it is what is searched); dilation and causal flags are kept."""
    dynamic = kv_tiling == "dynamic"
    flop = math.prod(cfg.shape) / math.prod(cfg.window)
    out = []
    for q in q_tiles:
        for k in kv_tiles:
            picks = [_best_stride(a, tq, tk, dynamic) for a, tq, tk in zip(cfg.axes, q, k, strict=True)]
            if any(p is None for p in picks):
                continue
            bound = math.prod(p[1] for p in picks)
            out.append(Advice(q, k, tuple(p[0] for p in picks), bound, flop))
    out.sort(key=lambda a: (-a.speedup_upper_bound, sum(a.stride), a.q_tile, a.kv_tile))
    return out[:top]


def advise_target(cfg: GNAConfig, target: str, kv_tiling: str = "static", top: int = 10) -> list[Advice]:
    """`advise` over the tile shapes a target's kernels allow (power-of-two boxes of the preset token counts)."""
    q_tiles, kv_tiles = allowed_tiles(target, cfg.shape)
    if not q_tiles or not kv_tiles:
        raise SimulatorError(f"--target {target}: no allowed tile shape fits the layout {cfg.shape}")
    return advise(cfg, q_tiles, kv_tiles, kv_tiling, top)
