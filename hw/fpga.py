"""The `fpga` target kind: a device's resources and clock, the cost of a MAC, and the cost of the non-linear
units (softmax, GELU) taken from this project's own synthesized HDL (`hw/hdl/data/ecp5_units.json`).

An attention engine on an FPGA is sized from these numbers (`simulator.fpga.fpga_attention_estimate`): MACs are
built from DSP slices, softmax units from LUTs/FFs/block RAM, and the clock is the profile's `clock_hz` (which
must not exceed the slowest unit's measured fmax where that was measured on this device family).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt

from hw.spec import Frozen


class FpgaDevice(Frozen):
    """Programmable resources of one device (LUTs counted in the family's own LUT size)."""

    part: str
    lut_inputs: Literal[4, 6]
    luts: PositiveInt
    ffs: PositiveInt
    dsps: PositiveInt
    brams: PositiveInt = Field(description="block RAMs (ECP5: 18 Kb EBR; UltraScale+: 36 Kb RAMB36)")
    bram_bits: PositiveInt = Field(description="bits per block RAM")
    source: str


class MacCost(Frozen):
    """One multiply-accumulate lane at `word_bits` operands: DSP slices and LUTs per lane."""

    word_bits: PositiveInt
    dsps_per_mac: PositiveFloat
    luts_per_mac: NonNegativeInt
    ffs_per_mac: NonNegativeInt
    source: str


class UnitCost(Frozen):
    """A synthesized non-linear unit: resources, measured clock, latency; one element per cycle."""

    luts: NonNegativeInt
    ffs: NonNegativeInt
    dsps: NonNegativeInt
    brams: NonNegativeInt
    fmax_mhz: PositiveFloat | None = Field(description="post-route fmax on this family; None if not measured")
    latency_cycles: PositiveInt
    max_len: PositiveInt | None = Field(default=None, description="softmax: longest row the unit holds")
    buffer_brams: NonNegativeInt = Field(default=0, description="softmax: block RAMs of the row buffer (of brams)")
    source: str


class FpgaTarget(Frozen):
    """An FPGA target: device, clock, memory bandwidth, MAC cost and non-linear unit costs."""

    kind: Literal["fpga"]
    name: str
    description: str
    source: str
    device: FpgaDevice
    clock_hz: PositiveFloat = Field(description="the engine's clock; `--set clock_hz=...` overrides it")
    clock_basis: Literal["measured", "assumed"] = Field(
        default="assumed", description="measured: a post-route fmax of this project's units on this family; "
                                       "assumed: no open timing flow exists for the device (a stated assumption)")
    dram_bw_bytes_per_s: PositiveFloat
    resource_budget: float = Field(gt=0, le=1, description="fraction of each resource a design may use")
    mac: MacCost
    units: dict[Literal["softmax", "gelu"], UnitCost]

