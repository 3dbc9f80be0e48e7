"""Which array each Einsum of a pipelined group runs on, for a batch of candidates: the assignment that minimises
the busiest array's compute (the group's pipelined time), exactly, over every assignment of the Einsums that have a
choice. Used by `mappers.mapspace.build_groups`."""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from mappers import nestmath


def assign_batch(names: list[str], eligible: dict[str, list[int]], compute: dict[str, np.ndarray], n_arrays: int,
                 pipelined: np.ndarray) -> np.ndarray:
    """The array per Einsum (B, E) minimising the group's compute: with pipelining the busiest array's total, else
    each Einsum on its fastest array; ties broken by the sum, then by the first assignment (in the order of the
    target's arrays). Exact over every assignment of the Einsums that have a choice (up to 2^16 of them), for every
    distinct compute table at once: the free Einsums split in two halves whose joint choices' loads are built by
    broadcasting; with two arrays only each half's Pareto front and, per first-half choice, the two second-half
    choices at the crossing of the busiest array are combined (`test_assignment.py` checks it against brute force)."""
    fastest = np.stack([np.array(eligible[nm])[np.argmin(compute[nm], axis=1)] for nm in names], axis=-1)
    free = [e for e, nm in enumerate(names) if len(eligible[nm]) > 1]
    grid_size = math.prod(len(eligible[names[e]]) for e in free)
    if not pipelined.any() or not free or grid_size > 1 << 16:
        return fastest
    base = np.zeros((len(pipelined), n_arrays))  # the Einsums bound to their only array
    for nm in names:
        if len(eligible[nm]) == 1:
            base[:, eligible[nm][0]] += compute[nm][:, 0]
    options = np.concatenate([compute[names[e]] for e in free], axis=1)  # (B, options of the free Einsums)
    table, inverse = nestmath.unique_rows(np.concatenate([base, options], axis=1))
    base_u, options_u = table[:, :n_arrays], table[:, n_arrays:]
    grid, column_array = assignment_grid(tuple(tuple(eligible[names[e]]) for e in free))
    used = [k for k in range(n_arrays) if np.any(column_array == k)]
    fixed = base_u[:, [k for k in range(n_arrays) if k not in used]].max(axis=1, initial=0.0)
    offsets = np.cumsum([0] + [len(eligible[names[e]]) for e in free])
    half = len(free) // 2  # the grid is in product order: the first half's choices vary slowest
    n_second = math.prod(len(eligible[names[e]]) for e in free[half:])
    best = np.empty(len(table), dtype=np.int64)
    step = max(1, (1 << 20) // grid_size)  # distinct tables per chunk, so the (tables, assignments) arrays stay small
    for lo in range(0, len(table), step):
        hi = min(len(table), lo + step)
        rows = options_u[lo:hi]
        first = half_front([partial_loads(rows, column_array, offsets, range(half), k) for k in used])
        second = half_front([partial_loads(rows, column_array, offsets, range(half, len(free)), k) for k in used])
        if len(used) == 2:
            second = crossing_pairs(first[0], second, base_u[lo:hi, used])
        busiest = fixed[lo:hi, None, None]
        total = np.zeros((hi - lo, 1, 1))  # (the arrays no free Einsum can use add the same to every assignment)
        for k, a, b in zip(used, first[0], second[0], strict=True):  # array k's load: the halves' loads outer-summed
            load = base_u[lo:hi, k, None, None] + a[:, :, None] + b.reshape(hi - lo, -1, b.shape[-1])
            busiest = np.maximum(busiest, load)
            total = total + load
        total = np.where(busiest == busiest.min(axis=(1, 2), keepdims=True), total, np.inf)
        index = first[1][:, :, None] * n_second + second[1].reshape(hi - lo, -1, second[1].shape[-1])
        index = np.where(total == total.min(axis=(1, 2), keepdims=True), index, grid_size)
        best[lo:hi] = index.min(axis=(1, 2))
    out = fastest.copy()
    picked = grid[best[inverse]]  # (B, free)
    for j, e in enumerate(free):
        out[:, e] = np.array(eligible[names[e]])[picked[:, j]]
    return np.where(pipelined[:, None], out, fastest)


def partial_loads(options: np.ndarray, column_array: np.ndarray, offsets: np.ndarray, free: range,
                   k: int) -> np.ndarray:
    """The load the free Einsums `free` put on array k under each of their joint choices, in product order:
    (tables, choices) from the options' compute (tables, all free options)."""
    load = np.zeros((len(options), 1))
    for j in free:
        cols = np.arange(offsets[j], offsets[j + 1])
        add = np.where(column_array[cols] == k, options[:, cols], 0.0)  # (tables, its options)
        load = (load[:, :, None] + add[:, None, :]).reshape(len(options), -1)
    return load


def half_front(loads: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """The choices of half the free Einsums that can be part of a best assignment, from their loads per used array
    (each (tables, choices)): with two arrays the Pareto front of the two loads (a choice no lower on either array
    than another's and higher on one loses on the busiest array or on the sum; of equal ones the first is kept, as
    the tie-break takes the first), padded to one width with infinite loads; otherwise every choice. Returns the
    loads and the choices' indices, (tables, kept)."""
    tables, n = loads[0].shape
    index = np.broadcast_to(np.arange(n), (tables, n))
    if len(loads) != 2:
        return loads, index
    a, b = loads
    order = np.lexsort((index, b, a), axis=-1)  # by the first load, then the second, then the index
    b_sorted = np.take_along_axis(b, order, axis=1)
    lowest_before = np.concatenate([np.full((tables, 1), np.inf), np.minimum.accumulate(b_sorted, axis=1)[:, :-1]],
                                   axis=1)
    keep = b_sorted < lowest_before
    width = int(keep.sum(axis=1).max())
    place = np.argsort(~keep, axis=1, kind="stable")[:, :width]  # the kept ones first, in sorted order
    valid = np.take_along_axis(keep, place, axis=1)
    chosen = np.take_along_axis(order, place, axis=1)
    kept = [np.where(valid, np.take_along_axis(x, chosen, axis=1), np.inf) for x in (a, b)]
    return kept, chosen


def crossing_pairs(first: list[np.ndarray], second: tuple[list[np.ndarray], np.ndarray],
                    base: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """With two arrays, for each choice of the first half only the two second-half choices where its busiest array
    changes: along the second half's front (sorted by the first array's load, the second's falling) the busiest
    load falls while the second array is busiest and rises after, so the best is at the crossing or just before it.
    Returns the second half's loads and indices (tables, first-half choices, 2)."""
    (c, d), index = second
    finite = np.isfinite(c)
    gap = np.where(finite, c - np.where(finite, d, 0.0), np.inf)  # rises along the front; the padding last
    p = base[:, 0, None] + first[0]
    q = base[:, 1, None] + first[1]
    lead = np.where(np.isfinite(p), q - np.where(np.isfinite(p), p, 0.0), -np.inf)  # (padding: never crosses)
    cross = (gap[:, None, :] < lead[:, :, None]).sum(axis=2)  # the first j where the first array is busiest
    width = c.shape[1]
    pair = np.stack([np.maximum(cross - 1, 0), np.minimum(cross, width - 1)], axis=-1)  # (tables, F1, 2)
    flat = pair.reshape(len(c), -1)
    pick = [np.take_along_axis(x, flat, axis=1).reshape(pair.shape) for x in (c, d)]
    return pick, np.take_along_axis(index, flat, axis=1).reshape(pair.shape)


@functools.lru_cache(maxsize=256)
def assignment_grid(options: tuple[tuple[int, ...], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Every assignment of Einsums to their eligible arrays (`options`: the arrays of each): (assignments x Einsums
    option indices, the array of each option, options of all Einsums in order)."""
    grid = np.array(list(itertools.product(*[range(len(o)) for o in options])), dtype=np.int64)
    return grid, np.array([k for o in options for k in o])
