"""`bound(pattern="radial", ...)`: named patterns on the command line, counted at scale (radial.py), with the keys
of every other bound."""

from __future__ import annotations

from typing import Any

from simulator.errors import SimulatorError
from simulator.sparse.bound import Geometry, combine_passes, resolve_baseline, summarize
from simulator.sparse.radial import radial_counts, radial_pairs
from simulator.sparse.report_mask import _tokens
from simulator.sparse.spec import parse_dims, parse_flags

PATTERNS = ("radial",)


def pattern_bound(dims, options: dict, q_tile, kv_tile, target, tiling, kv_tiling, fa, fs, plot, baseline,
                  pass_name: str, head_dim: int, pattern: str, backward_tiles) -> dict[str, Any]:
    if pattern not in PATTERNS:
        raise SimulatorError(f"--pattern: {pattern!r} is not one of {', '.join(PATTERNS)} (GNA windows take "
                             "--window alone; block masks take --mask)")
    for option in ("stride", "dilation"):
        if options[option] is not None:
            raise SimulatorError(f"--{option}: not part of --pattern radial; drop it")
    if len(dims) != 2:
        raise SimulatorError("--shape: --pattern radial takes FRAMESxFRAME_TOKENS, e.g. --shape 64x16384")
    window = parse_dims(options["window"], "--window")
    if window is None or len(window) != 1:
        raise SimulatorError("--window: --pattern radial takes one spatial window in tokens, e.g. --window 1024")
    flags = parse_flags(options["causal"], "--causal") or (False,)
    if len(flags) not in (1, 2) or (len(flags) == 2 and flags[1]):
        raise SimulatorError("--causal: --pattern radial is causal over frames only: --causal 1 (or 1x0)")
    if tiling == "multi" or kv_tiling != "static":
        raise SimulatorError("--tiling: --pattern radial counts flattened, frame-major tokens (flat tiling, static "
                             "KV tiling); drop --tiling/--kv-tiling")
    frames, frame_tokens, w, causal = dims[0], dims[1], window[0], flags[0]
    n = frames * frame_tokens
    base = resolve_baseline(baseline, False, "--pattern radial")  # same-frame keys on both sides of a query
    pairs = radial_pairs(frames, frame_tokens, w, causal)
    flop = n * n / pairs
    tiles = {"fwd": _tokens(q_tile, kv_tile, target, "fwd", head_dim)}
    if pass_name != "fwd":
        bq, bk = backward_tiles
        tiles["bwd"] = (_tokens(bq, bk, None, "bwd", head_dim) if bq is not None or bk is not None
                        else tiles["fwd"] if not tiles["fwd"][2].endswith("preset")
                        else _tokens(None, None, target, "bwd", head_dim))
    results = {}
    for p in pass_name.split("+"):
        tq, tk, _ = tiles[p]
        counts = radial_counts(frames, frame_tokens, w, causal, tq, tk, transposed=p == "bwd")
        results[p] = (summarize(counts, flop, flop, fa, fs, Geometry(n, tq, tk, pairs, base, p)), counts)
    main = "bwd" if pass_name == "bwd" else "fwd"
    result, counts = results[main]
    if pass_name == "fwd+bwd":
        result = combine_passes(results["fwd"][0], results["bwd"][0], fa, fs)
    mq, mk, source = tiles[main]
    out: dict[str, Any] = {
        "pattern": "radial", "shape": f"{frames}x{frame_tokens}", "window": str(w), "causal": str(int(causal)),
        "tokens": n, "q_tile": str(mq), "kv_tile": str(mk), "tile_source": source, "tiling": "flat",
        "kv_tiling": "static", "pass": pass_name, "head_dim": head_dim, **result.as_dict(),
    }
    if pass_name == "fwd+bwd":
        out["passes"] = {p: r.as_dict() for p, (r, _) in results.items()}
    if plot is not None:
        from simulator.sparse.plot import plot_counts

        out["plot"] = str(plot_counts(counts, plot, f"radial {frames}x{frame_tokens} window {w}, tiles {mq} / {mk}"))
    return out

