"""`evaluate_spatial`: cost a cascade + mapping + workload on a spatial target; the `cascade evaluate` backend.

The design is data: the target YAML names its default mapping, the mapping names its cascade. `--mapping` and
`--cascade` override them (a cascade other than the mapping's needs a mapping written for it). A mapping with
`params` is bound to each combination of their values; the feasible one (its buffer fits, spills allowed where the
mapping allows them) with the lowest latency, then the lowest energy, is reported, with its values under
`mapping_params`. One rule for every design: FLAT's row granularity and FuseMax's query tile come from it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from hw.spatial import SpatialTarget, area_breakdown_um2, check_against_table
from mappers.errors import MappingError
from mappers.mapping import Group, Mapping, bind_einsum_mapping, bind_mapping, load_mapping, param_choices
from simulator.errors import SimulatorError
from simulator.evaluate import EvaluateRequest
from simulator.spatial.model import GroupCost, cost_group
from simulator.spatial.problem import Problem, cascade_problem, linear_problem
from simulator.workloads import Workload, get_workload


def load_cascade_by_name(name: str) -> Any:
    """The einsum_cascades loader (imported late: the spatial model needs it only when evaluating); cached per
    name or file and modification time, since cascades are immutable."""
    path = Path(name)
    return _load_cascade(name, path.stat().st_mtime_ns if path.suffix in (".yaml", ".yml") and path.exists() else 0)


@lru_cache(maxsize=64)
def _load_cascade(name: str, mtime_ns: int) -> Any:
    try:
        from einsum_cascades import load_cascade
    except ImportError:  # exported from the package root per the IR contract; loader module otherwise
        from einsum_cascades.loader import load_cascade
    return load_cascade(name)


def attention_problem(cascade: Any, mapping: Mapping, workload: Workload, seq: int) -> Problem:
    """The cascade at `seq`; one instance per (batch, head), or per batch when the cascade has a head rank."""
    sizes = {**workload.sizes(seq), **mapping.sizes}
    symbols = {str(s) for e in cascade.ranks.values() for s in getattr(e, "free_symbols", ())}
    instances = workload.batch * (1 if "H" in symbols else workload.heads)
    return cascade_problem(cascade, sizes, instances)


def evaluate_spatial(target: SpatialTarget, request: EvaluateRequest, cascade: Any = None) -> dict[str, Any]:
    """Latency, energy, flops, bytes per level, utilisation per array, area and a per-Einsum breakdown."""
    if request.workload is None or request.seq is None:
        raise SimulatorError("spatial targets need --workload and --seq (see `cascade list workloads`)")
    workload = _workload(request)
    template, mfile = load_mapping(request.mapping if request.mapping is not None else target.default_mapping)
    table = check_against_table(target)
    if cascade is None:
        name = request.cascade or template.cascade
        if request.cascade and request.mapping is None and request.cascade != template.cascade:
            raise SimulatorError(f"--cascade {request.cascade!r}: target {target.name!r}'s mapping {template.name!r} "
                                 f"is written for {template.cascade!r}; give --mapping FILE written for your cascade")
        cascade = load_cascade_by_name(name)
    choices = param_choices(template, workload.sizes(request.seq))
    best: tuple[float, float, dict[str, Any], Mapping, Problem, list[GroupCost]] | None = None
    first_error: MappingError | None = None
    problems: dict[tuple, Problem] = {}
    for values in choices:
        mapping = bind_mapping(template, values, mfile)
        key = tuple(sorted(mapping.sizes.items()))
        if key not in problems:
            problems[key] = attention_problem(cascade, mapping, workload, request.seq)
        problem = problems[key]
        try:
            groups = _attention_groups(target, mapping, mfile, problem, table)
        except MappingError as exc:
            if len(choices) == 1:
                raise
            first_error = first_error or exc
            continue
        latency_s = sum(g.latency_s for g in groups)
        energy_pj = sum(energy_by_component_pj(target, table, [c for g in groups for c in g.einsums]).values())
        if best is None or _better(latency_s, energy_pj, best[0], best[1]):
            best = (latency_s, energy_pj, values, mapping, problem, groups)
    if best is None:
        assert first_error is not None
        raise MappingError(f"{first_error} (no value of params {sorted(choices[0])} fits)")
    _, _, values, mapping, problem, groups = best
    if request.scope == "layer":
        groups = groups + _linear_groups(target, mapping, mfile, workload, request.seq, table)
    result = _summarise(target, table, groups, request, mapping, problem)
    result["mapping_params"] = values
    result["mapping_candidates"] = len(choices)
    return result


def _better(latency_s: float, energy_pj: float, best_latency_s: float, best_energy_pj: float) -> bool:
    """The choice rule for params: lower latency wins; within a relative 1e-9 (a tie), lower energy."""
    if latency_s < best_latency_s * (1 - 1e-9):
        return True
    return latency_s <= best_latency_s * (1 + 1e-9) and energy_pj < best_energy_pj


def _attention_groups(target: SpatialTarget, mapping: Mapping, mfile: str, problem: Problem,
                      table: Any) -> list[GroupCost]:
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
    return [cost_group(g, specs, mapping, problem, target, table, mfile) for g in mapping.groups]


def _workload(request: EvaluateRequest) -> Workload:
    """The named workload with --batch, --heads and --head-dim overrides; options this model does not use are
    errors rather than silently ignored."""
    unsupported = {"--search": request.search, "--kv-heads": request.kv_heads is not None,
                   "--kv-seq": request.kv_seq is not None, "--causal": request.causal,
                   "--dtype": request.dtype not in (None, "fp16")}
    given = [opt for opt, on in unsupported.items() if on]
    if given:
        raise SimulatorError(f"{', '.join(given)}: not supported for spatial targets (fp16 self-attention with a "
                             "fixed mapping); pick a causal or GQA cascade with --cascade and --mapping instead")
    workload = get_workload(request.workload)
    overrides = {"batch": request.batch, "heads": request.heads, "e": request.head_dim, "f": request.head_dim}
    for option, value in (("--batch", request.batch), ("--heads", request.heads), ("--head-dim", request.head_dim)):
        if value is not None and value <= 0:
            raise SimulatorError(f"{option} must be a positive integer, not {value}")
    return Workload(**{**workload.__dict__, **{k: v for k, v in overrides.items() if v is not None}})


def _linear_groups(target: SpatialTarget, mapping: Mapping, mfile: str, workload: Workload, seq: int,
                   table: Any) -> list[GroupCost]:
    """The linear layers, each its own group; params of the `linear` entry are chosen per layer by the same rule
    as the attention's (lowest latency, then energy, among those that fit)."""
    if mapping.linear is None:
        raise MappingError(f"{mfile}: field 'linear': --scope layer needs a mapping for the linear layers")
    lin = linear_problem(workload.batch * seq, workload.d_model, workload.d_ff)
    choices = param_choices(mapping, {}, part="linear")
    out = []
    for spec in lin.einsums:
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
                cost = cost_group(group, {spec.name: spec}, lin_map, lin, target, table, mfile)
            except MappingError as exc:
                error = error or exc
                continue
            energy = sum(energy_by_component_pj(target, table, cost.einsums).values())
            if best is None or _better(cost.latency_s, energy, best[0], best[1]):
                best = (cost.latency_s, energy, cost)
        if best is None:
            assert error is not None
            raise error
        out.append(best[2])
    return out


