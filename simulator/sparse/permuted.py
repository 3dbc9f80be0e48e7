"""`--pattern permuted`: a line pattern (diagonal, vertical-stripe) seen after a token permutation, as
patterns.permuted defines it (position a holds original token perm[a], for queries and keys alike).

The permutation is kept as runs (positions whose original tokens are consecutive), so an original key interval
becomes one position interval per run it overlaps; the rows stay per-token segments. Work is O(N x pieces), in
chunks; a permutation too fragmented for that is refused with what it would need.

`stripes-first` is our deterministic form of PBS-Attn's segment-wise permutation (Wang et al. 2025, "Sparser
Block-Sparse Attention via Token Permutation", arXiv 2510.21270): inside each segment of S tokens the tokens of
the stripe columns move to the front, the rest keep their order, so the vertical lines of a segment gather into
its first KV tiles. PBS-Attn sorts keys by measured importance; a stripe pattern is what that sort finds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.lines import Diagonal, VerticalStripe
from simulator.sparse.segments import CHUNK_ROWS, SegmentChunk, SegmentCounts, count_segments

MAX_PIECES = 400_000_000  # position intervals over the whole pattern (each pass), about 10 bytes each per chunk
NAMED = ("stripes-first",)


@dataclass(frozen=True)
class Runs:
    """perm as runs: positions pos[r] .. pos[r]+length[r]-1 hold originals orig[r] .. orig[r]+length[r]-1;
    `by_orig` orders the runs by original token."""

    perm: np.ndarray
    pos: np.ndarray
    orig: np.ndarray
    length: np.ndarray
    by_orig: np.ndarray

    @classmethod
    def of(cls, perm: np.ndarray) -> Runs:
        perm = np.asarray(perm, dtype=np.int64)
        start = np.flatnonzero(np.r_[True, perm[1:] != perm[:-1] + 1])
        length = np.diff(np.r_[start, perm.size])
        orig = perm[start]
        return cls(perm, start, orig, length, np.argsort(orig, kind="stable"))

    def map_intervals(self, owner: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        """Original intervals [lo, hi] -> (owner, position lo, position hi), one per run they overlap."""
        keep = lo <= hi
        owner, lo, hi = owner[keep], lo[keep], hi[keep]
        o_lo = self.orig[self.by_orig]
        first = np.searchsorted(o_lo, lo, side="right") - 1
        last = np.searchsorted(o_lo, hi, side="right") - 1
        reps = last - first + 1
        idx = np.repeat(first, reps) + (np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps))
        r = self.by_orig[idx]
        a, b = np.repeat(lo, reps), np.repeat(hi, reps)
        p_lo = self.pos[r] + np.maximum(a, self.orig[r]) - self.orig[r]
        p_hi = self.pos[r] + np.minimum(b, self.orig[r] + self.length[r] - 1) - self.orig[r]
        return np.repeat(owner, reps), p_lo, p_hi

    def pieces(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Position intervals each original interval becomes."""
        o_lo = self.orig[self.by_orig]
        n = np.searchsorted(o_lo, hi, side="right") - np.searchsorted(o_lo, lo, side="right") + 1
        return np.where(lo <= hi, n, 0)


def stripes_first(base: VerticalStripe, segment: int) -> np.ndarray:
    """Per segment of `segment` tokens: stripe tokens first, then the others, each in order."""
    if segment < 1:
        raise SimulatorError(f"--segment: must be a positive number of tokens, not {segment}")
    tokens = np.arange(base.n, dtype=np.int64)
    hit = base._in_stripe(tokens)
    return tokens[np.lexsort((tokens, ~hit, tokens // segment))]


def load_permutation(path: str, n: int) -> np.ndarray:
    try:
        perm = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise SimulatorError(f"--permutation: cannot read {path!r} as a .npy array ({type(exc).__name__})") from None
    if perm.ndim != 1 or perm.size != n or perm.dtype.kind not in "iu":
        raise SimulatorError(f"--permutation: {path!r} must be a 1-D integer array of the {n} tokens of --shape")
    if not np.array_equal(np.sort(perm), np.arange(n)):
        raise SimulatorError(f"--permutation: {path!r} is not a permutation of 0..{n - 1}")
    return perm.astype(np.int64)


def _rows(base: Diagonal | VerticalStripe, runs: Runs, positions: np.ndarray, transposed: bool):
    lo, hi = base.rows(runs.perm[positions], transposed)
    owner = np.repeat(np.arange(positions.size), lo.shape[1])
    return owner, lo.ravel(), hi.ravel()


def permuted_chunks(base, runs: Runs, major: int, transposed: bool) -> Iterator[SegmentChunk]:
    n = base.n
    step = max(major, CHUNK_ROWS // major * major)
    total = 0
    for a in range(0, n, step):  # first pass: how many pieces, so that a fragmented permutation is refused early
        _, lo, hi = _rows(base, runs, np.arange(a, min(a + step, n)), transposed)
        total += int(runs.pieces(lo, hi).sum())
    if total > MAX_PIECES:
        raise SimulatorError(f"--permutation: the pattern becomes {total:,} position intervals under this "
                             f"permutation (about {total * 40 / 2**30:.0f} GiB of work arrays); above "
                             f"{MAX_PIECES:,} give fewer tokens or a permutation of longer runs")
    for a in range(0, n, step):
        rows = np.arange(a, min(a + step, n), dtype=np.int64)
        owner, lo, hi = runs.map_intervals(*_rows(base, runs, rows, transposed))
        yield SegmentChunk(rows, rows, owner, lo, hi)


def permuted_counts(base: Diagonal | VerticalStripe, perm: np.ndarray, q_tile: int, kv_tile: int,
                    transposed: bool = False) -> SegmentCounts:
    """Tile counts of the permuted pattern under flat tiling (KV-tile-major when `transposed`)."""
    major, minor = (kv_tile, q_tile) if transposed else (q_tile, kv_tile)
    return count_segments(base.n, base.n, major, minor, permuted_chunks(base, Runs.of(perm), major, transposed))
