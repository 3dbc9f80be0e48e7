"""Check parsed Einsums against the cascade's ranks and tensors and build the validated `Einsum`s.

What is checked: every tensor read exists (an input, or written by an earlier Einsum, or an iterative
tensor read at its current step), is written once, is indexed with the right number of ranks (a split rank
may be indexed by its parts), each index is a declared rank of the right size, reductions name reduced
ranks, masks name ranks and sizes, and a masked map-only Einsum says what masked points hold (`else`).
"""

from __future__ import annotations

import sympy

from einsum_cascades.cascade import Einsum, Split, count_ops_per_point, operand_names
from einsum_cascades.errors import CascadeError
from einsum_cascades.expr import REDUCTIONS, ParsedEinsum, Ref, refs
from einsum_cascades.sizes import parse_size, same_size


def _column(pe: ParsedEinsum, needle: str) -> int | None:
    pos = pe.text.find(needle)
    return pos + 1 if pos >= 0 else None


def expected_axes(declared: tuple[str, ...], n_indices: int, splits: tuple[Split, ...]) -> tuple[str, ...] | None:
    """The axes a reference with `n_indices` indices addresses: as declared, or with split ranks expanded."""
    if len(declared) == n_indices:
        return declared
    parts = {s.rank: (s.outer, s.inner) for s in splits}
    expanded = tuple(p for r in declared for p in parts.get(r, (r,)))
    return expanded if len(expanded) == n_indices else None


def build_einsums(parsed: list[ParsedEinsum], ranks: dict[str, sympy.Expr], splits: tuple[Split, ...],
                  inputs: dict[str, tuple[str, ...]], initial: dict[str, float], symbols: dict[str, sympy.Expr],
                  source: str):
    """Validate every Einsum; returns (einsums, tensor_ranks, iterative)."""
    tensor_ranks: dict[str, tuple[str, ...]] = dict(inputs)
    written: dict[str, int] = {}
    iterative: dict[str, str] = {}

    def fail(pe: ParsedEinsum, message: str, needle: str | None = None) -> CascadeError:
        return CascadeError(message, source=source, line=pe.line, column=_column(pe, needle) if needle else None)

    for i, pe in enumerate(parsed):
        out = pe.output
        if out.tensor in inputs:
            raise fail(pe, f"Einsum writes input tensor {out.tensor!r}; give the result a new name", out.tensor)
        if out.tensor in written:
            raise fail(pe, f"tensor {out.tensor!r} is written twice (also on Einsum {written[out.tensor] + 1}); "
                           "each tensor is written by one Einsum", out.tensor)
        seen: list[str] = []
        for idx in out.indices:
            if idx.var not in ranks:
                raise fail(pe, f"unknown rank {idx.var!r} in output {out}; declared ranks: {', '.join(ranks)}",
                           out.tensor)
            if idx.var in seen:
                raise fail(pe, f"rank {idx.var!r} appears twice in output {out}", out.tensor)
            seen.append(idx.var)
            if idx.offset not in (0, 1):
                raise fail(pe, f"output index {idx} : an iterative rank is written at '{idx.var}+1', no other offset",
                           out.tensor)
            if idx.offset == 1:
                if out.tensor in iterative:
                    raise fail(pe, f"{out} has two iterative ranks; only one is allowed", out.tensor)
                iterative[out.tensor] = idx.var
        tensor_ranks[out.tensor] = tuple(seen)
        written[out.tensor] = i

    einsums = []
    for i, pe in enumerate(parsed):
        out = pe.output
        out_vars = out.vars()
        iter_vars = list(out_vars)
        for ref in refs(pe.expr):
            _check_ref(pe, ref, i, tensor_ranks, written, iterative, initial, ranks, splits, symbols, fail)
            for v in ref.vars():
                if v not in iter_vars:
                    iter_vars.append(v)
        reductions = _reductions(pe, out_vars, iter_vars, fail)
        _check_mask(pe, iter_vars, ranks, splits, symbols, fail)
        if pe.mask and pe.fill is None and _masks_output(pe, out_vars, splits):
            raise fail(pe, "this mask removes whole output points; say what they hold: add 'else -inf' "
                           "(scores before a softmax) or 'else 0'", "where")
        einsums.append(Einsum(
            output=out.tensor, output_ref=out, expr=pe.expr, output_ranks=out_vars,
            operands=operand_names(pe.expr), iteration_ranks=tuple(iter_vars), reductions=reductions,
            mask_terms=pe.mask, fill=pe.fill, text=pe.text.strip(), line=pe.line,
            ops_per_point=count_ops_per_point(pe.expr, reductions),
        ))
    return tuple(einsums), tensor_ranks, iterative


