"""A cascade bound to one workload's sizes, in the plain form the spatial cost model reads.

The adapter is the only place the spatial model reads a `Cascade` (einsum_cascades/cascade.py): each Einsum
becomes an `EinsumSpec` with integer rank sizes, its tensors' ranks and its op counts per instance. Linear layers
(`--scope layer`) are built here too, as plain matmul Einsums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from simulator.errors import SimulatorError


@dataclass(frozen=True)
class EinsumSpec:
    """One Einsum with concrete sizes: what it reads and writes, over which ranks, and how many ops it does."""

    name: str
    output: str
    output_ranks: tuple[str, ...]
    operands: tuple[tuple[str, tuple[str, ...]], ...]  # (tensor, its ranks)
    iteration_ranks: tuple[str, ...]
    sizes: dict[str, int]  # rank -> size, for every rank named above
    op_counts: dict[str, int]  # op kind -> count, one instance
    instances: int  # independent copies run one after another (batch x heads)

    @property
    def points(self) -> int:
        return math.prod(self.sizes[r] for r in self.iteration_ranks)


@dataclass(frozen=True)
class Problem:
    """Einsums in order, plus which tensors come from and go to outside the cascade."""

    name: str
    einsums: tuple[EinsumSpec, ...]
    inputs: frozenset[str]
    outputs: frozenset[str]


def _int_size(expr: Any, sizes: dict[str, int], what: str) -> int:
    import sympy

    expr = sympy.sympify(expr)
    value = expr.subs({s: sizes[str(s)] for s in expr.free_symbols if str(s) in sizes})  # by name: any assumptions
    if value.free_symbols:
        names = ", ".join(sorted(str(s) for s in value.free_symbols))
        raise SimulatorError(f"{what}: size symbol(s) {names} unbound; set them in the mapping's 'sizes' "
                             "or the workload")
    if not value.is_integer or int(value) <= 0:
        raise SimulatorError(f"{what}: size {expr} = {value} is not a positive integer; choose --seq (and the "
                             "mapping's 'sizes') so that split ranks divide evenly")
    return int(value)


def cascade_problem(cascade: Any, sizes: dict[str, int], instances: int) -> Problem:
    """Bind `cascade` (an einsum_cascades Cascade, or anything with the same attributes) to `sizes`."""
    rank_sizes = {r: _int_size(e, sizes, f"cascade {cascade.name!r} rank {r!r}") for r, e in cascade.ranks.items()}
    counts = _einsum_op_counts(cascade, sizes, rank_sizes)
    tensor_ranks: dict[str, tuple[str, ...]] = {t: tuple(r) for t, r in cascade.inputs.items()}
    for e in cascade.einsums:  # iterative tensors (RM[m1+1] from RM[m1]) are read before their Einsum runs
        tensor_ranks.setdefault(e.output, tuple(e.output_ranks))
    splits = {s.rank: (s.outer, s.inner) for s in getattr(cascade, "splits", ())}
    specs = []
    for e in cascade.einsums:
        operands = []
        for t in e.operands:
            if t not in tensor_ranks:
                raise SimulatorError(f"cascade {cascade.name!r}: Einsum {e.output!r} reads {t!r}, "
                                     "which is neither an input nor written")
            operands.append((t, _as_iterated(tensor_ranks[t], e.iteration_ranks, splits)))
        ranks = {r for r in (*e.iteration_ranks, *e.output_ranks)} | {r for _, rs in operands for r in rs}
        specs.append(EinsumSpec(
            name=e.output, output=e.output, output_ranks=tuple(e.output_ranks), operands=tuple(operands),
            iteration_ranks=tuple(e.iteration_ranks), sizes={r: rank_sizes[r] for r in ranks},
            op_counts={k: int(v) for k, v in counts[e.output].items() if int(v) > 0}, instances=instances))
    return Problem(cascade.name, tuple(specs), frozenset(cascade.inputs), frozenset(cascade.outputs))


def _as_iterated(ranks: tuple[str, ...], iteration_ranks: tuple[str, ...],
                 splits: dict[str, tuple[str, str]]) -> tuple[str, ...]:
    """A tensor's ranks as an Einsum indexes them: a split rank (K[e,m] read as K[e,m1,m0]) becomes its parts."""
    out: list[str] = []
    for r in ranks:
        parts = splits.get(r)
        if r not in iteration_ranks and parts and all(p in iteration_ranks for p in parts):
            out.extend(parts)
        else:
            out.append(r)
    return tuple(out)


def _einsum_op_counts(cascade: Any, sizes: dict[str, int], rank_sizes: dict[str, int]) -> dict[str, dict[str, int]]:
    """Op counts per Einsum from the cascade analysis (which handles masks: masked points do no work)."""
    from einsum_cascades.analysis import einsum_op_counts

    return {name: {k: int(v) for k, v in ops.items()} for name, ops in einsum_op_counts(cascade, sizes).items()}


#: The linear layers of one transformer layer: name, input width, output width (in units of d_model / d_ff).
LINEAR_LAYERS = (("Wq", "d", "d"), ("Wk", "d", "d"), ("Wv", "d", "d"), ("Wo", "d", "d"),
                 ("FFN1", "d", "ff"), ("FFN2", "ff", "d"))


def linear_problem(tokens: int, d_model: int, d_ff: int) -> Problem:
    """Q, K, V and output projections and the two FFN matrices as matmuls Y[n,j] = X[n,k] W[k,j], n = tokens."""
    width = {"d": d_model, "ff": d_ff}
    specs = []
    for name, k_in, j_out in LINEAR_LAYERS:
        sizes = {"n": tokens, "k": width[k_in], "j": width[j_out]}
        specs.append(EinsumSpec(
            name=name, output=f"Y_{name}", output_ranks=("n", "j"),
            operands=((f"X_{name}", ("n", "k")), (f"W_{name}", ("k", "j"))), iteration_ranks=("n", "j", "k"),
            sizes=sizes, op_counts={"mac": tokens * width[k_in] * width[j_out]}, instances=1))
    inputs = frozenset(t for s in specs for t, _ in s.operands)
    return Problem("linear-layers", tuple(specs), inputs, frozenset(s.output for s in specs))
