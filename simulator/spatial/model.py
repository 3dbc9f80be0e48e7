"""The spatial cost model: a cascade (as a `Problem`), a `Mapping` and a `SpatialTarget` -> cycles, accesses, energy.

Per Einsum (one instance, then times `instances`):
- compute: the temporal iterations of its loop nest (ranks split into a buffer tile and spatial unrolling; a rank
  smaller than its spatial factor leaves PEs idle) times the cycles per point (busiest functional unit, or the sum
  of the ops where the PE issues one at a time);
- accesses: a tensor's tile is refetched each time a loop at or outside the innermost loop over one of its ranks
  advances (loops further in reuse it). Buffer <-> array traffic uses the spatial tile over the whole nest; DRAM
  <-> buffer traffic uses the buffer tile over the outer (DRAM-level) loops. `pe` tensors stay in register files;
- register files, over every PE: operand reads (and partial-sum reads) and result writes per op, plus a fill each
  time an operand's element in a PE changes (stationary operands reused; operands forwarded within an array free).
Per fusion group: buffer occupancy (tiles of staged inputs, intermediates at the group's and their producer's tile,
in-place tensors sharing space); overflow is spilled (the excess share of a spillable tensor's buffer accesses goes
to DRAM) or is an error. Group latency = max(pipelined compute of its stages plus the reduction drains a
non-interleaved schedule exposes, a `lag`'s last iterations and the target's control cycles per tile, DRAM
time), with a double-buffered group's first-tile loads and last-tile stores added serially; DRAM time = traffic /
bandwidth, or whole accesses per spatial tile (`dram.packing`). The total is the sum over groups. Energy = sum of
actions x energy per action from the target's table.

One implementation for one mapping and for a batch: where a mapping's tiles and spatial factors are numpy arrays of
shape (B,) (candidates sharing one structure, `mappers.mapspace.build_groups`), every count below is an array too
(`vec.py`), and a candidate that does not fit the buffer gets an infinite latency instead of an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hw.spatial import ComputeArray, Dram, EnergyTable, SpatialTarget
from mappers import nestmath
from mappers.errors import MappingError
from mappers.mapping import TENSOR_LEVELS, EinsumMapping, Group, Mapping
from simulator.spatial.batch import Loops, level_and_mask, local_structure, merge, rows
from simulator.spatial.buffer import add_overflow_reads, buffer_occupancy, tensor_level
from simulator.spatial.convention import PHYSICAL, Dataflow
from simulator.spatial.problem import EinsumSpec, Problem
from simulator.spatial.vec import any_true, ceil, ceil_log2, is_batch, max_of, maximum, minimum, prod, where


@dataclass
class EinsumCost:
    """Costs of one Einsum over all its instances; DRAM bytes exclude the group's spills (added per group)."""

    name: str
    array: str
    group: str
    compute_cycles: float
    work_cycles: float  # PE-cycles of useful work / PEs of the array: what it would take at full utilisation
    drain_cycles: float = 0.0  # spatial-reduction drain over all output tiles (exposed only without interleaving)
    dram_read_bytes: float = 0.0
    dram_write_bytes: float = 0.0
    buffer_read_bytes: float = 0.0
    buffer_write_bytes: float = 0.0
    rf_reads: float = 0.0
    rf_writes: float = 0.0
    compute_energy_pj: float = 0.0
    flops: float = 0.0
    pes: int = 1  # PEs the Einsum's spatial unrolling uses (one PE's register-file accesses = rf / pes)
    # per tensor: (buffer read bytes, buffer write bytes), for spills and the group's shared staging
    tensor_buffer_bytes: dict[str, tuple[float, float]] = field(default_factory=dict)
    staged_reads: dict[str, float] = field(default_factory=dict)  # DRAM-level inputs: DRAM read bytes
    # the DRAM bus's view (`dram.packing`): bytes it moves, padded to whole accesses per spatial tile
    dram_transfer_bytes: float = 0.0  # traffic other than staged reads and spills
    staged_transfer: dict[str, float] = field(default_factory=dict)
    first_tile_bytes: dict[str, float] = field(default_factory=dict)  # staged inputs: one buffer tile, x instances
    last_tile_bytes: dict[str, float] = field(default_factory=dict)  # DRAM outputs: one buffer tile, x instances
    rank_trips: dict[str, int] = field(default_factory=dict)  # temporal trips per rank (DRAM and buffer level)
    outer_iterations: int = 1  # iterations of the DRAM-level loops (tiles), one instance