def _check_ref(pe, ref: Ref, i, tensor_ranks, written, iterative, initial, ranks, splits, symbols, fail) -> None:
    t = ref.tensor
    if t not in tensor_ranks:
        known = ", ".join(sorted(tensor_ranks))
        raise fail(pe, f"unknown tensor {t!r}; known tensors: {known}", f"{t}[")
    axes = expected_axes(tensor_ranks[t], len(ref.indices), splits)
    if axes is None:
        raise fail(pe, f"{ref} has {len(ref.indices)} indices; {t} has ranks [{','.join(tensor_ranks[t])}]",
                   f"{t}[")
    if len(set(ref.vars())) != len(ref.vars()):
        raise fail(pe, f"{ref} repeats a rank; diagonals are not supported, write a mask instead", f"{t}[")
    it_rank = iterative.get(t)
    later = t in written and written[t] >= i
    for idx, axis in zip(ref.indices, axes, strict=True):
        if idx.var is None:
            try:
                parse_size(idx.const, f"index {idx.const}", symbols) if not idx.const.isdigit() else None
            except CascadeError:
                raise fail(pe, f"index {idx.const!r} of {ref} is not a size symbol; known: "
                               f"{', '.join(symbols)}", f"{t}[") from None
            if axis != it_rank and not idx.const.isdigit():
                raise fail(pe, f"constant index {idx.const} of {ref} is only allowed on an iterative rank",
                           f"{t}[")
            continue
        if idx.var not in ranks:
            raise fail(pe, f"unknown rank {idx.var!r} in {ref}; declared ranks: {', '.join(ranks)}", f"{t}[")
        if not same_size(ranks[idx.var], ranks[axis]):
            raise fail(pe, f"rank {idx.var!r} (size {ranks[idx.var]}) indexes axis {axis!r} of {t} "
                           f"(size {ranks[axis]}); sizes must match", f"{t}[")
        if idx.offset and (axis != it_rank or idx.offset != 1):
            raise fail(pe, f"offset index {idx} in {ref}: only an iterative rank may be read at '+1'", f"{t}[")
        if later and axis == it_rank and idx.offset != 0:
            raise fail(pe, f"{ref} reads step {idx} of {t} before the Einsum that writes it", f"{t}[")
    if later:
        if it_rank is None:
            raise fail(pe, f"tensor {t!r} is read before the Einsum that writes it; reorder the Einsums", f"{t}[")
        if t not in initial:
            raise fail(pe, f"iterative tensor {t!r} is read at its first step but has no initial value; add it "
                           f"under 'initial:' (e.g. {t}: 0)", f"{t}[")


def _reductions(pe, out_vars, iter_vars, fail) -> tuple[tuple[str, str], ...]:
    reduced = [v for v in iter_vars if v not in out_vars]
    explicit = {}
    for red in pe.reductions:
        if red.rank in out_vars:
            raise fail(pe, f"reduction over {red.rank!r}, which is a rank of the output; reduce a rank that is "
                           "absent on the left", "::")
        if red.rank not in iter_vars:
            raise fail(pe, f"reduction over {red.rank!r}, which no operand iterates", "::")
        explicit[red.rank] = red.op
    result = tuple((v, explicit.get(v, "+")) for v in reduced)
    if len({op for _, op in result}) > 1:
        raise fail(pe, "one Einsum may reduce with one operator only; split it into two Einsums", "::")
    for _, op in result:
        assert op in REDUCTIONS
    return result


def _masks_output(pe, out_vars, splits) -> bool:
    parts = {s.rank: (s.outer, s.inner) for s in splits}
    names = {name for c in pe.mask for _, name in c.left + c.right}
    return any(n in out_vars or any(p in out_vars for p in parts.get(n, ())) for n in names)


def _check_mask(pe, iter_vars, ranks, splits, symbols, fail) -> None:
    parts = {s.rank: (s.outer, s.inner) for s in splits}
    for comparison in pe.mask:
        for _, name in comparison.left + comparison.right:
            if name.isdigit() or name in symbols or name[0].isupper():
                continue
            if name in iter_vars:
                continue
            if name in parts and all(p in iter_vars for p in parts[name]):
                continue
            raise fail(pe, f"mask names {name!r}, which is neither a rank this Einsum iterates nor a size symbol",
                       "where")
