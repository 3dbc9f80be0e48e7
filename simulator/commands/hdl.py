"""`cascade hdl gelu|softmax`: write a unit's Verilog and RTLIL; optionally verify it and synthesize it.

The JSON object (`hdl_record`) is made here from the frozen `hw.hdl.flow.HdlRun`; fields not measured in a run
are `null`, never estimated.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from simulator.output import console, emit, key_value_table

#: the keys `synth_record` fills (null in a record without --synth)
SYNTH_KEYS = ("luts", "lut4_cells", "carry_cells", "lutram_cells", "ffs", "dsps", "brams", "pnr_lut4_sites",
              "pnr_ffs", "fmax_mhz", "fmax_mhz_by_seed", "synth_verilog")


def hdl_record(run) -> dict[str, Any]:
    """The CLI's JSON keys for one `HdlRun` (also the rows of `benchmarks/hdl_tradeoff.py`)."""
    ver, syn, buf = run.verification, run.synthesis, run.row_buffer
    record: dict[str, Any] = {
        "unit": run.unit, "method": run.method, "in_format": run.in_format, "out_format": run.out_format,
        "max_len": run.max_len, "verilog": str(run.files.verilog_path), "rtlil": str(run.files.rtlil_path),
        "latency_cycles": run.latency_cycles,
        "in_elements_per_cycle": None, "out_elements_per_cycle": None,
        "row_buffer_depth": buf.depth if buf else None, "row_buffer_brams": buf.ecp5_brams if buf else None,
        **dict.fromkeys(SYNTH_KEYS),
        "max_error_lsb": None, "mean_error_lsb": None, "hw_mismatches": None, "vcd": None,
    }
    if ver is not None:
        record.update(hw_mismatches=ver.hw_mismatches, max_error_lsb=ver.max_error_lsb,
                      mean_error_lsb=ver.mean_error_lsb, vcd=str(ver.vcd) if ver.vcd else None,
                      in_elements_per_cycle=ver.in_per_cycle, out_elements_per_cycle=ver.out_per_cycle)
    if syn is not None:
        record.update(synth_record(syn))
    return record


def synth_record(syn) -> dict[str, Any]:
    """The JSON keys of one `SynthResult`: Yosys counts (luts = LUT4 cells + 2 per CCU2C carry), post-route
    counts, the worst seed's fmax and every seed's, the file synthesized and the device."""
    return dict(luts=syn.lut4_sites, lut4_cells=syn.luts, carry_cells=syn.carry_cells,
                lutram_cells=syn.lutram_cells, ffs=syn.ffs, dsps=syn.dsps, brams=syn.brams,
                pnr_lut4_sites=syn.pnr_lut4_sites, pnr_ffs=syn.pnr_ffs, fmax_mhz=syn.fmax_mhz,
                fmax_mhz_by_seed=list(syn.fmax_mhz_by_seed), synth_verilog=str(syn.source) if syn.source else None,
                device=f"LFE5U-{syn.device.upper()} {syn.package} speed {syn.speed}")


