"""`bound(mask=...)`: the bound of a block mask (one or per head, optionally refined by a token predicate), with
the same keys as a GNA bound plus per-head figures. Called by report.bound; see masks.py for the counting."""

from __future__ import annotations

import math
from typing import Any

from simulator.errors import SimulatorError
from simulator.sparse.bound import Geometry, amdahl, combine_passes, resolve_baseline, summarize
from simulator.sparse.masks import PREDICATES, BlockMask, attended_pairs, count_head, is_causal, load_block_mask
from simulator.sparse.presets import preset_tokens
from simulator.sparse.spec import explicit_tiles

DEFAULT_TARGET = "b200"


def _tokens(q_tile, kv_tile, target, pass_name: str, head_dim: int) -> tuple[int, int, str]:
    given = explicit_tiles(q_tile, kv_tile, target)
    if given is not None:
        return math.prod(given[0]), math.prod(given[1]), "--q-tile/--kv-tile"
    name = target or DEFAULT_TARGET
    tq, tk = preset_tokens(name, pass_name, head_dim)
    return tq, tk, f"{name} {'backward ' if pass_name == 'bwd' else ''}preset"


def _head_results(mask: BlockMask, tq: int, tk: int, predicate, baseline: str, pass_name: str, fa, fs):
    """Per head: (BoundResult, TileCounts)."""
    out = []
    for h in range(mask.heads):
        pairs = attended_pairs(mask, h, predicate)
        if pairs == 0:
            raise SimulatorError(f"--mask: head {h} of the block mask attends nothing; every head needs an on block")
        counts = count_head(mask, h, tq, tk, predicate, transposed=pass_name == "bwd")
        flop = mask.n_tokens**2 / pairs
        geo = Geometry(mask.n_tokens, tq, tk, pairs, baseline, pass_name)
        out.append((summarize(counts, flop, flop, fa, fs, geo), counts))
    return out


def _all_heads(results: list) -> dict[str, Any]:
    """Heads run in one launch: work adds up over heads; the worst head is reported beside it."""
    base = sum(r.work_baseline_token_pairs for r in results)
    worst = sum(r.work_sparse_worst_token_pairs for r in results)
    total = sum(r.work_sparse_token_pairs for r in results)
    per_head = [r.speedup_upper_bound for r in results]
    heads = len(results)
    dense = results[0].kv_tiles_dense
    harmonic = {key: heads / sum(1.0 / getattr(r, key) for r in results)  # pairs add up over heads
                for key in ("flop_speedup", "flop_speedup_exact", "flop_speedup_vs_baseline")}
    return {"speedup_upper_bound": base / worst, "speedup_mean": base / total, **harmonic,
            "speedup_upper_bound_padding_free": dense * heads / sum(r.kv_tiles_visited_max for r in results),
            "speedup_mean_padding_free": dense * heads / sum(r.kv_tiles_visited_mean for r in results),
            "speedup_upper_bound_per_head": per_head, "speedup_mean_per_head": [r.speedup_mean for r in results],
            "speedup_upper_bound_worst_head": min(per_head), "worst_head": per_head.index(min(per_head)),
            "work_baseline_token_pairs": base, "work_sparse_token_pairs": total,
            "work_sparse_worst_token_pairs": worst,
            "kv_tiles_visited_max": max(r.kv_tiles_visited_max for r in results),
            "kv_tiles_visited_mean": sum(r.kv_tiles_visited_mean for r in results) / len(results),
            "kv_tiles_full": sum(r.kv_tiles_full for r in results),
            "kv_tiles_partial": sum(r.kv_tiles_partial for r in results),
            "fully_block_sparse": all(r.fully_block_sparse for r in results)}