@dataclass
class GroupCost:
    name: str
    einsums: list[EinsumCost]
    compute_cycles: float
    dram_bytes: float
    buffer_need_bytes: float
    spilled_fraction: float
    latency_s: float
    dram_s: float = 0.0  # DRAM transfer time (bytes / bandwidth, or accesses under `dram.packing: spatial_tile`)
    buffer_s: float = 0.0  # buffer traffic over `global_buffer.bw_bytes_per_cycle` (0 where that is unset)
    feasible: object = True  # a batch: which candidates fit the buffer (the others have latency_s = inf)


def _err(file: str, where: str, msg: str) -> MappingError:
    return MappingError(f"{file}: field '{where}': {msg}")


def _accesses(tensor_ranks: tuple[str, ...], footprint: float, loops: list[tuple[str, int]],
              index: dict[str, int] | None = None) -> float:
    """Tile fetches: footprint times the trips of every loop up to the innermost one over a rank of the tensor
    that runs more than one trip (scanned from the innermost loop out, so trips may be per-candidate arrays). In a
    batch whose loop order is per candidate, a loop's rank is an array of rank positions (`index`)."""
    if isinstance(loops, Loops):
        return footprint * loops.fetches([index[r] for r in tensor_ranks])
    if not any(is_batch(trips) for _, trips in loops):
        last = -1
        for i, (rank, trips) in enumerate(loops):
            if trips > 1 and rank in tensor_ranks:
                last = i
        return footprint * math.prod(trips for _, trips in loops[: last + 1])
    reached: object = False
    fetches: object = 1
    ids = [index[r] for r in tensor_ranks] if index is not None else []
    for rank, trips in reversed(loops):
        if isinstance(rank, str):
            hit = rank in tensor_ranks
        else:
            hit = False
            for i in ids:
                hit = hit | (rank == i)
        reached = reached | (hit & (trips > 1))
        fetches = fetches * where(reached, trips, 1)
    return footprint * fetches


@dataclass(frozen=True)
class _Nest:
    tile: dict[str, int]
    spatial: dict[str, int]
    outer: list[tuple[str, int]]  # (rank, trips) outer -> inner; in a batch with per-candidate orders the rank is
    inner: list[tuple[str, int]]  # an array of positions in the Einsum's iteration ranks (`index`)
    outer_of: dict[str, int] = field(default_factory=dict)  # trips per rank, whatever the order
    inner_of: dict[str, int] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)


