"""The work a cascade implies for one query tile of a fused attention kernel, from the cascade's op counts.

This is the only place the GPU model reads the cascade. It asks `einsum_cascades.analysis.op_counts` for the op
counts of one (batch, head) instance bound to one tile's sizes (P = Br queries, M = n * Bc keys, M0 = Bc) and
splits them, by evaluating at two key lengths, into work repeated per key tile and work done once per query tile
(the epilogue). Op kinds map to GPU units: "mac" -> tensor cores; "exp", "log" -> special-function units; "div" ->
one SFU reciprocal plus one FP32 multiply; every other kind (mul, add, sub, max, ...) -> FP32 lanes.

Until `einsum_cascades.analysis` exists on this branch a hand-written table of the FuseMax cascades' counts
(Nayak et al., MICRO 2024, Cascades 3-5) stands in; `TileWork.source` says which was used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from simulator.errors import SimulatorError

#: Op kinds executed on the special-function units (one result per op; MUFU ex2, lg2, rcp).
SFU_KINDS = ("exp", "log", "div")
#: Op kinds that also cost one FP32 multiply (a division is rcp on the SFU then a multiply).
SFU_PLUS_FP32_KINDS = ("div",)


@dataclass(frozen=True)
class TileWork:
    """Ops per key tile (Br x Bc scores) and once per query tile (Br rows), by GPU unit.

    `passes` is the cascade's lower bound on passes over the keys; a GPU kernel honours a p-pass cascade by
    recomputing Q K^T (and re-reading K) p - 1 extra times.
    """

    cascade: str
    source: str
    passes: int
    mac_per_kv_tile: float
    exp_per_kv_tile: float
    fp32_per_kv_tile: float
    mac_per_q_tile: float
    exp_per_q_tile: float
    fp32_per_q_tile: float


Counts = Mapping[str, float]
CountFn = Callable[[dict[str, int]], Counts]


def _fallback_1pass(s: dict[str, int]) -> Counts:
    """FuseMax Cascade 5 (1-pass, online softmax with running max RM over m1 tiles)."""
    p, m, e, f, m1 = s["P"], s["M"], s["E"], s["F"], s["M"] // s["M0"]
    return {"mac": p * m * e + p * m * f, "max": p * m + p * m1, "sub": p * m + p * m1,
            "exp": p * m + p * m1, "add": p * m + p * m1 + p * f * m1, "mul": p * m1 + p * f * m1,
            "div": p * f}


def _fallback_2pass(s: dict[str, int]) -> Counts:
    """FuseMax Cascade 4 (2-pass: local maxima per m1 tile, then a global max and correction)."""
    p, m, e, f, m1 = s["P"], s["M"], s["E"], s["F"], s["M"] // s["M0"]
    return {"mac": p * m * e + p * m * f, "max": p * m + p * m1, "sub": p * m + p * m1,
            "exp": p * m + p * m1, "add": p * m + p * m1, "mul": p * m + p * m1, "div": p * m}


def _fallback_3pass(s: dict[str, int]) -> Counts:
    """FuseMax Cascade 3 / textbook softmax (3-pass: global max, sum of exps, divide every score)."""
    p, m, e, f = s["P"], s["M"], s["E"], s["F"]
    return {"mac": p * m * e + p * m * f, "max": p * m, "sub": p * m, "exp": p * m, "add": p * m, "div": p * m}


#: cascade name -> (passes, hand-written op counts) used only while main lacks `einsum_cascades.analysis`.
FALLBACK: dict[str, tuple[int, CountFn]] = {
    "attention-1pass": (1, _fallback_1pass),
    "attention-2pass": (2, _fallback_2pass),
    "attention-3pass": (3, _fallback_3pass),
}


def _analysis_api() -> tuple[Callable, object] | None:
    """(load_cascade, einsum_cascades.analysis) when this checkout has both, else None (use the fallback)."""
    try:
        api = importlib.import_module("einsum_cascades.analysis")
        package = importlib.import_module("einsum_cascades")
        load_cascade = getattr(package, "load_cascade", None)
        if load_cascade is None:  # main before the name is re-exported from the package
            load_cascade = importlib.import_module("einsum_cascades.loader").load_cascade
    except (ImportError, AttributeError):
        return None
    if not (hasattr(api, "op_counts") and hasattr(api, "passes")):
        return None
    return load_cascade, api


@lru_cache(maxsize=64)
def _counter(cascade: str) -> tuple[str, int, CountFn]:
    """(source, passes, sizes -> op counts) for one cascade name or path."""
    found = _analysis_api()
    if found is None:
        if cascade not in FALLBACK:
            raise SimulatorError(
                f"--cascade {cascade!r}: the GPU model can only use {', '.join(FALLBACK)} until "
                "einsum_cascades.analysis is available; pick one of those")
        passes, fn = FALLBACK[cascade]
        return "fallback (FuseMax cascade op counts written by hand)", passes, fn
    load_cascade, api = found
    c = load_cascade(cascade)
    masked = [e.output for e in c.einsums if getattr(e, "mask", None)]
    if masked:
        raise SimulatorError(
            f"--cascade {cascade!r} carries its own mask (Einsums {', '.join(masked)}); the GPU model applies "
            "masks by tile: use an unmasked cascade such as attention-1pass and pass --causal")
    exprs = api.op_counts(c)
    passes = int(api.passes(c))
    free = {s for e in exprs.values() for s in getattr(e, "free_symbols", ())}
    symbols = sorted(str(s) for s in free)

    def fn(sizes: dict[str, int]) -> Counts:
        missing = [s for s in symbols if s not in sizes]
        if missing:
            raise SimulatorError(
                f"--cascade {cascade!r}: its op counts use size(s) {', '.join(missing)} that the GPU model cannot "
                "bind (it binds M, P, E, F, L, R, M0, M1, H, G, W); use an attention cascade over those ranks")
        subs = {s: sizes[str(s)] for s in free}
        return {k: float(e.subs(subs)) if hasattr(e, "subs") else float(e) for k, e in exprs.items()}

    return "einsum_cascades.analysis.op_counts", passes, fn


def _sizes(br: int, n_kv_tiles: int, bc: int, dims: tuple[tuple[str, int], ...]) -> dict[str, int]:
    m = n_kv_tiles * bc
    return {"P": br, "M": m, "M0": bc, "M1": n_kv_tiles, "H": 1, "G": 1, "W": m, **dict(dims)}


def _by_unit(counts: Counts) -> tuple[float, float, float]:
    mac = exp = fp32 = 0.0
    for kind, n in counts.items():
        if kind == "mac":
            mac += n
        elif kind in SFU_KINDS:
            exp += n
            if kind in SFU_PLUS_FP32_KINDS:
                fp32 += n
        else:
            fp32 += n
    return mac, exp, fp32


@lru_cache(maxsize=4096)
def tile_work(cascade: str, br: int, bc: int, dims: tuple[tuple[str, int], ...]) -> TileWork:
    """Ops of one Br x Bc key tile and of one query tile's epilogue, for `cascade` (cached per tile shape).

    `dims` binds the cascade's head-dimension sizes, e.g. (("E", 128), ("F", 128)); MLA adds L and R.
    """
    source, passes, fn = _counter(cascade)
    one = _by_unit(fn(_sizes(br, 1, bc, dims)))
    two = _by_unit(fn(_sizes(br, 2, bc, dims)))
    wide_tile = _by_unit(fn(_sizes(2 * br, 2, bc, dims)))[0] - _by_unit(fn(_sizes(2 * br, 1, bc, dims)))[0]
    if not wide_tile > two[0] - one[0]:
        raise SimulatorError(
            f"--cascade {cascade!r} has no query x key score matrix (its MACs per key tile do not grow with the "
            "query tile), so it is not a fused softmax-attention kernel the GPU model costs; use an attention-* "
            "cascade (linear attention runs as GEMMs on a GPU)")
    per_tile = [b - a for a, b in zip(one, two, strict=True)]
    per_q = [max(a - t, 0.0) for a, t in zip(one, per_tile, strict=True)]
    return TileWork(cascade, source, passes, *per_tile, *per_q)
