"""What a bound is divided by: the work of a dense (or causal) attention kernel over the real tokens, against the
work of the sparse kernel with its padding charged, in token pairs (tile pairs x tokens per tile pair).

A tiled kernel computes every (query, key) pair of every tile pair it visits, masked or padded or not. The sparse
kernel over a multi-dimensional layout pads each axis to whole tiles (30 frames in 4-frame query tiles are 32
frames of work); the dense baseline is a FlashAttention-style kernel over the N real tokens, flattened, in tiles
of the same token counts. The causal baseline visits, per query tile, only the KV tiles that hold a key at or
before its last query (FlashAttention's causal tile skipping).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.errors import SimulatorError

BASELINES = ("dense", "causal")
PASSES = ("fwd", "bwd", "fwd+bwd")
#: Backward FLOPs per tile pair over forward FLOPs: 5 matrix products (recomputed S, dP, dV, dK, dQ) against 2
#: (FlashAttention-2, Dao 2023, arXiv 2307.08691, which counts backward FLOPs as 2.5x forward). Used only to weigh
#: the two passes in `--pass fwd+bwd`.
BWD_FLOPS_PER_FWD_FLOP = 2.5


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def check_choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise SimulatorError(f"{option}: {value!r} is not one of {', '.join(choices)}")
    return value


def baseline_tile_pairs(n_tokens: int, q_tokens: int, kv_tokens: int, baseline: str) -> int:
    """Tile pairs a dense or causal FlashAttention-style kernel visits over `n_tokens` flat tokens."""
    n_q, n_k = _ceil_div(n_tokens, q_tokens), _ceil_div(n_tokens, kv_tokens)
    if baseline == "dense":
        return n_q * n_k
    last_query = np.minimum((np.arange(n_q, dtype=np.int64) + 1) * q_tokens, n_tokens) - 1
    return int((last_query // kv_tokens + 1).sum())


def baseline_pairs(n_tokens: int, baseline: str) -> int:
    """(query, key) pairs the baseline attends: N^2 dense, N(N+1)/2 causal."""
    return n_tokens * n_tokens if baseline == "dense" else n_tokens * (n_tokens + 1) // 2


@dataclass(frozen=True)
class PassWork:
    """Work of one pass in token pairs. `major` tiles are query tiles forward and KV tiles backward."""

    pass_name: str  # "fwd" or "bwd"
    baseline_token_pairs: int  # the baseline kernel over the real tokens
    sparse_token_pairs: int  # sum over major tiles of the tiles each visits, x tokens per tile pair
    sparse_worst_token_pairs: int  # every major tile charged the worst one's visits (the GNA paper's view)
    q_padding_tokens: int  # padded query slots in the sparse kernel's query-tile grid
    kv_padding_tokens: int  # padded key slots in its KV-tile grid

    @property
    def flops_weight(self) -> float:
        return BWD_FLOPS_PER_FWD_FLOP if self.pass_name == "bwd" else 1.0


def pass_work(pass_name: str, visited: np.ndarray, n_minor_tiles_grid: int, n_tokens: int, q_tokens: int,
              kv_tokens: int, baseline: str) -> PassWork:
    """`visited`: per major tile of the sparse kernel's grid, the minor tiles it visits; `n_minor_tiles_grid`:
    how many minor tiles that grid has (both grids include padding)."""
    pair_tokens = q_tokens * kv_tokens
    n_major = int(visited.size)
    q_tiles, kv_tiles = (n_minor_tiles_grid, n_major) if pass_name == "bwd" else (n_major, n_minor_tiles_grid)
    return PassWork(
        pass_name=pass_name,
        baseline_token_pairs=baseline_tile_pairs(n_tokens, q_tokens, kv_tokens, baseline) * pair_tokens,
        sparse_token_pairs=int(visited.sum()) * pair_tokens,
        sparse_worst_token_pairs=n_major * int(visited.max()) * pair_tokens,
        q_padding_tokens=q_tiles * q_tokens - n_tokens,
        kv_padding_tokens=kv_tiles * kv_tokens - n_tokens,
    )