def _einsum_energy_pj(c: Any, target: SpatialTarget, table: Any) -> dict[str, float]:
    """Energy of one Einsum's actions by component: compute, register files, buffer lines, DRAM accesses."""
    arr = target.array(c.array)
    rf = arr.register_file.component
    buf, dram = target.global_buffer, target.dram
    buf_line, dram_line = buf.width_bits / 8, dram.width_bits / 8
    return {
        "compute": c.compute_energy_pj,
        "register_file": (c.rf_reads * table.energy_pj(rf, "read", "rf")
                          + c.rf_writes * table.energy_pj(rf, "write", "rf")),
        "global_buffer": (c.buffer_read_bytes / buf_line * table.energy_pj(buf.component, "read", "global_buffer")
                          + c.buffer_write_bytes / buf_line * table.energy_pj(buf.component, "write",
                                                                                "global_buffer")),
        "dram": (c.dram_read_bytes / dram_line * table.energy_pj(dram.component, "read", "dram")
                 + c.dram_write_bytes / dram_line * table.energy_pj(dram.component, "write", "dram")),
    }


def energy_by_component_pj(target: SpatialTarget, table: Any, costs: list[Any]) -> dict[str, float]:
    """Total energy (pJ) per component over `costs`."""
    total = {"compute": 0.0, "register_file": 0.0, "global_buffer": 0.0, "dram": 0.0}
    for c in costs:
        for key, val in _einsum_energy_pj(c, target, table).items():
            total[key] += val
    return total


