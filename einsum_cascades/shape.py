"""Bind a cascade's size symbols from the sizes of its role ranks (query sequence, key sequence, heads, head dims).

A backend knows an attention shape (seq, kv_seq, heads, head_dim, ...); the cascade knows ranks whose sizes are
expressions of its own symbols (`m: M`, `h: H/G`, `m: N` with `p: N`). `bind_role_sizes` solves for the symbols,
so no consumer depends on how a cascade spells them.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from einsum_cascades.cascade import Cascade
from einsum_cascades.errors import CascadeError


def bind_role_sizes(cascade: Cascade, role_sizes: Mapping[str, int], known: Mapping[str, int] | None = None,
                    what: Mapping[str, str] | None = None) -> dict[str, int]:
    """Symbol values such that each rank role in `role_sizes` (e.g. {"query_seq": 4096}) has that size.

    `known` fixes symbols up front (a mapping's tile sizes); `what` names the option behind each role, for errors
    (e.g. {"key_seq": "--kv-seq"}). Roles the cascade does not have are skipped.
    """
    if cascade.roles is None:
        raise CascadeError(f"cascade {cascade.name!r} has no 'roles:' block, so its shape cannot be bound; add one "
                           "(see examples/cascades/README.md)", source=cascade.source)
    values: dict[str, int] = dict(known or {})
    ranks = cascade.roles.ranks.named()
    pending = [(role, ranks[role], int(size)) for role, size in role_sizes.items() if role in ranks]
    while pending:
        progress, left = False, []
        for role, rank, size in pending:
            expr = _bound(cascade.ranks[rank], values)
            free = sorted(expr.free_symbols, key=str)
            if len(free) == 1:
                values[str(free[0])] = _solve(cascade, free[0], expr, size, role, what)
                progress = True
            elif not free:
                if int(expr) != size:
                    option = (what or {}).get(role, role)
                    raise CascadeError(f"{option} = {size}, but cascade {cascade.name!r} fixes its {role} rank "
                                       f"{rank!r} to {cascade.ranks[rank]} = {int(expr)}; give {int(expr)}")
                progress = True
            else:
                left.append((role, rank, size))
        if not progress:
            names = ", ".join(f"{rank} ({role})" for role, rank, _ in left)
            raise CascadeError(f"cannot bind the sizes of ranks {names} of cascade {cascade.name!r}: each must be "
                               "one size symbol or an expression of one unknown", source=cascade.source)
        pending = left
    return values


def _bound(expr: sympy.Expr, values: Mapping[str, int]) -> sympy.Expr:
    return sympy.sympify(expr).subs({s: values[str(s)] for s in sympy.sympify(expr).free_symbols
                                     if str(s) in values})


def _solve(cascade: Cascade, sym: sympy.Symbol, expr: sympy.Expr, size: int, role: str,
           what: Mapping[str, str] | None) -> int:
    solutions = [s for s in sympy.solve(sympy.Eq(expr, size), sym) if s.is_integer and s > 0]
    if not solutions:
        option = (what or {}).get(role, role)
        raise CascadeError(f"{option} = {size} gives no positive integer {sym} for {role} rank size "
                           f"{expr} of cascade {cascade.name!r}; choose a size it divides")
    return int(solutions[0])


def check_sizes(cascade: Cascade, sizes: Mapping[str, int], option: str = "--sizes") -> None:
    """Every name in `sizes` is a size symbol of `cascade`, and every rank whose size `sizes` fixes is a positive
    integer (so a split tile divides its rank, and is not larger than it)."""
    known = free_size_symbols(cascade)
    unknown = sorted(set(sizes) - known)
    if unknown:
        raise CascadeError(f"{', '.join(unknown)} is not a size symbol of cascade {cascade.name!r} (its symbols: "
                           f"{', '.join(sorted(known))})", source=option)
    for rank, expr in cascade.ranks.items():
        value = _bound(expr, sizes)
        if value.free_symbols:
            continue
        if not (value.is_integer and value > 0):
            raise CascadeError(f"rank {rank!r} has size {expr} = {value}, not a positive integer; choose sizes so "
                               "that each split tile divides its rank (and is not larger than it)", source=option)


def free_size_symbols(cascade: Cascade) -> set[str]:
    """Every size symbol the cascade's ranks use."""
    return {str(s) for e in cascade.ranks.values() for s in sympy.sympify(e).free_symbols}