def _nest(spec: EinsumSpec, em: EinsumMapping, group: Group, arr: ComputeArray, file: str) -> _Nest:
    where = f"einsums.{spec.name}"
    ranks = spec.iteration_ranks
    for key, value in (("spatial", em.spatial), ("buffer_tile", em.buffer_tile or {})):
        bad = sorted(set(value) - set(ranks))
        if bad:
            raise _err(file, f"{where}.{key}", f"ranks {bad} are not iteration ranks of {spec.name} {list(ranks)}")
    per_candidate_order = isinstance(em.loop_order, np.ndarray)  # a batch: (B, ranks) positions, outer -> inner
    bad = [] if per_candidate_order else sorted(set(em.loop_order) - set(ranks))
    if bad:
        raise _err(file, f"{where}.loop_order", f"ranks {bad} are not iteration ranks of {spec.name} {list(ranks)}")
    if any_true(prod(em.spatial.values()) > arr.pes):
        raise _err(file, f"{where}.spatial", f"unrolls {np.max(prod(em.spatial.values()))} PEs but array "
                   f"{arr.name!r} has {arr.pes}; reduce the factors")
    tiles = em.buffer_tile if em.buffer_tile is not None else group.tile
    order = list(ranks) if per_candidate_order else list(em.loop_order) + [r for r in ranks if r not in em.loop_order]
    # the mapper's vectorised nest arithmetic (mappers/nestmath.py): one implementation
    sizes = [spec.sizes[r] for r in order]
    tile_in = [tiles.get(r, spec.sizes[r]) for r in order]
    spatial_in = [em.spatial.get(r, 1) for r in order]
    if is_batch(*tile_in, *spatial_in):  # a batch of candidates: per rank an array of shape (B,)
        n = max(np.size(v) for v in (*tile_in, *spatial_in))
        tile_v, spatial_v = nestmath.clip_tiles(sizes, _columns(tile_in, n), _columns(spatial_in, n))
        out_v, in_v = nestmath.trips(sizes, tile_v, spatial_v)
        cols = list(zip(order, tile_v.T, spatial_v.T, out_v.T, in_v.T, strict=True))
        outer_of, inner_of = {r: o for r, _, _, o, _ in cols}, {r: i for r, *_, i in cols}
        if per_candidate_order:
            perm = em.loop_order
            loops_out = Loops(np.take_along_axis(out_v, perm, 1), perm)
            loops_in = Loops(np.take_along_axis(in_v, perm, 1), perm)
        else:
            positions = np.arange(len(order))
            loops_out, loops_in = Loops(out_v, positions), Loops(in_v, positions)
        return _Nest({r: t for r, t, *_ in cols}, {r: k for r, _, k, *_ in cols}, loops_out, loops_in,
                     outer_of, inner_of, {r: j for j, r in enumerate(order)})
    tile_v, spatial_v = nestmath.clip_tiles(sizes, tile_in, spatial_in)
    out_v, in_v = nestmath.trips(sizes, tile_v, spatial_v)
    tile = {r: int(v) for r, v in zip(order, tile_v, strict=True)}
    spatial = {r: int(v) for r, v in zip(order, spatial_v, strict=True)}
    outer = [(r, int(v)) for r, v in zip(order, out_v, strict=True)]
    inner = [(r, int(v)) for r, v in zip(order, in_v, strict=True)]
    return _Nest(tile, spatial, outer, inner, dict(outer), dict(inner))


def _columns(values: list, n: int) -> np.ndarray:
    """Per-rank values (numbers or (B,) arrays) as one (B, ranks) int64 array."""
    return np.stack([np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)) for v in values], axis=-1)


def cycles_per_point(spec: EinsumSpec, arr: ComputeArray, file: str, target_name: str) -> float:
    """Cycles per point of the iteration space: the busiest functional unit's occupancy when the PE's units run
    concurrently (`concurrent_units`), else the sum over all its ops (one op issued at a time)."""
    per_unit: dict[str, float] = {}
    for op, count in spec.op_counts.items():
        cost = arr.ops.get(op)
        if cost is None:
            raise _err(file, f"einsums.{spec.name}.array", f"Einsum {spec.name!r} needs op {op!r}, which array "
                       f"{arr.name!r} of target {target_name!r} lacks (its ops: {', '.join(arr.ops)}); "
                       "bind it to an array that has it")
        per_unit[cost.unit] = per_unit.get(cost.unit, 0.0) + count / spec.points * cost.cycles
    if not arr.concurrent_units:
        return sum(per_unit.values())
    return max(per_unit.values(), default=0.0)


def _output_tiles(spec: EinsumSpec, nest: _Nest) -> int:
    """Temporal iterations that each produce a new output tile (those over output ranks)."""
    return prod(nest.outer_of[r] * nest.inner_of[r] for r in nest.outer_of if r in spec.output_ranks)


def reduction_depth(spec: EinsumSpec, spatial: dict[str, int], arr: ComputeArray) -> int:
    """Cycles for one output of a reduction unrolled across PEs to drain out of the array: the product of the
    spatial factors of the reduced ranks, one hop per PE along a chain (`log2` of it for a tree)."""
    reduced = [r for r in spec.iteration_ranks if r not in spec.output_ranks]
    pes = prod(spatial.get(r, 1) for r in reduced)
    if is_batch(pes):
        hops = ceil_log2(pes) if arr.spatial_reduction == "tree" else pes
        return np.where(pes <= 1, 0, hops * arr.reduction_hop_cycles)
    if pes <= 1:
        return 0
    hops = math.ceil(math.log2(pes)) if arr.spatial_reduction == "tree" else pes
    return hops * arr.reduction_hop_cycles


