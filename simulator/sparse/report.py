"""`bound(...)`: what `cascade bound` does, callable from Python with the same option names (strings as on the
command line, e.g. shape="30x48x80"). Parses, validates, counts tiles, optionally plots; returns one flat dict."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.bound import KV_TILINGS, TILINGS, gna_bound, summarize
from simulator.sparse.patterns import block_mask_pairs, count_block_mask
from simulator.sparse.presets import get_preset, preset_tiles
from simulator.sparse.spec import GNAConfig, parse_dims, parse_flags

DEFAULT_TARGET = "b200"


def _dims_text(dims) -> str:
    return "x".join(str(int(d)) for d in dims)


def _tiles(q_tile, kv_tile, target, ndim: int) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    q, k = parse_dims(q_tile, "--q-tile"), parse_dims(kv_tile, "--kv-tile")
    if (q is None) != (k is None):
        missing = "--kv-tile" if k is None else "--q-tile"
        raise SimulatorError(f"{missing}: give both --q-tile and --kv-tile, or neither and --target b200|h100")
    if q is not None:
        if target is not None:
            raise SimulatorError("--target: give either --target or --q-tile/--kv-tile, not both")
        return q, k, "--q-tile/--kv-tile"
    name = target or DEFAULT_TARGET
    q, k = preset_tiles(name, ndim)
    return q, k, f"{name} preset"


def _load_mask(path: str) -> np.ndarray:
    p = Path(path)
    if p.suffix != ".npy":
        raise SimulatorError(f"--mask: {path} must be a .npy file holding a 2-D block mask")
    if not p.exists():
        raise SimulatorError(f"--mask: {path}: no such file")
    try:
        return np.load(p, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise SimulatorError(f"--mask: {path}: cannot read a numpy array ({exc})") from None


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
) -> dict[str, Any]:
    """Speedup upper bound of a GNA pattern (`window` given) or of a block mask (`mask` given)."""
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
    if mask is not None:
        return _mask_bound(dims, window, stride, dilation, causal, q_tile, kv_tile, target, tiling, kv_tiling,
                           fa, fs, mask, plot)
    if window is None:
        raise SimulatorError("--window: required unless --mask is given, e.g. --window 18x24x24")
    cfg = GNAConfig.build(dims, parse_dims(window, "--window"), parse_dims(stride, "--stride"),
                          parse_dims(dilation, "--dilation"), parse_flags(causal, "--causal"))
    tiling = tiling or "multi"
    q, k, source = _tiles(q_tile, kv_tile, target, len(dims))
    if tiling == "flat" and source.endswith("preset"):
        preset = get_preset(target or DEFAULT_TARGET)
        q, k = (preset.q_tokens,), (preset.kv_tokens,)
    result, counts = gna_bound(cfg, q, k, tiling, kv_tiling, fa, fs)
    out: dict[str, Any] = {
        "pattern": "gna", "shape": _dims_text(cfg.shape), "window": _dims_text(cfg.window),
        "stride": _dims_text(cfg.stride), "dilation": _dims_text(cfg.dilation),
        "causal": _dims_text(int(c) for c in cfg.causal), "tokens": math.prod(cfg.shape),
        "q_tile": _dims_text(q), "kv_tile": _dims_text(k), "tile_source": source, "tiling": tiling,
        "kv_tiling": kv_tiling, **result.as_dict(),
    }
    if plot is not None:
        from simulator.sparse.plot import plot_counts

        title = (f"GNA {out['shape']} window {out['window']} stride {out['stride']}, "
                 f"tiles {out['q_tile']} / {out['kv_tile']}")
        out["plot"] = str(plot_counts(counts, plot, title))
    return out


def _mask_bound(dims, window, stride, dilation, causal, q_tile, kv_tile, target, tiling, kv_tiling, fa, fs, mask,
                plot) -> dict[str, Any]:
    for value, option in ((window, "--window"), (stride, "--stride"), (dilation, "--dilation"), (causal, "--causal")):
        if value is not None:
            raise SimulatorError(f"{option}: describes a GNA window and cannot be combined with --mask; drop one")
    if tiling == "multi" and len(dims) > 1:
        raise SimulatorError(
            "--tiling: a block mask covers flattened tokens; use --tiling flat (the default with --mask)"
        )
    if kv_tiling != "static":
        raise SimulatorError("--kv-tiling: dynamic KV tiling applies to window patterns; use static with --mask")
    n = math.prod(dims)
    q, k = parse_dims(q_tile, "--q-tile"), parse_dims(kv_tile, "--kv-tile")
    if q is None and k is None:
        preset = get_preset(target or DEFAULT_TARGET)
        tq, tk, source = preset.q_tokens, preset.kv_tokens, f"{preset.name} preset"
    else:
        _tiles(q_tile, kv_tile, target, len(dims))  # both given, no --target
        tq, tk, source = math.prod(q), math.prod(k), "--q-tile/--kv-tile"
    bm = _load_mask(mask)
    counts = count_block_mask(bm, n, tq, tk, source=f"--mask {mask}")
    pairs = block_mask_pairs(bm, n)
    if pairs == 0:
        raise SimulatorError(f"--mask {mask}: the block mask is all zero; no query attends any key")
    flop = n * n / pairs
    result = summarize(counts, flop, flop, fa, fs)
    out: dict[str, Any] = {
        "pattern": "block_mask", "mask": str(mask), "mask_blocks": _dims_text(bm.shape), "shape": _dims_text(dims),
        "tokens": n, "q_tile": str(tq), "kv_tile": str(tk), "tile_source": source, "tiling": "flat",
        "kv_tiling": "static", **result.as_dict(),
    }
    if plot is not None:
        from simulator.sparse.plot import plot_counts

        out["plot"] = str(plot_counts(counts, plot, f"block mask {mask}, tiles {tq} / {tk}"))
    return out


def advice(shape: str, window: str, dilation: str | None = None, causal: str | None = None,
           target: str | None = None, kv_tiling: str = "static", top: int = 10) -> list[dict[str, Any]]:
    """The `top` strides and tile shapes (of `target`'s kernels, default b200) that make the pattern perfectly
    block-sparse, best bound first (what `cascade bound --advise N` adds under `advice`)."""
    from simulator.sparse.advisor import advise_target

    if top < 1:
        raise SimulatorError(f"--advise must be a positive number of suggestions, not {top}")
    dims = parse_dims(shape, "--shape")
    if dims is None or window is None:
        raise SimulatorError("--advise needs --shape and --window")
    cfg = GNAConfig.build(dims, parse_dims(window, "--window"), None, parse_dims(dilation, "--dilation"),
                          parse_flags(causal, "--causal"))
    return [a.as_dict() for a in advise_target(cfg, target or "b200", kv_tiling, top)]
