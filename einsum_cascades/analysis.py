"""Analyses: pure functions of a cascade, symbolic in the rank sizes until sizes are bound.

passes: the lower bound on passes over a reduced rank (FuseMax, MICRO 2024, Section 3). An Einsum that
iterates the rank must start a new pass when it consumes a value that is final only once the whole rank
has been traversed (a full reduction over the rank, or the last step `RNV[M1,...]` of an iterative tensor
along it). Passes propagate along the cascade's dependencies; the bound is the largest pass index of any
Einsum that iterates the rank. Nothing is stored per cascade name.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from einsum_cascades.cascade import Cascade, Einsum
from einsum_cascades.expr import refs
from einsum_cascades.masks import Band, band_count, band_count_exact, band_of
from einsum_cascades.sizes import bind, same_size
from einsum_cascades.validate import expected_axes

Sizes = Mapping[str, int] | None


# -- passes ----------------------------------------------------------------------------------------------
def einsum_passes(cascade: Cascade, rank: str) -> dict[str, int]:
    """The pass in which each Einsum runs, with respect to the (unsplit) rank `rank`."""
    parts = set(cascade.rank_parts(rank)) | {rank}
    pass_of = {t: 1 for t in cascade.inputs}
    full = {t: False for t in cascade.inputs}
    result: dict[str, int] = {}
    for e in cascade.einsums:
        iterates = any(r in parts for r in e.iteration_ranks)
        this_pass, full_input = 1, False
        for ref in refs(e.expr):
            t = ref.tensor
            if t not in pass_of:  # an iterative tensor read at its current step: same pass
                continue
            is_full = full[t] or _reads_final_step(cascade, ref, parts)
            p = pass_of[t] + (1 if is_full and iterates else 0)
            full_input = full_input or (is_full and not iterates)
            this_pass = max(this_pass, p)
        reduces_rank = iterates and not any(r in parts for r in e.output_ranks)
        pass_of[e.output] = this_pass
        full[e.output] = reduces_rank or full_input
        result[e.output] = this_pass
    return result


def _reads_final_step(cascade: Cascade, ref, parts: set[str]) -> bool:
    it = cascade.iterative.get(ref.tensor)
    if it is None or it not in parts:
        return False
    axes = expected_axes(cascade.tensor_ranks[ref.tensor], len(ref.indices), cascade.splits) or ()
    pairs = zip(ref.indices, axes, strict=False)
    return any(axis == it and idx.var is None and idx.const != "0" for idx, axis in pairs)


def passes_by_rank(cascade: Cascade) -> dict[str, int]:
    """Lower bound on passes over each unsplit rank of the inputs."""
    out = {}
    for rank in dict.fromkeys(r for ranks in cascade.inputs.values() for r in ranks):
        parts = set(cascade.rank_parts(rank)) | {rank}
        per = einsum_passes(cascade, rank)
        iterating = [per[e.output] for e in cascade.einsums if any(r in parts for r in e.iteration_ranks)]
        out[rank] = max(iterating, default=1)
    return out


def passes(cascade: Cascade) -> int:
    """The lower bound on passes a kernel takes over its input along the sequence (key) rank: 3, 2, 1 for
    FuseMax's three families. `passes_by_rank` gives the bound for every rank."""
    return passes_by_rank(cascade)[sequence_rank(cascade)]


def sequence_rank(cascade: Cascade) -> str:
    """The rank passes are counted over: the key sequence of the cascade's roles; without roles, the reduced input
    rank with the most passes (the bound is then the largest over the ranks an Einsum reduces)."""
    if cascade.roles is not None:
        return cascade.roles.ranks.key_seq
    by_rank = passes_by_rank(cascade)
    reduced = list(dict.fromkeys(cascade.base_rank(r) for e in cascade.einsums for r in e.reduced_ranks))
    candidates = [r for r in reduced if r in by_rank] or list(by_rank)
    return max(candidates, key=lambda r: by_rank[r])


# -- op counts -------------------------------------------------------------------------------------------
def _iterates(e: Einsum, cascade: Cascade, logical: str) -> bool:
    return logical in e.iteration_ranks or all(p in e.iteration_ranks for p in cascade.rank_parts(logical))


def effective_bands(cascade: Cascade) -> dict[str, Band | None]:
    """The mask that limits each Einsum's points: its own, or one inherited from a masked operand
    (absent scores stay absent through exp, division and products: intersection semantics, as in TeAAL)."""
    bands: dict[str, Band | None] = {}
    is_rank = lambda name: name[0].islower()  # noqa: E731
    for e in cascade.einsums:
        band = band_of(e.mask_terms, is_rank) if e.mask_terms else None
        if band is None:
            for op in e.operands:
                inherited = bands.get(op)
                if inherited and _iterates(e, cascade, inherited.x) and _iterates(e, cascade, inherited.y):
                    band = inherited
                    break
        bands[e.output] = band
    return bands


def mask_assumptions(cascade: Cascade) -> list[str]:
    """Assumptions behind symbolic mask counts (exact counts, with sizes bound, assume nothing)."""
    notes = []
    for band in effective_bands(cascade).values():
        if band is None:
            continue
        sx, sy = cascade.ranks[band.x], cascade.ranks[band.y]
        if same_size(sx, sy) and not any(str(s)[0].isupper() for s in _band_symbols(band)):
            continue
        note = f"symbolic counts of masked Einsums assume {sx} = {sy} and window constants <= {sx}"
        if note not in notes:
            notes.append(note)
    return notes


