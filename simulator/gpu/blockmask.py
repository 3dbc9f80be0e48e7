"""Block-sparse masks on GPUs: a FlexAttention-style block mask (`--block-mask FILE`, the `.npy` / `.npz` formats of
`cascade bound --mask`, read by `simulator.sparse.masks`) costed by the (query tile, key tile) pairs of the kernel's
own tiles that it visits, and which of them are partially masked, counted by `simulator.sparse.masks.count_head`
(refined by the causal predicate when the cascade is causal). FLOPs count the attended (query, key) pairs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.masks import BlockMask, attended_pairs, count_head, load_block_mask


@dataclass(frozen=True, eq=False)
class GpuBlockMask:
    """A block mask over its tokens with 1 head (shared by all) or one per query head; compared and cached by
    identity (the mask arrays may be memory-mapped)."""

    path: str
    mask: BlockMask
    causal: bool

    @property
    def predicate(self) -> str | None:
        return "causal" if self.causal else None

    def tile_counts(self, block_q: int, block_kv: int) -> tuple[float, float, int]:
        """(visited key tiles summed over query tiles, of which partially masked, query tiles), per head (mean
        over the mask's heads)."""
        return _counts(self, block_q, block_kv)

    def tile_matrix(self, block_q: int, block_kv: int) -> tuple[np.ndarray, np.ndarray]:
        """Per query tile: visited key tiles, of which partially masked, per head (mean over the mask's heads)."""
        return _matrix(self, block_q, block_kv)

    def scores_per_head(self) -> float:
        """Attended (query, key) pairs per head, mean over the mask's heads."""
        return _scores(self)


@lru_cache(maxsize=64)
def _counts(m: GpuBlockMask, block_q: int, block_kv: int) -> tuple[float, float, int]:
    visited = partial = 0
    nq = 0
    for h in range(m.mask.heads):
        c = count_head(m.mask, h, block_q, block_kv, m.predicate)
        full = c.full if c.full is not None else np.zeros_like(c.visited)
        visited += int(c.visited.sum())
        partial += int((c.visited - full).sum())
        nq = int(c.visited.size)
    return visited / m.mask.heads, partial / m.mask.heads, nq


@lru_cache(maxsize=64)
def _matrix(m: GpuBlockMask, block_q: int, block_kv: int) -> tuple[np.ndarray, np.ndarray]:
    visited = partial = 0.0
    for h in range(m.mask.heads):
        c = count_head(m.mask, h, block_q, block_kv, m.predicate)
        full = c.full if c.full is not None else np.zeros_like(c.visited)
        visited = visited + c.visited
        partial = partial + (c.visited - full)
    return np.asarray(visited, float) / m.mask.heads, np.asarray(partial, float) / m.mask.heads


@lru_cache(maxsize=64)
def _scores(m: GpuBlockMask) -> float:
    return sum(attended_pairs(m.mask, h, m.predicate) for h in range(m.mask.heads)) / m.mask.heads


def read_block_mask(path: str, seq: int, kv_seq: int, heads: int, causal: bool) -> GpuBlockMask:
    """Load `--block-mask` for a self-attention shape of `seq` tokens and `heads` query heads; every problem is one
    line naming the option."""
    if kv_seq != seq:
        raise SimulatorError(f"--kv-seq {kv_seq}: a block mask is costed for self-attention on GPUs; use --kv-seq "
                             f"{seq} (or drop --kv-seq)", source="--kv-seq")
    try:
        mask = load_block_mask(path, seq)
    except SimulatorError as exc:
        text = str(exc).replace("--mask", "--block-mask").replace("give --shape the token count",
                                                                   "give --seq the token count")
        raise SimulatorError(text.removeprefix("--block-mask: "), source="--block-mask") from None
    if mask.heads not in (1, heads):
        raise SimulatorError(f"--block-mask {path}: has {mask.heads} heads but --heads is {heads}; give one mask "
                             f"for all heads or one per head ({heads})", source="--block-mask")
    return GpuBlockMask(path, mask, causal)
