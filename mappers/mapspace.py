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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hw.spatial import ComputeArray, SpatialTarget
from mappers import nestmath
from mappers.assign import assign_batch
from mappers.mapping import TENSOR_LEVELS, EinsumMapping, Group

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
    #: a batch (`build_groups`): per Einsum the lane it runs in per candidate (the cost model's `lanes`), and the
    #: target's array names (an Einsum's `array` is then an array of indices into them, a tensor's level an array
    #: of codes into `TENSOR_LEVELS`, `in_place` tensor -> ((host, mask), ...), `loop_order` (B, ranks) positions)
    lanes: dict[str, np.ndarray] | None = None
    arrays: tuple[str, ...] = ()


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
    """The group's mapping entries for `choice` (see the module docstring): the batch of one of `build_groups`;
    `outside_readers`: tensors produced here and read by another group; `cascade_io`: the cascade's inputs and
    outputs."""
    ((_, batch),) = build_groups(name, specs, [choice], target, cpp, outside_readers, cascade_io)
    return batch_row(batch, 0, specs)


def build_groups(name: str, specs: Sequence[Any], choices: Sequence[GroupChoice], target: SpatialTarget,
                 cpp: CyclesPerPoint, outside_readers: set[str],
                 cascade_io: set[str]) -> list[tuple[np.ndarray, GroupMapping]]:
    """`build_group` for many choices at once, as numpy arrays: [(indices into `choices`, their GroupMapping)] with
    every per-candidate derivation an array over the candidates (tiles, unrolling, array bound, tensor levels,
    in-place hosts, loop orders, lanes; see `GroupMapping`), ready for the cost model's batch path (one entry: the
    list is kept for callers that split batches). `batch_row` takes one candidate out as an ordinary
    GroupMapping."""
    batch = _build_batch(name, specs, list(choices), target, cpp, outside_readers, cascade_io)
    return [(np.arange(len(choices), dtype=np.int64), batch)]