def _summarise(target: SpatialTarget, table: Any, groups: list[GroupCost], request: EvaluateRequest,
               mapping: Mapping, problem: Problem) -> dict[str, Any]:
    latency_s = sum(g.latency_s for g in groups)
    costs = [c for g in groups for c in g.einsums]
    energy = {"compute": 0.0, "register_file": 0.0, "global_buffer": 0.0, "dram": 0.0}
    rows = []
    for c in costs:
        parts = _einsum_energy_pj(c, target, table)
        for key, val in parts.items():
            energy[key] += val
        rows.append({"einsum": c.name, "group": c.group, "array": c.array,
                     "compute_s": c.compute_cycles / target.clock_hz,
                     "pe_utilization": c.work_cycles / c.compute_cycles if c.compute_cycles else 0.0,
                     "dram_bytes": c.dram_read_bytes + c.dram_write_bytes,
                     "buffer_bytes": c.buffer_read_bytes + c.buffer_write_bytes,
                     "register_file_bytes": (c.rf_reads + c.rf_writes) * target.word_bytes,
                     "energy_j": sum(parts.values()) * 1e-12})
    cycles = latency_s * target.clock_hz
    utilization = {a.name: (sum(c.work_cycles for c in costs if c.array == a.name) / cycles if cycles else 0.0)
                   for a in target.arrays}
    areas = area_breakdown_um2(target)
    return {
        "target": target.name, "workload": request.workload, "seq": request.seq, "scope": request.scope,
        "cascade": problem.name, "mapping": mapping.name,
        "latency_s": latency_s,
        "energy_j": sum(energy.values()) * 1e-12,
        "flops": sum(c.flops for c in costs),
        "bytes_by_level": {
            "dram": sum(c.dram_read_bytes + c.dram_write_bytes for c in costs),
            "global_buffer": sum(c.buffer_read_bytes + c.buffer_write_bytes for c in costs),
            "register_file": sum(c.rf_reads + c.rf_writes for c in costs) * target.word_bytes,
        },
        "utilization": utilization,
        "area_um2": sum(areas.values()),
        "area_um2_by_component": areas,
        "energy_j_by_component": {k: v * 1e-12 for k, v in energy.items()},
        "buffer_need_bytes": max(g.buffer_need_bytes for g in groups),
        "spilled_fraction": max(g.spilled_fraction for g in groups),
        "groups": [{"group": g.name, "latency_s": g.latency_s, "compute_s": g.compute_cycles / target.clock_hz,
                    "dram_s": g.dram_bytes / target.dram.bw_bytes_per_s, "buffer_need_bytes": g.buffer_need_bytes,
                    "spilled_fraction": g.spilled_fraction} for g in groups],
        "einsums": rows,
    }
