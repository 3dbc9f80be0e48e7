"""Energy of costed Einsums: actions x energy per action from the target's table, under an accounting convention.

Compute actions at the table's pJ; register-file reads and writes of every PE (`physical`) or of one PE per
Einsum (`artifact`, the FuseMax artifact's count); global-buffer lines of `width_bits` at the buffer's energy per
access for its capacity and width (hw/spatial.py `memory_energy_pj`); DRAM accesses of `width_bits`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hw.spatial import EnergyTable, SpatialTarget
from simulator.spatial.convention import PHYSICAL, Dataflow
from simulator.spatial.vec import maximum

COMPONENTS = ("compute", "register_file", "global_buffer", "dram")


def einsum_energy_pj(c: Any, target: SpatialTarget, table: EnergyTable,
                     dataflow: Dataflow = PHYSICAL) -> dict[str, float]:
    """Energy (pJ) of one costed Einsum by component: compute, register files, buffer lines, DRAM accesses."""
    buf, dram = target.global_buffer, target.dram
    rf_share = 1.0 / maximum(c.pes, 1) if dataflow.rf_one_pe else 1.0
    buf_read, buf_write = (table.memory_energy_pj(buf.component, action, "global_buffer.component",
                                                  buf.capacity_bytes, buf.width_bits) for action in ("read", "write"))
    dram_read, dram_write = (table.memory_energy_pj(dram.component, action, "dram.component", 0, dram.width_bits)
                             for action in ("read", "write"))
    buf_line, dram_line = buf.width_bits / 8, dram.width_bits / 8
    return {
        "compute": c.compute_energy_pj,
        "register_file": rf_share * (c.rf_reads * _rf_energy_pj(c.array, "read", target, table)
                                     + c.rf_writes * _rf_energy_pj(c.array, "write", target, table)),
        "global_buffer": c.buffer_read_bytes / buf_line * buf_read + c.buffer_write_bytes / buf_line * buf_write,
        "dram": c.dram_read_bytes / dram_line * dram_read + c.dram_write_bytes / dram_line * dram_write,
    }


def _rf_energy_pj(array: Any, action: str, target: SpatialTarget, table: EnergyTable) -> Any:
    """Energy of one register-file access of the array an Einsum is bound to; per candidate where a batch binds
    it per candidate (an array of names)."""
    if isinstance(array, str):
        return table.energy_pj(target.array(array).register_file.component, action, "rf")
    out = np.zeros(len(array))
    for name in set(array.tolist()):
        out[array == name] = table.energy_pj(target.array(name).register_file.component, action, "rf")
    return out


def energy_by_component_pj(target: SpatialTarget, table: EnergyTable, costs: list[Any],
                           dataflow: Dataflow = PHYSICAL) -> dict[str, float]:
    """Total energy (pJ) per component over `costs`."""
    total = dict.fromkeys(COMPONENTS, 0.0)
    for c in costs:
        for key, val in einsum_energy_pj(c, target, table, dataflow).items():
            total[key] += val
    return total