def _build_batch(name: str, specs: Sequence[Any], choices: list[GroupChoice], target: SpatialTarget,
                 cpp: CyclesPerPoint, outside_readers: set[str], cascade_io: set[str]) -> GroupMapping:
    n = len(choices)
    sizes = group_tiles(specs)
    tiles = [dict(c.tile) for c in choices]
    gtile = {r: np.array([t.get(r, size) for t in tiles], dtype=np.int64) for r, size in sizes.items()}
    onchip = np.array([c.onchip for c in choices], dtype=bool)
    stream = np.array([c.stream or "" for c in choices], dtype=object)
    block_rank = np.array([c.block[0] if c.block is not None else "" for c in choices], dtype=object)
    block_tile = np.array([c.block[1] if c.block is not None else 0 for c in choices], dtype=np.int64)
    tiled_any = tuple(r for r in sizes if np.any(gtile[r] < sizes[r]))
    pipelined = np.zeros(n, dtype=bool)
    for r in tiled_any:
        pipelined |= gtile[r] < sizes[r]
    max_dim = max(max(a.rows, a.cols) for a in target.arrays)
    produced = {s.output for s in specs}
    staged = {t for s in specs for t, _ in s.operands if t not in produced}
    arrays = list(target.arrays)
    einsum_tiles: dict[str, np.ndarray] = {}  # (n, ranks of the Einsum)
    for s in specs:
        cols = []
        reads_staged = any(tensor in staged for tensor, _ in s.operands)
        for r in s.iteration_ranks:
            t = gtile[r]
            if reads_staged:
                t = np.where(block_rank == r, np.maximum(t, np.minimum(block_tile, sizes[r])), t)
                t = np.where((stream == r) & (t > max_dim), max_dim, t)
            cols.append(t)
        einsum_tiles[s.name] = np.stack(cols, axis=-1)
    eligible = {s.name: [k for k, a in enumerate(arrays) if all(op in a.ops for op in s.op_counts)] for s in specs}
    tables = _spatial_tables(specs, arrays, eligible, einsum_tiles)
    compute = {s.name: np.stack([tables[s.name, k].best[tables[s.name, k].row] * cpp(s, arrays[k])
                                 for k in eligible[s.name]], axis=-1) for s in specs}
    assign = assign_batch([s.name for s in specs], eligible, compute, len(arrays), pipelined)  # (n, E) array ids
    spatial: dict[str, np.ndarray] = {}
    out_of = {s.output: s for s in specs}
    for e, s in enumerate(specs):
        ranks = list(s.iteration_ranks)
        pref = np.ones((n, len(ranks)), dtype=np.int64)
        have = np.zeros((n, len(ranks)), dtype=bool)
        for tensor, _ in s.operands:  # the first producer's unrolling wins where two are read
            p = out_of.get(tensor)
            if p is None or p.name not in spatial:
                continue
            for j, r in enumerate(ranks):
                if r in p.iteration_ranks:
                    f = spatial[p.name][:, list(p.iteration_ranks).index(r)]
                    new = ~have[:, j] & (f > 1)
                    pref[:, j] = np.where(new, f, pref[:, j])
                    have[:, j] |= new
        chosen = np.ones((n, len(ranks)), dtype=np.int64)
        for k in eligible[s.name]:
            mine = assign[:, e] == k
            if mine.any():
                got, _ = _best_spatial_batch(tables[s.name, k], mine, pref[mine], have[mine])
                chosen[mine] = got
        spatial[s.name] = chosen
    levels = _levels_batch(specs, spatial, onchip, outside_readers, cascade_io, n)  # produced tensor -> codes
    hosts = _in_place_batch(specs, levels, cascade_io, n)  # Einsum -> operand index overwritten, -1 none
    tensors: dict[str, Any] = dict(levels)
    for s in specs:
        for tensor, _ in s.operands:
            tensors.setdefault(tensor, "dram")
    in_place = {}
    for s in specs:
        entries = tuple((s.operands[k][0], hosts[s.name] == k) for k in sorted(set(hosts[s.name].tolist()) - {-1}))
        if entries:
            in_place[s.output] = entries
    orders = _loop_orders(specs, choices)
    einsums = {}
    for e, s in enumerate(specs):
        ranks = s.iteration_ranks
        einsums[s.name] = EinsumMapping.model_construct(
            array=assign[:, e], spatial={r: spatial[s.name][:, j] for j, r in enumerate(ranks)},
            loop_order=orders[s.name], buffer_tile={r: einsum_tiles[s.name][:, j] for j, r in enumerate(ranks)})
    lanes = {s.name: np.where(pipelined, assign[:, e], 0) for e, s in enumerate(specs)}
    group = Group.model_construct(name=name, tile={r: gtile[r] for r in tiled_any},
                                  stages=((tuple(s.name for s in specs),),), interleaved=False)
    return GroupMapping(group, einsums, tensors, tuple(sorted(produced)), in_place, lanes,
                        tuple(a.name for a in arrays))


def _loop_orders(specs: Sequence[Any], choices: list[GroupChoice]) -> dict[str, np.ndarray]:
    """Per Einsum and candidate, the loop order as positions in its iteration ranks (B, ranks): the tiled ranks
    in the choice's DRAM-level order, then the others in rank order."""
    sizes = group_tiles(specs)
    distinct: dict[tuple[str, ...], list[int]] = {}
    for i, c in enumerate(choices):
        tiled = {r for r, v in c.tile if v < sizes.get(r, 0)}
        distinct.setdefault(tuple(r for r in c.order if r in tiled), []).append(i)
    members = {order: np.array(m, dtype=np.int64) for order, m in distinct.items()}
    out = {}
    for s in specs:
        ranks = list(s.iteration_ranks)
        if len(members) == 1:  # one order for the whole batch
            (order,) = members
            first = [r for r in order if r in ranks]
            row = np.array([ranks.index(r) for r in first + [r for r in ranks if r not in first]], dtype=np.int64)
            out[s.name] = np.broadcast_to(row, (len(choices), len(ranks)))
            continue
        perm = np.empty((len(choices), len(ranks)), dtype=np.int64)
        for order, idx in members.items():
            first = [r for r in order if r in ranks]
            perm[idx] = [ranks.index(r) for r in first + [r for r in ranks if r not in first]]
        out[s.name] = perm
    return out