def _band_symbols(band: Band) -> set:
    return {s for b in (band.lo, band.hi) if b is not None for s in sympy.sympify(b).free_symbols}


def _logical_size(cascade: Cascade, name: str) -> sympy.Expr:
    return cascade.ranks[name]


def einsum_points(cascade: Cascade, sizes: Sizes = None) -> dict[str, sympy.Expr | int]:
    """Points of each Einsum's iteration space that are computed (masked points excluded)."""
    bands = effective_bands(cascade)
    out: dict[str, sympy.Expr | int] = {}
    for e in cascade.einsums:
        dense = sympy.Mul(*(cascade.ranks[r] for r in e.iteration_ranks))
        band = bands[e.output]
        if band is None:
            out[e.output] = bind(dense, sizes)
            continue
        sx, sy = _logical_size(cascade, band.x), _logical_size(cascade, band.y)
        needed = {str(s) for s in (*sympy.sympify(sx).free_symbols, *sympy.sympify(sy).free_symbols)}
        needed |= {str(s) for s in _band_symbols(band)}
        if sizes and needed <= set(sizes):
            nx_, ny_ = int(bind(sx, sizes)), int(bind(sy, sizes))
            kept = band_count_exact(band, nx_, ny_, dict(sizes))
            out[e.output] = _tidy(sympy.sympify(bind(dense / (sx * sy), sizes)) * kept)
        else:
            out[e.output] = bind(sympy.simplify(dense / (sx * sy) * band_count(band, sx, sy)), sizes)
    return out


def einsum_op_counts(cascade: Cascade, sizes: Sizes = None) -> dict[str, dict[str, sympy.Expr | int]]:
    """Operations of each Einsum by kind: points x actions per point."""
    points = einsum_points(cascade, sizes)
    return {e.output: {k: _tidy(points[e.output] * v) for k, v in e.ops_per_point.items()} for e in cascade.einsums}


def op_counts(cascade: Cascade, sizes: Sizes = None) -> dict[str, sympy.Expr | int]:
    """Total operations by kind (mac, add, sub, mul, div, max, exp, ...) for one instance of the cascade."""
    totals: dict[str, sympy.Expr | int] = {}
    for counts in einsum_op_counts(cascade, sizes).values():
        for kind, n in counts.items():
            totals[kind] = _tidy(totals.get(kind, 0) + n)
    return dict(sorted(totals.items()))


def flops(cascade: Cascade, sizes: Sizes = None) -> sympy.Expr | int:
    """Floating-point operations: a MAC counts 2, every other action 1."""
    return _tidy(sum((2 if k == "mac" else 1) * n for k, n in op_counts(cascade, sizes).items()))


# -- footprints and traffic ------------------------------------------------------------------------------
def footprints(cascade: Cascade, sizes: Sizes = None) -> dict[str, sympy.Expr | int]:
    """Elements of every tensor (inputs, intermediates, outputs); iterative tensors hold size+1 steps."""
    out: dict[str, sympy.Expr | int] = {}
    for t in list(cascade.inputs) + [e.output for e in cascade.einsums]:
        out[t] = bind(sympy.Mul(*cascade.tensor_shape(t)), sizes)
    return out


def min_traffic_bytes(cascade: Cascade, sizes: Sizes = None, bytes_per_element: int = 2) -> sympy.Expr | int:
    """Compulsory off-chip traffic: every input read once and every output written once."""
    fp = footprints(cascade, sizes)
    elements = sum(fp[t] for t in cascade.inputs) + sum(fp[t] for t in cascade.outputs)
    return _tidy(elements * bytes_per_element)


def intensity(cascade: Cascade, sizes: Sizes = None, bytes_per_element: int = 2) -> sympy.Expr | float:
    """Arithmetic intensity at compulsory traffic, in FLOPs per byte."""
    value = sympy.sympify(flops(cascade, sizes)) / sympy.sympify(min_traffic_bytes(cascade, sizes, bytes_per_element))
    return float(value) if not value.free_symbols else sympy.simplify(value)


def _tidy(value):
    if isinstance(value, sympy.Basic):
        if value.free_symbols:
            return sympy.expand(value)
        value = sympy.nsimplify(value)
        return int(value) if value.is_integer else float(value)
    return value


def op_counts_function(cascade: Cascade):
    """A numpy-vectorised evaluator of the symbolic op counts: `f(M=array, P=array, ...) -> {kind: array}`.

    Compiled once with sympy.lambdify, it costs thousands of size bindings in one call (for sweeps); masked
    cascades carry the symbolic assumptions of `mask_assumptions`."""
    symbolic = op_counts(cascade)
    names = sorted({str(s) for expr in symbolic.values() for s in sympy.sympify(expr).free_symbols})
    compiled = {k: sympy.lambdify([sympy.Symbol(n, positive=True, integer=True) for n in names], v, "numpy")
                for k, v in symbolic.items()}

    def evaluate(**sizes):
        missing = [n for n in names if n not in sizes]
        if missing:
            raise KeyError(f"op_counts_function({cascade.name}) needs sizes {', '.join(missing)}")
        return {k: f(*(sizes[n] for n in names)) for k, f in compiled.items()}

    evaluate.size_names = names  # type: ignore[attr-defined]
    return evaluate
