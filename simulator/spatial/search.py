"""The spatial search path: find the best mapping of a cascade on a spatial target from the two alone.

It binds the cascade once per choice of its split sizes (e.g. FuseMax's key block `M0`: the arrays' dimensions and
their halves and doubles that divide the rank), searches fusion partitions and group tilings (`mappers.search`,
over `mappers.mapspace`) costing every candidate group with the one cost model (`cost_group`, memoised per Einsum),
and assembles the winner as an ordinary `Mapping` (plus the linear layers' entry, by the same rule as the built-in
mappings), which the caller evaluates like any `--mapping` file: the numbers a search prints are those its mapping
reads back to.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cascade_base.spec import validate_model
from hw.spatial import EnergyTable, SpatialTarget
from mappers import nestmath
from mappers.errors import MappingError
from mappers.mapping import EinsumMapping, Mapping
from mappers.mapspace import (
    GroupChoice,
    GroupMapping,
    blockable,
    build_group,
    build_groups,
    eligible_arrays,
    group_tiles,
    missing_op_message,
    reduction_locked_ranks,
)
from mappers.search import SearchStats, score, search_group, search_partition
from simulator.spatial.model import EinsumCost, cost_einsum, cost_group, cycles_per_point
from simulator.spatial.problem import EinsumSpec, Problem, cascade_problem
from simulator.spatial.results import SearchReport

SEARCH_FILE = "<search>"


@dataclass(frozen=True)
class SearchSettings:
    """What `--search` was asked: objective, limits, seed, and why it ran (asked, or no mapping covers)."""

    objective: str = "latency"
    budget: int | None = None
    time_limit_s: float | None = None
    seed: int = 0
    reason: str = "--search"


def split_size_choices(cascade: Any, sizes: dict[str, int], target: SpatialTarget) -> list[dict[str, int]]:
    """Values for the tile symbol of each split (`M0`, `P0`, `T`): the arrays' dimensions, halved and doubled,
    that divide the rank; the whole rank when none does. Array-sized values first."""
    import sympy

    symbols: dict[str, list[int]] = {}
    dims = sorted({d for a in target.arrays for d in (a.rows, a.cols) if d > 1}, reverse=True)
    for split in getattr(cascade, "splits", ()):
        tile = sympy.sympify(split.tile)
        if not isinstance(tile, sympy.Symbol) or str(tile) in sizes:
            continue
        expr = sympy.sympify(cascade.ranks[split.rank])
        whole = int(expr.subs({s: sizes[str(s)] for s in expr.free_symbols if str(s) in sizes}))  # by name
        values = [v for d in dims for v in (d, d // 2, d * 2) if 1 <= v <= whole and whole % v == 0]
        values = list(dict.fromkeys(values)) or [whole]
        name = str(tile)
        symbols[name] = [v for v in symbols.get(name, values) if v in values] or values
    names = list(symbols)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*[symbols[n] for n in names])]


def search_mapping(cascade: Any, sizes: dict[str, int], instances: int, target: SpatialTarget,
                   table: EnergyTable, settings: SearchSettings,
                   energy_pj: Callable[[list[EinsumCost]], float]) -> tuple[Mapping, SearchReport]:
    """The best mapping found and the search's report; a `MappingError` naming the binding constraint when none
    fits (an op no array has; the buffer too small for the smallest tile)."""
    stats = SearchStats(budget=settings.budget, time_limit_s=settings.time_limit_s)
    best: tuple[tuple[float, float], Mapping, list[str], float] | None = None
    first_error: str | None = None
    for i, split_sizes in enumerate(split_size_choices(cascade, sizes, target)):
        problem = cascade_problem(cascade, {**sizes, **split_sizes}, instances)
        for spec in problem.einsums:
            if not eligible_arrays(spec, target):
                raise MappingError(missing_op_message(spec, target))
        found, error = _search_problem(problem, split_sizes, target, table, settings, stats, energy_pj, seed=i)
        first_error = first_error or error
        if found is not None and (best is None or found[0] < best[0]):
            best = found
            stats.best_at_s = found[3]
        if stats.exhausted():
            break
    if best is None:
        if (first_error is None or not first_error.startswith("even with")) and stats.exhausted():
            raise MappingError(f"the search of cascade {cascade.name!r} on target {target.name!r} ran out "
                               f"({stats.costed} group mappings costed) before a whole mapping fit; raise "
                               "--budget or --time-limit", source="--budget")
        raise MappingError(f"no mapping of cascade {cascade.name!r} fits target {target.name!r}: {first_error}")
    _, mapping, partition, _ = best
    strategy = "exhaustive" if stats.strategy == {"exhaustive"} else "guided (descent + bounded fusion DP)"
    report = SearchReport(
        reason=settings.reason, objective=settings.objective, strategy=strategy, mappings_costed=stats.costed,
        mappings_pruned=stats.pruned, mappings_infeasible=stats.infeasible,
        segments_searched=stats.segments_searched, segments_pruned=stats.segments_pruned,
        search_s=stats.elapsed_s(), time_to_best_s=stats.best_at_s, seed=settings.seed, budget=settings.budget,
        time_limit_s=settings.time_limit_s, partition=tuple(partition))
    return mapping, report


def _search_problem(problem: Problem, split_sizes: dict[str, int], target: SpatialTarget, table: EnergyTable,
                    settings: SearchSettings, stats: SearchStats, energy_pj: Callable[[list[EinsumCost]], float],
                    seed: int) -> tuple[tuple[tuple[float, float], Mapping, list[str], float] | None, str | None]:
    specs = list(problem.einsums)
    by_name = {s.name: s for s in specs}
    io = set(problem.inputs | problem.outputs)
    dims = sorted({d for a in target.arrays for d in (a.rows, a.cols) if d > 1})
    errors: list[str] = []

    def group_mapping(i: int, j: int, choice: GroupChoice) -> GroupMapping:
        seg = specs[i:j]
        inside = {s.name for s in seg}
        outside = {t for s in specs if s.name not in inside for t, _ in s.operands} & {s.output for s in seg}
        return build_group(f"g{i}", seg, choice, target, cycles_per_point_of(target), outside, io)

    def segment(i: int, j: int) -> list:
        seg = specs[i:j]
        inside = {s.name for s in seg}
        outside = {t for s in specs if s.name not in inside for t, _ in s.operands} & {s.output for s in seg}

        def evaluate(choices: list[GroupChoice]) -> list[tuple[float, float] | None]:
            """The choices built and costed as batches, one per structure (`build_groups`, the model's batch
            path)."""
            out: list[tuple[float, float] | None] = [None] * len(choices)
            for idx, gm in build_groups(f"g{i}", seg, choices, target, cycles_per_point_of(target), outside, io):
                mapping = _mapping(problem.name, split_sizes, [gm])
                try:
                    cost = cost_group(gm.group, by_name, mapping, problem, target, table, SEARCH_FILE,
                                      lanes=gm.lanes)
                except MappingError as exc:
                    if len(errors) < 1:
                        errors.append(str(exc).removeprefix(f"{SEARCH_FILE}: "))
                    continue
                latency = np.broadcast_to(cost.latency_s, idx.shape)
                energy = np.broadcast_to(energy_pj(cost.einsums) * 1e-12, idx.shape)
                for k, c in enumerate(idx.tolist()):
                    if math.isfinite(latency[k]):
                        out[c] = (float(latency[k]), float(energy[k]))
            return out

        return search_group(group_tiles(seg), reduction_locked_ranks(seg), dims, evaluate, settings.objective,
                            stats, settings.seed * 1000 + seed * 100 + i * 10 + j, blocks=blockable(seg))

    bound = (lambda i, j: segment_bound_s(specs[i:j], specs, io, target)) if settings.objective == "latency" \
        else (lambda i, j: 0.0)
    path = search_partition(len(specs), segment, bound, settings.objective, stats)
    if not path:
        return None, _smallest_tile_error(specs, group_mapping, problem, split_sizes, target, table) or (
            None if stats.exhausted() else errors[0] if errors else None)
    groups = [group_mapping(i, j, p.choice) for i, j, p in path]
    mapping = _final_mapping(problem.name, split_sizes, groups, target)
    totals = (sum(p.latency_s for *_, p in path), sum(p.energy_j for *_, p in path))
    mapping, totals = polish_loop_orders(mapping, problem, target, table, energy_pj, stats, totals)
    partition = ["+".join(s.name for s in specs[i:j]) for i, j, _ in path]
    # the best was found when the last of its groups was first costed
    return (score(settings.objective, *totals), mapping, partition, max(p.found_s for *_, p in path)), None


#: an Einsum whose tile loops over more ranks than this keeps its order (the placements grow factorially)
POLISH_MAX_MOVING = 3


def order_choices(spec: EinsumSpec, em: EinsumMapping, group_tile: dict[str, int]) -> list[tuple[str, ...]]:
    """Full loop orders (outer -> inner) for one Einsum that keep the DRAM-level order of the ranks it tiles (so
    its DRAM traffic is unchanged) and place the ranks looped only inside the tile anywhere among them: the order
    of the loops inside the buffer tile, which decides which operand stays in the PEs while the innermost loop
    runs (AV's scores held while f walks the values, instead of re-read from the buffer every cycle)."""
    tiles = em.buffer_tile if em.buffer_tile is not None else group_tile
    ranks = spec.iteration_ranks
    order = list(em.loop_order) + [r for r in ranks if r not in em.loop_order]
    outer, inner = nestmath.trips([spec.sizes[r] for r in order], [tiles.get(r, spec.sizes[r]) for r in order],
                                  [em.spatial.get(r, 1) for r in order])
    fixed = [r for r, o in zip(order, outer, strict=True) if o > 1]
    moving = [r for r, o, i in zip(order, outer, inner, strict=True) if o == 1 and i > 1]
    if not moving or len(moving) > POLISH_MAX_MOVING:
        return []
    out = []
    for perm in itertools.permutations(fixed + moving):
        if [r for r in perm if r in fixed] == fixed:
            out.append(tuple(perm))
    return out


def polish_loop_orders(mapping: Mapping, problem: Problem, target: SpatialTarget, table: EnergyTable,
                       energy_pj: Callable[[list[EinsumCost]], float], stats: SearchStats,
                       totals: tuple[float, float]) -> tuple[Mapping, tuple[float, float]]:
    """Per Einsum of the found mapping, the loop order inside its tile (`order_choices`) with the least energy at
    no more latency, every placement costed by the model with the rest of its group fixed. Exact over that axis:
    the order changes buffer and register-file accesses (and spills), not the tiles or unrolling the search chose.
    Returns the mapping and its (latency_s, energy_j) totals."""
    by_name = {s.name: s for s in problem.einsums}
    einsum_cost = _memoised_einsum_cost()
    groups = list(mapping.groups)

    def cost(m: Mapping, group: Any) -> tuple[float, float]:
        c = cost_group(group, by_name, m, problem, target, table, SEARCH_FILE, einsum_cost=einsum_cost)
        return c.latency_s, energy_pj(c.einsums) * 1e-12

    if stats.exhausted() or not groups:
        return mapping, totals
    latency_s = energy_j = 0.0
    for group in groups:
        best = cost(mapping, group)  # already costed by the search: not counted again
        for name in group.einsum_names():
            em = mapping.einsums[name]
            for order in order_choices(by_name[name], em, group.tile):
                if order == tuple(em.loop_order) or stats.exhausted():
                    continue
                trial = mapping.model_copy(update={"einsums": {**mapping.einsums,
                                                               name: em.model_copy(update={"loop_order": order})}})
                stats.costed_one()
                try:
                    got = cost(trial, group)
                except MappingError:
                    stats.infeasible += 1
                    continue
                if got[0] <= best[0] * (1 + 1e-12) and got[1] < best[1] * (1 - 1e-12):
                    mapping, best = trial, got
        latency_s, energy_j = latency_s + best[0], energy_j + best[1]
    return mapping, (latency_s, energy_j)


def _smallest_tile_error(specs: list[EinsumSpec], group_mapping: Callable[..., GroupMapping], problem: Problem,
                         split_sizes: dict[str, int], target: SpatialTarget, table: EnergyTable) -> str | None:
    """Why even the smallest tiles do not fit, one Einsum per group with everything through DRAM: the binding
    constraint (which tensor needs how many bytes against which capacity), or None when they fit."""
    by_name = {s.name: s for s in specs}
    for i, s in enumerate(specs):
        locked = reduction_locked_ranks([s])
        choice = GroupChoice(tuple((r, 1) for r in s.iteration_ranks if r not in locked and s.sizes[r] > 1),
                             onchip=False)
        gm = group_mapping(i, i + 1, choice)
        try:
            cost_group(gm.group, by_name, _mapping(problem.name, split_sizes, [gm]), problem, target, table,
                       SEARCH_FILE)
        except MappingError as exc:
            return f"even with 1-element tiles, {str(exc).removeprefix(SEARCH_FILE + ': ')}"
    return None


def cycles_per_point_of(target: SpatialTarget) -> Callable[[EinsumSpec, Any], float]:
    return lambda spec, arr: cycles_per_point(spec, arr, SEARCH_FILE, target.name)


def segment_bound_s(seg: list[EinsumSpec], specs: list[EinsumSpec], io: set[str], target: SpatialTarget) -> float:
    """A lower bound on a group's latency: its compute at full utilisation on the best arrays (spread over all
    arrays at best), or its compulsory DRAM traffic (tensors entering or leaving it, once) over the bandwidth."""
    cpp = cycles_per_point_of(target)
    arrays = {a.name: a for a in target.arrays}
    best = [min(s.points * s.instances * cpp(s, arrays[a]) / arrays[a].pes for a in eligible_arrays(s, target))
            for s in seg]
    compute = max(max(best), sum(best) / len(arrays)) / target.clock_hz
    return max(compute, boundary_bytes(seg, specs, io, target.word_bytes) / target.dram.bw_bytes_per_s)


def boundary_bytes(seg: list[EinsumSpec], specs: list[EinsumSpec], io: set[str], word: int) -> float:
    """Bytes a group must move to or from DRAM at least: what it reads from outside, what leaves it, once."""
    inside = {s.name for s in seg}
    produced = {s.output for s in seg}
    read_outside = {t for s in specs if s.name not in inside for t, _ in s.operands}
    total = 0.0
    seen: set[str] = set()
    for s in seg:
        for tensor, ranks in s.operands:
            if tensor not in produced and tensor not in seen:
                seen.add(tensor)
                total += math.prod(s.sizes[r] for r in ranks if r in s.sizes) * word * s.instances
        if s.output in io or s.output in read_outside:
            total += math.prod(s.sizes[r] for r in s.output_ranks) * word * s.instances
    return total


def _memoised_einsum_cost() -> Callable[..., EinsumCost]:
    """`cost_einsum` remembered per (Einsum, its mapping, its tile, where its tensors live, forwarding): the same
    model, each distinct Einsum mapping costed once. Returns copies (the group step adds spills to them)."""
    memo: dict[tuple, EinsumCost] = {}

    def cost(spec: EinsumSpec, em: EinsumMapping, group: Any, mapping: Mapping, problem: Problem,
             target: SpatialTarget, table: EnergyTable, file: str, dataflow: Any = None) -> EinsumCost:
        tile = em.buffer_tile if em.buffer_tile is not None else group.tile
        producer = {e.output: mapping.einsums[e.name].array for e in problem.einsums if e.name in mapping.einsums}
        tensors = [t for t, _ in spec.operands] + [spec.output]
        levels = tuple((t, mapping.tensors.get(t), producer.get(t)) for t in tensors)
        key = (spec.name, em.array, tuple(sorted(em.spatial.items())), tuple(sorted(tile.items())), em.loop_order,
               levels, group.name, id(dataflow))
        if key not in memo:
            memo[key] = (cost_einsum(spec, em, group, mapping, problem, target, table, file)
                         if dataflow is None else
                         cost_einsum(spec, em, group, mapping, problem, target, table, file, dataflow))
        return copy.copy(memo[key])

    return cost


def _mapping(cascade: str, sizes: dict[str, int], groups: list[GroupMapping]) -> Mapping:
    """A mapping of some groups, unvalidated (the search's candidates; the final one is validated)."""
    return Mapping.model_construct(
        name="searched", description="", source="", cascade=cascade, params={}, sizes=dict(sizes),
        tensors={k: v for g in groups for k, v in g.tensors.items()}, spill=tuple(t for g in groups for t in g.spill),
        in_place={k: v for g in groups for k, v in g.in_place.items()}, groups=tuple(g.group for g in groups),
        einsums={k: v for g in groups for k, v in g.einsums.items()}, linear=None)


def linear_entry(target: SpatialTarget) -> tuple[dict[str, Any], dict[str, tuple[int, ...]]]:
    """The linear layers' entry, by the rule of the built-in mappings: on the largest array with a MAC, a
    rows x cols weight tile stationary while `tokens` rows stream past, `wcols` output columns kept in the buffer
    (both params, chosen per layer)."""
    arr = max((a for a in target.arrays if "mac" in a.ops), key=lambda a: (a.pes, a.name))
    entry = {"array": arr.name, "spatial": {"k": arr.rows, "j": arr.cols}, "loop_order": ["j", "k", "n"],
             "buffer_tile": {"n": "$tokens", "j": "$wcols"}}
    params = {"tokens": (max(1, arr.rows // 4), arr.rows), "wcols": tuple(arr.cols << k for k in range(6))}
    return entry, params


def _final_mapping(cascade: str, sizes: dict[str, int], groups: list[GroupMapping], target: SpatialTarget) -> Mapping:
    draft = _mapping(cascade, sizes, groups)
    data = draft.model_dump(mode="python", exclude_none=True)
    data["groups"] = [{**g, "name": f"{i}-{g['stages'][0][0][0]}"} for i, g in enumerate(data["groups"])]
    try:
        entry, params = linear_entry(target)
        data["linear"], data["params"] = entry, params
    except ValueError:  # no array with a MAC: the mapping has no linear layers
        pass
    data.update(name=f"searched-{cascade}-on-{target.name}",
                description=f"found by cascade's mapper for {cascade} on {target.name}", source="cascade --search")
    return validate_model(Mapping, data, SEARCH_FILE, MappingError)
