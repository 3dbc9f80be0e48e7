"""Rank sizes as sympy expressions of size symbols (`M`, `P`, `E`, `M0`, ...), and binding them to numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping

import sympy

from einsum_cascades.errors import CascadeError

_SYMBOLS: dict[str, sympy.Symbol] = {}


def symbol(name: str) -> sympy.Symbol:
    """The (positive integer) sympy symbol of a size name; the same object for the same name."""
    if name not in _SYMBOLS:
        _SYMBOLS[name] = sympy.Symbol(name, positive=True, integer=True)
    return _SYMBOLS[name]


def parse_size(text: object, where: str, extra: Mapping[str, sympy.Expr] | None = None) -> sympy.Expr:
    """Parse a size written as an integer or an expression of upper-case symbols, e.g. `M`, `M/M0`, `4*E`."""
    if isinstance(text, bool):
        raise CascadeError(f"{where}: expected a size (integer or symbol), found {text!r}")
    if isinstance(text, int):
        if text <= 0:
            raise CascadeError(f"{where}: sizes must be positive integers, not {text}")
        return sympy.Integer(text)
    if not isinstance(text, str) or not text.strip():
        raise CascadeError(f"{where}: expected a size such as 64, 'M' or 'M/M0', found {text!r}")
    names = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text))
    local = {n: symbol(n) for n in names}
    local.update({k: v for k, v in (extra or {}).items() if k in names})
    try:
        expr = sympy.sympify(text, locals=local)
    except (sympy.SympifyError, SyntaxError, TypeError) as exc:
        raise CascadeError(f"{where}: cannot read size {text!r} ({exc.__class__.__name__})") from None
    if not isinstance(expr, sympy.Expr) or expr.is_positive is False:
        raise CascadeError(f"{where}: size {text!r} must be a positive expression")
    return expr


def bind(expr: sympy.Expr | int, sizes: Mapping[str, int] | None) -> sympy.Expr | int:
    """Substitute numeric sizes; returns a Python int when every symbol is bound, else a sympy expression."""
    expr = sympy.sympify(expr)
    if sizes:
        expr = expr.subs({symbol(k): v for k, v in sizes.items()})
    if expr.free_symbols:
        return sympy.simplify(expr)
    value = sympy.nsimplify(expr)
    return int(value) if value.is_integer else float(value)


def same_size(a: sympy.Expr, b: sympy.Expr) -> bool:
    return sympy.simplify(a - b) == 0
