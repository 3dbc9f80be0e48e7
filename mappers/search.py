"""The search over a cascade's mapspace: fusion partitions by dynamic programming with bounds, tilings per group by
exhaustive enumeration where the group's space is small and by seeded coordinate descent where it is not.

Fusion: the best mapping of a partition is the sum of its groups' (their costs are independent: a tensor crossing
groups goes through DRAM), so the best partition is a shortest path over the `n (n + 1) / 2` contiguous segments.
A segment is searched only when its lower bound, with the best bounds of the Einsums before and after it, can
still beat the best whole mapping found so far (branch and bound). Per group the search keeps the Pareto front of
(latency, energy), so `edp` joins fronts and picks the best product at the end. Deterministic for a seed: every
order is fixed, and the seed only drives the restarts of the descent; one process, so no worker count to vary.
The search costs through a callback (the simulator's model), so `mappers` stays free of the simulator.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from mappers.mapspace import GroupChoice, tile_ladder

Objective = Literal["latency", "energy", "edp"]
OBJECTIVES: tuple[str, ...] = ("latency", "energy", "edp")
#: a group whose space has at most this many points is enumerated exhaustively
EXHAUSTIVE_LIMIT = 400
#: a larger group first costs its grid of tiles (every ladder value per rank, intermediates on and off chip), or
#: this many points of it drawn with the seed, before the descent starts from the best of them
GRID_LIMIT = 4096
#: grid points costed before the descents start (the rest of the grid after them)
FIRST_GRID = 256
#: candidates handed to the model in one batch, at most (limits are checked between batches, so a time limit can
#: be overshot by one batch: about 0.1-0.3 s for a whole 12-Einsum cascade on one core)
BATCH = 2048


@dataclass(frozen=True)
class Point:
    """One costed group mapping: its latency, energy, the choice that produced it, and when it was costed (seconds
    since the search started)."""

    latency_s: float
    energy_j: float
    choice: Any
    found_s: float = 0.0


@dataclass
class SearchStats:
    """Counters of one search (mutable while it runs)."""

    costed: int = 0
    pruned: int = 0
    infeasible: int = 0
    segments_searched: int = 0
    segments_pruned: int = 0
    strategy: set[str] = field(default_factory=set)
    started_s: float = field(default_factory=time.perf_counter)
    best_at_s: float = 0.0
    budget: int | None = None
    time_limit_s: float | None = None
    #: segments (contiguous groups of Einsums) in the fusion DP, summed over the problems searched
    segments_total: int = 0
    #: the first term of the best whole mapping's score found so far (latency_s, energy_j or edp), None before one
    incumbent: float | None = None
    #: called after each batch of group mappings costed (the CLI's progress bar); see `search_progress`
    on_progress: Callable[[SearchStats], None] | None = field(default_factory=lambda: _PROGRESS.get())

    def costed_one(self) -> None:
        self.costed_many(1)

    def costed_many(self, count: int) -> None:
        self.costed += count
        if self.on_progress is not None:
            self.on_progress(self)

    def room(self) -> int | None:
        """Group mappings the budget still allows (None: no budget)."""
        return None if self.budget is None else max(0, self.budget - self.costed)

    def offer(self, value: float) -> None:
        """A whole mapping whose score starts with `value` exists: keep the best as the incumbent."""
        if math.isfinite(value) and (self.incumbent is None or value < self.incumbent):
            self.incumbent = value
            if self.on_progress is not None:
                self.on_progress(self)

    def exhausted(self) -> bool:
        if self.budget is not None and self.costed >= self.budget:
            return True
        return self.time_limit_s is not None and time.perf_counter() - self.started_s >= self.time_limit_s

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started_s


_PROGRESS: contextvars.ContextVar[Callable[[SearchStats], None] | None] = contextvars.ContextVar(
    "search_progress", default=None)


@contextlib.contextmanager
def search_progress(callback: Callable[[SearchStats], None]) -> Iterator[None]:
    """Within the block, every search calls `callback(stats)` after each batch of group mappings it costs (a live
    display; the callback should rate-limit itself)."""
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def score(objective: str, latency_s: float, energy_j: float) -> tuple[float, float]:
    """The key a search minimises: latency then energy, energy then latency, or their product."""
    if objective == "energy":
        return (energy_j, latency_s)
    if objective == "edp":
        return (latency_s * energy_j, latency_s)
    return (latency_s, energy_j)


def pareto(points: Sequence[Point], keep: int = 8) -> list[Point]:
    """The (latency, energy) Pareto front, by latency, thinned to `keep` points (both ends kept)."""
    front: list[Point] = []
    for p in sorted(points, key=lambda p: (p.latency_s, p.energy_j)):
        if not front or p.energy_j < front[-1].energy_j:
            front.append(p)
    if len(front) > keep:
        step = (len(front) - 1) / (keep - 1)
        front = [front[round(i * step)] for i in range(keep)]
    return front


def search_group(ranks: dict[str, int], locked: set[str], dims: Sequence[int],
                 evaluate: Callable[[list[GroupChoice]], list[tuple[float, float] | None]], objective: str,
                 stats: SearchStats, seed: int, blocks: bool = False) -> list[Point]:
    """Search one group's choices (see `GroupChoice`); `evaluate` costs a list of choices as one batch and returns
    per choice (latency_s, energy_j), or None when it does not fit; `blocks`: row blocks are part of the space
    (`mapspace.blockable`). Returns the Pareto front of what it costed (empty when nothing fits)."""
    tileable = [r for r, s in ranks.items() if r not in locked and s > 1]
    ladders = {r: tile_ladder(ranks[r], dims) for r in tileable}
    streams: tuple[str | None, ...] = (None, *[r for r in ranks if ranks[r] > max(dims)])
    seen: dict[GroupChoice, tuple[float, float] | None] = {}
    found: dict[GroupChoice, float] = {}

    def canon(tile: dict[str, int], order: Sequence[str], onchip: bool, stream: str | None,
              block: tuple[str, int] | None = None) -> GroupChoice:
        tiled = {r: v for r, v in tile.items() if v < ranks[r]}
        order = tuple(r for r in order if r in tiled) + tuple(r for r in tiled if r not in order)
        if block is not None:
            r, v = block
            block = (r, min(v, ranks[r])) if blocks and r in tiled and v > tiled[r] and r != stream else None
        return GroupChoice(tuple(sorted(tiled.items())), order, onchip, stream, block)

    def keys(choices: Sequence[GroupChoice]) -> list[tuple[float, float]]:
        """The objective's key of each choice, costing (in batches) those not costed yet; inf where it does not
        fit or the limits stopped the search first."""
        todo = [c for c in dict.fromkeys(choices) if c not in seen]
        room = stats.room()
        if room is not None:
            todo = todo[:room]
        lo = 0
        while lo < len(todo) and not stats.exhausted():
            part = todo[lo:lo + BATCH]
            lo += len(part)
            got = evaluate(part)
            now = stats.elapsed_s()
            for c, v in zip(part, got, strict=True):
                seen[c], found[c] = v, now
                stats.infeasible += v is None
            stats.costed_many(len(part))
        return [(math.inf, math.inf) if seen.get(c) is None else score(objective, *seen[c]) for c in choices]

    size = math.prod(len(v) for v in ladders.values()) * 2 * len(streams) * math.factorial(min(len(tileable), 3))
    if blocks:
        size *= 1 + sum(len(v) for v in ladders.values())
    if size <= EXHAUSTIVE_LIMIT:
        stats.strategy.add("exhaustive")
        every = []
        for values in itertools.product(*[ladders[r] for r in tileable]):
            tile = dict(zip(tileable, values, strict=True))
            tiled = [r for r in tileable if tile[r] < ranks[r]]
            for order in itertools.permutations(tiled):
                for onchip in (True, False):
                    for stream in streams:
                        for block in _blocks(tile, tiled, ladders, blocks):
                            every.append(canon(tile, order, onchip, stream, block))
        keys(every)
    else:
        stats.strategy.add("descent")
        rng = random.Random(seed)
        radix = [len(ladders[r]) for r in tileable] + [2]
        drawn = rng.sample(range(math.prod(radix)), min(GRID_LIMIT, math.prod(radix)))

        by_name = sorted(range(len(tileable)), key=lambda j: tileable[j])

        def grid_points(indices: Sequence[int]) -> list[GroupChoice]:
            """The grid's points in mixed radix (the last digit fastest), as `canon` of their tiles would give."""
            out = []
            for *values, onchip in np.array(np.unravel_index(np.array(indices, dtype=np.intp), radix)).T.tolist():
                tile = [ladders[r][v] for r, v in zip(tileable, values, strict=True)]
                out.append(GroupChoice(tuple((tileable[j], tile[j]) for j in by_name if tile[j] < ranks[tileable[j]]),
                                       tuple(r for r, t in zip(tileable, tile, strict=True) if t < ranks[r]),
                                       onchip == 0, None, None))
            return out

        def neighbours(c: GroupChoice) -> list[GroupChoice]:
            return _neighbours(c, ranks, tileable, ladders, streams, canon, blocks)

        first = [] if stats.exhausted() else grid_points(drawn[:FIRST_GRID])  # (a limit reached: nothing to cost)
        ranked = sorted(zip(keys(first), range(len(first)), strict=True))
        starts = [first[i] for k, i in ranked[:2] if math.isfinite(k[0])]
        starts += [canon({}, (), True, None), canon({r: min(ranks[r], max(dims)) for r in tileable}, (), True, None)]
        starts += [canon({r: rng.choice(ladders[r]) for r in tileable}, (), rng.random() < 0.5, None) for _ in range(2)]
        done = _descend_together(starts, neighbours, keys, stats)
        rest = [] if stats.exhausted() else grid_points(drawn[FIRST_GRID:])
        if rest:
            ranked = sorted(zip(keys(rest), range(len(rest)), strict=True))
            _descend_together([rest[i] for k, i in ranked[:2] if math.isfinite(k[0]) and rest[i] not in done],
                              neighbours, keys, stats)
    stats.pruned += max(0, size - len(seen))
    return pareto([Point(v[0], v[1], c, found[c]) for c, v in seen.items() if v is not None])


