"""Short carry chains for the GELU unit: adders split into registered chunks, multipliers as aligned shift-add trees.

On an ECP5 speed 6 a register -> carry chain -> register path takes about 0.5 ns clock-to-out, 1-1.5 ns of routing
into the chain and 0.06 ns a bit: a chain of more than ~20 bits, or a LUT level beside one, misses 4 ns (250 MHz).
So every adder here is a bare chain of at most `CHAIN` bits between registers; a wider sum is cut into chunks, one
per stage, the carry passed on as the low bit of the next chunk (Cat(c, a) + Cat(c, b) = 2 (a + b + c)).
Widths follow value bounds (interval arithmetic on the integers the model computes), not Amaranth's growth by a
bit per operation. The softmax keeps `pipeline.Stages.mul`; these helpers are GELU's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Mux, Shape, Signal, Value, signed, unsigned

from hw.hdl.pipeline import Stages

#: the longest carry chain (bits) between two registers
CHAIN = 18


def shape_for(lo: int, hi: int) -> Shape:
    """The smallest shape holding every integer in [lo, hi]."""
    if lo > hi:
        raise ValueError(f"empty bounds [{lo}, {hi}]")
    if lo >= 0:
        return unsigned(max(1, hi.bit_length()))
    return signed(max((-lo - 1).bit_length(), hi.bit_length() if hi > 0 else 0) + 1)


def fit(st: Stages, value: Value | int, shape: Shape, name: str) -> Signal:
    """`value` as a wire of `shape` (sign- or zero-extended, or cut: the caller's bounds say it fits)."""
    sig = Signal(shape, name=name)
    st.m.d.comb += sig.eq(value)
    return sig


@dataclass(frozen=True)
class Num:
    """A value known to lie in [lo, hi]: `value` holds it in `shape_for(lo, hi)` bits."""

    value: Value
    lo: int
    hi: int


def num(st: Stages, value: Value | int, lo: int, hi: int, name: str) -> Num:
    return Num(fit(st, value, shape_for(lo, hi), name), lo, hi)


def delay(st: Stages, x: Num, n: int, name: str) -> Num:
    return Num(st.delay(x.value, n, name), x.lo, x.hi)


def add_stages(lo: int, hi: int) -> int:
    """Stages of `add` for a result in [lo, hi]."""
    return max(1, math.ceil(shape_for(lo, hi).width / CHAIN))


def add(st: Stages, a: Num, b: Num, name: str, *, sub: bool = False, cin: Value | None = None,
        stages: int | None = None) -> tuple[Num, int]:
    """a + b + cin, or with `sub` a - b - cin (cin: one bit, or None for none), registered in chunks of at most
    `CHAIN` bits, one chunk per stage (`stages`: at least `add_stages` of the result; more spreads the chunks
    thinner). Returns the sum and its stage count."""
    c = 1 if cin is not None else 0
    lo, hi = (a.lo - b.hi - c, a.hi - b.lo) if sub else (a.lo + b.lo, a.hi + b.hi + c)
    shape = shape_for(lo, hi)
    w = shape.width
    n = stages or add_stages(lo, hi)
    if n < add_stages(lo, hi):
        raise ValueError(f"{name}: {w} bits need {add_stages(lo, hi)} stages, not {n}")
    xa = fit(st, a.value, unsigned(w), f"{name}_a")  # two's complement bits, mod 2^w
    xb = fit(st, b.value, unsigned(w), f"{name}_b")
    step = math.ceil(w / n)
    done: list[Value] = []
    carry = cin  # a carry in (sub: a borrow in), passed as the low bit of both operands
    for j in range(n):
        k = min(step, w - j * step)
        done = [st.reg(d, f"{name}_w{j}_{i}") for i, d in enumerate(done)]
        if k <= 0:  # more stages than chunks: the sum waits
            continue
        pa, pb = xa[:k], xb[:k]
        if carry is None:
            s = (pa - pb) if sub else (pa + pb)
        elif sub:  # 2a - (2b + c) = 2 (a - b - c) with the borrow kept in the chain (no inverters in front)
            s = (Cat(Const(0, 1), pa) - Cat(carry, pb))[1:]
        else:  # (2a + c) + (2b + c) = 2 (a + b + c)
            s = (Cat(carry, pa) + Cat(carry, pb))[1:]
        s = st.reg(s, f"{name}_c{j}")
        done.append(s[:k])
        carry = s[k]  # the carry (sub: the borrow, the sign of the chunk's difference)
        if j * step + k < w:
            xa, xb = st.reg(xa[k:], f"{name}_ha{j}"), st.reg(xb[k:], f"{name}_hb{j}")
    bits = Cat(*done)
    return Num(bits.as_signed() if shape.signed else bits, lo, hi), n


def shr(st: Stages, x: Num, k: int, name: str) -> Num:
    """floor(x / 2^k): wiring only."""
    if k <= 0:
        return num(st, x.value << -k, x.lo << -k, x.hi << -k, name)
    return num(st, x.value >> k, x.lo >> k, x.hi >> k, name)


def round_shift(st: Stages, x: Num, k: int, name: str) -> tuple[Num, int]:
    """Round-half-up x / 2^k (the models' `_rshift_round`) as floor(x / 2^k) + bit k-1: a chain only as wide as the
    result (adding 2^(k-1) first would run the carry through the k dropped bits)."""
    if k <= 0:
        return shr(st, x, k, name), 0
    return add(st, shr(st, x, k, f"{name}_f"), Num(Const(0, 1), 0, 0), name, cin=x.value[k - 1])


@dataclass(frozen=True)
class _Term:
    """value << shift, value in [lo, hi]."""

    value: Value
    shift: int
    lo: int
    hi: int


def mul(st: Stages, a: Num, b: Num | int, name: str, extra: Num | None = None) -> tuple[Num, int]:
    """a * b (+ `extra`, with a variable b: one more term of the tree, registered beside the partial products)
    (b >= 0: a constant, or a Num with lo >= 0) as a registered shift-add tree whose terms keep their shift: a
    sum's low bits below the other term pass through, so each chain spans only the overlap. Variable partial
    products (a AND b[k]) are registered first. Returns the product and its stage count."""
    if isinstance(b, int):
        if extra is not None:
            raise ValueError(f"{name}: an extra term needs a variable multiplier")
        if b < 0:
            raise ValueError(f"{name}: constant multiplier must be non-negative, not {b}")
        terms = [_Term(a.value, k, a.lo, a.hi) for k in range(b.bit_length()) if (b >> k) & 1]
        blo = bhi = b
        stages = 0
    else:
        if b.lo < 0:
            raise ValueError(f"{name}: variable multiplier operand b must be non-negative")
        blo, bhi = b.lo, b.hi
        nb = max(1, bhi.bit_length())
        terms = [_Term(st.reg(Mux(b.value[k], a.value, 0), f"{name}_pp{k}", a.value.shape()), k, min(0, a.lo),
                       max(0, a.hi)) for k in range(nb)]
        if extra is not None:
            terms.insert(0, _Term(st.reg(extra.value, f"{name}_ex"), 0, extra.lo, extra.hi))
        stages = 1
    plo, phi = min(a.lo * blo, a.lo * bhi, a.hi * blo, a.hi * bhi), max(a.lo * blo, a.lo * bhi, a.hi * blo, a.hi * bhi)
    if not terms:
        return num(st, 0, 0, 0, f"{name}_zero"), 0
    level = 0
    while len(terms) > 1:
        pairs = [terms[i: i + 2] for i in range(0, len(terms), 2)]
        n = max(add_stages(*_high_bounds(p[0], p[1])) for p in pairs if len(p) == 2)
        terms = [_add_terms(st, p[0], p[1], f"{name}_l{level}_{j}", n) if len(p) == 2 else
                 _Term(st.delay(p[0].value, n, f"{name}_l{level}_{j}"), p[0].shift, p[0].lo, p[0].hi)
                 for j, p in enumerate(pairs)]
        stages += n
        level += 1
    t = terms[0]
    if stages == 0:  # a single term: register it
        t = _Term(st.reg(t.value, f"{name}_r"), t.shift, t.lo, t.hi)
        stages = 1
    if extra is not None:
        plo, phi = plo + extra.lo, phi + extra.hi
    return num(st, t.value << t.shift, max(plo, t.lo << t.shift), min(phi, t.hi << t.shift), f"{name}_p"), stages


def _high_bounds(t1: _Term, t2: _Term) -> tuple[int, int]:
    d = t2.shift - t1.shift
    return (t1.lo >> d) + t2.lo, (t1.hi >> d) + t2.hi


def _add_terms(st: Stages, t1: _Term, t2: _Term, name: str, n: int) -> _Term:
    """t1 + t2 (t1.shift <= t2.shift): t1's bits below t2 wait beside the chain of the rest."""
    d = t2.shift - t1.shift
    low = fit(st, t1.value, unsigned(d), f"{name}_lo") if d > 0 else None
    high, _ = add(st, Num(t1.value >> d if d > 0 else t1.value, t1.lo >> d, t1.hi >> d),
                  Num(t2.value, t2.lo, t2.hi), name, stages=n)
    lo, hi = t1.lo + (t2.lo << d), t1.hi + (t2.hi << d)
    if low is None:
        return _Term(high.value, t1.shift, lo, hi)
    bits = Cat(st.delay(low, n, f"{name}_lp"), fit(st, high.value, unsigned(shape_for(high.lo, high.hi).width),
                                                   f"{name}_hp"))
    return _Term(bits.as_signed() if lo < 0 else bits, t1.shift, lo, hi)
