"""Sizes, fixed-point formats and the cycle schedule of the attention engine (`cascade hdl attention`).

Formats (raw integers; `frac` fraction bits): Q, K, V and the output O are Q7.8. Scores s = sum_e q k keep all
16 fraction bits (`score_bits` signed). d = s - max is clamped at -16 and exp(d) = 2^(d log2 e) is computed in
five multiply-add steps of the PE: t = d log2(e) (log2 e as UQ1.15), three Horner steps of a cubic for 2^f on
[0, 1) (coefficients with 16 fraction bits), then a right shift by the integer part: probabilities are UQ1.16
(`p_bits`). The running denominator RD has 16 fraction bits, the running numerators RNV 16 (the products p v are
floored from 24 to 16 fraction bits); the rescales RD * PRM and RNV * PRM floor back to 16. The output is
round-half-up(|RNV| 2^8 / RD) with the sign of RNV, by a 17-step restoring divider, saturated to Q7.8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hw.errors import SpecError

MAX_PES = 256  # rows x cols refused above this: the Python simulation and the ECP5 both give out well before
IN_FRAC = 8  # Q7.8
P_FRAC = 16
LOG2E_FRAC = 15
LOG2E = round(math.log2(math.e) * 2**LOG2E_FRAC)
D_MIN = -(16 << 16)  # d clamped at -16 (2^-23 underflows the 16 fraction bits of p)
EXP_STEPS = 5  # log2(e) multiply, 3 Horner steps, shift
DIV_STEPS = 17  # quotient bits of the restoring divider
Q_MAX = (1 << DIV_STEPS) - 1


def _exp2_coefficients() -> tuple[int, int, int, int]:
    """Least-squares cubic for 2^f on [0, 1), coefficients c0..c3 with 16 fraction bits (deterministic)."""
    f = np.linspace(0.0, 1.0, 4097)
    c3, c2, c1, c0 = np.polyfit(f, 2.0**f, 3)
    return tuple(int(round(c * 2**P_FRAC)) for c in (c0, c1, c2, c3))  # type: ignore[return-value]


EXP2_COEFFS = _exp2_coefficients()


@dataclass(frozen=True)
class AttentionPlan:
    """An engine with a `rows` x `cols` 2D array (keys per block x queries per tile), a 1D array of `cols` PEs,
    head dim E = value dim F = `head_dim`, and K/V buffers for `seq_tile` keys (the sequence length it serves:
    seq_tile queries in tiles of cols against seq_tile keys in blocks of rows)."""

    rows: int
    cols: int
    head_dim: int
    seq_tile: int

    @property
    def blocks(self) -> int:
        return self.seq_tile // self.rows

    @property
    def tiles(self) -> int:
        return self.seq_tile // self.cols

    @property
    def in_bits(self) -> int:
        """Input beat: one column of a K or V block (rows words) or of a Q tile (cols words), 16 bits a word."""
        return 16 * max(self.rows, self.cols)

    @property
    def out_bits(self) -> int:
        return 16 * self.cols

    @property
    def score_bits(self) -> int:
        return 32 + max(1, math.ceil(math.log2(self.head_dim))) + 1

    @property
    def p_bits(self) -> int:
        return 18

    @property
    def rd_bits(self) -> int:
        return 18 + math.ceil(math.log2(self.seq_tile)) + 1

    @property
    def nv_bits(self) -> int:
        return 26 + math.ceil(math.log2(self.seq_tile)) + 1

    @property
    def stage1_cycles(self) -> int:
        """BQK (E MACs) + LM beside RD + RNV (1 + F)."""
        return max(self.head_dim + 1, self.head_dim + 1)

    def block_cycles(self) -> int:
        """One key block: stage 1, RM (1), SLN/SLD beside PRM/SPD (sub + exp + add), SLNV beside SPNV (F)."""
        return self.stage1_cycles + 1 + (1 + EXP_STEPS + 1) + self.head_dim

    def tile_cycles(self) -> int:
        """A query tile: its blocks, the last block's RD/RNV, F divisions, and three cycles of control (the last
        division's write, the hand-over of O, the check that the next tile's Q is in)."""
        return self.blocks * self.block_cycles() + (1 + self.head_dim) + self.head_dim * DIV_STEPS + 3

    def in_beats(self, heads: int = 1) -> int:
        return heads * (self.blocks * 2 * self.head_dim + self.tiles * self.head_dim)


def plan_attention(rows: int, cols: int, head_dim: int, seq_tile: int) -> AttentionPlan:
    """Validate the options (each error names its option and the fix) and return the plan."""
    for name, value in (("--rows", rows), ("--cols", cols), ("--head-dim", head_dim), ("--seq-tile", seq_tile)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(f"{name}: must be a positive integer, not {value!r}")
    if rows * cols > MAX_PES:
        raise SpecError(f"--rows/--cols: a {rows} x {cols} array has {rows * cols} PEs, more than the {MAX_PES} "
                        "this generator builds; choose a smaller array")
    if head_dim > 128:
        raise SpecError(f"--head-dim: at most 128, not {head_dim}; choose a smaller head dim")
    if seq_tile % rows or seq_tile % cols:
        raise SpecError(f"--seq-tile: {seq_tile} must be a multiple of --rows ({rows}) and --cols ({cols}); "
                        "choose a multiple of both")
    if seq_tile > 65536:
        raise SpecError(f"--seq-tile: at most 65536, not {seq_tile}")
    return AttentionPlan(rows, cols, head_dim, seq_tile)