def _blocks(tile: dict[str, int], tiled: Sequence[str], ladders: dict[str, tuple[int, ...]],
            blocks: bool) -> list[tuple[str, int] | None]:
    """No row block, and, where blocks are in the space, every ladder value above the group tile of a tiled rank."""
    if not blocks:
        return [None]
    return [None, *[(r, v) for r in tiled for v in ladders[r] if v > tile[r]]]


def _neighbours(c: GroupChoice, sizes: dict[str, int], tileable: list[str], ladders: dict[str, tuple[int, ...]],
                streams: tuple[str | None, ...], canon: Callable[..., GroupChoice], blocks: bool) -> list[GroupChoice]:
    """Every choice one axis away from `c`: a rank's tile to another ladder value (with row blocks, also keeping
    the old tile as the block: the move from a plain tiling to FLAT's), another DRAM-level order, on or off chip
    and another stream, another row block."""
    tile = {r: dict(c.tile).get(r, sizes[r]) for r in tileable}
    out = []
    for r in tileable:
        old = tile[r]
        for v in ladders[r]:
            for b in [c.block] + ([(r, old)] if blocks and v < old else []):
                out.append(canon({**tile, r: v}, c.order, c.onchip, c.stream, b))
    out += [canon(tile, order, c.onchip, c.stream, c.block) for order in _order_moves(c.order)]
    out += [canon(tile, c.order, flag, s, c.block) for flag in (True, False) for s in streams]
    out += [canon(tile, c.order, c.onchip, c.stream, b)
            for b in _blocks(tile, [r for r, _ in c.tile], ladders, blocks)]
    return [m for m in dict.fromkeys(out) if m != c]