def cost_einsum(spec: EinsumSpec, em: EinsumMapping, group: Group, mapping: Mapping, problem: Problem,
                target: SpatialTarget, table: EnergyTable, file: str, dataflow: Dataflow = PHYSICAL) -> EinsumCost:
    """Cycles, accesses and compute energy of one Einsum under its mapping (see the module docstring); a
    `dataflow` of the artifact convention streams some DRAM tensors past the buffer and forwards some operands.
    In a batch whose candidates differ in this Einsum's structure (its array, the levels of its tensors, the arrays
    of its operands' producers: arrays of per-candidate values), each distinct structure is costed as one batch
    and the results are merged back in candidate order."""
    local = local_structure(spec, em, mapping, problem, target, set(dataflow.stream.get(spec.name, ())))
    if local is None:
        return _cost_einsum(spec, em, group, mapping, problem, target, table, file, dataflow)
    keys, decode = local
    uniq, inverse = nestmath.unique_rows(keys)
    parts = []
    for u, row in enumerate(uniq):
        sub = np.flatnonzero(inverse == u)
        em_u, mapping_u = decode(row, sub)
        group_u = group.model_copy(update={"tile": {r: rows(v, sub) for r, v in group.tile.items()}})
        parts.append((sub, _cost_einsum(spec, em_u, group_u, mapping_u, problem, target, table, file, dataflow)))
    return merge(parts, len(inverse))


def _cost_einsum(spec: EinsumSpec, em: EinsumMapping, group: Group, mapping: Mapping, problem: Problem,
                 target: SpatialTarget, table: EnergyTable, file: str, dataflow: Dataflow = PHYSICAL) -> EinsumCost:
    """`cost_einsum` for one structure (every candidate of a batch bound alike)."""
    try:
        arr = target.array(em.array)
    except KeyError:
        raise _err(file, f"einsums.{spec.name}.array", f"target {target.name!r} has no array {em.array!r} "
                   f"(arrays: {', '.join(a.name for a in target.arrays)})") from None
    nest = _nest(spec, em, group, arr, file)
    cpp = cycles_per_point(spec, arr, file, target.name)
    n = spec.instances
    iterations = prod(nest.outer_of.values()) * prod(nest.inner_of.values())
    cost = EinsumCost(spec.name, arr.name, group.name, compute_cycles=iterations * cpp * n,
                      work_cycles=spec.points * cpp * n / arr.pes,
                      drain_cycles=_output_tiles(spec, nest) * n * reduction_depth(spec, nest.spatial, arr),
                      pes=prod(nest.spatial.values()))
    for op, count in spec.op_counts.items():
        for unit, k in arr.ops[op].action_counts().items():
            cost.compute_energy_pj += count * k * table.energy_pj(unit, "compute", f"arrays.{arr.name}.ops.{op}") * n
        cost.flops += count * (2 if op == "mac" else 1) * n
    cost.rf_reads, cost.rf_writes = register_file_accesses(spec, nest, em.array, mapping, problem,
                                                           [a.name for a in target.arrays].index(arr.name))
    cost.rank_trips = {r: nest.outer_of[r] * nest.inner_of[r] for r in nest.outer_of}
    cost.outer_iterations = prod(nest.outer_of.values())

    word = target.word_bytes
    loops = nest.outer + nest.inner
    tensors = [(t, rs, False) for t, rs in spec.operands] + [(spec.output, spec.output_ranks, True)]
    for tensor, ranks, is_output in tensors:
        level, held, to_dram = level_and_mask(tensor_level(mapping, problem, tensor))
        if level == "pe" or (not is_output and tensor in dataflow.forwarded.get(spec.name, ())):
            continue
        rs = tuple(r for r in ranks if r in spec.iteration_ranks)
        reads = writes = 0.0
        spatial_fp = prod(nest.spatial[r] for r in rs)
        tile_fp = prod(nest.tile[r] for r in rs)
        full_fp = math.prod(spec.sizes[r] for r in rs)
        if is_output:
            writes = _accesses(rs, spatial_fp, loops, nest.index) * word * n
            reads = writes - full_fp * word * n  # partial sums re-read when a reduction loop is outside
        else:
            reads = _accesses(rs, spatial_fp, loops, nest.index) * word * n
        if held is not None:  # a batch where the tensor stays in the PEs for some candidates: none of this there
            reads, writes = reads * held, writes * held
            tile_fp = tile_fp * held
        pad = access_padding(spatial_fp * word, target.dram)
        if level == "dram" and tensor in dataflow.stream.get(spec.name, ()):
            # the array reads (writes) it straight from (to) DRAM: its array-level accesses are DRAM traffic
            cost.dram_read_bytes += reads
            cost.dram_write_bytes += writes
            cost.dram_transfer_bytes += (reads + writes) * pad
            continue
        if level == "dram":
            dram = _accesses(rs, tile_fp, nest.outer, nest.index) * word * n
            if to_dram is not None:  # a batch where the others keep it in the buffer
                dram, tile_fp = dram * to_dram, tile_fp * to_dram
            if is_output:
                mask = held if to_dram is None else to_dram if held is None else held * to_dram
                reread = dram - full_fp * word * n if mask is None else dram - full_fp * word * n * mask
                cost.dram_write_bytes += dram
                cost.dram_read_bytes += reread
                cost.dram_transfer_bytes += (dram + reread) * pad
                cost.last_tile_bytes[tensor] = tile_fp * word * n * pad
                reads = reads + dram  # drained from the buffer to DRAM
            else:
                cost.staged_reads[tensor] = dram
                cost.staged_transfer[tensor] = dram * pad
                cost.first_tile_bytes[tensor] = tile_fp * word * n * pad
                writes = writes + dram  # filled into the buffer from DRAM
        cost.buffer_read_bytes += reads
        cost.buffer_write_bytes += writes
        old = cost.tensor_buffer_bytes.get(tensor, (0.0, 0.0))
        cost.tensor_buffer_bytes[tensor] = (old[0] + reads, old[1] + writes)
    return cost


