"""The engine's bit-exact model (every rounding as the hardware does it) and its stream payloads.

`attention_model(plan, q, k, v)` takes raw Q7.8 integers (seq x E arrays) and returns raw Q7.8 outputs; Python
integers throughout, so no width is lost. `engine_payloads` lays one head out as the engine reads it: per key
block E beats of K columns then F beats of V columns (word r = key r of the block), then per query tile E beats
of Q columns (word c = query c of the tile); the output is per tile F beats of O columns (word c = query c).
"""

from __future__ import annotations

import numpy as np

from hw.hdl.attention.plan import D_MIN, DIV_STEPS, EXP2_COEFFS, LOG2E, LOG2E_FRAC, P_FRAC, Q_MAX, AttentionPlan


def exp_fixed(d: int) -> int:
    """exp(d / 2^16) for d <= 0 as UQ1.16, in the PE's five steps."""
    d = max(d, D_MIN)
    t = (d * LOG2E) >> LOG2E_FRAC
    k, f = t >> P_FRAC, t & ((1 << P_FRAC) - 1)
    c0, c1, c2, c3 = EXP2_COEFFS
    y = c3
    for c in (c2, c1, c0):
        y = ((y * f) >> P_FRAC) + c
    return y >> -k if -k < 64 else 0


def divide_round(n: int, d: int) -> int:
    """round-half-up(|n| 2^8 / d) with n's sign (d > 0, both 16 fraction bits), saturated to Q7.8."""
    num, den = abs(n) * 512 + d, 2 * d
    q = min(num // den, Q_MAX)
    assert DIV_STEPS == 17
    out = -q if n < 0 else q
    return max(-32768, min(32767, out))


def attention_model(plan: AttentionPlan, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Raw Q7.8 O (seq x F) of one head from raw Q7.8 Q, K, V (seq x E): the engine's 1-pass cascade."""
    r_, c_, e_ = plan.rows, plan.cols, plan.head_dim
    qi, ki, vi = (np.asarray(x, dtype=np.int64).tolist() for x in (q, k, v))
    out = np.zeros((plan.seq_tile, e_), dtype=np.int64)
    rm_min = -(1 << (plan.score_bits - 1))
    for t in range(plan.tiles):
        for c in range(c_):
            qq = qi[t * c_ + c]
            rm, rd, rnv = rm_min, 0, [0] * e_
            for b in range(plan.blocks):
                keys = range(b * r_, (b + 1) * r_)
                s = [sum(a * x for a, x in zip(qq, ki[m], strict=True)) for m in keys]
                rm_old, rm = rm, max(rm, max(s))
                p = [exp_fixed(x - rm) for x in s]
                prm = exp_fixed(rm_old - rm)
                sld, spd = sum(p), (rd * prm) >> P_FRAC
                slnv = [sum(pp * vi[m][f] for pp, m in zip(p, keys, strict=True)) >> 8 for f in range(e_)]
                spnv = [(x * prm) >> P_FRAC for x in rnv]
                rd = sld + spd
                rnv = [a + b_ for a, b_ in zip(slnv, spnv, strict=True)]
            out[t * c_ + c] = [divide_round(x, rd) for x in rnv]
    return out


def _pack(words, bits: int = 16) -> int:
    mask = (1 << bits) - 1
    return sum((int(w) & mask) << (bits * i) for i, w in enumerate(words))


def engine_payloads(plan: AttentionPlan, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> list[int]:
    """The input beats of one head (see the module docstring)."""
    beats: list[int] = []
    for b in range(plan.blocks):
        blk = slice(b * plan.rows, (b + 1) * plan.rows)
        beats += [_pack(k[blk, e]) for e in range(plan.head_dim)]
        beats += [_pack(v[blk, f]) for f in range(plan.head_dim)]
    for t in range(plan.tiles):
        tile = slice(t * plan.cols, (t + 1) * plan.cols)
        beats += [_pack(q[tile, e]) for e in range(plan.head_dim)]
    return beats


def unpack_outputs(plan: AttentionPlan, beats: list[int]) -> np.ndarray:
    """Raw Q7.8 O (seq x F) from the output beats of one head."""
    out = np.zeros((plan.seq_tile, plan.head_dim), dtype=np.int64)
    for i, beat in enumerate(beats):
        t, f = divmod(i, plan.head_dim)
        for c in range(plan.cols):
            w = (beat >> (16 * c)) & 0xFFFF
            out[t * plan.cols + c, f] = w - 65536 if w >= 32768 else w
    return out
