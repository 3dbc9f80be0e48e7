"""`cascade evaluate`: cost a cascade (with a mapping) on a target and print latency, energy, traffic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from simulator.output import console, emit, fmt, key_value_table


def evaluate_command(
    target: Annotated[str, typer.Option("--target", help="built-in target name or a target YAML file")],
    workload: Annotated[str | None, typer.Option("--workload", help="built-in workload name")] = None,
    seq: Annotated[int | None, typer.Option("--seq", help="sequence length")] = None,
    cascade: Annotated[str | None, typer.Option("--cascade", help="cascade name or YAML file")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="mapping YAML file")] = None,
    search: Annotated[bool, typer.Option("--search", help="search the mapspace for the best mapping (spatial "
                                         "targets); without --mapping, a cascade the target's mapping does not "
                                         "cover is searched anyway")] = False,
    objective: Annotated[str | None, typer.Option("--objective", help="what --search minimises: latency | energy | "
                                                  "edp (default latency)")] = None,
    budget: Annotated[int | None, typer.Option("--budget", help="--search: at most N group mappings costed")] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="--search: stop after S seconds")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="--search: seed of the restarts (default 0)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="--search: write the mapping found as YAML "
                                             "(read it back with --mapping)")] = None,
    scope: Annotated[str, typer.Option("--scope", help="attention | layer")] = "attention",
    batch: Annotated[int | None, typer.Option("--batch", help="batch size")] = None,
    heads: Annotated[int | None, typer.Option("--heads", help="query heads")] = None,
    kv_heads: Annotated[int | None, typer.Option("--kv-heads", help="key/value heads (GQA/MQA)")] = None,
    kv_seq: Annotated[int | None, typer.Option("--kv-seq", help="key/value sequence length")] = None,
    head_dim: Annotated[int | None, typer.Option("--head-dim", help="head dimension")] = None,
    causal: Annotated[bool, typer.Option("--causal", help="causal mask")] = False,
    dtype: Annotated[str | None, typer.Option("--dtype", help="fp16 | bf16 | fp8 | fp4")] = None,
    kernel: Annotated[str | None, typer.Option("--kernel", help="GPU kernel: fa2 | fa3 | fa4 | cudnn | cutlass | "
                                               "flashinfer | flashmla (default: the GPU's best-known one)")] = None,
    page_size: Annotated[int | None, typer.Option("--page-size", help="GPU: tokens per page of a paged K/V cache "
                                                  "(must divide --kv-seq)")] = None,
    pass_: Annotated[str, typer.Option("--pass", help="GPU: fwd | bwd | fwd+bwd (FLOPs: backward = 2.5x forward)")]
    = "fwd",
    value_dim: Annotated[int | None, typer.Option("--value-dim", help="GPU: V head dim when it differs from "
                                                  "--head-dim (DeepSeek 192/128)")] = None,
    window: Annotated[int | None, typer.Option("--window", help="GPU: keys each query sees under a sliding-window "
                                               "cascade (default: the cascade's W, e.g. 4096)")] = None,
    block_mask: Annotated[str | None, typer.Option("--block-mask", help="GPU: block-sparse mask file over --seq "
                                                   "tokens (.npy query x KV blocks, or a .npz block list, as for "
                                                   "`cascade bound --mask`)")] = None,
    seq_lens: Annotated[str | None, typer.Option("--seq-lens", help="GPU: a variable-length batch run as one "
                                                 "launch, one query length per sequence, e.g. 512,2048,8192 (K/V "
                                                 "lengths equal unless --kv-seq-lens)")] = None,
    kv_seq_lens: Annotated[str | None, typer.Option("--kv-seq-lens", help="GPU: one K/V length per sequence, e.g. "
                                                    "1024,8192 (with --seq 1: a decode batch)")] = None,
    energy_convention: Annotated[str, typer.Option(
        "--energy-convention", help="spatial targets: physical (every PE's register file, default) | artifact (the "
        "FuseMax artifact's accounting: one PE's register file per Einsum, its FLAT dataflow)")] = "physical",
    unit: Annotated[str | None, typer.Option("--unit", help="hdl targets: gelu | softmax")] = None,
    method: Annotated[str | None, typer.Option("--method", help="hdl targets, gelu: edge-moe | poly | i-gelu")] = None,
    in_format: Annotated[str | None, typer.Option("--in-format", help="hdl targets: input format (default Q7.8)")]
    = None,
    out_format: Annotated[str | None, typer.Option("--out-format", help="hdl targets: output format")] = None,
    max_len: Annotated[int | None, typer.Option("--max-len", help="hdl targets, softmax: longest row")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="change a target field: PATH=VALUE, e.g. "
                                                   "arrays.pe2d.rows=128 or global_buffer.capacity_bytes=8MiB "
                                                   "(repeatable)")] = None,
    json_: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Evaluate a cascade plus a mapping on a target: latency, energy, traffic per level, utilisation."""
    from simulator.evaluate import EvaluateRequest, evaluate

    request = EvaluateRequest(target=target, workload=workload, seq=seq, cascade=cascade, mapping=mapping,
                              search=search, scope=scope, batch=batch, heads=heads, kv_heads=kv_heads,
                              kv_seq=kv_seq, head_dim=head_dim, causal=causal, dtype=dtype,
                              kernel=kernel, page_size=page_size, training_pass=pass_,
                              value_dim=value_dim, window=window, block_mask=block_mask,
                              seq_lens=parse_lengths(seq_lens, "--seq-lens"),
                              kv_seq_lens=parse_lengths(kv_seq_lens, "--kv-seq-lens"),
                              energy_convention=energy_convention,
                              objective=objective, budget=budget, time_limit=time_limit, seed=seed, out=out,
                              unit=unit, method=method, in_format=in_format, out_format=out_format, max_len=max_len,
                              overrides=tuple(set_ or ()))
    if search and not json_ and console.is_terminal:
        from simulator.commands.search_progress import search_display

        with search_display(objective, budget, time_limit):
            result = evaluate(request)
    else:
        result = evaluate(request)
    emit(result, json_, render_result)


def parse_lengths(text: str | None, option: str) -> tuple[int, ...]:
    """`512,2048,8192` as a tuple of positive ints (None: empty); anything else is a one-line error."""
    if text is None:
        return ()
    from simulator.errors import SimulatorError

    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() and int(p) > 0 for p in parts):
        raise SimulatorError(f"{option} {text[:40]!r}: give comma-separated positive integers, e.g. {option} "
                             "512,2048,8192", source=option)
    return tuple(int(p) for p in parts)


def render_result(result: dict[str, Any]) -> None:
    """Scalars as one table, then each nested mapping (bytes_by_level, utilization, ...) as its own."""
    scalars = {k: v for k, v in result.items() if not isinstance(v, dict | list)}
    console.print(key_value_table("result", scalars))
    for key, value in result.items():
        if isinstance(value, dict):
            console.print(key_value_table(key, value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            table = Table(title=key)
            columns = list(value[0])
            for col in columns:
                table.add_column(col)
            for row in value:
                table.add_row(*(fmt(row.get(c, "")) for c in columns))
            console.print(table)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):  # caveats: one per line
            for line in value:
                console.print(f"[bold yellow]{key[:-1] if key.endswith('s') else key}:[/] {escape(line)}")
