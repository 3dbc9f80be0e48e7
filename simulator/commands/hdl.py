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


def hdl_record(run) -> dict[str, Any]:
    """The CLI's JSON keys for one `HdlRun` (also the rows of `benchmarks/hdl_tradeoff.py`)."""
    ver, syn, buf = run.verification, run.synthesis, run.row_buffer
    record: dict[str, Any] = {
        "unit": run.unit, "method": run.method, "in_format": run.in_format, "out_format": run.out_format,
        "max_len": run.max_len, "verilog": str(run.files.verilog_path), "rtlil": str(run.files.rtlil_path),
        "latency_cycles": run.latency_cycles,
        "in_elements_per_cycle": None, "out_elements_per_cycle": None,
        "row_buffer_depth": buf.depth if buf else None, "row_buffer_brams": buf.ecp5_brams if buf else None,
        "luts": None, "lut4_cells": None, "carry_cells": None, "ffs": None, "dsps": None, "brams": None,
        "pnr_lut4_sites": None, "pnr_ffs": None, "fmax_mhz": None, "fmax_mhz_by_seed": None,
        "synth_verilog": None,
        "max_error_lsb": None, "mean_error_lsb": None, "hw_mismatches": None, "vcd": None,
    }
    if ver is not None:
        record.update(hw_mismatches=ver.hw_mismatches, max_error_lsb=ver.max_error_lsb,
                      mean_error_lsb=ver.mean_error_lsb, vcd=str(ver.vcd) if ver.vcd else None,
                      in_elements_per_cycle=ver.in_per_cycle, out_elements_per_cycle=ver.out_per_cycle)
    if syn is not None:
        record.update(luts=syn.luts + 2 * syn.carry_cells, lut4_cells=syn.luts, carry_cells=syn.carry_cells,
                      ffs=syn.ffs, dsps=syn.dsps, brams=syn.brams, pnr_lut4_sites=syn.pnr_lut4_sites,
                      pnr_ffs=syn.pnr_ffs, fmax_mhz=syn.fmax_mhz, fmax_mhz_by_seed=list(syn.fmax_mhz_by_seed),
                      synth_verilog=str(syn.source) if syn.source else None,
                      device=f"LFE5U-{syn.device.upper()} {syn.package} speed {syn.speed}")
    return record


def hdl_command(
    unit: Annotated[str, typer.Argument(help="gelu or softmax")],
    out: Annotated[Path, typer.Option("--out", help="directory for the Verilog, RTLIL and reports")],
    method: Annotated[str | None, typer.Option("--method", help="gelu: edge-moe, poly, i-gelu")] = None,
    in_format: Annotated[str, typer.Option("--in-format", help="input fixed-point format")] = "Q7.8",
    out_format: Annotated[str | None, typer.Option("--out-format", help="Q7.8 (gelu) or UQ1.15 (softmax)")] = None,
    max_len: Annotated[int, typer.Option("--max-len", help="softmax: longest row")] = 1024,
    verify: Annotated[bool, typer.Option("--verify", help="simulate against the model; error vs PyTorch")] = False,
    synth: Annotated[str | None, typer.Option("--synth", help="ecp5: Yosys + nextpnr resources and fmax")] = None,
    vcd: Annotated[bool, typer.Option("--vcd", help="write a waveform of the verification run")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Generate a synthesizable GELU or softmax unit and report its error, resources and clock."""
    from hw.hdl.flow import run_hdl

    run = run_hdl(unit, out_dir=out, method=method, in_format=in_format, out_format=out_format,
                  max_len=max_len, verify=verify, synth=synth, vcd=vcd)
    emit(hdl_record(run), as_json, _render)


def _render(result: Mapping[str, Any]) -> None:
    console.print(key_value_table(f"cascade hdl {result['unit']}", {k: v for k, v in result.items() if v is not None}))
