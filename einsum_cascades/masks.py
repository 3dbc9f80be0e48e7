"""Masks: predicates on an Einsum's iteration space (causal `m <= p`, windows `p - m < W`, block diagonals).

For execution a mask is evaluated pointwise. For counting, a mask must be a band over one pair of logical
ranks, `lo <= x - y <= hi` (every causal / sliding-window / chunk-causal mask is one); the number of points
in the band is exact when sizes are bound, and symbolic when x and y have the same size N, assuming a
window constant does not exceed N (so the band is `Σ_d (N - |d|)`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from einsum_cascades.cascade import Cascade, Einsum
from einsum_cascades.errors import CascadeError
from einsum_cascades.expr import Comparison
from einsum_cascades.sizes import same_size, symbol


def _logical_value(cascade: Cascade, name: str, free: list[str], fixed: dict[str, int], n: dict[str, int]):
    if name.isdigit():
        return int(name)
    if name in fixed:
        return fixed[name]
    if name in free:
        shape = [1] * len(free)
        shape[free.index(name)] = n[name]
        return np.arange(n[name]).reshape(shape)
    parts = cascade.rank_parts(name)
    if len(parts) == 2:
        outer = _logical_value(cascade, parts[0], free, fixed, n)
        inner = _logical_value(cascade, parts[1], free, fixed, n)
        return outer * n[parts[1]] + inner
    if name in n:
        return n[name]
    raise CascadeError(f"cascade {cascade.name!r}: mask needs a value for size {name!r}; pass it with the sizes")


def mask_array(cascade: Cascade, e: Einsum, free: list[str], fixed: dict[str, int], n: dict[str, int]) -> np.ndarray:
    """Boolean array over the Einsum's free iteration ranks: True where the point is kept."""
    keep = np.ones([n[v] for v in free], dtype=bool)
    ops = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
    for c in e.mask_terms:
        left = sum(coef * _logical_value(cascade, name, free, fixed, n) for coef, name in c.left)
        right = sum(coef * _logical_value(cascade, name, free, fixed, n) for coef, name in c.right)
        keep = keep & ops[c.op](left, right)
    return keep


@dataclass(frozen=True)
class Band:
    """`lo <= x - y <= hi` over logical ranks x, y (None: unbounded on that side)."""

    x: str
    y: str
    lo: sympy.Expr | None
    hi: sympy.Expr | None


def band_of(terms: tuple[Comparison, ...], is_rank) -> Band:
    """Read a conjunction of difference constraints as one band; raise `CascadeError` for other shapes."""
    pair: tuple[str, str] | None = None
    lo: sympy.Expr | None = None
    hi: sympy.Expr | None = None
    for c in terms:
        coeffs: dict[str, int] = {}
        const = sympy.Integer(0)
        for sign, side in ((1, c.left), (-1, c.right)):
            for coef, name in side:
                if is_rank(name):
                    coeffs[name] = coeffs.get(name, 0) + sign * coef
                else:
                    const += sign * coef * (sympy.Integer(int(name)) if name.isdigit() else symbol(name))
        coeffs = {k: v for k, v in coeffs.items() if v}
        if sorted(coeffs.values()) != [-1, 1]:
            raise CascadeError(f"mask '{c}' is not a difference of two ranks; op counts support bands like "
                               "'m <= p' or 'p - m < W'")
        x = next(k for k, v in coeffs.items() if v == 1)
        y = next(k for k, v in coeffs.items() if v == -1)
        if pair is None:
            pair = (x, y)
        if (x, y) == pair:
            sign = 1
        elif (y, x) == pair:
            sign, const = -1, -const
        else:
            raise CascadeError(f"mask '{c}' relates other ranks than {pair}; one band per Einsum is supported")
        op = c.op if sign == 1 else {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[c.op]
        # x - y + const OP 0
        if op in ("<", "<="):
            bound = -const - (1 if op == "<" else 0)
            hi = bound if hi is None else sympy.Min(hi, bound)
        else:
            bound = -const + (1 if op == ">" else 0)
            lo = bound if lo is None else sympy.Max(lo, bound)
    assert pair is not None
    return Band(pair[0], pair[1], lo, hi)


def band_count(band: Band, size_x: sympy.Expr, size_y: sympy.Expr) -> sympy.Expr:
    """Number of (x, y) points in the band, symbolic, taking both ranks of size N = size_x (self-attention;
    `mask_assumptions` reports where that is assumed). Exact counts come from `band_count_exact`."""
    n = size_x if same_size(size_x, size_y) else size_y.subs(size_y, size_x)
    d = sympy.Symbol("d", integer=True)
    lo = band.lo if band.lo is not None else 1 - n
    hi = band.hi if band.hi is not None else n - 1
    below = sympy.summation(n + d, (d, lo, 0))
    above = sympy.summation(n - d, (d, 1, hi))
    return sympy.expand(below + above)


def band_count_exact(band: Band, x_size: int, y_size: int, values: dict[str, int]) -> int:
    """Exact number of points, for bound sizes, counting each diagonal d = x - y."""
    subs = {symbol(k): v for k, v in values.items()}
    lo = -(y_size - 1) if band.lo is None else max(int(sympy.sympify(band.lo).subs(subs)), -(y_size - 1))
    hi = x_size - 1 if band.hi is None else min(int(sympy.sympify(band.hi).subs(subs)), x_size - 1)
    if hi < lo:
        return 0
    diag = np.arange(lo, hi + 1)
    lengths = np.minimum(y_size, x_size - diag) - np.maximum(0, -diag)
    return int(np.clip(lengths, 0, None).sum())