def hdl_command(
    unit: Annotated[str, typer.Argument(help="gelu, softmax or attention")],
    out: Annotated[Path, typer.Option("--out", help="directory for the Verilog, RTLIL and reports")],
    method: Annotated[str | None, typer.Option("--method", help="gelu: edge-moe, poly, i-gelu")] = None,
    in_format: Annotated[str, typer.Option("--in-format", help="input fixed-point format")] = "Q7.8",
    out_format: Annotated[str | None, typer.Option("--out-format", help="Q7.8 (gelu) or UQ1.15 (softmax)")] = None,
    max_len: Annotated[int, typer.Option("--max-len", help="softmax: longest row")] = 1024,
    verify: Annotated[bool, typer.Option("--verify", help="simulate against the model; error vs PyTorch")] = False,
    synth: Annotated[str | None, typer.Option("--synth", help="ecp5: Yosys + nextpnr resources and fmax")] = None,
    vcd: Annotated[bool, typer.Option("--vcd", help="write a waveform of the verification run")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    rows: Annotated[int, typer.Option("--rows", help="attention: 2D array rows (keys per block)")] = 4,
    cols: Annotated[int, typer.Option("--cols", help="attention: 2D array columns (queries per tile)")] = 4,
    head_dim: Annotated[int, typer.Option("--head-dim", help="attention: head dim E (= value dim)")] = 8,
    seq_tile: Annotated[int, typer.Option("--seq-tile", help="attention: sequence length the K/V buffers hold")] = 16,
    seeds: Annotated[str, typer.Option("--seeds", help="--synth: nextpnr seeds, comma-separated; fmax is the "
                                       "worst")] = "1,2,3",
) -> None:
    """Generate a synthesizable GELU, softmax or attention unit and report its error, resources and clock."""
    seed_list = parse_seeds(seeds)
    if unit == "attention":
        emit(attention_record(out, rows, cols, head_dim, seq_tile, verify, synth, seed_list), as_json, _render)
        return
    from hw.hdl.flow import run_hdl

    run = run_hdl(unit, out_dir=out, method=method, in_format=in_format, out_format=out_format,
                  max_len=max_len, verify=verify, synth=synth, vcd=vcd, seeds=seed_list)
    emit(hdl_record(run), as_json, _render)


def parse_seeds(text: str) -> tuple[int, ...]:
    """`--seeds 1,2,3` -> (1, 2, 3); anything else is a one-line error naming the option."""
    from hw.errors import SpecError

    try:
        seeds = tuple(int(s) for s in text.split(","))
    except ValueError:
        seeds = ()
    if not seeds or any(s < 0 for s in seeds):
        raise SpecError(f"--seeds: a comma-separated list of non-negative integers (e.g. 1,2,3), not {text!r}")
    return seeds


def attention_record(out: Path, rows: int, cols: int, head_dim: int, seq_tile: int, verify: bool,
                     synth: str | None = None, seeds: tuple[int, ...] = (1, 2, 3)) -> dict[str, Any]:
    """`cascade hdl attention`: export the engine; with --verify check it and count its cycles; with --synth
    synthesize the delivered attention.v (hw/hdl/attention)."""
    from hw.hdl.attention.engine import AttentionEngine
    from hw.hdl.attention.run import build, check, sim_cycles, synth_device, writable
    from hw.hdl.export import export
    from simulator.rtl_model import model_cycles

    plan = build(rows, cols, head_dim, seq_tile)
    device = synth_device(synth) if synth is not None else None
    out = writable(out)
    files = export(AttentionEngine(plan), "attention", out)
    record: dict[str, Any] = {
        "unit": "attention", "rows": rows, "cols": cols, "head_dim": head_dim, "seq_tile": seq_tile,
        "in_format": "Q7.8", "out_format": "Q7.8", "verilog": str(files.verilog_path), "rtlil": str(files.rtlil_path),
        "in_bits": plan.in_bits, "out_bits": plan.out_bits, "hw_mismatches": None, "iverilog_mismatches": None,
        "max_error_lsb": None, "mean_error_lsb": None, "sim_cycles": None, "model_cycles": None,
        "model_over_sim": None, **dict.fromkeys(SYNTH_KEYS),
    }
    if verify:
        c = check(plan, files.verilog_path, out / "iverilog")
        sim, model = sim_cycles(plan), model_cycles(plan)
        record.update(hw_mismatches=c.hw_mismatches, iverilog_mismatches=c.iverilog_mismatches,
                      iverilog_note=c.iverilog_note, max_error_lsb=c.max_error_lsb, mean_error_lsb=c.mean_error_lsb,
                      sim_cycles=sim, model_cycles=model, model_over_sim=model / sim)
    if device is not None:
        from hw.hdl.synth import synth_ecp5

        record.update(synth_record(synth_ecp5(files.verilog_path, "attention", out / "synth", device=device,
                                              seeds=seeds)))
    return record


def _render(result: Mapping[str, Any]) -> None:
    console.print(key_value_table(f"cascade hdl {result['unit']}", {k: v for k, v in result.items() if v is not None}))
