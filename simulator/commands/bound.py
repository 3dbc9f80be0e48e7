"""`cascade bound`: speedup upper bound of a sparse attention pattern from tile counts (GNA and block masks)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from simulator.output import console, emit, fmt, key_value_table

Opt = typer.Option


def bound_command(
    shape: Annotated[str, Opt("--shape", help="token layout, e.g. 30x48x80 (or N with --mask)")],
    window: Annotated[str | None, Opt("--window", help="GNA window per axis, e.g. 18x24x24")] = None,
    stride: Annotated[str | None, Opt("--stride", help="GNA stride per axis (default 1: sliding window)")] = None,
    dilation: Annotated[str | None, Opt("--dilation", help="GNA dilation per axis (default 1)")] = None,
    causal: Annotated[str | None, Opt("--causal", help="causal flag per axis, e.g. 1x0x0")] = None,
    q_tile: Annotated[str | None, Opt("--q-tile", help="query tile shape, e.g. 4x8x8")] = None,
    kv_tile: Annotated[str | None, Opt("--kv-tile", help="KV tile shape, e.g. 2x8x8")] = None,
    target: Annotated[str | None, Opt("--target", help="tile preset: b200 or h100 (default b200)")] = None,
    tiling: Annotated[str | None, Opt("--tiling", help="multi (default) or flat")] = None,
    kv_tiling: Annotated[str, Opt("--kv-tiling", help="static or dynamic")] = "static",
    attention_fraction: Annotated[float | None, Opt("--attention-fraction", help="share of time in attention")] = None,
    sparse_fraction: Annotated[float | None, Opt("--sparse-fraction", help="share of steps with the pattern")] = None,
    mask: Annotated[str | None, Opt("--mask", help="block mask .npy (query blocks x KV blocks)")] = None,
    plot: Annotated[str | None, Opt("--plot", help="write visit counts and tile map to FILE.png")] = None,
    advise: Annotated[int | None, Opt("--advise", help="also list the N best block-sparse stride/tile choices")] = None,
    any_tile: Annotated[bool, Opt("--any-tile", help="--advise over hypothetical tile shapes, not shipped")] = False,
    baseline: Annotated[str | None, Opt("--baseline", help="dense or causal (default causal if pattern is)")] = None,
    pass_: Annotated[str, Opt("--pass", help="fwd, bwd (KV-tile-major) or fwd+bwd")] = "fwd",
    head_dim: Annotated[int, Opt("--head-dim", help="head dim, picks the shipped tiles of --target")] = 128,
    backward_q_tile: Annotated[str | None, Opt("--backward-q-tile", help="backward query tile, e.g. 4x4x8")] = None,
    backward_kv_tile: Annotated[str | None, Opt("--backward-kv-tile", help="backward KV tile, e.g. 4x4x8")] = None,
    token_mask: Annotated[str | None, Opt("--token-mask", help="token predicate inside --mask blocks: causal")] = None,
    permute_fraction: Annotated[float | None, Opt("--permute-fraction",
                                                  help="token permutation time / dense kernel time")] = None,
    pattern: Annotated[str | None, Opt("--pattern", help="radial, sliding-tile, vertical-stripe, diagonal or "
                                       "permuted (cascade list patterns)")] = None,
    columns: Annotated[str | None, Opt("--columns", help="vertical-stripe key columns, e.g. 0,4096")] = None,
    offsets: Annotated[str | None, Opt("--offsets", help="diagonal offsets (key - query), e.g. 0,-4096")] = None,
    width: Annotated[int | None, Opt("--width", help="stripe / diagonal width in keys (default 1)")] = None,
    local: Annotated[int | None, Opt("--local", help="vertical-stripe local window in keys (default 0)")] = None,
    tile: Annotated[str | None, Opt("--tile", help="sliding-tile STA tile per axis, e.g. 6x8x8")] = None,
    base: Annotated[str | None, Opt("--base", help="permuted: vertical-stripe or diagonal")] = None,
    permutation: Annotated[str | None, Opt("--permutation", help="permuted: FILE.npy or stripes-first")] = None,
    segment: Annotated[int | None, Opt("--segment", help="stripes-first segment in tokens, e.g. 131072")] = None,
    json_: Annotated[bool, Opt("--json", help="print one JSON object")] = False,
) -> None:
    """Speedup upper bound of a sparse attention pattern, from the KV tiles each query tile visits."""
    from simulator.sparse.report import bound

    result = bound(shape=shape, window=window, stride=stride, dilation=dilation, causal=causal, q_tile=q_tile,
                   kv_tile=kv_tile, target=target, tiling=tiling, kv_tiling=kv_tiling,
                   attention_fraction=attention_fraction, sparse_fraction=sparse_fraction, mask=mask, plot=plot,
                   baseline=baseline, pass_=pass_, head_dim=head_dim, backward_q_tile=backward_q_tile,
                   backward_kv_tile=backward_kv_tile, token_mask=token_mask, pattern=pattern,
                   permute_fraction=permute_fraction, columns=columns, offsets=offsets, width=width, local=local,
                   tile=tile, base=base, permutation=permutation, segment=segment)
    if advise is not None:
        from simulator.sparse.report import advice, advice_note

        result["advice"] = advice(shape, window, dilation, causal, target, kv_tiling, advise, any_tile, head_dim)
        if not result["advice"]:
            result["advice_note"] = advice_note(shape, window, dilation, causal, target, kv_tiling, any_tile,
                                                head_dim)
    emit(result, json_, _render)


def _render(res: dict) -> None:
    flat = {k: v for k, v in res.items() if k not in ("advice", "passes") and not isinstance(v, list | dict)}
    console.print(key_value_table("sparse attention bound", flat))
    for key in ("speedup_upper_bound_per_head", "speedup_mean_per_head"):
        if key in res:
            console.print(f"{key}: " + ", ".join(f"{v:.2f}" for v in res[key]))
    for name, sub in res.get("passes", {}).items():
        console.print(key_value_table(f"{name} pass", {k: v for k, v in sub.items() if not isinstance(v, list)}))
    if res.get("advice"):
        table = Table(title="perfectly block-sparse choices (--advise)")
        for col in res["advice"][0]:
            table.add_column(col)
        for row in res["advice"]:
            table.add_row(*(fmt(v) for v in row.values()))
        console.print(table)
    elif "advice_note" in res:
        console.print(f"--advise: {res['advice_note']}")
