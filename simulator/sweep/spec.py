"""The sweep file: which evaluations to run, what to minimise, what to table and plot.

    name: fusemax-buffer-and-array
    grid:                          # every combination of these values
      target: [fusemax]
      workload: [BERT, XLM]
      seq: [1024, 16384]
      target.global_buffer.capacity_bytes: [4MiB, 8MiB, 16MiB]
    zip:                           # varied together, element by element (crossed with the grid)
      target.arrays.pe2d.rows: [64, 128, 256]
      target.arrays.pe2d.cols: [64, 128, 256]
    sample: {n: 500, seed: 1, axes: {...}}   # random points (simulator/sweep/space.py), crossed with the above
    derived: {target.arrays.pe2d.cols: target.arrays.pe2d.rows}   # small expressions over other axes
    fixed: {scope: attention}      # fields shared by every point
    objectives: [latency_s, area_um2]
    constraints: ["area_um2 <= 4.5e11"]
    search: {n: 500, seed: 1, axes: {...}}   # NSGA-II (optuna) instead of listing points
    table: [target, workload, seq, latency_s, energy_j, utilization.pe2d]
    plot: {x: seq, y: latency_s, series: target, facet: workload, logx: true, logy: true}
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

from pydantic import Field

from cascade_base.catalog import Catalog
from cascade_base.errors import InputError, shown
from cascade_base.spec import Frozen, load_yaml, validate_model
from simulator.errors import SimulatorError
from simulator.sweep import axes as ax
from simulator.sweep.objectives import Constraint, parse_constraint
from simulator.sweep.space import SampleSpec, SearchSpec

#: The example sweeps shipped in the repository (`cascade sweep fusemax-vs-flat`), and any sweep file by path.
SWEEPS = Catalog("sweep", Path(__file__).resolve().parents[2] / "examples" / "sweeps", SimulatorError,
                 option="SWEEP")
#: request fields that describe the workload, not the design: fronts are drawn per value of these by default
WORKLOAD_AXES = frozenset({"workload", "seq", "batch", "heads", "kv_heads", "kv_seq", "head_dim", "causal", "scope",
                           "dtype"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class PlotSpec(Frozen):
    x: str
    y: str
    series: str | None = None
    facet: str | None = None
    logx: bool = False
    logy: bool = False


class SweepSpec(Frozen):
    name: str
    description: str = ""
    grid: dict[str, list[Any]] = {}
    zip: dict[str, list[Any]] = {}
    sample: SampleSpec | None = None
    derived: dict[str, str] = {}
    fixed: dict[str, Any] = {}
    objectives: list[str] = Field(default=[], max_length=8)
    constraints: list[str] = []
    search: SearchSpec | None = None
    #: axes whose values are compared only among themselves (a front per sequence length, per workload);
    #: by default the varied axes that describe the workload rather than the design (WORKLOAD_AXES)
    pareto_by: list[str] | None = None
    table: list[str] = []
    plot: PlotSpec | None = None

    def axis_names(self) -> list[str]:
        """Every axis a point has, in the order the table shows them."""
        names = list(self.grid) + list(self.zip)
        names += list(self.sample.axes) if self.sample else []
        names += list(self.search.axes) if self.search else []
        return names + list(self.derived)

    def varied(self) -> list[str]:
        """The axes that take more than one value (the table's first columns by default)."""
        return ([n for n, v in self.grid.items() if len(v) > 1] + [n for n, v in self.zip.items() if len(v) > 1]
                + (list(self.sample.axes) if self.sample else []) + (list(self.search.axes) if self.search else [])
                + list(self.derived))

    def front_groups(self) -> list[str]:
        """The axes that split the Pareto front into one front per value combination."""
        if self.pareto_by is not None:
            return list(self.pareto_by)
        return [a for a in self.varied() if a in WORKLOAD_AXES]

    def contexts(self) -> list[dict[str, Any]]:
        """The grid crossed with the zipped rows, over `fixed` (a search runs once in each)."""
        names = list(self.grid)
        grid = [dict(zip(names, values, strict=True)) for values in itertools.product(*(self.grid[n] for n in names))]
        length = len(next(iter(self.zip.values()))) if self.zip else 1
        zipped = [{n: v[i] for n, v in self.zip.items()} for i in range(length)]
        return [{**self.fixed, **g, **z} for g in grid for z in zipped]

    def points(self) -> list[dict[str, Any]]:
        """Every point (grid x zip x sample, derived fields added), in a stable order."""
        samples = self.sample.rows() if self.sample else [{}]
        return [self.with_derived({**c, **s}) for c in self.contexts() for s in samples]

    def with_derived(self, point: dict[str, Any]) -> dict[str, Any]:
        out = dict(point)
        for name, text in self.derived.items():
            tree = ax.parse_expression(text, f"derived.{name}")
            out[name] = ax.evaluate_expression(tree, out, f"derived.{name}")
        return out

    def parsed_constraints(self) -> list[Constraint]:
        return [parse_constraint(c, f"constraints[{i}]") for i, c in enumerate(self.constraints)]


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file; errors name the file, the field and the fix, before anything runs."""
    path = SWEEPS.resolve(path)
    spec = validate_model(SweepSpec, load_yaml(path, SimulatorError), path, SimulatorError)
    try:
        check_names(spec)
        spec = _resolved(spec, path.parent)
        check_spec(spec)
    except InputError as exc:
        if exc.source:
            raise
        raise SimulatorError(exc.message, source=str(path), field=exc.field, hint=exc.hint) from None
    return spec


def _resolved(spec: SweepSpec, base_dir: Path) -> SweepSpec:
    """Relative YAML paths in the file resolved against its folder; axis values checked and normalised."""
    def values(block: str, items: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return {name: [ax.check_value(name, ax.resolve_paths(v, base_dir), f"{block}.{name}[{i}]")
                       for i, v in enumerate(vals)] for name, vals in items.items()}

    fixed = {n: ax.check_value(n, ax.resolve_paths(v, base_dir), f"fixed.{n}") for n, v in spec.fixed.items()}
    update: dict[str, Any] = {"grid": values("grid", spec.grid), "zip": values("zip", spec.zip), "fixed": fixed}
    for block in ("sample", "search"):
        sub = getattr(spec, block)
        if sub is None:
            continue
        dists = {}
        for name, dist in sub.axes.items():
            if dist.choices is not None:
                dist = dist.model_copy(update={"choices": [
                    ax.check_value(name, ax.resolve_paths(v, base_dir), f"{block}.axes.{name}.choices[{i}]")
                    for i, v in enumerate(dist.choices)]})
            dists[name] = dist
        update[block] = sub.model_copy(update={"axes": dists})
    return spec.model_copy(update=update)


def check_spec(spec: SweepSpec) -> None:
    """Names, emptiness, zip lengths, derived expressions, constraints, and every target path against the target."""
    if not _NAME.match(spec.name) or ".." in spec.name:
        raise SimulatorError(f"{shown(spec.name)} is not a plain name (letters, digits, . _ -): it names the "
                             "results folder", field="name")
    check_names(spec)
    for name, values in spec.grid.items():
        if not values:
            raise SimulatorError("is empty; give at least one value", field=f"grid.{name}")
    lengths = {name: len(v) for name, v in spec.zip.items()}
    if lengths and (len(set(lengths.values())) > 1 or 0 in lengths.values()):
        raise SimulatorError("zipped lists must have one equal, non-zero length; got "
                             + ", ".join(f"{n}: {k}" for n, k in lengths.items()), field="zip")
    if spec.sample and spec.search:
        raise SimulatorError("give either sample (random points) or search (an optimiser), not both", field="search")
    if spec.search and not spec.objectives:
        raise SimulatorError("a search needs objectives to minimise, e.g. objectives: [latency_s, area_um2]",
                             field="objectives")
    if "target" not in spec.grid and "target" not in spec.fixed and "target" not in spec.zip and not (
            spec.sample and "target" in spec.sample.axes):
        raise SimulatorError("no 'target' in grid, zip or fixed; every evaluation needs a target", field="grid")
    spec.parsed_constraints()
    for i, name in enumerate(spec.pareto_by or []):
        if name not in spec.axis_names() and name not in spec.fixed:
            raise SimulatorError(f"'{name}' is not an axis of this sweep; axes: {', '.join(spec.axis_names())}",
                                 field=f"pareto_by[{i}]")
    for name, text in spec.derived.items():
        names = ax.expression_names(ax.parse_expression(text, f"derived.{name}"))
        unknown = sorted(n for n in names if n not in spec.axis_names() and n not in spec.fixed or n == name)
        if unknown:
            raise SimulatorError(f"'{unknown[0]}' is not an axis of this sweep; axes: "
                                 f"{', '.join(n for n in spec.axis_names() if n != name)}", field=f"derived.{name}")
    check_target_paths(spec)


def check_target_paths(spec: SweepSpec) -> None:
    """Load each target of the sweep with each `target.PATH` value (grid, zip, fixed; a sample's or search's
    bounds; the first point's derived values): an unknown path or a value out of range fails here, not mid-run."""
    from hw.registry import load_target

    targets = _values(spec, "target")
    checks: list[tuple[str, str, Any]] = []
    for block, items in (("grid", spec.grid), ("zip", spec.zip)):
        checks += [(f"{block}.{n}", n, v) for n, vals in items.items() if ax.is_target_path(n) for v in vals]
    checks += [(f"fixed.{n}", n, v) for n, v in spec.fixed.items() if ax.is_target_path(n)]
    for block in ("sample", "search"):
        sub = getattr(spec, block)
        for n, dist in (sub.axes.items() if sub else ()):
            if ax.is_target_path(n):
                checks += [(f"{block}.axes.{n}", n, v) for v in dist.edges()]
    if spec.derived and not spec.search:
        first = spec.with_derived({**spec.contexts()[0], **(spec.sample.rows()[0] if spec.sample else {})})
        checks += [(f"derived.{n}", n, first[n]) for n in spec.derived if ax.is_target_path(n)]
    for target in targets:
        try:
            load_target(target)
        except InputError as exc:
            raise SimulatorError(str(exc), field="target") from None
        for where, name, value in dict.fromkeys(checks):
            try:
                load_target(target, {name[len(ax.TARGET_PREFIX):]: value})
            except InputError as exc:
                raise SimulatorError(f"{exc.message} (target {target}, value {shown(value)})", field=where,
                                     hint=exc.hint) from None


def check_names(spec: SweepSpec) -> None:
    """Every axis names a request field or a target path, and only once (`fixed` may be overridden)."""
    seen: dict[str, str] = {}
    blocks = [("grid", spec.grid), ("zip", spec.zip), ("fixed", spec.fixed), ("derived", spec.derived)]
    blocks += [("sample.axes", spec.sample.axes)] if spec.sample else []
    blocks += [("search.axes", spec.search.axes)] if spec.search else []
    for block, items in blocks:
        for name in items:
            ax.check_axis_name(name, f"{block}.{name}")
            if name in seen and block != "fixed" and seen[name] != "fixed":
                raise SimulatorError(f"'{name}' is given in both {seen[name]} and {block}; give it once",
                                     field=f"{block}.{name}")
            seen.setdefault(name, block)


def _values(spec: SweepSpec, name: str) -> list[Any]:
    found: list[Any] = list(spec.grid.get(name, [])) + list(spec.zip.get(name, []))
    if name in spec.fixed:
        found.append(spec.fixed[name])
    if spec.sample and name in spec.sample.axes and spec.sample.axes[name].choices:
        found += spec.sample.axes[name].choices
    return list(dict.fromkeys(found))
