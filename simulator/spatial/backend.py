"""The spatial backend: cost a cascade + mapping + workload on a spatial target.

The design is data: the target YAML names its default mapping, the mapping names the cascade it was written for.
`--mapping` and `--cascade` override them; a mapping applies to any cascade whose Einsums it maps (so the causal
variant of a cascade runs on its mapping). Hardware references in the mapping (`spatial: {m0: rows, p: cols}`) are
resolved against the target, so `--set arrays.pe2d.rows=128` needs no mapping edit. A mapping with `params` is
bound to each combination of their values; the feasible one (its buffer fits, spills allowed where the mapping
allows them) with the lowest latency, then the lowest energy, is reported, with its values under `mapping_params`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import NonNegativeInt, PositiveFloat, PositiveInt

from cascade_base.spec import Frozen
from einsum_cascades.sketch import CascadeSketch
from hw.spatial import EnergyTable, SpatialTarget, area_breakdown_um2, check_against_table
from mappers.errors import MappingError
from mappers.mapping import (
    Group,
    Mapping,
    bind_einsum_mapping,
    bind_mapping,
    dump_mapping,
    load_mapping,
    param_choices,
    resolve_hardware,
)
from simulator.shape import AttentionShape, BoundShape, select_sketch
from simulator.spatial.bounds import with_bound
from simulator.spatial.cascades import bound_problem, bound_shape, full_cascade
from simulator.spatial.convention import Dataflow, EnergyConvention, dataflow_for, overlay_mapping
from simulator.spatial.energy import einsum_energy_pj, energy_by_component_pj
from simulator.spatial.model import GroupCost, cost_group
from simulator.spatial.problem import Problem, cascade_problem, linear_problem
from simulator.spatial.results import EinsumRow, GroupRow, SpatialResult
from simulator.spatial.search import SEARCH_FILE, SearchSettings, search_mapping
from simulator.workloads import Workload, get_workload


class SpatialOptions(Frozen):
    """What `cascade evaluate` takes for a spatial target (anything else is refused by name)."""

    workload: str
    seq: PositiveInt
    cascade: str | None = None
    mapping: str | Path | None = None
    scope: Literal["attention", "layer"] = "attention"
    batch: PositiveInt | None = None
    heads: PositiveInt | None = None
    head_dim: PositiveInt | None = None
    kv_seq: PositiveInt | None = None
    causal: bool = False
    dtype: Literal["fp16"] | None = None
    energy_convention: EnergyConvention = "physical"
    search: bool = False
    objective: Literal["latency", "energy", "edp"] | None = None
    budget: PositiveInt | None = None
    time_limit: PositiveFloat | None = None
    seed: NonNegativeInt | None = None
    out: str | Path | None = None


@dataclass(frozen=True)
class SpatialPlan:
    """A cascade, a mapping resolved against the target, and a workload's shape, checked together."""

    target: SpatialTarget
    table: EnergyTable
    cascade: CascadeSketch
    template: Mapping | None  # None while a search is to find it
    mapping_file: str
    workload: Workload
    shape: AttentionShape
    bound: BoundShape
    scope: str
    dataflow: Dataflow
    search: SearchSettings | None = None
    out: str | Path | None = None


def attention_problem(cascade: Any, mapping: Mapping, bound: BoundShape) -> Problem:
    """The cascade bound to the shape and to the mapping's tile sizes; one instance per copy the shape holds.
    `cascade` is a parsed cascade or a sketch (whose problem is read from the persistent memo)."""
    sizes = {**bound.sizes, **mapping.sizes}
    if isinstance(cascade, CascadeSketch):
        return bound_problem(cascade, sizes, bound.instances)
    return cascade_problem(cascade, sizes, bound.instances)


