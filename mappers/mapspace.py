"""The mapspace of a whole cascade on a spatial target: what a mapping may choose, and the rules that prune it.

A point of the space is, per fusion group (a contiguous run of the cascade's Einsums), a `GroupChoice`: the group's
shared buffer tile (a size per rank from a ladder of divisors and ceil-tiles), the DRAM-level order of its tiled
ranks, whether intermediates that cannot stay in the PEs live in the buffer (spilling what overflows) or go through
DRAM, optionally one rank that Einsums reading a staged input stream through the buffer in array-sized blocks, and
optionally a row block: one rank on which those Einsums keep a larger buffer tile than the group's (FLAT's scheme:
QK and AV on blocks of query rows while the softmax walks one row; `mappers/builtin/flat.yaml`).
From a choice, `build_group` derives the rest by rules that are exact sub-optimisations of the model:
- array per Einsum: any array that has all its ops; the assignment that minimises the pipelined compute;
- spatial unrolling per Einsum: up to two ranks onto the array's rows and columns (whole, partial or mixed factors),
  the one with the fewest temporal iterations (vectorised over all options, `mappers/nestmath.py`);
- schedule: one stage with one lane per array (tiles of the group pipelined across the arrays) when the group
  tile splits a rank, else one lane in cascade order;
- levels: a tensor stays in the PEs (`pe`) when it is produced and consumed inside the group, is not carried
  across iterations (read by its own producer), and every consumer unrolls its ranks as its producer does; a tensor
  leaving the group goes to DRAM; `in_place` wherever an element-wise Einsum is the last reader of a same-shaped
  tensor; every non-`pe` intermediate may spill.
Rules that prune: an Einsum with no array having its ops (the error names the op), a group tile that splits a rank
over which an earlier Einsum of the group reduces a tensor a later one reads over that rank (a softmax pass needs
the whole row), and a tile that cannot fit the buffer (found by the model).
The functions take duck-typed Einsum specs (`simulator.spatial.problem.EinsumSpec`) and a `hw.spatial` target.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hw.spatial import ComputeArray, SpatialTarget
from mappers import nestmath
from mappers.mapping import EinsumMapping, Group

#: cycles per point of an Einsum on an array (the cost model's `cycles_per_point`, passed in: mappers do not
#: import the simulator)
CyclesPerPoint = Callable[[Any, ComputeArray], float]


@dataclass(frozen=True)
class GroupChoice:
    """The free choices of one fusion group (everything else follows by rule, see the module docstring)."""

    tile: tuple[tuple[str, int], ...]  # rank -> buffer tile, ranks tiled below their size only
    order: tuple[str, ...] = ()  # DRAM-level order of the tiled ranks, outer -> inner
    onchip: bool = True  # non-pe intermediates in the buffer (spillable), else through DRAM
    stream: str | None = None  # rank streamed in array-sized blocks by Einsums that read a staged input
    block: tuple[str, int] | None = None  # (rank, tile) of Einsums that read a staged input, above the group's


@dataclass(frozen=True)
class GroupMapping:
    """The mapping entries one group contributes: its `Group`, Einsum entries and tensor placement."""

    group: Group
    einsums: dict[str, EinsumMapping]
    tensors: dict[str, str]
    spill: tuple[str, ...]
    in_place: dict[str, str]


def eligible_arrays(spec: Any, target: SpatialTarget) -> tuple[str, ...]:
    """Arrays that have every op `spec` uses."""
    return tuple(a.name for a in target.arrays if all(op in a.ops for op in spec.op_counts))


def missing_op_message(spec: Any, target: SpatialTarget) -> str:
    """One line naming which op `spec` needs that each array lacks."""
    parts = [f"{a.name} lacks {', '.join(sorted(op for op in spec.op_counts if op not in a.ops))}"
             for a in target.arrays]
    return (f"Einsum {spec.name!r} needs ops {sorted(spec.op_counts)}, and no array of target {target.name!r} has "
            f"them all ({'; '.join(parts)}); add the op to an array (--set arrays.NAME.ops...) or choose another "
            "target")


def tile_ladder(size: int, dims: Sequence[int]) -> tuple[int, ...]:
    """Buffer tiles for a rank of `size`: powers of two, the array dimensions and their multiples (ceil-tiles
    where they do not divide), and the whole rank; ascending."""
    values = {size}
    values.update(1 << k for k in range(size.bit_length()) if 1 << k < size)
    for d in dims:
        values.update(d * k for k in (1, 2, 4) if d * k < size)
    return tuple(sorted(values))


def spatial_options(ranks: Sequence[str], arr: ComputeArray, tile: dict[str, int]) -> list[dict[str, int]]:
    """Unrollings of up to two ranks onto the array's rows and columns: one rank per dimension, and a rank smaller
    than a dimension sharing it with another (mixed factors). A 1D array (rows = 1) unrolls onto its columns."""
    return [dict(o) for o in _spatial_options(tuple(ranks), arr.rows, arr.cols, tuple(tile[r] for r in ranks))]


@functools.lru_cache(maxsize=65536)
def _spatial_options(ranks: tuple[str, ...], rows: int, cols: int,
                     tile: tuple[int, ...]) -> tuple[tuple[tuple[str, int], ...], ...]:
    size = dict(zip(ranks, tile, strict=True))
    dims = [d for d in (rows, cols) if d > 1] or [1]
    out: list[dict[str, int]] = [{}]

    def fill(dim: int, r: str, other: str | None) -> dict[str, int]:
        f = min(dim, size[r])
        part = {r: f}
        if other is not None and f < dim:
            part[other] = max(1, dim // f)
        return part

    for r in ranks:
        for dim in dims:
            out.append(fill(dim, r, None))
            for other in ranks:
                if other != r:
                    out.append(fill(dim, r, other))
    if len(dims) == 2:
        for r1, r2 in itertools.permutations(ranks, 2):
            out.append({**fill(dims[0], r1, None), **fill(dims[1], r2, None)})
    seen: list[tuple[tuple[str, int], ...]] = []
    for o in out:
        key = tuple(o.items())
        if key not in seen and math.prod(o.values()) <= rows * cols:
            seen.append(key)
    return tuple(seen)


def best_spatial(spec: Any, arr: ComputeArray, tile: dict[str, int],
                 prefer: dict[str, int] | None = None) -> tuple[dict[str, int], int]:
    """The unrolling with the fewest temporal iterations at `tile` (all options costed as one numpy batch); among
    equals, the one that unrolls the ranks of `prefer` (the producer's unrolling) alike, then the first."""
    ranks = tuple(spec.iteration_ranks)
    pref = tuple(sorted((prefer or {}).items()))
    choice, its = _best_spatial(ranks, tuple(spec.sizes[r] for r in ranks), arr.rows, arr.cols,
                                tuple(tile[r] for r in ranks), pref)
    return dict(choice), its


@functools.lru_cache(maxsize=65536)
def _best_spatial(ranks: tuple[str, ...], sizes: tuple[int, ...], rows: int, cols: int, tile: tuple[int, ...],
                  prefer: tuple[tuple[str, int], ...]) -> tuple[tuple[tuple[str, int], ...], int]:
    options = _spatial_options(ranks, rows, cols, tile)
    spatial = np.array([[dict(o).get(r, 1) for r in ranks] for o in options])
    its = nestmath.iterations(np.array(sizes), np.array(tile), spatial)
    best = int(its.min())
    ties = [i for i in range(len(options)) if its[i] == best]
    pref = dict(prefer)
    if pref:
        for i in ties:
            o = dict(options[i])
            if all(o.get(r, 1) == pref.get(r, 1) for r in ranks if r in pref):
                return options[i], best
    return options[ties[0]], best


def reduction_locked_ranks(specs: Sequence[Any]) -> set[str]:
    """Ranks a fused group must keep whole: an Einsum reduces a tensor over them that a later Einsum of the group
    reads while iterating them (the next pass needs the finished reduction of the whole rank)."""
    producer = {s.output: s for s in specs}
    locked: set[str] = set()
    for s in specs:
        for tensor, ranks in s.operands:
            p = producer.get(tensor)
            if p is None or p is s:
                continue
            reduced = set(p.iteration_ranks) - set(ranks)
            locked |= reduced & set(s.iteration_ranks)
    return locked


def blockable(specs: Sequence[Any]) -> bool:
    """Whether a row block can differ from the group tile: some Einsums of the group read a staged input (they
    take the block) and some read only intermediates (they keep the group's tile)."""
    produced = {s.output for s in specs}
    reads = [any(t not in produced for t, _ in s.operands) for s in specs]
    return any(reads) and not all(reads)


def group_tiles(specs: Sequence[Any]) -> dict[str, int]:
    """Every rank a group iterates, with its size."""
    sizes: dict[str, int] = {}
    for s in specs:
        for r in s.iteration_ranks:
            sizes[r] = s.sizes[r]
    return sizes


def build_group(name: str, specs: Sequence[Any], choice: GroupChoice, target: SpatialTarget,
                cpp: CyclesPerPoint, outside_readers: set[str], cascade_io: set[str]) -> GroupMapping:
    """The group's mapping entries for `choice` (see the module docstring); `outside_readers`: tensors produced
    here and read by another group; `cascade_io`: the cascade's inputs and outputs."""
    sizes = group_tiles(specs)
    gtile = {r: sizes[r] for r in sizes} | dict(choice.tile)
    max_dim = max(max(a.rows, a.cols) for a in target.arrays)
    produced = {s.output for s in specs}
    staged = {t for s in specs for t, _ in s.operands if t not in produced}
    tiles: dict[str, dict[str, int]] = {}
    for s in specs:
        t = {r: gtile[r] for r in s.iteration_ranks}
        reads_staged = any(tensor in staged for tensor, _ in s.operands)
        if choice.block is not None and reads_staged and choice.block[0] in t:
            t[choice.block[0]] = max(t[choice.block[0]], min(choice.block[1], sizes[choice.block[0]]))
        if choice.stream in t and reads_staged and t[choice.stream] > max_dim:
            t[choice.stream] = max_dim
        tiles[s.name] = t
    arrays = {a.name: a for a in target.arrays}
    compute: dict[str, dict[str, float]] = {}
    for s in specs:
        compute[s.name] = {a: best_spatial(s, arrays[a], tiles[s.name])[1] * cpp(s, arrays[a])
                           for a in eligible_arrays(s, target)}
    pipelined = any(gtile[r] < sizes[r] for r in sizes)
    assign = _assign_arrays(specs, compute, pipelined)
    spatial: dict[str, dict[str, int]] = {}
    out_of = {s.output: s.name for s in specs}
    for s in specs:
        prefer: dict[str, int] = {}
        for tensor, _ in s.operands:
            if tensor in out_of and out_of[tensor] in spatial:
                prefer = {**spatial[out_of[tensor]], **prefer}
        spatial[s.name] = best_spatial(s, arrays[assign[s.name]], tiles[s.name], prefer)[0]
    tensors = _levels(specs, spatial, choice.onchip, outside_readers, cascade_io)
    for s in specs:
        for tensor, _ in s.operands:
            tensors.setdefault(tensor, "dram")
    in_place = _in_place(specs, tensors, cascade_io)
    order = tuple(r for r in choice.order if gtile.get(r, 0) < sizes.get(r, 0))
    einsums = {}
    for s in specs:
        # a rank the group tiles is listed even where the Einsum's block is the whole rank: the model holds a
        # written tensor at its writer's listed tile (an unlisted rank would count as the group's tile)
        own = {r: v for r, v in tiles[s.name].items() if v < s.sizes[r] or gtile[r] < sizes[r]}
        group_own = {r: v for r, v in gtile.items() if r in s.iteration_ranks and v < sizes[r]}
        einsums[s.name] = EinsumMapping.model_construct(
            array=assign[s.name], spatial=spatial[s.name],
            loop_order=tuple(r for r in order if r in s.iteration_ranks),
            buffer_tile=own if own != group_own else None)
    if pipelined:
        lanes = [tuple(s.name for s in specs if assign[s.name] == a) for a in arrays]
        stages: tuple = (tuple(lane for lane in lanes if lane),)
    else:
        stages = ((tuple(s.name for s in specs),),)
    group = Group.model_construct(name=name, tile={r: v for r, v in gtile.items() if v < sizes[r]},
                                  stages=stages, interleaved=False)
    spill = tuple(t for t in produced if tensors.get(t) != "pe")
    return GroupMapping(group, einsums, tensors, spill, in_place)


def _assign_arrays(specs: Sequence[Any], compute: dict[str, dict[str, float]], pipelined: bool) -> dict[str, str]:
    """The array per Einsum minimising the group's compute: with pipelining the busiest array's total, else the
    sum; ties broken by the sum, then by the first. All assignments are costed as one numpy batch (up to 2^16)."""
    names = tuple(s.name for s in specs)
    table = tuple(tuple(sorted(compute[n].items(), key=lambda kv: kv[1])) for n in names)
    return dict(zip(names, _assign(table, pipelined), strict=True))


@functools.lru_cache(maxsize=16384)
def _assign(table: tuple[tuple[tuple[str, float], ...], ...], pipelined: bool) -> tuple[str, ...]:
    if math.prod(len(o) for o in table) > 1 << 16 or not pipelined:
        return tuple(o[0][0] for o in table)
    arrays = sorted({a for o in table for a, _ in o})
    width = max(len(o) for o in table)
    grid = np.array(list(itertools.product(*[range(len(o)) for o in table])), dtype=np.int64)
    cost = np.array([[o[j][1] if j < len(o) else 0.0 for j in range(width)] for o in table])
    which = np.array([[arrays.index(o[j][0]) if j < len(o) else 0 for j in range(width)] for o in table])
    rows = np.arange(len(table))[None, :]
    chosen, array_of = cost[rows, grid], which[rows, grid]  # (assignments, einsums)
    loads = np.stack([np.where(array_of == k, chosen, 0.0).sum(axis=1) for k in range(len(arrays))], axis=1)
    best = int(np.lexsort((chosen.sum(axis=1), loads.max(axis=1)))[0])
    return tuple(o[int(j)][0] for o, j in zip(table, grid[best], strict=True))


def _levels(specs: Sequence[Any], spatial: dict[str, dict[str, int]], onchip: bool, outside_readers: set[str],
            cascade_io: set[str]) -> dict[str, str]:
    """Where each tensor produced in the group lives (see the module docstring)."""
    levels: dict[str, str] = {}
    for s in specs:
        t = s.output
        if t in cascade_io or t in outside_readers:
            levels[t] = "dram"
            continue
        readers = [c for c in specs if any(x == t for x, _ in c.operands)]
        carried = any(c is s for c in readers)
        ranks = set(s.output_ranks)
        alike = all(all(spatial[c.name].get(r, 1) == spatial[s.name].get(r, 1) for r in ranks)
                    for c in readers)
        if readers and not carried and alike:
            levels[t] = "pe"
        else:
            levels[t] = "buffer" if onchip else "dram"
    return levels


def _in_place(specs: Sequence[Any], tensors: dict[str, str], cascade_io: set[str]) -> dict[str, str]:
    """Element-wise Einsums that are the last reader of a same-shaped tensor overwrite its space."""
    order = {s.name: i for i, s in enumerate(specs)}
    out: dict[str, str] = {}
    hosts: set[str] = set()
    for s in specs:
        if tensors.get(s.output) == "pe" or s.output in cascade_io:
            continue
        for tensor, ranks in s.operands:
            if (tensor in cascade_io or tensor in hosts or tensors.get(tensor) == "pe" or tensor == s.output
                    or set(ranks) != set(s.output_ranks)):
                continue
            later = [c for c in specs if order[c.name] > order[s.name] and any(x == tensor for x, _ in c.operands)]
            if not later:
                out[s.output] = tensor
                hosts.add(tensor)
                break
    return out