#: a DRAM-level order of at most this many ranks has every permutation as a neighbour; a longer one (k! grows past
#: thousands of candidates per step: MLA tiles up to seven ranks) has every order with one rank moved elsewhere
ALL_ORDERS_UP_TO = 4


def _order_moves(order: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The DRAM-level orders one step from `order` (see `ALL_ORDERS_UP_TO`)."""
    if len(order) <= ALL_ORDERS_UP_TO:
        return list(itertools.permutations(order))
    out = []
    for i, r in enumerate(order):
        rest = order[:i] + order[i + 1:]
        out += [rest[:j] + (r,) + rest[j:] for j in range(len(order)) if j != i]
    return out


def _descend_together(starts: list[GroupChoice], neighbours: Callable[[GroupChoice], list[GroupChoice]],
                      keys: Callable[[Sequence[GroupChoice]], list[tuple[float, float]]],
                      stats: SearchStats) -> set[GroupChoice]:
    """Steepest descent from every start at once: each step costs the whole neighbourhood of every start still
    improving as one batch and moves each to its best neighbour, until none improves. Returns the points it
    passed through."""
    current = list(dict.fromkeys(starts))
    best = keys(current)
    passed = set(current)
    active = list(range(len(current)))
    while active and not stats.exhausted():
        moves = {i: neighbours(current[i]) for i in active}
        flat = list(dict.fromkeys(m for i in active for m in moves[i]))
        got = dict(zip(flat, keys(flat), strict=True))
        still = []
        for i in active:
            if not moves[i]:
                continue
            m = min(moves[i], key=lambda c: got[c])
            if got[m] < best[i] and m not in passed:
                current[i], best[i] = m, got[m]
                passed.add(m)
                still.append(i)
        active = still
    return passed


def search_partition(n: int, segment: Callable[[int, int], list[Point]], bound: Callable[[int, int], float],
                     objective: str, stats: SearchStats) -> list[tuple[int, int, Point]]:
    """The best partition of Einsums 0..n-1 into contiguous groups: [(start, end, point)], end exclusive.

    `segment(i, j)` searches the group of Einsums i..j-1 (its Pareto front, empty if nothing fits); `bound(i, j)`
    is a lower bound on its latency (0 where the objective is not latency). Whole fusion and one group per Einsum
    are searched first; they give the incumbent against which the other segments are pruned."""
    fronts: dict[tuple[int, int], list[Point]] = {}

    def front(i: int, j: int) -> list[Point]:
        if (i, j) not in fronts:
            fronts[(i, j)] = segment(i, j)
            stats.segments_searched += 1
        return fronts[(i, j)]

    # best bounds of every prefix and suffix (a partition's bound is the sum of its groups')
    pre = [0.0] + [math.inf] * n
    for j in range(1, n + 1):
        pre[j] = min(pre[i] + bound(i, j) for i in range(j))
    suf = [math.inf] * n + [0.0]
    for i in range(n - 1, -1, -1):
        suf[i] = min(bound(i, j) + suf[j] for j in range(i + 1, n + 1))

    def best_key(paths: list[list[tuple[int, int, Point]]]) -> tuple[float, float]:
        return min((score(objective, *_totals(p)) for p in paths), default=(math.inf, math.inf))

    stats.segments_total += n * (n + 1) // 2
    incumbent = best_key([[(0, n, p)] for p in front(0, n)])
    stats.offer(incumbent[0])
    singles = [front(i, i + 1) for i in range(n)]
    if all(singles):
        best_single = [min(f, key=lambda p: score(objective, p.latency_s, p.energy_j)) for f in singles]
        incumbent = min(incumbent, score(objective, *_totals([(i, i + 1, p) for i, p in enumerate(best_single)])))
        stats.offer(incumbent[0])
    paths: list[list[list[tuple[int, int, Point]]]] = [[[]]] + [[] for _ in range(n)]
    for j in range(1, n + 1):
        candidates: list[list[tuple[int, int, Point]]] = []
        for i in range(j):
            if not paths[i]:
                continue
            if objective == "latency" and pre[i] + bound(i, j) + suf[j] >= incumbent[0] and (i, j) not in fronts:
                stats.segments_pruned += 1
                continue
            for p in front(i, j):
                candidates.extend(path + [(i, j, p)] for path in paths[i])
        paths[j] = _front_paths(candidates)
    if not paths[n]:
        return []
    best = min(paths[n], key=lambda p: score(objective, *_totals(p)))
    stats.offer(score(objective, *_totals(best))[0])
    return best


def _totals(path: Sequence[tuple[int, int, Point]]) -> tuple[float, float]:
    return sum(p.latency_s for _, _, p in path), sum(p.energy_j for _, _, p in path)


def _front_paths(paths: list[list[tuple[int, int, Point]]], keep: int = 8) -> list[list[tuple[int, int, Point]]]:
    """The Pareto front of partial partitions by total (latency, energy)."""
    scored = sorted(paths, key=_totals)
    front: list[list[tuple[int, int, Point]]] = []
    for p in scored:
        if not front or _totals(p)[1] < _totals(front[-1])[1]:
            front.append(p)
    if len(front) > keep:
        step = (len(front) - 1) / (keep - 1)
        front = [front[round(i * step)] for i in range(keep)]
    return front