def access_padding(tile_bytes: float, dram: Dram) -> float:
    """Bytes the DRAM bus moves per byte of a tensor whose spatial tile is `tile_bytes`: 1 for `dense` packing;
    for `spatial_tile`, whole accesses of `width_bits` per spatial tile (a 4-byte tile on an 8-byte port: 2)."""
    if dram.packing == "dense":
        return 1.0
    access = dram.width_bits / 8
    if is_batch(tile_bytes):
        safe = np.maximum(tile_bytes, 1e-300)
        return np.where(tile_bytes <= 0, 1.0, np.ceil(safe / access) * access / safe)
    if tile_bytes <= 0:
        return 1.0
    return ceil(tile_bytes / access) * access / tile_bytes


def register_file_accesses(spec: EinsumSpec, nest: _Nest, array: str, mapping: Mapping,
                           problem: Problem, array_index: int = -1) -> tuple[float, float]:
    """Register-file (reads, writes) of one Einsum over all PEs and instances, following its loop nest as
    Timeloop counts them: each op reads its operands, and the partial sum it accumulates into when the Einsum
    reduces; each op writes (updates) its result. An operand is written (filled) into a PE's registers each time
    its element there changes: once per trip of the loops up to the innermost one over its ranks, so a stationary
    operand is filled once and reused across the inner loops. An operand its producer left in the same array's
    registers (a `pe` tensor forwarded PE to PE, e.g. FuseMax's BQK -> SLN -> SLNV) needs no fill."""
    density = min(max((c / spec.points for c in spec.op_counts.values()), default=0.0), 1.0)
    points = spec.points * density * spec.instances
    reduces = any(r not in spec.output_ranks for r in spec.iteration_ranks)
    reads = points * (len(spec.operands) + (1 if reduces else 0))
    writes = points
    producer = {e.output: mapping.einsums[e.name].array for e in problem.einsums if e.name in mapping.einsums}
    loops = nest.outer + nest.inner
    pes = prod(nest.spatial.values())  # every PE in use holds its own copy (a multicast fills each)
    for tensor, ranks in spec.operands:
        level = tensor_level(mapping, problem, tensor)
        rs = tuple(r for r in ranks if r in spec.iteration_ranks)
        if is_batch(level) or is_batch(producer.get(tensor)):  # a batch (array = its index in the target)
            maker = producer.get(tensor)
            same = maker == array if isinstance(maker, str) or maker is None else maker == array_index
            in_pe = level == "pe" if isinstance(level, str) else level == TENSOR_LEVELS.index("pe")
            forwarded = in_pe & same
            fills = _accesses(rs, pes, loops, nest.index) * density * spec.instances
            writes = writes + np.where(forwarded, 0.0, fills)
            continue
        if level == "pe" and producer.get(tensor) == array:
            continue
        writes += _accesses(rs, pes, loops, nest.index) * density * spec.instances
    return reads, writes