def batch_row(batch: GroupMapping, i: int, specs: Sequence[Any]) -> GroupMapping:
    """Candidate `i` of a batch as an ordinary GroupMapping: plain values, only the spatial factors above 1, the
    loop order's tiled ranks, and an Einsum's buffer tile listed only where it differs from the group's (a rank
    the group tiles stays listed: the model holds a written tensor at its writer's listed tile)."""
    sizes = group_tiles(specs)
    gtile = {r: int(v[i]) for r, v in batch.group.tile.items() if int(v[i]) < sizes[r]}
    einsums = {}
    for s in specs:
        em = batch.einsums[s.name]
        tile = {r: int(v[i]) for r, v in em.buffer_tile.items()}
        own = {r: v for r, v in tile.items() if v < s.sizes[r] or gtile.get(r, sizes[r]) < sizes[r]}
        group_own = {r: v for r, v in gtile.items() if r in s.iteration_ranks}
        order = tuple(s.iteration_ranks[j] for j in em.loop_order[i].tolist())
        einsums[s.name] = EinsumMapping.model_construct(
            array=batch.arrays[int(em.array[i])],
            spatial={r: int(v[i]) for r, v in em.spatial.items() if int(v[i]) > 1},
            loop_order=tuple(r for r in order if r in gtile), buffer_tile=own if own != group_own else None)
    tensors = {t: v if isinstance(v, str) else TENSOR_LEVELS[int(v[i])] for t, v in batch.tensors.items()}
    in_place = {t: host for t, entries in batch.in_place.items() for host, mask in entries if mask[i]}
    names = [s.name for s in specs]
    if gtile:
        lanes = [tuple(n for n in names if batch.einsums[n].array[i] == k) for k in range(len(batch.arrays))]
        stages: tuple = (tuple(lane for lane in lanes if lane),)
    else:
        stages = ((tuple(names),),)
    group = Group.model_construct(name=batch.group.name, tile=gtile, stages=stages, interleaved=False)
    spill = tuple(t for t in batch.spill if tensors.get(t) != "pe")
    return GroupMapping(group, einsums, tensors, spill, in_place)


def _spatial_candidates(ranks: int, rows: int, cols: int, tile: np.ndarray) -> np.ndarray:
    """Every unrolling of up to two ranks onto the array's rows and columns (one rank per dimension; a rank smaller
    than a dimension sharing it with another), as factors (B, options, ranks) of the tiles (B, ranks). A 1D array
    (rows = 1) unrolls onto its columns."""
    return _per_option(*_spatial_values(ranks, rows, cols, tile))