class SpatialBackend:
    kind = "spatial"
    options = SpatialOptions
    scope_note = "fp16 attention of a --workload at --seq, with a mapping"

    def plan(self, target: SpatialTarget, options: SpatialOptions) -> SpatialPlan:
        workload = get_workload(options.workload)
        workload = workload.model_copy(update={k: v for k, v in (
            ("batch", options.batch), ("heads", options.heads), ("e", options.head_dim),
            ("f", options.head_dim)) if v is not None})
        settings = search_settings(options)
        template: Mapping | None
        template, mfile = load_mapping(options.mapping if options.mapping is not None else target.default_mapping)
        cascade = select_sketch(options.cascade or template.cascade, options.causal)
        if options.mapping is None and not options.search and not covers(template, cascade):
            reason = (f"searched: the target's mapping {template.name!r} is written for {template.cascade!r}, not "
                      f"{cascade.name!r}, and no --mapping was given")
            settings = dataclasses.replace(settings or SearchSettings(), reason=reason)
        if options.out is not None and settings is None:
            raise MappingError("--out writes the mapping a search finds; add --search", source="--out")
        if settings is not None:
            template, mfile = None, SEARCH_FILE
        else:
            check_covers(template, mfile, cascade)
            arrays = {a.name: (a.rows, a.cols) for a in target.arrays}
            template = resolve_hardware(template, arrays, mfile)
        shape = AttentionShape(batch=workload.batch, heads=workload.heads, kv_heads=workload.heads,
                               seq=options.seq, kv_seq=options.kv_seq or options.seq, head_dim=workload.e,
                               value_dim=workload.f, causal=cascade.causal)
        bound = bound_shape(cascade, shape)
        dataflow = dataflow_for(options.energy_convention, template.name if template else "searched", shape,
                                overlays=template is not None)
        if template is not None and (dataflow.params or dataflow.einsums or dataflow.linear):
            arrays = {a.name: (a.rows, a.cols) for a in target.arrays}
            template = resolve_hardware(overlay_mapping(template, dataflow, mfile), arrays, mfile)
        return SpatialPlan(target, check_against_table(target), cascade, template, mfile, workload, shape, bound,
                           options.scope, dataflow, settings, options.out)

    def cost(self, plan: SpatialPlan) -> SpatialResult:
        if plan.search is None:
            return with_bound(evaluate_plan(plan), plan)
        mapping, report = search_mapping(
            full_cascade(plan.cascade), plan.bound.sizes, plan.bound.instances, plan.target, plan.table, plan.search,
            lambda costs: sum(energy_by_component_pj(plan.target, plan.table, costs).values()))
        if plan.out is not None:
            dump_mapping(mapping, plan.out)
            report = dataclasses.replace(report, out=str(plan.out))
        found = dataclasses.replace(plan, template=mapping, search=None)
        return dataclasses.replace(with_bound(evaluate_plan(found), found), search=report)


def search_settings(options: SpatialOptions) -> SearchSettings | None:
    """The search asked for, or None; search options without `--search`, or `--search` with `--mapping`, are
    errors."""
    tuning = {"objective": options.objective, "budget": options.budget, "time_limit": options.time_limit,
              "seed": options.seed}
    if not options.search:
        given = [k for k, v in tuning.items() if v is not None]
        if given and options.mapping is not None:
            raise MappingError(f"--{given[0].replace('_', '-')} tunes a search, and --mapping fixes the mapping; "
                               "drop one", source=f"--{given[0].replace('_', '-')}")
        if not given:
            return None
    if options.mapping is not None:
        raise MappingError("--search finds a mapping and --mapping gives one; use one of them", source="--search")
    return SearchSettings(objective=options.objective or "latency", budget=options.budget,
                          time_limit_s=options.time_limit, seed=options.seed or 0,
                          reason="--search" if options.search else "search options given (--objective, --budget, "
                          "--time-limit or --seed)")


BACKEND = SpatialBackend()


def covers(mapping: Mapping, cascade: CascadeSketch) -> bool:
    """Whether `mapping` maps exactly the Einsums of `cascade`."""
    return set(mapping.einsums) == set(cascade.einsums)


def check_covers(mapping: Mapping, mfile: str, cascade: CascadeSketch) -> None:
    """A mapping applies to a cascade when it maps exactly the cascade's Einsums."""
    names = list(cascade.einsums)
    missing = [n for n in names if n not in mapping.einsums]
    extra = sorted(set(mapping.einsums) - set(names))
    if missing or extra:
        detail = f"has no entry for its Einsums {missing}" if missing else f"maps Einsums {extra} it does not have"
        raise MappingError(f"mapping {mapping.name!r} is written for cascade {mapping.cascade!r}; cascade "
                           f"{cascade.name!r} {detail}; give --mapping FILE written for {cascade.name!r}",
                           source=mfile)


