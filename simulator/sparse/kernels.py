"""Tile shapes NATTEN's shipped FNA kernels offer, forward and backward, per target and head dim.

Source: SHI-Labs/NATTEN 0.21.7.dev1 (commit 8c8729f, read 2025), fp16/bf16:
- Blackwell (`b200`): src/natten/backends/configs/cutlass_blackwell/__init__.py, `BLACKWELL_FORWARD_TILE_SHAPES` and
  `BLACKWELL_BACKWARD_TILE_SHAPES` (the tables have no head-dim key; the first forward entry is the default).
- Hopper (`h100`): src/natten/backends/configs/cutlass_hopper/__init__.py, `HOPPER_FORWARD_CONFIGS` and
  `HOPPER_BACKWARD_CONFIGS`, keyed by head dim (forward 32/64/128/256, backward 32/64/128); kernel schedules
  (cooperative / ping-pong) are dropped, since they do not change tile shapes.
Each entry is (query tile, KV tile); the numbers are copied from those tables, not derived.
"""

from __future__ import annotations

from simulator.errors import SimulatorError

Shape = tuple[int, ...]
Pair = tuple[Shape, Shape]

_BLACKWELL_FWD: dict[int, list[Pair]] = {
    1: [((256,), (128,))],
    2: [((16, 16), (16, 8)), ((16, 16), (8, 16)), ((8, 32), (8, 16)), ((8, 32), (4, 32))],
    3: [((8, 4, 8), (4, 4, 8)), ((8, 4, 8), (2, 8, 8)), ((2, 8, 16), (4, 4, 8)), ((2, 8, 16), (2, 8, 8)),
        ((4, 4, 16), (2, 4, 16)), ((2, 16, 8), (2, 8, 8)), ((4, 8, 8), (2, 8, 8))],
}
_BLACKWELL_BWD: dict[int, list[Pair]] = {
    1: [((128,), (128,))],
    2: [((16, 8), (16, 8)), ((16, 8), (8, 16)), ((8, 16), (16, 8)), ((8, 16), (8, 16))],
    3: [((4, 4, 8), (4, 4, 8)), ((4, 4, 8), (2, 8, 8)), ((1, 8, 16), (4, 4, 8)), ((2, 8, 8), (4, 4, 8)),
        ((1, 8, 16), (2, 8, 8)), ((2, 4, 16), (2, 4, 16)), ((4, 2, 16), (2, 4, 16)), ((4, 4, 8), (2, 4, 16)),
        ((2, 8, 8), (2, 8, 8))],
}
_HOPPER_FWD: dict[int, dict[int, list[Pair]]] = {
    1: {32: [((64,), (128,))], 64: [((64,), (128,))], 128: [((128,), (128,))], 256: [((128,), (64,))]},
    2: {32: [((8, 8), (16, 8)), ((8, 8), (8, 16))], 64: [((8, 8), (16, 8)), ((8, 8), (8, 16))],
        128: [((16, 8), (16, 8))], 256: [((16, 8), (8, 8)), ((8, 16), (8, 8))]},
    3: {32: [((4, 4, 4), (4, 4, 8)), ((4, 4, 4), (2, 8, 8))], 64: [((4, 4, 4), (4, 4, 8)), ((4, 4, 4), (2, 8, 8))],
        128: [((4, 4, 8), (4, 4, 8)), ((2, 8, 8), (2, 8, 8))], 256: [((4, 4, 8), (4, 4, 4)), ((2, 8, 8), (4, 4, 4))]},
}
_HOPPER_BWD_SMALL: dict[int, list[Pair]] = {  # head dims 32 and 64 share one list
    1: [((64,), (128,)), ((128,), (128,))],
    2: [((8, 8), (16, 8)), ((8, 8), (8, 16)), ((16, 8), (16, 8)), ((16, 8), (8, 16))],
    3: [((4, 4, 4), (4, 4, 8)), ((4, 4, 4), (2, 8, 8)), ((4, 4, 8), (4, 4, 8)), ((4, 4, 8), (2, 8, 8))],
}
_HOPPER_BWD: dict[int, dict[int, list[Pair]]] = {
    1: {32: _HOPPER_BWD_SMALL[1], 64: _HOPPER_BWD_SMALL[1], 128: [((64,), (128,))]},
    2: {32: _HOPPER_BWD_SMALL[2], 64: _HOPPER_BWD_SMALL[2], 128: [((8, 8), (16, 8)), ((8, 8), (8, 16))]},
    3: {32: _HOPPER_BWD_SMALL[3], 64: _HOPPER_BWD_SMALL[3],
        128: [((4, 4, 4), (4, 4, 8)), ((4, 4, 4), (2, 8, 8)), ((2, 4, 8), (2, 8, 8)), ((1, 8, 8), (2, 8, 8))]},
}
TARGETS = ("b200", "h100")


def shipped_tiles(target: str, ndim: int, pass_name: str = "fwd", head_dim: int = 128) -> list[Pair]:
    """(query tile, KV tile) pairs the target's shipped kernel offers for an `ndim`-D layout; first is default."""
    if target not in TARGETS:
        raise SimulatorError(f"--target: unknown tile preset {target!r}; choose one of {', '.join(TARGETS)} "
                             "or give --q-tile and --kv-tile")
    if ndim not in (1, 2, 3):
        raise SimulatorError(
            f"--target {target}: NATTEN ships kernels for 1-D to 3-D layouts, not {ndim}-D; give --q-tile and --kv-tile"
        )
    if target == "b200":
        return list((_BLACKWELL_BWD if pass_name == "bwd" else _BLACKWELL_FWD)[ndim])
    table = (_HOPPER_BWD if pass_name == "bwd" else _HOPPER_FWD)[ndim]
    if head_dim not in table:
        which = "backward" if pass_name == "bwd" else "forward"
        raise SimulatorError(
            f"--head-dim: NATTEN's Hopper {which} kernel ships head dims {', '.join(map(str, table))}, not {head_dim}; "
            "choose one of those or give explicit tiles"
        )
    return list(table[head_dim])
