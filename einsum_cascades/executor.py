"""Reference executor: run a cascade on numpy arrays, Einsum by Einsum, in float64.

Einsums are evaluated with numpy broadcasting over their iteration space. Runs of consecutive Einsums that
iterate an iterative rank (e.g. `m1` of the online-softmax cascade) are executed as one sequential loop over
that rank, so running values (`RM[m1+1,p] = max(RM[m1,p], LM[m1,p])`) see the previous step.
Masked points of an Einsum contribute the identity of its reduction (0 for `+`, -inf for `max`), or hold
its `else` value when it has no reduction. As in FlashAttention kernels, -inf - (-inf) is taken as -inf:
a block whose scores are all masked contributes nothing instead of NaN.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy

from einsum_cascades.cascade import Cascade, Einsum
from einsum_cascades.errors import CascadeError
from einsum_cascades.expr import REDUCTIONS, BinOp, Call, Const, Expr, Ref
from einsum_cascades.masks import mask_array
from einsum_cascades.sizes import symbol
from einsum_cascades.validate import expected_axes

_FUNCTIONS = {
    "exp": np.exp, "exp2": np.exp2, "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "recip": lambda x: 1.0 / x, "relu": lambda x: np.maximum(x, 0.0), "neg": np.negative,
    "elu1": lambda x: np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0))),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)), "silu": lambda x: x / (1.0 + np.exp(-x)),
    "max": np.maximum, "min": np.minimum,
}


def bind_sizes(cascade: Cascade, sizes: Mapping[str, int]) -> dict[str, int]:
    """Numeric value of every size symbol used by the cascade (ranks' sizes, split tiles, mask constants)."""
    values = {symbol(k): v for k, v in sizes.items()}
    bound: dict[str, int] = dict(sizes)
    for name, expr in list(cascade.symbols.items()) + [(r, e) for r, e in cascade.ranks.items()]:
        value = sympy.sympify(expr).subs(values)
        if value.free_symbols:
            missing = ", ".join(sorted(str(s) for s in value.free_symbols))
            raise CascadeError(f"cascade {cascade.name!r}: size {name} = {expr} needs a value for {missing}")
        if not value.is_integer or value <= 0:
            raise CascadeError(f"cascade {cascade.name!r}: size {name} = {expr} = {value} is not a positive "
                               "integer; choose sizes so that every split tile divides its rank")
        bound[name] = int(value)
    return bound


def execute(cascade: Cascade, inputs: Mapping[str, np.ndarray], sizes: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Run `cascade` on `inputs` (arrays in their declared rank order); returns every tensor it wrote."""
    n = bind_sizes(cascade, sizes)
    tensors: dict[str, np.ndarray] = {}
    for name, ranks in cascade.inputs.items():
        if name not in inputs:
            raise CascadeError(f"cascade {cascade.name!r} needs input {name!r} with ranks {list(ranks)}")
        arr = np.asarray(inputs[name], dtype=np.float64)
        want = tuple(n[r] for r in ranks)
        if arr.shape != want:
            raise CascadeError(f"input {name!r} has shape {arr.shape}; ranks {list(ranks)} give {want}")
        tensors[name] = arr
    for e in cascade.einsums:
        shape = tuple(int(sympy.sympify(s).subs({symbol(k): v for k, v in n.items()}))
                      for s in cascade.tensor_shape(e.output))
        tensors[e.output] = np.full(shape, np.nan)
        if e.output in cascade.iterative:
            axis = cascade.tensor_ranks[e.output].index(cascade.iterative[e.output])
            index = [slice(None)] * len(shape)
            index[axis] = 0
            tensors[e.output][tuple(index)] = cascade.initial.get(e.output, np.nan)
    for loop_rank, group in _loop_groups(cascade):
        if loop_rank is None:
            for e in group:
                _run(cascade, e, tensors, n, {})
        else:
            for step in range(n[loop_rank]):
                for e in group:
                    _run(cascade, e, tensors, n, {loop_rank: step})
    return {e.output: tensors[e.output] for e in cascade.einsums}


def _loop_groups(cascade: Cascade) -> list[tuple[str | None, list[Einsum]]]:
    loop_ranks = set(cascade.iterative.values())
    groups: list[tuple[str | None, list[Einsum]]] = []
    for e in cascade.einsums:
        rank = next((r for r in e.iteration_ranks if r in loop_ranks), None)
        if groups and groups[-1][0] == rank and rank is not None:
            groups[-1][1].append(e)
        else:
            groups.append((rank, [e]))
    return groups


def _run(cascade: Cascade, e: Einsum, tensors: dict[str, np.ndarray], n: dict[str, int],
         fixed: dict[str, int]) -> None:
    free = [v for v in e.iteration_ranks if v not in fixed]
    shape = tuple(n[v] for v in free)

    def view(ref: Ref) -> np.ndarray:
        arr = tensors[ref.tensor]
        axes = expected_axes(cascade.tensor_ranks[ref.tensor], len(ref.indices), cascade.splits)
        if len(axes) != arr.ndim:
            arr = arr.reshape(tuple(n[a] + (1 if a == cascade.iterative.get(ref.tensor) else 0) for a in axes))
        index, ref_vars = [], []
        for idx in ref.indices:
            if idx.var is None:
                index.append(int(sympy.sympify(idx.const, locals={k: symbol(k) for k in n}).subs(
                    {symbol(k): v for k, v in n.items()})))
            elif idx.var in fixed:
                index.append(fixed[idx.var] + idx.offset)
            else:
                index.append(slice(idx.offset, idx.offset + n[idx.var]))
                ref_vars.append(idx.var)
        sub = arr[tuple(index)]
        order = sorted(range(len(ref_vars)), key=lambda k: free.index(ref_vars[k]))
        sub = np.transpose(sub, order)
        return sub.reshape(tuple(n[v] if v in ref_vars else 1 for v in free))

    def evaluate(node: Expr) -> np.ndarray:
        if isinstance(node, Ref):
            return view(node)
        if isinstance(node, Const):
            return np.float64(node.value)
        if isinstance(node, BinOp):
            a, b = evaluate(node.left), evaluate(node.right)
            if node.op == "-":
                return np.where(np.isneginf(a) & np.isneginf(b), -np.inf, a - b)
            return {"+": np.add, "*": np.multiply, "/": np.divide}[node.op](a, b)
        assert isinstance(node, Call)
        return _FUNCTIONS[node.fn](*(evaluate(arg) for arg in node.args))

    with np.errstate(all="ignore"):
        value = np.broadcast_to(evaluate(e.expr), shape)
        keep = mask_array(cascade, e, free, fixed, n) if e.mask_terms else None
        if e.reductions:
            axes = tuple(free.index(r) for r, _ in e.reductions if r in free)
            if keep is not None:
                value = np.where(keep, value, REDUCTIONS[e.reductions[0][1]][0])
                keep = np.broadcast_to(keep, shape).any(axis=axes)
            reducer = {"+": np.sum, "max": np.max, "min": np.min}[e.reductions[0][1]]
            value = reducer(value, axis=axes)
        if keep is not None and e.fill is not None:
            value = np.where(keep, value, e.fill)
    out_index = []
    for idx in e.output_ref.indices:
        if idx.var in fixed:
            out_index.append(fixed[idx.var] + idx.offset)
        else:
            out_index.append(slice(idx.offset, idx.offset + n[idx.var]))
    tensors[e.output][tuple(out_index)] = value