def _per_option(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Per-value numbers (B, ranks, values) of `_spatial_values` gathered to each option: (B, options, ranks)."""
    n, ranks = values.shape[:2]
    return values.reshape(n, -1)[:, where].reshape(n, -1, ranks)


def _spatial_values(ranks: int, rows: int, cols: int, tile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each factor of `_spatial_candidates` is one of a few values per tile and rank: 1, the rank's share of each
    dimension, the rest of each dimension beside each first rank. Returns those (B, ranks, values) and where each
    option's factors sit among them (options x ranks, flat), so that work per factor is done per value."""
    where, dims = _spatial_gather(ranks, rows, cols)
    n = len(tile)
    whole = np.minimum(tile[:, :, None], dims)  # (B, ranks, dims): as much of the rank as the dimension holds
    rest = np.where(whole < dims, np.maximum(1, dims // np.maximum(whole, 1)), 1).reshape(n, 1, -1)
    values = np.concatenate([np.ones((n, ranks, 1), dtype=np.int64), whole,
                             np.broadcast_to(rest, (n, ranks, rest.shape[-1]))], axis=2)
    return values, where


@functools.lru_cache(maxsize=64)
def _spatial_gather(ranks: int, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each factor of `_spatial_templates`'s options sits among a tile's values (per rank: 1, the rank's
    share of each dimension, then the rest of each dimension beside each first rank), flattened, and the
    dimensions."""
    kind, dim, source = _spatial_templates(ranks, rows, cols)
    dims = [d for d in (rows, cols) if d > 1] or [1]
    per_rank = 1 + len(dims) + ranks * len(dims)
    index = np.zeros(kind.shape, dtype=np.int64)
    for o, r in itertools.product(range(kind.shape[0]), range(ranks)):
        if kind[o, r] == 1:
            index[o, r] = 1 + dims.index(int(dim[o, r]))
        elif kind[o, r] == 2:
            index[o, r] = 1 + len(dims) + int(source[o]) * len(dims) + dims.index(int(dim[o, 0]))
    return (np.arange(ranks) * per_rank + index).reshape(-1), np.array(dims, dtype=np.int64)


@functools.lru_cache(maxsize=64)
def _spatial_templates(ranks: int, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The options of `_spatial_candidates` as templates (options, ranks): per rank 0 (not unrolled), 1 (as much of
    the rank as the dimension holds) or 2 (the rest of the dimension, shared with the option's first rank), the
    dimension each uses, and the first rank of each option. In order: none; each rank alone on each dimension, then
    with each other rank sharing it; two ranks on the two dimensions."""
    dims = [d for d in (rows, cols) if d > 1] or [1]
    kind, dim, source = [[0] * ranks], [[1] * ranks], [0]
    for i in range(ranks):
        for d in dims:
            for j in [None, *[j for j in range(ranks) if j != i]]:
                k = [0] * ranks
                k[i] = 1
                if j is not None:
                    k[j] = 2
                kind.append(k)
                dim.append([d] * ranks)
                source.append(i)
    if len(dims) == 2:
        for i, j in itertools.permutations(range(ranks), 2):
            k, dd = [0] * ranks, [1] * ranks
            k[i], k[j], dd[i], dd[j] = 1, 1, dims[0], dims[1]
            kind.append(k)
            dim.append(dd)
            source.append(i)
    return np.array(kind), np.array(dim, dtype=np.int64), np.array(source)


@dataclass(frozen=True)
class _SpatialTable:
    """Every unrolling option of one Einsum on one array for each distinct tile of a batch."""

    options: np.ndarray  # (distinct tiles, options, ranks) factors
    iterations: np.ndarray  # (distinct tiles, options) temporal iterations
    best: np.ndarray  # (distinct tiles,) the fewest
    first_best: np.ndarray  # (distinct tiles,) the first option with the fewest
    n_best: np.ndarray  # (distinct tiles,) how many options have the fewest
    row: np.ndarray  # (B,) each candidate's distinct tile


def _spatial_tables(specs: Sequence[Any], arrays: list[ComputeArray], eligible: dict[str, list[int]],
                    tiles: dict[str, np.ndarray]) -> dict[tuple[str, int], _SpatialTable]:
    """The unrolling table of every Einsum on every array it may use, (name, array index) -> table. Einsums whose
    ranks have the same sizes in the same order on arrays of the same shape share one table (their tiles stacked),
    so that each distinct tile is costed once per batch."""
    alike: dict[tuple, list[tuple[str, int]]] = {}
    for s in specs:
        sizes = tuple(s.sizes[x] for x in s.iteration_ranks)
        for k in eligible[s.name]:
            alike.setdefault((arrays[k].rows, arrays[k].cols, sizes), []).append((s.name, k))
    tables = {}
    for (rows, cols, sizes), members in alike.items():
        names = list(dict.fromkeys(name for name, _ in members))
        uniq, inverse = nestmath.unique_rows(np.concatenate([tiles[name] for name in names]))
        values, where = _spatial_values(len(sizes), rows, cols, uniq)  # within the array's PEs by construction
        options = _per_option(values, where)
        outer, inner = nestmath.trips(np.array(sizes, dtype=np.int64)[:, None], uniq[:, :, None], values)
        inner = _per_option(inner, where)  # (tiles, options, ranks)
        its = np.prod(outer[:, :, 0], axis=-1)[:, None] * inner[..., 0]
        for j in range(1, len(sizes)):  # column by column: numpy's reduction over a short last axis is slow
            its = its * inner[..., j]
        best = its.min(axis=1)
        ties = its == best[:, None]
        first, count = np.argmax(ties, axis=1), ties.sum(axis=1)
        n = len(tiles[names[0]])
        for name, k in members:
            at = names.index(name)
            tables[name, k] = _SpatialTable(options, its, best, first, count, inverse[at * n:(at + 1) * n])
    return tables


def _best_spatial_batch(table: _SpatialTable, rows: np.ndarray | None = None, prefer: np.ndarray | None = None,
                        have: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For the candidates `rows` (all: None), the unrolling with the fewest temporal iterations (options within
    the array's PEs); among equals the first that unrolls the ranks of `prefer` where `have` (the producer's
    factors) alike, else the first. Returns (factors (B, ranks), iterations (B,))."""
    u = table.row if rows is None else table.row[rows]
    best = table.best[u]
    pick = table.first_best[u]
    if prefer is not None:  # only candidates with a preference and a tied best need the (B, options, ranks) test
        open_ = np.flatnonzero((table.n_best[u] > 1) & have.any(axis=1))
        if len(open_):
            uu = u[open_]
            ties = table.iterations[uu] == best[open_, None]
            options = table.options[uu]
            agree = ~have[open_, None, :] | (options == prefer[open_, None, :])
            fits = agree[..., 0]
            for j in range(1, agree.shape[-1]):
                fits = fits & agree[..., j]
            match = ties & fits
            pick[open_] = np.where(match.any(axis=1), np.argmax(match, axis=1), pick[open_])
    return table.options[u, pick], best


def _levels_batch(specs: Sequence[Any], spatial: dict[str, np.ndarray], onchip: np.ndarray,
                  outside_readers: set[str], cascade_io: set[str], n: int) -> dict[str, np.ndarray]:
    """Where each tensor produced in the group lives, per candidate (codes into `TENSOR_LEVELS`; see the module
    docstring)."""
    levels: dict[str, np.ndarray] = {}
    off = np.where(onchip, TENSOR_LEVELS.index("buffer"), TENSOR_LEVELS.index("dram"))
    for s in specs:
        t = s.output
        if t in cascade_io or t in outside_readers:
            levels[t] = np.full(n, TENSOR_LEVELS.index("dram"), dtype=np.int64)
            continue
        readers = [c for c in specs if any(x == t for x, _ in c.operands)]
        if not readers or any(c is s for c in readers):
            levels[t] = off.astype(np.int64)
            continue
        alike = np.ones(n, dtype=bool)
        mine = list(s.iteration_ranks)
        for c in readers:
            theirs = list(c.iteration_ranks)
            for r in s.output_ranks:
                f = spatial[s.name][:, mine.index(r)]
                g = spatial[c.name][:, theirs.index(r)] if r in theirs else 1
                alike &= f == g
        levels[t] = np.where(alike, TENSOR_LEVELS.index("pe"), off)
    return levels


def _in_place_batch(specs: Sequence[Any], levels: dict[str, np.ndarray], cascade_io: set[str],
                    n: int) -> dict[str, np.ndarray]:
    """Element-wise Einsums that are the last reader of a same-shaped tensor overwrite its space: per Einsum and
    candidate, the index of the operand it overwrites, or -1."""
    pe = TENSOR_LEVELS.index("pe")
    order = {s.name: i for i, s in enumerate(specs)}
    hosts: dict[str, np.ndarray] = {}
    out: dict[str, np.ndarray] = {}
    for s in specs:
        chosen = np.full(n, -1, dtype=np.int64)
        out[s.name] = chosen
        if s.output in cascade_io:
            continue
        free = levels[s.output] != pe
        for k, (tensor, ranks) in enumerate(s.operands):
            if tensor in cascade_io or tensor == s.output or set(ranks) != set(s.output_ranks):
                continue
            if any(order[c.name] > order[s.name] and any(x == tensor for x, _ in c.operands) for c in specs):
                continue
            level = levels.get(tensor)
            ok = free & (chosen < 0) & ~hosts.get(tensor, np.zeros(n, dtype=bool))
            if level is not None:
                ok &= level != pe
            chosen[ok] = k
            hosts[tensor] = hosts.get(tensor, np.zeros(n, dtype=bool)) | ok
    return out
