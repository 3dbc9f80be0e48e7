"""`bound(...)`: what `cascade bound` does, callable from Python with the same option names (strings as on the
command line, e.g. shape="30x48x80"). Parses, validates, counts tiles, optionally plots; returns one flat dict."""

from __future__ import annotations

import math
from typing import Any

from simulator.errors import SimulatorError
from simulator.sparse.bound import KV_TILINGS, TILINGS, gna_bound
from simulator.sparse.presets import get_preset, preset_tiles, preset_tokens
from simulator.sparse.spec import GNAConfig, explicit_tiles, parse_dims, parse_flags
from simulator.sparse.work import BASELINES, PASSES, check_choice

DEFAULT_TARGET = "b200"


def _dims_text(dims) -> str:
    return "x".join(str(int(d)) for d in dims)


def _tiles(q_tile, kv_tile, target, ndim: int, pass_name: str = "fwd",
           head_dim: int = 128) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    given = explicit_tiles(q_tile, kv_tile, target)
    if given is not None:
        return *given, "--q-tile/--kv-tile"
    name = target or DEFAULT_TARGET
    q, k = preset_tiles(name, ndim, pass_name, head_dim)
    return q, k, f"{name} preset"


def _bwd_tiles(backward_q_tile, backward_kv_tile, q, k, source, target, ndim, tiling, head_dim):
    """Backward tiles: --backward-q-tile/--backward-kv-tile, else the explicit forward tiles, else the target's
    shipped backward default."""
    bq, bk = parse_dims(backward_q_tile, "--backward-q-tile"), parse_dims(backward_kv_tile, "--backward-kv-tile")
    if (bq is None) != (bk is None):
        missing = "--backward-kv-tile" if bk is None else "--backward-q-tile"
        raise SimulatorError(f"{missing}: give both --backward-q-tile and --backward-kv-tile, or neither")
    if bq is not None:
        return bq, bk, "--backward-q-tile/--backward-kv-tile"
    if not source.endswith("preset"):
        return q, k, source
    name = target or DEFAULT_TARGET
    if tiling == "flat":
        tq, tk = preset_tokens(name, "bwd", head_dim)
        return (tq,), (tk,), f"{name} backward preset"
    return (*preset_tiles(name, ndim, "bwd", head_dim), f"{name} backward preset")


def _fraction(value: float | None, option: str) -> float | None:
    if value is not None and not (isinstance(value, int | float) and math.isfinite(value)):
        raise SimulatorError(f"{option}: must be a number between 0 and 1, not {value!r}")
    return value


def bound(
    shape: str,
    window: str | None = None,
    stride: str | None = None,
    dilation: str | None = None,
    causal: str | None = None,
    q_tile: str | None = None,
    kv_tile: str | None = None,
    target: str | None = None,
    tiling: str | None = None,
    kv_tiling: str = "static",
    attention_fraction: float | None = None,
    sparse_fraction: float | None = None,
    mask: str | None = None,
    plot: str | None = None,
    baseline: str | None = None,
    pass_: str = "fwd",
    head_dim: int = 128,
    backward_q_tile: str | None = None,
    backward_kv_tile: str | None = None,
    token_mask: str | None = None,
    pattern: str | None = None,
    permute_fraction: float | None = None,
    columns: str | None = None,
    offsets: str | None = None,
    width: int | None = None,
    local: int | None = None,
    tile: str | None = None,
    base: str | None = None,
    permutation: str | None = None,
    segment: int | None = None,
) -> dict[str, Any]:
    """Speedup upper bound of a GNA pattern (`window` given), of a block mask (`mask` given) or of a named
    pattern (`pattern` given). `pass_` is fwd, bwd or fwd+bwd; `baseline` dense or causal (default: causal when
    the pattern is causal along the sequence). `columns` .. `segment` are the options of the named patterns
    (pattern_specs.USES says which pattern reads which)."""
    extra = dict(columns=columns, offsets=offsets, width=width, local=local, tile=tile, base=base,
                 permutation=permutation, segment=segment)
    if pattern is None:
        given = [k for k, v in extra.items() if v is not None]
        if given:
            raise SimulatorError(f"--{given[0]}: an option of the named patterns; give --pattern as well")
    if permute_fraction is not None and not (isinstance(permute_fraction, int | float)
                                             and math.isfinite(permute_fraction) and permute_fraction >= 0):
        raise SimulatorError(f"--permute-fraction: must be a non-negative number (the token permutation's time as a "
                             f"fraction of the dense kernel's), not {permute_fraction!r}")
    out = _bound(shape, window, stride, dilation, causal, q_tile, kv_tile, target, tiling, kv_tiling,
                 attention_fraction, sparse_fraction, mask, plot, baseline, pass_, head_dim, backward_q_tile,
                 backward_kv_tile, token_mask, pattern, extra)
    if permute_fraction is not None:
        out.update(with_permute(out["speedup_upper_bound"], out["speedup_mean"], permute_fraction))
    return out


