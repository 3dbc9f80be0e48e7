"""One call that builds a unit, writes its Verilog and RTLIL, and optionally verifies and synthesizes it.

This is what `cascade hdl` runs; the result is a flat dict with the CLI's JSON keys (None where not measured).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hw.errors import SpecError
from hw.hdl.export import export
from hw.hdl.fixed import parse_format
from hw.hdl.gelu_model import METHODS, plan_gelu
from hw.hdl.sim import run_stream

UNITS = ("gelu", "softmax")
DEFAULT_OUT = {"gelu": "Q7.8", "softmax": "UQ1.15"}
SYNTH_TARGETS = {"ecp5": "25k", "ecp5-25k": "25k", "ecp5-85k": "85k"}


def build_plan(unit: str, method: str | None, in_format: str, out_format: str | None, max_len: int):
    """Validate the options and return (plan, component)."""
    if unit not in UNITS:
        raise SpecError(f"unknown unit {unit!r}; choose one of: {', '.join(UNITS)}")
    in_fmt = parse_format(in_format, "--in-format")
    out_fmt = parse_format(out_format or DEFAULT_OUT[unit], "--out-format")
    if unit == "gelu":
        from hw.hdl.gelu import Gelu

        plan = plan_gelu(method or METHODS[0], in_fmt, out_fmt)
        return plan, Gelu(plan)
    if method not in (None, "online"):
        raise SpecError(f"--method: softmax has one method, 'online', not {method!r}")
    from hw.hdl.softmax import Softmax
    from hw.hdl.softmax_model import plan_softmax

    plan = plan_softmax(in_fmt, out_fmt, max_len)
    return plan, Softmax(plan)


def softmax_latency_cycles(plan) -> int:
    """Cycles from a full row's last input to its first output (all scores equal: the longest normalisation)."""
    from hw.hdl.softmax import Softmax
    from hw.hdl.verify import softmax_payloads

    run = run_stream(Softmax(plan), softmax_payloads(plan, [np.zeros(plan.max_len, dtype=np.int64)]), n_out=1)
    return run.out_cycles[0] - run.in_cycles[-1]


def run_hdl(unit: str, *, out_dir: Path, method: str | None = None, in_format: str = "Q7.8",
            out_format: str | None = None, max_len: int = 1024, verify: bool = False, synth: str | None = None,
            vcd: bool = False, seeds: tuple[int, ...] = (1, 2, 3)) -> dict[str, Any]:
    """Export `unit` into `out_dir`; with `verify` compare with torch and simulate; with `synth` ('ecp5' or
    'ecp5-25k'/'ecp5-85k') report resources and post-route fmax."""
    plan, dut = build_plan(unit, method, in_format, out_format, max_len)
    if synth is not None and synth not in SYNTH_TARGETS:
        raise SpecError(f"--synth: unknown synthesis target {synth!r}; choose one of {', '.join(SYNTH_TARGETS)}")
    out_dir = Path(out_dir)
    files = export(dut, unit, out_dir)
    result: dict[str, Any] = {
        "unit": unit, "method": getattr(plan, "method", "online"), "in_format": str(plan.in_fmt),
        "out_format": str(plan.out_fmt), "max_len": max_len if unit == "softmax" else None,
        "verilog": str(files.verilog_path), "rtlil": str(files.rtlil_path),
        "latency_cycles": dut.latency_cycles if unit == "gelu" else softmax_latency_cycles(plan),
        "luts": None, "lut4_cells": None, "carry_cells": None, "ffs": None, "dsps": None, "brams": None,
        "fmax_mhz": None, "fmax_mhz_by_seed": None,
        "max_error_lsb": None, "mean_error_lsb": None, "hw_mismatches": None, "vcd": None,
    }
    vcd_path = out_dir / f"{unit}.vcd" if vcd else None
    if verify or vcd:
        result.update(_verify(unit, plan, vcd_path, with_torch=verify))
        result["vcd"] = str(vcd_path) if vcd_path else None
    if synth:
        rtlil_path = files.rtlil_path
        if unit == "softmax":  # synthesize the variant whose row buffer is an EBR with its output register
            from amaranth.back import rtlil

            from hw.hdl.softmax import Softmax

            (out_dir / "synth").mkdir(parents=True, exist_ok=True)
            rtlil_path = out_dir / "synth" / "softmax.il"
            rtlil_path.write_text(rtlil.convert(Softmax(plan, ecp5_bram=True), name="softmax", emit_src=False))
        result.update(_synth(unit, rtlil_path, out_dir, synth, seeds))
    return result


def _verify(unit: str, plan, vcd_path: Path | None, with_torch: bool) -> dict[str, Any]:
    from hw.hdl import verify as v

    rng = np.random.default_rng(0)
    if unit == "gelu":
        raw = plan.in_fmt.all_raw()
        sample = np.concatenate([raw[:8], raw[-8:], rng.choice(raw, 2000)])
        mismatches = v.gelu_hw_mismatches(plan, sample, vcd=vcd_path)
        stats = v.gelu_errors(plan) if with_torch else None
    else:
        rows = v.softmax_test_rows(plan, n_random=12)
        mismatches = v.softmax_hw_mismatches(plan, rows, vcd=vcd_path)
        stats = v.softmax_errors(plan, v.softmax_test_rows(plan, n_random=200, seed=1)) if with_torch else None
    out: dict[str, Any] = {"hw_mismatches": mismatches}
    if stats is not None:
        out.update(max_error_lsb=stats.max_error_lsb, mean_error_lsb=stats.mean_error_lsb)
    return out


def _synth(unit: str, rtlil_path: Path, out_dir: Path, target: str, seeds: tuple[int, ...]) -> dict[str, Any]:
    from hw.hdl.synth import synth_ecp5

    device = SYNTH_TARGETS[target]
    res = synth_ecp5(rtlil_path, unit, out_dir / "synth", device=device, seeds=seeds)
    return {"luts": res.luts + 2 * res.carry_cells, "lut4_cells": res.luts, "carry_cells": res.carry_cells,
            "ffs": res.ffs, "dsps": res.dsps, "brams": res.brams, "fmax_mhz": res.fmax_mhz,
            "fmax_mhz_by_seed": list(res.fmax_mhz_by_seed), "device": f"LFE5U-{device.upper()} {res.package} "
            f"speed {res.speed}"}