def evaluate_plan(plan: SpatialPlan) -> SpatialResult:
    """Latency, energy, flops, bytes per level, utilisation per array, area and a per-Einsum breakdown."""
    target, table, template, mfile = plan.target, plan.table, plan.template, plan.mapping_file
    choices = param_choices(template, plan.bound.sizes)
    best: tuple[float, float, dict[str, Any], Mapping, Problem, list[GroupCost]] | None = None
    first_error: MappingError | None = None
    problems: dict[tuple, Problem] = {}
    for values in choices:
        mapping = bind_mapping(template, values, mfile)
        key = tuple(sorted(mapping.sizes.items()))
        if key not in problems:
            problems[key] = attention_problem(plan.cascade, mapping, plan.bound)
        problem = problems[key]
        try:
            dataflow = plan.dataflow.for_params(values)
            groups = _attention_groups(target, mapping, mfile, problem, table, dataflow)
        except MappingError as exc:
            if len(choices) == 1:
                raise
            first_error = first_error or exc
            continue
        latency_s = sum(g.latency_s for g in groups)
        energy_pj = sum(energy_by_component_pj(target, table, [c for g in groups for c in g.einsums],
                                               dataflow).values())
        if best is None or _better(latency_s, energy_pj, best[0], best[1]):
            best = (latency_s, energy_pj, values, mapping, problem, groups)
    if best is None:
        assert first_error is not None
        raise MappingError(f"{first_error} (no value of params {sorted(choices[0])} fits)")
    _, _, values, mapping, problem, groups = best
    if plan.scope == "layer":
        groups = groups + _linear_groups(target, mapping, mfile, plan.workload, plan.shape.seq, table,
                                         plan.dataflow)
    return _summarise(plan, groups, mapping, problem, values, len(choices))


def _better(latency_s: float, energy_pj: float, best_latency_s: float, best_energy_pj: float) -> bool:
    """The choice rule for params: lower latency wins; within a relative 1e-9 (a tie), lower energy."""
    if latency_s < best_latency_s * (1 - 1e-9):
        return True
    return latency_s <= best_latency_s * (1 + 1e-9) and energy_pj < best_energy_pj


def _attention_groups(target: SpatialTarget, mapping: Mapping, mfile: str, problem: Problem,
                      table: Any, dataflow: Dataflow) -> list[GroupCost]:
    """Check the bound mapping against the cascade and cost its fusion groups."""
    specs = {s.name: s for s in problem.einsums}
    unmapped = sorted(set(specs) - set(mapping.einsums))
    if unmapped:
        raise MappingError(f"{mfile}: field 'einsums': Einsums {unmapped} of cascade {problem.name!r} have no "
                           "mapping; add an entry for each")
    for tensor in sorted(problem.inputs | problem.outputs):
        if mapping.tensors.get(tensor) == "pe":
            raise MappingError(f"{mfile}: field 'tensors.{tensor}': {tensor!r} is a cascade input or output, so it "
                               "must come from or go to memory; use 'dram' (or 'buffer' if already on chip)")
    unknown = sorted(set(mapping.tensors) - {t for s in problem.einsums for t, _ in s.operands} - set(specs))
    if unknown:
        raise MappingError(f"{mfile}: field 'tensors': {unknown} are not tensors of cascade {problem.name!r}")
    return [cost_group(g, specs, mapping, problem, target, table, mfile, dataflow) for g in mapping.groups]


