"""`analyze`: every analysis of one cascade as a JSON-ready dict (what `cascade analyze` prints)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy

from einsum_cascades import analysis
from einsum_cascades.cascade import Cascade
from einsum_cascades.verify import verify as run_verify


def _show(value: Any) -> Any:
    if isinstance(value, sympy.Basic):
        return str(value)
    return value


def analyze(cascade: Cascade, sizes: Mapping[str, int] | None = None, verify: bool = False,
            bytes_per_element: int = 2) -> dict[str, Any]:
    """Passes, op counts (symbolic, or numbers when `sizes` binds every symbol), footprints, compulsory traffic,
    intensity, a row per Einsum, and with `verify` the comparison against torch."""
    sizes = dict(sizes) if sizes else None
    seq = analysis.sequence_rank(cascade)
    per_einsum_pass = analysis.einsum_passes(cascade, seq)
    per_einsum_ops = analysis.einsum_op_counts(cascade, sizes)
    rows = [{
        "name": e.output,
        "einsum": e.text,
        "iteration_ranks": list(e.iteration_ranks),
        "reductions": {rank: op for rank, op in e.reductions},
        "mask": e.mask,
        "pass": per_einsum_pass[e.output],
        "op_counts": {k: _show(v) for k, v in per_einsum_ops[e.output].items()},
    } for e in cascade.einsums]
    result: dict[str, Any] = {
        "name": cascade.name,
        "description": cascade.description,
        "citation": cascade.citation,
        "sizes": sizes or {},
        "sequence_rank": seq,
        "passes": analysis.passes(cascade),
        "passes_by_rank": analysis.passes_by_rank(cascade),
        "op_counts": {k: _show(v) for k, v in analysis.op_counts(cascade, sizes).items()},
        "flops": _show(analysis.flops(cascade, sizes)),
        "footprints": {k: _show(v) for k, v in analysis.footprints(cascade, sizes).items()},
        "min_traffic_bytes": _show(analysis.min_traffic_bytes(cascade, sizes, bytes_per_element)),
        "intensity_flops_per_byte": _show(analysis.intensity(cascade, sizes, bytes_per_element)),
        "bytes_per_element": bytes_per_element,
        "assumptions": analysis.mask_assumptions(cascade),
        "einsums": rows,
    }
    if verify:
        outcome = run_verify(cascade)
        result.update(verified=outcome.verified, max_error=outcome.max_error, reference=outcome.reference,
                      verify_sizes=outcome.sizes)
    return result
