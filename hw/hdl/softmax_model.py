"""Streaming softmax as an integer plan and a bit-exact numpy model (Softermax-style, base 2, online).

Per row (Stevens et al., Softermax, DAC 2021; online normaliser as in Rabe & Staats 2021):
1. x2 = x * log2(e) with 16 fraction bits; the running max m is kept as an integer, ceil(x2), so that rescaling
   the running sum when the max grows is a right shift: s <- (s >> (m_new - m_old)) + 2^(x2 - m_new). Four
   such sums are kept, over elements j = 0, 1, 2, 3 (mod 4), so that each has four cycles per update (select,
   coarse shift, fine shift, add); they are rescaled to the row's max and added once at the end.
2. 2^(x2 - m) = 2^-f >> n with n, f the integer and fraction parts of m - x2 >= 0; 2^-f from a 256-entry table
   with linear interpolation on the 8 bits below (error < 2^-20).
3. One reciprocal per row: s normalised to [1, 2) (exponent k), r = 1/s by restoring division (17 bits), plus one
   unit in its last place: r never falls below 1/s, so a row's dominant probability rounds to exactly 1.0
   (floor(1/s) left a one-element row at 1 - 1 LSB for about 1% of inputs), and outputs are clipped at 1.0.
4. Second pass over the stored scores: p = 2^(x2 - m) * r >> k, rounded to the output format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hw.errors import SpecError
from hw.hdl.fixed import FixedFormat

LOG2E_FRAC = 16  # fraction bits of the log2(e) constant and of x2
EXP_FRAC = 22  # fraction bits of 2^-f (table entries)
TABLE_BITS = 8  # 2^-f table index bits (256 entries); the next 8 bits interpolate
DIV_FRAC = 23  # fraction bits of the normalised divisor
RECIP_FRAC = 17  # fraction bits of the reciprocal (and of the rounded exponential in pass 2)
#: output fraction bits the datapath resolves within 1 LSB (17-bit exponentials and reciprocal); more are refused
MAX_OUT_FRAC = 16
#: row buffer entries beyond max_len: the buffer holds the row being replayed and the next row's first elements
#: (last input to first replayed read, ~70 cycles), so that rows stream back to back at one element per cycle
BUFFER_SLACK = 128
#: rows that may be between input and the end of their replay at once (depth of the per-row FIFOs)
ROWS_IN_FLIGHT = 8
SHIFT_MAX = 63  # shift amounts saturate here (every shifted value is narrower than this)
INTERLEAVE = 4  # running sums kept in parallel (element j goes to sum j mod 4): four cycles per update


@dataclass(frozen=True)
class SoftmaxPlan:
    """Formats, the longest row and the widths derived from them."""

    in_fmt: FixedFormat
    out_fmt: FixedFormat
    max_len: int

    @property
    def log2e(self) -> int:
        return round(math.log2(math.e) * 2**LOG2E_FRAC)

    @property
    def acc_frac(self) -> int:
        """Fraction bits of the running sum: enough that N roundings stay below 1/4 output LSB."""
        return max(EXP_FRAC, self.out_fmt.frac_bits + math.ceil(math.log2(self.max_len)) + 1)

    @property
    def acc_width(self) -> int:
        return self.acc_frac + math.ceil(math.log2(self.max_len + 1)) + 1

    @property
    def max_int_bits(self) -> int:
        """Signed width of the integer running max, ceil(x * log2 e)."""
        return self.in_fmt.int_bits + 3

    @property
    def buffer_depth(self) -> int:
        """Entries of the circular row buffer: a power of two >= max_len + BUFFER_SLACK."""
        return 1 << (self.max_len + BUFFER_SLACK - 1).bit_length()

    def tables(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(T, D): T[j] = 2^(-j/256) and D[j] = T[j] - T[j+1], in EXP_FRAC bits."""
        knots = [round(2.0 ** (-j / 2**TABLE_BITS) * 2**EXP_FRAC) for j in range(2**TABLE_BITS + 1)]
        return tuple(knots[:-1]), tuple(knots[j] - knots[j + 1] for j in range(2**TABLE_BITS))


def plan_softmax(in_fmt: FixedFormat, out_fmt: FixedFormat, max_len: int) -> SoftmaxPlan:
    """Validate the formats and row length (errors name the option and the fix)."""
    if not in_fmt.signed or in_fmt.frac_bits > 16 or in_fmt.int_bits > 12:
        raise SpecError(f"--in-format: softmax scores need a signed format with <= 12 integer and <= 16 "
                        f"fraction bits (e.g. Q7.8), not {in_fmt}")
    if out_fmt.signed:
        raise SpecError(f"--out-format: softmax probabilities need an unsigned format (e.g. UQ1.15), not {out_fmt}")
    if out_fmt.frac_bits > MAX_OUT_FRAC or out_fmt.frac_bits < 1:
        raise SpecError(f"--out-format: softmax resolves 1 to {MAX_OUT_FRAC} fraction bits (17-bit internal "
                        f"precision), not {out_fmt}; use e.g. UQ1.15 or UQ0.16")
    if not isinstance(max_len, int) or max_len < 1 or max_len > 65536:
        raise SpecError(f"--max-len: must be an integer from 1 to 65536, not {max_len!r}")
    return SoftmaxPlan(in_fmt, out_fmt, max_len)


