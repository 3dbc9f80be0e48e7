"""The `hdl` backend: one evaluation builds one streaming unit (GELU or softmax), verifies it and synthesizes the
Verilog it writes, on the target's device and flow (`hw.hdl_units.HdlUnitsTarget`).

Every figure is measured in the run (`hw.hdl.flow.run_hdl`, the same as `cascade hdl --verify --synth`): error in
LSBs against PyTorch, hardware = bit-exact model, Yosys and post-route resources, the worst seed's fmax. Results
are kept in the persistent memo (`cascade_base.memo`), keyed by the options, the target and a fingerprint of
`hw/hdl/`, so a sweep run again, or a plot redrawn, does not synthesize again. `latency_s` is the unit's pipeline
latency at its fmax; `elements_per_s` its streaming rate (elements out per cycle x fmax).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import PositiveInt

from cascade_base.memo import memo
from cascade_base.spec import Frozen
from hw.hdl_units import HdlUnitsTarget

CODE = ("hw/hdl", "hw/hdl_units.py", "simulator/hdl_units.py")


class HdlUnitOptions(Frozen):
    """What `cascade evaluate` takes for an hdl target (anything else is refused by name)."""

    unit: Literal["gelu", "softmax"]
    method: str | None = None
    in_format: str = "Q7.8"
    out_format: str | None = None
    max_len: PositiveInt = 1024


@dataclass(frozen=True)
class HdlUnitPlan:
    target: HdlUnitsTarget
    options: HdlUnitOptions


@dataclass(frozen=True)
class HdlUnitResult:
    """One unit as built, checked and synthesized (field names are the JSON keys of `cascade evaluate --json`;
    the resource and error keys are those of `cascade hdl --json`)."""

    target: str
    unit: str
    method: str
    in_format: str
    out_format: str
    max_len: int | None
    latency_s: float
    latency_cycles: int
    elements_per_s: float | None
    fmax_mhz: float
    fmax_mhz_by_seed: tuple[float, ...]
    luts: int
    lut4_cells: int
    carry_cells: int
    ffs: int
    dsps: int
    brams: int
    pnr_lut4_sites: int | None
    pnr_ffs: int | None
    max_error_lsb: float | None
    mean_error_lsb: float | None
    hw_mismatches: int | None
    device: str
    kind: str = "hdl"
    overrides: dict[str, Any] = field(default_factory=dict)


class HdlUnitsBackend:
    kind = "hdl"
    options = HdlUnitOptions
    scope_note = "one streaming unit (--unit gelu|softmax, --method, --in-format, --out-format, --max-len) built, "\
                 "verified and synthesized"

    def plan(self, target: HdlUnitsTarget, options: HdlUnitOptions) -> HdlUnitPlan:
        from hw.hdl.flow import build_plan

        build_plan(options.unit, options.method, options.in_format, options.out_format, options.max_len)  # refusals
        return HdlUnitPlan(target, options)

    def cost(self, plan: HdlUnitPlan) -> HdlUnitResult:
        o, t = plan.options, plan.target
        key = (o.unit, o.method, o.in_format, o.out_format, o.max_len if o.unit == "softmax" else None, t.synth,
               tuple(t.seeds), t.verify)
        result = memo("hdl_unit", key, lambda: _build_and_measure(plan), CODE)
        return result if result.target == t.name else replace(result, target=t.name)


BACKEND = HdlUnitsBackend()


def _build_and_measure(plan: HdlUnitPlan) -> HdlUnitResult:
    from hw.hdl.flow import run_hdl

    o, t = plan.options, plan.target
    with tempfile.TemporaryDirectory(prefix="cascade-hdl-") as out_dir:
        run = run_hdl(o.unit, out_dir=out_dir, method=o.method, in_format=o.in_format, out_format=o.out_format,
                      max_len=o.max_len, verify=t.verify, synth=t.synth, seeds=tuple(t.seeds))
    syn, ver = run.synthesis, run.verification
    fmax_hz = syn.fmax_mhz * 1e6
    return HdlUnitResult(
        target=t.name, unit=run.unit, method=run.method, in_format=run.in_format, out_format=run.out_format,
        max_len=run.max_len, latency_s=run.latency_cycles / fmax_hz, latency_cycles=run.latency_cycles,
        elements_per_s=ver.out_per_cycle * fmax_hz if ver else None, fmax_mhz=syn.fmax_mhz,
        fmax_mhz_by_seed=tuple(syn.fmax_mhz_by_seed), luts=syn.lut4_sites, lut4_cells=syn.luts,
        carry_cells=syn.carry_cells, ffs=syn.ffs, dsps=syn.dsps, brams=syn.brams, pnr_lut4_sites=syn.pnr_lut4_sites,
        pnr_ffs=syn.pnr_ffs, max_error_lsb=ver.max_error_lsb if ver else None,
        mean_error_lsb=ver.mean_error_lsb if ver else None, hw_mismatches=ver.hw_mismatches if ver else None,
        device=f"LFE5U-{syn.device.upper()} {syn.package} speed {syn.speed}")