def exposed_drain_cycles(group: Group, costs: dict[str, EinsumCost], specs: dict[str, EinsumSpec]) -> float:
    """Without interleaving, a stage cannot start until the spatial reductions it reads from an earlier stage
    have drained out of the array (FuseMax's 2D array waiting for LM's max to reach the 1D array before RM, then
    SLN, can run); with `interleaved: true` other tiles' work fills that wait."""
    if group.interleaved:
        return 0.0
    stage_of = {n: i for i, stage in enumerate(group.stages) for lane in stage for n in lane}
    exposed = 0.0
    for name, stage in stage_of.items():
        readers = [r for r in stage_of if any(t == specs[name].output for t, _ in specs[r].operands)]
        if any(stage_of[r] > stage for r in readers):
            exposed += costs[name].drain_cycles
    return exposed


def cost_group(group: Group, specs: dict[str, EinsumSpec], mapping: Mapping, problem: Problem,
               target: SpatialTarget, table: EnergyTable, file: str, dataflow: Dataflow = PHYSICAL,
               einsum_cost: Callable[..., EinsumCost] | None = None,
               lanes: dict[str, np.ndarray] | None = None) -> GroupCost:
    """Cost every Einsum of a group, apply spills, pipeline the stages, and bound by DRAM bandwidth (and by the
    buffer's, where the target sets `global_buffer.bw_bytes_per_cycle`).
    `einsum_cost` (default `cost_einsum`) lets the mapper pass a memoised `cost_einsum`: the same model. `lanes`
    (a batch of a one-stage group): per Einsum, the lane it runs in for each candidate (lanes run concurrently,
    the Einsums of a lane one after another), in place of the stage's listed lanes."""
    einsum_cost = einsum_cost or cost_einsum
    names = group.einsum_names()
    missing = [n for n in names if n not in specs]
    if missing:
        raise _err(file, f"groups.{group.name}.stages", f"Einsums {missing} are not in cascade "
                   f"{problem.name!r} (its Einsums: {', '.join(specs)})")
    costs = {n: einsum_cost(specs[n], mapping.einsums[n], group, mapping, problem, target, table, file, dataflow)
             for n in names}
    for i, stage in enumerate(group.stages if lanes is None else ()):
        owner: dict[str, int] = {}
        for j, lane in enumerate(stage):
            for n in lane:
                arr = mapping.einsums[n].array
                if owner.setdefault(arr, j) != j:
                    raise _err(file, f"groups.{group.name}.stages.{i}", f"lanes {owner[arr]} and {j} both use array "
                               f"{arr!r}, so they cannot run concurrently; put them in one lane or in separate stages")
    need = buffer_occupancy(group, [specs[n] for n in names], mapping, problem, target.word_bytes, dataflow)
    capacity = target.global_buffer.capacity_bytes
    total = sum(need.values())
    spill_need = sum(v for t, v in need.items() if t in mapping.spill)
    fraction: object = 0.0
    feasible: object = True
    if is_batch(total):  # a batch: the candidates that do not fit get an infinite latency below
        fixed = total - spill_need
        over = total > capacity
        feasible = ~(over & ((fixed > capacity) | (spill_need == 0)))
        fraction = np.where(over & feasible, 1.0 - (capacity - fixed) / np.where(spill_need == 0, 1, spill_need),
                            0.0)
    elif total > capacity:
        fixed = total - spill_need
        if fixed > capacity or spill_need == 0:
            worst = max((t for t in need if t not in mapping.spill), key=need.get)
            raise _err(file, f"groups.{group.name}.tile", f"group {group.name!r} needs {total:.4g} B of buffer "
                       f"({fixed:.4g} B not spillable, largest {worst!r} {need[worst]:.4g} B) but target "
                       f"{target.name!r} has global_buffer.capacity_bytes = {capacity}; shrink the tiles or list "
                       "the tensor under 'spill'")
        fraction = 1.0 - (capacity - fixed) / spill_need
    staged: dict[str, float] = {}
    transfer = 0.0  # the DRAM bus's bytes (`dram.packing`)
    for c in costs.values():
        for tensor, dram in c.staged_reads.items():
            staged[tensor] = maximum(staged.get(tensor, 0.0), dram)  # a staged tile is shared by the group
        spilled = [b for t, b in c.tensor_buffer_bytes.items() if t in mapping.spill]
        c.dram_read_bytes += fraction * sum(r for r, _ in spilled)
        c.dram_write_bytes += fraction * sum(w for _, w in spilled)
        transfer += c.dram_transfer_bytes + fraction * sum(r + w for r, w in spilled)
    for tensor, dram in staged.items():
        readers = [c for c in costs.values() if tensor in c.staged_reads]
        for c in readers:
            c.dram_read_bytes += dram / len(readers)
            if dataflow.fill_once:  # the shared tile is filled into the buffer once, not once per reader
                c.buffer_write_bytes += dram / len(readers) - c.staged_reads[tensor]
        transfer += max_of(c.staged_transfer[tensor] for c in readers)
    if dataflow.partition_overflow and lanes is None:
        add_overflow_reads(costs, group, specs, mapping, problem, target.word_bytes, dataflow)
    if lanes is None:
        compute = sum(max_of(sum(costs[n].compute_cycles for n in lane) for lane in stage)
                      for stage in group.stages)
    else:
        count = int(max(np.max(v) for v in lanes.values())) + 1
        compute = max_of(sum(np.where(lanes[n] == j, costs[n].compute_cycles, 0.0) for n in names)
                         for j in range(count))
    compute += exposed_drain_cycles(group, costs, specs)
    compute += lag_cycles(group, costs, file) + control_cycles(group, costs, specs, target)
    dram = sum(c.dram_read_bytes + c.dram_write_bytes for c in costs.values())
    bw = target.dram.bw_bytes_per_s
    dram_s = (dram if target.dram.packing == "dense" else transfer) / bw
    exposed_io_s = 0.0
    if group.io_overlap == "double_buffered":
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        for c in costs.values():
            for part, mine in ((first, c.first_tile_bytes), (last, c.last_tile_bytes)):
                for tensor, b in mine.items():
                    part[tensor] = maximum(part.get(tensor, 0.0), b)
        exposed_io_s = minimum(dram_s, (sum(first.values()) + sum(last.values())) / bw)
    port = target.global_buffer.bw_bytes_per_cycle
    buffer_s = 0.0 if port is None else sum(c.buffer_read_bytes + c.buffer_write_bytes
                                            for c in costs.values()) / (port * target.clock_hz)
    latency = exposed_io_s + maximum(maximum(compute / target.clock_hz, buffer_s), dram_s - exposed_io_s)
    if is_batch(feasible):
        latency = np.where(feasible, latency, np.inf)
    return GroupCost(group.name, list(costs.values()), compute, dram, total, fraction, latency, dram_s=dram_s,
                     buffer_s=buffer_s, feasible=feasible)


def lag_cycles(group: Group, costs: dict[str, EinsumCost], file: str) -> float:
    """The exposed drain of lagging lanes (`lag`): one iteration of the lag rank of each lagging Einsum, per pass
    over that rank (its cycles over the rank's trips)."""
    if group.lag is None:
        return 0.0
    exposed = 0.0
    for name in group.lag.einsums:
        trips = costs[name].rank_trips.get(group.lag.rank)
        if trips is None:
            raise _err(file, f"groups.{group.name}.lag.rank", f"{group.lag.rank!r} is not an iteration rank of "
                       f"{name!r} (its ranks: {', '.join(costs[name].rank_trips)}); name a rank the Einsum loops over")
        exposed += costs[name].compute_cycles / trips
    return exposed


def control_cycles(group: Group, costs: dict[str, EinsumCost], specs: dict[str, EinsumSpec],
                   target: SpatialTarget) -> float:
    """`control_cycles_per_tile` of the target for every tile of the group's DRAM-level loop, every instance."""
    if not target.control_cycles_per_tile:
        return 0.0
    tiles = max_of(c.outer_iterations * specs[n].instances for n, c in costs.items())
    return target.control_cycles_per_tile * tiles