def _linear_groups(target: SpatialTarget, mapping: Mapping, mfile: str, workload: Workload, seq: int,
                   table: Any, dataflow: Dataflow) -> list[GroupCost]:
    """The linear layers, each its own group; params of the `linear` entry are chosen per layer by the same rule
    as the attention's (lowest latency, then energy, among those that fit)."""
    if mapping.linear is None:
        raise MappingError(f"{mfile}: field 'linear': --scope layer needs a mapping for the linear layers")
    lin = linear_problem(workload.batch * seq, workload.d_model, workload.d_ff)
    choices = param_choices(mapping, {}, part="linear")
    out = []
    for spec in lin.einsums:
        layer_flow = dataflow.for_linear(spec.name)
        best: tuple[float, float, GroupCost] | None = None
        seen: list[Any] = []
        error: MappingError | None = None
        for values in choices:
            em = bind_einsum_mapping(mapping.linear, values, mfile)
            clipped = {r: min(v, spec.sizes[r]) for r, v in (em.buffer_tile or {}).items() if r in spec.sizes}
            if clipped in seen:
                continue
            seen.append(clipped)
            group = Group(name=spec.name, stages=(((spec.name,),),))
            lin_map = mapping.model_copy(update={"einsums": {spec.name: em}, "tensors": {}, "spill": (),
                                                 "in_place": {}, "groups": (group,), "linear": None})
            try:
                cost = cost_group(group, {spec.name: spec}, lin_map, lin, target, table, mfile, layer_flow)
            except MappingError as exc:
                error = error or exc
                continue
            energy = sum(energy_by_component_pj(target, table, cost.einsums, layer_flow).values())
            if best is None or _better(cost.latency_s, energy, best[0], best[1]):
                best = (cost.latency_s, energy, cost)
        if best is None:
            assert error is not None
            raise error
        out.append(best[2])
    return out


def _summarise(plan: SpatialPlan, groups: list[GroupCost], mapping: Mapping, problem: Problem,
               values: dict[str, Any], candidates: int) -> SpatialResult:
    target, table = plan.target, plan.table
    latency_s = sum(g.latency_s for g in groups)
    costs = [c for g in groups for c in g.einsums]
    energy = {"compute": 0.0, "register_file": 0.0, "global_buffer": 0.0, "dram": 0.0}
    rows = []
    for c in costs:
        parts = einsum_energy_pj(c, target, table, plan.dataflow)
        for key, val in parts.items():
            energy[key] += val
        rows.append(EinsumRow(
            einsum=c.name, group=c.group, array=c.array, compute_s=c.compute_cycles / target.clock_hz,
            pe_utilization=c.work_cycles / c.compute_cycles if c.compute_cycles else 0.0,
            dram_bytes=c.dram_read_bytes + c.dram_write_bytes, buffer_bytes=c.buffer_read_bytes + c.buffer_write_bytes,
            register_file_bytes=(c.rf_reads + c.rf_writes) * target.word_bytes, energy_j=sum(parts.values()) * 1e-12))
    cycles = latency_s * target.clock_hz
    utilization = {a.name: (sum(c.work_cycles for c in costs if c.array == a.name) / cycles if cycles else 0.0)
                   for a in target.arrays}
    areas = area_breakdown_um2(target)
    return SpatialResult(
        target=target.name, workload=plan.workload.name, seq=plan.shape.seq, scope=plan.scope,
        cascade=problem.name, mapping=mapping.name, latency_s=latency_s, energy_j=sum(energy.values()) * 1e-12,
        flops=sum(c.flops for c in costs),
        bytes_by_level={
            "dram": sum(c.dram_read_bytes + c.dram_write_bytes for c in costs),
            "global_buffer": sum(c.buffer_read_bytes + c.buffer_write_bytes for c in costs),
            "register_file": sum(c.rf_reads + c.rf_writes for c in costs) * target.word_bytes,
        },
        utilization=utilization, area_um2=sum(areas.values()), area_um2_by_component=areas,
        energy_j_by_component={k: v * 1e-12 for k, v in energy.items()},
        buffer_need_bytes=max(g.buffer_need_bytes for g in groups),
        spilled_fraction=max(g.spilled_fraction for g in groups),
        groups=tuple(GroupRow(group=g.name, latency_s=g.latency_s, compute_s=g.compute_cycles / target.clock_hz,
                              dram_s=g.dram_s, buffer_need_bytes=g.buffer_need_bytes,
                              spilled_fraction=g.spilled_fraction, buffer_s=float(g.buffer_s)) for g in groups),
        einsums=tuple(rows), mapping_params=values, mapping_candidates=candidates, shape=plan.shape.as_dict(),
        energy_convention=plan.dataflow.convention)
