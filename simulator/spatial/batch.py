"""The batch side of the spatial cost model (`model.py`): what a batch of candidate mappings needs beyond the
arithmetic that `vec.py` makes generic, kept apart so that `model.py` reads as the model.

A batch (`mappers.mapspace.build_groups`) gives per candidate an Einsum's array (an index into the target's arrays),
a tensor's level (a code into `TENSOR_LEVELS`), a loop order ((B, ranks) positions) and in-place hosts (masks).
Here: a batch's loops as arrays, a tensor's level as masks, the split of a batch into the subsets one Einsum's
structure is fixed on (and the merge of their costs back), and the footprint of a tensor whose level varies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mappers.mapping import TENSOR_LEVELS, EinsumMapping, Group, Mapping
from simulator.spatial.vec import is_batch, maximum, minimum, prod


@dataclass(frozen=True)
class Loops:
    """A batch's loops, outer -> inner, as arrays: trips (B, loops) and the rank position of each (B, loops), or
    (loops,) where the order is the same for every candidate."""

    trips: np.ndarray
    ranks: np.ndarray

    def fetches(self, ids: list[int]) -> np.ndarray:
        """Trips of every loop up to the innermost one over a rank in `ids` that runs more than one trip."""
        hit = np.zeros(self.ranks.shape, dtype=bool)
        for i in ids:
            hit |= self.ranks == i
        hit = hit & (self.trips > 1)
        reached = np.logical_or.accumulate(hit[:, ::-1], axis=1)[:, ::-1]
        trips = np.where(reached, self.trips, 1)
        out = trips[:, 0].copy()
        for j in range(1, trips.shape[1]):  # column by column: numpy's reduction over a short last axis is slow
            out *= trips[:, j]
        return out

    def __add__(self, other: Loops) -> Loops:
        ranks = np.broadcast_to(self.ranks, self.trips.shape), np.broadcast_to(other.ranks, other.trips.shape)
        return Loops(np.concatenate([self.trips, other.trips], axis=1), np.concatenate(ranks, axis=1))


def level_and_mask(level: object) -> tuple[str, object, object]:
    """A tensor's level, as (level, held, to_dram): for one mapping the level and None, None; for a batch the
    level of the candidates that do not keep it in the PEs ("dram" where some of them put it in DRAM) with a 0/1
    mask of those not in the PEs (`held`, None: all) and of those in DRAM among them (`to_dram`, None: all)."""
    if isinstance(level, str):
        return level, None, None
    pe, dram = TENSOR_LEVELS.index("pe"), TENSOR_LEVELS.index("dram")
    codes = set(np.unique(level).tolist())
    if codes == {pe}:
        return "pe", None, None
    held = (level != pe).astype(float) if pe in codes else None
    if dram not in codes:
        return TENSOR_LEVELS[(codes - {pe}).pop()], held, None
    return "dram", held, None if codes - {pe} == {dram} else (level == dram).astype(float)


def rows(value: object, sub: np.ndarray) -> object:
    return value[sub] if is_batch(value) else value


def local_structure(spec: Any, em: EinsumMapping, mapping: Mapping, problem: Any,
                     target: Any, streamed: set[str]) -> tuple | None:
    """Per candidate, the codes of this Einsum's structure where a batch gives it per candidate, and how to
    decode one code row into a fixed-structure (Einsum mapping, mapping) for a subset; None where it is fixed."""
    tensors = [t for t, _ in spec.operands] + [spec.output]
    producers = {e.output: e.name for e in problem.einsums if e.name in mapping.einsums}
    columns: list[np.ndarray] = []
    fields: list[tuple[str, str]] = []  # (kind, name) per column
    if is_batch(em.array):
        columns.append(em.array)
        fields.append(("array", spec.name))
    for t in dict.fromkeys(tensors):  # levels are masks inside `_cost_einsum`, but for a tensor streamed past
        level = mapping.tensors.get(t)  # the buffer (the artifact convention's `stream`) on some candidates only
        if is_batch(level) and t in streamed and len(set(np.unique(level).tolist())) > 1:
            columns.append(level)
            fields.append(("level", t))
    if not columns:
        return None

    def decode(row: np.ndarray, sub: np.ndarray) -> tuple[EinsumMapping, Mapping]:
        fixed = dict(zip(fields, row.tolist(), strict=True))
        names = [a.name for a in target.arrays]  # a batch binds arrays by their index in the target
        own = EinsumMapping.model_construct(
            array=names[fixed[("array", spec.name)]] if ("array", spec.name) in fixed else em.array,
            spatial={r: rows(v, sub) for r, v in em.spatial.items()},
            loop_order=em.loop_order[sub] if is_batch(em.loop_order) else em.loop_order,
            buffer_tile=None if em.buffer_tile is None else {r: rows(v, sub) for r, v in em.buffer_tile.items()})
        einsums = {spec.name: own}
        for t, _ in spec.operands:  # the producers' arrays, for operands forwarded within an array
            p = producers.get(t)
            if p is not None and p != spec.name:
                einsums[p] = EinsumMapping.model_construct(array=rows(mapping.einsums[p].array, sub), spatial={},
                                                           loop_order=(), buffer_tile=None)  # (no default factory)
        levels = {t: rows(v, sub) for t, v in mapping.tensors.items()}
        levels.update({name: TENSOR_LEVELS[code] for (kind, name), code in fixed.items() if kind == "level"})
        view = mapping.model_copy(update={"tensors": levels, "einsums": einsums})
        return own, view

    return np.stack(columns, axis=-1), decode


def merge(parts: list[tuple[np.ndarray, Any]], n: int) -> Any:
    """Per-structure costs of subsets of a batch, as one cost over the whole batch (arrays in candidate order)."""
    first = parts[0][1]

    def scatter(get: Callable[[Any], object]) -> np.ndarray:
        out = np.zeros(n)
        for sub, c in parts:
            out[sub] = get(c)
        return out

    def scatter_dict(get: Callable[[Any], dict]) -> dict:
        keys = dict.fromkeys(k for _, c in parts for k in get(c))
        return {k: scatter(lambda c, k=k: get(c).get(k, 0.0)) for k in keys}

    arrays = np.empty(n, dtype=object)
    for sub, c in parts:
        arrays[sub] = c.array
    numbers = ("compute_cycles", "work_cycles", "drain_cycles", "dram_read_bytes", "dram_write_bytes",
               "buffer_read_bytes", "buffer_write_bytes", "rf_reads", "rf_writes", "compute_energy_pj", "flops",
               "pes", "dram_transfer_bytes", "outer_iterations")
    merged = dataclasses.replace(first, array=arrays, **{f: scatter(lambda c, f=f: getattr(c, f)) for f in numbers})
    reads = scatter_dict(lambda c: {t: r for t, (r, _) in c.tensor_buffer_bytes.items()})
    writes = scatter_dict(lambda c: {t: w for t, (_, w) in c.tensor_buffer_bytes.items()})
    merged.tensor_buffer_bytes = {t: (reads[t], writes[t]) for t in reads}
    for f in ("staged_reads", "staged_transfer", "first_tile_bytes", "last_tile_bytes", "rank_trips"):
        setattr(merged, f, scatter_dict(lambda c, f=f: getattr(c, f)))
    return merged


def batch_footprint(spec: Any, tensor: str, ranks: tuple[str, ...], level: np.ndarray, tiles: dict,
                     group: Group, writer_tile: dict, produced: set[str], escapes: set[str], word: int,
                     dataflow: Any) -> np.ndarray:
    """`tensor_footprints` for one tensor whose level is given per candidate (codes into `TENSOR_LEVELS`)."""
    pe, buffer, dram = (TENSOR_LEVELS.index(x) for x in ("pe", "buffer", "dram"))
    size = spec.sizes

    def footprint(held: dict) -> object:
        return prod(minimum(held.get(r, size[r]), size[r]) for r in ranks) * word

    fp = footprint(tiles)
    buffered = level == buffer
    if tensor in produced:
        written = writer_tile[tensor]
        held = {r: maximum(minimum(group.tile.get(r, size[r]), size[r]),
                           minimum(written.get(r, size[r]) if written is not None else 0, size[r])) for r in ranks}
        fp = np.where(buffered, footprint(held), fp)
    if tensor in escapes:
        fp = np.where(buffered, footprint({}), fp)
    skip = (level == pe) | ((level == dram) & (tensor in dataflow.stream.get(spec.name, ())))
    return np.where(skip, 0.0, fp)
