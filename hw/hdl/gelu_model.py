"""GELU methods as integer plans: the tables and constants the hardware holds, and a bit-exact numpy model.

A `GeluPlan` is built once from (method, input format, output format); `gelu_hw` (the Amaranth unit) and
`gelu_model` (numpy, vectorised) both read it, so the two compute the same integers by construction.

Methods:
- ``edge-moe``: GELU(x) = ReLU(x) - c(|x|) with the even correction c(t) = t * Phi(-t) tabulated on [0, 2**r)
  and linearly interpolated, zero beyond (Edge-MoE, Sarkar et al., ICCAD 2023, arXiv 2305.18691, Sec. 4).
- ``poly``: the same correction as a piecewise quadratic (Horner, two multipliers) on fewer segments.
- ``i-gelu``: I-BERT's integer-only GELU, x/2 * (1 + L(x/sqrt 2)) with L(z) = sgn(z)(a(min(|z|,-b)+b)^2 + 1),
  a = -0.2888, b = -1.769 (Kim et al., I-BERT, ICML 2021, Eq. 8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hw.errors import SpecError
from hw.hdl.fixed import FixedFormat

METHODS = ("edge-moe", "poly", "i-gelu")

#: I-BERT's erf approximation constants (Kim et al., ICML 2021, Eq. 8).
IBERT_A = -0.2888
IBERT_B = -1.769


@dataclass(frozen=True)
class GeluPlan:
    """Everything the hardware needs: formats, table geometry and integer tables (raw, `table_frac` bits)."""

    method: str
    in_fmt: FixedFormat
    out_fmt: FixedFormat
    range_log2: int = 0  # correction tabulated on [0, 2**range_log2); zero beyond
    seg_log2: int = 0  # segments per unit of input: 2**seg_log2
    table_frac: int = 0  # fraction bits of the table entries (and of the internal precision for i-gelu)
    tables: tuple[tuple[int, ...], ...] = ()  # edge-moe: (T, D); poly: (A0, A1, A2); i-gelu: ()
    #: c(2^range_log2) in `table_frac` bits where the range ends at the format's most negative input (formats
    #: with few integer bits: |min| = 2^range_log2 lies just outside the table), else 0
    edge_value: int = 0

    @property
    def frac_shift(self) -> int:
        """Input fraction bits below the segment index (the interpolation weight's width)."""
        return self.in_fmt.frac_bits - self.seg_log2

    @property
    def wide_frac(self) -> int:
        """Fraction bits of ReLU(x) - c before the one final rounding to the output format."""
        return max(self.table_frac, self.in_fmt.frac_bits)

    @property
    def at_edge(self) -> bool:
        """Whether the most negative input, -2^range_log2, needs `edge_value` (it is outside the table)."""
        return self.method != "i-gelu" and self.range_log2 == self.in_fmt.int_bits

    @property
    def latency_cycles(self) -> int:
        """Cycles from an accepted input to its output, read off the built pipeline (`Gelu.latency_cycles`)."""
        from hw.hdl.gelu import Gelu

        unit = Gelu(self)
        unit._MustUse__silence = True  # built only to read its depth
        return unit.latency_cycles


def correction(t: np.ndarray) -> np.ndarray:
    """c(t) = ReLU(t) - GELU(t) = t * Phi(-t) for t >= 0 (even in t)."""
    t = np.asarray(t, dtype=np.float64)
    return t * 0.5 * np.vectorize(math.erfc)(t / math.sqrt(2.0))


def _rshift_round(v: np.ndarray, k: int) -> np.ndarray:
    """Round-half-up right shift (left shift when k < 0), the hardware's rounding."""
    if k <= 0:
        return v << (-k)
    return (v + (1 << (k - 1))) >> k


def plan_gelu(method: str, in_fmt: FixedFormat, out_fmt: FixedFormat) -> GeluPlan:
    """Choose table range, segment count and precision so the approximation error stays below ~1/4 LSB."""
    if method not in METHODS:
        raise SpecError(f"--method: unknown GELU method {method!r}; choose one of: {', '.join(METHODS)}")
    if not (in_fmt.signed and out_fmt.signed):
        raise SpecError(f"GELU needs signed formats (Qm.n) in and out, not {in_fmt} -> {out_fmt}")
    if out_fmt.int_bits < 1 or out_fmt.frac_bits > 20 or in_fmt.frac_bits > 20:
        raise SpecError(f"GELU supports at most 20 fraction bits and at least 1 integer bit out, not {out_fmt}")
    no = out_fmt.frac_bits
    if method == "i-gelu":
        return GeluPlan(method, in_fmt, out_fmt, table_frac=no + 6)
    target = 2.0 ** -(no + 2)
    r = 0
    while correction(2.0**r) >= target and r < in_fmt.int_bits:
        r += 1
    tf = no + 4
    for s in range(0, in_fmt.frac_bits + 1):
        plan = _tabulate(method, in_fmt, out_fmt, r, s, tf)
        t = plan.in_fmt.to_float(np.arange(0, 1 << (r + in_fmt.frac_bits)))
        err = np.abs(_correction_model(plan, np.arange(0, 1 << (r + in_fmt.frac_bits))) / 2.0**tf - correction(t))
        if err.max() <= 2.0 ** -(no + 2) or s == in_fmt.frac_bits:
            return plan
    raise AssertionError("unreachable")


def _tabulate(method: str, in_fmt: FixedFormat, out_fmt: FixedFormat, r: int, s: int, tf: int) -> GeluPlan:
    n_seg = 1 << (r + s)
    h = 2.0**-s
    if method == "edge-moe":
        knots = np.rint(correction(np.arange(n_seg + 1) * h) * 2.0**tf).astype(np.int64)
        tables = (tuple(int(v) for v in knots[:-1]), tuple(int(v) for v in np.diff(knots)))
    else:
        fb = in_fmt.frac_bits - s
        u = np.arange(1 << fb) / 2.0**fb if fb > 0 else np.zeros(1)
        rows = []
        for j in range(n_seg):
            coef = np.polyfit(u, correction(j * h + u * h), 2) if fb > 1 else np.array([0.0, 0.0, correction(j * h)])
            rows.append(np.rint(coef[::-1] * 2.0**tf).astype(np.int64))
        coefs = np.array(rows)
        tables = tuple(tuple(int(v) for v in coefs[:, k]) for k in range(3))
    edge = int(np.rint(correction(2.0**r) * 2.0**tf)) if r == in_fmt.int_bits else 0
    return GeluPlan(method, in_fmt, out_fmt, r, s, tf, tables, edge)


def _correction_model(plan: GeluPlan, a: np.ndarray) -> np.ndarray:
    """Tabulated correction at |x| = a (raw input units, inside the range), in `table_frac` bits."""
    fb = plan.frac_shift
    idx = a >> fb
    f = a & ((1 << fb) - 1)
    if plan.method == "edge-moe":
        t, d = (np.asarray(tab, dtype=np.int64) for tab in plan.tables)
        return t[idx] + ((d[idx] * f) >> fb)
    a0, a1, a2 = (np.asarray(tab, dtype=np.int64) for tab in plan.tables)
    q1 = a1[idx] + ((a2[idx] * f) >> fb)
    return a0[idx] + ((q1 * f) >> fb)


def gelu_model(plan: GeluPlan, raw: np.ndarray) -> np.ndarray:
    """Bit-exact output raw values of the hardware for input raw values `raw` (any int array)."""
    x = np.asarray(raw, dtype=np.int64)
    ni, no = plan.in_fmt.frac_bits, plan.out_fmt.frac_bits
    a = np.abs(x)
    if plan.method == "i-gelu":
        y = _igelu(plan, x, a)
    else:
        bound = 1 << (plan.range_log2 + ni)
        inside = a < bound
        c = np.where(inside, _correction_model(plan, np.where(inside, a, 0)), 0)
        if plan.at_edge:
            c = np.where(x == -bound, plan.edge_value, c)
        f = plan.wide_frac
        y = _rshift_round((np.maximum(x, 0) << (f - ni)) - (c << (f - plan.table_frac)), f - no)
    return np.clip(y, plan.out_fmt.min_raw, plan.out_fmt.max_raw)


def igelu_constants(plan: GeluPlan) -> dict[str, int]:
    """Integer constants of i-gelu at internal precision P = `table_frac` fraction bits."""
    p = plan.table_frac
    return {
        "K": round(2**16 / math.sqrt(2.0)),  # 1/sqrt(2) in UQ0.16
        "zshift": plan.in_fmt.frac_bits + 16 - p,  # |x| * K has ni + 16 fraction bits; keep P
        "B": round(-IBERT_B * 2**p),
        "A": round(-IBERT_A * 2**p),
        "one": 1 << p,
        "yshift": p + 1 + plan.in_fmt.frac_bits - plan.out_fmt.frac_bits,
    }


def _igelu(plan: GeluPlan, x: np.ndarray, a: np.ndarray) -> np.ndarray:
    k = igelu_constants(plan)
    p = plan.table_frac
    z = _rshift_round(a * k["K"], k["zshift"]) if k["zshift"] > 0 else a * k["K"] << -k["zshift"]
    t = k["B"] - np.minimum(z, k["B"])
    t2 = (t * t) >> p
    big_l = k["one"] - ((k["A"] * t2) >> p)
    erf = np.where(x < 0, -big_l, np.where(x > 0, big_l, 0))
    return _rshift_round(x * (k["one"] + erf), k["yshift"])