def rshift_round_var(v: np.ndarray | int, sh: np.ndarray | int):
    """Round-half-up right shift by a variable amount, as the hardware does it: ((v << 1) >> sh) + 1 >> 1."""
    return (((v << 1) >> sh) + 1) >> 1


def _exp_parts(plan: SoftmaxPlan, x: np.ndarray, m: np.ndarray):
    """x2, then 2^(x2 - m) as (e in EXP_FRAC bits before the shift, n the shift) for integer maxima m."""
    x2 = _x2(plan, x)
    diff = (m << LOG2E_FRAC) - x2
    n = np.minimum(diff >> LOG2E_FRAC, SHIFT_MAX)
    hi = (diff >> (LOG2E_FRAC - TABLE_BITS)) & (2**TABLE_BITS - 1)
    lo = diff & (2 ** (LOG2E_FRAC - TABLE_BITS) - 1)
    t, d = (np.asarray(v, dtype=np.int64) for v in plan.tables())
    e = t[hi] - rshift_round_var(d[hi] * lo, LOG2E_FRAC - TABLE_BITS)
    return e, n


def _x2(plan: SoftmaxPlan, x: np.ndarray) -> np.ndarray:
    k = plan.in_fmt.frac_bits
    prod = np.asarray(x, dtype=np.int64) * plan.log2e
    return (prod + (1 << (k - 1))) >> k if k > 0 else prod


def _ceil_int(x2: np.ndarray) -> np.ndarray:
    return (x2 + (2**LOG2E_FRAC - 1)) >> LOG2E_FRAC


@dataclass(frozen=True)
class RowState:
    """What the first pass leaves for the second: integer max, normalised sum exponent k and reciprocal r."""

    m: int
    s: int
    k: int
    r: int


def first_pass(plan: SoftmaxPlan, x: np.ndarray) -> RowState:
    """Online max and sum over one row (sequential, as the hardware accumulates), then normalise and divide."""
    x = np.asarray(x, dtype=np.int64)
    c = _ceil_int(_x2(plan, x))
    running = np.maximum.accumulate(c)
    e, n = _exp_parts(plan, x, running)
    e_acc = rshift_round_var(e << (plan.acc_frac - EXP_FRAC), n)
    # INTERLEAVE interleaved sums (element j into sum j mod INTERLEAVE), each rescaled by the max's growth since
    # its last update: the hardware then has INTERLEAVE cycles per update of each (select, shift, shift, add)
    sums, last_max = [0] * INTERLEAVE, [0] * INTERLEAVE
    for j, (e_j, m_j) in enumerate(zip(e_acc.tolist(), running.tolist(), strict=True)):
        par = j % INTERLEAVE
        shift = min(m_j - last_max[par], SHIFT_MAX) if j >= INTERLEAVE else SHIFT_MAX
        sums[par] = (sums[par] >> shift) + e_j
        last_max[par] = m_j
    m = int(running[-1])
    s = sum(sums[par] >> min(m - last_max[par], SHIFT_MAX) for par in range(INTERLEAVE) if par < len(x))
    k, s_n = 0, s
    one = 1 << plan.acc_frac
    while s_n >= 2 * one:
        s_n >>= 1
        k += 1
    if s_n < one:
        s_n <<= 1
        k -= 1
    dv = s_n >> (plan.acc_frac - DIV_FRAC) if plan.acc_frac >= DIV_FRAC else s_n << (DIV_FRAC - plan.acc_frac)
    return RowState(m=m, s=s, k=k, r=restoring_reciprocal(dv) + 1)


def restoring_reciprocal(dv: int) -> int:
    """floor(2^(DIV_FRAC + RECIP_FRAC) / dv) bit by bit, for dv in [2^DIV_FRAC, 2^(DIV_FRAC+1))."""
    rem, q = 1 << DIV_FRAC, 0
    for _ in range(RECIP_FRAC + 1):
        ge = rem >= dv
        q = (q << 1) | int(ge)
        rem = (rem - dv if ge else rem) << 1
    return q


def softmax_row_model(plan: SoftmaxPlan, x: np.ndarray) -> np.ndarray:
    """Bit-exact output raw values for one row of raw input scores (1 <= len <= max_len)."""
    x = np.asarray(x, dtype=np.int64)
    if not 1 <= len(x) <= plan.max_len:
        raise SpecError(f"row length must be 1..{plan.max_len} (--max-len), not {len(x)}")
    st = first_pass(plan, x)
    e, n = _exp_parts(plan, x, np.full(len(x), st.m, dtype=np.int64))
    e18 = rshift_round_var(e, n + (EXP_FRAC - RECIP_FRAC))
    p = rshift_round_var(e18 * st.r, 2 * RECIP_FRAC - plan.out_fmt.frac_bits + st.k)
    return np.minimum(p, min(plan.out_fmt.max_raw, 1 << plan.out_fmt.frac_bits))


def softmax_model(plan: SoftmaxPlan, rows: list[np.ndarray]) -> list[np.ndarray]:
    return [softmax_row_model(plan, r) for r in rows]


def softmax_stream_model(plan: SoftmaxPlan, rows: list[np.ndarray]) -> tuple[list[np.ndarray], bool]:
    """What the unit emits for a stream of rows: rows longer than max_len are consumed and dropped (no output)
    and raise the sticky `overflow` flag; every other row is `softmax_row_model`. Returns (rows out, overflow)."""
    kept = [r for r in rows if len(r) <= plan.max_len]
    return softmax_model(plan, kept), len(kept) < len(rows)
