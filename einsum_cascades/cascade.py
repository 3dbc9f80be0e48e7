"""The immutable `Cascade`: ranks, splits, tensors and validated Einsums, also viewed as a DAG of tensors."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sympy

if TYPE_CHECKING:
    import networkx as nx

from einsum_cascades.expr import BINARY_OPS, REDUCTIONS, BinOp, Call, Comparison, Expr, Ref, refs
from einsum_cascades.roles import Roles


@dataclass(frozen=True)
class Split:
    """`rank` split into `outer` x `inner` with tile size `tile`: rank = outer * tile + inner."""

    rank: str
    outer: str
    inner: str
    tile: sympy.Expr


@dataclass(frozen=True, eq=False)
class Einsum:
    """One validated Einsum. `output` names both the tensor written and the Einsum."""

    output: str
    output_ref: Ref
    expr: Expr
    output_ranks: tuple[str, ...]
    operands: tuple[str, ...]
    iteration_ranks: tuple[str, ...]
    reductions: tuple[tuple[str, str], ...]
    mask_terms: tuple[Comparison, ...]
    fill: float | None
    text: str
    line: int | None
    ops_per_point: dict[str, int] = field(default_factory=dict)

    @property
    def mask(self) -> str | None:
        return " and ".join(map(str, self.mask_terms)) or None

    @property
    def reduced_ranks(self) -> tuple[str, ...]:
        return tuple(rank for rank, _ in self.reductions)


@dataclass(frozen=True, eq=False)
class Cascade:
    """An ordered list of Einsums over named ranks; the unit every analysis and cost model takes."""

    name: str
    description: str
    citation: str
    ranks: dict[str, sympy.Expr]
    splits: tuple[Split, ...]
    inputs: dict[str, tuple[str, ...]]
    outputs: tuple[str, ...]
    einsums: tuple[Einsum, ...]
    tensor_ranks: dict[str, tuple[str, ...]]
    iterative: dict[str, str]
    initial: dict[str, float]
    symbols: dict[str, sympy.Expr]
    verify: dict[str, Any]
    source: str
    roles: Roles | None = None

    def einsum(self, name: str) -> Einsum:
        for e in self.einsums:
            if e.output == name:
                return e
        raise KeyError(name)

    def rank_parts(self, rank: str) -> tuple[str, ...]:
        """The ranks a logical rank is iterated as: (`m1`, `m0`) for a split `m`, else (`rank`,)."""
        for s in self.splits:
            if s.rank == rank:
                return (s.outer, s.inner)
        return (rank,)

    def base_rank(self, rank: str) -> str:
        """The unsplit rank a (possibly split-part) rank belongs to."""
        for s in self.splits:
            if rank in (s.outer, s.inner):
                return s.rank
        return rank

    def tensor_shape(self, tensor: str) -> tuple[sympy.Expr, ...]:
        """Extent of each axis; an iterative axis holds size + 1 values (the initial one and one per step)."""
        it = self.iterative.get(tensor)
        return tuple(self.ranks[r] + (1 if r == it else 0) for r in self.tensor_ranks[tensor])

    @cached_property
    def graph(self) -> nx.DiGraph:
        """Tensors as nodes, an edge operand -> output per Einsum (labelled with the Einsum's name)."""
        import networkx as nx  # imported on first use: it costs a third of a second

        g = nx.DiGraph()
        for t in self.inputs:
            g.add_node(t, role="input")
        for e in self.einsums:
            g.add_node(e.output, role="output" if e.output in self.outputs else "intermediate")
            for op in e.operands:
                g.add_edge(op, e.output, einsum=e.output)
        return g


def count_ops_per_point(expr: Expr, reductions: tuple[tuple[str, str], ...]) -> dict[str, int]:
    """Map and reduce actions per point of the iteration space; a product under a `+` reduction is one MAC."""
    counts: dict[str, int] = {}

    def add(kind: str, n: int = 1) -> None:
        counts[kind] = counts.get(kind, 0) + n

    def walk(node: Expr) -> None:
        if isinstance(node, BinOp):
            add(BINARY_OPS[node.op])
            walk(node.left)
            walk(node.right)
        elif isinstance(node, Call):
            add(node.fn)
            for arg in node.args:
                walk(arg)

    walk(expr)
    if reductions:
        op = reductions[0][1]
        if op == "+" and counts.get("mul", 0) >= 1:
            counts["mul"] -= 1
            add("mac")
            if counts["mul"] == 0:
                del counts["mul"]
        else:
            add(REDUCTIONS[op][1])
    return counts


def operand_names(expr: Expr) -> tuple[str, ...]:
    seen: list[str] = []
    for r in refs(expr):
        if r.tensor not in seen:
            seen.append(r.tensor)
    return tuple(seen)
