"""`cascade hdl gelu|softmax`: write a unit's Verilog and RTLIL; optionally verify it and synthesize it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from simulator.output import console, emit, key_value_table


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

    result = run_hdl(unit, out_dir=out, method=method, in_format=in_format, out_format=out_format,
                     max_len=max_len, verify=verify, synth=synth, vcd=vcd)
    emit(result, as_json, _render)


def _render(result: Mapping[str, Any]) -> None:
    console.print(key_value_table(f"cascade hdl {result['unit']}", {k: v for k, v in result.items() if v is not None}))