def with_permute(worst: float, mean: float, fraction: float) -> dict[str, float]:
    """A token permutation before the kernel (and its inverse after) adds `fraction` of the dense kernel's time:
    time / dense time = 1 / bound + fraction."""
    return {"permute_fraction": fraction, "speedup_upper_bound_with_permute": 1.0 / (1.0 / worst + fraction),
            "speedup_mean_with_permute": 1.0 / (1.0 / mean + fraction)}


def _bound(shape, window, stride, dilation, causal, q_tile, kv_tile, target, tiling, kv_tiling, attention_fraction,
           sparse_fraction, mask, plot, baseline, pass_, head_dim, backward_q_tile, backward_kv_tile, token_mask,
           pattern, extra=None) -> dict[str, Any]:
    dims = parse_dims(shape, "--shape")
    if dims is None:
        raise SimulatorError("--shape: required, e.g. --shape 30x48x80")
    if target is not None:
        get_preset(target)
    if tiling is not None and tiling not in TILINGS:
        raise SimulatorError(f"--tiling: {tiling!r} is not one of {', '.join(TILINGS)}")
    if kv_tiling not in KV_TILINGS:
        raise SimulatorError(f"--kv-tiling: {kv_tiling!r} is not one of {', '.join(KV_TILINGS)}")
    if plot is not None:
        from simulator.sparse.plot import check_plot_path

        check_plot_path(plot)
    fa = _fraction(attention_fraction, "--attention-fraction")
    fs = _fraction(sparse_fraction, "--sparse-fraction")
    check_choice(pass_, PASSES, "--pass")
    if baseline is not None:
        check_choice(baseline, BASELINES, "--baseline")
    if not isinstance(head_dim, int) or head_dim < 1:
        raise SimulatorError(f"--head-dim: must be a positive integer, not {head_dim!r}")
    if token_mask is not None and mask is None:
        raise SimulatorError("--token-mask: refines a block mask; give --mask FILE as well")
    if pattern is not None and mask is None:
        from simulator.sparse.report_pattern import pattern_bound

        options = dict(window=window, stride=stride, dilation=dilation, causal=causal, **(extra or {}))
        return pattern_bound(dims, options, q_tile,
                             kv_tile, target, tiling, kv_tiling, fa, fs, plot, baseline, pass_, head_dim, pattern,
                             (backward_q_tile, backward_kv_tile))
    if mask is not None:
        from simulator.sparse.report_mask import mask_bound

        return mask_bound(dims, dict(window=window, stride=stride, dilation=dilation, causal=causal), q_tile, kv_tile,
                          target, tiling, kv_tiling, fa, fs, mask, plot, baseline, pass_, head_dim, token_mask,
                          pattern, (backward_q_tile, backward_kv_tile))
    if window is None:
        raise SimulatorError("--window: required unless --mask is given, e.g. --window 18x24x24")
    cfg = GNAConfig.build(dims, parse_dims(window, "--window"), parse_dims(stride, "--stride"),
                          parse_dims(dilation, "--dilation"), parse_flags(causal, "--causal"))
    tiling = tiling or "multi"
    q, k, source = _tiles(q_tile, kv_tile, target, len(dims), "fwd", head_dim)
    if tiling == "flat" and source.endswith("preset"):
        tq, tk = preset_tokens(target or DEFAULT_TARGET, "fwd", head_dim)
        q, k = (tq,), (tk,)
    bq, bk, bsource = q, k, source
    if pass_ != "fwd":
        bq, bk, bsource = _bwd_tiles(backward_q_tile, backward_kv_tile, q, k, source, target, len(dims), tiling,
                                     head_dim)
    elif backward_q_tile is not None or backward_kv_tile is not None:
        raise SimulatorError("--backward-q-tile: applies to --pass bwd or fwd+bwd; drop it or choose a pass")
    result, counts = gna_bound(cfg, q, k, tiling, kv_tiling, fa, fs, baseline, pass_, (bq, bk))
    out: dict[str, Any] = {
        "pattern": "gna", "shape": _dims_text(cfg.shape), "window": _dims_text(cfg.window),
        "stride": _dims_text(cfg.stride), "dilation": _dims_text(cfg.dilation),
        "causal": _dims_text(int(c) for c in cfg.causal), "tokens": math.prod(cfg.shape),
        "q_tile": _dims_text(q), "kv_tile": _dims_text(k), "tile_source": source, "tiling": tiling,
        "kv_tiling": kv_tiling, "pass": pass_, "head_dim": head_dim, **result.as_dict(),
    }
    if pass_ != "fwd":
        out.update(backward_q_tile=_dims_text(bq), backward_kv_tile=_dims_text(bk), backward_tile_source=bsource)
    if pass_ == "bwd":  # backward counts are KV-tile-major
        out["q_tile"], out["kv_tile"], out["tile_source"] = out["backward_q_tile"], out["backward_kv_tile"], bsource
    if pass_ == "fwd+bwd":
        out["passes"] = {p: gna_bound(cfg, *tiles, tiling, kv_tiling, None, None, result.baseline, p)[0].as_dict()
                         for p, tiles in (("fwd", (q, k)), ("bwd", (bq, bk)))}
    if plot is not None:
        from simulator.sparse.plot import plot_counts

        title = (f"GNA {out['shape']} window {out['window']} stride {out['stride']}, "
                 f"tiles {out['q_tile']} / {out['kv_tile']}")
        out["plot"] = str(plot_counts(counts, plot, title))
    return out


