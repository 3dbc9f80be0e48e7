"""Tile presets for `--target b200|h100`: the default (first shipped) tile shapes of NATTEN's kernels per pass and
head dim (kernels.py holds the shipped tables and their source), and the hypothetical power-of-two boxes the
advisor searches with `--any-tile`.

Forward defaults, head dim 128 (Hassani et al. 2025, GNA, arXiv 2504.16922; NATTEN 0.21.7.dev1): Blackwell
256 queries x 128 keys (1-D 256 / 128, 2-D 16x16 / 16x8, 3-D 8x4x8 / 4x4x8); Hopper 128 x 128 (1-D 128 / 128,
2-D 16x8 / 16x8, 3-D 4x4x8 / 4x4x8).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from simulator.errors import SimulatorError
from simulator.sparse.kernels import shipped_tiles


@dataclass(frozen=True)
class TilePreset:
    """Query/KV tile sizes in tokens and the default multi-dimensional shapes per number of axes."""

    name: str
    q_tokens: int
    kv_tokens: int
    defaults: dict[int, tuple[tuple[int, ...], tuple[int, ...]]]
    source: str


PRESETS: dict[str, TilePreset] = {
    "b200": TilePreset(
        "b200", 256, 128,
        {1: ((256,), (128,)), 2: ((16, 16), (16, 8)), 3: ((8, 4, 8), (4, 4, 8))},
        "Blackwell FMHA forward, 256x128 tiles (Hassani et al. 2025, arXiv 2504.16922; NATTEN)",
    ),
    "h100": TilePreset(
        "h100", 128, 128,
        {1: ((128,), (128,)), 2: ((16, 8), (16, 8)), 3: ((4, 4, 8), (4, 4, 8))},
        "Hopper FMHA at head dim 128, 128x128 tiles (Hassani et al. 2025, arXiv 2504.16922; NATTEN)",
    ),
}


def get_preset(target: str) -> TilePreset:
    if target not in PRESETS:
        raise SimulatorError(f"--target: unknown tile preset {target!r}; choose one of {', '.join(PRESETS)} "
                             "or give --q-tile and --kv-tile")
    return PRESETS[target]


def preset_tiles(target: str, ndim: int, pass_name: str = "fwd",
                 head_dim: int = 128) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Default (query tile, KV tile) shapes of `target`'s shipped kernel for an `ndim`-D layout and pass."""
    get_preset(target)
    if ndim not in (1, 2, 3):
        raise SimulatorError(
            f"--target {target}: no default tile shape for a {ndim}-D layout (presets cover 1-D to 3-D); "
            "give --q-tile and --kv-tile"
        )
    return shipped_tiles(target, ndim, pass_name, head_dim)[0]


def preset_tokens(target: str, pass_name: str = "fwd", head_dim: int = 128) -> tuple[int, int]:
    """Tokens per query and KV tile of the target's default kernel (the flat-tiling preset)."""
    q, k = preset_tiles(target, 1, pass_name, head_dim)
    return q[0], k[0]


def tile_shapes(tokens: int, ndim: int, shape: tuple[int, ...] | None = None) -> list[tuple[int, ...]]:
    """All power-of-two box shapes with `ndim` axes holding exactly `tokens` tokens (no axis larger than the
    next power of two of the layout's extent when `shape` is given)."""
    if tokens & (tokens - 1):
        raise SimulatorError(f"tile size {tokens} is not a power of two")
    k = int(math.log2(tokens))
    out = []
    for exps in itertools.product(range(k + 1), repeat=ndim):
        if sum(exps) != k:
            continue
        dims = tuple(2**e for e in exps)
        if shape is not None and any(t > 2 ** math.ceil(math.log2(L)) for t, L in zip(dims, shape, strict=True)):
            continue
        out.append(dims)
    return out


def allowed_tiles(target: str, shape: tuple[int, ...]) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Query and KV tile shapes a kernel of `target` accepts for this layout (power-of-two boxes of the right size)."""
    preset = get_preset(target)
    return tile_shapes(preset.q_tokens, len(shape), shape), tile_shapes(preset.kv_tokens, len(shape), shape)