def mask_bound(dims, gna_options: dict, q_tile, kv_tile, target, tiling, kv_tiling, fa, fs, mask, plot, baseline,
               pass_name: str, head_dim: int, token_mask, pattern, backward_tiles) -> dict[str, Any]:
    for option, value in gna_options.items():
        if value is not None:
            raise SimulatorError(f"--{option}: describes a GNA window and cannot be combined with --mask; drop one")
    if pattern is not None:
        raise SimulatorError("--pattern: cannot be combined with --mask; drop one")
    if tiling == "multi" and len(dims) > 1:
        raise SimulatorError(
            "--tiling: a block mask covers flattened tokens; use --tiling flat (the default with --mask)"
        )
    if kv_tiling != "static":
        raise SimulatorError("--kv-tiling: dynamic KV tiling applies to window patterns; use static with --mask")
    if token_mask is not None and token_mask not in PREDICATES:
        raise SimulatorError(f"--token-mask: {token_mask!r} is not one of {', '.join(PREDICATES)} (the predicate "
                             "applied to every token pair inside the on blocks)")
    n = math.prod(dims)
    bm = load_block_mask(mask, n)
    base = resolve_baseline(baseline, is_causal(bm, token_mask), "the block mask")
    tq, tk, source = _tokens(q_tile, kv_tile, target, "fwd", head_dim)
    passes = {"fwd": (tq, tk, source)}
    if pass_name != "fwd":
        bq, bk = backward_tiles
        if (bq is None) != (bk is None):
            raise SimulatorError("--backward-q-tile: give both --backward-q-tile and --backward-kv-tile, or neither")
        if bq is not None:
            passes["bwd"] = (*_tokens(bq, bk, None, "bwd", head_dim)[:2], "--backward-q-tile/--backward-kv-tile")
        elif source.endswith("preset"):
            passes["bwd"] = _tokens(None, None, target, "bwd", head_dim)
        else:
            passes["bwd"] = (tq, tk, source)
    runs = {p: _head_results(bm, t[0], t[1], token_mask, base, p, fa, fs) for p, t in passes.items()
            if p in pass_name.split("+")}
    main = "bwd" if pass_name == "bwd" else "fwd"
    per_head = [r for r, _ in runs[main]]
    if pass_name == "fwd+bwd":
        per_head = [combine_passes(f, b, fa, fs) for (f, _), (b, _) in zip(runs["fwd"], runs["bwd"], strict=True)]
    result, counts = per_head[0], runs[main][0][1]
    mq, mk, msource = passes[main]
    out: dict[str, Any] = {
        "pattern": "block_mask", "mask": str(mask), "mask_blocks": "x".join(map(str, (bm.rows, bm.cols))),
        "shape": "x".join(map(str, dims)), "tokens": n, "q_tile": str(mq), "kv_tile": str(mk), "tile_source": msource,
        "tiling": "flat", "kv_tiling": "static", "pass": pass_name, "head_dim": head_dim, "heads": bm.heads,
        "token_mask": token_mask, **result.as_dict(),
    }
    if pass_name != "fwd":
        out.update(backward_q_tile=str(passes["bwd"][0]), backward_kv_tile=str(passes["bwd"][1]))
    if bm.heads > 1:
        out.update(_all_heads(per_head))
        out["e2e_speedup_upper_bound"] = amdahl(out["speedup_upper_bound"], fa, fs)
        if out["e2e_speedup_upper_bound"] is None:
            del out["e2e_speedup_upper_bound"]
    if pass_name == "fwd+bwd":
        out["passes"] = {p: _all_heads([r for r, _ in res]) if bm.heads > 1 else res[0][0].as_dict()
                         for p, res in runs.items()}
    if plot is not None:
        from simulator.sparse.plot import plot_counts, plot_heads

        title = f"block mask {mask}{' + ' + token_mask if token_mask else ''}, tiles {mq} / {mk}"
        if bm.heads > 1:
            out["plot"] = str(plot_heads(per_head, [c for _, c in runs[main]], plot, title))
        else:
            out["plot"] = str(plot_counts(counts, plot, title))
    return out