def advice(shape: str, window: str, dilation: str | None = None, causal: str | None = None,
           target: str | None = None, kv_tiling: str = "static", top: int = 10, any_tile: bool = False,
           head_dim: int = 128) -> list[dict[str, Any]]:
    """The `top` strides and tile shapes (of `target`'s shipped kernels, default b200; any power-of-two box with
    `any_tile`) that make the pattern perfectly block-sparse, best padding-aware bound first (what
    `cascade bound --advise N` adds under `advice`; `advice_note` says why when the list is empty)."""
    from simulator.sparse.advisor import advise_target

    if top < 1:
        raise SimulatorError(f"--advise must be a positive number of suggestions, not {top}")
    dims = parse_dims(shape, "--shape")
    if dims is None or window is None:
        raise SimulatorError("--advise needs --shape and --window")
    cfg = GNAConfig.build(dims, parse_dims(window, "--window"), None, parse_dims(dilation, "--dilation"),
                          parse_flags(causal, "--causal"))
    return [a.as_dict() for a in advise_target(cfg, target or "b200", kv_tiling, top, any_tile, head_dim)]


def advice_note(shape: str, window: str, dilation: str | None = None, causal: str | None = None,
                target: str | None = None, kv_tiling: str = "static", any_tile: bool = False,
                head_dim: int = 128) -> str:
    """Why `advice` found nothing."""
    from simulator.sparse.advisor import why_none

    cfg = GNAConfig.build(parse_dims(shape, "--shape"), parse_dims(window, "--window"), None,
                          parse_dims(dilation, "--dilation"), parse_flags(causal, "--causal"))
    return why_none(cfg, target or "b200", any_tile, kv_tiling, head_dim)
