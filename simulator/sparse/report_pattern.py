"""`bound(pattern=...)`: named patterns on the command line (radial, sliding-tile, vertical-stripe, diagonal,
permuted), counted at scale (pattern_specs.py builds each), with the keys of every other bound."""

from __future__ import annotations

from typing import Any

from simulator.errors import SimulatorError
from simulator.sparse.bound import Geometry, combine_passes, resolve_baseline, summarize
from simulator.sparse.pattern_specs import PATTERNS, build
from simulator.sparse.report_mask import _tokens

__all__ = ["PATTERNS", "pattern_bound"]


def pattern_bound(dims, options: dict, q_tile, kv_tile, target, tiling, kv_tiling, fa, fs, plot, baseline,
                  pass_name: str, head_dim: int, pattern: str, backward_tiles) -> dict[str, Any]:
    p = build(pattern, dims, options)
    if tiling == "multi" or kv_tiling != "static":
        raise SimulatorError(f"--tiling: --pattern {pattern} counts flattened tokens (flat tiling, static KV "
                             "tiling); drop --tiling/--kv-tiling")
    n = p.n_tokens
    base = resolve_baseline(baseline, p.causal, f"--pattern {pattern}")
    tiles = {"fwd": _tokens(q_tile, kv_tile, target, "fwd", head_dim)}
    if pass_name != "fwd":
        bq, bk = backward_tiles
        tiles["bwd"] = (_tokens(bq, bk, None, "bwd", head_dim) if bq is not None or bk is not None
                        else tiles["fwd"] if not tiles["fwd"][2].endswith("preset")
                        else _tokens(None, None, target, "bwd", head_dim))
    results = {}
    for name in pass_name.split("+"):
        tq, tk, _ = tiles[name]
        seg = p.count(tq, tk, name == "bwd")
        if seg.attended_pairs == 0:
            raise SimulatorError(f"--pattern {pattern}: attends no (query, key) pair inside the {n} tokens; check "
                                 "its options against --shape")
        flop = n * n / seg.attended_pairs
        geo = Geometry(n, tq, tk, seg.attended_pairs, base, name)
        results[name] = (summarize(seg.counts, flop, flop, fa, fs, geo), seg.counts)
    main = "bwd" if pass_name == "bwd" else "fwd"
    result, counts = results[main]
    if pass_name == "fwd+bwd":
        result = combine_passes(results["fwd"][0], results["bwd"][0], fa, fs)
    mq, mk, source = tiles[main]
    out: dict[str, Any] = {
        "pattern": pattern, "shape": "x".join(map(str, dims)), **p.keys, "tokens": n, "q_tile": str(mq),
        "kv_tile": str(mk), "tile_source": source, "tiling": "flat", "kv_tiling": "static", "pass": pass_name,
        "head_dim": head_dim, **result.as_dict(),
    }
    if pass_name == "fwd+bwd":
        out["passes"] = {name: r.as_dict() for name, (r, _) in results.items()}
    if plot is not None:
        from simulator.sparse.plot import plot_counts

        detail = ", ".join(f"{k} {v}" for k, v in p.keys.items())
        out["plot"] = str(plot_counts(counts, plot, f"{pattern} {out['shape']} {detail}, tiles {mq} / {mk}"))
    return out
