"""The global buffer in the spatial cost model (`model.py`): where each tensor lives, what each tensor's tile holds
in the buffer while a group runs (in-place tensors sharing space), and the reads the artifact convention adds where
Timeloop's partition sizes wrap 64 bits. For one mapping and for a batch (`batch.py`) alike.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mappers.mapping import Group, Mapping
from simulator.spatial.batch import batch_footprint
from simulator.spatial.convention import PHYSICAL, Dataflow, overflow_reads
from simulator.spatial.problem import EinsumSpec, Problem
from simulator.spatial.vec import is_batch, maximum, minimum, prod


def tensor_level(mapping: Mapping, problem: Problem, tensor: str) -> str:
    """Where `tensor` lives: the mapping's choice, else DRAM for cascade inputs/outputs and buffer otherwise."""
    if tensor in mapping.tensors:
        return mapping.tensors[tensor]
    return "dram" if tensor in problem.inputs or tensor in problem.outputs else "buffer"


def buffer_occupancy(group: Group, specs: list[EinsumSpec], mapping: Mapping, problem: Problem,
                     word: int, dataflow: Dataflow = PHYSICAL) -> dict[str, float]:
    """Bytes each buffered tensor needs in the buffer while the group runs (in-place tensors share space)."""
    need = tensor_footprints(group, specs, mapping, problem, word, dataflow)
    if any(not isinstance(h, str) for h in mapping.in_place.values()):
        # a batch: tensor -> ((host, mask), ...); from the last writer back, so chains (A over SN over QK) fold
        for tensor in reversed(list(mapping.in_place)):
            for host, mask in mapping.in_place[tensor]:
                if tensor in need and host in need:
                    need[host] = np.where(mask, np.maximum(need[host], need[tensor]), need[host])
                    need[tensor] = np.where(mask, 0.0, need[tensor])
        return need
    for tensor in list(mapping.in_place):
        host = mapping.in_place[tensor]
        while host in mapping.in_place and host not in need:  # follow chains: A over SN over QK
            host = mapping.in_place[host]
        if tensor in need and host in need:
            need[host] = maximum(need[host], need.pop(tensor))
    return need


def tensor_footprints(group: Group, specs: list[EinsumSpec], mapping: Mapping, problem: Problem,
                      word: int, dataflow: Dataflow = PHYSICAL) -> dict[str, float]:
    """Bytes of each tensor's tile held in the buffer while the group runs, before in-place tensors share space;
    a tensor the dataflow streams past the buffer in an Einsum holds none there."""
    produced = {s.output for s in specs}
    names = {s.name for s in specs}
    # a buffered tensor produced here and read by another group stays whole in the buffer between the groups
    escapes = {t for e in problem.einsums if e.name not in names for t, _ in e.operands if t in produced}
    # an intermediate kept in the buffer is held at the group's tile, and at least at the tile its producer writes
    # (FLAT's QK: a block of query rows over all keys, though its softmax walks one row at a time)
    # (a rank an explicit buffer_tile leaves out is whole, as the loop nest counts it; no buffer_tile: the group's)
    writer_tile = {s.output: mapping.einsums[s.name].buffer_tile for s in specs}
    need: dict[str, float] = {}
    for spec in specs:
        em = mapping.einsums[spec.name]
        tiles = em.buffer_tile if em.buffer_tile is not None else group.tile
        for tensor, ranks in (*spec.operands, (spec.output, spec.output_ranks)):
            level = tensor_level(mapping, problem, tensor)
            if not isinstance(level, str):  # a batch: level codes per candidate
                fp = batch_footprint(spec, tensor, ranks, level, tiles, group, writer_tile, produced, escapes,
                                      word, dataflow)
                need[tensor] = maximum(need.get(tensor, 0.0), fp)
                continue
            if level == "pe" or (level == "dram" and tensor in dataflow.stream.get(spec.name, ())):
                continue
            held = tiles
            if tensor in produced and level == "buffer":
                written = writer_tile[tensor]
                held = {r: maximum(minimum(group.tile.get(r, spec.sizes[r]), spec.sizes[r]),
                                   minimum(written.get(r, spec.sizes[r]) if written is not None else 0, spec.sizes[r]))
                        for r in ranks}
            if tensor in escapes and level == "buffer":
                held = {}
            fp = prod(minimum(held.get(r, spec.sizes[r]), spec.sizes[r]) for r in ranks) * word
            need[tensor] = maximum(need.get(tensor, 0.0), fp)
    return need


def add_overflow_reads(costs: dict[str, Any], group: Group, specs: dict[str, EinsumSpec], mapping: Mapping,
                       problem: Problem, word: int, dataflow: Dataflow) -> None:
    """Charge each buffered output the reads Timeloop stops eliding where its partition size wraps 64 bits
    (convention.py `overflow_reads`): tensor elements over all instances x the tile the buffer holds. Energy
    only: the artifact leaves them out of its traffic (cascade.py collect_mem_traffic skips reads equal to
    updates)."""
    held = tensor_footprints(group, [specs[n] for n in costs], mapping, problem, word, dataflow)
    for name, c in costs.items():
        spec = specs[name]
        out = spec.output
        if out not in held or (tensor_level(mapping, problem, out) == "dram"
                               and out in dataflow.stream.get(name, ())):
            continue
        elements = int(math.prod(spec.sizes[r] for r in spec.output_ranks) * spec.instances)
        tile = held[out] // word
        extra = (np.array([overflow_reads(elements, int(t)) for t in np.ravel(tile)], dtype=float)
                 if is_batch(tile) else overflow_reads(elements, int(tile)))
        c.buffer_read_bytes += extra * word
